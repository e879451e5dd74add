"""Rules 1-4: the boot state, nprocs, and pids that are never reused.

The boot document is written out here from the rules and the state-document contract
(architecture.md), not copied from the engine: proc0 "swapper" and init (pid 1), one LWP
each with tid 0, nprocs 2 (F000:239 counts proc0), and in `reaper` init's static node
with refs 2 and OWNED|REALINIT (F000:954-968).
"""

import pytest
from ptree.engine.kernel import Kernel
from scenario_util import W_EXIT, Story, doc, run_text, scenario

LWP0 = {"tid": 0, "state": "LSRUN", "exit": None, "blocked": None}


def expected_boot(profile):
    reaper = profile == "reaper"
    swapper = {"pid": 0, "name": "swapper", "state": "SACTIVE", "uid": 0,
               "children": [1], "lwps": {"0": LWP0}, "nthreads": 1, "reaper": None,
               "xstat": None, "blocked": None}
    init = {"pid": 1, "name": "init", "ppid": 0, "state": "SACTIVE", "uid": 0, "pgid": 1,
            # rule 16: in 2014 lwp_fork (which made init's first LWP) sets
            # P_MAYBETHREADED; the 2010 lwp_fork does not.
            "flags": ["P_MAYBETHREADED"] if reaper else [],
            "children": [], "lwps": {"0": LWP0}, "nthreads": 1, "lasttid": 0,
            "reaper": 1 if reaper else None, "xstat": None, "sigparent": "SIGCHLD",
            "blocked": None}
    reapers = ({"1": {"id": 1, "owner": 1, "parent": None, "refs": 2,
                      "flags": ["OWNED", "REALINIT"]}} if reaper else {})
    return {"kernel": profile, "seq": 0, "nprocs": 2, "deadlwps": [], "reapers": reapers,
            "procs": {"0": swapper, "1": init}}


def project(actual, expected):
    """The part of `actual` that `expected` describes (readers ignore unknown keys)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), actual
        return {k: project(actual.get(k, "<missing>"), v) for k, v in expected.items()}
    return actual


@pytest.mark.parametrize("profile", ["reaper", "classic"])
def test_boot_document_is_exact(profile):
    k = Kernel(profile)
    want = expected_boot(profile)
    got = project(k.root, want)
    assert got == want
    # exactly two processes and (reaper) one node: nothing else exists at boot
    assert sorted(k.root["procs"]) == ["0", "1"]
    assert sorted(k.root["reapers"]) == (["1"] if profile == "reaper" else [])
    assert k.check_all() == []


@pytest.mark.parametrize("profile", ["reaper", "classic"])
def test_boot_lwp_flags_and_lwps_are_exactly_one(profile):
    k = Kernel(profile)
    for pid in ("0", "1"):
        p = k.root["procs"][pid]
        assert list(p["lwps"]) == ["0"]
        assert p["nthreads"] == 1
    assert k.root["procs"]["0"]["flags"] == []


@pytest.mark.parametrize("profile", ["reaper", "classic"])
def test_boot_state_of_a_run_is_the_boot_document(profile):
    """A scenario's run starts from the same document (seq 0) before its first step."""
    from ptree.engine.runner import Run
    from ptree.engine.scenario import parse_scenario
    run = Run(parse_scenario(scenario(["init: fork a"], kernel=profile)))
    want = expected_boot(profile)
    assert project(doc(run), want) == want


@pytest.mark.parametrize("profile", ["reaper", "classic"])
def test_nprocs_counts_proc0_and_every_live_or_zombie_process(profile):
    s = Story(["init: fork a", "init: fork b", "a: exit 1"], kernel=profile)
    # swapper, init, a (zombie), b
    assert s.doc["nprocs"] == 4
    assert s.state("a") == "SZOMB"
    s2 = Story(["init: fork a", "init: fork b", "a: exit 1", "init: wait4 a"],
               kernel=profile)
    assert s2.doc["nprocs"] == 3
    assert s2.res(4)["status"] == W_EXIT(1)


@pytest.mark.parametrize("profile", ["reaper", "classic"])
def test_pids_are_given_in_order_and_never_reused(profile):
    s = Story(["init: fork a",          # 2
               "a: exit 0",
               "init: wait4 a",          # 2 is reaped: its pid must not come back
               "init: fork b",           # 3
               "b: fork c",              # 4
               "c: exit 0",
               "b: wait4 any",
               "init: fork d"],          # 5
              kernel=profile)
    assert s.res(1)["ret"] == 2
    assert s.res(3)["ret"] == 2
    assert s.res(4)["ret"] == 3
    assert s.res(5)["ret"] == 4
    assert s.res(7)["ret"] == 4
    assert s.res(8)["ret"] == 5
    assert s.pid("d") == 5
    assert "2" not in s.doc["procs"] and "4" not in s.doc["procs"]


def test_a_failed_fork_uses_no_pid():
    """fork1 fails (EAGAIN) before a process exists, so the next fork gets the next pid."""
    s = Story(["init: fork a",          # 2, nprocs 3
               "init: fork b",           # nprocs 3 >= maxproc 3: EAGAIN
               "a: exit 0",
               "init: wait4 a",          # nprocs 2
               "init: fork c"],          # 3, not 2 (reaped) and no gap for the failure
              limits={"maxproc": 3})
    assert s.res(2)["errno"] == "EAGAIN" and s.res(2)["ret"] is None
    assert s.res(5)["ret"] == 3


def test_a_pid_in_the_log_means_one_process():
    """Every fork1 event names a distinct pid across the whole run."""
    _run, events = run_text(scenario(
        ["init: fork a", "a: exit 0", "init: wait4 a", "init: fork b", "b: exit 0",
         "init: wait4 b", "init: fork c"]))
    forked = [ev["result"]["ret"] for ev in events
              if ev.get("result") and ev["result"]["command"].startswith("fork")]
    assert forked == [2, 3, 4]
