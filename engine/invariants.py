"""The invariants of kernel-semantics section 9, checked after every event.

A problem is a record `{invariant, pid, tid, message}`: `invariant` a stable name (one of
INVARIANTS), `pid`/`tid` the process or LWP it is about (null when it is about no one),
`message` the sentence the log shows.  Readers use the fields, never the sentence.

`check_incremental` looks only at what the event touched (the processes and reaper nodes
in its patch) and counts references from the kernel's indexes, so it costs what the
event changed; `check_all` recounts everything from the state itself and is what the
tests compare against.
"""


INVARIANTS = (
    "nprocs-count", "reaped-off-deadlwps", "parent-exists", "child-listed-once",
    "children-match-parents", "nthreads-count", "zombie-nthreads", "zombie-owns-node",
    "has-reaper-node", "node-not-freed", "reaper-field", "node-refs", "node-owner-live",
    "freed-node-unreferenced", "use-after-free", "sleep-state-agrees", "stopped-lwp-runs",
)


def problem(invariant, message, pid=None, tid=None):
    """One broken invariant, as a record (see the module docstring)."""
    assert invariant in INVARIANTS, invariant
    return {"invariant": invariant, "pid": pid, "tid": tid, "message": message}


class InvariantOps:
    """Section 9, as checks that return a list of problems (empty when all hold)."""

    def check_incremental(self, touched, linked=()):
        """Check what an event touched; `linked` are the pids whose place in the tree
        changed, the only ones whose membership in a (possibly long) children list needs
        counting again."""
        problems = self._check_counts()
        procs = self.root["procs"]
        nodes = []
        for item in touched:
            if type(item) is tuple:
                if item[1] is not None:
                    nodes.append(item[1])
                continue
            p = procs.get(str(item))
            if p is None:
                problems.extend(self._check_reaped(item))
            else:
                problems.extend(self._check_proc(p, full=False, moved=item in linked))
        if self.profile == "reaper" and nodes:
            priv = self.priv
            for nid in set(nodes):
                n = self.node(nid)
                if n is not None:
                    counted = (len(priv["members"].get(nid, ())) + len(priv["nodekids"].get(nid, ()))
                               + ("REALINIT" in n["flags"]) + priv["exitholds"].get(nid, 0))
                    problems.extend(self._check_node(n, counted))
        problems.extend(self.priv.pop("uaf", []))
        return problems

    def check_all(self):
        """Every invariant over the whole state, counting references from scratch."""
        problems = self._check_counts()
        for p in self.root["procs"].values():
            problems.extend(self._check_proc(p, full=True, moved=True))
        if self.profile == "reaper":
            nodes = self.root["reapers"]
            counted = {int(k): 0 for k in nodes}
            for p in self.root["procs"].values():
                if p["node"] is not None:
                    counted[p["node"]] = counted.get(p["node"], 0) + 1
            for n in nodes.values():
                if n["parent"] is not None:
                    counted[n["parent"]] = counted.get(n["parent"], 0) + 1
                counted[n["id"]] += "REALINIT" in n["flags"]
            for frame in self.priv["frames"].values():
                if frame.get("reap") is not None:
                    counted[frame["reap"]] = counted.get(frame["reap"], 0) + 1
            for nid in counted:
                if str(nid) not in nodes:
                    problems.append(problem("freed-node-unreferenced",
                                            f"freed reaper node {nid} is still referenced"))
            for n in nodes.values():
                problems.extend(self._check_node(n, counted[n["id"]]))
        return problems

    def _check_counts(self):
        root = self.root
        if root["nprocs"] != len(root["procs"]):
            return [problem("nprocs-count", f"nprocs is {root['nprocs']} but "
                                            f"{len(root['procs'])} processes exist")]
        return []

    def _check_reaped(self, pid):
        """A reaped process appears nowhere, not even on the dead-LWP list."""
        if any(d["pid"] == pid for d in self.root["deadlwps"]):
            return [problem("reaped-off-deadlwps",
                            f"reaped pid {pid} is still on the dead-LWP list", pid)]
        return []

    def _check_proc(self, p, full, moved):
        problems = []
        pid = p["pid"]
        procs = self.root["procs"]
        if pid != 0 and moved:
            parent = procs.get(str(p["ppid"]))
            if parent is None:
                problems.append(problem("parent-exists",
                                        f"pid {pid}'s parent {p['ppid']} does not exist", pid))
            elif (times := self._times_listed(p["ppid"], pid, full)) != 1:
                problems.append(problem(
                    "child-listed-once", f"pid {pid} appears {times} "
                    f"times in its parent {p['ppid']}'s children", pid))
        if full:
            for c in p["children"]:
                child = procs.get(str(c))
                if child is None or child["ppid"] != pid:
                    problems.append(problem(
                        "children-match-parents",
                        f"pid {pid} lists child {c}, whose parent is not {pid}", pid))
        live = 0
        finished = True
        for lwp in p["lwps"].values():
            if lwp["exit"] is None:
                live += 1
            if lwp["exit"] != "SWITCHED_OUT":
                finished = False
        if p["nthreads"] != live:
            problems.append(problem(
                "nthreads-count", f"pid {pid}: nthreads {p['nthreads']} but {live} LWPs "
                "not exited", pid))
        if p["state"] == "SZOMB" and p["lwps"] and finished and p["nthreads"] != 0:
            problems.append(problem(
                "zombie-nthreads", f"zombie {pid} finished exiting with nthreads "
                f"{p['nthreads']}", pid))
        problems.extend(self._check_sleeps(p))
        if self.profile == "reaper" and pid != 0:
            problems.extend(self._check_proc_node(p))
        return problems

    def _times_listed(self, ppid, pid, full):
        """How often pid is in ppid's children: counted in the list (check_all) or read
        from the kernel's listing index (the incremental check)."""
        if full:
            return self.root["procs"][str(ppid)]["children"].count(pid)
        return self.priv["listed"].get((ppid, pid), 0)

    def _check_sleeps(self, p):
        """The document says what the kernel's sleep queues say: an LWP is LSSLEEP with
        `blocked` = its sleep exactly when its system call sleeps (frame wchan), and a
        process's `blocked` is its first blocked LWP's.  An LSRUN thread of a stopped
        process must be one that is about to run its kernel code (issue: a woken thread
        of a stopped process was left LSRUN, asleep in nothing, never to run)."""
        problems = []
        pid = p["pid"]
        frames = self.priv["frames"]
        first = None
        for t in sorted(p["lwps"], key=int):
            lwp = p["lwps"][t]
            key = (pid, int(t))
            frame = frames.get(key)
            wchan = frame.get("wchan") if frame is not None else None
            if lwp["blocked"] != wchan or (lwp["state"] == "LSSLEEP") != (wchan is not None):
                problems.append(problem(
                    "sleep-state-agrees", f"LWP {pid}.{t} is {lwp['state']} blocked "
                    f"{lwp['blocked']} but its call sleeps in {wchan}", pid, int(t)))
            if first is None and lwp["blocked"]:
                first = lwp["blocked"]
            if (p["state"] == "SSTOP" and lwp["state"] == "LSRUN" and lwp["exit"] is None
                    and key not in self.priv["runq"] and key != self.priv["current"]):
                problems.append(problem(
                    "stopped-lwp-runs", f"LWP {pid}.{t} of stopped pid {pid} is LSRUN but "
                    "nothing will run it", pid, int(t)))
        if p["blocked"] != first:
            problems.append(problem("sleep-state-agrees", f"pid {pid} shows blocked "
                                    f"{p['blocked']}, its first blocked LWP {first}", pid))
        return problems

    def _check_proc_node(self, p):
        nid = p["node"]
        if p["state"] == "SZOMB":
            if nid is not None and self.node_owner(nid) == p["pid"]:
                return [problem("zombie-owns-node",
                                f"zombie {p['pid']} still owns reaper node {nid}", p["pid"])]
            return []
        if nid is None:
            if self.priv["initreleased"]:
                return []
            return [problem("has-reaper-node", f"pid {p['pid']} has no reaper node", p["pid"])]
        if self.node(nid) is None:
            return [problem("node-not-freed",
                            f"pid {p['pid']} points at freed reaper node {nid}", p["pid"])]
        if p["reaper"] != self.node_owner(nid):
            return [problem("reaper-field", f"pid {p['pid']} shows reaper {p['reaper']}, "
                            f"node {nid} is owned by {self.node_owner(nid)}", p["pid"])]
        return []

    def _check_node(self, n, counted):
        """refs = pointing processes (not yet through reaper_exit) + child nodes + init's
        static reference + exit1 holds (rule 35); no owner is a zombie."""
        problems = []
        if n["refs"] != counted:
            problems.append(problem("node-refs", f"reaper node {n['id']} has refs "
                                    f"{n['refs']} but {counted} references"))
        if n["owner"] is not None:
            owner = self.proc(n["owner"])
            if owner is None or owner["state"] == "SZOMB":
                problems.append(problem(
                    "node-owner-live",
                    f"reaper node {n['id']} is owned by exited pid {n['owner']}", n["owner"]))
        return problems
