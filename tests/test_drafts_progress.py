"""Drafts, Explore progress and Cancel, and the progress of a long `open`, on the socket
(docs/protocol.md), through Flask-SocketIO's test client in threading mode.

Polls are bounded and wait on a condition (a message arriving), never a fixed time.
"""

from pathlib import Path

import pytest
from ptree.engine.explore import explore
from ptree.engine.randomgen import generate
from ptree.engine.scenario import dump_scenario, load_scenario_file, parse_scenario
from ptree.engine.timeline import Timeline
from ptree.webui.app import create_app, socketio
from ptree.webui.events import MAX_DRAFT, draft_id
from scenario_util import receive_until

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "scenarios" / "orphans-and-reapers.yaml"
BIG_SPACE = ROOT / "bench" / "scenarios" / "two-threaded-exits.yaml"


def wait_for(client, name, seconds=120):
    """Every message until the first `name` one arrives: (before, that message)."""
    got = receive_until(client, lambda ms: any(m["name"] == name for m in ms), seconds)
    first = next(i for i, m in enumerate(got) if m["name"] == name)
    return got[:first], got[first]["args"][0]


def names(msgs):
    return [m["name"] for m in msgs]


# -- explore: progress and cancel ----------------------------------------------------------------

def test_engine_progress_reports_and_cancels():
    sc = load_scenario_file(BIG_SPACE)
    calls = []
    result = explore(sc, 50_000, progress=lambda p: calls.append(p) or len(calls) >= 3)
    assert result.stopped == "cancelled" and not result.complete
    assert len(calls) == 3
    assert [c["states"] for c in calls] == sorted(c["states"] for c in calls)
    assert all(set(c) == {"states", "transitions", "depth", "frontier"} for c in calls)
    assert result.states < 50_000 and result.depth >= calls[-1]["depth"]


def test_engine_progress_at_the_limit_and_at_the_end():
    sc = load_scenario_file(BIG_SPACE)
    calls = []
    result = explore(sc, 2_500, progress=calls.append)
    assert result.stopped == "max_states" and not result.complete
    assert calls[-1]["states"] == result.states     # once at the end, with the final figures
    small = explore(load_scenario_file(BUNDLED), progress=calls.append)
    assert small.complete and small.stopped is None


def test_explore_progress_then_cancel(sio):
    sio.emit("open", {"text": BIG_SPACE.read_text()})
    wait_for(sio, "snapshot")
    sio.emit("explore", {"max_states": 50_000})
    _, progress = wait_for(sio, "explore_progress")
    assert {"states", "transitions", "depth", "frontier", "rate", "seconds", "max_states",
            "run"} <= set(progress)
    assert 0 < progress["states"] <= 50_000 and progress["max_states"] == 50_000
    sio.emit("explore_cancel")
    _, done = wait_for(sio, "explored")
    assert done["stopped"] == "cancelled" and done["complete"] is False
    assert done["states"] < 50_000
    sio.emit("explore_cancel")                      # nothing running: ignored
    sio.emit("explore", {"max_states": 100})        # and a new search may start
    _, again = wait_for(sio, "explored")
    assert again["stopped"] == "max_states"


# -- drafts ----------------------------------------------------------------------------------------

def draft_text(n=300):
    steps = "".join(f"  - init: fork c{i}\n  - c{i}: exit 0\n" for i in range(n))
    return f"title: kept as a draft\nsteps:\n{steps}"


def test_a_kept_text_reopens_by_its_draft_id_after_a_restart(tmp_path):
    store = tmp_path / "rooms.sqlite3"
    config = {"ASYNC_MODE": "threading", "TESTING": True, "ROOM_STORE": store}
    text = draft_text()
    first = socketio.test_client(create_app(config))
    first.emit("open", {"text": text, "name": "mine", "keep": True, "event": 3})
    _, snap = wait_for(first, "snapshot")
    assert snap["scenario"]["draft"] == draft_id(text)
    first.disconnect()
    # Another server process on the same store: the draft is there.
    again = socketio.test_client(create_app(config))
    again.emit("open", {"draft": draft_id(text), "event": 3})
    _, snap = wait_for(again, "snapshot")
    assert snap["scenario"]["text"] == text and snap["seq"] == 3
    assert snap["scenario"]["draft"] == draft_id(text)
    assert snap["total"] == Timeline(parse_scenario(text, "x")).total


def test_text_not_kept_has_no_draft(sio):
    sio.emit("open", {"text": draft_text(3)})
    _, snap = wait_for(sio, "snapshot")
    assert snap["scenario"]["draft"] is None
    sio.emit("open", {"draft": draft_id(draft_text(3))})
    _, err = wait_for(sio, "error")
    assert err["code"] == "not_found" and "draft" in err["message"]


@pytest.mark.parametrize("bad", ["../../etc", 12, "ABCDEF0123456789"])
def test_a_malformed_draft_id_is_bad_message(sio, bad):
    sio.emit("open", {"draft": bad})
    _, err = wait_for(sio, "error")
    assert err["code"] == "bad_message"


def test_a_draft_past_the_limit_is_a_clear_error_and_the_run_still_opens(sio):
    # Under the open's 1,000,000-character limit, over the draft's 1,000,000 bytes.
    text = draft_text(3) + "# " + "é" * (MAX_DRAFT // 2 + 10) + "\n"
    sio.emit("open", {"text": text, "keep": True})
    before, snap = wait_for(sio, "snapshot")
    errors = [m["args"][0] for m in before if m["name"] == "error"]
    assert [e["code"] for e in errors] == ["too_large"]
    assert "1,000,000 bytes" in errors[0]["message"] and "Export" in errors[0]["message"]
    assert snap["scenario"]["draft"] is None and snap["total"] > 0


# -- a long open ------------------------------------------------------------------------------------

def test_a_long_open_reports_its_progress_before_the_snapshot(tmp_path):
    sc = generate(7, 6_000)
    path = tmp_path / "long-one.yaml"
    path.write_text(dump_scenario(sc))
    app = create_app({"ASYNC_MODE": "threading", "TESTING": True,
                      "EXTRA_SCENARIO_DIRS": [tmp_path], "ROOM_STORE": tmp_path / "r.sqlite3"})
    c = socketio.test_client(app)
    c.get_received()
    c.emit("open", {"name": "long-one"})
    before, snap = wait_for(c, "snapshot")
    progress = [m["args"][0] for m in before if m["name"] == "open_progress"]
    assert progress, names(before)
    events = [p["events"] for p in progress]
    assert events == sorted(events) and 0 < events[-1] <= snap["total"]
    assert all(p["name"] == "long-one" and p["steps"] == len(sc.steps) for p in progress)
    # Cached now: the second open computes nothing, so it reports nothing.
    c.emit("open", {"name": "long-one"})
    before, _ = wait_for(c, "snapshot")
    assert "open_progress" not in names(before)
