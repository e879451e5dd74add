"""An editor that keeps work, addresses that reopen what is shown, and an Explore that
says how far it got (issue 16, "Editor and links" and "Explore"), in a real browser.

Each test is one finding of the issue: failed `expect:` checks never shown in the page;
the Scenario box keeping the old name after running edited text; an edited scenario of
about 8 KB whose address reopened a different scenario; unsaved edits lost on a reload
without a question; a mistyped `?scenario=` left on "Connecting..." for ever; the warning
for a broken shared link vanishing the instant it showed; Explore at 50,000 states with
no progress and no Cancel.
"""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from ptree.engine.scenario import parse_scenario
from ptree.engine.timeline import Timeline

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "scenarios" / "orphans-and-reapers.yaml"
BIG_SPACE = ROOT / "bench" / "scenarios" / "two-threaded-exits.yaml"   # 113,000+ states


def position(page):
    return page.locator("#position")


def open_page(page, server, query="?scenario=orphans-and-reapers"):
    page.goto(server.url(f"/{query}"))
    expect(position(page)).to_have_text(re.compile(r"Event \d+ of [1-9]\d*"))


def editor(page):
    if page.locator("#editor-panel").get_attribute("open") is None:
        page.get_by_text("Scenario editor").click()
    ed = page.get_by_role("textbox", name="Scenario text")
    expect(ed).to_have_value(re.compile("steps:"))
    return ed


def run_text(page, text):
    ed = editor(page)
    ed.fill(text)
    page.get_by_role("button", name="Run edited scenario").click()
    return ed


def long_scenario(min_bytes=8_200):
    """A valid scenario of about 8 KB (its address as ?text= would pass MAX_URL 8,000)."""
    lines = ["title: A long edited scenario", "kernel: reaper", "steps:"]
    i = 0
    while sum(len(x) + 1 for x in lines) < min_bytes:
        i += 1
        lines += [f"  - init: fork child{i}   # child number {i} of a long list", f"  - child{i}: exit {i % 7}"]
    return "\n".join(lines) + "\n"


def test_expect_results_show_at_their_lines_pass_and_fail(server, watched):
    page = watched
    open_page(page, server)
    text = BUNDLED.read_text().replace("expect: {ret: a, exit: 3}", "expect: {ret: a, exit: 4}")
    line = next(i for i, x in enumerate(text.splitlines(), 1) if "exit: 4" in x)
    run_text(page, text)
    failed = page.locator(f'#gutter .expect-fail[data-line="{line}"]')
    expect(failed).to_be_visible()
    expect(failed).to_have_attribute("title", re.compile("expected exit 4, got 3"))
    held = page.locator("#gutter .expect-ok")
    expect(held).to_have_count(len(parse_scenario(text, "x").expect))   # the final b and a
    box = page.locator("#editor-expects")
    expect(box).to_contain_text("1 of 3 expectations failed")
    expect(box).to_contain_text(f"line {line} ✗ expected exit 4, got 3")
    # Mended, every expectation holds, and the page says so.
    run_text(page, BUNDLED.read_text())
    expect(page.locator("#gutter .expect-fail")).to_have_count(0)
    expect(page.locator("#gutter .expect-ok")).to_have_count(3)
    expect(box).to_contain_text("All 3 expectations held")


def test_scenario_box_names_the_edited_text_not_the_old_file(server, watched):
    page = watched
    open_page(page, server)
    shown = page.locator("#scenario option:checked")
    expect(shown).to_contain_text("orphans-and-reapers")
    run_text(page, "title: my own fork\nsteps:\n  - init: fork a\n  - a: exit 0\n")
    expect(page.locator("#current .title")).to_contain_text("my own fork")
    expect(shown).to_have_text("Edited text: my own fork")
    # Picking a library scenario again names it again.
    page.locator("#scenario").select_option("orphans-and-reapers")
    expect(shown).to_contain_text("orphans-and-reapers")


def test_scenario_box_names_an_explore_trace(server, watched):
    page = watched
    open_page(page, server, "?scenario=multi-lwp-exit-race")
    panel = page.get_by_role("region", name="Interleavings")
    panel.get_by_role("button", name="Explore").click()
    panel.get_by_role("button", name="Open trace").click()
    expect(page.locator("#current .title")).to_contain_text("Shortest trace to: use-after-free")
    expect(page.locator("#scenario option:checked")).to_have_text(
        "Explore trace: Shortest trace to: use-after-free")


def test_an_8kb_edited_scenario_reloads_to_the_same_scenario_and_event(server, watched):
    page = watched
    open_page(page, server)
    text = long_scenario()
    total = Timeline(parse_scenario(text, "x")).total
    run_text(page, text)
    expect(position(page)).to_have_text(f"Event 0 of {total}")
    for n in (1, 2, 3):
        page.get_by_role("button", name="Step").click()
        expect(position(page)).to_have_text(f"Event {n} of {total}")
    page.wait_for_url(re.compile(r"[?&]draft=[0-9a-f]{16}&event=3$"))
    assert len(page.url) < 8_000
    page.reload()
    expect(position(page)).to_have_text(f"Event 3 of {total}")
    expect(page.locator("#current .title")).to_contain_text("A long edited scenario")
    expect(editor(page)).to_have_value(text)


def test_a_draft_address_survives_a_server_restart(server, watched):
    page = watched
    open_page(page, server)
    text = long_scenario()
    run_text(page, text)
    page.wait_for_url(re.compile(r"[?&]draft=[0-9a-f]{16}&event=0$"))
    url = page.url
    page.goto("about:blank")                    # no page sees the server go
    server.kill()
    server.restart()
    page.goto(url)
    expect(page.locator("#current .title")).to_contain_text("A long edited scenario")
    expect(editor(page)).to_have_value(text)


def type_an_edit(page):
    ed = editor(page)
    ed.click()
    page.keyboard.press("Control+End")
    page.keyboard.type("  - init: fork typed\n")
    return ed


def test_unsaved_edits_survive_a_reload(server, watched):
    page = watched
    open_page(page, server)
    ed = type_an_edit(page)
    edited = ed.input_value()
    assert "fork typed" in edited
    page.on("dialog", lambda d: d.accept())     # the question before leaving: yes
    page.reload()
    expect(position(page)).to_have_text(re.compile(r"Event 0 of [1-9]"))
    expect(page.get_by_role("textbox", name="Scenario text")).to_have_value(edited)
    expect(page.locator("#notice")).to_contain_text("unsaved edits")


def test_leaving_with_unsaved_edits_asks_first(server, watched):
    page = watched
    open_page(page, server)
    type_an_edit(page)
    with page.expect_event("dialog") as asked:
        page.close(run_before_unload=True)
    assert asked.value.type == "beforeunload"
    asked.value.dismiss()                       # stay: the page and its edits are still there
    expect(page.get_by_role("textbox", name="Scenario text")).to_have_value(re.compile("fork typed"))


def test_a_mistyped_scenario_says_so_with_a_gallery_link(server, watched):
    page = watched
    page.goto(server.url("/?scenario=orphans-and-reaper&event=2"))
    current = page.locator("#current")
    expect(current).to_contain_text("no scenario named “orphans-and-reaper”")
    link = current.get_by_role("link", name="gallery")
    expect(link).to_have_attribute("href", "/gallery")
    link.click()
    expect(page).to_have_url(server.url("/gallery"))


def test_an_error_stays_until_dismissed(server, watched):
    page = watched
    page.goto(server.url("/?text=this-is-not*base64"))
    # The library opens instead, and the warning about the link is still there after it.
    expect(position(page)).to_have_text(re.compile(r"Event 0 of [1-9]"))
    notice = page.locator("#notice")
    expect(notice).to_contain_text("cannot be read")
    page.get_by_role("button", name="Step").click()
    expect(position(page)).to_have_text(re.compile(r"Event 1 of"))
    expect(notice).to_be_visible()
    notice.get_by_role("button", name="Dismiss").click()
    expect(notice).to_be_hidden()


def test_explore_shows_progress_and_cancel_stops_it(server, watched):
    page = watched
    open_page(page, server)
    run_text(page, BIG_SPACE.read_text())
    expect(page.locator("#current .title")).to_contain_text("Two two-threaded processes")
    panel = page.get_by_role("region", name="Interleavings")
    panel.get_by_label("States to explore").select_option("50000")
    panel.get_by_role("button", name="Explore").click()
    progress = panel.locator(".explore-progress")
    expect(progress).to_contain_text(re.compile(r"[\d,]+ states .*depth \d+, [\d,]+ states/s"))
    panel.get_by_role("button", name="Cancel").click()
    expect(panel).to_contain_text(re.compile(r"the search was cancelled after [\d,]+ states"))
    expect(panel.get_by_role("button", name="Explore")).to_be_enabled()
