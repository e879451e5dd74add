"""Two step sizes on the wire (docs/protocol.md, `step`/`back` with `{by: "command"}`).

Issue 16: six scripted commands make eighteen kernel events and there was one way to step.
`step {by: "command"}` emits one diff per event of the next command (so the page can show
each), `back {by: "command"}` undoes back to where the current command began; plain `step`
and `back` stay one event.  Threading mode in pytest's own process, as tests/test_socket.py
(the e2e tests run the same handlers under eventlet too).  Expectations come from the
engine's Timeline and the scenario's step indices, not from numbers written here.
"""

from pathlib import Path

import jsonpatch
import pytest
from ptree.engine.explore import explore
from ptree.engine.scenario import load_scenario_file
from ptree.engine.timeline import ChoiceTimeline, Timeline
from ptree.webui.app import socketio
from scenario_util import command_ends

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = "orphans-and-reapers"            # 6 scripted steps, 18 events
BLOCKING = "fork-and-wait-reaper"          # a wait4 that blocks and returns later


def scenario(name):
    return load_scenario_file(ROOT / "scenarios" / f"{name}.yaml")


def received(c):
    return [(m["name"], m["args"][0]) for m in c.get_received()]


def open_name(sio, name, **extra):
    sio.emit("open", {"name": name, **extra})
    (kind, snap), = received(sio)
    assert kind == "snapshot"
    return snap


def test_step_by_command_walks_six_commands_in_six_messages(sio):
    tl = Timeline(scenario(BUNDLED))
    steps = len(scenario(BUNDLED).steps)
    assert (steps, tl.total) == (6, 18)              # the case of the issue
    doc = open_name(sio, BUNDLED)["doc"]
    pos = 0
    for end in command_ends(tl):
        sio.emit("step", {"by": "command"})
        diffs = received(sio)
        assert {k for k, _ in diffs} == {"diff"}
        assert [d["seq"] for _, d in diffs] == list(range(pos + 1, end + 1))
        for _, d in diffs:                           # one diff per event, each applying
            assert d["by"] == "command" and d["from"] == d["seq"] - 1
            doc = jsonpatch.apply_patch(doc, d["ops"])
            assert doc == tl.doc_at(d["seq"])
        # The command is one scripted step: every event of it names that step or none.
        assert len({d["event"]["step"] for _, d in diffs} - {None}) == 1
        pos = end
    assert pos == tl.total and len(command_ends(tl)) == steps
    sio.emit("step", {"by": "command"})             # at the end: status, nothing moves
    (kind, st), = received(sio)
    assert kind == "status" and st["seq"] == tl.total


def test_step_by_event_and_no_payload_are_one_event(sio):
    open_name(sio, BUNDLED)
    for payload in ({"by": "event"}, None, {}):
        sio.emit("step", payload) if payload is not None else sio.emit("step")
        (kind, d), = received(sio)
        assert kind == "diff" and "by" not in d
    assert d["seq"] == 3


def test_back_by_command_returns_to_the_commands_start(sio):
    tl = Timeline(scenario(BUNDLED))
    ends = [0] + command_ends(tl)
    inside = ends[4] + 3                             # three events into command 5 (the exit)
    doc = open_name(sio, BUNDLED, event=inside)["doc"]
    for target in (ends[4], ends[3]):
        sio.emit("back", {"by": "command"})
        diffs = received(sio)
        assert [d["dir"] for _, d in diffs] == ["back"] * len(diffs)
        for _, d in diffs:
            doc = jsonpatch.apply_patch(doc, d["ops"])
            assert doc == tl.doc_at(d["seq"]) and d["by"] == "command"
        assert diffs[-1][1]["seq"] == target
    sio.emit("back", {"by": "event"})
    (kind, d), = received(sio)
    assert kind == "diff" and d["seq"] == ends[3] - 1
    sio.emit("jump", {"event": 0})
    received(sio)
    sio.emit("back", {"by": "command"})
    (kind, _), = received(sio)
    assert kind == "status"


def test_a_woken_wait4_belongs_to_the_command_that_woke_it(sio):
    sc = scenario(BLOCKING)
    tl = Timeline(sc)
    # The scenario has a step whose events come back after a later step began.
    seen, resumed = set(), False
    for ev in tl.events:
        s = ev["step"]
        resumed |= s is not None and s in seen and s != max(seen)
        seen |= {s} - {None}
    assert resumed, f"{BLOCKING} no longer has a blocked step that returns later"
    open_name(sio, BLOCKING)
    presses = 0
    while True:
        sio.emit("step", {"by": "command"})
        kinds = {k for k, _ in received(sio)}
        if kinds == {"status"}:
            break
        presses += 1
    assert presses == len(sc.steps)


@pytest.mark.parametrize("by", ["line", 3, None, ["command"]])
def test_a_bad_step_size_is_an_error_and_changes_nothing(sio, by):
    open_name(sio, BUNDLED)
    for name in ("step", "back"):
        sio.emit(name, {"by": by})
        (kind, err), = received(sio)
        assert kind == "error" and err["code"] == "bad_message" and "'by'" in err["message"]
    sio.emit("step")
    assert received(sio)[0][1]["seq"] == 1


def test_choice_mode_steps_by_chosen_action(sio):
    """In choice mode a command is one action of the path: step by command goes to the
    next choice point, so an action that breaks an invariant shows its event and the
    violation together; back by command returns to the choice point before it."""
    race = load_scenario_file(ROOT / "scenarios" / "multi-lwp-exit-race.yaml")
    trace = explore(race).violations[0].trace
    tl = ChoiceTimeline(race, trace=trace[:-1])
    before = tl.total
    tl.choose(trace[-1])
    assert tl.total - before == 2                    # the dispose and its violation
    open_name(sio, "multi-lwp-exit-race", choices=trace, event=before)
    sio.emit("step", {"by": "command"})
    diffs = [d for _, d in received(sio)]
    assert [d["seq"] for d in diffs] == [before + 1, before + 2]
    assert diffs[-1]["event"]["kind"] == "violation"
    assert diffs[0]["choice"]["at"] is None and diffs[-1]["choice"]["at"] == len(trace)
    sio.emit("back", {"by": "command"})
    diffs = [d for _, d in received(sio)]
    assert [d["seq"] for d in diffs] == [before + 1, before]
    assert diffs[-1]["choice"]["at"] == len(trace) - 1


def test_a_presenter_steps_the_room_by_command(app):
    """A lecture room: the presenter's step by command reaches every follower, each
    event its own diff, all of one change (one rev)."""
    tl = Timeline(scenario(BUNDLED))
    http = app.test_client()
    answer = http.get(f"/present?scenario={BUNDLED}")
    code = answer.headers["Location"].rsplit("/", 1)[1]
    key = http.get_cookie(f"ptree_present_{code}").value
    presenter = socketio.test_client(app, auth={"lecture": code, "role": "presenter", "key": key})
    viewer = socketio.test_client(app, auth={"lecture": code, "role": "viewer"})
    presenter.get_received()
    viewer.get_received()
    presenter.emit("step", {"by": "command"})
    presenter.emit("step", {"by": "command"})
    got = [d for k, d in received(viewer) if k == "diff"]
    assert [d["seq"] for d in got] == list(range(1, command_ends(tl)[1] + 1))
    assert len({d["rev"] for d in got if d["seq"] <= command_ends(tl)[0]}) == 1
    viewer.emit("step", {"by": "command"})
    assert [k for k, d in received(viewer)] == ["error"]
    presenter.disconnect()
    viewer.disconnect()
