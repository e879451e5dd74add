"""Rules 23-29: exit1.  init's panic, killalllwps, task leaders, the zombie, orphans (one
event each, reversed at the new parent), PS_NOCLDWAIT / PS_CLDSIGIGN, the parent signal
and the vfork parent's wakeup.
"""

import copy

import pytest
from ptree.engine.runner import Run
from ptree.engine.scenario import ScenarioError, parse_scenario
from scenario_util import W_EXIT, Api, Story, scenario

PROFILES = ["reaper", "classic"]
PANIC = "panic: Going nowhere without my init!"


def run_until_error(text):
    """Step a run until it refuses a step: (the doc before the refusal, the doc after,
    the error)."""
    run = Run(parse_scenario(text, "s.yaml"))
    before = copy.deepcopy(run.kernel.root)
    while True:
        try:
            ev = run.step()
        except ScenarioError as e:
            return before, copy.deepcopy(run.kernel.root), e, run
        assert ev is not None, "the run ended without refusing a step"
        before = copy.deepcopy(run.kernel.root)


# ---------------------------------------------------------------------- rule 23
@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("steps,line", [
    pytest.param(["init: exit 0"], 3, id="exit-first"),
    pytest.param(["init: fork a", "init: exit 1"], 4, id="exit-second"),
    pytest.param(["init: extexit proc 0"], 3, id="extexit-proc"),
    pytest.param(["init: extexit lwp 0"], 3, id="extexit-last-lwp"),
    pytest.param(["init: lwp_create", "init.1: exit 0"], 4, id="exit-by-lwp-1"),
    pytest.param(["init: lwp_create", "init.0: extexit proc 2"], 4, id="extexit-proc-2-lwps"),
])
def test_init_exiting_panics_and_changes_nothing(profile, steps, line):
    before, after, err, run = run_until_error(scenario(steps, kernel=profile))
    assert err.message == PANIC
    assert err.line == line
    assert str(err) == f"s.yaml:{line}: {PANIC}"
    assert after == before
    assert run.kernel.proc(1)["state"] == "SACTIVE"
    assert "P_WEXIT" not in run.kernel.proc(1)["flags"]


@pytest.mark.parametrize("profile", PROFILES)
def test_init_lwp_exit_with_another_thread_is_not_a_panic(profile):
    """extexit(EXTEXIT_LWP) with nthreads > 1 is lwp_exit(0), never exit1."""
    s = Story(["init: lwp_create", "init.1: extexit lwp 0", "init: fork a"], kernel=profile)
    assert s.proc("init")["nthreads"] == 1
    assert s.tids("init") == [0]
    assert s.res(3)["ret"] == 2


# ---------------------------------------------------------------------- rule 24
@pytest.mark.parametrize("profile", PROFILES)
def test_killalllwps_kills_the_other_lwps_and_the_exit_status_is_the_callers(profile):
    s = Story(["init: fork a", "a: lwp_create", "a: lwp_create", "a.2: exit 21",
               "init: wait4 a"], kernel=profile, trace=True)
    assert s.res(5)["status"] == W_EXIT(21)
    # P_WEXIT was set while the other LWPs still existed
    pid = str(s.pid("a"))
    firsts = [d for d in s.docs if "P_WEXIT" in d["procs"].get(pid, {}).get("flags", [])]
    assert firsts and len(firsts[0]["procs"][pid]["lwps"]) == 3
    # the killed LWPs took the P_WEXIT path: lwp_exit(0), through the dead list
    disposed = [ev for ev in s.events_of("lwp_dispose") if ev["actor"] == "kernel"]
    assert len(disposed) == 2


@pytest.mark.parametrize("profile", PROFILES)
def test_second_lwp_exit1_while_p_wexit_is_set_just_leaves(profile):
    """E003:300-304: an LWP that calls exit1 after P_WEXIT is set does lwp_exit(0); its
    status is never saved.  The killed LWPs are exactly that case (rule 24)."""
    s = Story(["init: fork a", "a: lwp_create", "a.0: exit 1", "init: wait4 a"],
              kernel=profile)
    assert s.res(4)["status"] == W_EXIT(1)      # not SIGKILL's 9: a.1's exit1 saved nothing
    exits = s.events_of("lwp_exit")
    assert len(exits) == 2


# ---------------------------------------------------------------------- rule 25
@pytest.mark.parametrize("profile", PROFILES)
def test_task_leader_waits_for_every_peer_before_it_becomes_a_zombie(profile):
    s = Story(["init: fork p", "p: rfork RFPROC|RFTHREAD t1", "p: rfork RFPROC|RFTHREAD t2",
               "p: exit 0"], kernel=profile, trace=True)
    pids = {n: str(s.pid(n)) for n in ("p", "t1", "t2")}
    for d in s.docs:
        if d["procs"].get(pids["p"], {}).get("state") == "SZOMB":
            assert d["procs"][pids["t1"]]["state"] == "SZOMB"
            assert d["procs"][pids["t2"]]["state"] == "SZOMB"
    blocked = [d["procs"].get(pids["p"], {}).get("blocked") for d in s.docs]
    assert "peers" in blocked
    # the peers are p's children, so they are orphaned when p exits
    assert s.ppid("t1") == 1 and s.ppid("t2") == 1


@pytest.mark.parametrize("profile", PROFILES)
def test_a_stopped_peer_is_still_killed_by_its_leader(profile):
    s = Story(["init: fork p", "p: rfork RFPROC|RFTHREAD t", "init: kill t SIGSTOP",
               "p: exit 0", "init: wait4 p"], kernel=profile)
    assert s.state("t") == "SZOMB" and s.proc("t")["xstat"] == 9
    assert s.res(5)["ret"] == s.pid("p")


@pytest.mark.parametrize("profile", PROFILES)
def test_a_leader_waits_for_a_peer_stuck_in_vfork(profile):
    """The peer sleeps uninterruptibly in ppwait: the leader stays in its "peers" sleep
    until the vfork child execs and the peer can act on its SIGKILL."""
    s = Story(["init: fork p", "p: rfork RFPROC|RFTHREAD t", "t: vfork v", "p: exit 0"],
              kernel=profile)
    assert s.state("p") == "SACTIVE" and s.proc("p")["blocked"] == "peers"
    assert s.state("t") == "SACTIVE" and s.proc("t")["blocked"] == "ppwait"
    s2 = Story(["init: fork p", "p: rfork RFPROC|RFTHREAD t", "t: vfork v", "p: exit 0",
                "v: exec"], kernel=profile)
    assert s2.res(3)["ret"] == s2.pid("v")
    assert s2.state("t") == "SZOMB" and s2.proc("t")["xstat"] == 9
    assert s2.state("p") == "SZOMB" and s2.proc("p")["xstat"] == 0
    assert s2.ppid("v") == 1


# ---------------------------------------------------------------------- rule 26
@pytest.mark.parametrize("profile", PROFILES)
def test_exit_saves_xstat_and_becomes_a_zombie(profile):
    s = Story(["init: fork a", "a: exit 255"], kernel=profile)
    a = s.proc("a")
    assert a["state"] == "SZOMB"
    assert a["xstat"] == W_EXIT(255)
    assert a["nthreads"] == 0
    assert a["ppid"] == 1
    assert a["reaper"] is None            # contract: null for zombies
    assert "P_WEXIT" in a["flags"]


@pytest.mark.parametrize("profile", PROFILES)
def test_exit_order_status_then_ppwait_cleared_then_zombie(profile):
    """xstat is saved, P_PPWAIT cleared, then SZOMB (E003:338-354, 488)."""
    s = Story(["init: fork a", "a: vfork b", "b: exit 4"], kernel=profile, trace=True)
    pid = str(s.pid("b"))
    seen = []
    for d in s.docs:
        b = d["procs"].get(pid)
        if b is None:
            continue
        mark = (b["xstat"] is not None, "P_PPWAIT" in b["flags"], b["state"] == "SZOMB")
        if not seen or seen[-1] != mark:
            seen.append(mark)
    assert (True, False, False) in seen                  # status saved, ppwait cleared
    assert seen.index((True, False, False)) < seen.index((True, False, True))
    assert seen[-1] == (True, False, True)
    assert s.res(2)["ret"] == s.pid("b")                 # vfork returned: parent woken


# ---------------------------------------------------------------------- rule 27
@pytest.mark.parametrize("profile", PROFILES)
def test_orphans_move_to_init_one_event_each_in_reverse(profile):
    s = Story(["init: fork x", "init: fork p", "p: fork a", "p: fork b", "p: fork c",
               "p: exit 0"], kernel=profile, trace=True)
    a, b, c, x, p = (s.pid(n) for n in "abcxp")
    assert s.children("p") == []
    # c (the head) moved first, so init's list ends up a, b, c, then p and x
    assert s.children("init") == [a, b, c, p, x]
    moves = s.events_of("proc_reparent")
    assert len(moves) == 3
    for ev in moves:
        i = s.events.index(ev)
        before, after = s.docs[i], s.docs[i + 1]
        moved = [q for q in after["procs"]["1"]["children"]
                 if q not in before["procs"]["1"]["children"]]
        assert len(moved) == 1
        assert after["procs"][str(moved[0])]["ppid"] == 1
    for n in "abc":
        assert s.ppid(n) == 1 and s.state(n) == "SACTIVE"


@pytest.mark.parametrize("profile", PROFILES)
def test_orphans_get_sigparent_sigchld(profile):
    s = Story(["init: fork p", "p: rfork RFPROC|RFLINUXTHPN t", "p: exit 0", "t: exit 3",
               "init: wait4 t"], kernel=profile)
    # after adoption a plain wait4 (without WLINUXCLONE) finds t
    assert s.res(5)["ret"] == s.pid("t") and s.res(5)["status"] == W_EXIT(3)


@pytest.mark.parametrize("profile", PROFILES)
def test_zombie_orphans_move_too_and_init_can_reap_them(profile):
    s = Story(["init: fork p", "p: fork a", "a: exit 6", "p: exit 0", "init: wait4 a",
               "init: wait4 p"], kernel=profile)
    assert s.res(5)["ret"] == s.pid("a") and s.res(5)["status"] == W_EXIT(6)
    assert s.res(6)["ret"] == s.pid("p")
    assert s.doc["nprocs"] == 2


@pytest.mark.parametrize("profile", PROFILES)
def test_traced_orphan_is_killed(profile):
    """E003:509-512: P_TRACED cleared and SIGKILL sent.  (No scenario command traces a
    process, so the flag is set through the API.)"""
    api = Api(profile)
    p = api.fork(1, "p")
    a = api.fork(p, "a")
    ap = api.proc(a)
    ap["flags"] = ap["flags"] + ["P_TRACED"]
    api.call(p, "exit1", rv=W_EXIT(0))
    ap = api.proc(a)
    assert ap["ppid"] == 1
    assert "P_TRACED" not in ap["flags"]
    assert ap["state"] == "SZOMB" and ap["xstat"] == 9


def test_reaper_orphans_go_to_the_nearest_live_reaper():
    s = Story(["init: fork sh", "sh: procctl acquire", "sh: fork a", "a: fork b",
               "a: fork c", "a: exit 0"])
    sh = s.pid("sh")
    assert s.ppid("b") == sh and s.ppid("c") == sh
    assert s.children("sh") == [s.pid("b"), s.pid("c"), s.pid("a")]


def test_classic_orphans_ignore_would_be_reapers():
    s = Story(["init: fork sh", "sh: fork a", "a: fork b", "a: exit 0"], kernel="classic")
    assert s.ppid("b") == 1


# ---------------------------------------------------------------------- rule 28
@pytest.mark.parametrize("profile", PROFILES)
def test_nocldwait_parent_hands_the_zombie_to_init_and_its_wait_ends_echild(profile):
    """sh sleeps in wait4 with a as its only child; a's zombie goes to init and sh, woken
    with no children left, gets ECHILD (E003:536-550)."""
    s = Story(["init: fork sh", "sh: sigaction SIGCHLD nocldwait", "sh: fork a",
               "sh: wait4 any", "a: exit 0", "init: wait4 a"], kernel=profile)
    assert "PS_NOCLDWAIT" in s.flags("sh")
    assert s.res(4)["errno"] == "ECHILD" and s.res(4)["ret"] is None
    assert s.res(4)["blocked"] is None
    assert s.res(6)["ret"] == s.pid("a")
    assert s.children("sh") == []


def test_classic_sigchld_ignored_does_not_move_the_zombie():
    """classic checks PS_NOCLDWAIT only (E003:536)."""
    s = Story(["init: fork sh", "sh: sigaction SIGCHLD ignore", "sh: fork a",
               "sh: wait4 any", "a: exit 5"], kernel="classic")
    assert "PS_CLDSIGIGN" in s.flags("sh")
    assert s.res(4)["ret"] == s.pid("a") and s.res(4)["status"] == W_EXIT(5)


def test_reaper_sigchld_ignored_moves_the_zombie_to_the_reaper():
    s = Story(["init: fork sh", "sh: sigaction SIGCHLD ignore", "sh: fork a",
               "sh: wait4 any", "a: exit 5"])
    assert s.res(4)["errno"] == "ECHILD"
    assert s.ppid("a") == 1 and s.state("a") == "SZOMB"


def test_reaper_ignoring_parent_that_is_the_reaper_keeps_its_zombie():
    """'The reaper can still be the parent process': nothing moves."""
    s = Story(["init: fork sh", "sh: procctl acquire", "sh: sigaction SIGCHLD ignore",
               "sh: fork a", "a: exit 0", "sh: wait4 any"])
    assert s.res(6)["ret"] == s.pid("a") and s.res(6)["status"] == W_EXIT(0)


def test_reaper_nocldwait_target_is_the_zombies_reaper_not_the_parents():
    """The zombie goes to reaper_get of the node reaper_exit returned *for the zombie*:
    a was forked before sh acquired, so a is on x's node and goes to x, even though its
    parent sh is a reaper by then."""
    s = Story(["init: fork x", "x: procctl acquire", "x: fork sh",
               "sh: sigaction SIGCHLD nocldwait", "sh: fork a", "sh: procctl acquire",
               "sh: fork b", "a: exit 1", "b: exit 2", "sh: wait4 any WNOHANG"])
    assert s.ppid("a") == s.pid("x")
    assert s.res(10)["ret"] == s.pid("b")       # b is on sh's node: it stayed with sh


def test_reaper_nocldwait_zombie_goes_up_to_the_nearest_live_reaper():
    s = Story(["init: fork x", "x: procctl acquire", "x: fork sh",
               "sh: sigaction SIGCHLD nocldwait", "sh: fork a", "a: exit 0",
               "x: wait4 a"])
    assert s.res(7)["ret"] == s.pid("a")


@pytest.mark.parametrize("profile", PROFILES)
def test_nocldwait_with_other_children_left_keeps_the_parent_asleep(profile):
    s = Story(["init: fork sh", "sh: sigaction SIGCHLD nocldwait", "sh: fork a",
               "sh: fork b", "sh: wait4 any", "a: exit 0"], kernel=profile)
    r = s.res(5)
    assert r["ret"] is None and r["errno"] is None and r["blocked"] == "wait4"
    assert s.children("sh") == [s.pid("b")]


@pytest.mark.parametrize("profile", PROFILES)
def test_sigaction_default_restores_zombie_keeping(profile):
    s = Story(["init: fork sh", "sh: sigaction SIGCHLD nocldwait",
               "sh: sigaction SIGCHLD default", "sh: fork a", "a: exit 0", "sh: wait4 a"],
              kernel=profile)
    assert not {"PS_NOCLDWAIT", "PS_CLDSIGIGN"} & s.flags("sh")
    assert s.res(6)["ret"] == s.pid("a")


# ---------------------------------------------------------------------- rule 29
@pytest.mark.parametrize("profile", PROFILES)
def test_parent_is_signalled_and_woken_by_the_exit(profile):
    s = Story(["init: fork sh", "sh: fork a", "sh: wait4 any", "a: exit 9"], kernel=profile)
    r = s.res(3)
    assert r["ret"] == s.pid("a") and r["status"] == W_EXIT(9) and r["blocked"] is None
    sig = s.events_of("ksignal")
    assert len(sig) == 1 and "SIGCHLD" in sig[0]["summary"]


@pytest.mark.parametrize("profile", PROFILES)
def test_the_new_parent_is_signalled_after_a_nocldwait_handoff(profile):
    s = Story(["init: fork sh", "sh: sigaction SIGCHLD nocldwait", "sh: rfork RFPROC|RFLINUXTHPN a",
               "a: exit 0"], kernel=profile)
    sig = s.events_of("ksignal")
    assert len(sig) == 1
    # the parent is init now, so SIGCHLD, not a's SIGUSR1
    assert "SIGCHLD" in sig[0]["summary"] and "SIGUSR1" not in sig[0]["summary"]
    assert "init" in sig[0]["summary"]


@pytest.mark.parametrize("profile", PROFILES)
def test_nocldwait_vfork_parent_is_woken_only_through_the_handoff(profile):
    """Rule 26 in 2011 (classic): the vfork parent is woken by rule 29's wakeup of the
    (possibly new) parent; rule 28 wakes the old parent only if it has no children left.
    So a vfork parent with PS_NOCLDWAIT whose child exits: woken if that was its only
    child, but with another child it is never woken (P_PPWAIT is clear, nobody wakes
    "ppwait").  2014 (reaper) wakes it where P_PPWAIT is cleared, before the zombie move,
    so it returns either way (docs/engine.md, "What each profile does in exit1")."""
    s = Story(["init: fork p", "p: sigaction SIGCHLD nocldwait", "p: vfork c", "c: exit 0"],
              kernel=profile)
    assert s.res(3)["ret"] == s.pid("c") and s.proc("p")["blocked"] is None
    s2 = Story(["init: fork p", "p: sigaction SIGCHLD nocldwait", "p: fork other",
                "p: vfork c", "c: exit 0"], kernel=profile)
    assert s2.ppid("c") == 1 and "P_PPWAIT" not in s2.flags("c")
    if profile == "classic":
        assert s2.res(4)["ret"] is None and s2.res(4)["blocked"] == "ppwait"
        assert s2.proc("p")["blocked"] == "ppwait"
    else:
        assert s2.res(4)["ret"] == s2.pid("c") and s2.proc("p")["blocked"] is None


@pytest.mark.parametrize("profile", PROFILES)
def test_vfork_parent_woken_when_the_child_exits(profile):
    s = Story(["init: fork a", "a: vfork b", "b: exit 3"], kernel=profile)
    assert s.res(2)["ret"] == s.pid("b") and s.res(2)["blocked"] is None
    assert s.proc("a")["blocked"] is None
    assert "P_PPWAIT" not in s.flags("b")
