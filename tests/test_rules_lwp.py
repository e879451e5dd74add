"""Rules 17-22: LWPs.  Tid assignment, lwp_create, extexit, the dead-LWP list and the
reaper task, the master LWP, and the exit states WEXIT -> EXITING -> SWITCHED_OUT.
"""

from itertools import pairwise

import pytest
from ptree.engine.constants import FORK_FLAGS
from ptree.engine.waitstatus import W_EXITCODE
from scenario_util import W_EXIT, Api, Story, explore

PROFILES = ["reaper", "classic"]


def live_tids(s, name):
    return sorted(int(t) for t, lwp in s.proc(name)["lwps"].items() if lwp["exit"] is None)


# ---------------------------------------------------------------------- rule 17
@pytest.mark.parametrize("profile", PROFILES)
def test_first_tid_is_0_then_pre_increment_from_lasttid(profile):
    s = Story(["init: fork a", "a: lwp_create", "a: lwp_create", "a: lwp_create"],
              kernel=profile)
    assert [s.res(i)["info"] for i in (2, 3, 4)] == [{"tid": 1}, {"tid": 2}, {"tid": 3}]
    a = s.proc("a")
    assert a["lasttid"] == 3 and a["nthreads"] == 4
    assert s.tids("a") == [0, 1, 2, 3]


@pytest.mark.parametrize("profile", PROFILES)
def test_tids_of_exited_lwps_are_not_handed_out_again_before_wrap(profile):
    """lasttid keeps going up: after tid 1 exits, the next LWP is 3, not 1."""
    s = Story(["init: fork a", "a: lwp_create", "a: lwp_create", "a.1: extexit lwp 0",
               "a: lwp_create", "a.0: extexit lwp 0", "a: lwp_create"], kernel=profile)
    assert s.res(5)["info"] == {"tid": 3}
    assert s.res(7)["info"] == {"tid": 4}
    assert s.tids("a") == [2, 3, 4]
    assert s.proc("a")["lasttid"] == 4


@pytest.mark.parametrize("profile", PROFILES)
def test_tid_wraps_to_1_and_skips_tids_in_the_tree(profile):
    """F000:723-727: ++tid < 0 -> tid = 1; loop while RB_INSERT finds the tid taken."""
    api = Api(profile)
    a = api.fork(1, "a")
    api.call(a, "lwp_create")                     # tids 0, 1
    p = api.proc(a)
    p["lasttid"] = 0x7FFFFFFF                     # the largest positive C int
    r = api.call(a, "lwp_create")
    # 0x7FFFFFFF + 1 is negative -> 1, which is taken -> 2
    assert r["info"] == {"tid": 2} and r["ret"] == 0
    assert p["lasttid"] == 2
    assert sorted(map(int, p["lwps"])) == [0, 1, 2]
    assert p["nthreads"] == 3
    assert api.k.check_all() == []


@pytest.mark.parametrize("profile", PROFILES)
def test_failed_lwp_create_removes_the_lwp_but_keeps_lasttid(profile):
    """F000:223-234: RB_REMOVE, --nthreads, lwp_dispose; p_lasttid was already set."""
    api = Api(profile)
    a = api.fork(1, "a")
    r = api.call(a, "lwp_create", fail="ENOMEM")
    p = api.proc(a)
    assert r["errno"] == "ENOMEM" and r["ret"] is None and r["info"] is None
    assert sorted(map(int, p["lwps"])) == [0]
    assert p["nthreads"] == 1
    assert p["lasttid"] == 1                      # kept: tid 1 was assigned
    r = api.call(a, "lwp_create")
    assert r["info"] == {"tid": 2}                # the next LWP does not reuse 1
    assert p["nthreads"] == 2
    assert api.k.check_all() == []


# ---------------------------------------------------------------------- rule 18
@pytest.mark.parametrize("profile", PROFILES)
def test_lwp_create_adds_to_the_callers_own_process(profile):
    s = Story(["init: fork a", "init: fork b", "a: lwp_create", "a.1: lwp_create",
               "b: lwp_create"], kernel=profile)
    assert s.res(3) == {"step": 3, "actor": "a", "command": "lwp_create", "ret": 0,
                        "errno": None, "status": None, "info": {"tid": 1}, "blocked": None}
    assert s.res(4)["info"] == {"tid": 2}         # by LWP 1, still into a
    assert s.res(5)["info"] == {"tid": 1}         # b counts its own tids
    assert s.proc("a")["nthreads"] == 3 and s.proc("b")["nthreads"] == 2
    assert s.proc("init")["nthreads"] == 1
    for t in s.proc("a")["lwps"].values():
        assert t["state"] == "LSRUN" and t["exit"] is None


@pytest.mark.parametrize("profile", PROFILES)
def test_a_bare_name_acts_as_its_lowest_live_tid(profile):
    """architecture.md: a bare NAME means its lowest live tid."""
    s = Story(["init: fork a", "a: lwp_create", "a.0: extexit lwp 0", "a: lwp_create"],
              kernel=profile)
    assert [ev["name"] for ev in s.step_events(4)] == ["a.1"]
    assert s.res(4)["info"] == {"tid": 2}


@pytest.mark.parametrize("profile", PROFILES)
def test_process_blocked_is_its_first_blocked_lwp(profile):
    """State document: a process's `blocked` is that of its first blocked LWP."""
    s = Story(["init: fork a", "a: fork c", "a: lwp_create", "a: lwp_create",
               "a.2: wait4 any", "a.1: vfork v"], kernel=profile)
    lwps = s.proc("a")["lwps"]
    assert (lwps["0"]["blocked"], lwps["1"]["blocked"], lwps["2"]["blocked"]) == \
        (None, "ppwait", "wait4")
    assert (lwps["0"]["state"], lwps["1"]["state"], lwps["2"]["state"]) == \
        ("LSRUN", "LSSLEEP", "LSSLEEP")
    assert s.proc("a")["blocked"] == "ppwait"
    s2 = Story(["init: fork a", "a: fork c", "a: lwp_create", "a.1: wait4 any",
                "c: exit 0"], kernel=profile)
    assert s2.proc("a")["blocked"] is None


# ---------------------------------------------------------------------- rule 19
@pytest.mark.parametrize("profile", PROFILES)
def test_extexit_lwp_with_other_threads_exits_only_that_lwp(profile):
    s = Story(["init: fork a", "a: lwp_create", "a.1: extexit lwp 9", "a: fork b"],
              kernel=profile)
    assert s.state("a") == "SACTIVE"
    assert s.tids("a") == [0]
    assert s.proc("a")["nthreads"] == 1
    assert s.proc("a")["xstat"] is None           # the status of an LWP exit is not saved
    assert s.res(3)["ret"] is None and s.res(3)["errno"] is None
    assert s.res(4)["ret"] == s.pid("b")          # the process goes on


@pytest.mark.parametrize("profile", PROFILES)
def test_extexit_lwp_of_the_last_thread_is_a_full_exit(profile):
    s = Story(["init: fork a", "a: extexit lwp 6", "init: wait4 a"], kernel=profile)
    assert s.res(3)["ret"] == s.pid("a") and s.res(3)["status"] == W_EXIT(6)


@pytest.mark.parametrize("profile", PROFILES)
def test_extexit_lwp_after_siblings_left_is_a_full_exit(profile):
    s = Story(["init: fork a", "a: lwp_create", "a.0: extexit lwp 0", "a.1: extexit lwp 4",
               "init: wait4 a"], kernel=profile)
    assert s.res(5)["status"] == W_EXIT(4)


@pytest.mark.parametrize("profile", PROFILES)
def test_extexit_proc_exits_the_whole_process_with_threads(profile):
    s = Story(["init: fork a", "a: lwp_create", "a: lwp_create", "a.2: extexit proc 12",
               "init: wait4 a"], kernel=profile)
    assert s.res(5)["status"] == W_EXIT(12)
    assert s.proc("a") is None


@pytest.mark.parametrize("profile", PROFILES)
def test_extexit_bad_who_or_action_is_einval(profile):
    """E003:142-160: the parameters are checked before any action."""
    api = Api(profile)
    a = api.fork(1, "a")
    r = api.call(a, "extexit", who="thread", rv=W_EXITCODE(1, 0))
    assert r["errno"] == "EINVAL" and r["ret"] is None
    r = api.call(a, "extexit", who="proc", action=7, rv=W_EXITCODE(1, 0))
    assert r["errno"] == "EINVAL"
    p = api.proc(a)
    assert p["state"] == "SACTIVE" and p["nthreads"] == 1 and "P_WEXIT" not in p["flags"]
    assert api.k.check_all() == []


# ---------------------------------------------------------------------- rule 20, 22
@pytest.mark.parametrize("profile", PROFILES)
def test_non_master_lwp_exit_goes_through_the_dead_list_and_the_reaper_task(profile):
    s = Story(["init: fork a", "a: lwp_create", "a: lwp_create", "a.1: extexit lwp 0"],
              kernel=profile, trace=True)
    pid = s.pid("a")

    def dead(d):
        return [x for x in d["deadlwps"] if x["pid"] == pid and x["tid"] == 1]

    states, where = [], []
    for d in s.docs:
        entry = dead(d)
        in_tree = "1" in d["procs"].get(str(pid), {}).get("lwps", {})
        states.append(entry[0]["exit"] if entry else None)
        where.append("dead" if entry else "tree" if in_tree else "gone")
    first = where.index("dead")
    # lwp_exit(0): off the tree and onto the dead list in the same event, marked WEXIT,
    # and nthreads dropped from 3 to 2
    assert where[first - 1] == "tree"
    assert states[first] == "WEXIT"
    assert s.docs[first]["procs"][str(pid)]["nthreads"] == 2
    # then EXITING, then SWITCHED_OUT, each its own event, then disposed
    assert states[first:first + 3] == ["WEXIT", "EXITING", "SWITCHED_OUT"]
    assert where[first + 3] == "gone"
    assert s.events[first + 2]["kind"] == "lwp_dispose"
    assert s.events[first + 2]["actor"] == "kernel"
    assert where[-1] == "gone" and s.doc["deadlwps"] == []


@pytest.mark.parametrize("profile", PROFILES)
def test_lwp_is_never_disposed_before_it_switched_out(profile):
    """Rule 22, after-fix: in the whole run, every disposal of a dead LWP happens to one
    that was SWITCHED_OUT in the state just before."""
    s = Story(["init: fork a", "a: lwp_create", "a: lwp_create", "a: lwp_create",
               "a.3: extexit lwp 0", "a: exit 0", "init: wait4 a"],
              kernel=profile, trace=True)
    disposed = 0
    for before, after in pairwise(s.docs):
        gone = {(d["pid"], d["tid"]) for d in before["deadlwps"]} - \
               {(d["pid"], d["tid"]) for d in after["deadlwps"]}
        for pid, tid in gone:
            entry = next(d for d in before["deadlwps"] if (d["pid"], d["tid"]) == (pid, tid))
            assert entry["exit"] == "SWITCHED_OUT"
            disposed += 1
        for pid, p in before["procs"].items():
            for tid, lwp in p["lwps"].items():
                if pid in after["procs"] and tid not in after["procs"][pid]["lwps"] \
                        and lwp["exit"] is not None:
                    assert lwp["exit"] == "SWITCHED_OUT", (pid, tid, lwp)
    assert disposed == 3        # tids 3, 1, 2 went through the dead list


def disposed_only_when_switched_out(before, after, label):
    """An LWP leaves the dead-LWP list, or its process's tree once exiting, only after
    its final switch-out."""
    left = {(d["pid"], d["tid"]): d for d in before["deadlwps"]}
    for d in after["deadlwps"]:
        left.pop((d["pid"], d["tid"]), None)
    for pid, p in before["procs"].items():
        for tid, lwp in p["lwps"].items():
            q = after["procs"].get(pid)
            if lwp["exit"] is not None and (q is None or tid not in q["lwps"]):
                left[(int(pid), int(tid))] = lwp
    for entry in left.values():
        assert entry["exit"] == "SWITCHED_OUT", (entry, label)
    DISPOSALS[0] += len(left)


DISPOSALS = [0]


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("steps", [
    ["init: fork a", "a: lwp_create", "a.1: extexit lwp 0", "init: wait4 a WNOHANG"],
    ["init: fork a", "a: lwp_create", "a: exit 0", "init: wait4 a"],
], ids=["lwp-exit", "process-exit"])
def test_lwp_wait_succeeds_only_on_a_switched_out_lwp_in_every_interleaving(profile, steps):
    """Rule 22 (E003:698-747, after the fix): whatever the order of the threads and the
    reaper task, an LWP is disposed only after its final switch-out."""
    DISPOSALS[0] = 0
    states, transitions, finals = explore(steps, profile,
                                          on_transition=disposed_only_when_switched_out)
    assert states > 10 and transitions > states
    assert DISPOSALS[0] > 0
    # wait4's result does not depend on the interleaving
    last = {(r["ret"], r["errno"], r["status"]) for res in finals for r in res[-1:]}
    assert len(last) == 1


@pytest.mark.parametrize("profile", PROFILES)
def test_dead_list_is_lifo_and_the_task_takes_the_head(profile):
    """LIST_INSERT_HEAD (E003:666) and LIST_FIRST (E003:1131): killed LWPs 1 then 2 go on
    the list, so 2 is disposed first."""
    s = Story(["init: fork a", "a: lwp_create", "a: lwp_create", "a: exit 0"], kernel=profile)
    disposed = [ev["summary"] for ev in s.events_of("lwp_dispose") if ev["actor"] == "kernel"]
    assert len(disposed) == 2
    assert "a.2" in disposed[0] and "a.1" in disposed[1]


@pytest.mark.parametrize("profile", PROFILES)
def test_killlwps_sleeps_until_nthreads_drops_to_1(profile):
    """E003:263-265 and the wakeup at E003:663-683."""
    s = Story(["init: fork a", "a: lwp_create", "a: lwp_create", "a.1: exit 8",
               "init: wait4 a"], kernel=profile, trace=True)
    pid = str(s.pid("a"))
    blocked = [d["procs"].get(pid, {}).get("lwps", {}).get("1", {}).get("blocked")
               for d in s.docs]
    assert "killlwps" in blocked
    i = blocked.index("killlwps")
    nthreads_when_woken = None
    for d in s.docs[i:]:
        lwp = d["procs"][pid]["lwps"]["1"]
        if lwp["blocked"] is None:
            nthreads_when_woken = d["procs"][pid]["nthreads"]
            break
    assert nthreads_when_woken == 1
    # the survivors were SIGKILLed: only the master's exit status counts
    assert s.res(5)["status"] == W_EXIT(8)


# ---------------------------------------------------------------------- rule 21
@pytest.mark.parametrize("profile", PROFILES)
def test_master_lwp_stays_in_the_tree_and_wait4_reaps_it(profile):
    s = Story(["init: fork a", "a: exit 0"], kernel=profile)
    a = s.proc("a")
    assert a["state"] == "SZOMB"
    assert a["nthreads"] == 0
    assert list(a["lwps"]) == ["0"]
    assert a["lwps"]["0"]["exit"] == "SWITCHED_OUT"
    assert s.doc["deadlwps"] == []
    # the master never goes through the reaper task
    assert not [ev for ev in s.events_of("lwp_dispose") if ev["actor"] == "kernel"]
    s2 = Story(["init: fork a", "a: exit 0", "init: wait4 a"], kernel=profile)
    assert s2.proc("a") is None
    assert not [ev for ev in s2.events_of("lwp_dispose") if ev["actor"] == "kernel"]


@pytest.mark.parametrize("profile", PROFILES)
def test_signal_exit_runs_on_the_lowest_live_tid(profile):
    """Rule 26: a.0 has left; SIGKILL makes a.1 (the lowest live tid) the master, which
    stays in the tree; a.2 is killed and goes through the dead list."""
    s = Story(["init: fork a", "a: lwp_create", "a: lwp_create", "a.0: extexit lwp 0",
               "init: kill a SIGKILL"], kernel=profile)
    a = s.proc("a")
    assert a["state"] == "SZOMB" and a["xstat"] == 9
    assert list(a["lwps"]) == ["1"]
    assert a["nthreads"] == 0
    assert s.doc["deadlwps"] == []


@pytest.mark.parametrize("profile", PROFILES)
def test_exit_by_a_non_zero_tid_makes_it_the_master(profile):
    s = Story(["init: fork a", "a: lwp_create", "a.1: exit 3", "init: wait4 a"],
              kernel=profile, trace=True)
    # just before the reap, the zombie keeps LWP 1 (the master), not 0
    zomb = [d["procs"]["2"] for d in s.docs
            if d["procs"].get("2", {}).get("state") == "SZOMB" and d["procs"]["2"]["lwps"]]
    assert zomb and list(zomb[-1]["lwps"]) == ["1"]
    assert zomb[-1]["lwps"]["1"]["exit"] == "SWITCHED_OUT"
    assert s.res(4)["status"] == W_EXIT(3)


def test_api_fork_helper_uses_fork_flags():
    # a sanity check of the helper the API tests rely on
    api = Api("reaper")
    r = api.call(1, "fork1", flags=FORK_FLAGS, name="x")
    assert r["ret"] == 2
