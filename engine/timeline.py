"""A whole run recorded for the explorer: every event with its patch, and the state
document at any position from doc checkpoints plus the recorded ops."""

import pickle

from .doc import apply_ops
from .runner import Run
from .scenario import ScenarioError


class Timeline:
    """Runs a scenario to its end (bounded by the engine's limits) and records it."""

    def __init__(self, scenario, checkpoint_every=256):
        self.scenario = scenario
        self.every = checkpoint_every
        self.run = Run(scenario)
        self.events = []
        self.error = None
        self._docs = {0: self._pickle_doc()}
        try:
            while True:
                ev = self.run.step()
                if ev is None:
                    break
                self.events.append(ev)
                if ev["seq"] % self.every == 0:
                    self._docs[ev["seq"]] = self._pickle_doc()
        except ScenarioError as e:
            self.error = e
        self.results = self.run.results()
        self.violations = [ev["seq"] for ev in self.events if ev["violation"]]

    def _pickle_doc(self):
        return pickle.dumps(self.run.kernel.root, pickle.HIGHEST_PROTOCOL)

    @property
    def total(self):
        return len(self.events)

    def doc_at(self, n):
        """A fresh copy of the state document after n events (0 = boot)."""
        n = max(0, min(n, self.total))
        base = (n // self.every) * self.every
        doc = pickle.loads(self._docs[base])
        for ev in self.events[base:n]:
            apply_ops(doc, ev["ops"])
        return doc
