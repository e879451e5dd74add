"""The invariants of kernel-semantics section 9, checked after every event.

`check_incremental` looks only at what the event touched (the processes and reaper nodes
in its patch) and counts references from the kernel's indexes, so it costs what the
event changed; `check_all` recounts everything from the state itself and is what the
tests compare against.
"""


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
                    problems.append(f"freed reaper node {nid} is still referenced")
            for n in nodes.values():
                problems.extend(self._check_node(n, counted[n["id"]]))
        return problems

    def _check_counts(self):
        root = self.root
        if root["nprocs"] != len(root["procs"]):
            return [f"nprocs is {root['nprocs']} but {len(root['procs'])} processes exist"]
        return []

    def _check_reaped(self, pid):
        """A reaped process appears nowhere, not even on the dead-LWP list."""
        if any(d["pid"] == pid for d in self.root["deadlwps"]):
            return [f"reaped pid {pid} is still on the dead-LWP list"]
        return []

    def _check_proc(self, p, full, moved):
        problems = []
        pid = p["pid"]
        procs = self.root["procs"]
        if pid != 0 and moved:
            parent = procs.get(str(p["ppid"]))
            if parent is None:
                problems.append(f"pid {pid}'s parent {p['ppid']} does not exist")
            elif parent["children"].count(pid) != 1:
                problems.append(f"pid {pid} appears {parent['children'].count(pid)} times "
                                f"in its parent {p['ppid']}'s children")
        if full:
            for c in p["children"]:
                child = procs.get(str(c))
                if child is None or child["ppid"] != pid:
                    problems.append(f"pid {pid} lists child {c}, whose parent is not {pid}")
        live = 0
        finished = True
        for lwp in p["lwps"].values():
            if lwp["exit"] is None:
                live += 1
            if lwp["exit"] != "SWITCHED_OUT":
                finished = False
        if p["nthreads"] != live:
            problems.append(f"pid {pid}: nthreads {p['nthreads']} but {live} LWPs not exited")
        if p["state"] == "SZOMB" and p["lwps"] and finished and p["nthreads"] != 0:
            problems.append(f"zombie {pid} finished exiting with nthreads {p['nthreads']}")
        if self.profile == "reaper" and pid != 0:
            problems.extend(self._check_proc_node(p))
        return problems

    def _check_proc_node(self, p):
        nid = p["node"]
        if p["state"] == "SZOMB":
            if nid is not None and self.node_owner(nid) == p["pid"]:
                return [f"zombie {p['pid']} still owns reaper node {nid}"]
            return []
        if nid is None:
            return [] if self.priv["initreleased"] else [f"pid {p['pid']} has no reaper node"]
        if self.node(nid) is None:
            return [f"pid {p['pid']} points at freed reaper node {nid}"]
        if p["reaper"] != self.node_owner(nid):
            return [f"pid {p['pid']} shows reaper {p['reaper']}, node {nid} is "
                    f"owned by {self.node_owner(nid)}"]
        return []

    def _check_node(self, n, counted):
        """refs = pointing processes (not yet through reaper_exit) + child nodes + init's
        static reference + exit1 holds (rule 35); no owner is a zombie."""
        problems = []
        if n["refs"] != counted:
            problems.append(f"reaper node {n['id']} has refs {n['refs']} but {counted} "
                            "references")
        if n["owner"] is not None:
            owner = self.proc(n["owner"])
            if owner is None or owner["state"] == "SZOMB":
                problems.append(f"reaper node {n['id']} is owned by exited pid {n['owner']}")
        return problems
