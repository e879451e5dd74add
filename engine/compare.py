"""Compare mode: the same scenario under `classic` and `reaper`, position by position.

The two runs give the same pids to the same forks (pids are handed out in order and
neither kernel reuses them), so processes are matched by pid; each difference names the
process and the field, for the view to highlight."""

from .timeline import Timeline

# What the tree shows.  `reaper` (always null in classic) and P_MAYBETHREADED (set by
# every 2014 lwp_fork, F000:735) differ at every step and would hide what matters.
FIELDS = ("ppid", "state", "nthreads", "flags", "blocked", "xstat")
SAME_IN_SPIRIT = {"P_MAYBETHREADED"}


def with_kernel(scenario, kernel):
    """A copy of scenario that runs under `kernel`."""
    from copy import copy
    sc = copy(scenario)
    sc.kernel = kernel
    return sc


def step_marks(timeline):
    """seq after which each scripted step (1-based) has started and all the kernel work it
    caused has run (in the auto schedule: the event before the next step starts): the
    positions where the two panes are in step."""
    first = {}
    for ev in timeline.events:
        if ev.get("step") is not None:
            first.setdefault(ev["step"], ev["seq"])
    steps = sorted(first)
    return {n: (first[steps[i + 1]] - 1 if i + 1 < len(steps) else timeline.total)
            for i, n in enumerate(steps)}


def diff_docs(a, b):
    """[{'pid', 'name', 'field', 'a', 'b'}] where two state documents differ."""
    out = []
    pa, pb = a["procs"], b["procs"]
    for pid in sorted(set(pa) | set(pb), key=int):
        x, y = pa.get(pid), pb.get(pid)
        if x is None or y is None:
            out.append({"pid": int(pid), "name": (x or y)["name"], "field": "exists",
                        "a": x is not None, "b": y is not None})
            continue
        for f in FIELDS:
            va, vb = x.get(f), y.get(f)
            if f == "flags":
                va = [g for g in va if g not in SAME_IN_SPIRIT]
                vb = [g for g in vb if g not in SAME_IN_SPIRIT]
            if va != vb:
                out.append({"pid": int(pid), "name": x["name"], "field": f, "a": va, "b": vb})
    return out


class Comparison:
    """Both runs of one scenario, recorded, with their differences after each step."""

    def __init__(self, scenario):
        self.runs = {}
        for kernel in ("classic", "reaper"):
            tl = Timeline(with_kernel(scenario, kernel))
            if tl.error is not None:
                raise tl.error
            self.runs[kernel] = tl
        self.marks = {k: step_marks(t) for k, t in self.runs.items()}
        self.steps = len(scenario.steps)

    def at_step(self, n):
        """(classic doc, reaper doc, differences) once the first n steps have run."""
        docs = []
        for kernel in ("classic", "reaper"):
            marks = self.marks[kernel]
            seq = max((s for k, s in marks.items() if k <= n), default=0)
            docs.append(self.runs[kernel].doc_at(seq))
        return docs[0], docs[1], diff_docs(docs[0], docs[1])

