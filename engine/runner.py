"""Running a scenario on the Kernel: names, scripted steps, RESULTs, expectations, and
time travel (checkpoints every K events; `jump(n)` restores one and replays).

Scheduling (architecture.md, contract): after each scripted step, all kernel work it made
runnable runs to quiescence, each action its own event, before the next scripted step.

Two choice modes share one mechanism (kernel.priv['choice']): a file under
`schedule: choice` takes exactly one action per step, kernel work included, and nothing
else runs; an *interactive* run (the explorer, `ptree explore`) lists the actions that
could go next (`choices()`: runnable kernel work, and each actor's next scripted step in
its own order) and takes the one the caller picks (`choose()`).  The actions taken are
kept as a trace that `export_text()` writes as a `schedule: choice` file.
"""

import bisect
import contextlib
import gc
import hashlib
import logging
import marshal
import pickle
from collections import deque

from .constants import SIGNAMES
from .doc import Doc, ReplayDoc
from .errors import EngineError, Panic
from .kernel import Kernel
from .scenario import ScenarioError
from .waitstatus import (
    WEXITSTATUS,
    WIFCONTINUED,
    WIFEXITED,
    WIFSIGNALED,
    WIFSTOPPED,
    WSTOPSIG,
    WTERMSIG,
)

log = logging.getLogger(__name__)


class Run:
    """One scenario executing on one Kernel.  `step()` is the only primitive."""

    def __init__(self, scenario, check=True, checkpoint_every=256, interactive=False,
                 record=True):
        """`record=False` is a run read only forwards (`ptree run`, `ptree check`): no
        patches, no checkpoints and no ledger, so it cannot jump."""
        self.scenario = scenario
        self.record = record
        self.kernel = Kernel(scenario.kernel, scenario.race, scenario.limits["maxproc"],
                             scenario.limits["nproc"], check=check, record=record)
        self.interactive = interactive
        self.kernel.priv["choice"] = interactive or scenario.schedule == "choice"
        queues = {}
        if interactive:
            for st in scenario.steps:
                if st.call == "kernel":
                    raise ScenarioError(scenario.filename, st.line,
                                        "an interactive run chooses kernel work itself: "
                                        "`kernel:` steps belong to schedule: choice files")
                queues.setdefault(st.actor, []).append(st.index)
        self.state = {"pos": 0, "names": {}, "pending": deque(), "results": {},
                      "queues": queues, "trace": [], "started": []}
        # What grows with the steps taken (names, RESULTs, the trace) is not copied into
        # every checkpoint: each change is logged with its seq, and a jump moves along
        # that log to the checkpoint it restores (undoing or redoing changes).
        self.ledger = {key: ([], [], []) for key in self.LEDGERED}
        self.cursor = dict.fromkeys(self.LEDGERED, 0)
        self.every = checkpoint_every
        self._seqs = []
        self._blobs = {}         # the pickled processes of the last checkpoint, by pid key
        self._dirty = set()      # pid keys whose process changed since then
        self._digests = {}       # explore: each process's digest at the last mark()
        if record:
            self.checkpoints = {0: self._snapshot()}
            self.next_checkpoint = checkpoint_every
        else:
            self.checkpoints = {}
            self.next_checkpoint = float("inf")

    # ------------------------------------------------------------------ stepping
    @property
    def seq(self):
        return self.kernel.seq

    def step(self):
        """Apply the next event and return it; None when the scenario has ended."""
        st = self.state
        if not st["pending"]:
            if self.interactive:
                return None                      # nothing runs but what choose() takes
            try:
                if self.kernel.priv["choice"]:
                    evs = self._next_choice_step()
                else:
                    evs = self.kernel.step()
                    if evs is None:
                        if st["pos"] >= len(self.scenario.steps):
                            return None
                        st["pos"] += 1
                        evs = self._start(self.scenario.steps[st["pos"] - 1])
            except EngineError as e:
                raise self._error(e) from None
            if evs is None:
                return None
            st["pending"].extend(evs)
        ev = st["pending"].popleft()
        self._absorb(ev)
        if ev["seq"] >= self.next_checkpoint and not st["pending"]:
            self._checkpoint(ev["seq"])
        return ev

    def events(self):
        """Step to the end, yielding each event, with the collector paused meanwhile."""
        step = self.step
        with collector_paused():
            while (ev := step()) is not None:
                yield ev

    def _checkpoint(self, seq):
        """Keep a checkpoint (or, replaying, find the one kept here before).  A
        checkpoint re-pickles only the processes changed since the last one, but still
        copies a reference per process: spacing them by the number of processes keeps
        that part of the cost per event flat as the tree grows."""
        ck = self.checkpoints.get(seq)
        if ck is None:
            ck = self.checkpoints[seq] = self._snapshot()
        else:
            self._blobs, self._dirty = ck[0], set()
        self.next_checkpoint = seq + max(self.every, self.kernel.root["nprocs"] // 8)

    def run(self):
        """Step to the end; returns the number of events."""
        while self.step() is not None:
            pass
        return self.seq

    def _error(self, e):
        st = self.scenario.steps[max(self.state["pos"] - 1, 0)]
        return ScenarioError(self.scenario.filename, st.line, str(e))

    def _absorb(self, ev):
        st = self.state
        ops = ev["ops"]
        if ops:
            dirty = self._dirty
            for op in ops:               # the patch names every process the event changed
                path = op["path"]
                if path.startswith("/procs/"):
                    dirty.add(path.split("/", 3)[2])
        created = ev["created"]
        if created is not None:
            # The step's name binds to the pid fork1 made (a failed fork binds none).
            name = self.kernel.proc(created)["name"]
            st["names"][name] = created
            self._log(ev["seq"], "names", name, created)
        if ev["step"] is not None:
            ev["line"] = self.scenario.steps[ev["step"] - 1].line
        else:
            ev["line"] = None
        res = ev.get("result")
        if res is not None:
            step = self.scenario.steps[res["step"] - 1]
            full = {"step": res["step"], "actor": step.actor, "command": step.command}
            full.update({k: res[k] for k in ("ret", "errno", "status", "info", "blocked")})
            ev["result"] = full
            st["results"][res["step"]] = full
            self._log(ev["seq"], "results", res["step"], full)

    # ------------------------------------------------------------------ scripted steps
    def _fail(self, step, message):
        raise ScenarioError(self.scenario.filename, step.line, message)

    def pid_of(self, step, name):
        """The pid a scenario name is bound to (bad input if never bound)."""
        if name == "init":
            return 1
        pid = self.state["names"].get(name)
        if pid is None:
            self._fail(step, f"unknown actor or name {name!r}: no fork has created it yet")
        return pid

    def actor_key(self, step):
        """(pid, tid) of the step's actor, or bad input if it cannot act now."""
        base, _, tid = step.actor.partition(".")
        pid = self.pid_of(step, base)
        k = self.kernel
        p = k.proc(pid)
        if p is None:
            self._fail(step, f"{base} has been reaped and cannot act")
        if p["state"] == "SZOMB":
            self._fail(step, f"{base} is a zombie and cannot act")
        if p["state"] == "SIDL":
            self._fail(step, f"{base} is still being created (SIDL) and cannot act yet")
        if p["state"] == "SSTOP":
            self._fail(step, f"{base} is stopped (SIGSTOP) and cannot act until SIGCONT")
        if tid:
            lwp = p["lwps"].get(tid)
            if lwp is None or lwp["exit"] is not None:
                self._fail(step, f"{base}.{tid}: no such live thread")
            tid = int(tid)
        else:
            tids = k.live_tids(p)
            if not tids:
                self._fail(step, f"{base} has no live thread")
            tid = tids[0]
        frame = k.priv["frames"].get((pid, tid))
        if frame is not None:
            why = frame.get("wchan") or ("exiting" if frame.get("dying") else "busy")
            self._fail(step, f"{base}.{tid} is blocked ({why}) and cannot take a step")
        return pid, tid

    def _next_choice_step(self):
        """schedule: choice: the next step is the one action that runs."""
        st = self.state
        if st["pos"] >= len(self.scenario.steps):
            return None
        step = self.scenario.steps[st["pos"]]
        st["pos"] += 1
        if step.call != "kernel":
            self._log_list("trace", f"{step.actor}: {step.command}")
            return self._start(step)
        label = "kernel: " + " ".join(step.command.split())
        for key, work, text in self.kernel.kernel_choices():
            if text == label:
                self._log_list("trace", label)
                return self.kernel.run_action(key, work)
        runnable = "; ".join(t for _, _, t in self.kernel.kernel_choices()) or "none"
        self._fail(step, f"`{label}` is not runnable now (runnable kernel work: {runnable})")

    # ------------------------------------------------------------------ interactive
    def choices(self):
        """What could run next: [{'label', 'kind', 'ref'}], kernel work first (in its
        arrival order), then each actor's next scripted step (in file order)."""
        out = [{"label": text, "kind": "kernel", "ref": (key, work)}
               for key, work, text in self.kernel.kernel_choices()]
        steps = self.scenario.steps
        heads = sorted(q[0] for q in self.state["queues"].values() if q)
        for idx in heads:
            step = steps[idx - 1]
            if self._enabled(step):
                out.append({"label": f"{step.actor}: {step.command}", "kind": "step",
                            "ref": idx})
        return out

    def _enabled(self, step):
        try:
            key = self.actor_key(step)
            for name in step.refs.values():
                self.pid_of(step, name)
        except ScenarioError:
            return False
        if step.call == "fork1" and step.args.get("name") in self.state["names"]:
            return False
        return not self._panics(step, key)

    def choose(self, choice):
        """Take one of choices() (a dict from it, or its label); returns its events."""
        if isinstance(choice, str):
            found = [c for c in self.choices() if c["label"] == choice]
            if not found:
                raise EngineError(f"{choice!r} cannot run now")
            choice = found[0]
        st = self.state
        self._log_list("trace", choice["label"])
        if choice["kind"] == "kernel":
            evs = self.kernel.run_action(*choice["ref"])
        else:
            step = self.scenario.steps[choice["ref"] - 1]
            st["queues"][step.actor].pop(0)
            st["pos"] = max(st["pos"], step.index)
            evs = self._start(step)
        for ev in evs:
            self._absorb(ev)
        return evs

    def export_text(self):
        """The run so far as a scenario file: under `schedule: choice` (every action,
        kernel work included) when choices were made, else the scripted steps taken."""
        from .scenario import dump_scenario, make_step, new_scenario
        sc = self.scenario
        choice = self.kernel.priv["choice"]
        out = new_scenario(sc.kernel, sc.race, sc.limits, sc.title, sc.description,
                           schedule="choice" if choice else "auto")
        lines = self.state["trace"] if choice else [
            f"{st.actor}: {st.command}" for st in sc.steps[:self.state["pos"]]]
        for i, text in enumerate(lines, 1):
            actor, _, command = text.partition(": ")
            out.steps.append(make_step(i, actor, command, schedule=out.schedule))
        return dump_scenario(out)

    def _panics(self, step, key):
        """Would this step panic the kernel (init exiting)?"""
        return key[0] == 1 and (step.call == "exit1" or (
            step.call == "extexit" and (step.args["who"] == "proc"
                                        or self.kernel.proc(1)["nthreads"] <= 1)))

    def _start(self, step):
        """Resolve names, refuse what would panic, and start the step's syscall."""
        if step.call == "kernel":
            self._fail(step, "`kernel:` steps need schedule: choice")
        key = self.actor_key(step)
        args = dict(step.args)
        for arg, name in step.refs.items():
            args[arg] = self.pid_of(step, name)
        if step.call == "fork1" and args.get("name") in self.state["names"]:
            self._fail(step, f"name {args['name']!r} is already in use")
        if self._panics(step, key):
            raise Panic("Going nowhere without my init!")
        self._log_list("started", step.index)
        return self.kernel.start_syscall(key, step.index, step.call, **args)

    # ------------------------------------------------------------------ results
    def results(self):
        """One RESULT per step, in step order (a still-blocked step has ret null)."""
        out = []
        frames_by_step = {f.get("step"): (key, f) for key, f in self.kernel.priv["frames"].items()
                          if f.get("step") is not None}
        taken = (sorted(self.state["started"]) if self.interactive
                 else range(1, self.state["pos"] + 1))
        for index in taken:
            step = self.scenario.steps[index - 1]
            res = self.state["results"].get(step.index)
            if res is None:
                blocked = None
                if step.index in frames_by_step:
                    blocked = self._unreturned(*frames_by_step[step.index][0])
                res = {"step": step.index, "actor": step.actor, "command": step.command,
                       "ret": None, "errno": None, "status": None, "info": None,
                       "blocked": blocked}
            out.append(res)
        return out

    def _unreturned(self, pid, tid):
        """Why a step's call has not returned, read from the document (so the summary and
        the document agree): the sleep its LWP is in, or "stopped" for a thread stopped
        in the middle of the call (tstop), or None for one that could still run."""
        lwp = self.kernel.lwp(pid, tid)
        if lwp is None:
            return None
        return lwp["blocked"] or ("stopped" if lwp["state"] == "LSSTOP" else None)

    # ------------------------------------------------------------------ expectations
    def check_expectations(self):
        """[(line, message)] for every failed expectation (steps, then the final state)."""
        failures = []
        results = {r["step"]: r for r in self.results()}
        for step in self.scenario.steps:
            if step.expect is None:
                continue
            res = results.get(step.index)
            if res is None:
                failures.append((step.expect_line, "expected a result, but the step never ran"))
                continue
            failures.extend((step.expect_line, m) for m in self._step_failures(step, res))
        for line, name, spec in self.scenario.expect:
            failures.extend((line, m) for m in self._final_failures(name, spec, line))
        return failures

    def _value(self, v):
        """A number, or a scenario name standing for its pid."""
        if isinstance(v, str) and (v in self.state["names"] or v == "init"):
            return 1 if v == "init" else self.state["names"][v]
        return v

    def _step_failures(self, step, res):
        status = res["status"]
        known = status is not None
        got = {
            "ret": res["ret"], "errno": res["errno"], "info": res["info"],
            "exit": WEXITSTATUS(status) if known and WIFEXITED(status) else None,
            "signal": SIGNAMES.get(WTERMSIG(status)) if known and WIFSIGNALED(status) else None,
            "stopped": SIGNAMES.get(WSTOPSIG(status)) if known and WIFSTOPPED(status) else None,
            "continued": known and WIFCONTINUED(status),
        }
        out = []
        for key, want in step.expect.items():
            have = got[key]
            if key == "ret":
                want = self._value(want)
            if key == "stopped" and want is True:
                want, have = True, have is not None
            if key == "signal" and isinstance(want, int):
                have = WTERMSIG(status) if known else None
            if key == "info" and isinstance(want, dict) and isinstance(have, dict):
                have = {k: have.get(k) for k in want}
            if want != have:
                out.append(f"expected {key} {_show(want)}, got {_show(have)}")
        return out

    def _final_failures(self, name, spec, line):
        if name == "init":
            pid = 1
        else:
            pid = self.state["names"].get(name)
            if pid is None:
                raise ScenarioError(self.scenario.filename, line,
                                    f"expect names {name!r}, which no step created")
        p = self.kernel.proc(pid)
        if spec == "reaped":
            return [] if p is None else [f"expected {name} reaped, got {p['state']}"]
        if spec == "alive":
            ok = p is not None and p["state"] != "SZOMB"
            return [] if ok else [f"expected {name} alive, got "
                                  f"{'reaped' if p is None else p['state']}"]
        if p is None:
            return [f"expected {name} {_show(spec)}, got reaped"]
        out = []
        for key, want in spec.items():
            if key == "tids":
                have = sorted(int(t) for t, lwp in p["lwps"].items() if lwp["exit"] is None)
            elif key == "reaper":
                have = p["reaper"]
                want = self._value(want) if want is not None else None
            else:
                have = p[key]
                if key == "ppid":
                    want = self._value(want)
            if want != have:
                out.append(f"expected {key} {_show(want)}, got {_show(have)}")
        return out

    # ------------------------------------------------------------------ exploration
    def save(self):
        """The whole run state as bytes (for exploring choices): a marshal dump, which
        reads back in about half pickle's time, with the two deques (the run queue and
        the pending events) as lists; a pickle should anything else not be plain data."""
        k = self.kernel
        priv = dict(k.priv, runq=list(k.priv["runq"]))
        state = dict(self.state, pending=list(self.state["pending"]))
        whole = (k.doc.root, priv, state, self.ledger, self.cursor)
        try:
            return b"M" + marshal.dumps(whole)
        except ValueError:
            return b"P" + pickle.dumps(whole, pickle.HIGHEST_PROTOCOL)

    def load(self, blob):
        """Return to a state taken by save()."""
        loads = marshal.loads if blob[0] == 77 else pickle.loads      # b"M"
        root, priv, self.state, self.ledger, self.cursor = loads(memoryview(blob)[1:])
        priv["runq"] = deque(priv["runq"])
        self.state["pending"] = deque(self.state["pending"])
        self.kernel.adopt(root, priv)
        self._digests = {}

    def mark(self):
        """Remember this state so that undo() can come back to it: the document by its
        undo log (the kernel's doc_class is doc.UndoDoc), the rest (small) as a dump,
        and each process's digest, for the keys of the states one choice away."""
        k = self.kernel
        self._marked = marshal.dumps((dict(k.priv, runq=list(k.priv["runq"])),
                                      dict(self.state, pending=list(self.state["pending"])),
                                      self.ledger, self.cursor))
        self._digests = {key: _digest(p) for key, p in k.procs.items()}

    def undo(self):
        """Back to the state of the last mark()."""
        k = self.kernel
        k.doc.rollback()
        priv, self.state, self.ledger, self.cursor = marshal.loads(self._marked)
        priv["runq"] = deque(priv["runq"])
        self.state["pending"] = deque(self.state["pending"])
        k.adopt(k.doc.root, priv)

    def state_key(self):
        """A digest of everything that decides what can happen next: the state document
        (without seq), the continuations, queues and sleepers, the names, the RESULTs
        and each actor's remaining steps.  Counters that only order things are left out,
        as are indexes derived from the document.  (Two equal states whose mappings were
        filled in another order hash apart: that costs a repeated expansion, never a
        missed state.)  Each process stands in the document as its own digest, in the
        document's order; a process unchanged since mark() keeps the digest taken there.
        A RESULT is keyed by what the kernel returned (its step's actor and command
        follow from the step's number)."""
        k = self.kernel
        priv = k.priv
        digests = self._digests
        changed = getattr(k.doc, "changed", ())
        procs = tuple((key, digests[key] if key in digests and key not in changed
                       else _digest(p)) for key, p in k.procs.items())
        doc = {key: (procs if key == "procs" else v) for key, v in k.root.items()
               if key != "seq"}
        # Sorted by field name alone (names are unique, so values are never compared);
        # the values go into the dump as they are.
        frames = sorted((key, sorted(item for item in f.items() if item[0] != "origin"))
                        for key, f in priv["frames"].items())
        sleepq = {repr(c): sorted(map(repr, keys)) for c, keys in priv["sleepq"].items()}
        st = self.state
        blob = marshal.dumps(
            (doc, frames, sorted(sleepq.items()), sorted(map(repr, priv["runq"])),
             repr(priv["current"]), repr(sorted(priv["task"].items())) if priv["task"] else None,
             priv["nextpid"], priv["nextnode"],
             priv["nextsigacts"], sorted(map(repr, priv["parked"])), st["names"],
             sorted((n, r["ret"], r["errno"], r["status"], r["info"], r["blocked"])
                    for n, r in st["results"].items()), st["queues"]), 0)
        return hashlib.blake2b(blob, digest_size=16).digest()

    # ------------------------------------------------------------------ time travel
    LEDGERED = ("names", "results", "trace", "started")

    def _log_list(self, key, value):
        """Append to a logged list; the entry belongs to the next event.  An unrecorded
        run keeps no trace of the actions taken (a search knows its own paths; it was a
        quarter of each saved state), so only a recorded run exports a choice file."""
        if key == "trace" and not self.record:
            return
        self.state[key].append(value)
        self._log(self.seq + 1, key, None, value)

    def _log(self, seq, key, item, value):
        """Record a change at the cursor.  Replays after a jump write the same entries
        again (the model is deterministic); a different one drops the old future.

        The ledger keeps one column per logged field ({key: (seqs, items, values)}) and
        a cursor per column, so that moving it is a bisect and a slice per field; each
        dict item is bound once in a run (a name by its fork, a RESULT by its step)."""
        if not self.record:
            return
        seqs, items, values = self.ledger[key]
        c = self.cursor[key]
        if c < len(seqs) and (seqs[c] != seq or items[c] != item or values[c] != value):
            for k2, (s2, i2, v2) in self.ledger.items():
                del s2[self.cursor[k2]:], i2[self.cursor[k2]:], v2[self.cursor[k2]:]
        if c == len(seqs):
            seqs.append(seq)
            items.append(item)
            values.append(value)
        self.cursor[key] = c + 1

    def _snapshot(self):
        """A checkpoint: (the processes, one marshal dump each (plain JSON data, which
        marshal reads back in half pickle's time), shared with the previous checkpoint
        where unchanged; one pickle of the rest of the document, the private state but
        its listing index, and the small part of the run state)."""
        k = self.kernel
        procs = k.root["procs"]
        blobs = dict(self._blobs)
        dirty = self._dirty if blobs else set(procs)
        new = []
        for key in dirty:
            p = procs.get(key)
            if p is None:
                blobs.pop(key, None)
            elif key in blobs:
                blobs[key] = marshal.dumps(p)
            else:
                new.append(key)
        # New processes go last, in pid order, as they were added to the document.
        for key in sorted(new, key=int):
            blobs[key] = marshal.dumps(procs[key])
        root = {key: (None if key == "procs" else v) for key, v in k.root.items()}
        priv = {key: v for key, v in k.priv.items() if key != "listed"}
        small = {key: v for key, v in self.state.items() if key not in self.LEDGERED}
        self._blobs, self._dirty = blobs, set()
        return blobs, pickle.dumps((root, priv, small), pickle.HIGHEST_PROTOCOL)

    def _restore(self, ck):
        """The kernel state and the small run state of checkpoint `ck`."""
        blobs, rest = ck
        root, priv, small = pickle.loads(rest)
        loads = marshal.loads
        # A process still equal to the pickle it shares with this checkpoint (unchanged
        # since the checkpoint the run last passed, which holds the same bytes object)
        # is kept as it is: most of a big tree does not change between two checkpoints.
        now, had, dirty = self.kernel.procs, self._blobs, self._dirty
        root["procs"] = procs = {
            key: now[key] if had.get(key) is b and key not in dirty and key in now
            else loads(b) for key, b in blobs.items()}
        listed = {}
        for p in procs.values():                      # the index, rebuilt from the lists
            for c in p["children"]:
                listed[(p["pid"], c)] = listed.get((p["pid"], c), 0) + 1
        priv["listed"] = listed
        self.kernel.adopt(root, priv)
        self._blobs, self._dirty = blobs, set()
        return small

    def _move_ledger(self, seq):
        """Make names, RESULTs and trace what they were right after event seq."""
        st = self.state
        for key, (seqs, items, values) in self.ledger.items():
            c, t = self.cursor[key], bisect.bisect_right(seqs, seq)
            held = st[key]
            if isinstance(held, list):
                if t < c:
                    del held[t:]
                else:
                    held.extend(values[c:t])
            elif t < c:
                if c - t > t:            # most of it goes: build the rest afresh
                    st[key] = dict(zip(items[:t], values[:t], strict=True))
                else:
                    for item in items[t:c]:
                        del held[item]
            else:
                held.update(zip(items[c:t], values[c:t], strict=True))
            self.cursor[key] = t

    def jump(self, n):
        """Put the run at event n (0 = boot): go on from here if no checkpoint lies
        between here and n, else restore the nearest checkpoint at or before n and
        replay from it.  Equal to a fresh replay to n."""
        if not self.record:
            raise EngineError("a run made with record=False cannot jump")
        with collector_paused():     # unpickling a big state would set it off repeatedly
            seqs = self._checkpoint_seqs()
            i = bisect.bisect_right(seqs, n)
            base = seqs[i - 1]
            if not base <= self.seq <= n:
                small = self._restore(self.checkpoints[base])
                self._move_ledger(base)
                small.update({k: self.state[k] for k in self.LEDGERED})
                self.state = small
                self.next_checkpoint = seqs[i] if i < len(seqs) else base + self.every
            self._replay(n)
        return self.seq

    def _checkpoint_seqs(self):
        """The checkpoints' seqs in order (kept sorted as checkpoints are added)."""
        if len(self._seqs) != len(self.checkpoints):
            self._seqs = sorted(self.checkpoints)
        return self._seqs

    def _replay(self, n):
        """Step on to event n without recording patches: the events a replay makes are
        not returned to anyone, only the state they leave (and the ledger entries, which
        are the same again).  Recording resumes for the steps after it."""
        k = self.kernel
        # Unrecorded only as far as checkpoints were kept before: beyond the last one
        # the patches are needed again, to know what the next checkpoint must re-pickle.
        lean_to = min(n, self._checkpoint_seqs()[-1])
        if self.seq < lean_to:
            k.doc = ReplayDoc(k.doc.root, self._dirty)
            try:
                while self.seq < lean_to and self.step() is not None:
                    pass
            finally:
                k.doc = Doc(k.doc.root)
        while self.seq < n and self.step() is not None:
            pass

    def back(self):
        """One event back (the inverse of the last step)."""
        return self.jump(max(self.seq - 1, 0))


def _digest(value):
    """A digest of a plain-data value that depends on the values alone: marshal version
    0 writes every value in full, with no back-references to objects met before
    (pickle's memo, marshal's later versions), whose presence depends on which equal
    objects happen to be one object (an interned literal against a string a load made)."""
    return hashlib.blake2b(marshal.dumps(value, 0), digest_size=16).digest()


def _show(v):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    return str(v)


def check_scenario_file(path):
    """`ptree check` for one file: (status, messages, summary).

    status 2: bad input (one `FILE:LINE: message`); 1: failed expectations or violated
    invariants, one `FILE:LINE: ...` message each; 0: all held."""
    from .scenario import load_scenario_file
    try:
        scenario = load_scenario_file(path)
        run = Run(scenario, record=False)
        # Only the violations are kept: the log itself is not read.
        messages = [f"{path}:{ev.get('line') or 0}: invariant violated at event {ev['seq']}: "
                    f"{ev['violation']}" for ev in run.events() if ev["violation"]]
        failures = run.check_expectations()
    except ScenarioError as e:
        return 2, [str(e)], None
    messages += [f"{path}:{line}: {message}" for line, message in failures]
    summary = f"{path}: ok ({len(scenario.steps)} steps, {run.seq} events)"
    return (1 if messages else 0), messages, summary


def run_scenario(scenario, check=True, record=True):
    """Run to the end and collect the event log; ScenarioError propagates.  With
    record=False the events carry no patches and the run cannot jump (what `ptree run`
    and `ptree check` need, at a fraction of the cost)."""
    run = Run(scenario, check=check, record=record)
    return run, list(run.events())


@contextlib.contextmanager
def collector_paused():
    """Python's cyclic garbage collector off for a while.  The engine's state is plain
    data without reference cycles (gc.collect() frees nothing after a run), yet the
    collector would rescan the growing event log and state on every few hundred new
    objects: over a third of a long run's time."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
