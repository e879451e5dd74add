"""Why an edge exists: reparent reasons derived from the events' ops, for the edge labels.

The state document says who a process's parent is, not why.  The view labels an edge that
is not a plain fork (an orphan adopted by init or a sub-reaper, an RFNOWAIT child, a zombie
handed over because its parent ignores SIGCHLD); the reason is read once per Timeline from
each event's ops, so a position's labels cost a lookup, not a replay.
"""

import bisect
import re

_PROC_PPID = re.compile(r"^/procs/(\d+)/ppid$")
_PROC_ADD = re.compile(r"^/procs/(\d+)$")


def actor_pid(event):
    """The pid of an event's actor ("7/0" -> 7), or None for kernel work."""
    actor = str(event.get("actor") or "")
    head = actor.split("/", 1)[0]
    return int(head) if head.isdigit() else None


def reparent_reason(event, pid, new_ppid):
    """A short label for why `pid` now has parent `new_ppid` after `event`."""
    summary = (event.get("summary") or "").lower()
    if pid == actor_pid(event):
        # exit1 hands the exiting process itself over: its parent ignores SIGCHLD.
        if "cldsigign" in summary or "ignore" in summary:
            return "SIGCHLD ignored"
        return "NOCLDWAIT"
    if "ptrace" in summary or "oppid" in summary:
        return "back from ptrace"
    return "orphan → init" if new_ppid == 1 else "orphan → sub-reaper"


def event_reparents(event):
    """[(pid, reason)] for every process whose parent this event set other than by a plain fork."""
    out = []
    for op in event.get("ops") or ():
        path = op.get("path", "")
        m = _PROC_PPID.match(path)
        if m and op.get("op") in ("replace", "add"):
            pid = int(m.group(1))
            out.append((pid, reparent_reason(event, pid, op.get("value"))))
            continue
        m = _PROC_ADD.match(path)
        if m and op.get("op") == "add" and isinstance(op.get("value"), dict):
            # A new process whose parent is not the forking actor: fork1 with RFNOWAIT.
            ppid = op["value"].get("ppid")
            actor = actor_pid(event)
            if actor is not None and ppid is not None and ppid != actor:
                out.append((int(m.group(1)), "RFNOWAIT"))
    return out


class Annotations:
    """Edge reasons per pid over a Timeline's events, indexed by seq."""

    def __init__(self, timeline):
        self.by_seq = {}       # seq -> [(pid, reason)]
        self.history = {}      # pid -> ([seq...], [reason...]) in seq order
        for ev in timeline.events:
            found = event_reparents(ev)
            if found:
                self.by_seq[ev["seq"]] = found
                for pid, reason in found:
                    seqs, reasons = self.history.setdefault(pid, ([], []))
                    seqs.append(ev["seq"])
                    reasons.append(reason)

    def reason_at(self, pid, n):
        """The label of pid's edge after n events, or None (a plain fork edge)."""
        seqs, reasons = self.history.get(pid, ((), ()))
        i = bisect.bisect_right(seqs, n)
        return reasons[i - 1] if i else None

    def edges_at(self, n):
        """{pid: reason} for every labelled edge after n events (a snapshot's labels)."""
        out = {}
        for pid in self.history:
            reason = self.reason_at(pid, n)
            if reason is not None:
                out[str(pid)] = reason
        return out

    def edges_changed(self, seq, after):
        """{pid: reason or None} for the pids event `seq` reparents, as they read after
        `after` events (seq going forward, seq - 1 stepping back)."""
        return {str(pid): self.reason_at(pid, after) for pid, _ in self.by_seq.get(seq, ())}
