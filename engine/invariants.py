"""The invariants of kernel-semantics section 9, checked after every event.

`check_incremental` looks only at what the event touched (the processes in its patch and
every reaper node, of which there are few), so checking stays cheap as the tree grows;
`check_all` checks everything and is what the tests compare against.
"""

class InvariantOps:
    """Section 9, as checks that return a list of problems (empty when all hold)."""

    def check_incremental(self, touched):
        problems = self._check_counts()
        procs = self.root["procs"]
        for pid in touched:
            p = procs.get(str(pid))
            if p is None:
                problems.extend(self._check_reaped(pid))
            else:
                problems.extend(self._check_proc(p))
        if self.profile == "reaper":
            problems.extend(self._check_nodes())
        problems.extend(self.priv.pop("uaf", []))
        return problems

    def check_all(self):
        problems = self._check_counts()
        for p in self.root["procs"].values():
            problems.extend(self._check_proc(p))
        if self.profile == "reaper":
            problems.extend(self._check_nodes())
        return problems

    def _check_counts(self):
        root = self.root
        if root["nprocs"] != len(root["procs"]):
            return [f"nprocs is {root['nprocs']} but {len(root['procs'])} processes exist"]
        return []

    def _check_reaped(self, pid):
        """A reaped process appears nowhere, not even on the dead-LWP list."""
        problems = []
        if any(d["pid"] == pid for d in self.root["deadlwps"]):
            problems.append(f"reaped pid {pid} is still on the dead-LWP list")
        return problems

    def _check_proc(self, p):
        problems = []
        pid = p["pid"]
        procs = self.root["procs"]
        if pid != 0:
            parent = procs.get(str(p["ppid"]))
            if parent is None:
                problems.append(f"pid {pid}'s parent {p['ppid']} does not exist")
            elif parent["children"].count(pid) != 1:
                problems.append(f"pid {pid} appears {parent['children'].count(pid)} times "
                                f"in its parent {p['ppid']}'s children")
        for c in p["children"]:
            child = procs.get(str(c))
            if child is None or child["ppid"] != pid:
                problems.append(f"pid {pid} lists child {c}, whose parent is not {pid}")
        live = sum(1 for lwp in p["lwps"].values() if lwp["exit"] is None)
        if p["nthreads"] != live:
            problems.append(f"pid {pid}: nthreads {p['nthreads']} but {live} LWPs not exited")
        if p["state"] == "SZOMB" and p["lwps"] and all(
                lwp["exit"] == "SWITCHED_OUT" for lwp in p["lwps"].values()) \
                and p["nthreads"] != 0:
            problems.append(f"zombie {pid} finished exiting with nthreads {p['nthreads']}")
        if self.profile == "reaper" and pid != 0 and p["state"] != "SZOMB":
            problems.extend(self._check_proc_node(p))
        return problems

    def _check_proc_node(self, p):
        problems = []
        nid = p["node"]
        if nid is None:
            if not self.priv["initreleased"]:
                problems.append(f"pid {p['pid']} has no reaper node")
        elif self.node(nid) is None:
            problems.append(f"pid {p['pid']} points at freed reaper node {nid}")
        elif p["reaper"] != self.node_owner(nid):
            problems.append(f"pid {p['pid']} shows reaper {p['reaper']}, node {nid} is "
                            f"owned by {self.node_owner(nid)}")
        return problems

    def _check_nodes(self):
        """refs = pointing processes (not yet through reaper_exit) + child nodes + init's
        static reference + exit1 holds (rule 35); no owner is a zombie."""
        nodes = self.root["reapers"]
        counted = {int(k): 0 for k in nodes}
        for nid, pids in self.priv["members"].items():
            if nid in counted:
                counted[nid] += len(pids)
        for n in nodes.values():
            if n["parent"] is not None and n["parent"] in counted:
                counted[n["parent"]] += 1
            if "REALINIT" in n["flags"]:
                counted[n["id"]] += 1
        for frame in self.priv["frames"].values():
            if frame.get("reap") is not None and frame["reap"] in counted:
                counted[frame["reap"]] += 1
        problems = []
        for n in nodes.values():
            if n["refs"] != counted[n["id"]]:
                problems.append(f"reaper node {n['id']} has refs {n['refs']} but "
                                f"{counted[n['id']]} references")
            if n["owner"] is not None:
                owner = self.proc(n["owner"])
                if owner is None or owner["state"] == "SZOMB":
                    problems.append(f"reaper node {n['id']} is owned by exited pid "
                                    f"{n['owner']}")
        return problems
