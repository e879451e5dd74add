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


def explore(scenario, max_states=100_000):
    """Explore every interleaving of `scenario` (run interactively), up to max_states
    distinct states.  States that violate an invariant are recorded, not expanded."""
    run = Run(scenario, interactive=True, checkpoint_every=1 << 60)
    result = Exploration(max_states=max_states)
    root = run.state_key()
    parent = {root: None}
    frontier = deque([(root, run.save())])
    found = {}
    while frontier:
        key, blob = frontier.popleft()
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
                result.complete = False
                del parent[child]
                continue
            frontier.append((child, run.save()))
    result.states = len(parent)
    result.violations = list(found.values())
    return result


def _trace(parent, key):
    labels = []
    while parent[key] is not None:
        key, label = parent[key]
        labels.append(label)
    labels.reverse()
    return labels
