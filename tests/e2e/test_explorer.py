"""The explorer in a real browser: what a lecturer does, checked through the DOM contract.

Each test runs against `ptree serve` in both async modes (the `server` fixture).  Where a
test needs to know what a scenario does (which event forks, which one reparents), it asks
the engine's Timeline rather than hard-coding event numbers.
"""

import re
from functools import cache
from pathlib import Path

import pytest
from playwright.sync_api import expect
from ptree.engine.scenario import load_scenario_file
from ptree.engine.timeline import Timeline

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = {"orphans-and-reapers": ROOT / "scenarios" / "orphans-and-reapers.yaml",
           "threads-and-handovers": Path(__file__).parent / "scenarios" / "threads-and-handovers.yaml"}


@cache
def timeline(name):
    return Timeline(load_scenario_file(LIBRARY[name]))


@cache
def pids(name):
    """name -> pid over the whole run (pids are never reused within a run)."""
    tl = timeline(name)
    out = {}
    for n in range(tl.total + 1):
        for pid, proc in tl.doc_at(n)["procs"].items():
            out[proc["name"]] = pid
    return out


def proc_node(page, pid):
    return page.locator(f'g.node[data-pid="{pid}"]')


def attr(page, pid, name):
    """An attribute of pid's node now, or None if it has no node: never waits."""
    return page.evaluate("([pid, name]) => document.querySelector(`g.node[data-pid='${pid}']`)"
                         "?.getAttribute(name) ?? null", [pid, name])


def position(page):
    return page.locator("#position")


def at(page):
    """(N, M) from the page's 'Event N of M'."""
    n, m = re.fullmatch(r"Event (\d+) of (\d+)", position(page).inner_text()).groups()
    return int(n), int(m)


def open_page(page, server, query=""):
    page.goto(server.url(f"/{query}"))
    expect(position(page)).to_have_text(re.compile(r"Event \d+ of [1-9]\d*"))


def step(page, key=False):
    """One step, by button or → key; waits until the page shows the next event."""
    n, m = at(page)
    if key:
        page.keyboard.press("ArrowRight")
    else:
        page.get_by_role("button", name="Step").click()
    expect(position(page)).to_have_text(f"Event {n + 1} of {m}")


def step_until(page, condition, what):
    """Step until condition() holds (read from the DOM after each step), at most M steps."""
    while not condition():
        n, m = at(page)
        assert n < m, f"reached the last event without {what}"
        step(page)


def test_fork_zombie_reparent_and_back(server, watched):
    page = watched
    names = pids("orphans-and-reapers")
    sh, a, b = names["sh"], names["a"], names["b"]
    open_page(page, server, "?scenario=orphans-and-reapers")
    expect(position(page)).to_have_text(f"Event 0 of {timeline('orphans-and-reapers').total}")
    expect(page.get_by_role("treeitem", name="pid 1 init")).to_be_visible()
    expect(page.get_by_role("combobox", name="Scenario")).to_have_value("orphans-and-reapers")

    # A fork: the child appears in SIDL, then becomes SACTIVE.
    step_until(page, lambda: proc_node(page, sh).count() > 0, "sh appearing")
    node = page.get_by_role("treeitem", name=f"pid {sh} sh")
    expect(node).to_have_attribute("data-state", "SIDL")
    expect(node).to_have_attribute("data-ppid", "1")
    step(page)
    expect(node).to_have_attribute("data-state", "SACTIVE")
    expect(node.locator("[data-tid]")).to_have_count(1)

    # a exits: a zombie showing its exit status.
    step_until(page, lambda: attr(page, a, "data-state") == "SZOMB", "a's zombie")
    expect(proc_node(page, a)).to_contain_text("exit 3")

    # b is orphaned: same element, new parent, a labelled edge.
    b_node = proc_node(page, b)
    expect(b_node).to_have_attribute("data-ppid", a)
    b_handle = b_node.element_handle()
    step_until(page, lambda: attr(page, b, "data-ppid") != a, "b's reparent")
    expect(b_node).to_have_attribute("data-ppid", sh)
    assert b_node.element_handle().evaluate("(el, old) => el === old", b_handle), \
        "a reparented process keeps its node"
    expect(page.locator(f'g.why[data-why-pid="{b}"]')).to_have_text("orphan → sub-reaper")

    # Back (← key) puts it back under a; forward again moves it once more.
    page.keyboard.press("ArrowLeft")
    expect(b_node).to_have_attribute("data-ppid", a)
    expect(page.locator(f'g.why[data-why-pid="{b}"]')).to_have_count(0)
    step(page, key=True)
    expect(b_node).to_have_attribute("data-ppid", sh)

    # wait4 reaps a: its node fades away.
    step_until(page, lambda: at(page)[0] == at(page)[1], "the end")
    expect(proc_node(page, a)).to_have_count(0)
    expect(page.get_by_role("button", name="Step")).to_be_disabled()


def test_url_opens_at_event_n(server, watched):
    page = watched
    tl = timeline("orphans-and-reapers")
    n = next(ev["seq"] for ev in tl.events if ev["kind"] == "proc_reparent")
    open_page(page, server, f"?scenario=orphans-and-reapers&event={n}")
    expect(position(page)).to_have_text(f"Event {n} of {tl.total}")
    doc = tl.doc_at(n)
    expect(page.get_by_role("treeitem")).to_have_count(len(doc["procs"]))
    for pid, proc in doc["procs"].items():
        node = page.get_by_role("treeitem", name=f"pid {pid} {proc['name']}")
        expect(node).to_have_attribute("data-state", proc["state"])
        expect(node).to_have_attribute("data-ppid", str(proc["ppid"]))
        expect(node).to_have_attribute("data-pid", pid)
    log = page.get_by_role("list", name="Event log")
    # The log lists the past and the next event, not the rest (issue 16: no spoilers).
    expect(log.get_by_role("listitem")).to_have_count(min(n + 1, tl.total))
    expect(log.locator("li[aria-current]")).to_have_attribute("data-seq", str(n))


def test_event_log_inspector_reset(server, watched):
    page = watched
    tl = timeline("orphans-and-reapers")
    open_page(page, server, "?scenario=orphans-and-reapers")
    page.get_by_role("checkbox", name="Show future events").check()   # event 5 is ahead
    log = page.get_by_role("list", name="Event log")
    entry = log.get_by_role("listitem").nth(4)
    expect(entry).to_contain_text(tl.events[4]["kind"])
    expect(entry).to_contain_text(tl.events[4]["summary"])
    expect(entry.locator(".seed")).to_contain_text("kern_")
    entry.click()
    expect(position(page)).to_have_text(f"Event 5 of {tl.total}")
    expect(page).to_have_url(re.compile(r"scenario=orphans-and-reapers&event=5$"))

    sh = pids("orphans-and-reapers")["sh"]
    page.get_by_role("treeitem", name=f"pid {sh} sh").click()
    inspector = page.get_by_role("region", name="Inspector")
    expect(inspector.get_by_role("heading")).to_have_text(f"Inspector: pid {sh} sh")
    fields = inspector.locator("table.fields > tbody > tr > th")
    expect(fields).to_contain_text(list(tl.doc_at(5)["procs"][sh]))  # every field, unknown ones too
    expect(page.locator(f'g.node[data-pid="{sh}"] .badge')).to_contain_text("R ")

    page.get_by_role("button", name="Reset").click()
    expect(position(page)).to_have_text(f"Event 0 of {tl.total}")
    expect(page.get_by_role("button", name="Back")).to_be_disabled()


def test_play_pause_and_keys(server, watched):
    page = watched
    open_page(page, server, "?scenario=orphans-and-reapers")
    page.get_by_role("button", name="Play").click()
    expect(page.get_by_role("button", name="Pause")).to_be_visible()
    expect(position(page)).not_to_have_text(re.compile(r"Event 0 of"))
    page.keyboard.press("Space")
    expect(page.get_by_role("button", name="Play")).to_be_visible()
    n, m = at(page)
    page.keyboard.press("ArrowRight")
    expect(position(page)).to_have_text(f"Event {n + 1} of {m}")
    page.keyboard.press("ArrowLeft")
    expect(position(page)).to_have_text(f"Event {n} of {m}")


def test_lwps_tray_blocked_and_handover_labels(server, watched):
    page = watched
    names = pids("threads-and-handovers")
    sh = names["sh"]
    open_page(page, server)
    page.get_by_role("combobox", name="Scenario").select_option("threads-and-handovers")
    expect(page.get_by_role("combobox", name="Scenario")).to_have_value("threads-and-handovers")
    expect(position(page)).to_have_text(f"Event 0 of {timeline('threads-and-handovers').total}")

    node = proc_node(page, sh)
    step_until(page, lambda: node.locator("[data-tid]").count() == 3, "three LWPs in sh")
    tray = page.get_by_role("region", name="Dead LWPs").get_by_role("listitem")
    step_until(page, lambda: tray.count() == 1, "an LWP on the dead-LWP list")
    expect(tray).to_have_attribute("data-dead-tid", "1")
    expect(node.locator('[data-tid="1"]')).to_have_count(0)
    step_until(page, lambda: page.locator("#tray li:not(.disposed)").count() == 0, "lwp_dispose")
    expect(tray).to_have_count(0)

    step_until(page, lambda: node.locator(".sleep").count() == 1, "sh sleeping in wait4")
    expect(node).to_contain_text("sleeps in wait4")
    page.get_by_role("button", name="Fit").click()
    step_until(page, lambda: at(page)[0] == at(page)[1], "the end")
    expect(node).not_to_contain_text("sleeps in")
    expect(page.locator(f'g.why[data-why-pid="{names["d"]}"]')).to_have_text("RFNOWAIT")
    expect(page.locator(f'g.why[data-why-pid="{names["c"]}"]')).to_have_text("NOCLDWAIT")
    expect(proc_node(page, names["c"])).to_have_attribute("data-ppid", "1")


def test_broken_scenario_shows_its_line(server, watched):
    page = watched
    open_page(page, server, "?scenario=orphans-and-reapers")
    page.get_by_text("Scenario editor").click()
    editor = page.get_by_role("textbox", name="Scenario text")
    expect(editor).to_have_value(re.compile("steps:"))
    editor.fill("title: broken\nsteps:\n  - init: fork a\n  - a: frobnicate\n  - a: exit 0\n")
    page.get_by_role("button", name="Run edited scenario").click()
    alert = page.locator("#editor-error")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("Line 4:")
    expect(page.locator("#gutter .err")).to_have_text("4")
    # The old run is still there and still steps.
    n, m = at(page)
    step(page)

    editor.fill("title: mended\nsteps:\n  - init: fork a\n  - a: exit 0\n")
    page.get_by_role("button", name="Run edited scenario").click()
    expect(alert).to_be_hidden()
    expect(page.locator("#current .title")).to_contain_text("mended")
    expect(position(page)).to_have_text(re.compile(r"Event 0 of [1-9]"))
    step(page)
    expect(page.get_by_role("treeitem", name=re.compile(r"^pid \d+ a$"))).to_have_count(1)


def test_malformed_socket_messages_do_not_break_the_page(server, watched):
    page = watched
    open_page(page, server, "?scenario=orphans-and-reapers")
    step(page)
    page.evaluate("window.ptree.socket.emit('jump', {event: 'banana'})")
    notice = page.locator("#notice")
    expect(notice).to_contain_text("'event' must be an integer")
    page.evaluate("window.ptree.socket.emit('no-such-message', [1, 2, 3])")
    expect(notice).to_contain_text("unknown message 'no-such-message'")
    page.evaluate("window.ptree.socket.emit('step', 'garbage')")
    expect(notice).to_contain_text("takes a mapping")
    step(page)
    expect(position(page)).to_have_text(re.compile(r"Event 2 of"))


def test_a_diff_gap_is_resynced(server, watched):
    page = watched
    open_page(page, server, "?scenario=orphans-and-reapers")
    step(page)
    # Pretend a message was lost: the page now believes it is one event behind.
    page.evaluate("window.ptree.state.seq = 0")
    n, m = 1, at(page)[1]
    page.get_by_role("button", name="Step").click()
    expect(position(page)).to_have_text(f"Event {n + 1} of {m}")
    tl = timeline("orphans-and-reapers")
    for pid, proc in tl.doc_at(2)["procs"].items():
        expect(proc_node(page, pid)).to_have_attribute("data-state", proc["state"])


def test_stopped_process_reads_stopped_and_zombie_status_comes_decoded(server, watched):
    """wait4-stop-continue: at the event a is stopped, its p_xstat (the bare SIGSTOP) reads
    "stopped by SIGSTOP" in the inspector (the old page said "killed by SIGSTOP"); once
    SIGKILL made it a zombie, its node reads "killed by SIGKILL"."""
    page = watched
    path = ROOT / "scenarios" / "wait4-stop-continue.yaml"
    tl = Timeline(load_scenario_file(path))
    a = next(p for p, q in tl.doc_at(3)["procs"].items() if q["name"] == "a")
    stop = next(n for n in range(tl.total + 1) if tl.doc_at(n)["procs"].get(a, {}).get("xstat") == 17)
    zomb = next(n for n in range(tl.total + 1)
                if tl.doc_at(n)["procs"].get(a, {}).get("state") == "SZOMB")
    open_page(page, server, f"?scenario=wait4-stop-continue&event={stop}")
    page.get_by_role("treeitem", name=f"pid {a} a").click()
    inspector = page.get_by_role("region", name="Inspector")
    row = inspector.locator("table.fields > tbody > tr", has=page.locator("th", has_text="xstat"))
    expect(row).to_contain_text("17 (stopped by SIGSTOP)")
    page.goto(server.url(f"/?scenario=wait4-stop-continue&event={zomb}"))
    expect(proc_node(page, a)).to_contain_text("zombie · killed by SIGKILL")


def test_lwp_marks_are_joined_by_tid_not_redrawn(server, watched):
    """An LWP's mark is the same element from one event to the next (a keyed join), so a
    change of state animates on it instead of a new mark snapping in."""
    page = watched
    sh = pids("threads-and-handovers")["sh"]
    open_page(page, server, "?scenario=threads-and-handovers")
    node = proc_node(page, sh)
    step_until(page, lambda: node.locator("[data-tid]").count() == 3, "three LWPs in sh")
    page.evaluate("(pid) => { window.__mark = document.querySelector("
                  "`g.node[data-pid='${pid}'] [data-tid='0']`); }", sh)
    # sh's node changes (tid 1 exits and leaves the row); tid 0's mark stays the same element.
    step_until(page, lambda: node.locator('[data-tid="1"]').count() == 0, "tid 1 leaving sh")
    assert page.evaluate("(pid) => window.__mark === document.querySelector("
                         "`g.node[data-pid='${pid}'] [data-tid='0']`)", sh)
