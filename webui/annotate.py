"""What the view shows beside the state document, read once per Timeline from the events'
structured fields (never from their prose): why an edge exists, and a process's p_xstat
in words.

The state document says who a process's parent is, not why; an event's `reparent` says
why (engine REPARENT_REASONS), and the edge gets a short label for it.  p_xstat is a raw
word whose meaning depends on the process's state (engine/waitstatus.py): the page is
sent its text, so it decodes nothing.  Both are kept as a history per pid indexed by seq,
so a position's labels cost a lookup, not a replay.
"""

import bisect
import re

from ptree.engine.waitstatus import xstat_text

_PROC_FIELD = re.compile(r"^/procs/(\d+)(?:/(state|xstat))?$")


def edge_label(reparent):
    """The edge label for an event's `reparent` record."""
    reason = reparent["reason"]
    if reason == "orphan":
        return "orphan → init" if reparent["to"] == 1 else "orphan → sub-reaper"
    return {"nocldwait": "NOCLDWAIT", "sigchld-ignored": "SIGCHLD ignored",
            "ptrace": "back from ptrace", "rfnowait": "RFNOWAIT"}[reason]


class _History:
    """pid -> values over seqs, with the value as of any position."""

    def __init__(self):
        self.by_seq = {}       # seq -> [pid]
        self.history = {}      # pid -> ([seq...], [value...]) in seq order

    def record(self, seq, pid, value):
        self.by_seq.setdefault(seq, []).append(pid)
        seqs, values = self.history.setdefault(pid, ([], []))
        seqs.append(seq)
        values.append(value)

    def at(self, pid, n):
        """pid's value after n events, or None."""
        seqs, values = self.history.get(pid, ((), ()))
        i = bisect.bisect_right(seqs, n)
        return values[i - 1] if i else None

    def all_at(self, n):
        """{pid: value} for every pid with a value after n events."""
        out = {}
        for pid in self.history:
            value = self.at(pid, n)
            if value is not None:
                out[str(pid)] = value
        return out

    def changed(self, seq, after):
        """{pid: value or None} for the pids event `seq` changed, as they read after
        `after` events (seq going forward, seq - 1 stepping back)."""
        return {str(pid): self.at(pid, after) for pid in self.by_seq.get(seq, ())}


class Annotations:
    """Edge reasons and xstat texts per pid over a Timeline's events, indexed by seq."""

    def __init__(self, timeline):
        self.edges = _History()
        self.xstat = _History()
        procs = {int(pid): [p["state"], p["xstat"]]      # followed through the ops
                 for pid, p in timeline.doc_at(0)["procs"].items()}
        for ev in timeline.events:
            rp = ev.get("reparent")
            if rp is not None:
                self.edges.record(ev["seq"], rp["pid"], edge_label(rp))
            self._follow_xstat(ev, procs)

    def _follow_xstat(self, ev, procs):
        """Follow state and xstat of each process through an event's ops; record the
        text of every one whose text changed."""
        touched = set()
        for op in ev["ops"]:
            m = _PROC_FIELD.match(op["path"])
            if m is None:
                continue
            pid, field = int(m.group(1)), m.group(2)
            if field is None:
                value = op.get("value")
                procs[pid] = ([value["state"], value["xstat"]] if op["op"] == "add"
                              and isinstance(value, dict) else None)
            elif procs.get(pid) is not None:
                procs[pid][0 if field == "state" else 1] = op.get("value")
            touched.add(pid)
        for pid in touched:
            cur = procs.get(pid)
            text = xstat_text(*cur) if cur is not None else ""
            if text != (self.xstat.at(pid, ev["seq"]) or ""):
                self.xstat.record(ev["seq"], pid, text)

    def edges_at(self, n):
        return self.edges.all_at(n)

    def edges_changed(self, seq, after):
        return self.edges.changed(seq, after)

    def xstat_at(self, n):
        return {pid: t for pid, t in self.xstat.all_at(n).items() if t}

    def xstat_changed(self, seq, after):
        return self.xstat.changed(seq, after)
