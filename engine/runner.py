"""Running a scenario on the Kernel: names, scripted steps, RESULTs, expectations, and
time travel (checkpoints every K events; `jump(n)` restores one and replays).

Scheduling (architecture.md, contract): after each scripted step, all kernel work it made
runnable runs to quiescence, each action its own event, before the next scripted step.
"""

import logging
import pickle
from collections import deque

from .constants import SIGNAMES
from .errors import EngineError, Panic
from .kernel import Kernel
from .scenario import ScenarioError

log = logging.getLogger(__name__)


class Run:
    """One scenario executing on one Kernel.  `step()` is the only primitive."""

    def __init__(self, scenario, check=True, checkpoint_every=500):
        self.scenario = scenario
        self.kernel = Kernel(scenario.kernel, scenario.race, scenario.limits["maxproc"],
                             scenario.limits["nproc"], check=check)
        self.state = {"pos": 0, "names": {}, "pending": deque(), "results": {}}
        self.every = checkpoint_every
        self.checkpoints = {0: self._snapshot()}
        self.next_checkpoint = checkpoint_every

    # ------------------------------------------------------------------ stepping
    @property
    def seq(self):
        return self.kernel.seq

    def step(self):
        """Apply the next event and return it; None when the scenario has ended."""
        st = self.state
        if not st["pending"]:
            try:
                evs = self.kernel.step()
                if evs is None:
                    if st["pos"] >= len(self.scenario.steps):
                        return None
                    evs = self._start(self.scenario.steps[st["pos"]])
                    st["pos"] += 1
            except EngineError as e:
                raise self._error(e) from None
            st["pending"].extend(evs)
        ev = st["pending"].popleft()
        self._absorb(ev)
        if ev["seq"] >= self.next_checkpoint and not st["pending"]:
            self._checkpoint(ev["seq"])
        return ev

    def _checkpoint(self, seq):
        """Keep a checkpoint; space them by the state's size so that their cost per
        event stays flat as the tree grows (a 2.4 MB state every 8,000 events)."""
        blob = self.checkpoints.get(seq) or self._snapshot()
        self.checkpoints[seq] = blob
        self.next_checkpoint = seq + max(self.every, len(blob) // 300)

    def run(self):
        """Step to the end; returns the number of events."""
        while self.step() is not None:
            pass
        return self.seq

    def _error(self, e):
        st = self.scenario.steps[max(self.state["pos"] - 1, 0)]
        return ScenarioError(self.scenario.filename, st.line, str(e))

    def _absorb(self, ev):
        st = self.state
        bind = ev.pop("bind", None)
        if bind is not None:
            st["names"][bind["name"]] = bind["pid"]
        if ev["step"] is not None:
            ev["line"] = self.scenario.steps[ev["step"] - 1].line
        else:
            ev["line"] = None
        res = ev.get("result")
        if res is not None:
            step = self.scenario.steps[res["step"] - 1]
            full = {"step": res["step"], "actor": step.actor, "command": step.command}
            full.update({k: res[k] for k in ("ret", "errno", "status", "info", "blocked")})
            ev["result"] = full
            st["results"][res["step"]] = full

    # ------------------------------------------------------------------ scripted steps
    def _fail(self, step, message):
        raise ScenarioError(self.scenario.filename, step.line, message)

    def pid_of(self, step, name):
        """The pid a scenario name is bound to (bad input if never bound)."""
        if name == "init":
            return 1
        pid = self.state["names"].get(name)
        if pid is None:
            self._fail(step, f"unknown actor or name {name!r}: no fork has created it yet")
        return pid

    def actor_key(self, step):
        """(pid, tid) of the step's actor, or bad input if it cannot act now."""
        base, _, tid = step.actor.partition(".")
        pid = self.pid_of(step, base)
        k = self.kernel
        p = k.proc(pid)
        if p is None:
            self._fail(step, f"{base} has been reaped and cannot act")
        if p["state"] == "SZOMB":
            self._fail(step, f"{base} is a zombie and cannot act")
        if p["state"] == "SSTOP":
            self._fail(step, f"{base} is stopped (SIGSTOP) and cannot act until SIGCONT")
        if tid:
            lwp = p["lwps"].get(tid)
            if lwp is None or lwp["exit"] is not None:
                self._fail(step, f"{base}.{tid}: no such live thread")
            tid = int(tid)
        else:
            tids = k.live_tids(p)
            if not tids:
                self._fail(step, f"{base} has no live thread")
            tid = tids[0]
        frame = k.priv["frames"].get((pid, tid))
        if frame is not None:
            why = frame.get("wchan") or ("exiting" if frame.get("dying") else "busy")
            self._fail(step, f"{base}.{tid} is blocked ({why}) and cannot take a step")
        return pid, tid

    def _start(self, step):
        """Resolve names, refuse what would panic, and start the step's syscall."""
        if step.call == "kernel":
            self._fail(step, "`kernel:` steps need schedule: choice")
        key = self.actor_key(step)
        args = dict(step.args)
        for arg, name in step.refs.items():
            args[arg] = self.pid_of(step, name)
        if step.call == "fork1" and args.get("name") in self.state["names"]:
            self._fail(step, f"name {args['name']!r} is already in use")
        k = self.kernel
        if key[0] == 1 and (step.call == "exit1" or (
                step.call == "extexit" and (args["who"] == "proc"
                                            or k.proc(1)["nthreads"] <= 1))):
            raise Panic("Going nowhere without my init!")
        return k.start_syscall(key, step.index, step.call, **args)

    # ------------------------------------------------------------------ results
    def results(self):
        """One RESULT per step, in step order (a still-blocked step has ret null)."""
        out = []
        frames_by_step = {f.get("step"): (key, f) for key, f in self.kernel.priv["frames"].items()
                          if f.get("step") is not None}
        for step in self.scenario.steps[:self.state["pos"]]:
            res = self.state["results"].get(step.index)
            if res is None:
                blocked = None
                if step.index in frames_by_step:
                    blocked = frames_by_step[step.index][1].get("wchan")
                res = {"step": step.index, "actor": step.actor, "command": step.command,
                       "ret": None, "errno": None, "status": None, "info": None,
                       "blocked": blocked}
            out.append(res)
        return out

    # ------------------------------------------------------------------ expectations
    def check_expectations(self):
        """[(line, message)] for every failed expectation (steps, then the final state)."""
        failures = []
        results = {r["step"]: r for r in self.results()}
        for step in self.scenario.steps:
            if step.expect is None:
                continue
            res = results.get(step.index)
            if res is None:
                failures.append((step.expect_line, "expected a result, but the step never ran"))
                continue
            failures.extend((step.expect_line, m) for m in self._step_failures(step, res))
        for line, name, spec in self.scenario.expect:
            failures.extend((line, m) for m in self._final_failures(name, spec, line))
        return failures

    def _value(self, v):
        """A number, or a scenario name standing for its pid."""
        if isinstance(v, str) and (v in self.state["names"] or v == "init"):
            return 1 if v == "init" else self.state["names"][v]
        return v

    def _step_failures(self, step, res):
        status = res["status"]
        got = {
            "ret": res["ret"], "errno": res["errno"], "info": res["info"],
            "exit": (status >> 8) & 0xFF if status is not None and status & 0x7F == 0 else None,
            "signal": SIGNAMES.get(status & 0x7F) if status is not None
            and status & 0x7F not in (0, 0x7F) and status != 19 else None,
            "stopped": SIGNAMES.get(status >> 8) if status is not None
            and status & 0xFF == 0x7F else None,
            "continued": status == 19,
        }
        out = []
        for key, want in step.expect.items():
            have = got[key]
            if key == "ret":
                want = self._value(want)
            if key == "stopped" and want is True:
                want, have = True, have is not None
            if key == "signal" and isinstance(want, int):
                have = status & 0x7F if status is not None else None
            if key == "info" and isinstance(want, dict) and isinstance(have, dict):
                have = {k: have.get(k) for k in want}
            if want != have:
                out.append(f"expected {key} {_show(want)}, got {_show(have)}")
        return out

    def _final_failures(self, name, spec, line):
        if name == "init":
            pid = 1
        else:
            pid = self.state["names"].get(name)
            if pid is None:
                raise ScenarioError(self.scenario.filename, line,
                                    f"expect names {name!r}, which no step created")
        p = self.kernel.proc(pid)
        if spec == "reaped":
            return [] if p is None else [f"expected {name} reaped, got {p['state']}"]
        if spec == "alive":
            ok = p is not None and p["state"] != "SZOMB"
            return [] if ok else [f"expected {name} alive, got "
                                  f"{'reaped' if p is None else p['state']}"]
        if p is None:
            return [f"expected {name} {_show(spec)}, got reaped"]
        out = []
        for key, want in spec.items():
            if key == "tids":
                have = sorted(int(t) for t, lwp in p["lwps"].items() if lwp["exit"] is None)
            elif key == "reaper":
                have = p["reaper"]
                want = self._value(want) if want is not None else None
            else:
                have = p[key]
                if key == "ppid":
                    want = self._value(want)
            if want != have:
                out.append(f"expected {key} {_show(want)}, got {_show(have)}")
        return out

    # ------------------------------------------------------------------ time travel
    def _snapshot(self):
        return pickle.dumps((self.kernel.snapshot(), self.state), pickle.HIGHEST_PROTOCOL)

    def jump(self, n):
        """Put the run at event n (0 = boot): go on from here if no checkpoint lies
        between here and n, else restore the nearest checkpoint at or before n and
        replay from it.  Equal to a fresh replay to n."""
        base = max(s for s in self.checkpoints if s <= n)
        if not base <= self.seq <= n:
            kblob, state = pickle.loads(self.checkpoints[base])
            self.kernel.restore(kblob)
            self.state = state
            self.next_checkpoint = min((s for s in self.checkpoints if s > base),
                                       default=base + self.every)
        while self.seq < n and self.step() is not None:
            pass
        return self.seq

    def back(self):
        """One event back (the inverse of the last step)."""
        return self.jump(max(self.seq - 1, 0))


def _show(v):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    return str(v)


def check_scenario_file(path):
    """`ptree check` for one file: (status, messages, summary).

    status 2: bad input (one `FILE:LINE: message`); 1: failed expectations or violated
    invariants, one `FILE:LINE: ...` message each; 0: all held."""
    from .scenario import load_scenario_file
    try:
        scenario = load_scenario_file(path)
        run, events = run_scenario(scenario)
        failures = run.check_expectations()
    except ScenarioError as e:
        return 2, [str(e)], None
    messages = [f"{path}:{ev.get('line') or 0}: invariant violated at event {ev['seq']}: "
                f"{ev['violation']}" for ev in events if ev["violation"]]
    messages += [f"{path}:{line}: {message}" for line, message in failures]
    summary = f"{path}: ok ({len(scenario.steps)} steps, {len(events)} events)"
    return (1 if messages else 0), messages, summary


def run_scenario(scenario, check=True):
    """Run to the end and collect the event log; ScenarioError propagates."""
    run = Run(scenario, check=check)
    events = []
    while True:
        ev = run.step()
        if ev is None:
            return run, events
        events.append(ev)
