"""The Kernel: one object holding the whole model state, and the event machinery.

State lives in two places.  The *state document* (architecture.md, contract) is a JSON
tree mutated only through `Doc`, so every event carries its exact patch and inverse.
The *private* part is what the kernel keeps on stacks and queues: the continuation of
each LWP's system call (`frames`), the run queue, sleep queues and counters.  Both are
plain data, so a checkpoint is one pickle and a state hash is one canonical dump.

A system call is a sequence of events.  Each event runs one *action*: a scripted step
starting a syscall, the continuation of an LWP's syscall at its `pc`, or kernel work
(the dead-LWP reaper task).  Continuations sleep on channels and are made runnable only
by `wakeup(channel)`, as in the kernel; they then re-check their condition.
"""

import logging
import pickle
from collections import deque

from .constants import CONT, DONE, PROC_FLAG_ORDER, REPARENT_REASONS, SLEEP, TASK
from .doc import Doc, LeanDoc
from .errors import LimitExceeded
from .exit import ExitOps
from .fork import ForkOps
from .invariants import InvariantOps
from .reaper import ReaperOps
from .signals import SignalOps
from .wait import WaitOps

log = logging.getLogger(__name__)


MAX_EVENTS = 5_000_000       # a runaway scenario stops here, as maxproc stops forks
MAX_MAXPROC = 250_000        # the largest maxproc a scenario may ask for


class Kernel(ForkOps, ExitOps, WaitOps, ReaperOps, SignalOps, InvariantOps):
    """The DragonFly process-lifecycle model (profiles `classic` and `reaper`)."""

    def __init__(self, profile="reaper", race="after-fix", maxproc=1000, nproc=None,
                 check=True, record=True):
        """`record=False` keeps no patches (events carry `ops`/`inverse` None): for runs
        that only read the events' text, the RESULTs and the final document."""
        self.profile = profile
        self.race = race
        self.check = check
        self.record = record
        self.doc_class = Doc if record else LeanDoc     # what adopt() wraps a state in
        self.doc = self.doc_class({
            "kernel": profile, "race": race, "seq": 0, "nprocs": 0,
            "procs": {}, "reapers": {}, "deadlwps": [],
            "limits": {"maxproc": maxproc, "nproc": nproc}, "uidcount": {},
        })
        self.priv = {
            "nextpid": 0, "nextnode": 1, "nextsigacts": 0,
            "runq": deque(), "current": None, "sleepq": {}, "frames": {},
            "parked": [], "task": None, "members": {}, "nodekids": {}, "exitholds": {},
            "initreleased": False, "choice": False, "listed": {},
        }
        self.procs = self.doc.root["procs"]
        self.event = None
        self._boot()

    # ------------------------------------------------------------------ accessors
    @property
    def root(self):
        return self.doc.root

    @property
    def seq(self):
        return self.doc.root["seq"]

    def proc(self, pid):
        """The process dict of pid, or None once reaped."""
        return self.procs.get(str(pid))

    def lwp(self, pid, tid):
        """The LWP dict of (pid, tid) in its process's tree, or None."""
        p = self.proc(pid)
        return p["lwps"].get(str(tid)) if p else None

    @staticmethod
    def ppath(p):
        return "/procs/" + str(p["pid"])

    def pset(self, p, key, value):
        """Set a field of process p."""
        self.doc.touched.add(p["pid"])
        self.doc.set(p, self.ppath(p), key, value)

    def lset(self, pid, tid, key, value):
        """Set a field of an LWP, whether in its process's tree or on the dead-LWP list."""
        lp = self.lwp(pid, tid)
        if lp is not None:
            self.doc.touched.add(pid)
            self.doc.set(lp, f"/procs/{pid}/lwps/{tid}", key, value)
            return
        for i, d in enumerate(self.root["deadlwps"]):
            if d["pid"] == pid and d["tid"] == tid:
                self.doc.set(d, f"/deadlwps/{i}", key, value)
                return

    def children_insert_head(self, parent, pid):
        """LIST_INSERT_HEAD(&parent->p_children, p, p_sibling) (F000:570, proc_reparent).

        `priv["listed"]` counts each (parent, child) listing, so that the child-listed-once
        check costs one lookup instead of a count over a list of thousands (init's
        orphans); check_all still counts the lists themselves."""
        self.doc.touched.add(parent["pid"])
        self.doc.insert(parent["children"], self.ppath(parent) + "/children", 0, pid)
        listed = self.priv["listed"]
        k = (parent["pid"], pid)
        listed[k] = listed.get(k, 0) + 1

    def children_remove(self, parent, pid):
        """LIST_REMOVE(p, p_sibling) from parent's children (proc_reparent, kern_wait)."""
        self.doc.touched.add(parent["pid"])
        children = parent["children"]
        self.doc.pop(children, self.ppath(parent) + "/children", children.index(pid))
        listed = self.priv["listed"]
        k = (parent["pid"], pid)
        if listed[k] == 1:
            del listed[k]
        else:
            listed[k] -= 1

    def flag_on(self, p, flag):
        if flag not in p["flags"]:
            flags = [f for f in PROC_FLAG_ORDER if f in p["flags"] or f == flag]
            self.pset(p, "flags", flags)

    def flag_off(self, p, flag):
        if flag in p["flags"]:
            self.pset(p, "flags", [f for f in p["flags"] if f != flag])

    @staticmethod
    def has(p, flag):
        return flag in p["flags"]

    def set_nprocs(self, delta):
        root = self.root
        self.doc.set(root, "", "nprocs", root["nprocs"] + delta)

    def name_of(self, pid, tid=None):
        p = self.proc(pid)
        name = p["name"] if p else str(pid)
        return name if tid is None else f"{name}.{tid}"

    def live_tids(self, p):
        """tids of p's LWPs that have not begun to exit, lowest first."""
        return sorted(int(t) for t, lp in p["lwps"].items() if lp["exit"] is None)

    # ------------------------------------------------------------------ boot
    def _boot(self):
        """Rules 1-3: proc0 (swapper) and init (pid 1), nprocs 2, init's static node."""
        root = self.root
        p0 = self._new_proc(0, "swapper", 0, uid=0, pgid=0, node=None)
        p0["state"] = "SACTIVE"
        p0["lwps"]["0"] = self._new_lwp(0)
        p0["nthreads"], p0["lasttid"] = 1, 0
        p0["leader"] = 0
        root["procs"]["0"] = p0
        init = self._new_proc(1, "init", 0, uid=0, pgid=1, node=None)
        init["state"] = "SACTIVE"
        init["lwps"]["0"] = self._new_lwp(0)
        init["nthreads"], init["lasttid"] = 1, 0
        if self.profile == "reaper":
            init["flags"] = ["P_MAYBETHREADED"]       # lwp_fork, F000:735
        root["procs"]["1"] = init
        p0["children"] = [1]
        self.priv["listed"][(0, 1)] = 1
        self.priv["nextpid"] = 2
        root["nprocs"] = 2
        root["uidcount"] = {"0": 2}
        if self.profile == "reaper":
            self.reaper_init(init)
        self.doc.take()

    def _new_proc(self, pid, name, ppid, uid, pgid, node):
        sigacts = self.priv["nextsigacts"]
        self.priv["nextsigacts"] += 1
        return {
            "pid": pid, "name": name, "ppid": ppid, "state": "SIDL", "uid": uid,
            "pgid": pgid, "flags": [], "children": [], "lwps": {}, "nthreads": 0,
            "lasttid": -1, "reaper": None, "xstat": None, "sigparent": "SIGCHLD",
            "blocked": None, "node": node, "leader": pid, "peers": None,
            "sigacts": sigacts, "lock": 0, "siglist": [], "oppid": 0,
        }

    @staticmethod
    def _new_lwp(tid):
        return {"tid": tid, "state": "LSRUN", "exit": None, "blocked": None, "mpflags": [],
                "tdflags": ["TDF_RUNNING"], "td_refs": 0}

    # ------------------------------------------------------------------ events
    def begin(self, actor, kind, seed, summary=""):
        """Open an event; the handler fills in kind, seed, summary and result.

        Beside the prose `summary`, an event says what happened in fields that readers
        use instead of parsing text (docs/protocol.md "Event records"): the actor's
        `pid`/`tid` (null for kernel work), `created` (the pid a fork made), `reparent`
        ({pid, from, to, reason}: REPARENT_REASONS) and `violations`."""
        pid, tid = (None, None) if actor == "kernel" else actor
        self.event = {"seq": None, "actor": actor, "name": None, "kind": kind,
                      "summary": summary, "seed": seed, "step": None, "result": None,
                      "violation": None, "pid": pid, "tid": tid, "created": None,
                      "reparent": None, "violations": None}

    def reparented(self, pid, old, new, reason):
        """Record on the current event that `pid`'s parent went from `old` to `new`, and
        why (one of REPARENT_REASONS, decided where the kernel decides it).  Each
        reparenting is an event of its own, so an event records at most one."""
        assert reason in REPARENT_REASONS, reason
        self.event["reparent"] = {"pid": pid, "from": old, "to": new, "reason": reason}

    def note(self, kind, seed, summary):
        """Name what the current event does (the kernel function and its seed lines).

        When one event runs through several phases (`goto`), the first visible phase
        names the event and later ones add to its summary."""
        ev = self.event
        if ev.get("named"):
            ev["summary"] += "; " + summary
            return
        ev["kind"], ev["seed"], ev["summary"], ev["named"] = kind, seed, summary, True

    def goto(self, key, frame, pc):
        """Continue at `pc` within the same event (a phase with nothing visible to do)."""
        frame["pc"] = pc
        return getattr(self, pc)(key, frame)

    def finish(self):
        """Close the event: bump seq, collect its patch and check the invariants."""
        root = self.root
        if root["seq"] >= MAX_EVENTS:
            raise LimitExceeded(f"event limit reached ({MAX_EVENTS} events)")
        self.doc.set(root, "", "seq", root["seq"] + 1)
        ev = self.event
        ev.pop("named", None)
        ev["seq"] = root["seq"]
        actor = ev["actor"]
        if actor == "kernel":
            ev["name"] = "kernel"
        else:
            pid, tid = actor
            ev["name"] = self.name_of(pid, tid) if self.proc(pid) else f"{pid}.{tid}"
            ev["actor"] = f"{pid}/{tid}"
        linked = self.doc.linked
        self.doc.linked = set()
        ops, inv, touched = self.doc.take()
        ev["ops"], ev["inverse"] = ops, inv
        self.event = None
        out = [ev]
        if self.check:
            problems = self.check_incremental(touched, linked)
            if problems:
                out.append(self._violation_event(problems))
        return out

    def _violation_event(self, problems):
        """A violated invariant is an event of its own, never a crash.  `violations` are
        the problems as records ({invariant, pid, tid, message}); `violation` their
        messages in one line, for the log."""
        root = self.root
        self.doc.set(root, "", "seq", root["seq"] + 1)
        ops, inv, _ = self.doc.take()
        msg = "; ".join(p["message"] for p in problems)
        log.info("invariant violated at seq %d: %s", root["seq"], msg)
        return {"seq": root["seq"], "actor": "kernel", "name": "kernel", "kind": "violation",
                "summary": "invariant violated: " + msg, "seed": "", "step": None,
                "result": None, "violation": msg, "ops": ops, "inverse": inv,
                "pid": None, "tid": None, "created": None, "reparent": None,
                "violations": problems}

    # ------------------------------------------------------------------ scheduling
    def enqueue(self, key):
        """Make an action runnable.  The run queue is FIFO, so ties are broken by arrival
        order, as SimPy's counter breaks them: the same scenario always runs the same way."""
        runq = self.priv["runq"]
        if key not in runq and key != self.priv["current"]:
            runq.append(key)

    def wakeup(self, chan):
        """wakeup(chan): every sleeper on chan becomes runnable and will re-check."""
        sleepers = self.priv["sleepq"].pop(chan, None)
        if not sleepers:
            return 0
        for key in sleepers:
            if key != TASK:
                pid, tid = key
                self.priv["frames"][key]["wchan"] = None
                self.lset(pid, tid, "state", "LSRUN")
                self.lset(pid, tid, "blocked", None)
                self._refresh_blocked(pid)
            self.enqueue(key)
        return len(sleepers)

    def tsleep(self, key, chan, reason, pc):
        """Put the acting LWP to sleep on chan; `pc` runs when it is woken.  The reaper
        task always resumes in reaplwps_step, which finds its place from task["lp"]."""
        self.priv["sleepq"].setdefault(chan, []).append(key)
        if key == TASK:
            self.priv["task"]["blocked"] = reason
            return SLEEP
        frame = self.priv["frames"][key]
        frame["pc"] = pc
        frame["wchan"] = reason
        pid, tid = key
        self.lset(pid, tid, "state", "LSSLEEP")
        self.lset(pid, tid, "blocked", reason)
        self._refresh_blocked(pid)
        return SLEEP

    def unsleep(self, key):
        """Take key off whatever sleep queue holds it (an interrupted sleep)."""
        for chan, keys in list(self.priv["sleepq"].items()):
            if key in keys:
                keys.remove(key)
                if not keys:
                    del self.priv["sleepq"][chan]
                return chan
        return None

    def _refresh_blocked(self, pid):
        """A process's `blocked` is that of its first blocked LWP (contract)."""
        p = self.proc(pid)
        if p is None:
            return
        reason = None
        for t in sorted(p["lwps"], key=int):
            if p["lwps"][t]["blocked"]:
                reason = p["lwps"][t]["blocked"]
                break
        self.pset(p, "blocked", reason)

    def runnable(self):
        """Actions that could run next, in the deterministic order (current first)."""
        cur = self.priv["current"]
        keys = [cur] if cur is not None else []
        keys.extend(k for k in self.priv["runq"] if self._can_run(k))
        return keys

    def _can_run(self, key):
        """Whether action `key` may run now.  A stopped process's threads do not run in
        user mode, but a thread woken inside a system call runs that call's kernel code
        as far as the kernel does: its sleep loop re-checks and sleeps again, kern_wait's
        loop stops in tstop, a finished call stops on its way out (stop_at_userret).
        proc_stop made every runnable thread LSSTOP, so an LSRUN thread of a stopped
        process is one that was woken since.  A dying thread always runs (SIGKILL)."""
        if key == TASK:
            return True
        p = self.proc(key[0])
        if p is None:
            return False
        if p["state"] != "SSTOP":
            return True
        frame = self.priv["frames"].get(key)
        if frame is None:
            return False
        lwp = p["lwps"].get(str(key[1]))
        return bool(frame.get("dying")) or (lwp is not None and lwp["state"] == "LSRUN")

    def tstop(self, key, frame, pc, seed, why):
        """tstop(): the acting thread of a stopped process stops (LSSTOP, asleep in
        nothing) until SIGCONT, then resumes at `pc` (signals._unstop re-queues it)."""
        frame["pc"] = pc
        pid, tid = key
        self.lset(pid, tid, "state", "LSSTOP")
        self.lset(pid, tid, "blocked", None)
        self._refresh_blocked(pid)
        self.priv["parked"].append(key)
        self.note("tstop", seed, f"{self.name_of(pid, tid)}: its process is stopped: {why}")
        return SLEEP

    def stop_at_userret(self, key):
        """A system call that finished while its process is stopped does not reach user
        mode: userret's signal check stops the thread there (LSSTOP) until SIGCONT."""
        pid, tid = key
        p = self.proc(pid)
        lwp = self.lwp(pid, tid)
        if p is not None and p["state"] == "SSTOP" and lwp is not None and lwp["state"] == "LSRUN":
            self.lset(pid, tid, "state", "LSSTOP")
            self.event["summary"] += "; its process is stopped, so the thread stops on its way out"

    def step(self):
        """Run the next runnable action as one event; None when the kernel is quiescent."""
        cur = self.priv["current"]
        if cur is not None:
            return self.run_action(cur)
        runq = self.priv["runq"]
        while runq:
            key = runq.popleft()
            if self._can_run(key):
                return self.run_action(key)
            self.priv["parked"].append(key)
        return None

    def run_action(self, key, work=None):
        """Run one action: the task, or an LWP's continuation at its pc (or at `work`,
        one of works(key), in choice mode).  Returns the events it made.

        In the auto schedule a continuing LWP keeps its CPU (it runs next); in choice
        mode it goes back among the runnable actions, so anything may come in between."""
        runq = self.priv["runq"]
        if key in runq:
            runq.remove(key)
        if key == TASK:
            self.begin("kernel", "reaplwps", "E003:1124-1144")
            outcome = self.reaplwps_step()
        else:
            frame = self.priv["frames"][key]
            if work is not None:
                frame["pc"] = work
            self.begin(key, frame["pc"], "")
            self.event["step"] = frame.get("origin")
            outcome = getattr(self, frame["pc"])(key, frame)
        if outcome == CONT and self.priv["choice"]:
            self.priv["current"] = None
            self.enqueue(key)
        else:
            self.priv["current"] = key if outcome == CONT else None
        return self.finish()

    # ------------------------------------------------------------------ choice mode
    def works(self, key):
        """What runnable action `key` can do next (choice mode): usually one pc; an
        exiting thread about to switch out may instead be preempted first (once)."""
        if key == TASK:
            return [self.task_work()]
        frame = self.priv["frames"][key]
        if (frame["pc"] == "lwkt_switch" and self.priv["choice"]
                and not frame.get("preempted")):
            return ["lwkt_switch", "lwkt_preempt"]
        return [frame["pc"]]

    def task_work(self):
        """The dead-LWP task's next work, named as a trace writes it."""
        task = self.priv["task"]
        if task["lp"] is None and not self.root["deadlwps"]:
            return "reaplwps"
        if self.race == "before-fix" and task.get("stage") != "flags":
            return "lwkt_wait_free"
        return "lwp_dispose"

    def target(self, key):
        """The `kernel: WORK TARGET` target of a runnable action: NAME.TID of the LWP
        (for the task, of the dead LWP it works on), or '' when there is none."""
        if key == TASK:
            task = self.priv["task"]
            lp = task["lp"] or ((self.root["deadlwps"][0]["pid"], self.root["deadlwps"][0]["tid"])
                                if self.root["deadlwps"] else None)
            return self.name_of(*lp) if lp else ""
        return self.name_of(*key)

    def kernel_choices(self):
        """[(key, work, 'kernel: WORK TARGET')] for every runnable action, in order."""
        out = []
        for key in self.runnable():
            tgt = self.target(key)
            for work in self.works(key):
                out.append((key, work, f"kernel: {work} {tgt}".rstrip()))
        return out

    def start_syscall(self, key, step, call, **args):
        """A scripted step: build the syscall's frame and run its first event."""
        frame = {"call": call, "pc": call, "step": step, "origin": step, **args}
        self.priv["frames"][key] = frame
        return self.run_action(key)

    def syscall_return(self, key, frame, ret=None, errno=None, status=None, info=None):
        """The syscall of frame returns to user mode with its RESULT.

        A signal posted while the LWP slept uninterruptibly (ppwait, killlwps) acts now,
        on the way out, as the kernel's userret() would."""
        self.record_result(frame, ret=ret, errno=errno, status=status, info=info)
        pending = frame.get("pending")
        if pending is not None:
            self.priv["frames"][key] = pending
            return CONT
        del self.priv["frames"][key]
        self.stop_at_userret(key)
        return DONE

    def record_result(self, frame, ret=None, errno=None, status=None, info=None):
        """Attach the RESULT of frame's scripted step to the current event (once)."""
        if frame.get("step") is None:
            return
        self.event["result"] = {"step": frame["step"], "ret": ret, "errno": errno,
                                "status": status, "info": info, "blocked": None}
        frame["step"] = None

    # ------------------------------------------------------------------ checkpoints
    def snapshot(self):
        """The whole model state as bytes (a checkpoint)."""
        return pickle.dumps((self.doc.root, self.priv), protocol=pickle.HIGHEST_PROTOCOL)

    def restore(self, blob):
        """Return to a checkpoint taken by snapshot()."""
        self.adopt(*pickle.loads(blob))

    def adopt(self, root, priv):
        """Take (root, priv) as the whole model state (restore, Run.load)."""
        self.doc = self.doc_class(root)
        self.procs = root["procs"]         # the hottest lookup, one attribute away
        self.priv = priv
        self.event = None
