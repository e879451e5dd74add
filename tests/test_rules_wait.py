"""Rules 30-34: wait4 / kern_wait.  Every pid form, every option, stop and continue
reports, ECHILD, WNOHANG, sleeping and waking, EINTR, and the raw status words.
"""

import pytest
from ptree.engine.constants import SIGSTOP, WCONTINUED, WLINUXCLONE, WNOHANG, WUNTRACED
from scenario_util import (
    W_CONTINUED,
    W_EXIT,
    W_SIGKILL,
    W_SIGTERM,
    W_STOPPED_SIGSTOP,
    Api,
    Story,
    explore,
)

PROFILES = ["reaper", "classic"]


# ---------------------------------------------------------------------- rule 30
@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("bits", [8, 0x10, 0x100, 0x40000000, WNOHANG | 0x20])
def test_undefined_option_bits_are_einval(profile, bits):
    """E003:815-816, checked before anything else: even with a zombie ready."""
    api = Api(profile)
    a = api.fork(1, "a")
    api.call(a, "exit1", rv=W_EXIT(0))
    r = api.call(1, "kern_wait", pid=-1, options=bits)
    assert r["errno"] == "EINVAL" and r["ret"] is None and r["status"] is None
    assert api.proc(a)["state"] == "SZOMB"          # nothing was reaped
    # every defined option together is fine
    r = api.call(1, "kern_wait", pid=-1,
                 options=WUNTRACED | WNOHANG | WCONTINUED)
    assert r["ret"] == a and r["status"] == W_EXIT(0)
    r = api.call(1, "kern_wait", pid=-1, options=WLINUXCLONE | WNOHANG)
    assert r["errno"] == "ECHILD"
    assert api.k.check_all() == []


@pytest.mark.parametrize("profile", PROFILES)
def test_wait_any_takes_the_newest_zombie_first(profile):
    s = Story(["init: fork sh", "sh: fork a", "sh: fork b", "a: exit 1", "b: exit 2",
               "sh: wait4 any", "sh: wait4 any", "sh: wait4 any WNOHANG"], kernel=profile)
    assert (s.res(6)["ret"], s.res(6)["status"]) == (s.pid("b"), W_EXIT(2))
    assert (s.res(7)["ret"], s.res(7)["status"]) == (s.pid("a"), W_EXIT(1))
    assert s.res(8)["errno"] == "ECHILD"


@pytest.mark.parametrize("profile", PROFILES)
def test_wait_by_name_and_by_pid_pick_that_child_only(profile):
    s = Story(["init: fork sh", "sh: fork a", "sh: fork b", "a: exit 1", "b: exit 2",
               "sh: wait4 a", "sh: wait4 4", "sh: wait4 a WNOHANG", "sh: wait4 99"],
              kernel=profile)
    assert s.pid("b") == 4
    assert s.res(6)["ret"] == s.pid("a") and s.res(6)["status"] == W_EXIT(1)
    assert s.res(7)["ret"] == 4 and s.res(7)["status"] == W_EXIT(2)
    assert s.res(8)["errno"] == "ECHILD"            # already reaped
    assert s.res(9)["errno"] == "ECHILD"            # no such process


@pytest.mark.parametrize("profile", PROFILES)
def test_wait_for_a_grandchild_or_a_sibling_is_echild(profile):
    s = Story(["init: fork sh", "sh: fork a", "a: fork g", "init: fork z", "g: exit 0",
               "z: exit 0", "sh: wait4 g WNOHANG", "sh: wait4 z", "a: wait4 g"],
              kernel=profile)
    assert s.res(7)["errno"] == "ECHILD"
    assert s.res(8)["errno"] == "ECHILD"
    assert s.res(9)["ret"] == s.pid("g")


@pytest.mark.parametrize("profile", PROFILES)
def test_wait_0_is_the_callers_group_and_minus_pgid_that_group(profile):
    """pid 0 -> -q->p_pgid (E003:813); pid < -1 matches p_pgid == -pid (E003:850)."""
    s = Story(["init: fork sh",          # 2
               "sh: setpgid",            # group 2
               "sh: fork a",             # 3, group 2
               "sh: fork b",             # 4
               "b: setpgid",             # group 4
               "sh: fork c",             # 5
               "c: setpgid 4",           # joins group 4
               "a: exit 1", "b: exit 2", "c: exit 3",
               "sh: wait4 -4",           # c (newest in group 4)
               "sh: wait4 -4",           # b
               "sh: wait4 -4 WNOHANG",   # group 4 is empty: ECHILD
               "sh: wait4 0",            # a
               "sh: wait4 0 WNOHANG"],
              kernel=profile)
    assert s.proc("sh") is not None and s.proc("sh")["pgid"] == 2
    assert (s.res(11)["ret"], s.res(11)["status"]) == (5, W_EXIT(3))
    assert (s.res(12)["ret"], s.res(12)["status"]) == (4, W_EXIT(2))
    assert s.res(13)["errno"] == "ECHILD"
    assert (s.res(14)["ret"], s.res(14)["status"]) == (3, W_EXIT(1))
    assert s.res(15)["errno"] == "ECHILD"


@pytest.mark.parametrize("profile", PROFILES)
def test_wait_0_does_not_see_children_in_other_groups(profile):
    s = Story(["init: fork sh", "sh: setpgid", "sh: fork a", "a: setpgid", "a: exit 0",
               "sh: wait4 0 WNOHANG", "sh: wait4 -3"], kernel=profile)
    assert s.pid("a") == 3
    assert s.res(6)["errno"] == "ECHILD"
    assert s.res(7)["ret"] == 3


@pytest.mark.parametrize("profile", PROFILES)
def test_wait_0_in_process_group_1_is_wait_any(profile):
    """E003:813-814 turns pid 0 into -p_pgid; in group 1 (init's, inherited) that is -1,
    WAIT_ANY, so wait4(0) finds a child that has a group of its own."""
    s = Story(["init: fork sh", "sh: fork a", "a: setpgid", "a: exit 0",
               "sh: wait4 0 WNOHANG"], kernel=profile)
    assert s.proc("sh")["pgid"] == 1
    assert s.res(5)["ret"] == s.pid("a")


@pytest.mark.parametrize("profile", PROFILES)
def test_setpgid_into_a_missing_group_is_eperm(profile):
    s = Story(["init: fork sh", "sh: setpgid 77", "sh: setpgid 1"], kernel=profile)
    assert s.res(2)["errno"] == "EPERM" and s.res(2)["ret"] is None
    assert s.res(3)["ret"] == 0 and s.proc("sh")["pgid"] == 1


# ---------------------------------------------------------------------- rule 31
@pytest.mark.parametrize("profile", PROFILES)
def test_a_stopped_waiter_does_not_reap_until_continued(profile):
    """A wait4 sleeper that is SIGSTOPped is woken by its child's exit but stays stopped
    (E003:836-837); after SIGCONT it reaps."""
    s = Story(["init: fork sh", "sh: fork a", "sh: wait4 any",
               "init: kill sh SIGSTOP", "a: exit 4"], kernel=profile)
    assert s.state("sh") == "SSTOP"
    r = s.res(3)
    assert r["ret"] is None and r["errno"] is None and r["status"] is None
    assert s.state("a") == "SZOMB"
    s2 = Story(["init: fork sh", "sh: fork a", "sh: wait4 any",
                "init: kill sh SIGSTOP", "a: exit 4", "init: kill sh SIGCONT"],
               kernel=profile)
    assert s2.res(3)["ret"] == s2.pid("a") and s2.res(3)["status"] == W_EXIT(4)
    assert s2.proc("a") is None


@pytest.mark.parametrize("profile", PROFILES)
def test_a_stopped_waiter_woken_by_an_exit_is_still_reported_blocked(profile):
    """architecture.md: a step still blocked when the scenario ends has ret null and
    `blocked` naming the reason.  sh's wait4 has not returned (sh is stopped, E003:836),
    so its RESULT must not look like a finished call with no value."""
    s = Story(["init: fork sh", "sh: fork a", "sh: wait4 any",
               "init: kill sh SIGSTOP", "a: exit 4"], kernel=profile)
    r = s.res(3)
    assert r["ret"] is None and r["errno"] is None
    assert r["blocked"] is not None


# ---------------------------------------------------------------------- rule 32
@pytest.mark.parametrize("profile", PROFILES)
def test_reap_frees_the_child_and_drops_the_counts(profile):
    s = Story(["init: fork u", "u: setuid 1000", "u: fork a", "a: exit 0", "u: wait4 a",
               "u: fork b", "u: fork c"], kernel=profile, limits={"nproc": 3})
    assert s.proc("a") is None
    assert s.pid("a") not in s.children("u")
    # u, b, c = 3 processes of uid 1000: the reaped a gave back its slot
    assert s.res(6)["ret"] == 4 and s.res(7)["ret"] == 5
    assert s.doc["nprocs"] == 5


@pytest.mark.parametrize("profile", PROFILES)
def test_a_blocked_wait_for_a_threaded_child_reaps_only_after_every_lwp_is_gone(profile):
    """wait4 must see nthreads == 0 and no dead LWP of the zombie left (E003:876-907): a
    reaped pid never stays on the dead-LWP list."""
    s = Story(["init: fork sh", "sh: fork a", "a: lwp_create", "a: lwp_create",
               "a: lwp_create", "sh: wait4 a", "a.2: exit 17"],
              kernel=profile, trace=True)
    pid = s.pid("a")
    assert s.res(6)["ret"] == pid and s.res(6)["status"] == W_EXIT(17)
    born = next(i for i, d in enumerate(s.docs) if str(pid) in d["procs"])
    gone = next(i for i, d in enumerate(s.docs) if i > born and str(pid) not in d["procs"])
    before = s.docs[gone - 1]
    assert [d for d in before["deadlwps"] if d["pid"] == pid] == []
    assert before["procs"][str(pid)]["nthreads"] == 0
    for d in s.docs[gone:]:
        assert [x for x in d["deadlwps"] if x["pid"] == pid] == []


@pytest.mark.parametrize("profile", PROFILES)
def test_reaping_a_ptrace_attached_child_gives_it_back(profile):
    """E003:921-930: with p_oppid set the waiter gets the status but the zombie goes back
    to the old parent, which is signalled and reaps it.  (oppid is set through the API:
    no scenario command attaches a debugger.)"""
    api = Api(profile)
    x = api.fork(1, "x")
    d = api.fork(1, "d")
    a = api.fork(d, "a")
    api.proc(a)["oppid"] = x
    api.call(a, "exit1", rv=W_EXIT(3))
    r = api.call(d, "kern_wait", pid=a, options=0)
    assert r["ret"] == a and r["status"] == W_EXIT(3)
    p = api.proc(a)
    assert p is not None and p["ppid"] == x and p["state"] == "SZOMB"
    assert a not in api.proc(d)["children"] and api.proc(x)["children"][0] == a
    r = api.call(x, "kern_wait", pid=-1, options=0)
    assert r["ret"] == a
    assert api.proc(a) is None
    assert api.k.check_all() == []


# ---------------------------------------------------------------------- rule 33
@pytest.mark.parametrize("profile", PROFILES)
def test_wuntraced_reports_a_stop_once(profile):
    s = Story(["init: fork sh", "sh: fork a", "init: kill a SIGSTOP",
               "sh: wait4 a WNOHANG",               # no WUNTRACED: not reported
               "sh: wait4 a WUNTRACED",             # 4479, P_WAITED set
               "sh: wait4 a WUNTRACED|WNOHANG",     # already waited: 0
               "init: kill a SIGCONT",
               "init: kill a SIGSTOP",              # a new stop clears P_WAITED
               "sh: wait4 any WUNTRACED"], kernel=profile)
    assert s.res(4)["ret"] == 0 and s.res(4)["status"] is None
    assert s.res(5)["ret"] == s.pid("a") and s.res(5)["status"] == W_STOPPED_SIGSTOP == 4479
    assert s.res(6)["ret"] == 0 and s.res(6)["status"] is None
    assert s.res(9)["ret"] == s.pid("a") and s.res(9)["status"] == 4479
    assert s.state("a") == "SSTOP"          # reporting a stop does not reap
    assert "P_WAITED" in s.flags("a")


@pytest.mark.parametrize("profile", PROFILES)
def test_wcontinued_reports_a_continue_once(profile):
    s = Story(["init: fork sh", "sh: fork a", "init: kill a SIGSTOP",
               "init: kill a SIGCONT",
               "sh: wait4 a WNOHANG",               # no WCONTINUED: 0
               "sh: wait4 a WCONTINUED",            # 19, P_CONTINUED cleared
               "sh: wait4 a WCONTINUED|WNOHANG"], kernel=profile)
    assert s.res(5)["ret"] == 0
    assert s.res(6)["ret"] == s.pid("a") and s.res(6)["status"] == W_CONTINUED == 19
    assert s.res(7)["ret"] == 0
    assert "P_CONTINUED" not in s.flags("a")
    assert s.state("a") == "SACTIVE"


@pytest.mark.parametrize("profile", PROFILES)
def test_traced_stopped_child_is_reported_without_wuntraced(profile):
    """E003:992-993: P_TRACED or WUNTRACED.  (P_TRACED set through the API.)"""
    api = Api(profile)
    a = api.fork(1, "a")
    p = api.proc(a)
    p["flags"] = p["flags"] + ["P_TRACED"]
    api.call(1, "kill", target=a, sig=SIGSTOP, signame="SIGSTOP")
    r = api.call(1, "kern_wait", pid=a, options=WNOHANG)
    assert r["ret"] == a and r["status"] == W_STOPPED_SIGSTOP


@pytest.mark.parametrize("profile", PROFILES)
def test_a_zombie_is_reported_before_a_stop_of_an_older_child(profile):
    s = Story(["init: fork sh", "sh: fork a", "sh: fork b", "init: kill a SIGSTOP",
               "b: exit 1", "sh: wait4 any WUNTRACED", "sh: wait4 any WUNTRACED"],
              kernel=profile)
    # children newest first: b (zombie) is found before a (stopped)
    assert s.res(6)["ret"] == s.pid("b") and s.res(6)["status"] == W_EXIT(1)
    assert s.res(7)["ret"] == s.pid("a") and s.res(7)["status"] == 4479


# ---------------------------------------------------------------------- rule 34
@pytest.mark.parametrize("profile", PROFILES)
def test_no_children_at_all_is_echild(profile):
    s = Story(["init: fork a", "a: wait4 any", "a: wait4 0", "a: wait4 any WNOHANG"],
              kernel=profile)
    for i in (2, 3, 4):
        r = s.res(i)
        assert r["errno"] == "ECHILD" and r["ret"] is None and r["status"] is None
        assert r["blocked"] is None


@pytest.mark.parametrize("profile", PROFILES)
def test_wnohang_with_a_live_child_returns_0(profile):
    s = Story(["init: fork a", "a: fork b", "a: wait4 any WNOHANG", "a: wait4 b WNOHANG"],
              kernel=profile)
    for i in (3, 4):
        assert s.res(i)["ret"] == 0 and s.res(i)["errno"] is None and s.res(i)["status"] is None
    assert s.state("b") == "SACTIVE"


@pytest.mark.parametrize("profile", PROFILES)
def test_blocking_wait_sleeps_and_is_woken_by_the_exit(profile):
    s = Story(["init: fork a", "a: fork b", "a: wait4 any"], kernel=profile)
    r = s.res(3)
    assert r["ret"] is None and r["errno"] is None and r["blocked"] == "wait4"
    assert s.proc("a")["blocked"] == "wait4"
    assert s.proc("a")["lwps"]["0"]["state"] == "LSSLEEP"
    s2 = Story(["init: fork a", "a: fork b", "a: wait4 any", "b: exit 12"], kernel=profile)
    r = s2.res(3)
    assert r["ret"] == s2.pid("b") and r["status"] == W_EXIT(12) and r["blocked"] is None
    assert s2.proc("a")["blocked"] is None
    assert s2.proc("a")["lwps"]["0"]["state"] == "LSRUN"


@pytest.mark.parametrize("profile", PROFILES)
def test_a_blocked_wait_for_one_child_sleeps_on_when_another_exits(profile):
    s = Story(["init: fork a", "a: fork b", "a: fork c", "a: wait4 b", "c: exit 0"],
              kernel=profile)
    assert s.res(4)["ret"] is None and s.res(4)["blocked"] == "wait4"
    assert s.state("c") == "SZOMB"


@pytest.mark.parametrize("profile", PROFILES)
def test_blocked_wait_is_woken_by_a_stop_with_wuntraced(profile):
    s = Story(["init: fork sh", "sh: fork a", "sh: wait4 a WUNTRACED", "init: kill a SIGSTOP"],
              kernel=profile)
    assert s.res(3)["ret"] == s.pid("a") and s.res(3)["status"] == 4479
    s2 = Story(["init: fork sh", "sh: fork a", "sh: wait4 a", "init: kill a SIGSTOP"],
               kernel=profile)
    assert s2.res(3)["ret"] is None and s2.res(3)["blocked"] == "wait4"


@pytest.mark.parametrize("profile", PROFILES)
def test_blocked_wait_is_woken_by_a_continue_with_wcontinued(profile):
    s = Story(["init: fork sh", "sh: fork a", "init: kill a SIGSTOP",
               "sh: wait4 a WCONTINUED", "init: kill a SIGCONT"], kernel=profile)
    assert s.res(4)["ret"] == s.pid("a") and s.res(4)["status"] == W_CONTINUED


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("sig,status", [("SIGKILL", W_SIGKILL), ("SIGTERM", W_SIGTERM)])
def test_a_fatal_signal_ends_a_blocked_wait_with_eintr(profile, sig, status):
    """E003:1034: the sleep is PCATCH; the wait returns EINTR and then the process dies."""
    s = Story(["init: fork sh", "sh: fork a", "sh: wait4 any", f"init: kill sh {sig}",
               "init: wait4 sh"], kernel=profile)
    r = s.res(3)
    assert r["errno"] == "EINTR" and r["ret"] is None and r["blocked"] is None
    assert s.res(5)["ret"] == s.pid("sh") and s.res(5)["status"] == status
    assert s.ppid("a") == 1
    # EINTR came before the exit began
    kinds = [ev["kind"] for ev in s.events]
    eintr = next(i for i, ev in enumerate(s.events)
                 if ev.get("result") and ev["result"]["step"] == 3)
    assert "proc_move_allproc_zombie" in kinds[eintr:]


@pytest.mark.parametrize("profile", PROFILES)
def test_status_words(profile):
    """768 = W_EXITCODE(3, 0); 9 a SIGKILL death; 15 SIGTERM; 4479 a SIGSTOP stop;
    19 a continue (architecture.md, RESULT)."""
    s = Story(["init: fork sh", "sh: fork a", "sh: fork b", "sh: fork c", "sh: fork d",
               "a: exit 3", "sh: wait4 a",
               "sh: kill b SIGKILL", "sh: wait4 b",
               "sh: kill c SIGTERM", "sh: wait4 c",
               "sh: kill d SIGSTOP", "sh: wait4 d WUNTRACED",
               "sh: kill d SIGCONT", "sh: wait4 d WCONTINUED"], kernel=profile)
    assert [s.res(i)["status"] for i in (7, 9, 11, 13, 15)] == [768, 9, 15, 4479, 19]


# ---------------------------------------------------------------------- every interleaving
# Choice mode lets each event of a sleeping wait4 interleave with the child's exit and
# with other threads (architecture.md "Engine": blocking as resumable continuations).
# Whatever the order, no step may crash the engine and every invariant must hold.
INTERLEAVINGS = {
    # rule 28: the zombie is handed away (classic PS_NOCLDWAIT) while the parent's wait4
    # has already found it and sleeps for its threads (lwpzomb, E003:876-878)
    "nocldwait-zombie-moves-under-a-waiter": ("classic", [
        "init: fork sh", "sh: sigaction SIGCHLD nocldwait", "sh: fork a", "sh: wait4 any",
        "a: exit 0"]),
    # the same in reaper, with PS_CLDSIGIGN
    "cldsigign-zombie-moves-under-a-waiter": ("reaper", [
        "init: fork sh", "sh: sigaction SIGCHLD ignore", "sh: fork a", "sh: wait4 any",
        "a: exit 0"]),
    "nocldwait-to-a-sub-reaper": ("reaper", [
        "init: fork x", "x: procctl acquire", "x: fork sh", "sh: sigaction SIGCHLD nocldwait",
        "sh: fork a", "sh: wait4 any", "a: exit 0"]),
    # two LWPs of one process wait for the same child (rule 34: each loops after waking)
    "two-threads-wait-for-one-zombie-classic": ("classic", [
        "init: fork a", "a: fork b", "a: lwp_create", "a.0: wait4 b", "a.1: wait4 b",
        "b: exit 0"]),
    "two-threads-wait-for-one-zombie-reaper": ("reaper", [
        "init: fork a", "a: fork b", "a: lwp_create", "a.0: wait4 any", "a.1: wait4 any",
        "b: exit 0"]),
    "parent-exits-while-waiting": ("reaper", [
        "init: fork p", "p: fork a", "p: wait4 any", "a: exit 1", "p: exit 0"]),
    "stopped-waiter": ("classic", [
        "init: fork p", "p: fork c", "p: wait4 any", "init: kill p SIGSTOP", "c: exit 0",
        "init: kill p SIGCONT"]),
    "eintr-and-child-exit": ("reaper", [
        "init: fork sh", "sh: fork a", "sh: wait4 any", "init: kill sh SIGKILL", "a: exit 1"]),
}


@pytest.mark.parametrize("name", sorted(INTERLEAVINGS))
def test_no_interleaving_crashes_or_breaks_an_invariant(name):
    kernel, steps = INTERLEAVINGS[name]
    states, transitions, finals = explore(steps, kernel)
    # (in some orders an actor dies before its later steps, which then never run)
    assert states > 5 and transitions >= states - 1 and finals
