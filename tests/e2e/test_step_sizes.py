"""Two step sizes, a log without spoilers, the current step marked in the scenario text.

Issue 16's findings: six scripted commands make eighteen kernel events and there was one
way to step; the event log listed every future event from the start; the current step was
not marked in the scenario text.  Step (→) stays one kernel event (the DOM contract);
"Next command" (Shift+→) runs a whole scripted step, each of its events shown in turn;
"Previous command" (Shift+←) goes back to where the step began.  Expectations come from
the engine's Timeline, not from numbers written here.
"""

import re
from functools import cache
from pathlib import Path

import pytest
import test_lecture_mode as lecture
from playwright.sync_api import expect
from ptree.engine.scenario import load_scenario_file
from ptree.engine.timeline import Timeline
from scenario_util import command_ends
from test_lecture_mode import audience, hide_qr, present, shows

pytestmark = pytest.mark.browser
browsers = lecture.browsers          # the lecture tests' fixture: pages in contexts of their own

ROOT = Path(__file__).resolve().parents[2]
NAME = "orphans-and-reapers"                  # the case: 6 commands, 18 events
# render.js INTERNAL_KINDS: hidden by "Hide internal kernel events" (docs/protocol.md)
INTERNAL_KINDS = {"lwp_exit", "cpu_thread_exit", "lwkt_switch", "lwkt_wait_free",
                  "lwp_dispose", "reaper_drop"}


@cache
def scenario(name=NAME):
    return load_scenario_file(ROOT / "scenarios" / f"{name}.yaml")


@cache
def timeline(name=NAME):
    return Timeline(scenario(name))


def internal_seqs(tl):
    """The events the option hides: an internal kind, not its step's first event, no
    result, no violation."""
    out, highest = set(), 0
    for ev in tl.events:
        opens = ev["step"] is not None and ev["step"] > highest
        highest = max(highest, ev["step"] or 0)
        if ev["kind"] in INTERNAL_KINDS and not opens and not ev["result"] and not ev["violation"]:
            out.add(ev["seq"])
    return out


def position(page):
    return page.locator("#position")


def open_at(page, server, event=0, name=NAME):
    page.goto(server.url(f"/?scenario={name}&event={event}"))
    expect(position(page)).to_have_text(f"Event {event} of {timeline(name).total}")


def next_command(page):
    return page.get_by_role("button", name="Next command")


def previous_command(page):
    return page.get_by_role("button", name="Previous command")


def shown(page):
    """The seqs of the log entries a reader sees, in order."""
    return [int(s) for s in page.locator("#log li[data-seq]:visible").evaluate_all(
        "(els) => els.map((el) => el.dataset.seq)")]


def watch_positions(page):
    """Record every 'Event N of M' the page shows from now on."""
    page.evaluate("""() => {
      window.__positions = [];
      const el = document.getElementById('position');
      new MutationObserver(() => window.__positions.push(el.textContent))
        .observe(el, {childList: true, characterData: true, subtree: true});
    }""")


def test_next_command_reaches_the_end_in_six_presses_showing_every_event(server, watched):
    page = watched
    tl, sc = timeline(), scenario()
    assert (len(sc.steps), tl.total) == (6, 18)
    open_at(page, server)
    watch_positions(page)
    ends = command_ends(tl)
    assert len(ends) == 6
    for end in ends:
        next_command(page).click()
        expect(position(page)).to_have_text(f"Event {end} of {tl.total}")
    expect(next_command(page)).to_be_disabled()
    expect(page.get_by_role("button", name="Step")).to_be_disabled()
    # Each event of each command was shown on its own, in order: none skipped.
    seen = [int(re.match(r"Event (\d+)", t).group(1)) for t in page.evaluate("window.__positions")]
    assert sorted(set(seen)) == list(range(1, tl.total + 1)), seen
    assert seen == sorted(seen)


def test_step_is_one_kernel_event_eighteen_presses(server, watched):
    """Beside Next command, Step keeps its contract: one kernel event a press."""
    page = watched
    tl = timeline()
    open_at(page, server)
    ends = command_ends(tl)
    for n in range(1, tl.total + 1):
        page.get_by_role("button", name="Step").click()
        expect(position(page)).to_have_text(f"Event {n} of {tl.total}")
        if n in ends[:2]:       # mid-run both sizes are offered
            expect(next_command(page)).to_be_enabled()
            expect(previous_command(page)).to_be_enabled()
    expect(page.get_by_role("button", name="Step")).to_be_disabled()
    expect(next_command(page)).to_be_disabled()


def test_previous_command_goes_back_to_where_the_command_began(server, watched):
    page = watched
    tl = timeline()
    ends = [0] + command_ends(tl)
    inside = ends[4] + 3                        # three events into the exit
    open_at(page, server, inside)
    previous_command(page).click()
    expect(position(page)).to_have_text(f"Event {ends[4]} of {tl.total}")
    previous_command(page).click()
    expect(position(page)).to_have_text(f"Event {ends[3]} of {tl.total}")
    page.get_by_role("button", name="Back").click()      # Back stays one event
    expect(position(page)).to_have_text(f"Event {ends[3] - 1} of {tl.total}")
    expect(page.get_by_role("treeitem", name=re.compile(r"^pid \d+ b$"))).to_have_count(0)


def test_keys_for_both_sizes(server, watched):
    page = watched
    tl = timeline()
    ends = command_ends(tl)
    open_at(page, server)
    page.locator("#tree").click(position={"x": 5, "y": 5})
    page.keyboard.press("Shift+ArrowRight")
    expect(position(page)).to_have_text(f"Event {ends[0]} of {tl.total}")
    page.keyboard.press("Shift+ArrowRight")
    expect(position(page)).to_have_text(f"Event {ends[1]} of {tl.total}")
    page.keyboard.press("ArrowRight")
    expect(position(page)).to_have_text(f"Event {ends[1] + 1} of {tl.total}")
    page.keyboard.press("Shift+ArrowLeft")
    expect(position(page)).to_have_text(f"Event {ends[1]} of {tl.total}")
    page.keyboard.press("ArrowLeft")
    expect(position(page)).to_have_text(f"Event {ends[1] - 1} of {tl.total}")
    page.keyboard.press("?")
    keys = page.get_by_role("dialog", name="Keys")
    expect(keys.get_by_role("row", name=re.compile(r"Shift\+→ Next command"))).to_be_visible()
    expect(keys.get_by_role("row", name=re.compile(r"Shift\+← Previous command"))).to_be_visible()


def test_the_log_shows_only_the_past_and_the_next_event_unless_asked(server, watched):
    page = watched
    tl = timeline()
    open_at(page, server, 5)
    log = page.get_by_role("list", name="Event log")
    expect(log.locator("li[data-seq='6']")).to_have_class(re.compile(r"\bnext\b"))
    expect(log.locator("li[data-seq='7']")).to_be_hidden()
    assert shown(page) == list(range(1, 7))
    page.get_by_role("button", name="Step").click()
    expect(log.locator("li[data-seq='7']")).to_be_visible()
    expect(log.locator("li[data-seq='8']")).to_be_hidden()
    future = page.get_by_role("checkbox", name="Show future events")
    expect(future).not_to_be_checked()
    future.check()
    expect(log.get_by_role("listitem")).to_have_count(tl.total)
    expect(page).to_have_url(re.compile(r"event=6$"))   # the address has caught up
    page.reload()                                   # the choice is remembered
    expect(position(page)).to_have_text(f"Event 6 of {tl.total}")
    expect(page.get_by_role("checkbox", name="Show future events")).to_be_checked()
    expect(log.get_by_role("listitem")).to_have_count(tl.total)
    page.get_by_role("checkbox", name="Show future events").uncheck()
    expect(log.get_by_role("listitem")).to_have_count(7)


def test_hide_internal_kernel_events(server, watched):
    page = watched
    tl = timeline()
    hidden = internal_seqs(tl)
    assert len(hidden) >= 4                         # a's LWP teardown and its reaper hold
    open_at(page, server, tl.total)
    assert shown(page) == list(range(1, tl.total + 1))
    page.get_by_role("checkbox", name="Hide internal kernel events").check()
    expect(page.locator("#log li.internal:visible")).to_have_count(0)
    assert shown(page) == [n for n in range(1, tl.total + 1) if n not in hidden]
    # What the lesson is about stays: the reparent, the zombie, every result.
    kinds = {tl.events[n - 1]["kind"] for n in shown(page)}
    assert {"proc_reparent", "proc_move_allproc_zombie", "kern_wait"} <= kinds
    # The current event is always listed, internal or not.
    page.goto(server.url(f"/?scenario={NAME}&event={min(hidden)}"))
    expect(page.locator(f"#log li[data-seq='{min(hidden)}']")).to_be_visible()
    expect(page.get_by_role("checkbox", name="Hide internal kernel events")).to_be_checked()


def test_the_current_step_is_marked_in_the_scenario_text(server, watched):
    page = watched
    tl = timeline()
    open_at(page, server)
    page.get_by_text("Scenario editor").click()
    editor = page.get_by_role("textbox", name="Scenario text")
    mark = page.locator("#script-mark")
    expect(mark).to_be_hidden()                     # the boot state: no step yet
    lines = editor.input_value().split("\n")
    for end in command_ends(tl):
        next_command(page).click()
        expect(position(page)).to_have_text(f"Event {end} of {tl.total}")
        line = tl.events[end - 1]["line"]
        expect(mark).to_have_attribute("data-line", str(line))
        assert lines[line - 1].lstrip().startswith("- "), lines[line - 1]
        # The mark lies over that line of the text, inside the editor's view.
        box, ed = mark.bounding_box(), editor.bounding_box()
        assert ed["y"] - 1 <= box["y"] and box["y"] + box["height"] <= ed["y"] + ed["height"] + 1
        row = editor.evaluate("(el, line) => { const s = getComputedStyle(el);"
                              " return el.getBoundingClientRect().top + parseFloat(s.paddingTop)"
                              " + (line - 1) * parseFloat(s.lineHeight) - el.scrollTop; }", line)
        assert abs(box["y"] - row) <= 1.5
    # The last step's line is below the editor's first screenful: it was scrolled to.
    assert editor.evaluate("(el) => el.scrollTop") > 0
    # Edited text has other lines: no mark until it runs.
    editor.press("Control+Home")
    editor.type("# a comment\n")
    expect(mark).to_be_hidden()


def test_the_presenter_steps_the_room_by_command(server, browsers):
    """A lecture: the presenter's Next command moves the audience a whole command, event
    by event; the audience is offered neither size."""
    tl = timeline()
    ends = command_ends(tl)
    presenter, _, link = present(browsers, server)
    hide_qr(presenter)
    viewer = audience(browsers, link)
    expect(next_command(viewer)).to_be_hidden()
    expect(previous_command(viewer)).to_be_hidden()
    watch_positions(viewer)
    for end in ends[:2]:
        next_command(presenter).click()
        for page in (presenter, viewer):
            shows(page, end)
    previous_command(presenter).click()
    shows(viewer, ends[0])
    seen = [int(re.match(r"Event (\d+)", t).group(1)) for t in viewer.evaluate("window.__positions")]
    assert set(range(1, ends[1] + 1)) <= set(seen), seen    # every event shown, none skipped
    # The audience log shows no spoilers either.
    expect(viewer.locator(f"#log li[data-seq='{ends[0] + 2}']")).to_be_hidden()
