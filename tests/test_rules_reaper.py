"""Rules 35-38: sub-reapers (`reaper` profile).  procctl ACQUIRE / RELEASE / STATUS and
their errors, exact reference counts, orphans to the nearest live reaper, nested
reapers, a reaper exiting, reaper_get splicing dead nodes, init releasing its node, and
ENOSYS in `classic`.

Reference counts are worked out by hand from rule 35: the non-exited processes pointing
at a node (owner included) + its child nodes + 1 for init's static node.
"""

import pytest
from ptree.engine.constants import P_PID, PROC_REAP_ACQUIRE, PROC_REAP_STATUS
from scenario_util import W_EXIT, Api, Story


def status(s, step):
    r = s.res(step)
    assert r["ret"] == 0 and r["errno"] is None
    return r["info"]


# ---------------------------------------------------------------------- rule 38: acquire
def test_acquire_makes_an_owned_node_with_refs_1():
    s = Story(["init: fork sh", "sh: procctl acquire", "sh: procctl status"])
    assert s.res(2) == {"step": 2, "actor": "sh", "command": "procctl acquire", "ret": 0,
                        "errno": None, "status": None, "info": None, "blocked": None}
    n = s.node(2)
    assert {k: n[k] for k in ("id", "owner", "parent", "refs", "flags")} == \
        {"id": 2, "owner": s.pid("sh"), "parent": 1, "refs": 1, "flags": ["OWNED"]}
    assert status(s, 3) == {"flags": ["OWNED"], "refs": 0, "pid_head": -1}
    assert s.proc("sh")["reaper"] == s.pid("sh")
    # sh's reference on node 1 became node 2's parent link: node 1 still counts
    # init + static + that link
    assert s.node(1)["refs"] == 3


def test_acquire_twice_is_ealready():
    s = Story(["init: fork sh", "sh: procctl acquire", "sh: procctl acquire"])
    assert s.res(3)["errno"] == "EALREADY" and s.res(3)["ret"] is None
    assert sorted(s.doc["reapers"]) == ["1", "2"]      # no second node


def test_init_acquire_at_boot_is_ealready():
    s = Story(["init: procctl acquire"])
    assert s.res(1)["errno"] == "EALREADY"


def test_only_children_forked_after_acquire_inherit_the_node():
    s = Story(["init: fork sh", "sh: fork a", "sh: procctl acquire", "sh: fork b",
               "a: fork a2", "b: fork b2", "a: rfork RFPROC|RFNOWAIT a3"])
    sh = s.pid("sh")
    assert s.proc("a")["reaper"] == 1 and s.proc("a2")["reaper"] == 1
    assert s.proc("b")["reaper"] == sh and s.proc("b2")["reaper"] == sh
    assert s.ppid("a3") == 1                      # a is on init's node
    assert s.node(2)["refs"] == 3                 # sh, b, b2


def test_reacquire_after_release_makes_a_new_node():
    s = Story(["init: fork sh", "sh: procctl acquire", "sh: procctl release",
               "sh: procctl acquire", "sh: procctl status"])
    assert s.res(4)["ret"] == 0
    assert s.node(2) is None                      # released with no one left: freed
    assert s.node(3)["owner"] == s.pid("sh") and s.node(3)["parent"] == 1
    assert status(s, 5) == {"flags": ["OWNED"], "refs": 0, "pid_head": -1}


# ---------------------------------------------------------------------- rule 38: release
def test_release_without_owning_is_enotconn():
    s = Story(["init: fork sh", "sh: procctl release", "sh: procctl acquire", "sh: fork a",
               "a: procctl release"])
    assert s.res(2)["errno"] == "ENOTCONN" and s.res(2)["ret"] is None
    assert s.res(5)["errno"] == "ENOTCONN"
    assert s.node(2)["owner"] == s.pid("sh")


def test_release_points_the_caller_at_the_parent_node_and_strands_the_children():
    s = Story(["init: fork sh", "sh: procctl acquire", "sh: fork a", "sh: procctl release",
               "sh: procctl status", "a: fork b", "sh: fork c"])
    n2 = s.node(2)
    assert n2["owner"] is None
    assert "OWNED" in n2["flags"]                 # flags are never cleared
    assert n2["refs"] == 2                        # a and b; sh's reference was dropped
    assert s.proc("sh")["reaper"] == 1
    assert s.proc("a")["reaper"] is None          # its node has no owner
    assert s.proc("b")["reaper"] is None
    assert s.proc("c")["reaper"] == 1             # forked after: sh is on node 1 now
    assert status(s, 5) == {"flags": [], "refs": 0, "pid_head": s.pid("a")}
    # node 1: init, sh, c, static, node 2's link
    assert s.node(1)["refs"] == 5


def test_reacquiring_does_not_take_back_the_old_nodes_orphans():
    """After release and a new acquire, processes still on the old (dead) node are
    orphaned by reaper_get of that node, which walks up past it to init: the new node is
    not on their path."""
    s = Story(["init: fork sh", "sh: procctl acquire", "sh: fork a", "a: fork b",
               "sh: procctl release", "sh: procctl acquire", "a: exit 0", "sh: fork c",
               "c: fork d", "c: exit 0"])
    assert s.ppid("b") == 1
    assert s.ppid("d") == s.pid("sh")             # forked under the new node
    assert s.node(3)["owner"] == s.pid("sh") and s.node(3)["parent"] == 1
    # node 1: init, static, node 2's link, node 3's link
    assert s.node(1)["refs"] == 4
    assert s.node(2)["refs"] == 1                 # b


def test_release_of_a_node_with_no_one_left_frees_it():
    s = Story(["init: fork sh", "sh: procctl acquire", "sh: procctl release"])
    assert s.node(2) is None
    assert s.node(1)["refs"] == 3                 # init, static, sh


# ---------------------------------------------------------------------- rule 38: status
def test_status_reports_refs_minus_one_and_the_newest_child():
    s = Story(["init: procctl status", "init: fork sh", "init: procctl status",
               "sh: procctl acquire", "sh: fork a", "sh: fork b", "sh: procctl status",
               "a: exit 0", "sh: procctl status", "sh: wait4 a", "sh: procctl status",
               "b: procctl status"])
    assert status(s, 1) == {"flags": ["OWNED", "REALINIT"], "refs": 1, "pid_head": -1}
    assert status(s, 3) == {"flags": ["OWNED", "REALINIT"], "refs": 2,
                            "pid_head": s.pid("sh")}
    assert status(s, 7) == {"flags": ["OWNED"], "refs": 2, "pid_head": s.pid("b")}
    # the zombie a dropped its reference in exit1 but is still the list's second entry
    assert status(s, 9) == {"flags": ["OWNED"], "refs": 1, "pid_head": s.pid("b")}
    assert status(s, 11) == {"flags": ["OWNED"], "refs": 1, "pid_head": s.pid("b")}
    assert status(s, 12) == {"flags": [], "refs": 0, "pid_head": -1}


def test_status_pid_head_includes_a_zombie_head():
    s = Story(["init: fork sh", "sh: fork a", "sh: fork b", "b: exit 0", "sh: procctl status"])
    assert status(s, 5)["pid_head"] == s.pid("b")


# ---------------------------------------------------------------------- rule 38: errors
@pytest.mark.parametrize("idtype,who", [(1, "self"), (P_PID, "init"), (P_PID, 999)])
def test_procctl_wrong_idtype_or_id_is_einval(idtype, who):
    """F000:852: idtype must be P_PID and id the caller's pid."""
    api = Api("reaper")
    sh = api.fork(1, "sh")
    ident = {"self": sh, "init": 1}.get(who, who)
    r = api.call(sh, "procctl", cmd=PROC_REAP_ACQUIRE, idtype=idtype, id=ident)
    assert r["errno"] == "EINVAL" and r["ret"] is None
    assert sorted(api.k.root["reapers"]) == ["1"]
    r = api.call(sh, "procctl", cmd=PROC_REAP_ACQUIRE, idtype=P_PID, id=sh)
    assert r["ret"] == 0 and r["errno"] is None
    assert api.k.check_all() == []


@pytest.mark.parametrize("cmd", [0, 4, 99, -1])
def test_procctl_unknown_command_is_einval(cmd):
    """F000:912-914."""
    api = Api("reaper")
    sh = api.fork(1, "sh")
    r = api.call(sh, "procctl", cmd=cmd)
    assert r["errno"] == "EINVAL" and r["ret"] is None and r["info"] is None
    r = api.call(sh, "procctl", cmd=PROC_REAP_STATUS)
    assert r["ret"] == 0


@pytest.mark.parametrize("cmd", ["acquire", "release", "status"])
def test_procctl_is_enosys_in_classic(cmd):
    s = Story(["init: fork sh", f"sh: procctl {cmd}", "init: procctl status"],
              kernel="classic")
    assert s.res(2)["errno"] == "ENOSYS" and s.res(2)["ret"] is None
    assert s.res(2)["info"] is None
    assert s.res(3)["errno"] == "ENOSYS"
    assert s.doc["reapers"] == {}


# ---------------------------------------------------------------------- rule 35
def test_refs_follow_forks_exits_and_reaps():
    s = Story(["init: fork sh", "sh: procctl acquire", "sh: fork a", "sh: fork b",
               "a: fork c", "c: exit 0"])
    assert s.node(2)["refs"] == 3                 # sh, a, b (c exited)
    s = Story(["init: fork sh", "sh: procctl acquire", "sh: fork a", "sh: fork b",
               "a: fork c", "c: exit 0", "a: wait4 c", "b: exit 0", "sh: wait4 b"])
    assert s.node(2)["refs"] == 2                 # sh, a


def test_a_node_with_a_child_node_counts_the_link():
    s = Story(["init: fork x", "x: procctl acquire", "x: fork y", "y: procctl acquire",
               "x: procctl status", "y: fork z", "y: procctl status"])
    assert s.node(2)["refs"] == 2                 # x and node 3's link (y moved to 3)
    assert status(s, 5)["refs"] == 1
    assert s.node(3)["refs"] == 2                 # y, z
    assert status(s, 7)["refs"] == 1


def test_node_freed_at_zero_drops_its_parent_in_turn():
    """reaper_drop loops on the parent (F000:938-947): y's node dies with y, and the
    link it held on x's node goes with it."""
    s = Story(["init: fork x", "x: procctl acquire", "x: fork y", "y: procctl acquire",
               "y: exit 0"])
    assert s.node(3) is None
    assert s.node(2)["refs"] == 1                 # only x


# ---------------------------------------------------------------------- rule 36
def test_a_reaper_exiting_without_children_frees_its_node():
    s = Story(["init: fork sh", "sh: procctl acquire", "sh: exit 0"])
    assert s.node(2) is None
    assert s.node(1)["refs"] == 2                 # init + static: the zombie counts nothing
    assert s.proc("sh")["reaper"] is None


def test_a_reaper_exiting_hands_orphans_up_and_leaves_a_dead_node():
    s = Story(["init: fork x", "x: procctl acquire", "x: fork sh", "sh: procctl acquire",
               "sh: fork a", "a: fork b", "sh: exit 0"])
    x = s.pid("x")
    assert s.ppid("a") == x                       # the nearest live reaper above
    n3 = s.node(3)
    assert n3["owner"] is None and n3["flags"] == ["OWNED"]
    assert n3["refs"] == 2                        # a, b
    assert n3["parent"] == 2
    assert s.proc("a")["reaper"] is None and s.proc("b")["reaper"] is None
    # grandchildren are not reparented: only sh's own children moved
    assert s.ppid("b") == s.pid("a")


def test_orphans_of_a_process_on_a_dead_node_go_to_the_live_reaper_above():
    s = Story(["init: fork x", "x: procctl acquire", "x: fork sh", "sh: procctl acquire",
               "sh: fork a", "a: fork b", "sh: exit 0", "a: exit 0"])
    assert s.ppid("b") == s.pid("x")


def test_nested_reapers_each_adopt_their_own_orphans():
    s = Story(["init: fork x", "x: procctl acquire", "x: fork y", "y: procctl acquire",
               "y: fork a", "a: fork b", "a: exit 0",          # b -> y
               "y: fork c", "c: fork d", "y: exit 0",          # a (zombie), b, c -> x
               "c: exit 0"])                                   # d -> x
    x = s.pid("x")
    assert s.ppid("b") == x and s.ppid("c") == x and s.ppid("d") == x
    assert s.ppid("a") == x                       # a's zombie moved with y's children
    assert s.ppid("y") == x
    assert s.proc("y")["state"] == "SZOMB"
    s2 = Story(["init: fork x", "x: procctl acquire", "x: fork y", "y: procctl acquire",
                "y: fork a", "a: fork b", "a: exit 0"])
    assert s2.ppid("b") == s2.pid("y")            # the inner reaper first


def test_orphans_without_any_sub_reaper_go_to_init():
    s = Story(["init: fork a", "a: fork b", "a: exit 0"])
    assert s.ppid("b") == 1


# ---------------------------------------------------------------------- rule 37
def test_reaper_get_splices_a_dead_node_held_only_by_its_child_link():
    """x(node 2) <- y(node 3) <- z(node 4); w, v on node 4.  After y and z exit, node 3
    is dead with refs 1 (node 4's link).  w's exit walks from node 4: node 3 reads refs 2
    with the walk's hold and no owner, so it is spliced out (F000:1057-1078)."""
    steps = ["init: fork x", "x: procctl acquire", "x: fork y", "y: procctl acquire",
             "y: fork z", "z: procctl acquire", "z: fork w", "w: fork v",
             "y: exit 0", "z: exit 0"]
    before = Story(steps)
    assert before.node(3) == {**before.node(3), "owner": None, "refs": 1, "parent": 2}
    assert before.node(4)["owner"] is None and before.node(4)["parent"] == 3
    assert before.ppid("w") == before.pid("x")
    s = Story(steps + ["w: exit 0"])
    assert s.node(3) is None                      # spliced and freed
    assert s.node(4)["parent"] == 2               # node 4 inherited node 3's link
    assert s.node(4)["refs"] == 1                 # v
    assert s.node(2)["refs"] == 2                 # x and node 4's link
    assert s.ppid("v") == s.pid("x")


def test_reaper_get_splices_repeatedly_in_one_walk():
    """a(2) <- b(3) <- c(4); d, e on node 4.  c, b, a exit in that order, each walk
    starting at an owned node, so nodes 2 and 3 are left dead with refs 1 each.  d's exit
    walks from node 4 and splices both, ending at init's node."""
    steps = ["init: fork a", "a: procctl acquire", "a: fork b", "b: procctl acquire",
             "b: fork c", "c: procctl acquire", "c: fork d", "d: fork e",
             "c: exit 0", "b: exit 0", "a: exit 0"]
    before = Story(steps)
    assert before.node(2)["refs"] == 1 and before.node(2)["owner"] is None
    assert before.node(3)["refs"] == 1 and before.node(3)["owner"] is None
    assert before.node(4)["parent"] == 3
    s = Story(steps + ["d: exit 0"])
    assert s.node(2) is None and s.node(3) is None
    assert s.node(4)["parent"] == 1
    assert s.node(4)["refs"] == 1                 # e
    assert s.ppid("e") == 1
    # init's node: init, static, node 4's link (a..d are zombies)
    assert s.node(1)["refs"] == 3


def test_reaper_get_does_not_splice_a_node_others_still_hold():
    """A dead parent node with a second reference (another process on it) stays."""
    s = Story(["init: fork x", "x: procctl acquire", "x: fork y", "y: procctl acquire",
               "y: fork k",                       # k holds node 3 as well
               "y: fork z", "z: procctl acquire", "z: fork w", "w: fork v",
               "y: exit 0", "z: exit 0", "w: exit 0"])
    assert s.node(3) is not None and s.node(3)["owner"] is None
    assert s.node(4)["parent"] == 3
    assert s.ppid("v") == s.pid("x")


# ---------------------------------------------------------------------- init's node
def test_init_may_release_its_own_node():
    s = Story(["init: fork a", "init: procctl release", "init: procctl status",
               "init: fork b", "b: fork c", "b: rfork RFPROC|RFNOWAIT d", "b: exit 0",
               "a: fork e"])
    n1 = s.node(1)
    assert n1["owner"] is None
    assert n1["flags"] == ["OWNED", "REALINIT"]   # never cleared
    assert status(s, 3) == {"flags": [], "refs": 0, "pid_head": s.pid("a")}
    assert s.proc("init")["reaper"] is None
    assert s.state("b") == "SZOMB"
    assert s.proc("c")["reaper"] is None
    assert s.ppid("d") == 1                       # no node: RFNOWAIT falls back to init
    assert s.ppid("c") == 1                       # orphans fall back to init
    assert s.proc("a")["reaper"] is None          # a's node lost its owner
    assert s.proc("e")["reaper"] is None
    # node 1: a, e, and the static reference; init's own pointer was dropped
    assert n1["refs"] == 3


def test_init_reacquiring_gets_a_realinit_node_with_refs_2():
    """reaper_init tests `p == initproc` (F000:958-960), not whether it is boot time."""
    s = Story(["init: procctl release", "init: procctl acquire", "init: procctl status",
               "init: fork a", "a: fork b", "a: exit 0"])
    info = status(s, 3)
    assert info["flags"] == ["OWNED", "REALINIT"]
    assert info["refs"] == 1
    assert s.proc("a")["reaper"] is None          # zombie
    assert s.proc("b")["reaper"] == 1 and s.ppid("b") == 1


def test_a_sub_reaper_under_a_released_init_has_no_parent_node():
    s = Story(["init: procctl release", "init: fork sh", "sh: procctl acquire",
               "sh: fork a", "a: fork b", "a: exit 0", "sh: exit 0"])
    assert s.node(2)["parent"] is None
    assert s.ppid("b") == 1


def test_bundled_example_story():
    """scenarios/orphans-and-reapers.yaml, as a story."""
    s = Story(["init: fork sh", "sh: procctl acquire", "sh: fork a", "a: fork b",
               "a: exit 3", "sh: wait4 a"], limits={"maxproc": 1000, "nproc": 100})
    assert s.res(6)["ret"] == s.pid("a") and s.res(6)["status"] == W_EXIT(3)
    assert s.ppid("b") == s.pid("sh") and s.state("b") == "SACTIVE"
    assert s.proc("a") is None
