"""fork1, lwp_fork, start_forked_proc and lwp_create (kernel-semantics rules 5-18)."""

from .constants import (
    CONT,
    PROC_FLAG_ORDER,
    RFCFDG,
    RFFDG,
    RFKERNELONLY,
    RFLINUXTHPN,
    RFNOWAIT,
    RFPPWAIT,
    RFPROC,
    RFSIGSHARE,
    RFTHREAD,
)
from .seeds import ref


class ForkOps:
    """Process and thread creation."""

    def fork1(self, key, frame):
        """sys_fork/sys_vfork/sys_rfork then fork1 up to the SIDL child (F000:107-662).

        Mutates: nprocs, the uid count, a new SIDL process in its parent's children (at the
        head), the caller's reaper node refs and peer list.  Returns early with EINVAL or
        EAGAIN exactly where the seed does."""
        pid, _tid = key
        p1 = self.proc(pid)
        flags = frame["flags"]
        prof = self.profile
        if frame.get("user_flags") is not None and frame["user_flags"] & RFKERNELONLY:
            self.note("sys_rfork", ref("rfork_kernelonly", prof),
                      "rfork with a kernel-only flag (RFPPWAIT/RFPGLOCK): EINVAL")
            return self.syscall_return(key, frame, errno="EINVAL")
        if flags & RFFDG and flags & RFCFDG:
            self.note("fork1", ref("fork1_fdg", prof), "RFFDG and RFCFDG together: EINVAL")
            return self.syscall_return(key, frame, errno="EINVAL")
        if not flags & RFPROC:
            return self._fork1_norfproc(key, frame, p1)
        if not self._fork1_limits(key, frame, p1):
            return self.syscall_return(key, frame, errno="EAGAIN")
        p2 = self._fork1_newproc(p1, frame)
        frame["child"] = p2["pid"]
        frame["pc"] = "start_forked_proc"
        parent = self.proc(p2["ppid"])
        how = "" if parent is p1 else f", RFNOWAIT: parent is {parent['name']} ({parent['pid']})"
        self.note("fork1", ref("fork1", prof),
                  f"{p1['name']} forks {p2['name']} (pid {p2['pid']}), SIDL{how}")
        self.event["created"] = p2["pid"]
        if parent is not p1:
            self.reparented(p2["pid"], p1["pid"], parent["pid"], "rfnowait")
        return CONT

    def _fork1_norfproc(self, key, frame, p1):
        """rfork without RFPROC divorces resources in place; needs one thread (F000:268-306)."""
        seed = ref("fork1_norfproc", self.profile)
        if p1["nthreads"] != 1:
            self.note("fork1", seed, f"rfork without RFPROC by {p1['name']} with "
                                     f"{p1['nthreads']} threads: EINVAL")
            return self.syscall_return(key, frame, errno="EINVAL")
        self.note("fork1", seed, f"rfork without RFPROC: {p1['name']} unshares in place")
        return self.syscall_return(key, frame, ret=0)

    def _fork1_limits(self, key, frame, p1):
        """maxproc and RLIMIT_NPROC (F000:335-368).  False when fork1 returns EAGAIN.

        Both counts include zombies: they drop only when wait4 frees a process."""
        seed = ref("fork1_limits", self.profile)
        root = self.root
        uid = p1["uid"]
        maxproc = root["limits"]["maxproc"]
        nprocs = root["nprocs"]
        if (nprocs >= maxproc - 10 and uid != 0) or nprocs >= maxproc:
            self.note("fork1", seed, f"nprocs {nprocs} at maxproc {maxproc} "
                                     f"(uid {uid}): EAGAIN")
            return False
        self.set_nprocs(+1)
        if not self.chgproccnt(uid, +1, root["limits"]["nproc"] if uid != 0 else None):
            self.set_nprocs(-1)
            self.note("fork1", seed, f"uid {uid} at RLIMIT_NPROC "
                                     f"{root['limits']['nproc']}: EAGAIN")
            return False
        return True

    def chgproccnt(self, uid, diff, limit):
        """kern_resource.c chgproccnt: adjust uid's count; fail if count + 1 > limit."""
        counts = self.root["uidcount"]
        key = str(uid)
        cur = counts.get(key, 0)
        if diff > 0 and limit is not None and cur + diff > limit:
            return False
        if key in counts:
            if cur + diff == 0:
                self.doc.remove(counts, "/uidcount", key)
            else:
                self.doc.set(counts, "/uidcount", key, cur + diff)
        else:
            self.doc.add(counts, "/uidcount", key, diff)
        return True

    def _fork1_newproc(self, p1, frame):
        """Make the SIDL child and link it in (F000:373-607)."""
        flags = frame["flags"]
        pid2 = self.priv["nextpid"]
        self.priv["nextpid"] += 1
        p2 = self._new_proc(pid2, frame["name"], 0, uid=p1["uid"], pgid=p1["pgid"], node=None)
        if self.profile == "reaper" and p1["node"] is not None:       # F000:393-398
            self.reaper_hold(p1["node"])
            p2["node"] = p1["node"]
        if flags & RFTHREAD:                                            # F000:411-417
            p2["peers"] = p1["peers"]
            p2["leader"] = p1["leader"]
        if flags & RFSIGSHARE:                                          # F000:448-456
            self.priv["nextsigacts"] -= 1
            p2["sigacts"] = p1["sigacts"]
            self.priv.setdefault("sharedsigacts", set()).add(p1["sigacts"])
        # Signal dispositions are copied (or shared) with p_sigacts, P_SUGID is preserved
        # (F000:512); P_PPWAIT marks a vfork.
        inherit = {"PS_NOCLDWAIT", "PS_CLDSIGIGN", "P_SUGID"} & set(p1["flags"])
        if flags & RFPPWAIT:                                            # F000:515-519
            inherit.add("P_PPWAIT")
        p2["flags"] = [f for f in PROC_FLAG_ORDER if f in inherit]
        if flags & RFLINUXTHPN:                                         # F000:457-460
            p2["sigparent"] = "SIGUSR1"
        pptr = self._fork1_parent(p1, flags)
        p2["ppid"] = pptr["pid"]
        p2["reaper"] = self.node_owner(p2["node"])
        self.doc.touched.add(pid2)
        self.doc.linked.add(pid2)
        self.doc.add(self.root["procs"], "/procs", str(pid2), p2)
        if p2["node"] is not None:
            self.priv["members"].setdefault(p2["node"], set()).add(pid2)
        if flags & RFTHREAD:
            self.pset(p1, "peers", pid2)
        self.children_insert_head(pptr, pid2)                          # F000:570
        self.lwp_fork(p2)
        return p2

    def _fork1_parent(self, p1, flags):
        """The parent of the new process (F000:548-566; classic F001:494-497)."""
        if not flags & RFNOWAIT:
            return p1
        if self.profile == "reaper":
            owner = self.node_owner(p1["node"])
            if owner is not None:
                return self.proc(owner)
        return self.proc(1)

    def lwp_fork(self, p):
        """Add a new LWP to p with the next free tid (F000:664-738, rule 17).

        Mutates p's lwps, lasttid and nthreads; in `reaper` also sets P_MAYBETHREADED."""
        tid = p["lasttid"]
        while True:
            tid += 1
            if tid > 0x7FFFFFFF:          # the C int went negative: wrap to 1
                tid = 1
            if str(tid) not in p["lwps"]:
                break
        lwp = self._new_lwp(tid)
        self.doc.touched.add(p["pid"])
        self.doc.add(p["lwps"], self.ppath(p) + "/lwps", str(tid), lwp)
        self.pset(p, "lasttid", tid)
        self.pset(p, "nthreads", p["nthreads"] + 1)
        if self.profile == "reaper":
            self.flag_on(p, "P_MAYBETHREADED")
        return tid

    def start_forked_proc(self, key, frame):
        """SIDL -> SACTIVE, then the vfork parent sleeps while P_PPWAIT (F000:793-838).

        `while (p2->p_flags & P_PPWAIT) tsleep(lp1->lwp_proc, ..., "ppwait", 0)`
        (F000:832-838): woken by anything on its proc's channel (another child's exit1,
        E003:560), the parent re-checks and sleeps again; this runs in the kernel even
        while the parent is stopped (SIGSTOP), and a call that then finishes stops on its
        way out (Kernel.stop_at_userret).  Mutates the child's state; the caller may sleep
        in "ppwait" on its own proc."""
        p2 = self.proc(frame["child"])
        seed = ref("start_forked_proc", self.profile)
        if p2 is not None and p2["state"] == "SIDL":
            self.pset(p2, "state", "SACTIVE")
            self.note("start_forked_proc", seed, f"{p2['name']} ({p2['pid']}) is SACTIVE")
        else:
            self.note("start_forked_proc", seed, "ppwait: woken, re-checking P_PPWAIT")
        if p2 is not None and self.has(p2, "P_PPWAIT"):
            self.event["summary"] += "; the parent sleeps in ppwait until it execs or exits"
            return self.tsleep(key, ("proc", key[0]), "ppwait", "start_forked_proc")
        self.event["summary"] += f"; fork returns {frame['child']}"
        return self.syscall_return(key, frame, ret=frame["child"])

    def lwp_create(self, key, frame):
        """sys_lwp_create: a new LWP in the caller's own process (F000:186-237).

        `frame['fail']` takes the cpu_prepare_lwp failure path (F000:223-234), which the
        scenario language cannot reach: the LWP is removed, nthreads drops, lasttid stays."""
        p = self.proc(key[0])
        tid = self.lwp_fork(p)
        seed = ref("lwp_create", self.profile)
        if frame.get("fail"):
            self.doc.remove(p["lwps"], self.ppath(p) + "/lwps", str(tid))
            self.pset(p, "nthreads", p["nthreads"] - 1)
            self.note("lwp_create", seed, f"lwp_create in {p['name']}: cpu_prepare_lwp "
                                          f"failed, tid {tid} disposed (lasttid kept)")
            return self.syscall_return(key, frame, errno=frame["fail"])
        self.note("lwp_create", seed, f"{p['name']} creates LWP {tid} "
                                      f"(nthreads {p['nthreads']})")
        return self.syscall_return(key, frame, ret=0, info={"tid": tid})
