"""A real program's strace log as a scenario (pure: no Flask, no subprocess).

`convert(records)` walks the log (webui.strace Records, in the order things happened) and
writes one scenario step per process-lifecycle call, running the kernel model as it writes
(as engine.randomgen does), so that every step it emits is one the model lets its actor
take there.  The traced command's first process is forked by init.

What maps:

* fork, vfork, clone, clone3: `fork NAME`; CLONE_VFORK: `vfork NAME`; CLONE_THREAD:
  `lwp_create`; other mixes: `rfork FLAGS NAME` (CLONE_VM: RFMEM, no CLONE_FILES: RFFDG,
  CLONE_SIGHAND: RFSIGSHARE, an exit signal other than SIGCHLD: RFLINUXTHPN).
* execve: `exec`; exit_group: `exit N`; exit: `extexit lwp N`.
* wait4, waitid: `wait4 any|0|NAME|-PGID [OPTIONS]` (WSTOPPED: WUNTRACED, __WCLONE:
  WLINUXCLONE).
* kill, tgkill, tkill: `kill NAME SIGNAL` (Linux signal names; the model numbers them as
  BSD does).
* prctl(PR_SET_CHILD_SUBREAPER, 1 | 0): `procctl acquire | release`;
  PR_GET_CHILD_SUBREAPER: `procctl status`.
* setpgid (of the caller), setuid / setreuid / setresuid (the real uid), and
  rt_sigaction(SIGCHLD) with SIG_IGN or SA_NOCLDWAIT: `sigaction SIGCHLD ...`.

Names: a process is called after the program it runs and its Linux pid, `sh_4120`.  A
scenario name is bound once, at fork, so a child is named after the first program it
execs (known from the rest of the log), else after its parent's; a later execve is an
`exec` step whose comment names the new program.

A call that blocked (`<unfinished ...>` ... `<... resumed>`) is one step, placed where it
started; the model blocks it until its cause happens.  A call that failed under Linux
changed nothing and is not replayed, except wait4 and waitid (their ECHILD is an answer
worth comparing).  What has no counterpart is a YAML comment at its place, counted by
category in the summary and the scenario's description: nothing is dropped silently.
"""

import json
import os
import re
from dataclasses import dataclass, field

from ptree.engine.constants import SIGNALS
from ptree.engine.kernel import MAX_MAXPROC
from ptree.engine.runner import Run
from ptree.engine.scenario import MAX_STEPS, ScenarioError, make_step, new_scenario, parse_scenario

from .strace import c_string, ret_errno, ret_value, signal_fields, split_args, string_list

# Linux's signal numbers (asm-generic/signal.h), for the logs that print a number.
LINUX_SIGNALS = {
    1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT",
    7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2",
    13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM", 16: "SIGSTKFLT", 17: "SIGCHLD",
    18: "SIGCONT", 19: "SIGSTOP", 20: "SIGTSTP", 21: "SIGTTIN", 22: "SIGTTOU", 23: "SIGURG",
    24: "SIGXCPU", 25: "SIGXFSZ", 26: "SIGVTALRM", 27: "SIGPROF", 28: "SIGWINCH",
    29: "SIGIO", 30: "SIGPWR", 31: "SIGSYS",
}
SIGNAL_ALIASES = {"SIGIOT": "SIGABRT", "SIGPOLL": "SIGIO", "SIGCLD": "SIGCHLD"}
STOP_SIGNALS = {"SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU"}
# Linux signals whose default action ends the process (all but CHLD, CONT, URG, WINCH
# and the stops): the model gives a default action to SIGKILL and SIGTERM only.
FORKS = ("fork", "vfork", "clone", "clone3")
NOT_ABOUT_A_PROCESS = ("attached", "detached", "message", "unparsed")
WAITS = ("wait4", "waitid")

# clone flags: what they mean for rfork, and which only do a thread library's bookkeeping.
TID_FLAGS = {"CLONE_CHILD_SETTID", "CLONE_CHILD_CLEARTID", "CLONE_PARENT_SETTID",
             "CLONE_SETTLS", "CLONE_DETACHED"}
RFORK_MEANING = {"CLONE_VM", "CLONE_FILES", "CLONE_SIGHAND", "CLONE_VFORK", "CLONE_THREAD"}
WAIT_OPTION_MAP = {"WNOHANG": "WNOHANG", "WUNTRACED": "WUNTRACED", "WSTOPPED": "WUNTRACED",
                   "WCONTINUED": "WCONTINUED", "__WCLONE": "WLINUXCLONE"}

# Comment categories: what was left out, and what was approximated ({s} and {es} are
# the plural endings, {are} is/are, {them} it/them).
LEFT_OUT = {
    "syscall": "system call{s} the model has no counterpart for",
    "disposition": "signal disposition{s} other than setting SIGCHLD's",
    "failed": "call{s} that failed under Linux (nothing to replay)",
    "flags": "clone flag mix{es} with no DragonFly meaning",
    "signal": "signal{s} the model does not act on",
    "target": "call{s} on processes or groups outside the model",
    "option": "option{s} or command{s} the model lacks",
    "blocked": "step{s} the model cannot take there (actor blocked, stopped, gone or never made)",
    "lost": "process{es} or call{s} strace lost",
    "unparsed": "line{s} that {are} not strace output",
    "timeout": "line{s} after the --timeout",
    "limit": "line{s} after the step limit",
}
APPROXIMATED = {
    "standin": "stand-in{s} (init as the sender, SIGKILL or SIGSTOP for a default action "
               "the model lacks, an exit taken from strace's report)",
    "nofork": "process{es} whose fork is not in the log (init forks {them})",
}


def counted(n, label):
    """`1 system call ...` / `3 system calls ...` of a category label."""
    one = n == 1
    return f"{n} " + label.format(s="" if one else "s", es="" if one else "es",
                                  are="is" if one else "are", them="it" if one else "them")


@dataclass
class Proc:
    """A traced process (a Linux thread group) and what the scenario calls it."""

    tgid: int
    name: str | None            # the scenario name; None if the model never made it
    program: str                # the program it runs now
    tids: dict = field(default_factory=dict)   # Linux tid -> model tid
    alive: set = field(default_factory=set)    # Linux tids not yet ended
    threaded: bool = False      # ever had a second LWP: its actors say NAME.TID
    why_absent: str = ""
    own_group: bool = False     # setpgid made it a group leader (in the model too)


@dataclass
class Note:
    """A comment line: counted (category) or a plain remark (category None)."""

    category: str | None
    who: str
    why: str
    lines: list = field(default_factory=list)
    whats: list = field(default_factory=list)

    def render(self):
        head = " ".join(x for x in (_line_span(self.lines), self.who) if x)
        whats = _counted(self.whats)
        body = f"{whats}: {self.why}" if whats else self.why
        return _comment(f"{head}: {body}" if head else body)


@dataclass
class Summary:
    """What a conversion did: counts per category, notes and the totals."""

    steps: int = 0
    processes: int = 0
    lines: int = 0
    counts: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    def left_out(self):
        return {k: v for k, v in self.counts.items() if k in LEFT_OUT}

    def approximated(self):
        return {k: v for k, v in self.counts.items() if k in APPROXIMATED}

    def text(self):
        """One paragraph: the totals, then what was left out and approximated."""
        parts = [f"{counted(self.steps, 'step{s}')} from {counted(self.lines, 'strace line{s}')}"
                 f" of {counted(self.processes, 'process{es}')}."]
        out = self.left_out()
        if out:
            parts.append("Left out, as YAML comments at their place: " + "; ".join(
                counted(n, LEFT_OUT[k]) for k, n in out.items()) + ".")
        else:
            parts.append("Nothing was left out.")
        approx = self.approximated()
        if approx:
            parts.append("Approximated (commented): " + "; ".join(
                counted(n, APPROXIMATED[k]) for k, n in approx.items()) + ".")
        parts.extend(self.notes)
        return " ".join(parts)


def convert(records, kernel="reaper", title="", origin="", max_steps=MAX_STEPS,
            cut_at=None, cut_reason="its --timeout", filename="<trace>"):
    """(scenario text, Summary) of a log's records.

    origin: the first sentence of the description (where and when it was traced);
    cut_at: a timestamp after which the log is left out (ptree trace stopped the program
    then, at cut_reason); max_steps: the scenario's step limit (the contract's 200,000)."""
    conv = _Converter(records, kernel, max_steps, cut_at, filename)
    conv.cut_reason = cut_reason
    conv.run()
    title = title or conv.command_line() or "strace log"
    summary = conv.summary
    description = f"{origin} {summary.text()}".strip()
    text = conv.render(title, description)
    parse_scenario(text, filename)          # what it writes is a valid scenario, always
    return text, summary


# -- small helpers ------------------------------------------------------------------------------

def _comment(text):
    """A YAML comment line's text: one line, printable."""
    return "# " + re.sub(r"[\x00-\x1f\x7f]", " ", text)


def _line_span(lines):
    lines = sorted(set(lines))
    if not lines:
        return ""
    return f"L{lines[0]}" if len(lines) == 1 else f"L{lines[0]}-{lines[-1]}"


def _counted(whats):
    """`a, b ×3, c` of a list with repeats, in first-seen order (at most 6 shown)."""
    seen = {}
    for w in whats:
        seen[w] = seen.get(w, 0) + 1
    items = [w if n == 1 else f"{w} ×{n}" for w, n in seen.items()]
    if len(items) > 6:
        items = items[:6] + [f"and {len(items) - 6} more"]
    return ", ".join(items)


def _short(text, n=72):
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n - 1] + "…"


def program_name(path):
    """A name part from a program's path: its file name, in [A-Za-z][A-Za-z0-9_-]*."""
    base = os.path.basename(path.rstrip("/")) or path
    base = re.sub(r"[^A-Za-z0-9_-]", "-", base)
    base = re.sub(r"^[^A-Za-z]+", "", base)[:24].rstrip("-")
    return base or "proc"


def linux_signal(text):
    """The name of a signal as strace prints it (`SIGTERM`, `15`, `SIGIOT`), or None."""
    text = text.strip()
    if text.isdigit():
        return LINUX_SIGNALS.get(int(text), f"SIG{text}") if text != "0" else "0"
    name = text.split("|")[0]
    return SIGNAL_ALIASES.get(name, name) if name.startswith("SIG") else None


def clone_flags(rec):
    """(set of CLONE_* flags, exit signal name) of a fork, vfork, clone or clone3."""
    if rec.name == "fork":
        return set(), "SIGCHLD"
    if rec.name == "vfork":
        return {"CLONE_VM", "CLONE_VFORK"}, "SIGCHLD"
    text = rec.args
    if rec.name == "clone3":
        fields = signal_fields(split_args(text)[0] if text else "")
        flags = set(fields.get("flags", "0").split("|")) - {"0"}
        sig = linux_signal(fields.get("exit_signal", "0")) or "0"
        return flags, sig
    m = re.search(r"flags=([A-Z0-9_|]+)", text)
    words = set(m.group(1).split("|")) if m else set()
    sigs = {w for w in words if w.startswith("SIG")}
    return words - sigs, (linux_signal(next(iter(sigs))) if sigs else "0")


def clone_text(flags, exit_signal):
    """A clone's flags as a comment shows them (the thread library's bookkeeping left out)."""
    words = sorted(flags - TID_FLAGS) + ([exit_signal] if exit_signal not in ("0", None) else [])
    return "|".join(words)


def fork_command(flags, exit_signal, name):
    """(command, [flags with no DragonFly meaning], note on the exit signal or None)."""
    dropped = sorted(flags - RFORK_MEANING - TID_FLAGS)
    note = None
    if "CLONE_VFORK" in flags:
        for f in ("CLONE_FILES", "CLONE_SIGHAND"):
            if f in flags:
                dropped.append(f + " (with CLONE_VFORK)")
        if exit_signal != "SIGCHLD":
            note = f"exit signal {exit_signal}: vfork's child signals SIGCHLD"
        return f"vfork {name}", dropped, note
    rf = ["RFPROC"]
    if "CLONE_VM" in flags:
        rf.append("RFMEM")
    if "CLONE_FILES" not in flags:
        rf.append("RFFDG")
    if "CLONE_SIGHAND" in flags:
        rf.append("RFSIGSHARE")
    if exit_signal != "SIGCHLD":
        rf.append("RFLINUXTHPN")
        if exit_signal != "SIGUSR1":
            note = (f"exit signal {exit_signal}: RFLINUXTHPN's child signals SIGUSR1 "
                    "(and is waited for with WLINUXCLONE, as __WCLONE)")
    if rf == ["RFPROC", "RFFDG"]:
        return f"fork {name}", dropped, note
    return f"rfork {'|'.join(rf)} {name}", dropped, note


def call_text(rec):
    """A record as a comment shows it: `wait4(-1, ...) = 4126`."""
    if rec.kind != "call":
        return _short(rec.text, 60)
    return f"{rec.name}({_short(rec.args, 50)})" + (f" = {_short(rec.ret, 20)}" if rec.ret else "")


def _int(text):
    try:
        return int(text.strip(), 0)
    except (ValueError, AttributeError):
        return None


# -- the conversion ------------------------------------------------------------------------------

class _Converter:
    """One pass over the log, with the model running alongside."""

    def __init__(self, records, kernel, max_steps, cut_at, filename):
        self.records = records
        self.kernel = kernel
        self.max_steps = max_steps
        self.cut_at = cut_at
        self.filename = filename
        self.items = []                       # ("step", actor, command, comment) | Note
        self.procs = {}                       # tgid -> Proc
        self.tgid_of = {}                     # Linux tid -> tgid
        self.names = set()
        self.summary = Summary(lines=len(records))
        self.sent = {}                        # (tgid, signal) -> kills not yet delivered
        self.stopped_early = None             # why the walk ended before the log did
        self.cut_reason = "its --timeout"
        self._survey()
        self.sc = new_scenario(kernel, limits={"maxproc": self.maxproc}, filename=filename)
        self.run_ = Run(self.sc, check=False)

    # .. what the whole log says, before the walk .....................................
    def _survey(self):
        """Look ahead once: each child's first program (to name it at fork), each kill
        that ended or stopped its target, and calls that only continue an interrupted one."""
        self.first_exec, self.fatal, self.stopping, self.continues = {}, set(), set(), set()
        self.explained = set()        # deliveries whose killed/stopped line decides
        pending, delivered, last_call, tg, nprocs = {}, {}, {}, {}, 0
        about = [r for r in self.records if r.kind not in NOT_ABOUT_A_PROCESS]
        self.root = about[0].pid if about else 0
        for r in self.records:
            if r.kind in NOT_ABOUT_A_PROCESS:
                continue
            tg.setdefault(r.pid, r.pid)
            if r.kind == "signal":
                delivered[(r.pid, linux_signal(r.name))] = r.seq
            if r.kind == "call":
                if r.name == "execve" and ret_value(r.ret) == 0 and r.pid not in self.first_exec:
                    args = split_args(r.args)
                    self.first_exec[r.pid] = program_name(c_string(args[0])) if args else "proc"
                if r.name in FORKS and (ret_value(r.ret) or 0) > 0:
                    flags, _ = clone_flags(r)
                    child = ret_value(r.ret)
                    tg[child] = tg[r.pid] if "CLONE_THREAD" in flags else child
                    nprocs += "CLONE_THREAD" not in flags
                target = self._kill_of(r, tg)
                if target:
                    pending.setdefault(target, []).append(r.seq)
                self._survey_restart(r, last_call)
            elif r.kind in ("killed", "stopped"):
                sig = linux_signal(r.name)
                if (r.pid, sig) in delivered:
                    self.explained.add(delivered.pop((r.pid, sig)))
                sends = pending.get((tg.get(r.pid, r.pid), sig))
                if sends:
                    (self.fatal if r.kind == "killed" else self.stopping).add(sends[-1])
                    sends.clear()
        self.maxproc = min(MAX_MAXPROC, max(1000, nprocs + 50))

    @staticmethod
    def _kill_of(r, tg):
        """(target tgid, signal) of a successful kill, tgkill or tkill, else None."""
        if r.name not in ("kill", "tgkill", "tkill") or ret_value(r.ret) != 0:
            return None
        args = split_args(r.args)
        if len(args) < 2:
            return None
        pid = _int(args[1] if r.name == "tgkill" else args[0])
        if pid is None or pid <= 0:
            return None
        return tg.get(pid, pid), linux_signal(args[-1])

    def _survey_restart(self, r, last_call):
        """A wait restarted by the kernel (ERESTART*), or called again with the same
        arguments after EINTR, is one call to the model: its wait4 is not interrupted by
        caught signals (as with SA_RESTART)."""
        prev = last_call.get(r.pid)
        last_call[r.pid] = r
        if prev is None or prev.name not in WAITS:
            return
        err = ret_errno(prev.ret)
        again = r.name == prev.name and (
            (err or "").startswith("ERESTART")
            or (err == "EINTR" and split_args(r.args)[:1] == split_args(prev.args)[:1]))
        resumed = r.name == "restart_syscall" and prev.name in r.args
        if again or resumed:
            self.continues.add(r.seq)

    # .. output .......................................................................
    def note(self, category, rec, who, what, why):
        """A comment at this place; a run of notes alike (same category, who and why)
        becomes one line."""
        last = self.items[-1] if self.items else None
        if category is not None:
            self.summary.counts[category] = self.summary.counts.get(category, 0) + 1
        if isinstance(last, Note) and (last.category, last.who, last.why) == (category, who, why):
            note = last
        else:
            note = Note(category, who, why)
            self.items.append(note)
        if rec is not None:
            note.lines.append(rec.line)
        if what:
            note.whats.append(what)

    def remark(self, rec, who, why):
        self.note(None, rec, who, None, why)

    def render(self, title, description):
        """The scenario file: header, steps with their comments."""
        out = [f"title: {json.dumps(title, ensure_ascii=False)}",
               f"description: {json.dumps(description, ensure_ascii=False)}",
               f"kernel: {self.kernel}"]
        if self.maxproc != 1000:
            out.append(f"limits: {{maxproc: {self.maxproc}}}")
        out.append("steps:")
        for item in self.items:
            if isinstance(item, Note):
                out.append("  " + item.render())
            else:
                _, actor, command, comment = item
                step = f"  - {actor}: {command}"
                out.append(f"{step:<40} {_comment(comment)}" if comment else step)
        return "\n".join(out) + "\n"

    def command_line(self):
        """The traced command, from the first process's first execve (for a title)."""
        for r in self.records:
            if r.kind == "call" and r.name == "execve" and ret_value(r.ret) == 0:
                args = split_args(r.args)
                argv = string_list(args[1]) if len(args) > 1 else []
                return " ".join(_shell_word(a) for a in argv) if argv else None
        return None

    # .. the model ....................................................................
    def step(self, rec, actor, command, comment):
        """Emit `actor: command` if the model lets the actor take it here; else a
        'blocked' note saying why.  Returns True when emitted."""
        if len(self.sc.steps) >= self.max_steps:
            self.stopped_early = ("limit", rec)
            return False
        index = len(self.sc.steps) + 1
        step = make_step(index, actor, command, line=index, filename=self.filename)
        run = self.run_
        try:
            run.actor_key(step)
            for name in step.refs.values():
                run.pid_of(step, name)
        except ScenarioError as e:
            self.note("blocked", rec, actor.split(".")[0], call_text(rec) if rec else command,
                      f"not replayed: in the model, {e.message}")
            return False
        self.sc.steps.append(step)
        while run.step() is not None:
            pass
        if rec is not None:
            comment = f"L{rec.line} {comment}"
        self.items.append(("step", actor, command, comment))
        self.summary.steps += 1
        return True

    def result(self):
        """The RESULT of the last step emitted."""
        return self.run_.state["results"].get(len(self.sc.steps))

    def model_proc(self, proc):
        """The model's process dict of a Proc, or None (never made, or reaped)."""
        if proc is None or proc.name is None:
            return None
        pid = self.run_.state["names"].get(proc.name)
        return self.run_.kernel.proc(pid) if pid is not None else None

    def model_pid(self, proc):
        return self.run_.state["names"].get(proc.name) if proc and proc.name else None

    def alive_in_model(self, proc):
        p = self.model_proc(proc)
        return p is not None and p["state"] not in ("SZOMB",)

    def actor(self, proc, tid):
        """(actor text, None) for Linux thread tid, or (None, why it has none)."""
        if proc.name is None:
            return None, proc.why_absent
        if tid not in proc.tids:
            return None, f"thread {tid} of {proc.name}, which the model never made"
        return (f"{proc.name}.{proc.tids[tid]}" if proc.threaded else proc.name), None

    def new_name(self, pid, program):
        name = f"{program}_{pid}" if pid else f"{program}_main"
        base, n = name, 2
        while name in self.names:
            name, n = f"{base}-{n}", n + 1
        self.names.add(name)
        return name

    # .. the walk .....................................................................
    def run(self):
        for rec in self.records:
            if self.cut_at is not None and rec.ts is not None and rec.ts >= self.cut_at:
                self.stopped_early = ("timeout", rec)
            if self.stopped_early:
                break
            proc = self.proc_of(rec)
            handler = getattr(self, "on_" + rec.kind)
            handler(rec, proc)
        self.finish()

    def proc_of(self, rec):
        """The Proc a line is about; a thread first seen without its fork is a new
        process forked by init (the traced command's first process is forked so too)."""
        tgid = self.tgid_of.get(rec.pid)
        if tgid is not None:
            return self.procs[tgid]
        if rec.kind in NOT_ABOUT_A_PROCESS:
            return None
        pid = rec.pid
        program = self.first_exec.get(pid, "proc")
        name = self.new_name(pid, program)
        proc = Proc(pid, None, program, alive={pid})
        self.tgid_of[pid] = pid
        self.procs[pid] = proc
        self.summary.processes += 1
        first = pid == self.root and not self.sc.steps
        why = ("strace starts the traced command" if first else
               "its fork is not in the log: init stands in as its parent")
        if self.step(rec, "init", f"fork {name}", f"pid {pid}: {why}"):
            proc.name = name
            proc.tids[pid] = self.model_tids(proc)[0]
            if not first:
                self.summary.counts["nofork"] = self.summary.counts.get("nofork", 0) + 1
        else:
            proc.why_absent = f"{name}, which the model could not fork"
        return proc

    def model_tids(self, proc):
        p = self.model_proc(proc)
        return self.run_.kernel.live_tids(p) if p else []

    def finish(self):
        """Notes for what the log ends with: the step limit, the timeout, processes that
        never ended."""
        why, rec = self.stopped_early or (None, None)
        if why == "limit":
            left = len(self.records) - rec.seq
            self.summary.counts["limit"] = left
            self.remark(rec, "", f"the scenario reached the {self.max_steps:,}-step limit "
                                 f"here: the {left} lines from here on are left out")
            self.summary.notes.append(f"The trace is cut at the {self.max_steps:,}-step "
                                      f"limit (line {rec.line}).")
        elif why == "timeout":
            left = len(self.records) - rec.seq
            self.summary.counts["timeout"] = left
            running = [p.name for p in self.procs.values() if p.alive and p.name]
            self.remark(rec, "", f"ptree trace stopped the program here, at {self.cut_reason}; "
                                 f"{len(running)} processes were still running: "
                                 f"{', '.join(running) or 'none'}")
            self.summary.notes.append(f"ptree trace stopped the program at {self.cut_reason}, "
                                      f"with {len(running)} processes still running; its "
                                      "trace up to then is kept.")
        if why:
            return
        for proc in self.procs.values():
            if proc.alive and proc.name and self.alive_in_model(proc):
                self.note("lost", None, proc.name, None,
                          "the log ends while it is still running (strace lost it, or the "
                          "log was cut short)")

    # .. line kinds .....................................................................
    def on_unparsed(self, rec, proc):
        self.note("unparsed", rec, "", _short(rec.text, 40), "not an strace line")

    def on_message(self, rec, proc):
        self.remark(rec, "", "strace: " + _short(rec.text, 90))

    def on_attached(self, rec, proc):
        self.remark(rec, f"pid {rec.number}", "strace attached to it")

    def on_detached(self, rec, proc):
        target = self.procs.get(self.tgid_of.get(rec.number or rec.pid))
        if target:
            target.alive.clear()
        self.note("lost", rec, target.name if target else "", None,
                  "strace detached from it: its later calls are not in the log")

    def on_superseded(self, rec, proc):
        """A thread that is not the leader called execve: it carries on under the
        leader's pid (the old leader is gone), as the model's exec keeps the caller."""
        other = rec.number
        if proc and other in proc.tids:
            proc.tids[rec.pid] = proc.tids.pop(other)
        self.remark(rec, proc.name if proc else "", f"thread {other} carries on as {rec.pid} "
                                                    "after its execve")

    def on_exited(self, rec, proc):
        """`+++ exited with N +++`: normally after exit or exit_group, already replayed;
        if the model still runs that thread, strace's report stands in for the call."""
        proc.alive.discard(rec.pid)
        p = self.model_proc(proc)
        mtid = proc.tids.get(rec.pid)
        if p is None or p["state"] == "SZOMB" or mtid is None or mtid not in \
                self.run_.kernel.live_tids(p):
            return
        actor, _ = self.actor(proc, rec.pid)
        status = (rec.number or 0) & 0xFF
        last = len(self.run_.kernel.live_tids(p)) <= 1
        command = f"exit {status}" if last else f"extexit lwp {status}"
        if self.step(rec, actor, command, "strace reports the exit; the call is not in the log"):
            self.count("standin")

    def on_killed(self, rec, proc):
        """`+++ killed by SIG +++`.  If the model already ended the process (the kill
        was replayed), nothing to do; else the signal came from outside the trace or had a
        default action the model lacks: init sends SIGTERM or SIGKILL in its place."""
        proc.alive.clear()
        if not self.alive_in_model(proc):
            return
        sig = linux_signal(rec.name)
        stand = sig if sig in ("SIGKILL", "SIGTERM") else "SIGKILL"
        why = (f"killed by {sig} from outside the trace (or by the kernel)"
               + ("" if stand == sig else f"; the model has no default action for {sig}, so "
                  "SIGKILL stands in"))
        if self.step(rec, "init", f"kill {proc.name} {stand}", why + "; init sends it"):
            self.count("standin")

    def on_stopped(self, rec, proc):
        """`--- stopped by SIG ---`: a stop the model has not made yet (from outside, or
        SIGTSTP's default action) is made by init's SIGSTOP."""
        p = self.model_proc(proc)
        if p is None or p["state"] != "SACTIVE":
            return
        sig = linux_signal(rec.name)
        if self.step(rec, "init", f"kill {proc.name} SIGSTOP",
                     f"stopped by {sig} under Linux; init's SIGSTOP stands in"):
            self.count("standin")

    def on_signal(self, rec, proc):
        """`--- SIG {...} ---`, a signal delivered.  One sent by a replayed kill, or a
        SIGCHLD from a traced child, is already in the model; others are noted (a SIGCONT
        from outside to a process the model has stopped is sent by init)."""
        sig = linux_signal(rec.name)
        key = (proc.tgid, sig)
        if self.sent.get(key):
            self.sent[key] -= 1
            return
        sender = _int(rec.info.get("si_pid", ""))
        if sig == "SIGCHLD" and sender in self.tgid_of:
            return
        p = self.model_proc(proc)
        if sig == "SIGCONT" and p is not None and p["state"] == "SSTOP":
            if self.step(rec, "init", f"kill {proc.name} SIGCONT",
                         "SIGCONT from outside the trace; init sends it"):
                self.count("standin")
            return
        if rec.seq in self.explained or sig == "SIGKILL":
            return
        origin = (f"from pid {sender}" if sender and sender not in self.tgid_of
                  else "from the kernel or the process itself")
        self.note("signal", rec, proc.name or "", sig,
                  f"delivered {origin}, which the model does not send")

    def count(self, category):
        self.summary.counts[category] = self.summary.counts.get(category, 0) + 1

    # .. calls ...........................................................................
    def on_call(self, rec, proc):
        if rec.seq in self.continues:
            self.remark(rec, proc.name or "", f"{rec.name} again: the same wait to the model "
                                              "(interrupted by a signal and restarted)")
            return
        handler = getattr(self, "call_" + rec.name, None)
        if handler is None:
            self.note("syscall", rec, proc.name or "", rec.name, "no counterpart in the model")
            return
        if rec.partial:
            self.note("lost", rec, proc.name or "", rec.name,
                      "its start is not in the log")
            return
        handler(rec, proc, split_args(rec.args))

    def failed(self, rec, proc):
        """Notes a call that failed under Linux (or whose result the log lacks); True if so."""
        err = ret_errno(rec.ret)
        if rec.ret is None:
            self.note("lost", rec, proc.name or "", rec.name,
                      "its result is not in the log")
            return True
        if err:
            self.note("failed", rec, proc.name or "", f"{rec.name} {err}",
                      "failed under Linux: nothing to replay")
            return True
        return False

    def call_step(self, rec, proc, command, comment):
        """A step by the thread of rec."""
        actor, why = self.actor(proc, rec.pid)
        if actor is None:
            self.note("blocked", rec, proc.name or "", call_text(rec), f"not replayed: {why}")
            return False
        return self.step(rec, actor, command, comment)

    def call_fork(self, rec, proc, args):
        if self.failed(rec, proc):
            return
        child = ret_value(rec.ret)
        flags, exit_signal = clone_flags(rec)
        shown = f"{rec.name}({clone_text(flags, exit_signal) if rec.name in ('clone', 'clone3') else ''}) = {child}"
        if "CLONE_THREAD" in flags:
            self.new_thread(rec, proc, child, shown)
            return
        name = self.new_name(child, self.first_exec.get(child, proc.program))
        command, dropped, signote = fork_command(flags, exit_signal, name)
        new = Proc(child, None, proc.program, alive={child})
        self.tgid_of[child] = child
        self.procs[child] = new
        self.summary.processes += 1
        if self.call_step(rec, proc, command, shown):
            new.name = name
            new.tids[child] = self.model_tids(new)[0] if self.model_tids(new) else 0
            if dropped:
                self.note("flags", rec, proc.name, ", ".join(dropped),
                          f"no DragonFly meaning; {name} is made without them")
            if signote:
                self.note("flags", rec, proc.name, signote, "approximated")
        else:
            new.why_absent = f"{name}, whose fork was not replayed"

    call_vfork = call_clone = call_clone3 = call_fork

    def new_thread(self, rec, proc, tid, shown):
        """CLONE_THREAD: an LWP of the caller's process."""
        self.tgid_of[tid] = proc.tgid
        proc.alive.add(tid)
        if not self.call_step(rec, proc, "lwp_create", shown):
            return
        res = self.result()
        if res and res["info"]:
            proc.tids[tid] = res["info"]["tid"]
            proc.threaded = True
            self.items[-1] = self.items[-1][:3] + (
                f"L{rec.line} {shown}: thread {tid} is LWP {proc.name}.{res['info']['tid']}",)

    def call_execve(self, rec, proc, args):
        if self.failed(rec, proc):
            return
        path = c_string(args[0]) if args else "?"
        argv = string_list(args[1]) if len(args) > 1 else []
        program = program_name(path)
        comment = f"execve {_short(path, 40)} {_short(json.dumps(argv), 50)}"
        if proc.name and not proc.name.startswith(program + "_"):
            comment += f": now runs {program}"
        self.call_step(rec, proc, "exec", comment)
        proc.program = program

    def call_exit_group(self, rec, proc, args):
        status = (_int(args[0]) if args else 0) or 0
        self.call_step(rec, proc, f"exit {status & 0xFF}", f"exit_group({status})")
        proc.alive.clear()

    def call_exit(self, rec, proc, args):
        status = (_int(args[0]) if args else 0) or 0
        self.call_step(rec, proc, f"extexit lwp {status & 0xFF}", f"exit({status}): this thread")
        proc.alive.discard(rec.pid)

    def wait_target(self, pid):
        """(wait4's pid argument, None) for a Linux pid argument, or (None, why not)."""
        if pid == -1:
            return "any", None
        if pid == 0:
            return "0", None
        target = self.procs.get(abs(pid))
        if pid < -1:
            if target and target.name and target.own_group:
                return f"-{self.model_pid(target)}", None
            return None, (f"process group {-pid}, which the model does not have (its leader "
                          "is not traced or never called setpgid)")
        if target is None:
            return None, f"pid {pid} is not a traced process"
        if target.name is None:
            return None, f"pid {pid} ({target.why_absent})"
        return target.name, None

    def wait_options(self, words):
        """(model options, [Linux options with no counterpart])."""
        opts, dropped = [], []
        for w in words:
            w = w.strip()
            if w in ("0", "", "WEXITED"):
                continue
            if w in WAIT_OPTION_MAP:
                if WAIT_OPTION_MAP[w] not in opts:
                    opts.append(WAIT_OPTION_MAP[w])
            else:
                dropped.append(w)
        return opts, dropped

    def linux_result(self, rec):
        """`Linux: 4126 (ls_4126)`, `Linux: ECHILD`... for a wait's comment."""
        err = ret_errno(rec.ret)
        if err:
            return f"Linux: {err}"
        if rec.ret is None:
            return "Linux: still waiting when the log ends"
        if rec.ret.startswith("?"):
            return "Linux: never returned (the process died in it)"
        pid = ret_value(rec.ret)
        target = self.procs.get(pid)
        return f"Linux: {pid}" + (f" ({target.name})" if target and target.name else "")

    def call_wait4(self, rec, proc, args):
        pid = _int(args[0]) if args else None
        words = args[2].split("|") if len(args) > 2 else []
        self.wait_step(rec, proc, pid, words, f"wait4({', '.join(args[:1] + args[2:3])})")

    def call_waitid(self, rec, proc, args):
        idtype = args[0] if args else ""
        ident = _int(args[1]) if len(args) > 1 else None
        words = args[3].split("|") if len(args) > 3 else []
        if "WNOWAIT" in words or "WEXITED" not in words:
            why = ("WNOWAIT leaves the child waitable, which wait4 does not" if "WNOWAIT" in words
                   else "a waitid without WEXITED, which wait4 cannot ask for")
            self.note("option", rec, proc.name or "", f"waitid({_short(rec.args, 50)})", why)
            return
        if idtype == "P_ALL":
            pid = -1
        elif idtype == "P_PID":
            pid = ident
        elif idtype == "P_PGID":
            pid = -ident if ident else 0
        else:
            self.note("option", rec, proc.name or "", f"waitid({idtype})",
                      "an idtype the model lacks")
            return
        self.wait_step(rec, proc, pid, words, f"waitid({_short(rec.args, 50)})")

    def wait_step(self, rec, proc, pid, words, shown):
        if pid is None:
            self.note("unparsed", rec, proc.name or "", rec.name, "arguments not understood")
            return
        target, why = self.wait_target(pid)
        if target is None:
            self.note("target", rec, proc.name or "", shown, why)
            return
        opts, dropped = self.wait_options(words)
        command = f"wait4 {target}" + (f" {'|'.join(opts)}" if opts else "")
        if self.call_step(rec, proc, command, f"{shown} -- {self.linux_result(rec)}") and dropped:
            self.note("option", rec, proc.name, "|".join(dropped),
                      "wait options the model lacks, left off")

    def call_kill(self, rec, proc, args):
        if len(args) < 2:
            return self.note("unparsed", rec, proc.name or "", rec.name, "arguments not understood")
        self.kill_step(rec, proc, _int(args[0]), args[1], f"kill({args[0]}, {args[1]})")

    def call_tkill(self, rec, proc, args):
        if len(args) < 2:
            return self.note("unparsed", rec, proc.name or "", rec.name, "arguments not understood")
        self.kill_step(rec, proc, _int(args[0]), args[1], f"tkill({args[0]}, {args[1]})")

    def call_tgkill(self, rec, proc, args):
        if len(args) < 3:
            return self.note("unparsed", rec, proc.name or "", rec.name, "arguments not understood")
        self.kill_step(rec, proc, _int(args[0]), args[2],
                       f"tgkill({args[0]}, {args[1]}, {args[2]}): to the process")

    def kill_step(self, rec, proc, pid, sigtext, shown):
        """A signal to one traced process, by Linux name.  Where the model's default
        action differs from Linux's, what Linux did decides: a signal that killed its
        target is replayed as SIGKILL (SIGTERM as itself), one that stopped it as
        SIGSTOP; a SIGTERM its target survived is left out (the model's always kills)."""
        if self.failed(rec, proc):
            return
        sig = linux_signal(sigtext)
        who = proc.name or ""
        if sig == "0":
            return self.note("option", rec, who, shown,
                             "signal 0 only checks that the process exists")
        if pid is None or pid <= 0:
            return self.note("target", rec, who, shown,
                             "a signal to a process group or to everyone: the model's kill "
                             "names one process")
        target = self.procs.get(self.tgid_of.get(pid, pid))
        if target is None or target.name is None:
            why = target.why_absent if target else "is not a traced process"
            return self.note("target", rec, who, shown, f"pid {pid} {why}")
        fatal, stopping = rec.seq in self.fatal, rec.seq in self.stopping
        if sig in ("SIGKILL", "SIGSTOP", "SIGCONT") or (sig == "SIGTERM" and fatal):
            command, category = f"kill {target.name} {sig}", None
        elif sig == "SIGTERM":
            return self.note("signal", rec, who, shown,
                             "its target lived on under Linux (a handler, or ignored); the "
                             "model's SIGTERM always kills, so it is left out")
        elif fatal:
            command, category = f"kill {target.name} SIGKILL", "standin"
            shown += f": its default action killed {target.name}; SIGKILL stands in"
        elif stopping:
            command, category = f"kill {target.name} SIGSTOP", "standin"
            shown += f": its default action stopped {target.name}; SIGSTOP stands in"
        elif sig in SIGNALS:
            command, category = f"kill {target.name} {sig}", None
            shown += ": caught or ignored, as the model treats it"
        else:
            return self.note("signal", rec, who, shown,
                             f"the model has no {sig}; its target lived on")
        if self.call_step(rec, proc, command, shown):
            key = (target.tgid, sig)
            self.sent[key] = self.sent.get(key, 0) + 1
            if category:
                self.count(category)

    def call_prctl(self, rec, proc, args):
        option = args[0] if args else ""
        if option not in ("PR_SET_CHILD_SUBREAPER", "PR_GET_CHILD_SUBREAPER"):
            return self.note("option", rec, proc.name or "", f"prctl({option})",
                             "no counterpart in the model")
        if self.failed(rec, proc):
            return
        if option == "PR_GET_CHILD_SUBREAPER":
            command = "procctl status"
        else:
            command = "procctl acquire" if _int(args[1] if len(args) > 1 else "0") else \
                "procctl release"
        self.call_step(rec, proc, command, f"prctl({', '.join(args)})")

    def call_setpgid(self, rec, proc, args):
        if self.failed(rec, proc):
            return
        pid, pgid = (_int(a) for a in (args + ["0", "0"])[:2])
        if pid not in (0, proc.tgid):
            return self.note("target", rec, proc.name or "", f"setpgid({pid}, {pgid})",
                             "sets another process's group; the model's setpgid changes "
                             "the caller's own")
        shown = f"setpgid({args[0]}, {args[1] if len(args) > 1 else 0})"
        if pgid in (0, proc.tgid):
            if self.call_step(rec, proc, "setpgid", shown):
                proc.own_group = True
            return
        leader = self.procs.get(pgid)
        if leader is None or not leader.own_group or self.model_pid(leader) is None:
            return self.note("target", rec, proc.name or "", shown,
                             f"process group {pgid}, which the model does not have")
        self.call_step(rec, proc, f"setpgid {self.model_pid(leader)}", shown)

    def uid_step(self, rec, proc, ruid, shown):
        if self.failed(rec, proc):
            return
        if ruid is None or ruid < 0:
            return self.note("option", rec, proc.name or "", shown,
                             "changes only the effective or saved uid; the model has one uid")
        self.call_step(rec, proc, f"setuid {ruid}", shown)

    def call_setuid(self, rec, proc, args):
        self.uid_step(rec, proc, _int(args[0]) if args else None, f"setuid({', '.join(args)})")

    def call_setreuid(self, rec, proc, args):
        self.uid_step(rec, proc, _int(args[0]) if args else None,
                      f"{rec.name}({', '.join(args)})")

    call_setresuid = call_setreuid

    def call_rt_sigaction(self, rec, proc, args):
        sig = linux_signal(args[0]) if args else None
        act = args[1] if len(args) > 1 else "NULL"
        who = proc.name or ""
        if sig != "SIGCHLD" or act == "NULL":
            return self.note("disposition", rec, who, sig,
                             "rt_sigaction reads or sets these signals' dispositions; the "
                             "model keeps only SIGCHLD's, as it is set")
        if self.failed(rec, proc):
            return
        fields = signal_fields(act)
        flags = fields.get("sa_flags", "")
        how = ("nocldwait" if "SA_NOCLDWAIT" in flags
               else "ignore" if fields.get("sa_handler") == "SIG_IGN" else "default")
        p = self.model_proc(proc)
        now = ("nocldwait" if p and "PS_NOCLDWAIT" in p["flags"]
               else "ignore" if p and "PS_CLDSIGIGN" in p["flags"] else "default")
        shown = f"rt_sigaction(SIGCHLD, {fields.get('sa_handler', '?')}" + (
            ", SA_NOCLDWAIT)" if "SA_NOCLDWAIT" in flags else ")")
        if how == now == "default":
            return self.remark(rec, who, f"{shown}: a handler or SIG_DFL, so SIGCHLD stays "
                                         "`default` in the model")
        self.call_step(rec, proc, f"sigaction SIGCHLD {how}", shown)


def _shell_word(word):
    """A word as a shell would need it quoted (for the title)."""
    if word and re.fullmatch(r"[A-Za-z0-9_@%+=:,./-]+", word):
        return word
    return "'" + word.replace("'", "'\"'\"'") + "'"
