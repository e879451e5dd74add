"""`ptree explore`: every interleaving of a scenario's threads and kernel work.

A breadth-first search over the choice points of an interactive run, with state hashing
so that each distinct state is expanded once.  Breadth-first order makes the first trace
found to a violation a shortest one; it is written back as a `schedule: choice` scenario
that `ptree run` replays to the violation.

The search goes level by level: a level's states are *expanded* (every choice taken from
each, the successor's key and saved state computed) and the results *admitted* in the
frontier's order (is the successor new, a violation, over a budget).  Expanding is the
costly part and needs nothing but the parent state, so with `jobs > 1` worker processes
expand slices of the level while this process admits them in the same order: the same
states, transitions and violations as one job.

Three budgets stop a search, each cleanly with `complete = False` and `stopped` naming
it: `max_states` distinct states, `max_memory` bytes held by the search (its state table
and frontier, as the search counts them, so that the stop is reproducible), and the
caller's `progress` callback answering truthy ("cancelled").  The engine reads no clock:
callers compute rates.
"""

import multiprocessing
import os
from dataclasses import dataclass, field

from .doc import UndoDoc
from .runner import Run, collector_paused
from .scenario import dump_scenario, make_step, new_scenario

PROGRESS_EVERY = 1_000      # new states between two progress reports (the API's bound)
ENTRY_BYTES = 200           # the state table's cost per state: a key, a parent link, a slot
CHUNK = 64                  # states per task handed to a worker


@dataclass
class Violation:
    invariant: str
    message: str
    trace: list                 # the labels of the actions, from boot

    def scenario_text(self, scenario):
        sc = new_scenario(scenario.kernel, scenario.race, scenario.limits,
                          title=f"Shortest trace to: {self.invariant}",
                          description=self.message, schedule="choice")
        for i, label in enumerate(self.trace, 1):
            actor, _, command = label.partition(": ")
            sc.steps.append(make_step(i, actor, command, schedule="choice"))
        return dump_scenario(sc)


@dataclass
class Exploration:
    states: int = 0
    transitions: int = 0
    complete: bool = True
    max_states: int = 0
    violations: list = field(default_factory=list)
    terminal: int = 0           # states where nothing can run any more
    stopped: str = None         # None, "max_states", "max_memory" or "cancelled"
    depth: int = 0              # the deepest BFS level reached
    max_memory: int = None
    memory: int = 0             # bytes the search held at its largest (its own count)
    jobs: int = 1


class Expander:
    """Takes every choice from a saved state: one Run, loaded once per state and taken
    back (doc.UndoDoc) between two choices.

    `seen` holds the keys this expander has already produced: a successor known from
    before is not saved again (saving is a third of a transition's cost).  The admitting
    side has every such key already, since expansions reach it in the order they were
    made, unless it dropped the key past max_states, where it drops this one too."""

    def __init__(self, scenario, seen=None):
        self.run = Run(scenario, interactive=True, record=False)
        self.run.kernel.doc_class = UndoDoc
        self.seen = set() if seen is None else seen

    def root(self):
        return self.run.state_key(), self.run.save()

    def expand(self, blob):
        """[(label, child key, child blob or None, violations)] for each choice, in
        choices() order; a violating successor is not saved (it is not expanded)."""
        run = self.run
        run.load(blob)
        run.mark()
        out = []
        for i, choice in enumerate(run.choices()):
            if i:
                run.undo()
            events = run.choose(choice)
            bad = [v for ev in events if ev["violations"] for v in ev["violations"]]
            key = run.state_key()
            if bad or key in self.seen:
                out.append((choice["label"], key, None, bad))
            else:
                self.seen.add(key)
                out.append((choice["label"], key, run.save(), bad))
        return out


class _Known:
    """The admitting side's own state table as an expander's `seen` (one job: no second
    copy of the keys).  Its keys are added by the admitting side."""

    def __init__(self, table):
        self.table = table

    def __contains__(self, key):
        return key in self.table

    def add(self, key):
        pass


_worker = None


def _worker_init(scenario):
    global _worker
    _worker = Expander(scenario)


def _worker_expand(blobs):
    with collector_paused():
        return [_worker.expand(b) for b in blobs]


def explore(scenario, max_states=100_000, *, max_memory=None, jobs=1, progress=None):
    """Explore every interleaving of `scenario` (run interactively), up to max_states
    distinct states and max_memory bytes; `jobs` worker processes expand each level
    (0 or None: one per core).  States that violate an invariant are recorded, not
    expanded.  `progress(dict)` is called at least every PROGRESS_EVERY new states and
    once at the end; a truthy answer cancels the search."""
    jobs = jobs or os.cpu_count() or 1
    result = Exploration(max_states=max_states, max_memory=max_memory, jobs=jobs)
    search = _Search(result, progress)
    local = Expander(scenario, seen=_Known(search.parent))
    root, blob = local.root()
    search.parent[root] = None
    level = [(root, blob)]
    pool = None
    try:
        with collector_paused():
            if jobs > 1:
                ctx = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
                pool = ctx.Pool(jobs, _worker_init, (scenario,))
            # Past max_states the admitted frontier is still expanded (its successors
            # may be known states or violations); the other two limits stop at once.
            while level and search.stopped in (None, "max_states"):
                result.depth = search.depth
                level = search.level(level, _expansions(level, local, pool))
                search.depth += 1
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
    return search.finish()


def _expansions(level, local, pool):
    """Each state's expansion, in the level's order."""
    if pool is None or len(level) < 2 * CHUNK:      # not worth a round trip
        for _, blob in level:
            yield local.expand(blob)
        return
    chunks = [[b for _, b in level[i:i + CHUNK]] for i in range(0, len(level), CHUNK)]
    for part in pool.imap(_worker_expand, chunks):
        yield from part


class _Search:
    """The admitting side: the state table, the budgets and the violations found."""

    def __init__(self, result, progress):
        self.result = result
        self.progress = progress
        self.parent = {}
        self.found = {}
        self.stopped = None
        self.depth = 0
        self.reported = 0
        self.held = 0           # bytes of saved states waiting to be expanded
        self.frontier = 0       # how many there are

    def level(self, level, expansions):
        """Admit the successors of one level; returns the next level."""
        result, parent = self.result, self.parent
        nxt = []
        self.held = sum(len(b) for _, b in level)
        if self.memory():
            return []
        for i, ((key, blob), succ) in enumerate(zip(level, expansions, strict=True)):
            self.frontier = len(level) - i - 1 + len(nxt)
            self.held -= len(blob)
            if not succ:
                result.terminal += 1
            for label, child, blob, bad in succ:
                result.transitions += 1
                if child not in parent:
                    parent[child] = (key, label)
                    self._new_state()
                if bad:
                    self._violations(bad, key, label)
                    continue
                if parent[child] != (key, label):
                    continue
                if len(parent) > result.max_states:
                    result.complete = False
                    self.stopped = self.stopped or "max_states"
                    del parent[child]
                    continue
                assert blob is not None, "a new state came without its saved run"
                nxt.append((child, blob))
                self.held += len(blob)
                if self.memory():
                    return []
            if self.stopped == "cancelled":
                return []
        return nxt

    def _new_state(self):
        if len(self.parent) - self.reported >= PROGRESS_EVERY:
            self._report(len(self.parent))

    def _report(self, states, final=False):
        self.reported = states
        if self.progress is None:
            return
        answer = self.progress({"states": states, "transitions": self.result.transitions,
                                "depth": self.depth, "frontier": self.frontier})
        # A cancel also ends the expansion of an admitted frontier past max_states.
        if answer and not final and self.stopped in (None, "max_states"):
            self.stopped = "cancelled"
            self.result.complete = False

    def memory(self):
        """Count the search's memory; True (and stop) once over max_memory."""
        used = len(self.parent) * ENTRY_BYTES + self.held
        self.result.memory = max(self.result.memory, used)
        limit = self.result.max_memory
        if limit is not None and used > limit and self.stopped in (None, "max_states"):
            self.stopped = "max_memory"
            self.result.complete = False
            return True
        return False

    def _violations(self, bad, key, label):
        for v in bad:
            if v["invariant"] not in self.found:
                self.found[v["invariant"]] = Violation(
                    v["invariant"], v["message"], _trace(self.parent, key) + [label])

    def finish(self):
        result = self.result
        result.states = len(self.parent)
        result.violations = list(self.found.values())
        result.stopped = self.stopped
        if self.stopped != "cancelled":     # the caller asked to stop: no more calls
            self._report(result.states, final=True)
        return result


def _trace(parent, key):
    labels = []
    while parent[key] is not None:
        key, label = parent[key]
        labels.append(label)
    labels.reverse()
    return labels
