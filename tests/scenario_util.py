"""Helpers for the rule tests: run scenario text, read RESULTs and the state document,
and drive the engine's API directly for error paths no scenario can reach.

Tests import these as `from scenario_util import ...` (pytest puts tests/ on sys.path).
"""

import copy
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from ptree.engine.kernel import Kernel
from ptree.engine.runner import Run, run_scenario
from ptree.engine.scenario import ScenarioError, parse_scenario

REPO = Path(__file__).resolve().parent.parent

# architecture.md, "State document (contract)": every RESULT has exactly these keys.
RESULT_KEYS = {"step", "actor", "command", "ret", "errno", "status", "info", "blocked"}

# Raw wait-status words (BSD signal numbers; architecture.md).
W_SIGKILL = 9
W_SIGTERM = 15
W_STOPPED_SIGSTOP = (17 << 8) | 0o177      # 4479
W_CONTINUED = 19


def W_EXIT(code):
    return code << 8


# ---------------------------------------------------------------------- scenario text
def scenario(steps, kernel="reaper", limits=None, header="", expect=None):
    """Build scenario text from a list of step strings ("init: fork sh") or of
    (step, expect-text) pairs."""
    lines = [f"kernel: {kernel}"]
    if limits:
        lines.append("limits: {" + ", ".join(f"{k}: {v}" for k, v in limits.items()) + "}")
    if header:
        lines.append(textwrap.dedent(header).strip())
    lines.append("steps:")
    for st in steps:
        if isinstance(st, tuple):
            st, exp = st
            lines.append(f"  - {st}")
            lines.append(f"    expect: {exp}")
        else:
            lines.append(f"  - {st}")
    if expect:
        lines.append("expect:")
        for name, spec in expect.items():
            lines.append(f"  {name}: {spec}")
    return "\n".join(lines) + "\n"


def run_text(text, filename="<test>"):
    """Parse and run scenario text to the end: (run, events).  ScenarioError propagates."""
    sc = parse_scenario(textwrap.dedent(text), filename)
    return run_scenario(sc)


def results(run):
    """One RESULT per step, in step order."""
    return run.results()


def doc(run):
    """A deep copy of the current state document."""
    return copy.deepcopy(run.kernel.root)


def violations(events):
    return [ev for ev in events if ev.get("violation")]


class Story:
    """A scenario run to its end, with the accessors the rule tests use.

    Creating one checks the things every story must satisfy: no invariant-violation
    event, `check_all()` empty at the end, one RESULT per step with every contract key."""

    def __init__(self, steps, kernel="reaper", limits=None, header="", trace=False):
        self.text = steps if isinstance(steps, str) else scenario(steps, kernel, limits,
                                                                  header)
        self.sc = parse_scenario(self.text, "<story>")
        self.run = Run(self.sc)
        self.events = []
        self.docs = [copy.deepcopy(self.run.kernel.root)] if trace else None
        while True:
            ev = self.run.step()
            if ev is None:
                break
            self.events.append(ev)
            if trace:
                self.docs.append(copy.deepcopy(self.run.kernel.root))
        self.assert_sound()

    # -- soundness -------------------------------------------------------------------
    def assert_sound(self):
        bad = violations(self.events)
        assert not bad, f"invariant violated: {[ev['violation'] for ev in bad]}"
        assert self.run.kernel.check_all() == []
        res = self.run.results()
        assert [r["step"] for r in res] == list(range(1, len(self.sc.steps) + 1))
        for r in res:
            assert set(r) == RESULT_KEYS, r

    # -- accessors -------------------------------------------------------------------
    @property
    def kernel(self):
        return self.run.kernel

    @property
    def doc(self):
        return self.run.kernel.root

    def results(self):
        return self.run.results()

    def res(self, step):
        """The RESULT of step number `step` (1-based)."""
        return self.run.results()[step - 1]

    def pid(self, name):
        if name == "init":
            return 1
        if name == "swapper":
            return 0
        return self.run.state["names"][name]

    def proc(self, name):
        """The process dict of a name (None once reaped)."""
        return self.doc["procs"].get(str(self.pid(name)))

    def ppid(self, name):
        return self.proc(name)["ppid"]

    def children(self, name):
        return list(self.proc(name)["children"])

    def state(self, name):
        p = self.proc(name)
        return None if p is None else p["state"]

    def flags(self, name):
        return set(self.proc(name)["flags"])

    def tids(self, name):
        return sorted(int(t) for t in self.proc(name)["lwps"])

    def node(self, nid):
        return self.doc["reapers"].get(str(nid))

    def events_of(self, kind):
        return [ev for ev in self.events if ev["kind"] == kind]

    def step_events(self, step):
        return [ev for ev in self.events if ev["step"] == step]


def story(steps, kernel="reaper", limits=None, header="", trace=False):
    return Story(steps, kernel, limits, header, trace)


def bad_input(text, filename="<bad>"):
    """Run text that must be refused: returns the ScenarioError (line, message)."""
    try:
        run_text(text, filename)
    except ScenarioError as e:
        return e
    raise AssertionError("expected bad input, but the scenario ran")


# ---------------------------------------------------------------------- engine API
class Api:
    """The engine driven directly: a Kernel, syscalls started with `start_syscall`, and
    kernel work run to quiescence with `step` (what the auto schedule does)."""

    def __init__(self, profile="reaper", **kw):
        self.k = Kernel(profile, **kw)
        self.nstep = 0
        self.events = []

    def call(self, actor, call, /, tid=None, **args):
        """Start syscall `call` for LWP (actor, tid) (tid: its lowest live one) and run
        everything to quiescence.  Returns the RESULT recorded for it (None while it is
        still blocked)."""
        k = self.k
        if tid is None:
            tid = k.live_tids(k.proc(actor))[0]
        self.nstep += 1
        n = self.nstep
        evs = list(k.start_syscall((actor, tid), n, call, **args))
        while True:
            more = k.step()
            if more is None:
                break
            evs.extend(more)
        self.events.extend(evs)
        for ev in evs:
            assert not ev.get("violation"), ev["violation"]
        for ev in evs:
            r = ev.get("result")
            if r is not None and r["step"] == n:
                return r
        return None

    def fork(self, pid, name):
        from ptree.engine.constants import FORK_FLAGS
        r = self.call(pid, "fork1", flags=FORK_FLAGS, name=name)
        return r["ret"]

    def proc(self, pid):
        return self.k.proc(pid)


# ---------------------------------------------------------------------- choice mode
def explore(steps, kernel="reaper", on_transition=None, limit=20_000):
    """Every interleaving (choice mode) of a small story, each distinct state expanded
    once.  Asserts that no choice raises and no event reports a violated invariant;
    `on_transition(before_doc, after_doc, label)` may assert more.  Returns (states,
    transitions, terminal runs' RESULT lists)."""
    run = Run(parse_scenario(scenario(steps, kernel=kernel), "<explore>"), interactive=True,
              checkpoint_every=1 << 60)
    seen = {run.state_key()}
    frontier = [run.save()]
    transitions, finals = 0, []
    while frontier:
        blob = frontier.pop()
        run.load(blob)
        choices = run.choices()
        if not choices:
            finals.append(run.results())
        for choice in choices:
            run.load(blob)
            trace = run.state["trace"] + [choice["label"]]
            before = copy.deepcopy(run.kernel.root) if on_transition else None
            try:
                events = run.choose(choice)
            except Exception as e:              # noqa: BLE001 - the trace is the report
                raise AssertionError(f"{e!r} after: {' / '.join(trace)}") from e
            transitions += 1
            for ev in events:
                assert not ev["violation"], f"{ev['violation']} after: {' / '.join(trace)}"
            if on_transition:
                on_transition(before, run.kernel.root, choice["label"])
            key = run.state_key()
            if key not in seen:
                seen.add(key)
                assert len(seen) <= limit, "too many states for a test"
                frontier.append(run.save())
    return len(seen), transitions, finals


# ---------------------------------------------------------------------- the CLI
def cli(*args, cwd=None, timeout=120):
    """Run `python -m ptree ARGS` as a subprocess: CompletedProcess (text)."""
    return subprocess.run([sys.executable, "-m", "ptree", *map(str, args)],
                          cwd=cwd or REPO, capture_output=True, text=True, timeout=timeout)


def command_ends(timeline):
    """Where each scripted command's work is over (docs/protocol.md "Step sizes"): before
    the first event of every step whose index is higher than all before it, so kernel
    work and a woken wait4 belong to the command that made them run; the end last."""
    ends, highest = [], 0
    for ev in timeline.events:
        if ev["step"] is not None and ev["step"] > highest:
            if highest:
                ends.append(ev["seq"] - 1)
            highest = ev["step"]
    return ends + [timeline.total]


def short_lives(steps):
    """A valid scenario text of `steps` steps (a multiple of 3): init forks a child, it
    exits, init reaps it, over and over (the server tests' long run; bench/server.py
    writes the same fan at 200,000 steps)."""
    lines = [f"title: {steps} steps of short lives", "kernel: reaper", "steps:"]
    for i in range(steps // 3):
        lines += [f"  - init: fork c{i}", f"  - c{i}: exit {i % 5}", f"  - init: wait4 c{i}"]
    return "\n".join(lines) + "\n"


def receive_until(client, done, seconds=60):
    """Every message a Socket.IO test client gets until done(messages) holds: a bounded
    poll on their arrival (the server's own threads deliver them), failing past `seconds`."""
    got = []
    deadline = time.monotonic() + seconds
    pause = threading.Event()          # never set: waiting on it lets the server's threads run
    while not done(got):
        assert time.monotonic() < deadline, f"gave up waiting; got {[m['name'] for m in got]}"
        got += client.get_received()
        pause.wait(0.01)
    return got
