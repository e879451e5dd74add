"""`ptree explore`: every interleaving of a scenario's threads and kernel work.

A breadth-first search over the choice points of an interactive run, with state hashing
so that each distinct state is expanded once.  Breadth-first order makes the first trace
found to a violation a shortest one; it is written back as a `schedule: choice` scenario
that `ptree run` replays to the violation.
"""

from collections import deque
from dataclasses import dataclass, field

from .runner import Run
from .scenario import dump_scenario, make_step, new_scenario


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
    stopped: str = None         # why it stopped early: "max_states", "cancelled"; None if complete
    depth: int = 0              # the deepest breadth-first level reached


PROGRESS_EVERY = 1_000          # new states between two progress calls


def explore(scenario, max_states=100_000, *, progress=None):
    """Explore every interleaving of `scenario` (run interactively), up to max_states
    distinct states.  States that violate an invariant are recorded, not expanded.

    progress: called with {states, transitions, depth, frontier} at least every
    PROGRESS_EVERY new states and once at the end; a truthy answer stops the search
    (complete False, stopped "cancelled")."""
    run = Run(scenario, interactive=True, checkpoint_every=1 << 60)
    result = Exploration(max_states=max_states)
    root = run.state_key()
    parent = {root: None}
    frontier = deque([(root, run.save(), 0)])
    found = {}
    reported = 0
    while frontier:
        if progress is not None and len(parent) - reported >= PROGRESS_EVERY:
            reported = len(parent)
            if _report(progress, result, parent, frontier):
                result.complete, result.stopped = False, "cancelled"
                break
        key, blob, depth = frontier.popleft()
        result.depth = max(result.depth, depth)
        run.load(blob)
        choices = run.choices()
        if not choices:
            result.terminal += 1
        for i, choice in enumerate(choices):
            if i:
                run.load(blob)
            events = run.choose(choice)
            result.transitions += 1
            child = run.state_key()
            if child not in parent:
                parent[child] = (key, choice["label"])
            bad = [v for ev in events if ev["violations"] for v in ev["violations"]]
            if bad:
                for v in bad:
                    if v["invariant"] not in found:
                        found[v["invariant"]] = Violation(
                            v["invariant"], v["message"],
                            _trace(parent, key) + [choice["label"]])
                continue
            if child in parent and parent[child] != (key, choice["label"]):
                continue
            if len(parent) > max_states:
                result.complete, result.stopped = False, "max_states"
                del parent[child]
                continue
            frontier.append((child, run.save(), depth + 1))
    result.states = len(parent)
    result.violations = list(found.values())
    if progress is not None and result.stopped != "cancelled":
        _report(progress, result, parent, frontier)
    return result


def _report(progress, result, parent, frontier):
    """One progress call; its answer (truthy: cancel)."""
    return progress({"states": len(parent), "transitions": result.transitions,
                     "depth": result.depth, "frontier": len(frontier)})


def _trace(parent, key):
    labels = []
    while parent[key] is not None:
        key, label = parent[key]
        labels.append(label)
    labels.reverse()
    return labels
