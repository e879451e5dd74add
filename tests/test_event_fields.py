"""Events say what happened in fields (docs/protocol.md "Event records"): the actor's
pid/tid, the pid a fork created, why a parent changed, and which process a violated
invariant names.  Every reader uses these, never the prose summary; the regressions
below use the names that fooled the old summary-parsing decoders."""

import ast
from pathlib import Path

import pytest
from ptree.engine.constants import REPARENT_REASONS
from ptree.engine.invariants import INVARIANTS
from ptree.engine.kernel import Kernel
from ptree.engine.scenario import load_scenario_file, parse_scenario
from ptree.engine.timeline import Timeline
from ptree.webui.annotate import Annotations
from scenario_util import scenario

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = sorted((ROOT / "scenarios").glob("*.yaml"))


def timeline(steps, kernel="reaper"):
    return Timeline(parse_scenario(scenario(steps, kernel=kernel)))


def label_after(tl, pid):
    return Annotations(tl).edges_at(tl.total).get(str(pid))


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_fields_agree_with_the_ops_in_every_bundled_scenario(path):
    """pid/tid are the actor; `created` is the process the ops add; `reparent` is the ppid
    change the ops make, with a known reason; violations name an invariant."""
    tl = Timeline(load_scenario_file(path))
    for ev in tl.events:
        if ev["actor"] == "kernel":
            assert (ev["pid"], ev["tid"]) == (None, None)
        else:
            assert ev["actor"] == f"{ev['pid']}/{ev['tid']}"
        added = [int(op["path"].split("/")[2]) for op in ev["ops"]
                 if op["op"] == "add" and op["path"].count("/") == 2
                 and op["path"].startswith("/procs/")]
        assert added == ([ev["created"]] if ev["created"] is not None else [])
        moved = {int(op["path"].split("/")[2]): op["value"] for op in ev["ops"]
                 if op["path"].endswith("/ppid")}
        rp = ev["reparent"]
        if rp is None:
            assert not moved
        else:
            assert rp["reason"] in REPARENT_REASONS
            if rp["reason"] == "rfnowait":
                assert rp["pid"] == ev["created"] and rp["from"] == ev["pid"] != rp["to"]
            else:
                assert moved == {rp["pid"]: rp["to"]}
        for v in ev["violations"] or ():
            assert v["invariant"] in INVARIANTS and v["message"] in ev["violation"]


def test_an_orphan_named_ptracer_is_an_orphan_not_back_from_ptrace():
    """The old decoder tested `"ptrace" in summary`: the orphan's own name fooled it."""
    tl = timeline(["init: fork sh", "sh: fork ptracer", "sh: exit 0"], kernel="classic")
    pid = tl.run.state["names"]["ptracer"]
    rp = [ev["reparent"] for ev in tl.events if ev["reparent"]]
    assert rp == [{"pid": pid, "from": 2, "to": 1, "reason": "orphan"}]
    assert label_after(tl, pid) == "orphan → init"


@pytest.mark.parametrize("kernel", ["classic", "reaper"])
def test_a_zombie_named_ignorer_handed_over_by_nocldwait_is_labelled_nocldwait(kernel):
    """The old decoder tested `"ignore" in summary`: the child's name fooled it."""
    tl = timeline(["init: fork sh", "sh: sigaction SIGCHLD nocldwait", "sh: fork ignorer",
                   "ignorer: exit 0"], kernel=kernel)
    pid = tl.run.state["names"]["ignorer"]
    rp = [ev["reparent"] for ev in tl.events if ev["reparent"]]
    assert rp == [{"pid": pid, "from": 2, "to": 1, "reason": "nocldwait"}]
    assert label_after(tl, pid) == "NOCLDWAIT"


def test_sigchld_ignored_hand_over_under_reaper():
    tl = timeline(["init: fork sh", "sh: sigaction SIGCHLD ignore", "sh: fork nocldwaiter",
                   "nocldwaiter: exit 0"])
    pid = tl.run.state["names"]["nocldwaiter"]
    assert [ev["reparent"]["reason"] for ev in tl.events if ev["reparent"]] == [
        "sigchld-ignored"]
    assert label_after(tl, pid) == "SIGCHLD ignored"


def test_rfnowait_and_orphan_to_a_sub_reaper():
    tl = timeline(["init: fork sh", "sh: procctl acquire", "sh: fork a",
                   "a: rfork RFPROC|RFNOWAIT b", "a: fork c", "a: exit 0"])
    names = tl.run.state["names"]
    ann = Annotations(tl).edges_at(tl.total)
    assert ann[str(names["b"])] == "RFNOWAIT"
    assert ann[str(names["c"])] == "orphan → sub-reaper"


def test_a_stopped_process_xstat_reads_stopped_not_killed():
    """wait4-stop-continue at event 6: a is SSTOP with p_xstat = SIGSTOP (17), a bare
    signal, not a wait-status word; the old decoders said "killed by SIGSTOP"."""
    tl = Timeline(load_scenario_file(ROOT / "scenarios" / "wait4-stop-continue.yaml"))
    a = str(tl.run.state["names"]["a"])
    n = next(ev["seq"] for ev in tl.events
             if tl.doc_at(ev["seq"])["procs"].get(a, {}).get("xstat") == 17)
    ann = Annotations(tl)
    assert tl.doc_at(n)["procs"][a]["state"] == "SSTOP"
    assert ann.xstat_at(n)[a] == "stopped by SIGSTOP"
    last = tl.doc_at(tl.total)["procs"].get(a)
    assert last is None or last["state"] == "SZOMB"
    killed = next(ev["seq"] for ev in tl.events
                  if tl.doc_at(ev["seq"])["procs"].get(a, {}).get("state") == "SZOMB")
    assert ann.xstat_at(killed)[a] == "killed by SIGKILL"


def test_violations_are_records_naming_the_lwp():
    """The before-fix race's shortest trace, replayed: the violation event's record names
    the invariant and the LWP that was freed while on its CPU."""
    from ptree.engine.explore import explore
    sc = load_scenario_file(ROOT / "scenarios" / "multi-lwp-exit-race.yaml")
    sc.race = "before-fix"
    found = explore(sc).violations[0]
    tl = Timeline(parse_scenario(found.scenario_text(sc)))
    bad = [v for ev in tl.events for v in (ev["violations"] or ())]
    assert [v["invariant"] for v in bad] == ["use-after-free"]
    assert bad[0]["tid"] is not None
    assert tl.doc_at(0)["procs"].get(str(bad[0]["pid"])) is None    # a forked process


def _pc_literals(tree):
    """Every string literal the engine stores as a continuation's pc: `frame["pc"] = X`,
    `goto(key, frame, X)`, `tsleep(key, chan, reason, X)`, `exit_frame` calls."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for t in node.targets:
                if (isinstance(t, ast.Subscript) and isinstance(t.slice, ast.Constant)
                        and t.slice.value == "pc" and isinstance(node.value, ast.Constant)):
                    yield node.value.value, node.lineno
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            at = {"goto": 2, "tsleep": 3}.get(node.func.attr)
            if at is not None and len(node.args) > at and isinstance(node.args[at], ast.Constant):
                yield node.args[at].value, node.lineno
        if isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values, strict=True):
                if (isinstance(k, ast.Constant) and k.value == "pc"
                        and isinstance(v, ast.Constant) and isinstance(v.value, str)):
                    yield v.value, node.lineno


def test_every_pc_names_a_kernel_method():
    found = 0
    for path in sorted((ROOT / "engine").glob("*.py")):
        for pc, line in _pc_literals(ast.parse(path.read_text())):
            found += 1
            assert callable(getattr(Kernel, pc, None)), f"{path.name}:{line}: pc {pc!r}"
    assert found > 30


def test_every_scenario_command_starts_a_kernel_method():
    from ptree.engine import scenario as sc
    calls = set()
    for name in dir(sc._Parser):
        if name.startswith("cmd_"):
            src = ast.parse(Path(sc.__file__).read_text())
            for node in ast.walk(src):
                if (isinstance(node, ast.FunctionDef) and node.name == name):
                    for ret in ast.walk(node):
                        if (isinstance(ret, ast.Return) and isinstance(ret.value, ast.Tuple)
                                and isinstance(ret.value.elts[0], ast.Constant)):
                            calls.add(ret.value.elts[0].value)
    assert calls and all(callable(getattr(Kernel, c, None)) for c in calls), calls
