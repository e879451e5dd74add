"""Sub-reapers: procctl PROC_REAP_* and the reaper_* node functions (F000:840-1084).

Only the `reaper` profile has nodes.  A node's `refs` follows rule 35 exactly: every
hold and drop below is one the seed makes.  `priv['members'][node]` indexes the processes
whose p_reaper is the node, so an owner change updates their `reaper` fields directly.
"""

from .constants import PROC_REAP_ACQUIRE, PROC_REAP_RELEASE, PROC_REAP_STATUS


class ReaperOps:
    """Reaper nodes and procctl."""

    # ------------------------------------------------------------------ nodes
    def node(self, nid):
        return self.root["reapers"].get(str(nid))

    def node_owner(self, nid):
        """The pid owning node nid, or None (no node, or a dead node)."""
        if nid is None:
            return None
        n = self.node(nid)
        return n["owner"] if n else None

    def _nset(self, n, key, value):
        """Set a node field; a parent change also moves the node in the child-node index."""
        self.doc.touched.add(("n", n["id"]))
        if key == "parent" and n["parent"] != value:
            kids = self.priv["nodekids"]
            if n["parent"] is not None:
                kids[n["parent"]].discard(n["id"])
            if value is not None:
                kids.setdefault(value, set()).add(n["id"])
        self.doc.set(n, "/reapers/" + str(n["id"]), key, value)

    def set_exithold(self, frame, nid):
        """exit1's local `reap` (rule 35: counted as a hold of the exiting process)."""
        holds = self.priv["exitholds"]
        old = frame.get("reap")
        if old is not None:
            holds[old] -= 1
            if not holds[old]:
                del holds[old]
            self.doc.touched.add(("n", old))
        if nid is not None:
            holds[nid] = holds.get(nid, 0) + 1
            self.doc.touched.add(("n", nid))
        frame["reap"] = nid

    def reaper_init(self, p):
        """A new node owned by p whose parent is p's old node (F000:953-968).

        init's node has refs 2 and OWNED|REALINIT (also if init acquires again after a
        release: the seed tests `p == initproc`); any other refs 1 and OWNED.  p's
        reference on its old node becomes the new node's parent link."""
        nid = self.priv["nextnode"]
        self.priv["nextnode"] += 1
        realinit = p["pid"] == 1
        n = {"id": nid, "owner": p["pid"], "parent": p["node"],
             "refs": 2 if realinit else 1,
             "flags": ["OWNED", "REALINIT"] if realinit else ["OWNED"]}
        self.doc.add(self.root["reapers"], "/reapers", str(nid), n)
        self.doc.touched.add(("n", nid))
        if n["parent"] is not None:
            self.priv["nodekids"].setdefault(n["parent"], set()).add(nid)
        self._point(p, nid)
        return nid

    def _point(self, p, nid):
        """p->p_reaper = nid (no reference change here), keeping `reaper` and the index."""
        members = self.priv["members"]
        old = p["node"]
        self.doc.touched.update((("n", old), ("n", nid)))
        if old is not None and old in members:
            members[old].discard(p["pid"])
            if not members[old]:
                del members[old]
        if nid is not None:
            members.setdefault(nid, set()).add(p["pid"])
        self.pset(p, "node", nid)
        self.pset(p, "reaper", self.node_owner(nid) if p["state"] != "SZOMB" else None)

    def _set_owner(self, n, owner):
        """reap->p = owner; every process pointing at the node shows its new reaper."""
        self._nset(n, "owner", owner)
        for pid in sorted(self.priv["members"].get(n["id"], ())):
            q = self.proc(pid)
            if q is not None and q["state"] != "SZOMB":
                self.pset(q, "reaper", owner)

    def reaper_hold(self, nid):
        """Bump a node's refs (F000:922-927)."""
        n = self.node(nid)
        assert n["refs"] > 0, "reaper_hold on a freed node"
        self._nset(n, "refs", n["refs"] + 1)

    def reaper_drop(self, nid):
        """Drop a ref; free the node on 1 -> 0 and loop on its parent (F000:933-948)."""
        freed = []
        while nid is not None:
            n = self.node(nid)
            if n["refs"] - 1 == 0:
                assert n["owner"] is None, "freeing an owned reaper node"
                nxt = n["parent"]
                self.doc.remove(self.root["reapers"], "/reapers", str(nid))
                self.priv["members"].pop(nid, None)
                self.priv["nodekids"].pop(nid, None)
                if nxt is not None:
                    self.priv["nodekids"][nxt].discard(nid)
                freed.append(nid)
                nid = nxt
            else:
                self._nset(n, "refs", n["refs"] - 1)
                nid = None
        return freed

    def reaper_exit(self, p):
        """Release p's own node if it owns one, then return and clear p_reaper (F000:977-1003).

        The returned node carries p's reference; exit1 keeps it in a local (our `exithold`)
        until its final reaper_drop."""
        nid = p["node"]
        n = self.node(nid) if nid is not None else None
        released = None
        if n is not None and n["owner"] == p["pid"]:
            self._point(p, n["parent"])
            if n["parent"] is not None:
                self.reaper_hold(n["parent"])
            self._set_owner(n, None)
            self.reaper_drop(nid)
            released = nid
        held = p["node"]
        self._point(p, None)
        return held, released

    def reaper_get(self, nid):
        """The nearest node with an owner, from nid upward; splice out dead nodes held only
        by the walk and their child link (refs == 2, no owner) on the way (F000:1015-1084).

        Returns (owner pid or None, [spliced node ids])."""
        if nid is None:
            return None, []
        spliced = []
        self.reaper_hold(nid)                        # extra hold for the loop
        reap = nid
        while reap is not None:
            n = self.node(reap)
            if n["owner"] is not None:
                owner = n["owner"]
                self.reaper_drop(reap)
                return owner, spliced
            nxt = n["parent"]
            while nxt is not None:
                self.reaper_hold(nxt)
                m = self.node(nxt)
                if m["refs"] == 2 and m["owner"] is None:
                    self._nset(n, "parent", m["parent"])   # inherits m's ref on its parent
                    self._nset(m, "parent", None)
                    self.reaper_drop(nxt)                  # ours
                    self.reaper_drop(nxt)                  # the old parent link
                    spliced.append(nxt)
                    nxt = n["parent"]
                    continue
                break
            self.reaper_drop(reap)
            reap = nxt
        return None, spliced

    # ------------------------------------------------------------------ procctl
    def procctl(self, key, frame):
        """sys_procctl (F000:843-917): ACQUIRE, RELEASE, STATUS on the caller itself.

        `classic` has no such system call (it arrived in 2014): ENOSYS."""
        p = self.proc(key[0])
        cmd = frame["cmd"]
        if self.profile == "classic":
            self.note("procctl", "F000:843 (absent before 2014)",
                      "procctl does not exist in the 2008-2011 kernel: ENOSYS")
            return self.syscall_return(key, frame, errno="ENOSYS")
        if frame.get("idtype", 0) != 0 or frame.get("id", p["pid"]) != p["pid"]:
            self.note("procctl", "F000:852", "procctl on another process or idtype: EINVAL")
            return self.syscall_return(key, frame, errno="EINVAL")
        if cmd == PROC_REAP_ACQUIRE:
            return self._reap_acquire(key, frame, p)
        if cmd == PROC_REAP_RELEASE:
            return self._reap_release(key, frame, p)
        if cmd == PROC_REAP_STATUS:
            return self._reap_status(key, frame, p)
        self.note("procctl", "F000:912-914", f"unknown procctl command {cmd}: EINVAL")
        return self.syscall_return(key, frame, errno="EINVAL")

    def _reap_acquire(self, key, frame, p):
        """PROC_REAP_ACQUIRE (F000:856-867): EALREADY if p owns its node, else a new node."""
        if p["node"] is not None and self.node_owner(p["node"]) == p["pid"]:
            self.note("procctl", "F000:859-865",
                      f"{p['name']} already owns reaper node {p['node']}: EALREADY")
            return self.syscall_return(key, frame, errno="EALREADY")
        old = p["node"]
        nid = self.reaper_init(p)
        self.note("procctl", "F000:856-867 reaper_init F000:953-968",
                  f"{p['name']} becomes a sub-reaper: node {nid} (parent node {old}); "
                  "children forked from now on inherit it")
        return self.syscall_return(key, frame, ret=0)

    def _reap_release(self, key, frame, p):
        """PROC_REAP_RELEASE (F000:868-893): give up ownership, point at the parent node."""
        nid = p["node"]
        n = self.node(nid) if nid is not None else None
        if n is None or n["owner"] != p["pid"]:
            self.note("procctl", "F000:889-891",
                      f"{p['name']} does not own its reaper node: ENOTCONN")
            return self.syscall_return(key, frame, errno="ENOTCONN")
        self.reaper_hold(nid)                          # in case of thread race
        self._set_owner(n, None)
        self._point(p, n["parent"])
        if n["parent"] is not None:
            self.reaper_hold(n["parent"])
        elif p["pid"] == 1:
            self.priv["initreleased"] = True
        self.reaper_drop(nid)                          # our ref
        freed = self.reaper_drop(nid)                  # the old p_reaper ref
        gone = f"; node {nid} freed" if nid in freed else ""
        self.note("procctl", "F000:868-893",
                  f"{p['name']} releases reaper node {nid}; now points at node "
                  f"{p['node']}{gone}")
        return self.syscall_return(key, frame, ret=0)

    def _reap_status(self, key, frame, p):
        """PROC_REAP_STATUS (F000:894-911): flags and refs - 1 if owned; the newest child."""
        info = {"flags": [], "refs": 0, "pid_head": p["children"][0] if p["children"] else -1}
        n = self.node(p["node"]) if p["node"] is not None else None
        if n is not None and n["owner"] == p["pid"]:
            info["flags"] = list(n["flags"])
            info["refs"] = n["refs"] - 1
        self.note("procctl", "F000:894-911",
                  f"{p['name']} reaper status: flags {info['flags']}, refs {info['refs']}, "
                  f"pid_head {info['pid_head']}")
        return self.syscall_return(key, frame, ret=0, info=info)
