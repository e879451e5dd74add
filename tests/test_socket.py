"""The explorer's Socket.IO protocol (docs/protocol.md), through Flask-SocketIO's test sio.

Threading mode, in pytest's own process: nothing is monkey-patched here.  Every expectation
about documents is checked against the engine's Timeline, so these tests say "the wire
carries exactly the engine's run", not a particular scenario's numbers.
"""

import threading
import time
from pathlib import Path

import jsonpatch
import pytest
from ptree.engine.scenario import load_scenario_file
from ptree.engine.timeline import Timeline
from ptree.webui.app import create_app, socketio
from ptree.webui.sessions import SessionLimitError, SessionRegistry

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = "orphans-and-reapers"
E2E_SCENARIOS = ROOT / "tests" / "e2e" / "scenarios"






@pytest.fixture(scope="module")
def timeline():
    return Timeline(load_scenario_file(ROOT / "scenarios" / f"{BUNDLED}.yaml"))


def received(sio, name):
    """The args of every `name` message received since the last call, in order."""
    return [m["args"][0] for m in sio.get_received() if m["name"] == name]


def only(sio, name):
    msgs = sio.get_received()
    assert [m["name"] for m in msgs] == [name], msgs
    return msgs[0]["args"][0]


def open_bundled(sio, event=0):
    sio.emit("open", {"name": BUNDLED, "event": event})
    return only(sio, "snapshot")


def test_hello_lists_the_library(app):
    c = socketio.test_client(app)
    hello = received(c, "hello")[0]
    names = [s["name"] for s in hello["scenarios"]]
    assert BUNDLED in names
    assert "threads-and-handovers" in names          # --scenarios DIR adds to the library
    assert hello["max_sessions"] == 64
    c.disconnect()


def test_open_sends_a_full_snapshot(sio, timeline):
    snap = open_bundled(sio)
    assert snap["full"] is True
    assert (snap["seq"], snap["total"]) == (0, timeline.total)
    assert snap["doc"] == timeline.doc_at(0)
    assert [e["seq"] for e in snap["events"]] == list(range(1, timeline.total + 1))
    assert all("ops" not in e and "inverse" not in e for e in snap["events"])
    assert snap["scenario"]["name"] == BUNDLED
    assert "steps:" in snap["scenario"]["text"]
    assert snap["error"] is None


def test_steps_forward_and_back_carry_the_engine_ops(sio, timeline):
    doc = open_bundled(sio)["doc"]
    for n in range(1, timeline.total + 1):
        sio.emit("step")
        diff = only(sio, "diff")
        assert (diff["seq"], diff["from"], diff["dir"]) == (n, n - 1, "forward")
        assert diff["event"]["seq"] == n
        doc = jsonpatch.apply_patch(doc, diff["ops"])
        assert doc == timeline.doc_at(n)
    sio.emit("step")                                # past the end: nothing changes
    assert only(sio, "status")["seq"] == timeline.total
    for n in range(timeline.total, 0, -1):
        sio.emit("back")
        diff = only(sio, "diff")
        assert (diff["seq"], diff["from"], diff["dir"]) == (n - 1, n, "back")
        assert diff["ops"] == timeline.events[n - 1]["inverse"]
        doc = jsonpatch.apply_patch(doc, diff["ops"])
        assert doc == timeline.doc_at(n - 1)
    sio.emit("back")
    assert only(sio, "status")["seq"] == 0


def test_reparent_edges_are_labelled_and_restored(sio, timeline):
    open_bundled(sio)
    labelled = None
    for _ in range(timeline.total):
        sio.emit("step")
        diff = only(sio, "diff")
        if diff["edges"]:
            labelled = diff
            break
    assert labelled is not None, "the bundled scenario reparents an orphan"
    ((pid, reason),) = labelled["edges"].items()
    assert reason == "orphan → sub-reaper"
    assert labelled["event"]["kind"] == "proc_reparent"
    sio.emit("back")
    assert only(sio, "diff")["edges"] == {pid: None}
    sio.emit("jump", {"event": timeline.total})
    assert only(sio, "snapshot")["edges"] == {pid: reason}


def test_rfnowait_and_nocldwait_reasons(sio):
    sio.emit("open", {"name": "threads-and-handovers"})
    snap = only(sio, "snapshot")
    sio.emit("jump", {"event": snap["total"]})
    edges = only(sio, "snapshot")["edges"]
    names = {p["name"]: pid for pid, p in Timeline(load_scenario_file(
        E2E_SCENARIOS / "threads-and-handovers.yaml")).doc_at(snap["total"])["procs"].items()}
    assert edges[names["d"]] == "RFNOWAIT"
    assert edges[names["c"]] == "NOCLDWAIT"


def test_jump_reset_and_resync(sio, timeline):
    open_bundled(sio)
    sio.emit("jump", {"event": 7})
    snap = only(sio, "snapshot")
    assert (snap["seq"], snap["full"]) == (7, False)
    assert snap["doc"] == timeline.doc_at(7)
    sio.emit("jump", {"event": 10_000})             # clamped, not an error
    assert only(sio, "snapshot")["seq"] == timeline.total
    sio.emit("resync")
    snap = only(sio, "snapshot")
    assert (snap["seq"], snap["full"]) == (timeline.total, True)
    assert len(snap["events"]) == timeline.total
    sio.emit("reset")
    snap = only(sio, "snapshot")
    assert snap["seq"] == 0 and snap["doc"] == timeline.doc_at(0)


def test_open_at_an_event(sio, timeline):
    snap = open_bundled(sio, event=5)
    assert snap["seq"] == 5 and snap["doc"] == timeline.doc_at(5)


def test_open_text_from_the_editor(sio):
    text = "title: typed\nsteps:\n  - init: fork a\n  - a: exit 1\n"
    sio.emit("open", {"text": text, "name": "mine"})
    snap = only(sio, "snapshot")
    assert snap["scenario"]["title"] == "typed"
    assert snap["scenario"]["filename"] == "<editor>"
    assert snap["total"] > 2


def test_bad_scenario_text_reports_its_line_and_keeps_the_run(sio, timeline):
    open_bundled(sio, event=3)
    text = "title: broken\nsteps:\n  - init: fork a\n  - a: frobnicate\n"
    sio.emit("open", {"text": text})
    err = only(sio, "scenario_error")
    assert err["line"] == 4
    assert err["filename"] == "<editor>"
    assert err["text"].startswith("<editor>:4: ")
    sio.emit("step")                                # the previous run is still open
    assert only(sio, "diff")["seq"] == 4


def test_yaml_syntax_error_has_a_line(sio):
    sio.emit("open", {"text": "steps:\n  - init: fork a\n  - [unclosed\n"})
    assert only(sio, "scenario_error")["line"] >= 3


def test_run_time_error_ends_the_run_early(sio):
    # c is blocked in wait4 when it is asked to fork: bad input found while running.
    text = ("steps:\n  - init: fork c\n  - c: fork d\n  - c: wait4 d\n  - c: fork e\n")
    sio.emit("open", {"text": text})
    msgs = sio.get_received()
    if msgs[0]["name"] == "scenario_error":            # the parser may catch it up front
        assert msgs[0]["args"][0]["line"] == 5
        return
    snap = msgs[0]["args"][0]
    assert snap["error"]["line"] == 5
    assert snap["total"] > 0


@pytest.mark.parametrize("name,args,code", [
    ("step", ("garbage",), "bad_message"),
    ("jump", ({"event": "banana"},), "bad_message"),
    ("jump", ({},), "bad_message"),
    ("play", ({"speed": "fast"},), "bad_message"),
    ("open", ({"name": 42},), "bad_message"),
    ("open", ({"name": "no-such-scenario"},), "not_found"),
    ("open", ({"text": ["not", "text"]},), "bad_message"),
    ("no-such-message", ({"x": 1},), "unknown_message"),
    ("step", ({}, {}), "bad_message"),
])
def test_malformed_messages_get_an_error_and_the_session_goes_on(sio, name, args, code):
    open_bundled(sio)
    sio.emit(name, *args)
    err = only(sio, "error")
    assert err["code"] == code
    assert err["message"]
    assert sio.is_connected()
    sio.emit("step")
    assert only(sio, "diff")["seq"] == 1


def test_messages_before_open_are_refused_politely(sio):
    sio.emit("step")
    assert only(sio, "error")["code"] == "no_scenario"


def test_sessions_are_per_tab(app, timeline):
    a, b = socketio.test_client(app), socketio.test_client(app)
    a.get_received(), b.get_received()
    open_bundled(a)
    open_bundled(b)
    for _ in range(3):
        a.emit("step")
    assert [d["seq"] for d in received(a, "diff")] == [1, 2, 3]
    b.emit("step")
    assert only(b, "diff")["seq"] == 1
    a.disconnect(), b.disconnect()


def test_session_cap_refuses_with_a_message(timeline):
    app = create_app({"ASYNC_MODE": "threading", "MAX_SESSIONS": 2})
    a, b = socketio.test_client(app), socketio.test_client(app)
    c = socketio.test_client(app)
    assert a.is_connected() and b.is_connected()
    assert not c.is_connected()
    a.disconnect()
    d = socketio.test_client(app)                      # a closed tab frees its place
    assert d.is_connected()
    b.disconnect(), d.disconnect()


def test_registry_cap_message_and_idle_expiry():
    now = [0.0]
    reg = SessionRegistry(max_sessions=1, idle_seconds=60, clock=lambda: now[0])
    reg.create("a")
    with pytest.raises(SessionLimitError, match="maximum of 1 sessions"):
        reg.create("b")
    now[0] = 59
    assert reg.get("a") is not None                    # a lookup keeps it alive
    now[0] = 59 + 61
    assert reg.get("a") is None
    reg.create("b")                                    # the expired one freed its place


def test_expired_session_is_told_and_can_reopen(app, sio):
    open_bundled(sio)
    registry = app.extensions["ptree.sessions"]
    registry.clock = lambda: time.monotonic() + 10 * registry.idle_seconds
    sio.emit("step")
    assert only(sio, "error")["code"] == "expired"
    open_bundled(sio, event=2)                       # what the page does next
    sio.emit("step")
    assert only(sio, "diff")["seq"] == 3


def wait_for(sio, name, predicate, seconds=10):
    """Collect messages until one named `name` satisfies predicate (bounded poll)."""
    deadline = time.monotonic() + seconds
    seen = []
    tick = threading.Event()
    while time.monotonic() < deadline:
        for m in sio.get_received():
            seen.append(m)
            if m["name"] == name and predicate(m["args"][0]):
                return seen
        tick.wait(0.01)  # let the play task's thread run
    raise AssertionError(f"no {name} within {seconds}s; got {[m['name'] for m in seen]}")


def test_play_runs_to_the_end_then_stops(sio, timeline):
    open_bundled(sio)
    sio.emit("play", {"speed": 200})
    seen = wait_for(sio, "status", lambda s: not s["playing"] and s["seq"] == timeline.total)
    diffs = [m["args"][0] for m in seen if m["name"] == "diff"]
    assert [d["seq"] for d in diffs] == list(range(1, timeline.total + 1))
    assert seen[0]["name"] == "status" and seen[0]["args"][0]["playing"] is True


def test_pause_stops_playing(sio, timeline):
    open_bundled(sio)
    sio.emit("play", {"speed": 1})
    assert only(sio, "status")["playing"] is True
    sio.emit("pause")
    status = only(sio, "status")
    assert status["playing"] is False
    sio.emit("step")                                # still at the position it paused at
    assert only(sio, "diff")["seq"] == status["seq"] + 1


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").glob("*.yaml"))
                         + sorted((ROOT / "scenarios" / "traced").glob("*.yaml")),
                         ids=lambda p: p.stem)
def test_every_bundled_scenario_steps_through_on_the_wire(sio, path):
    """A new user can open every bundled scenario and step it forward and back."""
    sio.emit("open", {"name": path.stem})
    snap = only(sio, "snapshot")
    doc, total = snap["doc"], snap["total"]
    assert total > 0 and snap["error"] is None
    for _ in range(total):
        sio.emit("step")
        doc = jsonpatch.apply_patch(doc, only(sio, "diff")["ops"])
    sio.emit("resync")
    assert only(sio, "snapshot")["doc"] == doc
    for _ in range(total):
        sio.emit("back")
        doc = jsonpatch.apply_patch(doc, only(sio, "diff")["ops"])
    assert doc == snap["doc"]


def test_a_failing_handler_reports_internal_and_the_session_goes_on(app, sio, monkeypatch):
    open_bundled(sio)
    library = app.extensions["ptree.library"]

    def broken(name, **kw):
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(library, "open_name", broken)
    sio.emit("open", {"name": BUNDLED})
    err = only(sio, "error")
    assert err["code"] == "internal" and "engine exploded" in err["message"]
    sio.emit("step")
    assert only(sio, "diff")["seq"] == 1
