"""Choice mode, explore, export and share in a real browser, in both async modes.

The path walked is the one `ptree explore` prints for the bundled race, computed here with
engine.explore; positions and documents are checked against the engine's ChoiceTimeline.
"""

import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
from playwright.sync_api import expect
from ptree.engine.explore import explore
from ptree.engine.scenario import load_scenario_file
from ptree.engine.timeline import ChoiceTimeline

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
RACE = "multi-lwp-exit-race"
RACE_FILE = ROOT / "scenarios" / f"{RACE}.yaml"


def ptree_command():
    """The installed `ptree` next to this Python (the venv's), else the one on PATH."""
    local = Path(sys.executable).parent / "ptree"
    return str(local) if local.exists() else shutil.which("ptree")


@cache
def race():
    return load_scenario_file(RACE_FILE)


@cache
def race_trace():
    found = explore(race())
    assert found.violations, "the bundled race has a use-after-free under before-fix"
    return tuple(found.violations[0].trace)


def position(page):
    return page.locator("#position")


def actions(page):
    return page.get_by_role("region", name="Runnable actions")


def log_entries(page):
    return page.get_by_role("list", name="Event log").get_by_role("listitem")


def choice_mode(page):
    return page.get_by_role("checkbox", name="Choice mode")


def walk(page, labels):
    """Click each action's button; after each, the page shows the engine's position."""
    tl = ChoiceTimeline(race())
    for label in labels:
        tl.choose(label)
        actions(page).get_by_role("button", name=label, exact=True).click()
        expect(position(page)).to_have_text(f"Event {tl.total} of {tl.total}")
    return tl


def expect_tree(page, doc):
    """Every process of doc is drawn with its state and parent, and nothing else."""
    expect(page.get_by_role("treeitem")).to_have_count(len(doc["procs"]))
    for pid, proc in doc["procs"].items():
        node = page.get_by_role("treeitem", name=f"pid {pid} {proc['name']}")
        expect(node).to_have_attribute("data-state", proc["state"])
        expect(node).to_have_attribute("data-ppid", str(proc["ppid"]))
        expect(node.locator("[data-tid]")).to_have_count(len(proc["lwps"]))


def expect_violation_shown(page, tl):
    """The use-after-free: the LWP's process marked in the tree, the log entry marked."""
    last = tl.events[-1]
    assert last["kind"] == "violation"
    doc = tl.doc_at(tl.total)
    a = next(p for p in doc["procs"].values() if p["name"] == "a")
    node = page.get_by_role("treeitem", name=f"pid {a['pid']} a")
    expect(node).to_have_class(re.compile(r"\bviolated\b"))
    expect(node).to_have_attribute("data-violation", last["violation"])
    expect(node.locator(".violation-mark")).to_have_count(1)
    expect(node.locator('[data-freed-tid="1"]')).to_have_count(1)      # a.1, freed running
    entry = log_entries(page).nth(tl.total - 1)
    expect(entry).to_have_class(re.compile(r"\bviolated\b"))
    expect(entry).to_contain_text("Invariant violated: use-after-free: LWP a.1")
    # Nothing else in the tree or the log is marked.
    expect(page.locator("g.node.violated")).to_have_count(1)
    expect(page.locator("#log li.violated")).to_have_count(1)


def open_choice_mode(page, server):
    page.goto(server.url(f"/?scenario={RACE}"))
    expect(position(page)).to_have_text(re.compile(r"Event 0 of [1-9]"))
    expect(actions(page)).to_be_hidden()
    choice_mode(page).check()
    expect(position(page)).to_have_text("Event 0 of 0")
    expect(actions(page).get_by_role("button")).to_have_count(
        len(ChoiceTimeline(race()).choices()))


def test_walk_the_race_to_the_use_after_free_then_reload(server, watched):
    page = watched
    open_choice_mode(page, server)
    tl = walk(page, race_trace())
    expect_violation_shown(page, tl)
    expect_tree(page, tl.doc_at(tl.total))
    # The path is in the address: a reload reopens the same interleaving at the same event.
    expect(page).to_have_url(re.compile(rf"\?scenario={RACE}&choices=[\w-]+&event={tl.total}$"))
    page.reload()
    expect(position(page)).to_have_text(f"Event {tl.total} of {tl.total}")
    expect(choice_mode(page)).to_be_checked()
    expect_violation_shown(page, tl)
    expect(actions(page).get_by_role("button")).to_have_count(len(tl.choices()))


def test_back_and_branch(server, watched):
    page = watched
    open_choice_mode(page, server)
    trace = race_trace()
    k = 5
    walk(page, trace)
    before = ChoiceTimeline(race(), trace=trace[:k])
    total = ChoiceTimeline(race(), trace=trace).total
    while int(re.match(r"Event (\d+)", position(page).inner_text()).group(1)) > before.total:
        n = int(re.match(r"Event (\d+)", position(page).inner_text()).group(1))
        page.get_by_role("button", name="Back").click()
        expect(position(page)).to_have_text(f"Event {n - 1} of {total}")
    # At the choice point: the path's next action is marked; another one branches.
    expect(actions(page).locator("button.next")).to_have_text(trace[k])
    other = next(c["label"] for c in before.choices() if c["label"] != trace[k])
    before.choose(other)
    actions(page).get_by_role("button", name=other, exact=True).click()
    expect(position(page)).to_have_text(f"Event {before.total} of {before.total}")
    expect(log_entries(page)).to_have_count(before.total)
    expect(page.locator("#log li.violated")).to_have_count(0)
    expect(page.locator("g.node.violated")).to_have_count(0)
    expect_tree(page, before.doc_at(before.total))
    expect(actions(page).get_by_role("button")).to_have_count(len(before.choices()))


def test_explore_then_open_trace_and_after_fix_finds_none(server, watched):
    page = watched
    page.goto(server.url(f"/?scenario={RACE}"))
    expect(position(page)).to_have_text(re.compile(r"Event 0 of [1-9]"))
    panel = page.get_by_role("region", name="Interleavings")
    panel.get_by_role("button", name="Explore").click()
    expect(panel).to_contain_text("every interleaving was explored")
    expect(panel).to_contain_text("use-after-free: LWP a.1")
    expect(panel).to_contain_text(f"shortest trace: {len(race_trace())} actions")
    panel.get_by_role("button", name="Open trace").click()
    # The trace file is open at its last event: the violation, highlighted.
    tl = ChoiceTimeline(race(), trace=race_trace())
    expect(position(page)).to_have_text(f"Event {tl.total} of {tl.total}")
    expect(page.locator("#current .title")).to_contain_text("Shortest trace to: use-after-free")
    expect_violation_shown(page, tl)
    page.get_by_text("Scenario editor").click()
    editor = page.get_by_role("textbox", name="Scenario text")
    expect(editor).to_have_value(re.compile("schedule: choice"))
    # Step back along it and forward again.
    page.get_by_role("button", name="Back").click()
    expect(page.locator("g.node.violated")).to_have_count(0)
    page.get_by_role("button", name="Step").click()
    expect(page.locator("g.node.violated")).to_have_count(1)

    # The same race after the fix: explore proves no interleaving has it.
    page.goto(server.url(f"/?scenario={RACE}"))
    expect(position(page)).to_have_text(re.compile(r"Event 0 of [1-9]"))
    page.get_by_text("Scenario editor").click()
    expect(editor).to_have_value(re.compile("race: before-fix"))
    editor.fill(editor.input_value().replace("race: before-fix", "race: after-fix"))
    page.get_by_role("button", name="Run edited scenario").click()
    expect(page.locator("#current .kernel-tag")).to_contain_text("after-fix")
    panel.get_by_role("button", name="Explore").click()
    expect(panel).to_contain_text(re.compile(r"No violation in [\d,]+ states: every interleaving was explored"))


def test_export_downloads_a_file_ptree_run_accepts(server, watched, tmp_path):
    page = watched
    open_choice_mode(page, server)
    tl = walk(page, race_trace()[:6])
    with page.expect_download() as info:
        page.get_by_role("button", name="Export").click()
    download = info.value
    assert download.suggested_filename == f"{RACE}-choices-event-{tl.total}.yaml"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    assert path.read_text() == tl.export_text()
    proc = subprocess.run([ptree_command(), "run", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.strip().splitlines()) >= tl.total


def test_share_reopens_the_same_event_in_a_fresh_tab(server, watched, context):
    page = watched
    open_choice_mode(page, server)
    tl = walk(page, race_trace()[:5])
    page.get_by_role("button", name="Back").click()
    expect(position(page)).to_have_text(f"Event {tl.total - 1} of {tl.total}")
    page.get_by_role("button", name="Share").click()
    url = page.get_by_role("textbox", name="Share URL").input_value()
    assert url.startswith(server.url("/?scenario=")) and f"&event={tl.total - 1}" in url
    fresh = context.new_page()
    fresh.goto(url)
    expect(position(fresh)).to_have_text(f"Event {tl.total - 1} of {tl.total}")
    expect(choice_mode(fresh)).to_be_checked()
    expect_tree(fresh, tl.doc_at(tl.total - 1))
    fresh.close()
    # An open link follows the session.
    page.get_by_role("button", name="Back").click()
    expect(page.get_by_role("textbox", name="Share URL")).to_have_value(
        re.compile(rf"&event={tl.total - 2}$"))


def test_keys_choose_and_step_in_choice_mode(server, watched):
    page = watched
    open_choice_mode(page, server)                 # the checkbox keeps the focus
    first = ChoiceTimeline(race())
    first.choose(first.choices()[0]["label"])
    page.keyboard.press("1")
    expect(position(page)).to_have_text(f"Event {first.total} of {first.total}")
    page.keyboard.press("ArrowLeft")
    expect(position(page)).to_have_text(f"Event 0 of {first.total}")
    page.keyboard.press("ArrowRight")
    expect(position(page)).to_have_text(f"Event {first.total} of {first.total}")
    expect(choice_mode(page)).to_be_checked()


def test_export_in_auto_mode(server, watched, tmp_path):
    page = watched
    page.goto(server.url(f"/?scenario={RACE}&event=4"))
    expect(position(page)).to_have_text(re.compile(r"Event 4 of [1-9]"))
    with page.expect_download() as info:
        page.get_by_role("button", name="Export").click()
    path = tmp_path / info.value.suggested_filename
    assert path.name == f"{RACE}-event-4.yaml"
    info.value.save_as(path)
    text = path.read_text()
    assert "schedule:" not in text and "steps:" in text
    proc = subprocess.run([ptree_command(), "run", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    page.get_by_role("button", name="Reset").click()
    expect(page.get_by_role("button", name="Export")).to_be_disabled()   # nothing to export


def test_share_edited_text_and_the_size_limit(server, watched, context):
    page = watched
    page.goto(server.url("/?scenario=orphans-and-reapers"))
    expect(position(page)).to_have_text(re.compile(r"Event 0 of [1-9]"))
    page.get_by_text("Scenario editor").click()
    editor = page.get_by_role("textbox", name="Scenario text")
    editor.fill("title: typed by hand — ünïcode\nsteps:\n  - init: fork a\n  - a: fork b\n"
                "  - a: exit 3\n")
    page.get_by_role("button", name="Run edited scenario").click()
    expect(page.locator("#current .title")).to_contain_text("typed by hand — ünïcode")
    m = int(re.match(r"Event 0 of (\d+)", position(page).inner_text()).group(1))
    page.get_by_role("button", name="Step").click()
    page.get_by_role("button", name="Step").click()
    expect(position(page)).to_have_text(f"Event 2 of {m}")
    page.get_by_role("button", name="Share").click()
    url = page.get_by_role("textbox", name="Share URL").input_value()
    assert re.fullmatch(re.escape(server.url("/?text=")) + r"[\w-]+&event=2", url), url
    fresh = context.new_page()
    fresh.goto(url)
    expect(position(fresh)).to_have_text(f"Event 2 of {m}")
    expect(fresh.locator("#current .title")).to_contain_text("typed by hand — ünïcode")
    fresh.close()
    # Text too large for a link: the server keeps it as a draft and the link names that.
    big = "title: big\ndescription: " + "padding words " * 800 + "\nsteps:\n  - init: fork a\n"
    editor.fill(big)
    page.get_by_role("button", name="Run edited scenario").click()
    expect(page.locator("#current .title")).to_contain_text("big")
    page.get_by_role("button", name="Share").click()
    share = page.get_by_role("textbox", name="Share URL")
    expect(share).to_have_value(re.compile(re.escape(server.url("/?draft=")) + r"[0-9a-f]{16}&event=0$"))
    fresh = context.new_page()
    fresh.goto(share.input_value())
    expect(fresh.locator("#current .title")).to_contain_text("big")
    fresh.close()
