"""wait4 / kern_wait (kernel-semantics rules 30-34; E003:775-1041)."""

from .constants import (
    CONT,
    SIGCONT,
    WAIT_ANY,
    WCONTINUED,
    WLINUXCLONE,
    WNOHANG,
    WUNTRACED,
)
from .waitstatus import W_STOPCODE, short_text

ALL_OPTIONS = WUNTRACED | WNOHANG | WCONTINUED | WLINUXCLONE


class WaitOps:
    """Waiting for children."""

    def kern_wait(self, key, frame):
        """One pass of kern_wait's loop over the caller's children (E003:803-1041).

        Finds a zombie (then reaps it over the next events), reports a stop or a
        continue, or returns ECHILD / 0 (WNOHANG), or sleeps in "wait" on the caller.

        The loop begins `while (q->p_stat == SSTOP) tstop();` (E003:836-837, rule 31): a
        waiter woken while its process is stopped stops there, and looks at its children
        again only after SIGCONT."""
        q = self.proc(key[0])
        if q["state"] == "SSTOP" and not frame.get("dying"):
            return self.tstop(key, frame, "kern_wait", "E003:836-837",
                              "wait4 stops in tstop until SIGCONT, then looks again")
        if frame["pid"] == 0:                                    # E003:813-814
            frame["pid"] = -q["pgid"]
        if frame["options"] & ~ALL_OPTIONS:
            self.note("kern_wait", "E003:815-816", "wait4 with unknown option bits: EINVAL")
            return self.syscall_return(key, frame, errno="EINVAL")
        pid, options = frame["pid"], frame["options"]
        nfound = 0
        # A pid > 0 can match only itself (E003:849-850: p_pgid != -pid always holds).
        candidates = q["children"] if pid <= 0 else ([pid] if pid in q["children"] else [])
        for cpid in candidates:
            p = self.proc(cpid)
            if pid != WAIT_ANY and p["pid"] != pid and p["pgid"] != -pid:
                continue
            if (p["sigparent"] != "SIGCHLD") ^ bool(options & WLINUXCLONE):   # E003:862
                continue
            nfound += 1
            if p["state"] == "SZOMB":
                frame["zomb"] = cpid
                self.note("kern_wait", "E003:867-868",
                          f"{q['name']}: wait4 finds zombie {p['name']} ({cpid})")
                return self.goto(key, frame, "kern_wait_zomb")
            if (p["state"] == "SSTOP" and not self.has(p, "P_WAITED")
                    and (self.has(p, "P_TRACED") or options & WUNTRACED)):
                self.flag_on(p, "P_WAITED")
                self.note("kern_wait", "E003:992-1007",
                          f"{q['name']}: wait4 reports {p['name']} ({cpid}) stopped")
                return self.syscall_return(key, frame, ret=cpid,
                                           status=W_STOPCODE(p["xstat"]))
            if options & WCONTINUED and self.has(p, "P_CONTINUED"):
                self.flag_off(p, "P_CONTINUED")
                self.note("kern_wait", "E003:1008-1019",
                          f"{q['name']}: wait4 reports {p['name']} ({cpid}) continued")
                return self.syscall_return(key, frame, ret=cpid, status=SIGCONT)
        if nfound == 0:
            self.note("kern_wait", "E003:1021-1024", f"{q['name']}: no such child: ECHILD")
            return self.syscall_return(key, frame, errno="ECHILD")
        if options & WNOHANG:
            self.note("kern_wait", "E003:1025-1029",
                      f"{q['name']}: WNOHANG and no child ready: returns 0")
            return self.syscall_return(key, frame, ret=0)
        self.note("kern_wait", "E003:1031-1040",
                  f"{q['name']}: no child ready; sleeps in wait")
        return self.tsleep(key, ("proc", key[0]), "wait4", "kern_wait")

    def kern_wait_zomb(self, key, frame):
        """Reap a zombie child (E003:868-907): wait for nthreads == 0 ("lwpzomb"), reap
        the LWPs left in its tree one per event, wait for the dead LWPs' holds ("reap3")."""
        p = self._still_my_zombie(key, frame)
        if p is None:
            return self.goto(key, frame, "kern_wait")
        if p["nthreads"] > 0:
            self.note("kern_wait", "E003:875-878",
                      f"zombie {p['name']} still has {p['nthreads']} thread(s): lwpzomb")
            return self.tsleep(key, ("nthreads", p["pid"]), "lwpzomb", "kern_wait_zomb")
        if p["lwps"]:
            # E003:889-892: reap the LWPs left in the tree (the master) with reaplwp.
            tid = min(int(t) for t in p["lwps"])
            outcome = self.reaplwp(key, frame, p["pid"], tid, "kern_wait_zomb",
                                   f"{self.name_of(key[0])}'s wait4")
            return CONT if outcome == "disposed" else outcome
        if p["lock"] > 0:
            self.note("kern_wait", "E003:906-907",
                      f"{p['name']} still held by {p['lock']} dead LWP(s): reap3")
            return self.tsleep(key, ("plock", p["pid"]), "reap3", "kern_wait_zomb")
        return self.goto(key, frame, "kern_wait_free")

    def _still_my_zombie(self, key, frame):
        """The zombie this wait4 is reaping, or None if, while it slept, the zombie was
        reaped by another thread of the caller or handed to another parent (PS_NOCLDWAIT):
        then wait4 scans its children again, as 2014's p_waitgen makes it do."""
        p = self.proc(frame["zomb"])
        if p is not None and p["ppid"] == key[0]:
            return p
        self.note("kern_wait", "E003:819-848",
                  f"{self.name_of(key[0])}: zombie {frame['zomb']} is no longer its child "
                  "to reap; wait4 looks again")
        frame["zomb"] = None
        frame["stage"] = None
        return None

    def kern_wait_free(self, key, frame):
        """Return the zombie's pid and status, then free it (E003:909-990); a ptrace-
        attached child goes back to its old parent instead (E003:918-930).

        Mutates: the caller's children, procs, nprocs, the uid count."""
        q = self.proc(key[0])
        p = self._still_my_zombie(key, frame)
        if p is None:
            return self.goto(key, frame, "kern_wait")
        status = p["xstat"]
        if p["oppid"] and self.proc(p["oppid"]) is not None:
            t = self.proc(p["oppid"])
            self.pset(p, "oppid", 0)
            self._move_child(p, q, t, "ptrace")
            self.deliver(t, "SIGCHLD")
            self.wakeup(("proc", t["pid"]))
            self.note("kern_wait", "E003:918-930",
                      f"{p['name']} was ptrace-attached: given back to {t['name']}")
            return self.syscall_return(key, frame, ret=p["pid"], status=status)
        self.children_remove(q, p["pid"])
        self.doc.touched.add(p["pid"])
        self.doc.remove(self.root["procs"], "/procs", str(p["pid"]))
        self.chgproccnt(p["uid"], -1, None)                     # E003:948
        self.set_nprocs(-1)                                      # E003:988
        self.note("kern_wait", "E003:909-990",
                  f"{q['name']} reaps {p['name']} ({p['pid']}), status "
                  f"{short_text(status)}; freed")
        return self.syscall_return(key, frame, ret=p["pid"], status=status)
