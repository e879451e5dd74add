"""The engine's fast paths say exactly what the recorded engine says: an unrecorded run
(`ptree run` / `ptree check`), the children listing index, replays after a jump (unrecorded,
then recording again) and the per-field ledger that a jump moves back and forth."""

import json
import random

import pytest
from ptree.engine.doc import LeanDoc
from ptree.engine.randomgen import generate
from ptree.engine.runner import Run, run_scenario
from ptree.engine.scenario import make_step, new_scenario


def scenarios():
    return [generate(seed, 120, kernel=("reaper", "classic")[seed % 2], fork_ratio=0.4)
            for seed in (3, 8, 21, 34)]


def plain(ev):
    return {k: ev[k] for k in ev if k not in ("ops", "inverse")}


@pytest.mark.parametrize("index", range(4))
def test_an_unrecorded_run_says_what_the_recorded_run_says(index):
    sc = scenarios()[index]
    lean, lean_events = run_scenario(sc, record=False)
    full, full_events = run_scenario(sc)
    assert isinstance(lean.kernel.doc, LeanDoc) and not lean.checkpoints
    assert [plain(e) for e in lean_events] == [plain(e) for e in full_events]
    assert all(e["ops"] is None for e in lean_events)
    assert json.dumps(lean.kernel.root) == json.dumps(full.kernel.root)
    assert lean.results() == full.results()
    with pytest.raises(Exception, match="cannot jump"):
        lean.jump(1)


def test_the_children_index_counts_what_the_lists_hold():
    sc = scenarios()[1]
    run = Run(sc)
    for _ in run.events():
        listed = {}
        for p in run.kernel.root["procs"].values():
            for c in p["children"]:
                listed[(p["pid"], c)] = listed.get((p["pid"], c), 0) + 1
        assert run.kernel.priv["listed"] == listed


def test_a_wide_fan_out_keeps_every_child_listed_once():
    sc = new_scenario("classic", limits={"maxproc": 3000})
    for i in range(2500):
        sc.steps.append(make_step(i + 1, "init", f"fork c{i}"))
    sc.steps.append(make_step(2501, "c7", "exit 0"))
    run, events = run_scenario(sc, record=False)
    assert not [e for e in events if e["violation"]]
    init = run.kernel.proc(1)
    assert len(init["children"]) == 2500 and init["children"][0] == 2501
    assert run.kernel.check_all() == []


@pytest.mark.parametrize("index", range(4))
def test_random_jumps_back_and_forth_equal_a_fresh_replay(index):
    sc = scenarios()[index]
    fresh = []                    # (doc, names, results, started) after each event
    run = Run(sc, checkpoint_every=9)
    events = []

    def now(r):
        return (json.dumps(r.kernel.root), dict(r.state["names"]), dict(r.state["results"]),
                list(r.state["started"]))

    fresh.append(now(run))
    for ev in run.events():
        events.append(ev)
        fresh.append(now(run))
    rng = random.Random(index)
    for _ in range(25):
        n = rng.randrange(len(events) + 1)
        assert run.jump(n) == n
        assert now(run) == fresh[n]
        # Recording resumes after the (unrecorded) replay: the next event's patch is
        # the one the first run made.
        ev = run.step()
        if ev is not None:
            assert ev["ops"] == events[n]["ops"] and ev["inverse"] == events[n]["inverse"]
            assert now(run) == fresh[n + 1]


def test_stepping_back_event_by_event_equals_a_fresh_replay():
    """back() restores the checkpoint before and keeps the processes that still equal
    their pickles there (the replay notes which ones change): each state must still be
    exactly the fresh one."""
    sc = scenarios()[2]
    run = Run(sc, checkpoint_every=5)
    fresh = [json.dumps(run.kernel.root)]
    for _ in run.events():
        fresh.append(json.dumps(run.kernel.root))
    for n in range(len(fresh) - 2, -1, -1):
        assert run.back() == n
        assert json.dumps(run.kernel.root) == fresh[n]


def test_save_and_load_keep_the_deques_and_fall_back_to_pickle():
    sc = scenarios()[0]
    run = Run(sc, interactive=True)
    run.choose(run.choices()[0])
    blob = run.save()
    assert blob[:1] == b"M"
    key = run.state_key()
    run.choose(run.choices()[0])
    run.load(blob)
    assert run.state_key() == key
    assert type(run.kernel.priv["runq"]).__name__ == "deque"
    run.kernel.priv["odd"] = frozenset({object})          # not plain data: marshal refuses
    blob = run.save()
    assert blob[:1] == b"P"
    run.load(blob)
    assert run.state_key() == key and run.kernel.priv["odd"] == frozenset({object})
