"""Rule 39: signals (SIGKILL, SIGTERM, SIGSTOP, SIGCONT, SIGCHLD dispositions, caught
signals), kill's permission and target rules, and exec (waking a vfork parent, killing
the other LWPs).
"""

import pytest
from scenario_util import W_CONTINUED, W_EXIT, W_SIGKILL, W_SIGTERM, Story

PROFILES = ["reaper", "classic"]


# ---------------------------------------------------------------------- fatal signals
@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("sig,status", [("SIGKILL", W_SIGKILL), ("SIGTERM", W_SIGTERM),
                                        ("KILL", W_SIGKILL), ("TERM", W_SIGTERM)])
def test_fatal_signal_kills_with_a_signal_status(profile, sig, status):
    s = Story(["init: fork sh", "sh: fork a", "a: fork b", f"sh: kill a {sig}",
               "sh: wait4 a"], kernel=profile)
    assert s.res(4) == {"step": 4, "actor": "sh", "command": f"kill a {sig}", "ret": 0,
                        "errno": None, "status": None, "info": None, "blocked": None}
    assert s.res(5)["ret"] == s.pid("a") and s.res(5)["status"] == status
    assert s.ppid("b") == 1                 # a's orphan was adopted


@pytest.mark.parametrize("profile", PROFILES)
def test_sigkill_kills_every_lwp(profile):
    s = Story(["init: fork a", "a: lwp_create", "a: lwp_create", "init: kill a SIGKILL",
               "init: wait4 a"], kernel=profile)
    assert s.res(5)["status"] == W_SIGKILL
    assert s.doc["deadlwps"] == []


@pytest.mark.parametrize("profile", PROFILES)
def test_sigkill_of_a_stopped_process_kills_it(profile):
    s = Story(["init: fork a", "init: kill a SIGSTOP", "init: kill a SIGKILL",
               "init: wait4 a"], kernel=profile)
    assert s.res(4)["ret"] == s.pid("a") and s.res(4)["status"] == W_SIGKILL


@pytest.mark.parametrize("profile", PROFILES)
def test_sigterm_while_stopped_waits_for_sigcont(profile):
    s = Story(["init: fork a", "init: kill a SIGSTOP", "init: kill a SIGTERM"], kernel=profile)
    assert s.state("a") == "SSTOP"
    assert s.proc("a")["xstat"] == 17             # still the stop signal
    s2 = Story(["init: fork a", "init: kill a SIGSTOP", "init: kill a SIGTERM",
                "init: kill a SIGCONT", "init: wait4 a"], kernel=profile)
    assert s2.res(5)["ret"] == s2.pid("a") and s2.res(5)["status"] == W_SIGTERM


# ---------------------------------------------------------------------- kill's rules
@pytest.mark.parametrize("profile", PROFILES)
def test_kill_of_a_zombie_is_0_and_changes_nothing(profile):
    s = Story(["init: fork a", "a: exit 5", "init: kill a SIGKILL", "init: kill a SIGSTOP",
               "init: wait4 a"], kernel=profile)
    assert s.res(3)["ret"] == 0 and s.res(3)["errno"] is None
    assert s.res(4)["ret"] == 0
    assert s.res(5)["status"] == W_EXIT(5)        # the exit status was not overwritten


@pytest.mark.parametrize("profile", PROFILES)
def test_kill_of_a_reaped_process_is_esrch(profile):
    s = Story(["init: fork a", "a: exit 0", "init: wait4 a", "init: kill a SIGTERM",
               "init: kill 77 SIGKILL"], kernel=profile)
    assert s.res(4)["errno"] == "ESRCH" and s.res(4)["ret"] is None
    assert s.res(5)["errno"] == "ESRCH"


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("target", ["init", "1", "0"])
@pytest.mark.parametrize("sig", ["SIGKILL", "SIGTERM", "SIGSTOP"])
def test_kill_of_init_or_proc0_is_0_with_no_effect(profile, target, sig):
    s = Story(["init: fork a", f"a: kill {target} {sig}", "init: fork b"], kernel=profile)
    assert s.res(2)["ret"] == 0 and s.res(2)["errno"] is None
    pid = "1" if target in ("init", "1") else "0"
    p = s.doc["procs"][pid]
    assert p["state"] == "SACTIVE" and "P_WEXIT" not in p["flags"]
    assert s.res(3)["ret"] == s.pid("b")          # init still runs


@pytest.mark.parametrize("profile", PROFILES)
def test_non_root_may_not_signal_another_uid(profile):
    s = Story(["init: fork u", "u: setuid 5", "init: fork v",
               "u: kill v SIGKILL", "u: kill v SIGSTOP", "u: kill init SIGTERM",
               "init: fork w", "w: setuid 5", "u: kill w SIGKILL"], kernel=profile)
    for i in (4, 5, 6):
        assert s.res(i)["errno"] == "EPERM" and s.res(i)["ret"] is None
    assert s.state("v") == "SACTIVE"
    assert s.res(9)["ret"] == 0                   # same uid: allowed
    assert s.state("w") == "SZOMB"


@pytest.mark.parametrize("profile", PROFILES)
def test_root_may_signal_anyone(profile):
    s = Story(["init: fork u", "u: setuid 5", "init: kill u SIGKILL"], kernel=profile)
    assert s.res(3)["ret"] == 0 and s.state("u") == "SZOMB"


@pytest.mark.parametrize("profile", PROFILES)
def test_sigcont_across_uids_is_allowed(profile):
    s = Story(["init: fork v", "init: kill v SIGSTOP", "init: fork u", "u: setuid 5",
               "u: kill v SIGCONT"], kernel=profile)
    assert s.res(5)["ret"] == 0 and s.res(5)["errno"] is None
    assert s.state("v") == "SACTIVE"


# ---------------------------------------------------------------------- stop / continue
@pytest.mark.parametrize("profile", PROFILES)
def test_sigstop_stops_and_sigcont_continues(profile):
    s = Story(["init: fork sh", "sh: fork a", "a: lwp_create", "sh: kill a SIGSTOP"],
              kernel=profile)
    a = s.proc("a")
    assert a["state"] == "SSTOP"
    assert a["xstat"] == 17
    assert {lwp["state"] for lwp in a["lwps"].values()} == {"LSSTOP"}
    s2 = Story(["init: fork sh", "sh: fork a", "a: lwp_create", "sh: kill a SIGSTOP",
                "sh: kill a SIGCONT", "a: fork b"], kernel=profile)
    a = s2.proc("a")
    assert a["state"] == "SACTIVE"
    assert "P_CONTINUED" in a["flags"]
    assert {lwp["state"] for lwp in a["lwps"].values()} == {"LSRUN"}
    assert s2.res(6)["ret"] == s2.pid("b")        # it can act again


@pytest.mark.parametrize("profile", PROFILES)
def test_sigcont_on_a_running_process_changes_nothing(profile):
    s = Story(["init: fork sh", "sh: fork a", "sh: kill a SIGCONT",
               "sh: wait4 a WCONTINUED|WNOHANG"], kernel=profile)
    assert s.state("a") == "SACTIVE"
    assert "P_CONTINUED" not in s.flags("a")
    assert s.res(4)["ret"] == 0


@pytest.mark.parametrize("profile", PROFILES)
def test_a_second_sigstop_changes_nothing(profile):
    s = Story(["init: fork sh", "sh: fork a", "sh: kill a SIGSTOP",
               "sh: wait4 a WUNTRACED", "sh: kill a SIGSTOP",
               "sh: wait4 a WUNTRACED|WNOHANG"], kernel=profile)
    assert s.res(4)["status"] == 4479
    assert s.state("a") == "SSTOP"
    assert s.res(6)["ret"] == 0


@pytest.mark.parametrize("profile", PROFILES)
def test_stop_then_continue_reports_both_in_order(profile):
    s = Story(["init: fork sh", "sh: fork a", "sh: kill a SIGSTOP", "sh: kill a SIGCONT",
               "sh: wait4 a WUNTRACED|WCONTINUED|WNOHANG",
               "sh: wait4 a WUNTRACED|WCONTINUED|WNOHANG"], kernel=profile)
    # a runs again, so the stop is gone; only the continue remains to report
    assert s.res(5)["status"] == W_CONTINUED
    assert s.res(6)["ret"] == 0


# ---------------------------------------------------------------------- caught signals
@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("sig", ["SIGUSR1", "SIGUSR2", "SIGHUP", "SIGINT", "SIGCHLD"])
def test_other_signals_are_delivered_and_change_no_state(profile, sig):
    s = Story(["init: fork a", "a: lwp_create", f"init: kill a {sig}", "a: fork b"],
              kernel=profile)
    assert s.res(3)["ret"] == 0
    assert s.state("a") == "SACTIVE" and s.proc("a")["nthreads"] == 2
    assert s.res(4)["ret"] == s.pid("b")
    assert any(sig in ev["summary"] for ev in s.step_events(3))


# ---------------------------------------------------------------------- sigaction
@pytest.mark.parametrize("profile", PROFILES)
def test_sigaction_sigchld_sets_and_clears_the_flags(profile):
    s = Story(["init: fork a", "a: sigaction SIGCHLD ignore"], kernel=profile)
    assert {"PS_CLDSIGIGN", "PS_NOCLDWAIT"} & s.flags("a") == {"PS_CLDSIGIGN"}
    s = Story(["init: fork a", "a: sigaction SIGCHLD ignore",
               "a: sigaction SIGCHLD nocldwait"], kernel=profile)
    assert {"PS_CLDSIGIGN", "PS_NOCLDWAIT"} & s.flags("a") == {"PS_NOCLDWAIT"}
    s = Story(["init: fork a", "a: sigaction SIGCHLD nocldwait",
               "a: sigaction SIGCHLD ignore"], kernel=profile)
    assert {"PS_CLDSIGIGN", "PS_NOCLDWAIT"} & s.flags("a") == {"PS_CLDSIGIGN"}
    s = Story(["init: fork a", "a: sigaction SIGCHLD nocldwait",
               "a: sigaction SIGCHLD default"], kernel=profile)
    assert {"PS_CLDSIGIGN", "PS_NOCLDWAIT"} & s.flags("a") == set()
    assert s.res(3)["ret"] == 0 and s.res(3)["errno"] is None


@pytest.mark.parametrize("profile", PROFILES)
def test_dispositions_are_copied_at_fork_not_shared(profile):
    s = Story(["init: fork a", "a: sigaction SIGCHLD nocldwait", "a: fork c",
               "c: sigaction SIGCHLD default", "a: fork d", "d: exit 0"], kernel=profile)
    assert "PS_NOCLDWAIT" not in s.flags("c")          # changed by c alone
    assert "PS_NOCLDWAIT" in s.flags("a")
    assert s.ppid("d") == 1                            # a still does not keep zombies
    s2 = Story(["init: fork a", "a: sigaction SIGCHLD nocldwait", "a: fork c",
                "c: fork e", "e: exit 0"], kernel=profile)
    assert "PS_NOCLDWAIT" in s2.flags("c")
    assert s2.ppid("e") == 1                           # c inherited nocldwait


@pytest.mark.parametrize("profile", PROFILES)
def test_rfsigshare_shares_sigaction_both_ways(profile):
    s = Story(["init: fork a", "a: rfork RFPROC|RFSIGSHARE b", "b: sigaction SIGCHLD nocldwait",
               "a: fork c", "c: exit 0", "a: wait4 any WNOHANG"], kernel=profile)
    assert "PS_NOCLDWAIT" in s.flags("a")
    assert s.ppid("c") == 1
    s2 = Story(["init: fork a", "a: rfork RFPROC|RFSIGSHARE b", "a: sigaction SIGCHLD ignore",
                "a: rfork RFPROC z", "a: sigaction SIGCHLD default"], kernel=profile)
    assert not {"PS_CLDSIGIGN", "PS_NOCLDWAIT"} & s2.flags("b")
    assert "PS_CLDSIGIGN" in s2.flags("z")             # z copied, did not share
    s3 = Story(["init: fork a", "a: rfork RFPROC|RFSIGSHARE b", "a: sigaction SIGCHLD ignore"],
               kernel=profile)
    assert "PS_CLDSIGIGN" in s3.flags("b")


# ---------------------------------------------------------------------- exec
@pytest.mark.parametrize("profile", PROFILES)
def test_exec_wakes_the_vfork_parent_and_the_child_lives_on(profile):
    s = Story(["init: fork a", "a: vfork b", "b: exec", "b: fork c", "a: wait4 any WNOHANG"],
              kernel=profile)
    assert s.res(2)["ret"] == s.pid("b")
    assert s.res(3)["ret"] is None and s.res(3)["errno"] is None
    assert "P_PPWAIT" not in s.flags("b")
    assert s.state("b") == "SACTIVE"
    assert s.res(4)["ret"] == s.pid("c")
    assert s.res(5)["ret"] == 0


@pytest.mark.parametrize("profile", PROFILES)
def test_exec_kills_the_other_lwps(profile):
    s = Story(["init: fork a", "a: lwp_create", "a: lwp_create", "a.1: exec", "a: fork b"],
              kernel=profile)
    a = s.proc("a")
    assert a["state"] == "SACTIVE"
    assert s.tids("a") == [1] and a["nthreads"] == 1
    assert "P_WEXIT" not in a["flags"]
    assert s.doc["deadlwps"] == []
    assert s.res(5)["ret"] == s.pid("b")           # the survivor runs on


@pytest.mark.parametrize("profile", PROFILES)
def test_exec_interrupts_another_lwps_wait(profile):
    """a.1 sleeps in wait4 (interruptible); a.0's exec kills it: EINTR, then it exits."""
    s = Story(["init: fork a", "a: fork c", "a: lwp_create", "a.1: wait4 any", "a.0: exec"],
              kernel=profile)
    assert s.res(4)["errno"] == "EINTR" and s.res(4)["ret"] is None
    assert s.tids("a") == [0]
    assert s.state("c") == "SACTIVE" and s.ppid("c") == s.pid("a")


@pytest.mark.parametrize("profile", PROFILES)
def test_a_signal_during_ppwait_acts_when_the_parent_wakes(profile):
    """ppwait is uninterruptible: the vfork completes, then the SIGKILL takes effect."""
    s = Story(["init: fork p", "p: vfork c", "init: kill p SIGKILL"], kernel=profile)
    assert s.state("p") == "SACTIVE"
    assert s.res(2)["ret"] is None and s.res(2)["blocked"] == "ppwait"
    s2 = Story(["init: fork p", "p: vfork c", "init: kill p SIGKILL", "c: exec",
                "init: wait4 p"], kernel=profile)
    assert s2.res(2)["ret"] == s2.pid("c")
    assert s2.res(5)["ret"] == s2.pid("p") and s2.res(5)["status"] == W_SIGKILL
    assert s2.ppid("c") == 1
