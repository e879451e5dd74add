"""A whole run recorded for the explorer: every event with its patch, and the state
document at any position from doc checkpoints plus the recorded ops."""

import pickle

from .doc import apply_ops
from .runner import Run
from .scenario import ScenarioError


class Timeline:
    """Runs a scenario to its end (bounded by the engine's limits) and records it."""

    def __init__(self, scenario, checkpoint_every=256, progress=None):
        """progress(events, step), if given, is called at every checkpoint: how far a
        long run has got (the server shows it while it opens a big scenario)."""
        self.scenario = scenario
        self.every = checkpoint_every
        self.run = Run(scenario, checkpoint_every=1 << 60)   # doc checkpoints suffice here
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
                    if progress is not None:
                        progress(ev["seq"], ev["step"])
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


class ChoiceTimeline:
    """An interactive (choice mode) run for the explorer: at the end of the recorded
    events the caller picks the next action among `choices()`; any earlier position can
    be viewed, and choosing there drops the later events (a new branch).

    `trace` is the list of action labels taken, which is what a URL or an exported
    `schedule: choice` file records; a ChoiceTimeline built with a trace replays it."""

    def __init__(self, scenario, trace=(), checkpoint_every=64):
        self.scenario = scenario
        self.every = checkpoint_every
        self.run = Run(scenario, interactive=True)
        self.events = []
        self.trace = []
        self.error = None
        self._runs = {0: self.run.save()}          # run state after k choices
        self._docs = {0: pickle.dumps(self.run.kernel.root, pickle.HIGHEST_PROTOCOL)}
        self._after = [0]                          # events recorded after k choices
        for label in trace:
            self.choose(label)

    @property
    def total(self):
        return len(self.events)

    def choices(self):
        """[{'label', 'kind'}] of what may run next, at the end of the recorded run."""
        return [{"label": c["label"], "kind": c["kind"]} for c in self.run.choices()]

    def choose(self, label):
        """Take the action named `label`; returns its events (an event and, if an
        invariant broke, the violation event).  Raises EngineError if it cannot run."""
        evs = self.run.choose(label)
        for ev in evs:
            self.events.append(ev)
            if ev["seq"] % self.every == 0:
                self._docs[ev["seq"]] = pickle.dumps(self.run.kernel.root,
                                                     pickle.HIGHEST_PROTOCOL)
        self.trace.append(label)
        self._after.append(len(self.events))
        self._runs[len(self.trace)] = self.run.save()
        return evs

    def truncate(self, nchoices):
        """Drop every choice after the first `nchoices` (to branch from there)."""
        nchoices = max(0, min(nchoices, len(self.trace)))
        self.run.load(self._runs[nchoices])
        del self.trace[nchoices:]
        del self._after[nchoices + 1:]
        del self.events[self._after[-1]:]
        for k in [k for k in self._runs if k > nchoices]:
            del self._runs[k]
        for s in [s for s in self._docs if s > self.total]:
            del self._docs[s]

    @property
    def violations(self):
        return [ev["seq"] for ev in self.events if ev["violation"]]

    def results(self):
        return self.run.results()

    def export_text(self):
        return self.run.export_text()

    def doc_at(self, n):
        """A fresh copy of the state document after n events (0 = boot)."""
        n = max(0, min(n, self.total))
        base = max(s for s in self._docs if s <= n)
        doc = pickle.loads(self._docs[base])
        for ev in self.events[base:n]:
            apply_ops(doc, ev["ops"])
        return doc
