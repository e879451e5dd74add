"""Reading strace output (pure: no Flask, no subprocess).

`strace -f` writes one line per event:

* a system call, `name(args) = result`;
* a call cut in two by another process's line, `name(args <unfinished ...>` and later
  `<... name resumed>args) = result`;
* a signal, `--- SIGCHLD {si_signo=SIGCHLD, si_pid=4126, ...} ---`, or a stop,
  `--- stopped by SIGSTOP ---`;
* an end, `+++ exited with 0 +++`, `+++ killed by SIGKILL +++`, or
  `+++ superseded by execve in pid 4120 +++`;
* strace's own messages, `strace: Process 4120 attached`.

A line may start with the thread's id (`[pid  4120] ` on a terminal, `4120  ` in an `-o`
file; on a terminal the lines of a process traced alone have none) and a timestamp (`-t`,
`-tt`, `-ttt` or `-r`); `-T` adds `<0.000012>` at the end.  `-ff` writes one file per
thread, `LOG.PID`, whose lines have no id.

`read_log(path)` and `parse_text(text)` turn any of these into one list of Records in the
order the events happened, each call whole: an unfinished call and its resumption become
one record, placed where the call started.  Text that is not strace output is bad input,
`FILE:LINE: message` (engine.scenario.ScenarioError), like a bad scenario.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

from ptree.engine.scenario import ScenarioError

MAX_LOG_BYTES = 256 * 1024 * 1024

_PREFIX = re.compile(r"""
    \s*
    (?: \[pid\s+(?P<bpid>\d+)\]\s+ | (?P<pid>\d+)\s+ )?
    (?: (?P<ts>\d+\.\d+|\d\d:\d\d:\d\d(?:\.\d+)?)\s+ )?
    (?: \[\s*[0-9a-fx]+\]\s+ )*          # -i (instruction pointer) and -n (syscall number)
""", re.VERBOSE)
_CALL = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*|\?\?\?\?)\((?P<rest>.*)\Z", re.S)
_RESUMED = re.compile(r"<\.\.\. (?P<name>[A-Za-z_][A-Za-z0-9_]*|\?\?\?\?) resumed>\s?(?P<rest>.*)\Z",
                      re.S)
_UNFINISHED = "<unfinished ...>"
_SIGNAL = re.compile(r"--- (?P<sig>SIG[A-Z0-9_+]+|\d+) (?P<info>\{.*\})? ?---\Z")
_STOPPED = re.compile(r"--- stopped by (?P<sig>SIG[A-Z0-9_+]+|\d+) ---\Z")
_EXITED = re.compile(r"\+\+\+ exited with (?P<status>-?\d+) \+\+\+\Z")
_KILLED = re.compile(r"\+\+\+ killed by (?P<sig>SIG[A-Z0-9_+]+|\d+)(?: \(core dumped\))? \+\+\+\Z")
_SUPERSEDED = re.compile(r"\+\+\+ superseded by execve in pid (?P<pid>\d+) \+\+\+\Z")
_ATTACHED = re.compile(r"(?:strace: )?Process (?P<pid>\d+) (?P<what>attached|detached)")
_DURATION = re.compile(r"\s+<\d+\.\d+>\Z")
_RESULT = re.compile(r"\s*=\s*(?P<ret>.*)\Z", re.S)
_FF_SUFFIX = re.compile(r"\.(\d+)\Z")


@dataclass(slots=True)
class Record:
    """One event of the log.  kind is one of: call, signal, stopped, exited, killed,
    superseded, attached, detached, message, unparsed."""

    kind: str
    pid: int | None           # the Linux thread id the line is about (None: not said)
    line: int                 # 1-based line number in `file`
    file: str
    ts: float | None = None   # seconds (since the epoch with -ttt, since midnight with -t)
    name: str = ""            # call: the system call; signal, stopped, killed: the signal
    args: str = ""            # call: the argument text (both halves of a cut call)
    ret: str | None = None    # call: the text after `= `; None when the log never shows it
    number: int | None = None  # exited: the status; superseded: the other pid
    info: dict = field(default_factory=dict)   # signal: the si_* fields
    text: str = ""            # the line as written (its start, for a cut call)
    end_line: int | None = None   # a cut call: the line it resumed on
    partial: bool = False     # a resumption whose start is not in the log
    seq: int = 0              # position in the merged log


def looks_like_strace(text):
    """True when the first non-blank line of text reads as strace output (for the
    explorer: text pasted or dropped into the editor may be a log instead of a scenario)."""
    for raw in text.splitlines():
        if raw.strip():
            rec = _parse_line(raw, 1, "", None)
            return rec is not None and rec.kind not in ("unparsed", "message")
    return False


def parse_text(text, filename="<editor>", pid=None):
    """Records of one strace output text, cut calls joined, bare lines given their pid.

    pid: the thread every line is about (an -ff file), else None."""
    raw = []
    for n, line in _logical_lines(text):
        if not line.strip():
            continue
        rec = _parse_line(line, n, filename, pid)
        if rec is None:
            continue
        if not raw and rec.kind in ("unparsed", "message"):
            raise ScenarioError(filename, n, "not strace output: expected a line such as "
                                "`4120  execve(\"/bin/sh\", [\"sh\"], ...) = 0` or "
                                f"`[pid 4120] exit_group(0) = ?`, got {_short(line)!r}")
        raw.append(rec)
    if not raw:
        raise ScenarioError(filename, 1, "empty: no strace output in it")
    if pid is None:
        _give_bare_lines_a_pid(raw)
    return _join_cut_calls(raw)


def read_log(path):
    """(records, files) of a log: one file, or `-ff` files given as a folder or as the
    prefix LOG of LOG.PID.  Raises ScenarioError for what cannot be read."""
    p = Path(path)
    if p.is_dir():
        files = _ff_files(sorted(q for q in p.iterdir() if q.is_file()), str(p))
    elif p.is_file():
        return parse_text(_read(p), str(p)), [p]
    else:
        files = _ff_files(sorted(p.parent.glob(p.name + ".*")), str(p), prefix=p.name)
    per_file = [parse_text(_read(f), str(f), pid=int(_FF_SUFFIX.search(f.name).group(1)))
                for f in files]
    return merge_ff(per_file), files


def _ff_files(candidates, path, prefix=None):
    """The LOG.PID files among candidates (one prefix only)."""
    by_prefix = {}
    for q in candidates:
        m = _FF_SUFFIX.search(q.name)
        if m and (prefix is None or q.name[:m.start()] == prefix):
            by_prefix.setdefault(q.name[:m.start()], []).append(q)
    if not by_prefix:
        what = "no such file, nor -ff files" if prefix is not None else "no -ff files"
        raise ScenarioError(path, 0, f"cannot read: {what} named LOG.PID "
                                     f"(`strace -ff -o LOG` writes them)")
    if len(by_prefix) > 1:
        raise ScenarioError(path, 0, "several -ff logs here ("
                            + ", ".join(sorted(by_prefix)) + "): give one as DIR/PREFIX")
    return next(iter(by_prefix.values()))


def _read(path):
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_LOG_BYTES + 1)
    except OSError as e:
        raise ScenarioError(str(path), 0, f"cannot read: {e.strerror}") from None
    if len(data) > MAX_LOG_BYTES:
        raise ScenarioError(str(path), 1, f"larger than the {MAX_LOG_BYTES} byte limit")
    if b"\0" in data[:4096]:
        raise ScenarioError(str(path), 1, "not strace output: a binary file")
    return data.decode("utf-8", errors="replace")


def _short(text, n=60):
    text = text.strip()
    return text if len(text) <= n else text[:n] + "..."


# -- one line ---------------------------------------------------------------------------------

_EMBEDDED = re.compile(r"(?:\S*/)?strace: Process \d+ (?:attached|detached)")


def _logical_lines(text):
    """(line number, text) of each line, with strace's own messages taken out of the
    lines they cut: on a terminal, `wait4(-1, strace: Process 4121 attached` is followed
    by the rest of the call, ` <unfinished ...>`, on a later line.  The message becomes a
    line of its own; the call's two parts are one line, numbered where it starts."""
    lines = text.splitlines()
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        m = _EMBEDDED.search(line)
        if m is None or m.start() == 0:
            yield i + 1, line
            i += 1
            continue
        head, start = line[:m.start()], i + 1
        yield start, line[m.start():]
        i += 1
        while i < n and _EMBEDDED.match(lines[i]):
            yield i + 1, lines[i]
            i += 1
        if i < n:
            head += lines[i]
            i += 1
        yield start, head

def _parse_line(line, n, filename, pid):
    """The Record of one line (a cut call's halves are kinds 'unfinished' and 'resumed'
    here), or None for what carries nothing (a -k stack frame)."""
    m = _PREFIX.match(line)
    body = line[m.end():].rstrip()
    if m.group("bpid"):
        pid = int(m.group("bpid"))
    elif m.group("pid"):
        pid = int(m.group("pid"))
    rec = Record("unparsed", pid, n, filename, _timestamp(m.group("ts")), text=line.strip())
    if body.startswith(">"):                      # -k: a stack frame of the call above
        return None
    body = _DURATION.sub("", body)
    if body.startswith("<... "):
        r = _RESUMED.match(body)
        if r:
            rec.kind, rec.name, rec.args = "resumed", r.group("name"), r.group("rest")
        return rec
    if body.startswith("---"):
        return _parse_signal(rec, body)
    if body.startswith("+++"):
        return _parse_end(rec, body)
    if body.startswith("strace:") or body.startswith("[ Process") or body.startswith("Process "):
        a = _ATTACHED.search(body)
        rec.kind = a.group("what") if a else "message"
        if a:
            rec.number = int(a.group("pid"))
        return rec
    c = _CALL.match(body)
    if not c:
        return rec
    rec.name, rest = c.group("name"), c.group("rest")
    if rest.endswith(_UNFINISHED):
        rec.kind, rec.args = "unfinished", rest[:-len(_UNFINISHED)]
        return rec
    split = split_call(rest)
    if split is not None:
        rec.kind, (rec.args, rec.ret) = "call", split
    return rec


def _parse_signal(rec, body):
    s = _STOPPED.match(body)
    if s:
        rec.kind, rec.name = "stopped", s.group("sig")
        return rec
    s = _SIGNAL.match(body)
    if s:
        rec.kind, rec.name = "signal", s.group("sig")
        rec.info = signal_fields(s.group("info") or "")
    return rec


def _parse_end(rec, body):
    for pattern, kind in ((_EXITED, "exited"), (_KILLED, "killed"), (_SUPERSEDED, "superseded")):
        e = pattern.match(body)
        if e:
            rec.kind = kind
            if kind == "killed":
                rec.name = e.group("sig")
            else:
                rec.number = int(e.group(1))
            return rec
    return rec


def _timestamp(text):
    if text is None:
        return None
    if ":" in text:
        h, m, s = text.split(":")
        return int(h) * 3600 + int(m) * 60 + float(s)
    return float(text)


def split_call(rest):
    """(args, result) of `ARGS) = RESULT`, the text after a call's opening parenthesis;
    None if there is no closing parenthesis followed by `=`."""
    close = _closing_paren(rest)
    if close is None:
        return None
    r = _RESULT.match(rest, close + 1)
    if not r:
        return None
    return rest[:close], r.group("ret").strip()


def _closing_paren(text):
    """Index of the `)` that closes an argument list whose `(` came just before text:
    strings (with backslash escapes) and nested brackets are skipped."""
    depth, i, n = 0, 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                return i if c == ")" else None
            depth -= 1
        i += 1
    return None


def split_args(text):
    """The top-level comma-separated arguments of a call's argument text."""
    parts, depth, start, i, n = [], 0, 0, 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
        i += 1
    tail = text[start:].strip()
    if tail or parts:
        parts.append(tail)
    return parts


def signal_fields(text):
    """{si_signo: 'SIGCHLD', si_pid: '4126', ...} of a `{si_signo=..., ...}` block."""
    out = {}
    for part in split_args(text.strip().strip("{}")):
        key, eq, value = part.partition("=")
        if eq:
            out[key.strip()] = value.strip()
    return out


def c_string(text):
    """The value of a C string as strace prints it (`"a\\tb"...` is `a\tb`, cut short)."""
    text = text.strip()
    if not text.startswith('"'):
        return text
    end = text.rfind('"')
    body = text[1:end if end > 0 else None]
    try:
        return body.encode("latin-1", "backslashreplace").decode("unicode_escape")
    except UnicodeDecodeError:
        return body


def string_list(text):
    """The strings of a `["sh", "-c", "..."]` argument (strace's argv form)."""
    text = text.strip()
    if not text.startswith("["):
        return []
    return [c_string(s) for s in split_args(text[1:text.rfind("]")]) if s.startswith('"')]


def ret_value(ret):
    """The number a result starts with (`4126`, `-1 ECHILD (...)`, `0x1f`), or None (`?`)."""
    if not ret:
        return None
    word = ret.split()[0]
    try:
        return int(word, 0)
    except ValueError:
        return None


def ret_errno(ret):
    """The errno name of a failed result (`-1 ECHILD (No child processes)` is ECHILD;
    `? ERESTARTSYS (...)` is ERESTARTSYS), or None."""
    if not ret:
        return None
    words = ret.split()
    if len(words) > 1 and re.fullmatch(r"E[A-Z0-9_]+", words[1]):
        return words[1]
    return None


# -- the whole log -----------------------------------------------------------------------------

def _give_bare_lines_a_pid(records):
    """On a terminal, strace writes a process's lines without `[pid N]` while it is the
    only one traced.  Such a line before any pid is known belongs to the first process,
    whose pid is learnt from the first prefixed line that is not one of its children; a
    bare line later belongs to the process still alive (the last one seen, if several),
    or, when none is, to the one that ended last (its `+++ exited` line)."""
    children, alive, ended, first = set(), [], set(), []
    last_ended = None
    for rec in records:
        if rec.kind in ("attached", "detached"):
            continue                             # strace's messages name their own pid
        if rec.pid is None:
            if alive:
                rec.pid = alive[-1]
            elif last_ended is not None:
                rec.pid = last_ended             # its `+++ exited with` line
            else:
                first.append(rec)
        elif rec.pid not in alive and rec.pid not in ended:
            if first and first[0].pid is None and rec.pid not in children:
                for r in first:
                    r.pid = rec.pid
            alive.append(rec.pid)
        if rec.kind in ("call", "resumed") and rec.name in ("clone", "clone3", "fork", "vfork"):
            split = split_call(rec.args) if rec.kind == "resumed" else (rec.args, rec.ret)
            child = ret_value(split[1]) if split else None
            if child and child > 0:
                children.add(child)
        ends = rec.kind in ("exited", "killed") or (rec.kind == "call" and rec.name == "exit_group")
        if ends and rec.pid in alive:
            alive.remove(rec.pid)
            ended.add(rec.pid)
            last_ended = rec.pid
    for r in first:
        if r.pid is None:
            r.pid = 0                            # a log that never names a pid: one process


def _join_cut_calls(raw):
    """Each `<unfinished ...>` joined with its `<... resumed>` (matched by thread and call
    name) into one call record at the start's place."""
    out, open_calls = [], {}
    for rec in raw:
        if rec.kind == "unfinished":
            rec.kind = "call"
            open_calls[rec.pid] = rec
            out.append(rec)
            continue
        if rec.kind == "resumed":
            start = open_calls.pop(rec.pid, None)
            if start is None or start.name != rec.name:
                if start is not None:
                    open_calls[rec.pid] = start
                rec.kind, rec.partial = "call", True
                split = split_call(rec.args.replace(_UNFINISHED, ""))
                rec.args, rec.ret = split if split else (rec.args, None)
                out.append(rec)
                continue
            split = split_call((start.args + rec.args).replace(_UNFINISHED, ""))
            if split is not None:
                start.args, start.ret = split
            start.end_line = rec.line
            continue
        out.append(rec)
    for seq, rec in enumerate(out):
        rec.seq = seq
    return out


def merge_ff(per_file):
    """One list from -ff files' records: by timestamp when every file has sub-second
    ones, else in an order rebuilt from causes (see _causal_merge)."""
    records = [r for recs in per_file for r in recs]
    if records and all(r.ts is not None for r in records) and any(
            r.ts != int(r.ts) for r in records):
        order = {id(recs): i for i, recs in enumerate(per_file)}
        keyed = [(r.ts, order[id(recs)], r.seq, r) for recs in per_file for r in recs]
        keyed.sort(key=lambda t: t[:3])
        merged = [t[3] for t in keyed]
    else:
        merged = _causal_merge(per_file)
    for seq, rec in enumerate(merged):
        rec.seq = seq
    return merged


def _causal_merge(per_file):
    """-ff files without sub-second timestamps: no order between processes is written
    down, so one is rebuilt from causes.  A process's lines start after the fork that made
    it; the line after a wait that returned pid C (and a WNOHANG wait that returned C)
    comes after C's end; the line after a vfork comes after the child's execve or end; a
    `+++ killed by SIG` line comes after a kill of SIG to it.  Among the lines free to go,
    the running process goes on, and an end waits until a wait needs it or nothing else
    can go (then the oldest process ends first): so a child outlives the parent that did
    not wait for it, as a background job does."""
    queues = {recs[0].pid: recs for recs in per_file if recs}
    pos = dict.fromkeys(queues, 0)
    made, ended, execed, kills, out = {}, set(), set(), set(), []
    for recs in per_file:
        for r in recs:
            child = _fork_child(r)
            if child in queues:
                made[id(r)] = child
    kill_targets = {t for recs in per_file for t in map(_kill_target, recs) if t}
    ready = [pid for pid in queues if pid not in made.values()]
    current = ready[0] if ready else None

    def head(pid):
        return queues[pid][pos[pid]]

    def waits_for(pid):
        """What pid's next line must wait for: ('end', C), ('exec', C) or None."""
        r = head(pid)
        prev = queues[pid][pos[pid] - 1] if pos[pid] else None
        if r.kind == "call" and r.name in ("wait4", "waitid") and "WNOHANG" in r.args:
            c = ret_value(r.ret)
            return ("end", c) if c and c > 0 else None
        if prev is not None and prev.kind == "call":
            c = ret_value(prev.ret)
            if prev.name in ("wait4", "waitid") and c and c > 0:
                return ("end", c)
            if id(prev) in made and (prev.name == "vfork" or "CLONE_VFORK" in prev.args):
                return ("exec", made[id(prev)])
        return None

    def can_go(pid):
        r = head(pid)
        if r.kind == "killed" and (r.pid, r.name) in kill_targets and (r.pid, r.name) not in kills:
            return False
        need = waits_for(pid)
        if need is None or need[1] not in queues:
            return True
        return need[1] in ended or (need[0] == "exec" and need[1] in execed)

    def is_end(r):
        return r.kind in ("exited", "killed") or (r.kind == "call" and r.name == "exit_group")

    while ready:
        free = [pid for pid in ready if can_go(pid)]
        needed = {w[1] for w in (waits_for(pid) for pid in ready) if w}
        going = [pid for pid in free if not is_end(head(pid))]
        if going:
            pick = current if current in going else going[0]
        elif any(pid in needed for pid in free):
            pick = next(pid for pid in free if pid in needed)
        else:
            pick = min(free or ready, key=lambda pid: (pid not in free, ready.index(pid)))
        r = head(pick)
        pos[pick] += 1
        out.append(r)
        current = pick
        target = _kill_target(r)
        if target:
            kills.add(target)
        if is_end(r):
            ended.add(r.pid)
        if r.kind == "call" and r.name == "execve" and ret_value(r.ret) == 0:
            execed.add(r.pid)
        if id(r) in made:
            ready.append(made[id(r)])
        if pos[pick] >= len(queues[pick]):
            ended.add(pick)
            ready.remove(pick)
    return out


def _fork_child(r):
    """The pid a successful fork, vfork, clone or clone3 record made, else None."""
    if r.kind == "call" and r.name in ("clone", "clone3", "fork", "vfork"):
        child = ret_value(r.ret)
        if child and child > 0:
            return child
    return None


def _kill_target(r):
    """(pid, signal) a successful kill/tkill/tgkill record sends, else None."""
    if r.kind != "call" or r.name not in ("kill", "tkill", "tgkill") or ret_value(r.ret) != 0:
        return None
    args = split_args(r.args)
    try:
        pid = int(args[1 if r.name == "tgkill" else 0])
    except (ValueError, IndexError):
        return None
    return pid, args[-1]
