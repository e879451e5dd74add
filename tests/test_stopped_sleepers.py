"""Issue: a stopped process's threads in kernel sleeps follow their own seed loops.

- ppwait (F000:832-838): `while (p2->p_flags & P_PPWAIT) tsleep(..., "ppwait")`.  Woken by
  another child's exit1 (E003:560 wakes the parent's channel) while stopped, the vfork
  parent re-checks, finds P_PPWAIT still set and sleeps again: SSTOP, LWP LSSLEEP ppwait.
- wait4 (E003:836-837, rule 31): kern_wait's loop starts with `while (q->p_stat == SSTOP)
  tstop();`: woken while stopped, the waiter stops there (LSSTOP, asleep in nothing) and
  looks at its children only after SIGCONT.

Expected values are worked out from those loops, not read from the engine.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ptree.engine.randomgen import Generator
from ptree.engine.runner import Run
from ptree.engine.scenario import dump_scenario, parse_scenario
from scenario_util import story
from test_properties import HypothesisPicker

KERNELS = ["classic", "reaper"]
VFORK = ["init: fork sh", "sh: fork other", "sh: vfork v", "init: kill sh SIGSTOP",
         "other: exit 0"]
WAIT = ["init: fork sh", "sh: fork a", "sh: wait4 any", "init: kill sh SIGSTOP", "a: exit 4"]


def lwp0(s, name):
    return s.proc(name)["lwps"]["0"]


@pytest.mark.parametrize("kernel", KERNELS)
def test_stopped_vfork_parent_woken_sleeps_again_in_ppwait(kernel):
    s = story(VFORK, kernel)
    assert s.state("sh") == "SSTOP"
    assert (lwp0(s, "sh")["state"], lwp0(s, "sh")["blocked"]) == ("LSSLEEP", "ppwait")
    assert s.proc("sh")["blocked"] == "ppwait"
    assert s.res(3)["ret"] is None and s.res(3)["blocked"] == "ppwait"
    # The re-check is an event of its own, in the stopped parent's thread.
    assert [ev["kind"] for ev in s.events if ev["pid"] == s.pid("sh")][-1] == "start_forked_proc"


@pytest.mark.parametrize("kernel", KERNELS)
def test_continued_vfork_parent_stays_in_ppwait_until_the_child_exits(kernel):
    s = story(VFORK + ["init: kill sh SIGCONT"], kernel)
    assert s.state("sh") == "SACTIVE"
    assert (lwp0(s, "sh")["state"], lwp0(s, "sh")["blocked"]) == ("LSSLEEP", "ppwait")
    s = story(VFORK + ["init: kill sh SIGCONT", "v: exit 4"], kernel)
    assert s.res(3)["ret"] == s.pid("v") and s.res(3)["blocked"] is None
    assert (lwp0(s, "sh")["state"], lwp0(s, "sh")["blocked"]) == ("LSRUN", None)


@pytest.mark.parametrize("kernel", KERNELS)
def test_vfork_child_exits_while_parent_stopped_the_call_returns_and_the_thread_stops(kernel):
    """The loop ends (P_PPWAIT cleared); vfork's work is done, and the thread stops on its
    way back to user mode (LSSTOP) until SIGCONT."""
    s = story(["init: fork sh", "sh: vfork v", "init: kill sh SIGSTOP", "v: exit 4"], kernel)
    assert s.state("sh") == "SSTOP"
    assert s.res(2)["ret"] == s.pid("v")
    assert (lwp0(s, "sh")["state"], lwp0(s, "sh")["blocked"]) == ("LSSTOP", None)
    s = story(["init: fork sh", "sh: vfork v", "init: kill sh SIGSTOP", "v: exit 4",
               "init: kill sh SIGCONT"], kernel)
    assert (s.state("sh"), lwp0(s, "sh")["state"]) == ("SACTIVE", "LSRUN")


@pytest.mark.parametrize("kernel", KERNELS)
def test_stopped_waiter_woken_stops_in_tstop(kernel):
    s = story(WAIT, kernel)
    assert s.state("sh") == "SSTOP" and s.state("a") == "SZOMB"
    assert (lwp0(s, "sh")["state"], lwp0(s, "sh")["blocked"]) == ("LSSTOP", None)
    assert s.proc("sh")["blocked"] is None
    assert s.res(3)["ret"] is None and s.res(3)["blocked"] == "stopped"
    assert s.events_of("tstop") and s.events_of("tstop")[-1]["pid"] == s.pid("sh")


@pytest.mark.parametrize("kernel", KERNELS)
def test_continued_waiter_reaps_its_zombie(kernel):
    s = story(WAIT + ["init: kill sh SIGCONT"], kernel)
    assert s.res(3)["ret"] == s.pid("a") and s.res(3)["status"] == 4 << 8
    assert s.state("a") is None and s.state("sh") == "SACTIVE"
    assert (lwp0(s, "sh")["state"], lwp0(s, "sh")["blocked"]) == ("LSRUN", None)


def test_the_end_of_run_summary_agrees_with_the_document(tmp_path):
    """`ptree run` says a step is still blocked exactly as the document says its LWP is."""
    from scenario_util import cli, scenario
    path = tmp_path / "s.yaml"
    path.write_text(scenario(VFORK))
    out = cli("run", str(path)).stdout
    assert "step 3 `vfork v` is still blocked (ppwait)" in out
    path.write_text(scenario(WAIT))
    out = cli("run", str(path)).stdout
    assert "step 3 `wait4 any` has not returned: its process is stopped" in out


@pytest.mark.parametrize("profile", KERNELS)
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_stopping_and_continuing_random_processes_keeps_every_invariant(profile, data):
    """Random scenarios that often stop and continue processes asleep in the kernel (and
    let waits sleep on live children): after every event no invariant breaks, the new
    sleep-state agreement included, and the full recount agrees."""
    gen = Generator(HypothesisPicker(data), profile, fork_ratio=0.4,
                    limits={"maxproc": 40, "nproc": 12}, stops=0.3)
    text = dump_scenario(gen.generate(data.draw(st.integers(1, 30))))
    run = Run(parse_scenario(text, "<random>"))
    while (ev := run.step()) is not None:
        assert ev["violation"] is None, (ev["violation"], text)
        assert run.kernel.check_all() == [], text
