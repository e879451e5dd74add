"""Choice mode, the multi-LWP exit race (kernel-semantics rule 40) and `ptree explore`."""

import json
import subprocess
import sys

import jsonpatch
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ptree.engine.explore import explore
from ptree.engine.randomgen import Generator
from ptree.engine.runner import Run
from ptree.engine.scenario import load_scenario_file, parse_scenario
from ptree.engine.timeline import ChoiceTimeline

RACE = "scenarios/multi-lwp-exit-race.yaml"


def with_race(path, race):
    sc = load_scenario_file(path)
    sc.race = race
    return sc


def cli(*args):
    return subprocess.run([sys.executable, "-m", "ptree", *args], capture_output=True,
                          text=True, timeout=600)


def test_explore_finds_the_use_after_free_before_the_fix_only():
    before = explore(with_race(RACE, "before-fix"))
    after = explore(with_race(RACE, "after-fix"))
    assert before.complete and after.complete
    assert [v.invariant for v in before.violations] == ["use-after-free"]
    assert "disposed by reaplwps while still running" in before.violations[0].message
    assert after.violations == []
    # The search saw real interleavings, not one schedule.
    assert after.states > 100 and after.transitions > after.states


def test_the_shortest_trace_replays_to_the_violation(tmp_path):
    res = cli("explore", RACE, "--json")
    assert res.returncode == 1, res.stderr
    report = json.loads(res.stdout)
    (v,) = report["violations"]
    trace = tmp_path / "trace.yaml"
    trace.write_text(v["trace"])
    assert "schedule: choice" in v["trace"]
    run = cli("run", str(trace))
    assert run.returncode == 1
    assert "use-after-free: LWP a.1 disposed by reaplwps" in run.stdout
    # Breadth-first: no shorter trace exists.  Every proper prefix is clean.
    sc = load_scenario_file(str(trace))
    for n in range(1, len(sc.steps)):
        sc_n = load_scenario_file(str(trace))
        sc_n.steps = sc.steps[:n]
        r = Run(sc_n)
        assert not [ev for ev in iter(r.step, None) if ev["violation"]]


def test_after_fix_explore_exits_0_and_says_it_is_proven(tmp_path):
    path = tmp_path / "after.yaml"
    path.write_text(open(RACE).read().replace("race: before-fix", "race: after-fix"))
    res = cli("explore", str(path))
    assert res.returncode == 0
    assert "no invariant is violated in any interleaving" in res.stdout


def test_max_states_bounds_the_search_and_says_so():
    res = cli("explore", RACE, "--max-states", "20")
    assert "--max-states 20 reached" in res.stdout
    report = json.loads(cli("explore", RACE, "--max-states", "20", "--json").stdout)
    assert report["complete"] is False and report["states"] <= 21


def test_explore_bad_input_is_exit_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("steps:\n  - init: frok a\n")
    res = cli("explore", str(bad))
    assert res.returncode == 2 and res.stderr.startswith(f"{bad}:2: ")
    assert "Traceback" not in res.stderr


def test_wait4_results_are_the_same_in_both_race_modes():
    """The bug is a freed thread still running; what wait4 returns does not change."""
    out = {}
    for race in ("before-fix", "after-fix"):
        r = Run(with_race(RACE, race))
        r.run()
        out[race] = [(x["ret"], x["errno"], x["status"]) for x in r.results()]
    assert out["before-fix"] == out["after-fix"]


def test_a_choice_file_step_that_cannot_run_is_bad_input():
    sc = parse_scenario("schedule: choice\nsteps:\n  - init: fork a\n"
                        "  - kernel: lwkt_switch a.0\n", "c.yaml")
    with pytest.raises(Exception) as e:
        Run(sc).run()
    assert str(e.value).startswith("c.yaml:4: `kernel: lwkt_switch a.0` is not runnable now")


def test_choice_timeline_branches_from_an_earlier_point():
    sc = with_race(RACE, "before-fix")
    t = ChoiceTimeline(sc, ["init: fork a", "kernel: start_forked_proc init.0",
                            "a: lwp_create"])
    assert [c["label"] for c in t.choices()] == ["a: exit 0", "init: wait4 a"]
    first = t.total
    t.choose("init: wait4 a")
    t.truncate(3)
    assert t.total == first and t.trace[-1] == "a: lwp_create"
    assert t.doc_at(t.total) == ChoiceTimeline(sc, t.trace).doc_at(first)


class Picker:
    def __init__(self, data):
        self.data = data

    def pick(self, n):
        return self.data.draw(st.integers(0, n - 1)) if n > 1 else 0


@pytest.mark.parametrize("profile", ["reaper", "classic"])
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_random_interleavings_keep_invariants_and_exact_patches(profile, data):
    """Choice mode after the fix: any interleaving of a random scenario's actors and
    kernel work keeps every invariant, and every patch is exact."""
    gen = Generator(Picker(data), profile, fork_ratio=0.4, limits={"maxproc": 30})
    scenario = gen.generate(data.draw(st.integers(1, 12)))
    run = Run(scenario, interactive=True)
    doc = json.loads(json.dumps(run.kernel.root))
    for _ in range(120):
        choices = run.choices()
        if not choices:
            break
        for ev in run.choose(choices[data.draw(st.integers(0, len(choices) - 1))]):
            assert ev["violation"] is None, ev["summary"]
            now = json.loads(json.dumps(run.kernel.root))
            assert jsonpatch.apply_patch(doc, ev["ops"]) == now
            assert jsonpatch.apply_patch(now, ev["inverse"]) == doc
            doc = now
        assert run.kernel.check_all() == []


@pytest.mark.parametrize("path,reaper", [
    ("tests/scenarios/race-extexit-lwp.yaml", "reaplwps"),
    ("tests/scenarios/race-master-via-wait4.yaml", "init's wait4"),
])
def test_other_multithreaded_exits_race_before_the_fix_only(path, reaper):
    """The dead-LWP task and a parent's wait4 (reaping the master) both use reaplwp."""
    before = explore(with_race(path, "before-fix"))
    after = explore(with_race(path, "after-fix"))
    assert before.complete and after.complete
    assert [v.invariant for v in before.violations] == ["use-after-free"]
    assert f"disposed by {reaper} while still running" in before.violations[0].message
    assert after.violations == []


# ---------------------------------------------------------------- budgets, jobs, progress

def _summary(r):
    return (r.states, r.transitions, r.terminal, r.complete, r.stopped, r.depth,
            [(v.invariant, v.trace) for v in r.violations])


@pytest.mark.parametrize("race", ["before-fix", "after-fix"])
def test_jobs_find_the_same_states_and_violations_as_one(race):
    one = explore(with_race(RACE, race), jobs=1)
    two = explore(with_race(RACE, race), jobs=2)
    assert _summary(one) == _summary(two)
    assert two.jobs == 2 and one.complete


def test_jobs_agree_when_max_states_stops_the_search():
    one = explore(with_race(RACE, "before-fix"), max_states=300, jobs=1)
    two = explore(with_race(RACE, "before-fix"), max_states=300, jobs=2)
    assert one.stopped == "max_states" and not one.complete
    assert _summary(one) == _summary(two)


def test_the_state_key_depends_on_values_not_on_object_sharing():
    run = Run(with_race(RACE, "after-fix"), interactive=True)
    fresh = run.state_key()
    run.load(run.save())                  # every string now a copy, not an interned literal
    assert run.state_key() == fresh


def test_max_memory_stops_cleanly_and_says_how_far_it_got():
    full = explore(with_race(RACE, "before-fix"))
    small = explore(with_race(RACE, "before-fix"), max_memory=100 * 1024)
    assert small.stopped == "max_memory" and not small.complete
    assert 0 < small.states < full.states and small.depth < full.depth
    assert explore(with_race(RACE, "before-fix"), max_memory=1 << 30).stopped is None
    res = cli("explore", RACE, "--max-memory", "100K")
    assert f"--max-memory 100K reached after {small.states} states, {small.depth} levels" \
        in res.stdout
    assert cli("explore", RACE, "--max-memory", "lots").returncode == 2


def test_progress_reports_and_cancels():
    seen = []
    r = explore(with_race(RACE, "before-fix"), progress=seen.append)
    assert seen and seen[-1]["states"] == r.states and r.stopped is None
    assert set(seen[0]) == {"states", "transitions", "depth", "frontier"}
    assert all(b["states"] - a["states"] <= 1000 for a, b in
               zip([{"states": 0}] + seen[:-1], seen, strict=True))
    cancelled = explore(with_race(RACE, "before-fix"), max_states=100_000,
                        progress=lambda p: p["states"] >= 1000)
    assert cancelled.stopped == "cancelled" and not cancelled.complete
    assert 1000 <= cancelled.states < r.states
