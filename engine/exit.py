"""exit1, killalllwps, lwp_exit, the LWP's final switch-out and the dead-LWP reaper task
(kernel-semantics rules 19-29; E003:118-773, 1121-1159; the 2014 exit1 appendix).

exit1 runs as a chain of phases, each one event: the points where the seed sleeps
(killlwps, the task leader's wait for its peers) are where the chain can stop, and each
reparented orphan is an event of its own.
"""

from .constants import CONT, DONE, GONE, SIGKILL, TASK
from .invariants import problem
from .seeds import ref
from .waitstatus import short_text


class ExitOps:
    """Process and LWP exit."""

    # ------------------------------------------------------------------ entry points
    def exit_frame(self, rv, step=None):
        """The continuation of an LWP that runs exit1(rv)."""
        return {"call": "exit", "pc": "exit1", "rv": rv, "step": step, "origin": step,
                "dying": True}

    def post_exit(self, pid, tid, rv):
        """Make LWP (pid, tid) run exit1(rv) as soon as it can (a fatal signal).

        Idle: it runs next.  Asleep in wait4 (interruptible, E003:1034): the sleep ends
        with EINTR first.  Asleep uninterruptibly or mid-syscall: on its way out."""
        key = (pid, tid)
        frames = self.priv["frames"]
        frame = frames.get(key)
        dying = self.exit_frame(rv)
        if frame is None:
            frames[key] = dying
            self.lset(pid, tid, "state", "LSRUN")
            self.enqueue(key)
        elif frame.get("dying") or frame.get("pending"):
            return
        elif frame.get("wchan") == "wait4":
            self.unsleep(key)
            frame["wchan"] = None
            frame["pc"] = "eintr"
            frame["pending"] = dying
            self.lset(pid, tid, "state", "LSRUN")
            self.lset(pid, tid, "blocked", None)
            self._refresh_blocked(pid)
            self.enqueue(key)
        else:
            frame["pending"] = dying

    def eintr(self, key, frame):
        """An interruptible sleep (wait4's "wait", E003:1034) ends with EINTR."""
        self.note("tsleep", "E003:1034-1039",
                  f"{self.name_of(*key)}: signal interrupts wait4: EINTR")
        return self.syscall_return(key, frame, errno="EINTR")

    def extexit(self, key, frame):
        """sys_extexit (E003:131-187): an LWP exit if others remain, else exit1."""
        pid, tid = key
        p = self.proc(pid)
        if frame["who"] not in ("lwp", "proc") or frame.get("action", 0) not in (0, 1):
            self.note("extexit", "E003:141-160", "extexit with a bad who/action: EINVAL")
            return self.syscall_return(key, frame, errno="EINVAL")
        self.record_result(frame)
        if frame["who"] == "lwp" and p["nthreads"] > 1:
            frame["dying"] = True
            self.note("extexit", "E003:164-175",
                      f"extexit(EXTEXIT_LWP): {p['nthreads']} threads, so lwp_exit(0)")
            return self.goto(key, frame, "lwp_exit")
        frame.update(self.exit_frame(frame["rv"]))
        self.note("extexit", "E003:176-181", "extexit: last thread, the full exit1")
        return self.goto(key, frame, "exit1")

    # ------------------------------------------------------------------ exit1
    def exit1(self, key, frame):
        """exit1 entry and killalllwps (E003:273-304, 199-266).

        Mutates P_WEXIT and the other LWPs' LWP_MP_WEXIT; SIGKILLs them.  If another LWP
        is already exiting the process, this one just does lwp_exit(0)."""
        pid, tid = key
        p = self.proc(pid)
        self.record_result(frame)
        frame["dying"] = True
        if self.has(p, "P_WEXIT"):
            self.note("lwp_exit", "E003:300-304",
                      f"exit1 by {self.name_of(pid, tid)}: P_WEXIT already set "
                      "(killalllwps: EALREADY), so lwp_exit(0)")
            frame["master"] = 0
            return self.goto(key, frame, "lwp_exit")
        killed = self.killalllwps(p, tid)
        frame["master"] = 1
        self.note("killalllwps", "E003:199-266",
                  f"exit1 by {self.name_of(pid, tid)}: P_WEXIT set"
                  + (f"; SIGKILL to LWP {', '.join(map(str, killed))}" if killed else ""))
        if p["nthreads"] > 1:
            return self.tsleep(key, ("nthreads", pid), "killlwps", "killlwps_wait")
        return self._exit1_next_after_lwps(key, frame, p)

    def killalllwps(self, p, tid):
        """Set P_WEXIT and kill every other LWP not already exiting (E003:199-258)."""
        self.flag_on(p, "P_WEXIT")
        self._mark_mpwexit(p["pid"], tid)
        killed = []
        for t in sorted(p["lwps"], key=int):
            lwp = p["lwps"][t]
            if int(t) != tid and "LWP_MP_WEXIT" not in lwp["mpflags"]:
                self._mark_mpwexit(p["pid"], int(t))
                self.post_exit(p["pid"], int(t), SIGKILL)
                killed.append(int(t))
        return killed

    def _mark_mpwexit(self, pid, tid):
        lwp = self.lwp(pid, tid)
        if lwp is not None and "LWP_MP_WEXIT" not in lwp["mpflags"]:
            self.lset(pid, tid, "mpflags", lwp["mpflags"] + ["LWP_MP_WEXIT"])

    def killlwps_wait(self, key, frame):
        """killlwps: `while (p->p_nthreads > 1) tsleep(&p->p_nthreads, "killlwps")`."""
        p = self.proc(key[0])
        if p["nthreads"] > 1:
            self.note("killlwps", "E003:263-265",
                      f"killlwps: nthreads still {p['nthreads']}, sleeps again")
            return self.tsleep(key, ("nthreads", key[0]), "killlwps", "killlwps_wait")
        self.note("killlwps", "E003:263-265", "killlwps: the other LWPs are gone")
        if frame["call"] == "exec":
            return self.goto(key, frame, "exec_done")
        return self._exit1_next_after_lwps(key, frame, p)

    def _exit1_next_after_lwps(self, key, frame, p):
        if p["leader"] == p["pid"] and p["peers"] is not None:
            frame["pc"] = "exit1_peers"
        else:
            frame["pc"] = "exit1_status"
        return CONT

    def exit1_peers(self, key, frame):
        """A task leader kills its RFTHREAD peers and sleeps until none is left
        (E003:308-325).  Each kill is a sys_kill, permission check included: a peer the
        leader may not signal (EPERM, ignored) lives on, and the leader sleeps in
        `while (p->p_peers) tsleep(p, "exit1")` until it exits by itself.  Mutates nothing
        itself; the peers exit on their own."""
        p = self.proc(key[0])
        if p["peers"] is None:
            self.note("exit1", "E003:323-324", f"{p['name']}: no peers left")
            frame["pc"] = "exit1_status"
            return CONT
        if not frame.get("peers_killed"):
            frame["peers_killed"] = True
            names = []
            q = p["peers"]
            while q is not None:
                peer = self.proc(q)
                errno, _ = self.sys_kill(p, q, SIGKILL)
                names.append(peer["name"] + (f" ({errno}, ignored)" if errno else ""))
                q = peer["peers"]
            self.note("exit1", "E003:308-322",
                      f"task leader {p['name']} sends SIGKILL to its peers {', '.join(names)}")
        else:
            self.note("exit1", "E003:323-324", f"{p['name']}: peers remain, sleeps again")
        return self.tsleep(key, ("proc", key[0]), "peers", "exit1_peers")

    def exit1_status(self, key, frame):
        """Save the exit status, clear P_TRACED|P_PPWAIT, leave the peer list
        (E003:338-378).  Mutates xstat, flags, the leader's peer chain.

        Where the vfork parent is woken differs by profile.  2011 (classic): P_PPWAIT is
        cleared here and the parent woken only by exit1's final wakeup(p->p_pptr)
        (E003:560), after the zombie move and any PS_NOCLDWAIT hand-over.  2014 (reaper):
        sys_vfork PHOLDs the child across the parent's ppwait sleep (F000:136-141) and
        proc_move_allproc_zombie waits for the child's p_lock (E003:482-488), so the 2014
        kern_exit.c clears P_PPWAIT and wakes the parent here, before the zombie move
        ("We have to handle PPWAIT here or proc_move_allproc_zombie() will block on the
        PHOLD() the parent is doing")."""
        pid = key[0]
        p = self.proc(pid)
        self.pset(p, "xstat", frame["rv"])
        self.flag_off(p, "P_TRACED")
        ppwait = self.has(p, "P_PPWAIT")
        self.flag_off(p, "P_PPWAIT")
        summary = f"{p['name']}: exit status {short_text(frame['rv'])} saved"
        if ppwait and self.profile == "reaper":
            self.wakeup(("proc", p["ppid"]))
            summary += (f"; P_PPWAIT cleared and the vfork parent {self.name_of(p['ppid'])} "
                        "woken now, before the zombie move (2014)")
        elif ppwait:
            summary += "; P_PPWAIT cleared (the vfork parent is woken below)"
        if p["leader"] != pid:
            self._unlink_peer(p)
            summary += f"; leaves task leader {self.name_of(p['leader'])}'s peers"
        # Only a vfork child's exit takes the 2014 path; others are the seed's own lines.
        self.note("exit1", ref("exit1_status", self.profile) if ppwait else "E003:338-378",
                  summary)
        frame["pc"] = "exit1_zombie"
        return CONT

    def _unlink_peer(self, p):
        """E003:372-378: unlink p from its leader's peer chain and wake the leader."""
        leader = self.proc(p["leader"])
        if leader is None or leader["peers"] is None:
            return
        q = leader
        while q["peers"] is not None and q["peers"] != p["pid"]:
            q = self.proc(q["peers"])
        if q["peers"] == p["pid"]:
            self.pset(q, "peers", p["peers"])
            self.pset(p, "peers", None)
        self.wakeup(("proc", leader["pid"]))

    def exit1_zombie(self, key, frame):
        """proc_move_allproc_zombie: the process becomes SZOMB (E003:482-488).

        In `reaper` the same event runs 2014's `reap = reaper_exit(p)` (F000:977-1003),
        under the same p_token, so a node is never owned by a zombie between events.
        p's reference moves into exit1's local `reap`, counted as the exiting process's
        hold until exit1_reaper_drop."""
        p = self.proc(key[0])
        self.pset(p, "state", "SZOMB")
        self.pset(p, "reaper", None)
        summary = f"{p['name']} ({p['pid']}) is a zombie"
        if self.profile == "reaper":
            held, released = self.reaper_exit(p)
            self.set_exithold(frame, held)
            if released is not None:
                summary += f"; reaper_exit releases its node {released}"
            summary += f"; exit1 holds node {held}"
        self.note("proc_move_allproc_zombie", ref("exit1_zombie", self.profile), summary)
        frame["pc"] = "exit1_orphans"
        return CONT

    def exit1_orphans(self, key, frame):
        """Move the first child to the new parent: init (classic, E003:490-517) or
        reaper_get of the node reaper_exit returned (2014).  One event per orphan."""
        p = self.proc(key[0])
        if not p["children"]:
            if frame.get("reproc") is not None:
                self.wakeup(("proc", frame["reproc"]))
            return self.goto(key, frame, "exit1_nocldwait")
        reproc, spliced = self._reproc(frame)
        q = self.proc(p["children"][0])
        self._move_child(q, p, reproc, "orphan")
        self.pset(q, "sigparent", "SIGCHLD")
        traced = ""
        if self.has(q, "P_TRACED"):
            self.flag_off(q, "P_TRACED")
            self.psignal(q, SIGKILL)
            traced = "; it was traced, so SIGKILL"
        why = "init" if self.profile == "classic" else "the nearest live reaper"
        self.note("proc_reparent", ref("exit1_orphan", self.profile),
                  f"{spliced}orphan {q['name']} ({q['pid']}) moves to {reproc['name']} "
                  f"({reproc['pid']}), {why}{traced}")
        if not p["children"]:
            self.wakeup(("proc", reproc["pid"]))
            frame["pc"] = "exit1_nocldwait"
        return CONT

    def _reproc(self, frame):
        """Where orphans (and a PS_NOCLDWAIT parent's zombie) go, computed once per exit:
        init in classic; in reaper, reaper_get(reap), or init if no owned node remains
        (F000:559-561).  Returns (process, a note of the dead nodes reaper_get spliced)."""
        spliced = ""
        if frame.get("reproc") is None:
            owner = 1
            if self.profile == "reaper":
                found, nodes = self.reaper_get(frame.get("reap"))
                owner = found if found is not None else 1
                if nodes:
                    spliced = f"reaper_get splices out dead node(s) {nodes}; "
            frame["reproc"] = owner
        return self.proc(frame["reproc"]), spliced

    def _move_child(self, q, old, new, reason):
        """LIST_REMOVE from old's children, LIST_INSERT_HEAD on new's (proc_reparent);
        the event records the move and its `reason` (REPARENT_REASONS)."""
        self.reparented(q["pid"], old["pid"], new["pid"], reason)
        self.doc.linked.add(q["pid"])
        self.children_remove(old, q["pid"])
        self.children_insert_head(new, q["pid"])
        self.pset(q, "ppid", new["pid"])

    def exit1_nocldwait(self, key, frame):
        """A parent with PS_NOCLDWAIT (classic) or PS_NOCLDWAIT|PS_CLDSIGIGN (reaper) does
        not keep zombies: the zombie goes to init / reaper_get(reap), and the old parent
        is woken if it has no children left (E003:531-550)."""
        p = self.proc(key[0])
        pp = self.proc(p["ppid"])
        flags = ("PS_NOCLDWAIT",) if self.profile == "classic" else (
            "PS_NOCLDWAIT", "PS_CLDSIGIGN")
        if not any(self.has(pp, f) for f in flags):
            return self.goto(key, frame, "exit1_reaper_drop")
        target, spliced = self._reproc(frame)
        seed = ref("exit1_nocldwait", self.profile)
        if target["pid"] == pp["pid"]:
            self.note("proc_reparent", seed,
                      f"{spliced}parent {pp['name']} ignores SIGCHLD, but it is also the "
                      f"reaper: zombie {p['name']} stays")
        else:
            # PS_NOCLDWAIT is SA_NOCLDWAIT; 2014 also hands over when SIGCHLD is ignored.
            reason = "nocldwait" if self.has(pp, "PS_NOCLDWAIT") else "sigchld-ignored"
            self._move_child(p, pp, target, reason)
            self.note("proc_reparent", seed,
                      f"{spliced}parent {pp['name']} has "
                      f"{'/'.join(f for f in flags if self.has(pp, f))}:"
                      f" zombie {p['name']} handed to {target['name']} ({target['pid']})")
            if not pp["children"]:
                self.wakeup(("proc", pp["pid"]))
        frame["pc"] = "exit1_reaper_drop"
        return CONT

    def exit1_reaper_drop(self, key, frame):
        """2014 exit1: `if (reap) reaper_drop(reap)`: the exiting process's last reference."""
        reap = frame.get("reap")
        if reap is None:
            return self.goto(key, frame, "exit1_signal")
        self.set_exithold(frame, None)
        freed = self.reaper_drop(reap)
        self.note("reaper_drop", "F000:933-948",
                  f"{self.name_of(key[0])} drops its hold on node {reap}"
                  + (f"; node(s) {freed} freed" if freed else ""))
        frame["pc"] = "exit1_signal"
        return CONT

    def exit1_signal(self, key, frame):
        """Signal and wake the (possibly new) parent (E003:552-561): p_sigparent unless the
        parent is init, else SIGCHLD."""
        p = self.proc(key[0])
        q = self.proc(p["ppid"])
        sig = p["sigparent"] if (p["sigparent"] and q["pid"] != 1) else "SIGCHLD"
        self.deliver(q, sig)
        self.wakeup(("proc", q["pid"]))
        self.note("ksignal", ref("exit1_signal", self.profile),
                  f"{sig} to parent {q['name']} ({q['pid']}); wakeup")
        frame["pc"] = "lwp_exit"
        frame["master"] = 1
        return CONT

    # ------------------------------------------------------------------ lwp_exit
    def lwp_exit(self, key, frame):
        """lwp_exit(masterexit) (E003:591-685).

        master 0: WEXIT, out of the LWP tree, nthreads - 1, onto the dead-LWP list, the
        reaper task queued.  master 1: nthreads - 1 only; wait4 reaps it.  Both PHOLD the
        process (our `lock`) and wake sleepers on p_nthreads when it drops to <= 1."""
        pid, tid = key
        p = self.proc(pid)
        master = frame.get("master", 0)
        self._mark_mpwexit(pid, tid)
        self.lset(pid, tid, "exit", "WEXIT")
        self.lset(pid, tid, "blocked", None)
        self.pset(p, "lock", p["lock"] + 1)                       # PHOLD, E003:639
        if master == 0:
            lwp = self.doc.remove(p["lwps"], self.ppath(p) + "/lwps", str(tid))
            self._refresh_blocked(pid)
            self.doc.insert(self.root["deadlwps"], "/deadlwps", 0,
                            {"pid": pid, "tid": tid, "exit": lwp["exit"],
                             "tdflags": lwp["tdflags"], "td_refs": lwp["td_refs"]})
            self.taskqueue_enqueue()
        self.pset(p, "nthreads", p["nthreads"] - 1)
        where = "stays in the tree for wait4" if master else "goes on the dead-LWP list"
        self.note("lwp_exit", "E003:591-685",
                  f"LWP {self.name_of(pid, tid)} exits (master {master}), nthreads "
                  f"{p['nthreads']}; it {where}")
        if p["nthreads"] <= 1:
            self.wakeup(("nthreads", pid))
        frame["pc"] = "cpu_thread_exit"
        return CONT

    def cpu_thread_exit(self, key, frame):
        """cpu_lwp_exit -> cpu_thread_exit: TDF_EXITING is set while the thread is still
        on its CPU (E003:684, 687-693)."""
        self.lset(*key, "exit", "EXITING")
        self.lset(*key, "tdflags", ["TDF_RUNNING", "TDF_EXITING"])
        self.note("cpu_thread_exit", "E003:684, 687-693",
                  f"{self.name_of(*key)}: TDF_EXITING set, still on its CPU")
        frame["pc"] = "lwkt_switch"
        return CONT

    def lwkt_preempt(self, key, frame):
        """Choice mode only: the exiting thread's final switch is preempted.  TDF_RUNNING
        is briefly clear (E003:727-731) and the preempting thread holds a reference on it
        (td_refs) until it switches back."""
        self.lset(*key, "tdflags", ["TDF_EXITING"])
        self.lset(*key, "td_refs", 1)
        frame["preempted"] = True
        self.note("lwkt_preempt", "E003:724-731",
                  f"{self.name_of(*key)}'s final switch is preempted: TDF_RUNNING briefly "
                  "clear, td_refs 1")
        frame["pc"] = "lwkt_preempt_done"
        return CONT

    def lwkt_preempt_done(self, key, frame):
        """The preemption ends: the exiting thread runs again to finish its switch."""
        self.lset(*key, "tdflags", ["TDF_RUNNING", "TDF_EXITING"])
        self.lset(*key, "td_refs", 0)
        self.note("lwkt_preempt", "E003:724-731",
                  f"{self.name_of(*key)} resumes its final switch (TDF_RUNNING, td_refs 0)")
        self.wakeup(("lwp",) + tuple(key))
        frame["pc"] = "lwkt_switch"
        return CONT

    def lwkt_switch(self, key, frame):
        """The final switch-out: the thread is dead and may now be disposed."""
        self.lset(*key, "exit", "SWITCHED_OUT")
        self.lset(*key, "tdflags", ["TDF_EXITING"])
        self.note("lwkt_switch", "E003:724-742",
                  f"{self.name_of(*key)} switches out for the last time")
        del self.priv["frames"][key]
        self.wakeup(("lwp",) + tuple(key))
        return GONE

    # ------------------------------------------------------------------ reaper task
    def taskqueue_enqueue(self):
        """Queue the dead-LWP reaper task unless it is already pending (E003:667-668)."""
        if self.priv["task"] is None:
            self.priv["task"] = {"lp": None, "blocked": None}
            self.enqueue(TASK)

    def reaplwps_step(self):
        """One scheduling step of reaplwps (E003:1124-1144): take the first dead LWP and
        reaplwp it: lwp_wait until it may be freed, then lwp_dispose."""
        task = self.priv["task"]
        task["blocked"] = None
        if task["lp"] is None:
            dead = self.root["deadlwps"]
            if not dead:
                self.note("reaplwps", "E003:1131", "dead-LWP list empty; task done")
                self.priv["task"] = None
                return DONE
            task["lp"] = (dead[0]["pid"], dead[0]["tid"])
        pid, tid = task["lp"]
        outcome = self.reaplwp(TASK, task, pid, tid, "reaplwps", "reaplwps")
        if outcome != "disposed":
            return outcome
        task["lp"] = None
        if self.root["deadlwps"]:
            return CONT
        self.priv["task"] = None
        return DONE

    def lwp_entry(self, pid, tid):
        """The dict holding an exiting LWP's thread state (tree or dead-LWP list)."""
        lp = self.lwp(pid, tid)
        if lp is not None:
            return lp
        for d in self.root["deadlwps"]:
            if d["pid"] == pid and d["tid"] == tid:
                return d
        return None

    def lwp_wait(self, pid, tid):
        """lwp_wait after the fix (E003:698-747), as one pass: the thread is unreferenced
        (td_refs 0), has TDF_EXITING and no longer runs."""
        e = self.lwp_entry(pid, tid)
        return e["td_refs"] == 0 and e["tdflags"] == ["TDF_EXITING"]

    def reaplwp(self, actor, holder, pid, tid, pc, by):
        """One scheduling step of `while (lwp_wait(lp) == 0) ...; lwp_dispose(lp)`.

        after-fix (E003:698-747): one pass checks that the thread is unreferenced
        (td_refs 0), has TDF_EXITING and no longer runs; any unmet condition sleeps and
        the caller re-checks all of them.  before-fix (kernel-semantics rule 40, the
        parent of 2af9d75dac79): lwkt_wait_free waits for td_refs == 0 (sleeping in
        "tdreap"), and only then, at another moment, the flags are looked at; so the two
        observations can straddle a preemption of the thread's final switch.
        Returns "disposed", or the outcome of a sleep or of a step that goes on."""
        e = self.lwp_entry(pid, tid)
        name = self.name_of(pid, tid)
        chan = ("lwp", pid, tid)
        ready = e["tdflags"] == ["TDF_EXITING"]          # TDF_EXITING, not running
        if self.race == "after-fix":
            if not self.lwp_wait(pid, tid):
                self.note("lwp_wait", "E003:698-747",
                          f"lwp_wait({name}): still referenced or on its CPU; retry")
                return self.tsleep(actor, chan, "lwpwait2", pc)
            self.note("lwp_dispose", "E003:1138-1144, 753-773", f"{by}: {name} disposed")
            self.lwp_dispose(pid, tid, by)
            return "disposed"
        if holder.get("stage") != "flags":
            if e["td_refs"]:
                self.note("lwkt_wait_free", "rule 40 (pre-fix lwp_wait)",
                          f"lwkt_wait_free({name}): td_refs {e['td_refs']}, sleeps tdreap")
                return self.tsleep(actor, chan, "tdreap", pc)
            holder["stage"] = "flags"
            self.note("lwkt_wait_free", "rule 40 (pre-fix lwp_wait)",
                      f"lwkt_wait_free({name}): td_refs 0")
            return CONT
        holder["stage"] = None
        if not ready:
            self.note("lwp_wait", "rule 40 (pre-fix lwp_wait)",
                      f"lwp_wait({name}): flags {'|'.join(e['tdflags'])}: not yet; lwpreap")
            return self.tsleep(actor, chan, "lwpreap", pc)
        self.note("lwp_dispose", "rule 40 (pre-fix reaplwp)",
                  f"{by}: lwp_wait({name}) sees only TDF_EXITING; disposed")
        self.lwp_dispose(pid, tid, by)
        return "disposed"

    def lwp_dispose(self, pid, tid, by):
        """Free a dead LWP (E003:753-773): off the dead list or tree, PRELE the process.

        Disposing an LWP that has not switched out is the use-after-free of rule 40: the
        invariant check reports it, naming the LWP and the reaper that freed it."""
        e = self.lwp_entry(pid, tid)
        if e["exit"] != "SWITCHED_OUT":
            self.priv.setdefault("uaf", []).append(problem(
                "use-after-free",
                f"use-after-free: LWP {self.name_of(pid, tid)} disposed by {by} while still "
                f"running ({e['exit']}, {'|'.join(e['tdflags']) or 'no flags'}, "
                f"td_refs {e['td_refs']})", pid, tid))
            frames = self.priv["frames"]
            if (pid, tid) in frames:            # the freed thread runs on: mark it
                frames[(pid, tid)]["freed"] = True
        dl = self.root["deadlwps"]
        for i, d in enumerate(dl):
            if d["pid"] == pid and d["tid"] == tid:
                self.doc.pop(dl, "/deadlwps", i)
                break
        else:
            p = self.proc(pid)
            self.doc.touched.add(pid)
            self.doc.remove(p["lwps"], self.ppath(p) + "/lwps", str(tid))
        p = self.proc(pid)
        self.pset(p, "lock", p["lock"] - 1)                       # PRELE, E003:764
        self.wakeup(("plock", pid))
