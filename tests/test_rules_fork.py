"""Rules 5-16: fork, vfork and rfork, every flag and every error return.

Each test is a small story; the numbers asserted are worked out from the rules and the
seed lines cited, never read off the engine's output.
"""

import pytest
from scenario_util import W_EXIT, Story

PROFILES = ["reaper", "classic"]


# ---------------------------------------------------------------------- rule 5
@pytest.mark.parametrize("profile", PROFILES)
def test_fork_vfork_rfork_each_make_a_child_of_the_caller(profile):
    s = Story(["init: fork a", "a: vfork b", "b: exec", "a: rfork RFPROC|RFFDG c",
               "a: rfork RFPROC d"], kernel=profile)
    assert [s.res(i)["ret"] for i in (1, 2, 4, 5)] == [2, 3, 4, 5]
    for name in "bcd":
        assert s.ppid(name) == s.pid("a")
        assert s.state(name) == "SACTIVE"
    assert s.doc["nprocs"] == 6


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("flag", ["RFPPWAIT", "RFPGLOCK"])
def test_rfork_with_a_kernel_only_bit_is_einval_and_makes_nothing(profile, flag):
    """F000:164 / F001:173: (uap->flags & RFKERNELONLY) != 0 -> EINVAL, before fork1."""
    s = Story(["init: fork a", f"a: rfork RFPROC|{flag} x", "a: fork y"], kernel=profile)
    r = s.res(2)
    assert r["errno"] == "EINVAL" and r["ret"] is None
    assert s.children("a") == [s.pid("y")]
    assert s.pid("y") == 3            # the failed rfork used no pid
    assert s.doc["nprocs"] == 4
    assert "x" not in s.run.state["names"]      # a failed fork binds no name


@pytest.mark.parametrize("profile", PROFILES)
def test_rfork_kernel_only_bit_without_rfproc_is_einval_too(profile):
    s = Story(["init: fork a", "a: rfork RFPPWAIT", "a: rfork RFPGLOCK|RFFDG"], kernel=profile)
    assert s.res(2)["errno"] == "EINVAL"
    assert s.res(3)["errno"] == "EINVAL"


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("flag", ["RFNAMEG", "RFENVG", "RFNOTEG", "RFCNAMEG", "RFCENVG",
                                  "RFMEM", "RFFDG", "RFCFDG"])
def test_resource_sharing_flags_make_an_ordinary_child(profile, flag):
    """Flags that only share or unshare resources the model does not show: the child is
    made, a plain child of the caller, SIGCHLD as sigparent, its own leader."""
    s = Story(["init: fork a", f"a: rfork RFPROC|{flag} b", "b: exit 1", "a: wait4 any"],
              kernel=profile)
    assert s.res(2)["ret"] == 3
    assert s.res(4)["ret"] == 3 and s.res(4)["status"] == W_EXIT(1)
    assert s.state("a") == "SACTIVE"


# ---------------------------------------------------------------------- rule 6
@pytest.mark.parametrize("profile", PROFILES)
def test_rffdg_with_rfcfdg_is_einval_with_or_without_rfproc(profile):
    """F000:257: checked first in fork1, even before the RFPROC test."""
    s = Story(["init: fork a", "a: rfork RFPROC|RFFDG|RFCFDG x", "a: rfork RFFDG|RFCFDG",
               "a: rfork RFPROC|RFCFDG y"], kernel=profile)
    assert s.res(2)["errno"] == "EINVAL" and s.res(2)["ret"] is None
    assert s.res(3)["errno"] == "EINVAL"
    assert s.res(4)["errno"] is None and s.res(4)["ret"] == 3     # RFCFDG alone is fine
    assert s.children("a") == [3]


# ---------------------------------------------------------------------- rule 7
@pytest.mark.parametrize("profile", PROFILES)
def test_rfork_without_rfproc_makes_no_process_and_returns_0(profile):
    s = Story(["init: fork a", "a: rfork RFFDG", "a: rfork RFCFDG", "a: rfork RFNOWAIT",
               "a: fork b"], kernel=profile)
    for i in (2, 3, 4):
        assert s.res(i)["ret"] == 0 and s.res(i)["errno"] is None
    assert s.doc["nprocs"] == 4
    assert s.pid("b") == 3            # no pid was used
    assert s.children("a") == [3]


@pytest.mark.parametrize("profile", PROFILES)
def test_rfork_without_rfproc_needs_a_single_thread(profile):
    """F000:273: p_nthreads != 1 -> EINVAL; after the extra LWP exits it works again."""
    s = Story(["init: fork a", "a: lwp_create", "a: rfork RFFDG", "a.1: extexit lwp 0",
               "a: rfork RFFDG"], kernel=profile)
    assert s.res(3)["errno"] == "EINVAL" and s.res(3)["ret"] is None
    assert s.res(5)["ret"] == 0 and s.res(5)["errno"] is None


@pytest.mark.parametrize("profile", PROFILES)
def test_rfork_with_rfproc_is_fine_with_threads(profile):
    s = Story(["init: fork a", "a: lwp_create", "a.1: rfork RFPROC b"], kernel=profile)
    assert s.res(3)["ret"] == 3
    assert s.ppid("b") == s.pid("a")
    assert s.tids("b") == [0]          # one LWP in the child whatever the caller has


# ---------------------------------------------------------------------- rule 8
@pytest.mark.parametrize("profile", PROFILES)
def test_maxproc_root_may_use_the_last_ten_slots(profile):
    """maxproc 6: nprocs starts at 2; root forks while nprocs < 6 (4 forks), then EAGAIN."""
    steps = [f"init: fork c{i}" for i in range(6)]
    s = Story(steps, kernel=profile, limits={"maxproc": 6})
    assert [s.res(i)["ret"] for i in range(1, 5)] == [2, 3, 4, 5]
    for i in (5, 6):
        assert s.res(i)["errno"] == "EAGAIN" and s.res(i)["ret"] is None
    assert s.doc["nprocs"] == 6


@pytest.mark.parametrize("profile", PROFILES)
def test_maxproc_non_root_stops_ten_short(profile):
    """maxproc 14: a non-root caller fails once nprocs >= 4 (maxproc - 10); root goes on."""
    s = Story(["init: fork u",            # nprocs 3
               "u: setuid 1000",
               "u: fork a",               # 3 < 4: ok, nprocs 4
               "u: fork b",               # 4 >= 4 and uid != 0: EAGAIN
               "init: fork r",            # root: 4 < 14, fine
               "a: exit 0",               # a zombie still counts
               "u: fork c",
               "u: wait4 a",              # reaped: nprocs 4 (swapper, init, u, r)
               "u: fork d"],              # still 4 >= 4: EAGAIN
              kernel=profile, limits={"maxproc": 14})
    assert s.res(3)["ret"] == 3
    assert s.res(4)["errno"] == "EAGAIN"
    assert s.res(5)["ret"] == 4
    assert s.res(7)["errno"] == "EAGAIN"        # nprocs 5 with the zombie
    assert s.res(8)["ret"] == 3
    # after the reap nprocs is 4 (swapper, init, u, r): still >= 4 for uid 1000
    assert s.res(9)["errno"] == "EAGAIN"
    assert s.doc["nprocs"] == 4


@pytest.mark.parametrize("profile", PROFILES)
def test_setuid_back_to_root_is_refused(profile):
    s = Story(["init: fork u", "u: setuid 5", "u: setuid 0"], kernel=profile)
    assert s.res(3)["errno"] == "EPERM" and s.res(3)["ret"] is None
    assert s.proc("u")["uid"] == 5


@pytest.mark.parametrize("profile", PROFILES)
def test_rlimit_nproc_counts_zombies_until_reaped(profile):
    """nproc 2 for uid 1000: count + 1 > limit fails (chgproccnt); a zombie keeps its slot
    until wait4 frees it (E003:948); the failure undoes nprocs (F000:361)."""
    s = Story(["init: fork u",
               "u: setuid 1000",          # uid 1000 count 1
               "u: fork a",               # 2
               "u: fork b",               # 3 > 2: EAGAIN
               "a: exit 7",
               "u: fork c",               # zombie a still counts: EAGAIN
               "u: wait4 a",
               "u: fork d"],              # count 1 -> 2: ok
              kernel=profile, limits={"nproc": 2})
    assert s.res(3)["ret"] == 3
    assert s.res(4)["errno"] == "EAGAIN"
    assert s.res(6)["errno"] == "EAGAIN"
    assert s.res(7)["ret"] == 3 and s.res(7)["status"] == W_EXIT(7)
    assert s.res(8)["ret"] == 4
    assert s.doc["nprocs"] == 4          # swapper, init, u, d: failures left no trace
    assert s.proc("d")["uid"] == 1000


@pytest.mark.parametrize("profile", PROFILES)
def test_rlimit_nproc_does_not_bind_root(profile):
    """(uid != 0) ? rlimit : 0 (F000:355-356): root is unlimited."""
    s = Story([f"init: fork c{i}" for i in range(5)], kernel=profile, limits={"nproc": 1})
    assert [s.res(i)["ret"] for i in range(1, 6)] == [2, 3, 4, 5, 6]


@pytest.mark.parametrize("profile", PROFILES)
def test_setuid_moves_the_count_to_the_new_uid(profile):
    """change_ruid: u's slot leaves uid 0 and joins uid 1000, so two setuids to 1000 fill
    nproc 2, and reaping one of them frees a slot."""
    s = Story(["init: fork u", "u: setuid 1000", "init: fork v", "v: setuid 1000",
               "u: fork a",               # 2 + 1 > 2: EAGAIN
               "v: exit 0", "init: wait4 v",
               "u: fork b"],              # 1 + 1 <= 2: ok
              kernel=profile, limits={"nproc": 2})
    assert s.res(2)["ret"] == 0 and s.res(4)["ret"] == 0
    assert s.res(5)["errno"] == "EAGAIN"
    assert s.res(8)["ret"] == 4
    assert s.proc("b")["uid"] == 1000


@pytest.mark.parametrize("profile", PROFILES)
def test_setuid_by_non_root_to_another_uid_is_eperm(profile):
    s = Story(["init: fork u", "u: setuid 1000", "u: setuid 1000", "u: setuid 1001"],
              kernel=profile)
    assert s.res(2)["ret"] == 0
    assert s.res(3)["ret"] == 0 and s.res(3)["errno"] is None     # to itself: allowed
    assert s.res(4)["errno"] == "EPERM" and s.res(4)["ret"] is None
    assert s.proc("u")["uid"] == 1000


@pytest.mark.parametrize("profile", PROFILES)
def test_default_limits_maxproc_1000_and_no_nproc_limit(profile):
    """Rule 3 and architecture.md: maxproc 1000 by default, RLIMIT_NPROC unlimited.  Root
    forks until nprocs reaches 1000 (998 children of init), and a non-root uid is not
    held to any per-uid count."""
    s = Story([f"init: fork c{i}" for i in range(999)], kernel=profile)
    assert s.res(998)["ret"] == 999
    assert s.res(999)["errno"] == "EAGAIN"
    assert s.doc["nprocs"] == 1000
    s2 = Story(["init: fork u", "u: setuid 9"] + [f"u: fork k{i}" for i in range(50)],
               kernel=profile)
    assert all(s2.res(i)["errno"] is None for i in range(3, 53))


# ---------------------------------------------------------------------- rule 9
@pytest.mark.parametrize("profile", PROFILES)
def test_child_is_sidl_in_an_event_of_its_own_then_sactive(profile):
    s = Story(["init: fork a"], kernel=profile, trace=True)
    # docs[i] is the state after event i (docs[0] = boot)
    states = [d["procs"].get("2", {}).get("state") for d in s.docs]
    assert states[0] is None
    first = states.index("SIDL")
    assert states[first + 1] == "SACTIVE"
    assert s.events[first - 1]["kind"] == "fork1"
    assert s.events[first]["kind"] == "start_forked_proc"
    # the fork returns only when the child is started
    assert s.events[first - 1]["result"] is None
    assert s.events[first]["result"]["ret"] == 2


@pytest.mark.parametrize("profile", PROFILES)
def test_child_inherits_p_sugid(profile):
    """Not a numbered rule, but the state document shows P_SUGID (set by setuid) and
    fork1 preserves it in the child: `p2->p_flags |= p1->p_flags & P_SUGID` (F000:512,
    F001:467)."""
    s = Story(["init: fork u", "u: setuid 5", "u: fork c", "init: fork r"], kernel=profile)
    assert "P_SUGID" in s.flags("u")
    assert "P_SUGID" in s.flags("c")
    assert "P_SUGID" not in s.flags("r")


@pytest.mark.parametrize("profile", PROFILES)
def test_child_inherits_the_callers_uid(profile):
    s = Story(["init: fork u", "u: setuid 42", "u: fork a", "a: fork b"], kernel=profile)
    assert s.proc("a")["uid"] == 42 and s.proc("b")["uid"] == 42
    assert s.proc("init")["uid"] == 0


# ---------------------------------------------------------------------- rule 10
def test_reaper_child_inherits_and_holds_the_callers_node():
    s = Story(["init: fork a", "a: fork b"])
    n1 = s.node(1)
    # init, a and b point at node 1, plus init's static reference
    assert n1["refs"] == 4
    assert s.proc("a")["reaper"] == 1 and s.proc("b")["reaper"] == 1


def test_reaper_child_of_a_sub_reaper_points_at_its_node():
    s = Story(["init: fork sh", "sh: procctl acquire", "sh: fork a", "a: fork b"])
    assert s.proc("a")["reaper"] == s.pid("sh")
    assert s.proc("b")["reaper"] == s.pid("sh")
    assert s.node(2)["refs"] == 3        # sh, a, b
    assert s.node(1)["refs"] == 3        # init, static, node 2's parent link


# ---------------------------------------------------------------------- rule 11
@pytest.mark.parametrize("profile", PROFILES)
def test_rfthread_peers_die_with_their_task_leader(profile):
    """The leader's exit SIGKILLs each peer and waits for them (E003:309-325); a plain
    child of the leader is only orphaned."""
    s = Story(["init: fork p", "p: rfork RFPROC|RFTHREAD t1", "p: rfork RFPROC|RFTHREAD t2",
               "p: fork n", "p: exit 4", "init: wait4 p"], kernel=profile)
    assert s.res(6)["ret"] == s.pid("p") and s.res(6)["status"] == W_EXIT(4)
    for t in ("t1", "t2"):
        assert s.state(t) == "SZOMB"
        assert s.proc(t)["xstat"] == 9                  # killed by SIGKILL
    assert s.state("n") == "SACTIVE"
    # the peers became zombies before the leader did (it waited for them)
    zomb = [ev["name"].split(".")[0] for ev in s.events
            if ev["kind"] == "proc_move_allproc_zombie"]
    assert zomb.index("p") > zomb.index("t1") and zomb.index("p") > zomb.index("t2")


@pytest.mark.parametrize("profile", PROFILES)
def test_a_peer_that_exits_first_leaves_the_leader_alive(profile):
    s = Story(["init: fork p", "p: rfork RFPROC|RFTHREAD t1", "p: rfork RFPROC|RFTHREAD t2",
               "t1: exit 3", "p: wait4 t1", "p: exit 0", "init: wait4 p"], kernel=profile)
    assert s.res(5)["ret"] == s.pid("t1") and s.res(5)["status"] == W_EXIT(3)
    assert s.res(7)["status"] == W_EXIT(0)
    assert s.proc("t2")["xstat"] == 9                   # only t2 was left to kill
    assert s.ppid("t2") == 1


@pytest.mark.parametrize("profile", PROFILES)
def test_rfthread_child_of_a_peer_shares_the_same_leader(profile):
    """p2->p_leader = p1->p_leader (F000:414): t1's RFTHREAD child is p's peer too."""
    s = Story(["init: fork p", "p: rfork RFPROC|RFTHREAD t1", "t1: rfork RFPROC|RFTHREAD t3",
               "p: exit 0"], kernel=profile)
    assert s.state("t1") == "SZOMB" and s.proc("t1")["xstat"] == 9
    assert s.state("t3") == "SZOMB" and s.proc("t3")["xstat"] == 9


@pytest.mark.parametrize("profile", PROFILES)
def test_a_peer_need_not_be_a_child(profile):
    """RFTHREAD|RFNOWAIT: t is p's peer but init's child.  p's exit still SIGKILLs it
    (the peer list, not the children list, E003:309-325), and init reaps it."""
    s = Story(["init: fork p", "p: rfork RFPROC|RFTHREAD|RFNOWAIT t", "p: exit 5",
               "init: wait4 p", "init: wait4 t"], kernel=profile)
    assert s.res(2)["ret"] == 3
    assert (s.res(4)["ret"], s.res(4)["status"]) == (2, W_EXIT(5))
    assert (s.res(5)["ret"], s.res(5)["status"]) == (3, 9)


@pytest.mark.parametrize("profile", PROFILES)
def test_without_rfthread_the_child_is_its_own_leader(profile):
    """A child forked without RFTHREAD is not killed when its parent exits; and its own
    exit kills nothing of the parent's."""
    s = Story(["init: fork p", "p: fork c", "p: rfork RFPROC|RFTHREAD t", "c: exit 0",
               "p: exit 0"], kernel=profile)
    assert s.proc("c")["xstat"] == 0
    assert s.proc("t")["xstat"] == 9


# ---------------------------------------------------------------------- rule 12
@pytest.mark.parametrize("profile", PROFILES)
def test_rflinuxthpn_sets_sigparent_sigusr1(profile):
    s = Story(["init: fork a", "a: rfork RFPROC|RFLINUXTHPN t", "a: fork c"], kernel=profile)
    assert s.proc("t")["sigparent"] == "SIGUSR1"
    assert s.proc("c")["sigparent"] == "SIGCHLD"


@pytest.mark.parametrize("profile", PROFILES)
def test_rflinuxthpn_child_is_waited_for_only_with_wlinuxclone(profile):
    """E003:862: (sigparent != SIGCHLD) ^ WLINUXCLONE -> skip."""
    s = Story(["init: fork a", "a: rfork RFPROC|RFLINUXTHPN t", "t: exit 5",
               "a: wait4 any WNOHANG",        # t does not match: no child -> ECHILD
               "a: wait4 t",                  # ECHILD too
               "a: wait4 any WLINUXCLONE"],
              kernel=profile)
    assert s.res(4)["errno"] == "ECHILD"
    assert s.res(5)["errno"] == "ECHILD"
    assert s.res(6)["ret"] == s.pid("t") and s.res(6)["status"] == W_EXIT(5)


@pytest.mark.parametrize("profile", PROFILES)
def test_wlinuxclone_does_not_see_ordinary_children(profile):
    s = Story(["init: fork a", "a: fork c", "c: exit 1", "a: wait4 any WLINUXCLONE",
               "a: wait4 c"], kernel=profile)
    assert s.res(4)["errno"] == "ECHILD"
    assert s.res(5)["ret"] == s.pid("c")


@pytest.mark.parametrize("profile", PROFILES)
def test_rflinuxthpn_child_signals_its_parent_with_sigusr1(profile):
    """E003:555-556: ksignal(q, p_sigparent) unless the parent is init."""
    s = Story(["init: fork a", "a: rfork RFPROC|RFLINUXTHPN t", "t: exit 0",
               "init: rfork RFPROC|RFLINUXTHPN u", "u: exit 0"], kernel=profile)
    sigs = [ev for ev in s.events_of("ksignal")]
    assert len(sigs) == 2
    assert "SIGUSR1" in sigs[0]["summary"] and "SIGCHLD" not in sigs[0]["summary"]
    # parent init: SIGCHLD whatever p_sigparent says
    assert "SIGCHLD" in sigs[1]["summary"] and "SIGUSR1" not in sigs[1]["summary"]
    assert s.state("a") == "SACTIVE"     # a caught signal changes no state


# ---------------------------------------------------------------------- rule 13
@pytest.mark.parametrize("profile", PROFILES)
def test_vfork_parent_sleeps_in_ppwait_until_the_child_execs(profile):
    s = Story(["init: fork a", "a: vfork b"], kernel=profile)
    assert "P_PPWAIT" in s.flags("b")
    r = s.res(2)
    assert r["ret"] is None and r["blocked"] == "ppwait" and r["errno"] is None
    assert s.proc("a")["blocked"] == "ppwait"
    assert s.state("b") == "SACTIVE"
    s2 = Story(["init: fork a", "a: vfork b", "b: exec", "a: fork c"], kernel=profile)
    assert s2.res(2)["ret"] == s2.pid("b") and s2.res(2)["blocked"] is None
    assert "P_PPWAIT" not in s2.flags("b")
    assert s2.state("b") == "SACTIVE"
    assert s2.proc("a")["blocked"] is None
    assert s2.res(4)["ret"] == 4       # a runs again


@pytest.mark.parametrize("profile", PROFILES)
def test_vfork_parent_is_woken_by_the_child_exit(profile):
    s = Story(["init: fork a", "a: vfork b", "b: exit 2", "a: wait4 b"], kernel=profile)
    assert s.res(2)["ret"] == s.pid("b")
    assert s.res(4)["ret"] == s.pid("b") and s.res(4)["status"] == W_EXIT(2)


@pytest.mark.parametrize("profile", PROFILES)
def test_plain_fork_child_has_no_ppwait(profile):
    s = Story(["init: fork a", "a: fork b", "a: rfork RFPROC|RFMEM c"], kernel=profile)
    assert "P_PPWAIT" not in s.flags("b")
    assert "P_PPWAIT" not in s.flags("c")


# ---------------------------------------------------------------------- rule 14
def test_classic_rfnowait_child_goes_to_init():
    """F001:494-497."""
    s = Story(["init: fork a", "a: rfork RFPROC|RFNOWAIT b", "a: wait4 any WNOHANG"],
              kernel="classic")
    assert s.ppid("b") == 1
    assert s.children("init")[0] == s.pid("b")
    assert s.children("a") == []
    assert s.res(2)["ret"] == s.pid("b")       # the caller still learns the pid
    assert s.res(3)["errno"] == "ECHILD"


def test_reaper_rfnowait_child_goes_to_the_owner_of_the_callers_node():
    """F000:548-566: reap->p when the caller's node has an owner."""
    s = Story(["init: fork sh", "sh: procctl acquire", "sh: fork a",
               "a: rfork RFPROC|RFNOWAIT b", "sh: rfork RFPROC|RFNOWAIT c",
               "init: fork x", "x: rfork RFPROC|RFNOWAIT y"])
    assert s.ppid("b") == s.pid("sh")
    assert s.ppid("c") == s.pid("sh")      # a caller owning its node gets its own child
    assert s.ppid("y") == 1                # x is on init's node
    assert s.children("sh") == [s.pid("c"), s.pid("b"), s.pid("a")]
    assert s.children("a") == []


def test_reaper_rfnowait_with_an_ownerless_node_goes_to_init_not_up_the_chain():
    """F000:549-561 looks at the caller's own node only (no reaper_get walk): a node whose
    owner released it sends the child to init even if a live reaper sits above."""
    s = Story(["init: fork x", "x: procctl acquire",     # node 2
               "x: fork sh", "sh: procctl acquire",       # node 3, parent 2
               "sh: fork a",                              # a on node 3
               "sh: procctl release",                     # node 3 has no owner now
               "a: rfork RFPROC|RFNOWAIT b"])
    assert s.node(3) is not None and s.node(3)["owner"] is None
    assert s.proc("a")["reaper"] is None
    assert s.ppid("b") == 1
    # the child still inherits its caller's (dead) node, not init's
    assert s.proc("b")["reaper"] is None
    assert s.node(3)["refs"] == 2                 # a and b


def test_classic_rfnowait_ignores_nothing_of_the_reaper_profile():
    s = Story(["init: fork a", "a: fork b", "b: rfork RFPROC|RFNOWAIT c"], kernel="classic")
    assert s.ppid("c") == 1
    assert s.proc("c")["reaper"] is None
    assert s.doc["reapers"] == {}


# ---------------------------------------------------------------------- rule 15
@pytest.mark.parametrize("profile", PROFILES)
def test_children_list_is_newest_first(profile):
    s = Story(["init: fork a", "a: fork b", "a: fork c", "a: vfork d", "d: exec",
               "a: rfork RFPROC e"], kernel=profile)
    assert s.children("a") == [6, 5, 4, 3]


def test_status_pid_head_is_the_newest_child():
    s = Story(["init: fork sh", "sh: fork a", "sh: fork b", "sh: procctl status",
               "b: exit 0", "sh: procctl status", "sh: wait4 b", "sh: procctl status",
               "sh: wait4 a WNOHANG"])
    assert s.res(4)["info"]["pid_head"] == s.pid("b")
    assert s.res(6)["info"]["pid_head"] == s.pid("b")        # a zombie still counts
    assert s.res(8)["info"]["pid_head"] == s.pid("a")


# ---------------------------------------------------------------------- rule 16
def test_reaper_lwp_fork_sets_maybethreaded_on_forked_processes():
    s = Story(["init: fork a", "a: rfork RFPROC|RFTHREAD b", "a: vfork c", "c: exec"])
    for n in "abc":
        assert "P_MAYBETHREADED" in s.flags(n)


def test_classic_lwp_fork_does_not_set_maybethreaded():
    s = Story(["init: fork a", "a: lwp_create", "a: fork b"], kernel="classic")
    assert "P_MAYBETHREADED" not in s.flags("a")
    assert "P_MAYBETHREADED" not in s.flags("b")
    assert "P_MAYBETHREADED" not in s.flags("init")


@pytest.mark.parametrize("profile", PROFILES)
def test_child_has_exactly_one_lwp_tid_0(profile):
    s = Story(["init: fork a", "a: lwp_create", "a: lwp_create", "a.2: fork b"],
              kernel=profile)
    b = s.proc("b")
    assert list(b["lwps"]) == ["0"] and b["nthreads"] == 1 and b["lasttid"] == 0
