"""Signals (kept small, rule 39), exec, sigaction, setuid and setpgid.

kern_sig.c, kern_exec.c and kern_prot.c are not seeds; what is modelled is what the
rules say, and what the seeds rely on (P_WAITED and p_xstat for wait4, P_PPWAIT for vfork).
"""

from .constants import SIGCONT, SIGKILL, SIGNALS, SIGNAMES, SIGSTOP, SIGTERM
from .waitstatus import W_EXITCODE

RULE39 = "kern_sig.c (not a seed); rule 39"


class SignalOps:
    """kill, stop and continue; the simple system calls."""

    def kill(self, key, frame):
        """The `kill` system call: sys_kill by the acting process."""
        errno, summary = self.sys_kill(self.proc(key[0]), frame["target"], frame["sig"],
                                       caller=key)
        self.note("kill", RULE39, summary)
        if errno:
            return self.syscall_return(key, frame, errno=errno)
        return self.syscall_return(key, frame, ret=0)

    def sys_kill(self, sender, target, sig, caller=None):
        """sys_kill(pid, sig) on behalf of `sender`: ESRCH, the CANSIGNAL permission check
        (EPERM), then delivery (rule 39 and the results in architecture.md).  Returns
        (errno or None, what happened in words).  exit1's task leader calls it for each
        peer (E003:309-322: "The interface for kill is better than the internal signal"),
        so its permission check applies there too."""
        p = self.proc(target)
        signame = SIGNAMES[sig]
        if p is None:
            return "ESRCH", f"kill {target}: no such process: ESRCH"
        if sender["uid"] != 0 and sender["uid"] != p["uid"] and sig != SIGCONT:
            return "EPERM", (f"{sender['name']} (uid {sender['uid']}) may not "
                             f"signal {p['name']} (uid {p['uid']}): EPERM")
        if p["pid"] <= 1:
            return None, f"{signame} to {p['name']}: no default action for pid <= 1"
        if p["state"] == "SZOMB":
            return None, f"{signame} to zombie {p['name']}: no effect"
        what = self.psignal(p, sig, caller)
        return None, f"{sender['name']} sends {signame} to {p['name']} ({p['pid']}): {what}"

    def psignal(self, p, sig, caller=None):
        """Deliver sig to process p; returns what it did, for the summary.  `caller` is
        the (pid, tid) sending it, if a thread does (see find_lwp_for_signal)."""
        if p["state"] == "SZOMB" or p["pid"] <= 1:
            return "no effect"
        if sig == SIGKILL:
            if self.has(p, "P_WEXIT"):
                return "already exiting"
            if p["state"] == "SSTOP":
                self._unstop(p)
            self._post_process_exit(p, sig, caller)
            return "it will exit"
        if sig == SIGTERM:
            if self.has(p, "P_WEXIT"):
                return "already exiting"
            if p["state"] == "SSTOP":
                self.pset(p, "siglist", p["siglist"] + ["SIGTERM"])
                return "pending until it is continued"
            self._post_process_exit(p, sig, caller)
            return "it will exit"
        if sig == SIGSTOP:
            return self.proc_stop(p)
        if sig == SIGCONT:
            return self.proc_cont(p)
        return self.deliver(p, next(k for k, v in SIGNALS.items() if v == sig))

    def deliver(self, p, signame):
        """A signal with no state effect: SIGCHLD (ignored by default) or any caught one."""
        if signame == "SIGCHLD":
            return "SIGCHLD is ignored by default"
        return "caught; no state change"

    def _post_process_exit(self, p, sig, caller=None):
        """A fatal signal: the thread find_lwp_for_signal picks runs exit1 (rule 26)."""
        tid = self.find_lwp_for_signal(p, caller)
        if tid is not None:
            self.post_exit(p["pid"], tid, W_EXITCODE(0, sig))

    def find_lwp_for_signal(self, p, caller=None):
        """The tid that takes a signal sent to process p, as DragonFly's kern_sig.c of the
        era does it (find_lwp_for_signal; not a seed): the calling thread when it belongs
        to p; else a running thread (LSRUN); else one asleep interruptibly (PCATCH: the
        model's only such sleep is wait4's, E003:1034); else one in an uninterruptible
        sleep (ppwait, killlwps, peers, lwpzomb...), which acts on its way out.  Lowest tid
        first within each class; None when p has no live thread."""
        tids = self.live_tids(p)
        if caller is not None and caller[0] == p["pid"] and caller[1] in tids:
            return caller[1]
        lwps = p["lwps"]
        for wanted in (lambda lwp: lwp["state"] == "LSRUN",
                       lambda lwp: lwp["blocked"] == "wait4"):
            found = [t for t in tids if wanted(lwps[str(t)])]
            if found:
                return found[0]
        return tids[0] if tids else None

    def proc_stop(self, p):
        """SIGSTOP: SSTOP, p_xstat = SIGSTOP, P_WAITED cleared, SIGCHLD to the parent and
        the parent woken.  Threads in user mode stop; sleeping ones stay asleep."""
        if p["state"] == "SSTOP" or self.has(p, "P_WEXIT"):
            return "no effect"
        self.pset(p, "state", "SSTOP")
        self.pset(p, "xstat", SIGSTOP)
        self.flag_off(p, "P_WAITED")
        self.flag_off(p, "P_CONTINUED")
        for t, lwp in sorted(p["lwps"].items(), key=lambda kv: int(kv[0])):
            if lwp["state"] == "LSRUN":
                self.lset(p["pid"], int(t), "state", "LSSTOP")
        self.wakeup(("proc", p["ppid"]))
        return f"stopped; SIGCHLD to {self.name_of(p['ppid'])}, which is woken"

    def _unstop(self, p):
        self.pset(p, "state", "SACTIVE")
        for t, lwp in sorted(p["lwps"].items(), key=lambda kv: int(kv[0])):
            if lwp["state"] == "LSSTOP":
                self.lset(p["pid"], int(t), "state", "LSRUN")
        parked = self.priv["parked"]
        for k in [k for k in parked if k[0] == p["pid"]]:
            parked.remove(k)
            self.enqueue(k)

    def proc_cont(self, p):
        """SIGCONT on a stopped process: SACTIVE, P_CONTINUED, the parent woken; a pending
        SIGTERM then acts."""
        if p["state"] != "SSTOP":
            return "not stopped: no effect"
        self._unstop(p)
        self.flag_on(p, "P_CONTINUED")
        self.wakeup(("proc", p["ppid"]))
        what = f"continued; {self.name_of(p['ppid'])} is woken"
        if "SIGTERM" in p["siglist"]:
            self.pset(p, "siglist", [s for s in p["siglist"] if s != "SIGTERM"])
            self._post_process_exit(p, SIGTERM)
            what += "; the pending SIGTERM kills it"
        return what

    def sigaction(self, key, frame):
        """sigaction(SIGCHLD): default, ignore (PS_CLDSIGIGN) or SA_NOCLDWAIT
        (PS_NOCLDWAIT); every process sharing the sigacts (RFSIGSHARE) sees it."""
        p = self.proc(key[0])
        want = {"default": (), "ignore": ("PS_CLDSIGIGN",), "nocldwait": ("PS_NOCLDWAIT",)}
        on = want[frame["how"]]
        # Only an RFSIGSHARE child shares p_sigacts: look for sharers only then.
        sharers = [p]
        if p["sigacts"] in self.priv.get("sharedsigacts", ()):
            sharers = [q for q in self.root["procs"].values() if q["sigacts"] == p["sigacts"]]
        for q in sharers:
            for f in ("PS_NOCLDWAIT", "PS_CLDSIGIGN"):
                (self.flag_on if f in on else self.flag_off)(q, f)
        shared = f" (shared with {', '.join(q['name'] for q in sharers if q is not p)})" \
            if len(sharers) > 1 else ""
        self.note("sigaction", RULE39,
                  f"{p['name']}: SIGCHLD {frame['how']}{shared}")
        return self.syscall_return(key, frame, ret=0)

    def setuid(self, key, frame):
        """setuid: root may become anyone; others only themselves (EPERM).  change_ruid
        moves the process's count from its old uid to the new one (rule 8)."""
        p = self.proc(key[0])
        uid = frame["uid"]
        seed = "kern_prot.c (not a seed); rule 8"
        if p["uid"] != 0 and uid != p["uid"]:
            self.note("setuid", seed, f"{p['name']} (uid {p['uid']}) to uid {uid}: EPERM")
            return self.syscall_return(key, frame, errno="EPERM")
        if uid != p["uid"]:
            self.chgproccnt(p["uid"], -1, None)
            self.chgproccnt(uid, +1, None)
            self.pset(p, "uid", uid)
            self.flag_on(p, "P_SUGID")
        self.note("setuid", seed, f"{p['name']} now runs as uid {uid}")
        return self.syscall_return(key, frame, ret=0)

    def setpgid(self, key, frame):
        """setpgid(0, pgid): a group of its own, or an existing group (else EPERM).

        A zombie is still a member of its group: kern_wait frees the process, and its
        group membership with it, only when it reaps it (E003:932-940), so a group whose
        members are all unreaped zombies still exists and can be joined."""
        p = self.proc(key[0])
        pgid = frame.get("pgid") or p["pid"]
        seed = "kern_prot.c (not a seed)"
        if pgid != p["pid"] and not any(
                q["pgid"] == pgid for q in self.root["procs"].values()):
            self.note("setpgid", seed, f"{p['name']}: no process group {pgid}: EPERM")
            return self.syscall_return(key, frame, errno="EPERM")
        self.pset(p, "pgid", pgid)
        self.note("setpgid", seed, f"{p['name']} joins process group {pgid}")
        return self.syscall_return(key, frame, ret=0)

    def exec(self, key, frame):
        """execve's part in the model: killalllwps(1) (E003:199-230), then P_PPWAIT is
        cleared and the vfork parent woken (kern_exec.c, not a seed)."""
        pid, tid = key
        p = self.proc(pid)
        if p["nthreads"] > 1:
            if self.has(p, "P_WEXIT"):
                self.note("exec", "E003:209-210", "exec races an exiting thread: EALREADY")
                return self.syscall_return(key, frame, errno="EALREADY")
            killed = self.killalllwps(p, tid)
            self.note("killalllwps", "E003:199-266",
                      f"exec by {self.name_of(pid, tid)}: SIGKILL to LWP "
                      f"{', '.join(map(str, killed))}")
            return self.tsleep(key, ("nthreads", pid), "killlwps", "killlwps_wait")
        return self.exec_done(key, frame)

    def exec_done(self, key, frame):
        """The new image: P_WEXIT is cleared again (forexec), P_PPWAIT cleared, parent woken."""
        pid, tid = key
        p = self.proc(pid)
        self.flag_off(p, "P_WEXIT")
        lwp = self.lwp(pid, tid)
        if "LWP_MP_WEXIT" in lwp["mpflags"]:
            self.lset(pid, tid, "mpflags", [f for f in lwp["mpflags"] if f != "LWP_MP_WEXIT"])
        summary = f"{p['name']} execs a new image"
        if self.has(p, "P_PPWAIT"):
            self.flag_off(p, "P_PPWAIT")
            self.wakeup(("proc", p["ppid"]))
            summary += f"; P_PPWAIT cleared, {self.name_of(p['ppid'])} woken"
        self.note("exec", "kern_exec.c (not a seed); E003:225-228", summary)
        return self.syscall_return(key, frame, ret=None)
