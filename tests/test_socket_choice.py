"""Choice mode, explore, export and share on the wire (docs/protocol.md), through
Flask-SocketIO's test client in threading mode.

Expectations come from the engine (ChoiceTimeline, explore, Timeline, `ptree run`), so
these tests say "the wire carries exactly the engine's interleaving", not a scenario's
particular numbers.
"""

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import jsonpatch
import pytest
from ptree.engine.explore import explore
from ptree.engine.runner import run_scenario
from ptree.engine.scenario import load_scenario_file, parse_scenario
from ptree.engine.timeline import ChoiceTimeline, Timeline
from ptree.webui.app import socketio

ROOT = Path(__file__).resolve().parent.parent
RACE = "multi-lwp-exit-race"
RACE_FILE = ROOT / "scenarios" / f"{RACE}.yaml"






@pytest.fixture(scope="module")
def race():
    return load_scenario_file(RACE_FILE)


@pytest.fixture(scope="module")
def race_trace(race):
    found = explore(race)
    assert found.complete and found.violations, "the bundled race has a use-after-free"
    return found.violations[0].trace


def only(sio, name):
    msgs = sio.get_received()
    assert [m["name"] for m in msgs] == [name], msgs
    return msgs[0]["args"][0]


def messages(sio):
    return [(m["name"], m["args"][0]) for m in sio.get_received()]


def open_choice(sio, **extra):
    sio.emit("open", {"name": RACE, "mode": "choice", **extra})
    return only(sio, "snapshot")


def choose(sio, label):
    """Choose `label`; returns the diffs it made (and asserts nothing else came)."""
    sio.emit("choose", {"label": label})
    msgs = messages(sio)
    assert {n for n, _ in msgs} == {"diff"}, msgs
    return [m for _, m in msgs]


def labels(actions):
    return [a["label"] for a in actions]


# -- choice mode ---------------------------------------------------------------------------

def test_choice_mode_lists_the_engines_actions(sio, race):
    snap = open_choice(sio)
    assert snap["mode"] == "choice" and snap["full"] is True
    assert (snap["seq"], snap["total"], snap["events"]) == (0, 0, [])
    tl = ChoiceTimeline(race)
    assert snap["choice"] == {"trace": [], "at": 0, "next": None, "actions": tl.choices()}
    assert snap["doc"] == tl.doc_at(0)
    assert snap["scenario"]["mode"] == "choice"


def test_auto_mode_says_so(sio):
    sio.emit("open", {"name": RACE})
    snap = only(sio, "snapshot")
    assert snap["mode"] == "auto" and snap["choice"] is None
    sio.emit("step")
    assert only(sio, "diff")["choice"] is None


def test_walking_the_explore_trace_reaches_the_violation(sio, race, race_trace):
    doc = open_choice(sio)["doc"]
    tl = ChoiceTimeline(race)
    for k, label in enumerate(race_trace):
        expected = tl.choose(label)
        diffs = choose(sio, label)
        assert [d["event"]["seq"] for d in diffs] == [ev["seq"] for ev in expected]
        for d, ev in zip(diffs, expected, strict=True):
            assert d["new"] is True and d["dir"] == "forward" and d["from"] == d["seq"] - 1
            assert d["ops"] == ev["ops"]
            doc = jsonpatch.apply_patch(doc, d["ops"])
            assert doc == tl.doc_at(d["seq"])
        assert diffs[-1]["choice"]["trace"] == race_trace[:k + 1]
        assert diffs[-1]["choice"]["actions"] == tl.choices()
    last = diffs[-1]["event"]
    assert last["kind"] == "violation" and "use-after-free" in last["violation"]
    # The marker names the LWP the message names: a.1, by pid.
    a = next(p for p in doc["procs"].values() if p["name"] == "a")
    assert [(m["pid"], m["tid"], m["invariant"]) for m in last["marks"]] == [
        (a["pid"], 1, "use-after-free")]
    assert last["marks"][0]["message"] in last["violation"]
    # Between the dispose and its violation there is no choice point.
    assert diffs[-2]["choice"]["at"] is None and diffs[-2]["choice"]["actions"] == []


def test_back_then_the_same_action_moves_along_the_path(sio, race_trace):
    open_choice(sio, choices=race_trace)
    sio.emit("jump", {"event": 10_000})
    end = only(sio, "snapshot")
    total = end["total"]
    sio.emit("back")
    sio.emit("back")
    sio.emit("back")
    here = [m for _, m in messages(sio)][-1]
    k = here["choice"]["at"]
    assert here["choice"]["next"] == race_trace[k]
    diffs = choose(sio, race_trace[k])
    assert all(d["new"] is False for d in diffs)
    assert diffs[-1]["total"] == total and diffs[-1]["choice"]["trace"] == race_trace


def test_back_then_another_action_branches(sio, race, race_trace):
    open_choice(sio, choices=race_trace)
    k = 5                                        # go back to the choice point after 5 actions
    tl = ChoiceTimeline(race, trace=race_trace[:k])
    sio.emit("jump", {"event": tl.total})
    point = only(sio, "snapshot")["choice"]
    assert point["at"] == k and point["next"] == race_trace[k]
    other = next(a for a in labels(point["actions"]) if a != race_trace[k])
    expected = tl.choose(other)
    diffs = choose(sio, other)
    assert [d["event"]["seq"] for d in diffs] == [ev["seq"] for ev in expected]
    assert all(d["new"] for d in diffs)
    assert diffs[-1]["total"] == tl.total
    assert diffs[-1]["choice"]["trace"] == race_trace[:k] + [other]
    sio.emit("resync")                        # the log on the server was cut and extended
    snap = only(sio, "snapshot")
    assert [e["seq"] for e in snap["events"]] == list(range(1, tl.total + 1))
    assert [e["kind"] for e in snap["events"]] == [ev["kind"] for ev in tl.events]
    assert snap["doc"] == tl.doc_at(tl.total)
    sio.emit("back")                          # and back still undoes the new branch
    d = only(sio, "diff")
    assert d["ops"] == tl.events[-1]["inverse"]


def test_a_label_that_cannot_run_is_refused_and_the_session_goes_on(sio, race_trace):
    open_choice(sio)
    for bad, code in [("a: exit 0", "bad_choice"), ("no such action", "bad_choice"),
                      (42, "bad_message")]:
        sio.emit("choose", {"label": bad})
        err = only(sio, "error")
        assert err["code"] == code and err["event"] == "choose"
    diffs = choose(sio, race_trace[0])        # still at event 0, still choosing
    assert diffs[0]["seq"] == 1


def test_choose_inside_an_action_or_outside_choice_mode_is_refused(sio, race_trace):
    open_choice(sio, choices=race_trace)
    sio.emit("jump", {"event": 10_000})
    total = only(sio, "snapshot")["total"]
    sio.emit("back")                         # between the dispose and its violation
    assert only(sio, "diff")["choice"]["at"] is None
    sio.emit("choose", {"label": race_trace[0]})
    assert only(sio, "error")["code"] == "bad_choice"
    sio.emit("step")
    assert only(sio, "diff")["seq"] == total
    sio.emit("open", {"name": RACE})
    only(sio, "snapshot")
    sio.emit("choose", {"label": "init: fork a"})
    err = only(sio, "error")
    assert err["code"] == "bad_choice" and "choice mode" in err["message"]


def test_a_path_in_the_url_replays_and_a_bad_one_stops_early(sio, race, race_trace):
    tl = ChoiceTimeline(race, trace=race_trace)
    snap = open_choice(sio, choices=race_trace, event=4)
    assert (snap["seq"], snap["total"]) == (4, tl.total)
    assert snap["doc"] == tl.doc_at(4)
    assert snap["choice"]["trace"] == race_trace
    assert [e["seq"] for e in snap["events"]] == list(range(1, tl.total + 1))
    sio.emit("open", {"name": RACE, "choices": race_trace[:3] + ["init: frobnicate"] +
                         race_trace[3:]})
    (n1, snap), (n2, err) = messages(sio)
    assert (n1, n2) == ("snapshot", "error")
    assert snap["choice"]["trace"] == race_trace[:3] and snap["mode"] == "choice"
    assert err["code"] == "bad_choice" and "'init: frobnicate'" in err["message"]
    for bad in ("not a list", [1, 2], ["x" * 5000]):
        sio.emit("open", {"name": RACE, "choices": bad})
        assert only(sio, "error")["code"] == "bad_message"


def test_a_choice_file_opens_in_choice_mode_with_its_own_path(sio, race, race_trace):
    text = explore(race).violations[0].scenario_text(race)
    auto = Timeline(parse_scenario(text))
    sio.emit("open", {"text": text, "mode": "choice", "event": auto.total})
    snap = only(sio, "snapshot")
    assert snap["choice"]["trace"] == race_trace
    assert (snap["seq"], snap["total"]) == (auto.total, auto.total)
    assert snap["doc"] == auto.doc_at(auto.total)
    assert [e["kind"] for e in snap["events"]] == [ev["kind"] for ev in auto.events]


# -- export ----------------------------------------------------------------------------------

def export(sio):
    sio.emit("export")
    return only(sio, "exported")


def ptree_run_json(tmp_path, text):
    path = tmp_path / "exported.yaml"
    path.write_text(text)
    ptree = Path(sys.executable).parent / "ptree"
    cmd = [str(ptree)] if ptree.exists() else [sys.executable, "-m", "ptree"]
    proc = subprocess.run([*cmd, "run", str(path), "--json"], capture_output=True, text=True,
                          cwd=ROOT)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def quiet_points(tl):
    """Positions after which the next event starts a new scripted step (or the end):
    where the steps taken so far, run with their kernel work, stop."""
    out, seen = [0], 0
    for ev in tl.events:
        if ev["step"] is not None and ev["step"] > seen and ev["seq"] > 1:
            out.append(ev["seq"] - 1)
        seen = max(seen, ev["step"] or 0)
    return out + [tl.total]


def test_export_in_auto_mode_round_trips(sio, tmp_path):
    name = "orphans-and-reapers"
    tl = Timeline(load_scenario_file(ROOT / "scenarios" / f"{name}.yaml"))
    sio.emit("open", {"name": name})
    only(sio, "snapshot")
    sio.emit("export")
    assert only(sio, "error")["code"] == "empty_export"    # nothing has run at event 0
    points = quiet_points(tl)[1:]
    assert len(points) > 4
    for n in points:
        sio.emit("jump", {"event": n})
        only(sio, "snapshot")
        out = export(sio)
        assert (out["event"], out["mode"]) == (n, "auto")
        assert out["filename"] == f"{name}-event-{n}.yaml"
        run, events = run_scenario(parse_scenario(out["text"]))
        assert len(events) == n and run.kernel.root == tl.doc_at(n), n
    status, result = ptree_run_json(tmp_path, out["text"])   # and the CLI agrees
    assert status == 0 and result["state"] == tl.doc_at(tl.total)


def test_export_in_choice_mode_round_trips_through_ptree_run(sio, race, race_trace, tmp_path):
    tl = ChoiceTimeline(race, trace=race_trace)
    open_choice(sio, choices=race_trace, event=10_000)
    out = export(sio)
    assert out["mode"] == "choice" and out["filename"] == f"{RACE}-choices-event-{tl.total}.yaml"
    assert out["text"] == tl.export_text()
    assert "schedule: choice" in out["text"]
    status, result = ptree_run_json(tmp_path, out["text"])
    assert status == 1                          # the use-after-free is replayed
    assert result["state"] == tl.doc_at(tl.total) and result["events"] == tl.total
    # At an earlier choice point: the actions up to it.
    prefix = ChoiceTimeline(race, trace=race_trace[:4])
    sio.emit("jump", {"event": prefix.total})
    only(sio, "snapshot")
    out = export(sio)
    assert out["text"] == prefix.export_text()
    status, result = ptree_run_json(tmp_path, out["text"])
    assert status == 0 and result["state"] == prefix.doc_at(prefix.total)


def test_share_reopens_edited_text_with_its_path_at_the_same_event(app, sio, race_trace):
    """What a shared URL carries (text, path, event) reopens the same position in a
    fresh session."""
    text = RACE_FILE.read_text().replace("title: The multi", "title: Edited multi")
    sio.emit("open", {"text": text, "name": "mine", "mode": "choice"})
    only(sio, "snapshot")
    for label in race_trace[:6]:
        diffs = choose(sio, label)
    where = diffs[-1]
    other = socketio.test_client(app)
    other.get_received()
    other.emit("open", {"text": text, "name": "shared", "choices": where["choice"]["trace"],
                        "event": where["seq"]})
    snap = only(other, "snapshot")
    sio.emit("resync")
    mine = only(sio, "snapshot")
    assert snap["scenario"]["title"].startswith("Edited multi")
    for key in ("seq", "total", "doc", "events", "choice", "edges"):
        assert snap[key] == mine[key], key
    other.disconnect()


# -- explore ---------------------------------------------------------------------------------

def wait_for(sio, names, seconds=60):
    """Collect messages until one named in `names` arrives (bounded poll)."""
    deadline = time.monotonic() + seconds
    tick = threading.Event()
    while time.monotonic() < deadline:
        for m in sio.get_received():
            if m["name"] in names:
                return m["name"], m["args"][0]
        tick.wait(0.01)
    raise AssertionError(f"no {names} within {seconds}s")


def test_explore_finds_the_race_and_its_trace_opens_at_the_violation(sio, race, race_trace):
    sio.emit("open", {"name": RACE})
    only(sio, "snapshot")
    sio.emit("explore", {"max_states": 5000})
    name, found = wait_for(sio, {"explored", "error"})
    assert name == "explored", found
    engine = explore(race, max_states=5000)
    assert (found["states"], found["transitions"], found["complete"]) == (
        engine.states, engine.transitions, True)
    (v,) = found["violations"]
    assert v["trace"] == race_trace and v["invariant"] == "use-after-free"
    assert v["text"] == engine.violations[0].scenario_text(race)
    sio.emit("open", {"text": v["text"], "name": "trace", "event": 10**9})
    snap = only(sio, "snapshot")
    assert snap["seq"] == snap["total"] and snap["mode"] == "auto"
    assert snap["events"][-1]["kind"] == "violation"
    assert snap["events"][-1]["marks"][0]["tid"] == 1


def test_explore_after_the_fix_finds_nothing_and_says_the_search_was_complete(sio):
    text = RACE_FILE.read_text().replace("race: before-fix", "race: after-fix")
    sio.emit("open", {"text": text})
    only(sio, "snapshot")
    sio.emit("explore")
    name, found = wait_for(sio, {"explored", "error"})
    assert name == "explored" and found["violations"] == [] and found["complete"] is True
    assert found["states"] > 100 and found["max_states"] == 10_000


def test_explore_says_when_it_hit_its_bound(sio):
    sio.emit("open", {"name": RACE})
    only(sio, "snapshot")
    sio.emit("explore", {"max_states": 50})
    name, found = wait_for(sio, {"explored", "error"})
    assert name == "explored" and found["complete"] is False and found["max_states"] == 50


@pytest.mark.parametrize("payload", [{"max_states": 0}, {"max_states": 10**6},
                                     {"max_states": "many"}])
def test_explore_bounds_are_checked(sio, payload):
    sio.emit("open", {"name": RACE})
    only(sio, "snapshot")
    sio.emit("explore", payload)
    assert only(sio, "error")["code"] == "bad_message"


def test_one_explore_per_tab(sio):
    sio.emit("open", {"name": RACE})
    only(sio, "snapshot")
    sio.emit("explore")
    sio.emit("explore")
    name, err = wait_for(sio, {"error"}, seconds=5)
    assert err["code"] == "explore_busy"
    assert wait_for(sio, {"explored"})[0] == "explored"


def test_export_of_a_trace_file_in_auto_mode_keeps_its_schedule(sio, race, race_trace):
    text = explore(race).violations[0].scenario_text(race)
    sio.emit("open", {"text": text, "name": "trace", "event": 5})
    only(sio, "snapshot")
    out = export(sio)
    assert out["filename"] == "trace-event-5.yaml"
    prefix = ChoiceTimeline(race, trace=race_trace[:5])
    assert prefix.total == 5
    assert parse_scenario(out["text"]).schedule == "choice"
    run, events = run_scenario(parse_scenario(out["text"]))
    assert len(events) == 5 and run.kernel.root == prefix.doc_at(5)
