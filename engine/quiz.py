"""Quiz mode: questions drawn from a scenario's own run, with answers the model checks.

Three kinds:
- predict: the tree before a scripted step, the steps that led there, and the step's
  command; which tree comes out?  The wrong options are the trees that folklore predicts
  (orphans always to init, or to the old grandparent; no zombie stage; children dying with
  their parent; every descendant moved to the root, as OSTEP's fork.py does by default; a
  thread taken for a new process; a wait4 that never sleeps), when they differ from the
  truth.
- which: the trees before and after; which command was it?  The other options are the
  scenario's own commands run by processes alive there (nothing invented), each run on a
  copy of the kernel and kept only if its tree differs from the true one.
- final: every step of the scenario; which tree is left at the end?  The wrong options
  are the other kernel profile's final tree and the folklore trees.

Fairness (issue 16): a question is asked only when its before and after trees differ, the
options are distinct trees, answer positions come from a per-question RNG seeded by
(seed, scenario, step, kind), and every wrong option names the misconception it stands for.
A tree here is what the mini-tree draws: parent, state, exit status, sleep, the sub-reaper
badge and the LWP marks, so a step that only changes those (procctl acquire, a wait4 that
sleeps, lwp_create) is askable too.
"""

import dataclasses
import hashlib
import random

from .errors import EngineError
from .runner import Run
from .scenario import ScenarioError, make_step
from .waitstatus import xstat_text

KINDS = ("predict", "which", "final")
MAX_WRONG = 3
MAX_TRIES = 40      # commands a which question runs on copies to find its wrong options
LWP_KEYS = ("tid", "state", "exit", "blocked", "tdflags", "td_refs")


def tree(doc):
    """The tree a question shows: every process but proc0 with what the mini-tree draws
    (pid, name, ppid, state, exit status, sleep channel, owned reaper node, LWPs)."""
    owned = {r["owner"]: r for r in doc.get("reapers", {}).values()
             if r.get("owner") is not None}
    rows = []
    for p in sorted(doc["procs"].values(), key=lambda p: p["pid"]):
        if p["pid"] == 0:
            continue
        node = owned.get(p["pid"])
        rows.append({
            "pid": p["pid"], "name": p["name"], "ppid": p["ppid"], "state": p["state"],
            "xstat_text": xstat_text(p["state"], p["xstat"]), "blocked": p.get("blocked"),
            "reaper_node": {"id": node["id"], "refs": node["refs"]} if node else None,
            "lwps": {str(tid): {k: lwp.get(k) for k in LWP_KEYS}
                     for tid, lwp in (p.get("lwps") or {}).items()}})
    return rows


def lwp_word(lwp):
    """What an LWP mark says (static/nodes.js lwpWord), so trees that draw the same
    compare equal."""
    flags = lwp.get("tdflags") or []
    if lwp.get("exit") == "SWITCHED_OUT":
        word = "switched out"
    elif lwp.get("exit") == "EXITING":
        word = "TDF_EXITING on CPU" if "TDF_RUNNING" in flags else "TDF_EXITING preempted"
    elif lwp.get("exit") == "WEXIT":
        word = "exiting"
    elif lwp.get("state") == "LSSLEEP" or lwp.get("blocked"):
        word = f"asleep {lwp.get('blocked') or ''}".strip()
    elif lwp.get("state") == "LSSTOP":
        word = "stopped"
    else:
        word = "running"
    return f"{word} · refs {lwp['td_refs']}" if lwp.get("td_refs") else word


def tree_key(t):
    """What is drawn of a tree, hashable: two trees with one key look the same."""
    return tuple((n["pid"], n["name"], n["ppid"], n["state"], n.get("xstat_text"),
                  n.get("blocked"), (n.get("reaper_node") or {}).get("refs", -1),
                  tuple(sorted((int(t_), lwp_word(lwp))
                               for t_, lwp in (n.get("lwps") or {}).items())))
                 for n in t)


def _who(n):
    return f"{n['name']} ({n['pid']})"


def describe_change(before, after):
    """What happens between two trees, in short phrases ("b (4) becomes a zombie")."""
    old = {n["pid"]: n for n in before}
    new = {n["pid"]: n for n in after}
    names = {**{p: _who(n) for p, n in old.items()}, **{p: _who(n) for p, n in new.items()}}
    out = []
    for pid, n in new.items():
        b = old.get(pid)
        if b is None:
            out.append(f"{_who(n)} appears under {names.get(n['ppid'], n['ppid'])}")
            continue
        if b["ppid"] != n["ppid"]:
            out.append(f"{_who(n)} moves from {names.get(b['ppid'], b['ppid'])} "
                       f"to {names.get(n['ppid'], n['ppid'])}")
        if b["state"] != n["state"]:
            out.append(f"{_who(n)} becomes a zombie" if n["state"] == "SZOMB"
                       else f"{_who(n)} goes from {b['state']} to {n['state']}")
        if b.get("blocked") != n.get("blocked"):
            out.append(f"{_who(n)} sleeps in {n['blocked']}" if n.get("blocked")
                       else f"{_who(n)} wakes up")
        if bool(b.get("reaper_node")) != bool(n.get("reaper_node")):
            out.append(f"{_who(n)} becomes a sub-reaper" if n.get("reaper_node")
                       else f"{_who(n)} is no longer a sub-reaper")
        lb, ln = set(b.get("lwps") or {}), set(n.get("lwps") or {})
        if ln - lb:
            out.append(f"{_who(n)} gets LWP {', '.join(sorted(ln - lb, key=int))}")
        if lb - ln:
            out.append(f"{_who(n)} loses LWP {', '.join(sorted(lb - ln, key=int))}")
    out += [f"{names[pid]} is reaped (gone)" for pid in old if pid not in new]
    return out


def _phrases(before, after):
    said = describe_change(before, after)
    return "; ".join(said) if said else "nothing in the tree changes"


def scenario_digest(sc):
    """A short hash of what a scenario runs, so two scenarios shuffle differently."""
    text = "\n".join([sc.kernel, sc.race] + [f"{s.actor}: {s.command}" for s in sc.steps])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class Quiz:
    """Questions about a scenario (auto schedule).  `seed` (an int) fixes every answer
    position: the same seed, scenario, step and kind give the same question."""

    def __init__(self, scenario, seed=0):
        self.scenario = scenario
        self.seed = seed
        self.digest = scenario_digest(scenario)

    def rng(self, n, kind):
        """The RNG of one question: positions differ by scenario, step and kind."""
        return random.Random(f"{self.seed}:{self.digest}:{n}:{kind}")

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

    def history(self, n):
        """The scripted steps before step n, in order: everything the tree before step n
        depends on (a procctl acquire that decides where orphans go, the forks, the
        waits)."""
        return [f"{s.actor}: {s.command}" for s in self.scenario.steps[:n - 1]]

    def question(self, n, kind="predict"):
        """A question about step n, or None when none is fair there (the step leaves the
        tree as it was, or no wrong option differs from the truth).  A dict {'kind',
        'step', 'history', 'command' (predict), 'before', 'after' (which), 'options',
        'answer' (index of the true option), 'accept' (every index that is right),
        'misconceptions' (per option: None for the right one, else what it stands for)}.
        kind 'final' ignores n and asks about the whole scenario."""
        if kind == "final":
            return self.final_question()
        step = self.scenario.steps[n - 1]
        command = f"{step.actor}: {step.command}"
        run = self._before_step(n)
        before = tree(run.kernel.root)
        truth = self._after(run, step.actor, step.command)
        if truth is None or tree_key(truth) == tree_key(before):
            return None
        if kind == "predict":
            wrong = self._folklore(before, truth)
            q = {"kind": kind, "step": n, "history": self.history(n), "command": command,
                 "before": before}
        else:
            wrong = self._other_commands(run, step, before, truth)
            q = {"kind": kind, "step": n, "history": self.history(n), "before": before,
                 "after": truth}
        if not wrong:
            return None
        right = truth if kind == "predict" else command
        return dict(q, **self._place(n, kind, right, wrong))

    def _place(self, n, kind, right, wrong):
        """Options in a shuffled order: {'options', 'answer', 'accept', 'misconceptions'}.
        Where the right answer goes is dealt like a deck: each run of k consecutive steps
        (k options) gets the k positions in a seeded random order, so no position is
        favoured over a scenario even under a single seed; the wrong options fill the
        other places in a seeded random order."""
        k = len(wrong) + 1
        deck = list(range(k))
        random.Random(f"{self.seed}:{self.digest}:{kind}:{k}:{(n - 1) // k}").shuffle(deck)
        answer = deck[(n - 1) % k]
        rest = list(wrong)
        self.rng(n, kind).shuffle(rest)
        shown = rest[:answer] + [(right, None)] + rest[answer:]
        return {"options": [o for o, _ in shown], "answer": answer, "accept": [answer],
                "misconceptions": [m for _, m in shown]}

    # -- predict ---------------------------------------------------------------------------

    def _folklore(self, before, truth, limit=MAX_WRONG):
        """Wrong trees a student might expect, distinct from the truth and each other, as
        (tree, misconception) pairs."""
        by_before = {b["pid"]: b for b in before}
        names = {n["pid"]: _who(n) for n in before + truth}
        gone = set(by_before) - {n["pid"] for n in truth}
        zombies = [n for n in truth if n["state"] == "SZOMB"
                   and by_before.get(n["pid"], {}).get("state") != "SZOMB"]
        moved = [n for n in truth if n["pid"] in by_before
                 and by_before[n["pid"]]["ppid"] != n["ppid"]]
        new = [n for n in truth if n["pid"] not in by_before]
        candidates = []
        if zombies:
            dead = {z["pid"] for z in zombies}
            candidates.append((
                [dict(n, ppid=(1 if n["ppid"] in dead else n["ppid"]))
                 for n in truth if n["pid"] not in dead],
                "No zombie stage: an exiting process does not vanish at once; it stays a "
                "zombie (SZOMB) until its parent's wait4 reaps it."))
            candidates.append((
                [n for n in truth if n["ppid"] not in dead],
                "Children die with their parent: they do not; exit1 re-parents them to a "
                "reaper and they carry on."))
        if moved:
            target = {names.get(n["ppid"], n["ppid"]) for n in moved}
            candidates.append((
                [dict(n, ppid=1) if n in moved else n for n in truth],
                f"Orphans always go to init: here they go to {', '.join(sorted(target))}, "
                "the nearest process that made itself a reaper with procctl "
                "PROC_REAP_ACQUIRE."))
            grand = {n["pid"]: by_before.get(by_before[n["pid"]]["ppid"], {}).get("ppid")
                     for n in moved}
            candidates.append((
                [dict(n, ppid=grand[n["pid"]]) if grand.get(n["pid"]) is not None else n
                 for n in truth],
                "Orphans go to their grandparent: they go to the reaper (init, or the "
                "nearest sub-reaper), not to the dead parent's parent."))
        if zombies or gone:
            dead = {z["pid"] for z in zombies} | gone
            candidates.append((
                [dict(n, ppid=1) if self._descends(n["pid"], dead, before) else n
                 for n in truth],
                "Every descendant moves to the root (OSTEP fork.py's default): only the "
                "dead process's own children are re-parented; grandchildren keep their "
                "parents."))
        for n in truth:
            b = by_before.get(n["pid"])
            if b is None:
                continue
            extra = set(n.get("lwps") or {}) - set(b.get("lwps") or {})
            if extra and len(b.get("lwps") or {}) >= 1:
                fake = max(x["pid"] for x in truth) + 1
                candidates.append((
                    [dict(m, lwps=b["lwps"]) if m is n else m for m in truth]
                    + [{"pid": fake, "name": n["name"], "ppid": n["pid"], "state": "SACTIVE",
                        "xstat_text": None, "blocked": None, "reaper_node": None,
                        "lwps": {"0": {"tid": 0, "state": "LSRUN", "exit": None,
                                       "blocked": None, "tdflags": [], "td_refs": 0}}}],
                    "A thread is a new process: lwp_create adds an LWP to the same "
                    "process (same pid, one more thread mark), not a child."))
            if n.get("blocked") and not b.get("blocked"):
                candidates.append((
                    [dict(m, blocked=None) if m is n else m for m in truth],
                    f"The call returns at once: {_who(n)} sleeps in {n['blocked']} until "
                    "something wakes it (a wait4 with no child to reap yet sleeps)."))
        if new:
            candidates.append((
                [dict(n, ppid=1) if n in new else n for n in truth],
                "A new process hangs from init: fork makes a child of the caller."))
            for child in new:
                parent = next((m for m in truth if m["pid"] == child["ppid"]), None)
                if parent is None:
                    continue
                if not parent.get("blocked"):
                    candidates.append((
                        [dict(m, blocked="ppwait") if m is parent else m for m in truth],
                        f"The parent waits for its child: after fork both {_who(parent)} and "
                        f"{_who(child)} run; only vfork (RFPPWAIT) makes the parent sleep in "
                        "ppwait until the child execs or exits."))
                if len(parent.get("lwps") or {}) > 1 and len(child.get("lwps") or {}) == 1:
                    candidates.append((
                        [dict(m, lwps=parent["lwps"]) if m is child else m for m in truth],
                        f"fork copies every thread: {_who(child)} gets one LWP, a copy of the "
                        "one that called fork."))
            # (with the badges' counts as before: the child's reference is not there)
            candidates.append((
                [dict(n, reaper_node=by_before[n["pid"]]["reaper_node"]) for n in truth
                 if n not in new],
                "Nothing is created: the call makes a new process, the caller's child."))
        candidates.append((before, f"Nothing changes: in fact {_phrases(before, truth)}."))
        seen = {tree_key(truth)}
        out = []
        for c, why in candidates:
            if tree_key(c) not in seen:
                seen.add(tree_key(c))
                out.append((c, why))
        return out[:limit]

    @staticmethod
    def _descends(pid, ancestors, before):
        parent = {n["pid"]: n["ppid"] for n in before}
        p = parent.get(pid)
        while p is not None and p > 1:
            if p in ancestors:
                return True
            p = parent.get(p)
        return False

    # -- which -----------------------------------------------------------------------------

    def _other_commands(self, run, step, before, truth):
        """Up to three other commands that could run at this point: the true command by
        another process, then the scenario's other commands by the actor and by the
        others; each run on a copy and kept only if its tree differs from the truth and
        from the options already taken.  (actor: command, misconception) pairs."""
        k = run.kernel
        actors = [p["name"] for p in sorted(k.root["procs"].values(), key=lambda p: p["pid"])
                  if p["pid"] != 0 and p["state"] == "SACTIVE"]
        commands = list(dict.fromkeys(s.command for s in self.scenario.steps))
        me = step.actor.split(".")[0]
        pools = ([(a, step.command) for a in actors if a != me],
                 [(step.actor, c) for c in commands if c != step.command],
                 [(a, c) for a in actors if a != me for c in commands if c != step.command])
        rng = self.rng(step.index, "which-pool")
        seen = {tree_key(truth)}
        out = []
        said_truth = _phrases(before, truth)
        tries = 0
        for tier, pool in enumerate(pools):
            pool = list(pool)
            rng.shuffle(pool)
            for actor, command in pool:
                if len(out) == MAX_WRONG or tries == MAX_TRIES:
                    return out
                if actor == "init" and command.startswith("exit"):
                    continue
                tries += 1
                t = self._after(run, actor, command)
                if t is None or tree_key(t) in seen:
                    continue
                seen.add(tree_key(t))
                what = ("Mixing up who made the call" if tier == 0 else
                        "Mixing up which call it was" if tier == 1 else
                        "Mixing up both the caller and the call")
                out.append((f"{actor}: {command}",
                            f"{what}: “{actor}: {command}” would mean {_phrases(before, t)}; "
                            f"the after tree shows {said_truth}."))
        return out

    # -- final -----------------------------------------------------------------------------

    def _run_to_end(self, sc):
        run = Run(sc, check=False)
        firsts = {}
        while run.step() is not None:
            for n in tree(run.kernel.root):
                firsts.setdefault(n["pid"], n)
        return run, firsts

    def final_question(self):
        """Every step of the scenario; which tree is left at the end?  None when the
        scenario ends where it began."""
        sc = self.scenario
        start = tree(Run(sc, check=False).kernel.root)
        run, firsts = self._run_to_end(sc)
        truth = tree(run.kernel.root)
        if tree_key(truth) == tree_key(start):
            return None
        wrong = []
        other = "classic" if sc.kernel == "reaper" else "reaper"
        try:
            alt = tree(self._run_to_end(dataclasses.replace(sc, kernel=other))[0].kernel.root)
        except (ScenarioError, EngineError):
            alt = None
        if alt is not None and tree_key(alt) != tree_key(truth):
            wrong.append((alt, {
                "classic": "The 2008-2011 kernel's answer: without procctl sub-reapers "
                           "(ENOSYS there) every orphan goes to init.",
                "reaper": "The 2014 kernel's answer: there a process can be a sub-reaper "
                          "and adopt its descendants' orphans."}[other]))
        # Each process as it was first seen: the tree if no exit, wait or reaper moved it.
        forked = [dict(n, state="SACTIVE", blocked=None, xstat_text=None)
                  for _, n in sorted(firsts.items())]
        seen = {tree_key(t) for t, _ in wrong}
        for t, why in self._folklore(forked, truth, limit=MAX_WRONG + 2):
            if tree_key(t) not in seen and len(wrong) < MAX_WRONG:
                seen.add(tree_key(t))
                if t is forked:
                    why = ("Only the forks count: exits, waits and re-parenting change the "
                           "tree too.")
                wrong.append((t, why))
        if not wrong:
            return None
        place = self._place(len(sc.steps), "final", truth, wrong)
        return dict({"kind": "final", "step": len(sc.steps), "history": self.history(
            len(sc.steps) + 1), "before": start}, **place)


# -- fairness statistics (bench/quiz.py, tests/test_quiz.py) ---------------------------------

def invented_options(q, scenario):
    """The options of a which question that the scenario could not have run: a command
    that is none of its steps' commands, or an actor that is no live process there."""
    commands = {s.command for s in scenario.steps}
    alive = {n["name"] for n in q["before"] if n["state"] == "SACTIVE"}
    step = scenario.steps[q["step"] - 1]
    out = []
    for opt in q["options"]:
        actor, command = opt.split(": ", 1)
        if command not in commands or (actor not in alive and actor != step.actor):
            out.append(opt)
    return out


def questions(scenario, seed=0):
    """Every question the quiz can ask about a scenario: each step's predict and which
    question (when fair) and the final-tree one."""
    quiz = Quiz(scenario, seed=seed)
    for n in range(1, len(scenario.steps) + 1):
        for kind in ("predict", "which"):
            q = quiz.question(n, kind)
            if q is not None:
                yield q
    q = quiz.final_question()
    if q is not None:
        yield q


def statistics(scenarios, seeds=(0,)):
    """What makes a quiz fair, counted over every question of `scenarios` (name ->
    Scenario) under each seed: invented options, questions whose before and after trees
    draw the same, duplicate options, and where the right answer sits, by option count."""
    stats = {"scenarios": len(scenarios), "seeds": list(seeds), "questions": 0,
             "by_kind": {}, "invented_options": 0, "identical_trees": 0,
             "duplicate_options": 0, "misconception_missing": 0, "positions": {}}
    for seed in seeds:
        for _, sc in sorted(scenarios.items()):
            for q in questions(sc, seed):
                stats["questions"] += 1
                stats["by_kind"][q["kind"]] = stats["by_kind"].get(q["kind"], 0) + 1
                if q["kind"] == "which":
                    stats["invented_options"] += len(invented_options(q, sc))
                    after = q["after"]
                else:
                    after = q["options"][q["answer"]]
                if q["kind"] != "final" and tree_key(q["before"]) == tree_key(after):
                    stats["identical_trees"] += 1
                keys = [o if q["kind"] == "which" else tree_key(o) for o in q["options"]]
                stats["duplicate_options"] += len(keys) - len(set(keys))
                stats["misconception_missing"] += sum(
                    1 for i, m in enumerate(q["misconceptions"]) if i != q["answer"] and not m)
                row = stats["positions"].setdefault(str(len(q["options"])),
                                                    [0] * len(q["options"]))
                row[q["answer"]] += 1
    stats["position_share"] = {k: [round(c / sum(row), 3) for c in row]
                               for k, row in sorted(stats["positions"].items())}
    return stats
