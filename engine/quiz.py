"""Quiz mode: questions drawn from a scenario's own run, with answers the model checks.

Two kinds, at each scripted step:
- predict: the tree before a command and the command; which tree comes out?  The wrong
  options are the trees that folklore predicts (orphans always to init, or always to the
  caller's reaper; no zombie stage; children dying with their parent; every descendant
  moved to the root, as OSTEP's fork.py does by default), when they differ from the truth.
- which: the trees before and after; which command was it?  The other options are
  commands that could also have run there, each run on a copy of the kernel; any option
  giving the same tree is accepted too.
"""

import dataclasses
import random

from .errors import EngineError
from .runner import Run
from .scenario import ScenarioError, make_step

TREE_KEYS = ("pid", "name", "ppid", "state")


def tree(doc):
    """The tree a question shows: (pid, name, ppid, state) of every process but proc0."""
    return [{k: p[k] for k in TREE_KEYS} for key, p in sorted(
        doc["procs"].items(), key=lambda kv: int(kv[0])) if p["pid"] != 0]


def _key(t):
    return tuple((n["pid"], n["ppid"], n["state"]) for n in t)


class Quiz:
    """Questions for every scripted step of a scenario (auto schedule)."""

    def __init__(self, scenario, seed=0):
        self.scenario = scenario
        self.rng = random.Random(seed)

    def _before_step(self, n):
        """The run positioned just before step n (1-based) starts."""
        self.run = Run(self.scenario, check=False)
        while self.run.state["pos"] < n - 1 or self.run.kernel.priv["current"] \
                or self.run.kernel.priv["runq"] or self.run.state["pending"]:
            if self.run.step() is None:
                break
        return self.run

    def _after(self, run, actor, command):
        """The tree after `actor: command` and the kernel work it causes.  The quiz's own
        run takes it on a copy of the scenario (the shared one is never touched) and is
        put back where it was afterwards."""
        blob = run.save()
        shared = run.scenario
        try:
            step = make_step(run.state["pos"] + 1, actor, command)
            run.scenario = dataclasses.replace(
                shared, steps=shared.steps[:run.state["pos"]] + [step])
            while run.step() is not None:
                pass
            return tree(run.kernel.root)
        except (ScenarioError, EngineError):  # a command that cannot run there is no option
            return None
        finally:
            run.scenario = shared
            run.load(blob)

    def question(self, n, kind="predict"):
        """A question about step n: {'kind', 'step', 'command', 'before', 'options',
        'answer' (index of the true option), 'accept' (every index that is right)}."""
        step = self.scenario.steps[n - 1]
        run = self._before_step(n)
        before = tree(run.kernel.root)
        truth = self._after(run, step.actor, step.command)
        if kind == "predict":
            options = [truth] + self._folklore(run, before, truth)
        else:
            options = [f"{step.actor}: {step.command}"] + self._other_commands(run, step)
        order = list(range(len(options)))
        self.rng.shuffle(order)
        shown = [options[i] for i in order]
        answer = order.index(0)
        if kind == "predict":
            accept = [answer]
            return {"kind": kind, "step": n, "command": f"{step.actor}: {step.command}",
                    "before": before, "options": shown, "answer": answer, "accept": accept}
        truth_key = _key(truth)
        accept = [i for i, text in enumerate(shown)
                  if (t := self._after(run, *text.split(": ", 1))) is not None
                  and _key(t) == truth_key]
        return {"kind": kind, "step": n, "before": before, "after": truth, "options": shown,
                "answer": answer, "accept": accept}

    def _folklore(self, run, before, truth):
        """Wrong trees a student might expect, distinct from the truth and each other."""
        seen = {_key(truth)}
        out = []
        by_pid = {n["pid"]: n for n in truth}
        gone = {n["pid"] for n in before} - set(by_pid)
        zombies = [n for n in truth if n["state"] == "SZOMB"
                   and next((b for b in before if b["pid"] == n["pid"]), {}).get("state") != "SZOMB"]
        moved = [n for n in truth for b in before if b["pid"] == n["pid"]
                 and b["ppid"] != n["ppid"]]
        candidates = []
        if zombies:       # "the process just disappears" (no zombie stage)
            dead = {z["pid"] for z in zombies}
            candidates.append([dict(n, ppid=(1 if n["ppid"] in dead else n["ppid"]))
                               for n in truth if n["pid"] not in dead])
            # "its children die with it"
            candidates.append([n for n in truth if n["ppid"] not in dead])
        if moved:         # orphans to init, or to the old grandparent
            candidates.append([dict(n, ppid=1) if n in moved else n for n in truth])
            old = {b["pid"]: b["ppid"] for b in before}
            grand = {n["pid"]: old.get(old.get(n["pid"])) for n in moved}
            candidates.append([dict(n, ppid=grand[n["pid"]]) if n["pid"] in grand
                               and grand[n["pid"]] is not None else n for n in truth])
        if zombies or gone:    # OSTEP fork.py's default: every descendant to the root
            dead = {z["pid"] for z in zombies} | gone
            candidates.append([dict(n, ppid=1) if self._descends(n["pid"], dead, before)
                               else n for n in truth])
        # a fork, a wait...: the child elsewhere, or nothing changed at all
        new = [n for n in truth if n["pid"] not in {b["pid"] for b in before}]
        if new:
            candidates.append([dict(n, ppid=1) if n in new else n for n in truth])
            candidates.append([n for n in truth if n not in new])
        candidates.append(before)
        for c in candidates:
            if _key(c) not in seen:
                seen.add(_key(c))
                out.append(c)
        return out[:3]

    @staticmethod
    def _descends(pid, ancestors, before):
        parent = {n["pid"]: n["ppid"] for n in before}
        p = parent.get(pid)
        while p is not None and p > 1:
            if p in ancestors:
                return True
            p = parent.get(p)
        return False

    def _other_commands(self, run, step):
        """Up to three other commands that could run at this point, by other actors or
        with other arguments, each giving a different tree from the true one."""
        k = run.kernel
        actors = [p["name"] for p in k.root["procs"].values()
                  if p["pid"] != 0 and p["state"] == "SACTIVE"]
        pool = []
        for a in actors:
            pool += [(a, "exit 0"), (a, "wait4 any WNOHANG"), (a, "fork quiz"),
                     (a, "procctl acquire")]
        self.rng.shuffle(pool)
        truth = _key(self._after(run, step.actor, step.command) or [])
        out, seen = [], {truth}
        for actor, command in pool:
            if actor == "init" and command.startswith("exit"):
                continue
            t = self._after(run, actor, command)
            if t is not None and _key(t) not in seen:
                seen.add(_key(t))
                out.append(f"{actor}: {command}")
            if len(out) == 3:
                break
        return out
