"""exit1 as the seeds have it (issue: two deviations).

1. The task leader's peer kill is sys_kill (E003:309-324), so CANSIGNAL applies: a leader
   that became uid 1001 cannot kill its root peer (EPERM, ignored); the peer lives on and
   the leader sleeps in `while (p->p_peers) tsleep(p, "exit1")` until the peer exits.
2. 2014: the vfork child clears P_PPWAIT and wakes its parent before the zombie move; 2011
   wakes only exit1's final wakeup(p->p_pptr) (E003:560), i.e. the parent it has then.
"""

import pytest
from scenario_util import story

KERNELS = ["classic", "reaper"]
LEADER = ["init: fork L", "L: rfork RFPROC|RFTHREAD p1", "L: setuid 1001", "L: exit 0"]
VFORK_NOCLDWAIT = ["init: fork sh", "sh: sigaction SIGCHLD nocldwait", "sh: fork a",
                   "sh: vfork v", "v: exit 4"]


@pytest.mark.parametrize("kernel", KERNELS)
def test_a_uid_changed_leader_cannot_kill_its_root_peer(kernel):
    s = story(LEADER, kernel)
    assert s.state("p1") == "SACTIVE" and s.proc("p1")["uid"] == 0
    assert s.state("L") == "SACTIVE" and "P_WEXIT" in s.flags("L")
    assert s.proc("L")["blocked"] == "peers"
    assert s.res(4)["ret"] is None
    kill = [ev for ev in s.events if ev["kind"] == "exit1" and "SIGKILL" in ev["summary"]]
    assert kill and "EPERM" in kill[0]["summary"]


@pytest.mark.parametrize("kernel", KERNELS)
def test_the_peer_exiting_by_itself_releases_the_leader(kernel):
    s = story(LEADER + ["p1: exit 0"], kernel)
    assert s.state("p1") == "SZOMB" and s.state("L") == "SZOMB"
    assert s.proc("L")["xstat"] == 0


@pytest.mark.parametrize("kernel", KERNELS)
def test_a_root_leader_still_kills_its_peers(kernel):
    s = story(["init: fork L", "L: rfork RFPROC|RFTHREAD p1", "L: exit 0"], kernel)
    assert s.state("p1") == "SZOMB" and s.state("L") == "SZOMB"


def test_2014_vfork_child_wakes_its_nocldwait_parent_before_the_hand_over():
    s = story(VFORK_NOCLDWAIT, "reaper")
    assert s.res(4)["ret"] == s.pid("v") and s.res(4)["blocked"] is None
    assert s.ppid("v") == 1                         # handed to init by PS_NOCLDWAIT
    assert s.proc("sh")["blocked"] is None
    status = next(i for i, ev in enumerate(s.events)
                  if ev["pid"] == s.pid("v") and ev["kind"] == "exit1"
                  and "P_PPWAIT" in ev["summary"])
    zombie = next(i for i, ev in enumerate(s.events)
                  if ev["kind"] == "proc_move_allproc_zombie" and ev["pid"] == s.pid("v"))
    assert status < zombie


def test_2011_vfork_parent_of_a_handed_over_child_sleeps_on():
    """classic keeps the 2011 order: exit1's wakeup goes to the new parent (init)."""
    s = story(VFORK_NOCLDWAIT, "classic")
    assert s.ppid("v") == 1
    assert s.res(4)["ret"] is None and s.res(4)["blocked"] == "ppwait"
    assert s.proc("sh")["blocked"] == "ppwait"


@pytest.mark.parametrize("kernel", KERNELS)
def test_plain_vfork_returns_in_both_orders(kernel):
    s = story(["init: fork sh", "sh: vfork v", "v: exit 4", "sh: wait4 v"], kernel)
    assert s.res(2)["ret"] == s.pid("v")
    assert s.res(4)["ret"] == s.pid("v") and s.res(4)["status"] == 4 << 8


def test_compare_shows_the_two_wakeup_orders_side_by_side(app):
    """The compare page on the bundled scenario: after `v: exit 4`, sh sleeps in ppwait
    under classic and not under reaper."""
    body = app.test_client().get("/api/compare?scenario=vfork-wakeup-order&step=5").get_json()
    texts = [d["text"] for d in body["diffs"]]
    assert any(t.startswith("sh (pid 2):") and "asleep in ppwait under classic" in t
               and "not asleep under reaper" in t for t in texts), texts
    sh = {k: next(r for r in body["panes"][k]["procs"] if r["name"] == "sh")
          for k in ("classic", "reaper")}
    assert (sh["classic"]["blocked"], sh["reaper"]["blocked"]) == ("ppwait", None)
    page = app.test_client().get("/compare?scenario=vfork-wakeup-order&step=5")
    assert page.status_code == 200
