"""Scenario files (architecture.md "Scenario files", contract): parsing and validation.

Everything that can be judged from the text alone is judged here, with the line it is
on; what depends on the run (a name not yet bound, a blocked actor) is judged by the
runner, with the same `FILE:LINE: message` form.
"""

import bisect
import re
from dataclasses import dataclass, field

import yaml

from .constants import (
    FORK_FLAGS,
    PROCCTL_CMDS,
    RACE_MODES,
    RFORK_FLAGS,
    RFPGLOCK,
    SIGNALS,
    VFORK_FLAGS,
    WAIT_OPTIONS,
)
from .waitstatus import W_EXITCODE

MAX_STEPS = 200_000
MAX_BYTES = 64 * 1024 * 1024
NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]*\Z")
RESERVED = {"init", "swapper", "kernel", "any"}
STEP_EXPECT_KEYS = {"ret", "errno", "exit", "signal", "stopped", "continued", "info"}
PROC_EXPECT_KEYS = {"ppid", "state", "nthreads", "tids", "reaper"}
STATES = {"SIDL", "SACTIVE", "SSTOP", "SZOMB"}
ERRNOS = {"EINVAL", "EAGAIN", "ECHILD", "EALREADY", "ENOTCONN", "ENOSYS", "ESRCH", "EPERM",
          "EINTR", "ENOMEM"}
TOP_KEYS = {"title", "description", "kernel", "race", "schedule", "limits", "steps", "expect"}

# The numbers a scenario may hold.  A YAML integer anywhere is a C int; a number inside a
# command has its own range, stated in the message that refuses it.
INT_MIN, INT_MAX = -(2 ** 31), 2 ** 31 - 1
PID_MAX = 999_999               # DragonFly's sys/proc.h: pids (and pgids) are 0..PID_MAX
UID_MAX = 2 ** 32 - 1           # uid_t is 32 bits, unsigned
STATUS_MAX = 255                # exit(STATUS): only the low 8 bits reach wait4
MAX_DEPTH = 32                  # nesting of lists and mappings in one value
MAX_VALUE_NODES = 100_000       # YAML nodes in one value, aliases expanded

_TAG = "tag:yaml.org,2002:"
STR, INT, BOOL, NULL = (_TAG + t for t in ("str", "int", "bool", "null"))
SEQ, MAP = _TAG + "seq", _TAG + "map"
COMMAND_TAGS = {STR, INT, BOOL, _TAG + "float", _TAG + "timestamp"}   # implicit ones
_BAD_CHAR = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_DIGITS = re.compile(r"-?[0-9]{1,12}\Z")            # ASCII only: str.isdigit takes '²'
_INT_FORMS = next(rx for tag, rx in yaml.resolver.Resolver.yaml_implicit_resolvers["1"]
                  if tag == INT)
_YAML_RULES = yaml.constructor.SafeConstructor()    # for YAML 1.1's int and bool forms

try:
    _Loader = yaml.CSafeLoader
except AttributeError:          # pragma: no cover - PyYAML without libyaml
    _Loader = yaml.SafeLoader


class ScenarioError(Exception):
    """Bad input: reported as `FILE:LINE: message`, exit status 2."""

    def __init__(self, filename, line, message):
        super().__init__(f"{filename}:{line}: {message}")
        self.filename, self.line, self.message = filename, line, message


@dataclass
class Step:
    index: int                 # 1-based position in the file
    line: int
    actor: str
    command: str
    call: str                  # the engine entry point
    args: dict
    refs: dict                 # argument name -> scenario name still to resolve
    expect: object = None
    expect_line: int = 0


@dataclass
class Scenario:
    filename: str
    title: str
    description: str
    kernel: str
    race: str
    schedule: str
    limits: dict
    steps: list
    expect: list = field(default_factory=list)     # [(line, name, spec)]
    text: str = ""


def load_scenario_file(path):
    """Read and parse a scenario file; unreadable files are bad input too."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except (OSError, ValueError) as e:             # ValueError: a NUL in the path
        raise ScenarioError(path, 0, f"cannot read: {getattr(e, 'strerror', None) or e}") \
            from None
    if len(data) > MAX_BYTES:
        raise ScenarioError(path, 1, f"file larger than the {MAX_BYTES} byte limit")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise ScenarioError(path, line, f"not UTF-8 text ({e.reason})") from None
    return parse_scenario(text, path)


def check_text(text, filename="<editor>"):
    """Refuse text no scenario can be: too large, or not encodable as UTF-8 (a lone
    surrogate, which a JSON string can carry).  parse_scenario calls this first; callers
    that hash or store the text before parsing it call it themselves."""
    if not isinstance(text, str):
        raise ScenarioError(filename, 1, "a scenario is text")
    if len(text) > MAX_BYTES:
        raise ScenarioError(filename, 1, f"scenario larger than the {MAX_BYTES} byte limit")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        line = text.count("\n", 0, e.start) + 1
        raise ScenarioError(filename, line, f"not UTF-8 text: a lone surrogate "
                                            f"U+{ord(text[e.start]):04X}") from None


def parse_scenario(text, filename="<editor>"):
    """Parse scenario text into a Scenario, or raise ScenarioError.  Total: any text gives
    a Scenario or a ScenarioError, never another exception."""
    check_text(text, filename)
    return _Parser(filename, text).scenario(_compose(text, filename))


def _compose(text, filename):
    """The only place YAML is read: libyaml's node graph, nothing constructed yet (the
    _Builder constructs values, and only the kinds scenarios use)."""
    loader = _Loader(text)
    try:
        return loader.get_single_node()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = _Lines(text).at(mark.index) if mark else 1
        raise ScenarioError(filename, line, f"YAML error: {e.problem or e}") from None
    except yaml.reader.ReaderError as e:
        # libyaml counts the position in UTF-8 bytes
        line = text.encode("utf-8")[:e.position].count(b"\n") + 1
        raise ScenarioError(filename, line, f"YAML error: character U+{e.character:04X}: "
                                            f"{e.reason}") from None
    except yaml.YAMLError as e:
        raise ScenarioError(filename, 1, "YAML error: " + " ".join(str(e).split())) from None
    finally:
        loader.dispose()


class _Lines:
    """Line numbers as editors and `grep -n` count them, by '\n' alone.  (YAML also
    breaks lines at '\r', U+0085, U+2028 and U+2029, so its marks' own line numbers
    can point past the end of the file.)"""

    def __init__(self, text):
        self.text = text
        self.newlines = None

    def at(self, index):
        """The 1-based line of character `index`."""
        if self.newlines is None:
            self.newlines = [m.start() for m in re.finditer("\n", self.text)]
        return bisect.bisect_left(self.newlines, index) + 1


def _brief(v, width=60):
    """A value for a message: its repr, cut to `width` characters."""
    r = repr(v)
    return r if len(r) <= width else r[:width - 3] + "..."


def _kind(tag):
    """What a YAML tag is called in a message: 'float', 'timestamp', '!custom'."""
    return tag[len(_TAG):] if tag.startswith(_TAG) else tag


class _Builder:
    """The restricted YAML constructor: from a node it builds text (without control
    characters), integers in INT_MIN..INT_MAX, true/false, null, lists and mappings with
    text keys.  Everything else is bad input with the node's line: floats, timestamps,
    binary, sets and any other tag, recursive aliases, values nested deeper than
    MAX_DEPTH or larger than MAX_VALUE_NODES nodes (aliases expanded, so no alias bomb
    gets past), duplicate keys."""

    def __init__(self, filename, text):
        self.filename = filename
        self.lines = _Lines(text)
        self.budget = 0

    def line(self, node):
        """The 1-based line a node starts on."""
        return self.lines.at(node.start_mark.index)

    def fail(self, node, message):
        line = node if isinstance(node, int) else self.line(node)
        raise ScenarioError(self.filename, line, message)

    def build(self, node):
        """The plain Python value of node (one scenario value: a title, an expectation)."""
        self.budget = MAX_VALUE_NODES
        return self._build(node, 0, set())

    def _build(self, node, depth, active):
        self.budget -= 1
        if self.budget < 0:
            self.fail(node, f"value too large: over {MAX_VALUE_NODES} YAML nodes "
                            "with its aliases expanded")
        if depth > MAX_DEPTH:
            self.fail(node, f"value nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        if id(node) in active:
            self.fail(node, "recursive alias: this value contains itself")
        active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                self.check_tag(node, SEQ, "a list")
                return [self._build(n, depth + 1, active) for n in node.value]
            return {name: self._build(v, depth + 1, active)
                    for name, _k, v in self.pairs(node, "a mapping")}
        finally:
            active.discard(id(node))

    def check_tag(self, node, tag, what):
        if node.tag != tag:
            self.fail(node, f"YAML tag {_kind(node.tag)!r} on {what} is not used in "
                            "scenarios (only text, integers, true/false, null, lists "
                            "and mappings)")

    def pairs(self, node, what):
        """[(key, key node, value node)] of a mapping node: text keys, each once."""
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, f"{what} must be a mapping")
        self.check_tag(node, MAP, "a mapping")
        seen, out = {}, []
        for k, v in node.value:
            name = self.key(k)
            if name in seen:
                self.fail(k, f"duplicate key {_brief(name)} (first on line {seen[name]})")
            seen[name] = self.line(k)
            out.append((name, k, v))
        return out

    def key(self, node):
        """A mapping key: text (a key YAML reads as another type gets a hint to quote it)."""
        if not isinstance(node, yaml.ScalarNode):
            self.fail(node, "a key must be a plain name, not a list or mapping")
        if node.tag != STR:
            self.fail(node, f"key {_brief(node.value)} reads as a {_kind(node.tag)} in YAML; "
                            f"quote it: \"{node.value}\"")
        return self.text(node, "a key")

    def text(self, node, what="text"):
        """A text scalar's value, refused if it holds a control character."""
        m = _BAD_CHAR.search(node.value)
        if m:
            self.fail(node, f"control character U+{ord(m.group()):04X} in {what}: "
                            "scenarios are plain text (tabs and newlines aside)")
        return node.value

    def scalar(self, node):
        tag = node.tag
        if tag == STR:
            return self.text(node)
        if tag == INT:
            return self.integer(node)
        if tag == BOOL:
            value = _YAML_RULES.bool_values.get(node.value.lower())
            if value is None:
                self.fail(node, f"{_brief(node.value)} is not true or false")
            return value
        if tag == NULL:
            return None
        if tag == _TAG + "float":
            self.fail(node, f"{_brief(node.value)} reads as a float in YAML: numbers in "
                            f"a scenario are integers from {INT_MIN} to {INT_MAX} "
                            "(quote it if it is text)")
        if tag == _TAG + "timestamp":
            self.fail(node, f"{_brief(node.value)} reads as a date in YAML; "
                            "quote it if it is text")
        self.fail(node, f"YAML tag {_kind(tag)!r} is not used in scenarios (only text, "
                        "integers, true/false, null, lists and mappings)")

    def integer(self, node):
        """A YAML 1.1 integer (decimal, 0x, 0b, octal, 1_000), within INT_MIN..INT_MAX.
        The length is checked before any conversion (Python refuses int('9' * 5000))."""
        raw = node.value
        value = None
        if len(raw) <= 40 and _INT_FORMS.match(raw):
            try:
                value = _YAML_RULES.construct_yaml_int(node)
            except ValueError:
                value = None
        if value is None:
            self.fail(node, f"{_brief(raw)} is not an integer")
        if not INT_MIN <= value <= INT_MAX:
            self.fail(node, f"{_brief(raw)} is out of range: integers in a scenario are "
                            f"{INT_MIN} to {INT_MAX}")
        return value


class _Parser:
    """The validation pass: walks the node graph of a scenario (for the line of every
    part) and turns every shape the format does not allow into a ScenarioError."""

    def __init__(self, filename, text):
        self.filename = filename
        self.text = text
        self.build = _Builder(filename, text)

    def fail(self, node_or_line, message):
        self.build.fail(node_or_line, message)

    def value(self, node):
        return self.build.build(node)

    def pairs(self, node, what):
        return self.build.pairs(node, what)

    def scenario(self, root):
        if root is None:
            self.fail(1, "empty scenario: expected a mapping with a non-empty 'steps' list")
        top = {}
        for name, k, v in self.pairs(root, "a scenario"):
            if name not in TOP_KEYS:
                self.fail(k, f"unknown key {_brief(name)} "
                             f"(known: {', '.join(sorted(TOP_KEYS))})")
            top[name] = (k, v)
        if "steps" not in top:
            self.fail(root, "no 'steps' list")
        kernel = self.choice(top, "kernel", ("reaper", "classic"), "reaper")
        race = self.choice(top, "race", RACE_MODES, "after-fix")
        schedule = self.choice(top, "schedule", ("auto", "choice"), "auto")
        limits = self.limits(top.get("limits"))
        steps = self.steps(top["steps"][1], schedule)
        expect = self.final_expect(top.get("expect"))
        title = self.text_field(top, "title")
        return Scenario(self.filename, title, self.text_field(top, "description"), kernel,
                        race, schedule, limits, steps, expect, self.text)

    def text_field(self, top, key):
        if key not in top:
            return ""
        v = self.value(top[key][1])
        if not isinstance(v, str):
            self.fail(top[key][1], f"{key} must be text")
        return v.strip()

    def choice(self, top, key, allowed, default):
        if key not in top:
            return default
        v = self.value(top[key][1])
        if not isinstance(v, str) or v not in allowed:
            self.fail(top[key][1], f"{key} must be one of {', '.join(allowed)}, "
                                   f"not {_brief(v)}")
        return v

    def limits(self, entry):
        from .kernel import MAX_MAXPROC
        limits = {"maxproc": 1000, "nproc": None}
        highest = {"maxproc": MAX_MAXPROC, "nproc": INT_MAX}
        if entry is None:
            return limits
        for name, k, v in self.pairs(entry[1], "limits"):
            if name not in limits:
                self.fail(k, f"unknown limit {_brief(name)} (known: maxproc, nproc)")
            val = self.value(v)
            if not _is_int(val) or not 1 <= val <= highest[name]:
                self.fail(v, f"{name} must be an integer from 1 to {highest[name]}, "
                             f"not {_brief(val)}")
            limits[name] = val
        return limits

    def steps(self, node, schedule):
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            self.fail(node, "'steps' must be a non-empty list")
        self.build.check_tag(node, SEQ, "'steps'")
        if len(node.value) > MAX_STEPS:
            self.fail(node, f"{len(node.value)} steps: over the limit of {MAX_STEPS}")
        return [self.step(i + 1, n, schedule) for i, n in enumerate(node.value)]

    def step(self, index, node, schedule):
        actor = command = expect = None
        expect_line = 0
        for name, k, v in self.pairs(node, "a step (ACTOR: COMMAND)"):
            if name == "expect":
                expect, expect_line = self.step_expect(v), self.build.line(v)
                continue
            if actor is not None:
                self.fail(k, f"a step has one actor; {actor!r} and {_brief(name)} found")
            actor, command = name, self.command_text(name, v)
        if actor is None:
            self.fail(node, "a step needs an actor: `NAME: COMMAND`")
        self.check_actor(node, actor, schedule)
        call, args, refs = self.command(node, actor, command)
        return Step(index, self.build.line(node), actor, command, call, args, refs, expect,
                    expect_line)

    def command_text(self, actor, node):
        """A step's command: a text scalar.  What YAML reads as a number, a boolean, a
        float or a date is taken as written (and is then an unknown command); null and
        any other tag (`!!binary`, `!x`) are refused."""
        if not isinstance(node, yaml.ScalarNode) or node.tag == NULL:
            self.fail(node, f"{_brief(actor)}: the command must be text")
        if node.tag not in COMMAND_TAGS:
            self.build.check_tag(node, STR, "a command")
        return self.build.text(node, "a command").strip()

    def check_actor(self, node, actor, schedule):
        if actor == "kernel":
            if schedule != "choice":
                self.fail(node, "`kernel:` steps are only for schedule: choice; in the auto "
                                "schedule kernel work runs by itself")
            return
        base, _, tid = actor.partition(".")
        if base != "init" and (not NAME_RE.match(base) or base in RESERVED):
            self.fail(node, f"bad actor {_brief(actor)}: a name is [A-Za-z][A-Za-z0-9_-]* "
                            "and not init, swapper, kernel or any (or NAME.TID)")
        if tid:
            self.number(node, tid, 0, INT_MAX, "the thread id after '.'")

    def command(self, node, actor, command):
        words = command.split()
        if not words:
            self.fail(node, "empty command")
        verb, rest = words[0], words[1:]
        if actor == "kernel":
            return "kernel", {"work": verb, "target": " ".join(rest)}, {}
        handler = getattr(self, "cmd_" + verb, None)
        if handler is None:
            self.fail(node, f"unknown command {_brief(verb)}")
        return handler(node, rest)

    def want(self, node, rest, n, usage):
        if len(rest) not in (n if isinstance(n, tuple) else (n,)):
            self.fail(node, f"usage: {usage}")

    def number(self, node, word, lo, hi, what):
        """An integer word of a command, in lo..hi (ASCII digits, an optional '-')."""
        if not _DIGITS.match(word) or not lo <= int(word) <= hi:
            self.fail(node, f"{what} must be an integer from {lo} to {hi}, "
                            f"not {_brief(word)}")
        return int(word)

    def new_name(self, node, name):
        if not NAME_RE.match(name) or name in RESERVED:
            self.fail(node, f"bad process name {_brief(name)}: [A-Za-z][A-Za-z0-9_-]*, "
                            "not init, swapper, kernel or any")
        return name

    def cmd_fork(self, node, rest):
        self.want(node, rest, 1, "fork NAME")
        return "fork1", {"flags": FORK_FLAGS, "name": self.new_name(node, rest[0])}, {}

    def cmd_vfork(self, node, rest):
        self.want(node, rest, 1, "vfork NAME")
        return "fork1", {"flags": VFORK_FLAGS, "name": self.new_name(node, rest[0])}, {}

    def cmd_rfork(self, node, rest):
        self.want(node, rest, (1, 2), "rfork FLAG|FLAG... [NAME]")
        flags = 0
        for f in rest[0].split("|"):
            if f not in RFORK_FLAGS:
                self.fail(node, f"unknown rfork flag {_brief(f)} "
                                f"(known: {', '.join(RFORK_FLAGS)})")
            flags |= RFORK_FLAGS[f]
        name = self.new_name(node, rest[1]) if len(rest) == 2 else None
        if flags & RFORK_FLAGS["RFPROC"] and name is None:
            self.fail(node, "rfork with RFPROC makes a process: name it (rfork FLAGS NAME)")
        if not flags & RFORK_FLAGS["RFPROC"] and name is not None:
            self.fail(node, "rfork without RFPROC makes no process, so it takes no NAME")
        return "fork1", {"flags": flags | RFPGLOCK, "user_flags": flags, "name": name}, {}

    def cmd_lwp_create(self, node, rest):
        self.want(node, rest, 0, "lwp_create")
        return "lwp_create", {}, {}

    def status(self, node, word):
        return self.number(node, word, 0, STATUS_MAX, "the exit status")

    def cmd_exit(self, node, rest):
        self.want(node, rest, 1, "exit STATUS")
        return "exit1", {"rv": W_EXITCODE(self.status(node, rest[0]), 0), "dying": True}, {}

    def cmd_extexit(self, node, rest):
        self.want(node, rest, 2, "extexit lwp|proc STATUS")
        if rest[0] not in ("lwp", "proc"):
            self.fail(node, f"extexit takes lwp or proc, not {_brief(rest[0])}")
        return "extexit", {"who": rest[0], "rv": W_EXITCODE(self.status(node, rest[1]), 0)}, {}

    def cmd_exec(self, node, rest):
        self.want(node, rest, 0, "exec")
        return "exec", {}, {}

    def cmd_wait4(self, node, rest):
        self.want(node, rest, (1, 2), "wait4 any|0|NAME|PID|-PGID [OPTION|OPTION...]")
        options = 0
        if len(rest) == 2:
            for o in rest[1].split("|"):
                if o not in WAIT_OPTIONS:
                    self.fail(node, f"unknown wait4 option {_brief(o)} "
                                    f"(known: {', '.join(WAIT_OPTIONS)})")
                options |= WAIT_OPTIONS[o]
        target = rest[0]
        refs = {}
        if target == "any":
            pid = -1
        elif target[:1] in "-0123456789":
            # -1 is WAIT_ANY to the kernel too
            pid = self.number(node, target, -PID_MAX, PID_MAX, "wait4's pid (or -pgid)")
        else:
            pid = None
            refs["pid"] = self.ref_name(node, target)
        return "kern_wait", {"pid": pid, "options": options}, refs

    def ref_name(self, node, name):
        if name != "init" and (not NAME_RE.match(name) or name in RESERVED):
            self.fail(node, f"bad process name {_brief(name)}")
        return name

    def cmd_procctl(self, node, rest):
        self.want(node, rest, 1, "procctl acquire|release|status")
        if rest[0] not in PROCCTL_CMDS:
            self.fail(node, f"unknown procctl command {_brief(rest[0])} "
                            "(acquire, release, status)")
        return "procctl", {"cmd": PROCCTL_CMDS[rest[0]]}, {}

    def cmd_kill(self, node, rest):
        self.want(node, rest, 2, "kill NAME SIGNAL")
        sig = rest[1] if rest[1].startswith("SIG") else "SIG" + rest[1]
        if sig not in SIGNALS:
            self.fail(node, f"unknown signal {_brief(rest[1])} (known: {', '.join(SIGNALS)})")
        args = {"sig": SIGNALS[sig], "signame": sig}
        if rest[0][:1] in "-0123456789":
            pid = self.number(node, rest[0], 0, PID_MAX,
                              "kill's target (a process name or a pid; no process groups)")
            return "kill", dict(args, target=pid), {}
        return "kill", args, {"target": self.ref_name(node, rest[0])}

    def cmd_sigaction(self, node, rest):
        self.want(node, rest, 2, "sigaction SIGCHLD default|ignore|nocldwait")
        if rest[0] != "SIGCHLD":
            self.fail(node, f"the model sets SIGCHLD's disposition only, not {_brief(rest[0])}")
        if rest[1] not in ("default", "ignore", "nocldwait"):
            self.fail(node, f"unknown disposition {_brief(rest[1])} "
                            "(default, ignore, nocldwait)")
        return "sigaction", {"how": rest[1]}, {}

    def cmd_setuid(self, node, rest):
        self.want(node, rest, 1, "setuid UID")
        return "setuid", {"uid": self.number(node, rest[0], 0, UID_MAX, "the uid")}, {}

    def cmd_setpgid(self, node, rest):
        self.want(node, rest, (0, 1), "setpgid [PGID]")
        pgid = self.number(node, rest[0], 0, PID_MAX, "the pgid") if rest else 0
        return "setpgid", {"pgid": pgid}, {}

    # ------------------------------------------------------------------ expectations
    def step_expect(self, node):
        if isinstance(node, yaml.ScalarNode):
            v = self.value(node)
            if not isinstance(v, str) or v not in ERRNOS:
                self.fail(node, f"a bare expectation is an errno name "
                                f"({', '.join(sorted(ERRNOS))}), not {_brief(v)}")
            return {"errno": v}
        out = {}
        for name, k, v in self.pairs(node, "expect"):
            if name not in STEP_EXPECT_KEYS:
                self.fail(k, f"unknown expectation key {_brief(name)} "
                             f"(known: {', '.join(sorted(STEP_EXPECT_KEYS))})")
            out[name] = self.expected(v, name, STEP_EXPECTS[name])
        return out

    def expected(self, node, key, rule):
        """One expected value, checked against its rule (a test and what it should be)."""
        test, should = rule
        v = self.value(node)
        if not test(v):
            self.fail(node, f"expected {key} must be {should}, not {_brief(v)}")
        return v

    def final_expect(self, entry):
        if entry is None:
            return []
        out = []
        for name, k, v in self.pairs(entry[1], "expect"):
            if name != "init" and (not NAME_RE.match(name) or name in RESERVED):
                self.fail(k, f"expect: {_brief(name)} is not a process name")
            if isinstance(v, yaml.MappingNode):
                spec = {}
                for key, kn, vn in self.pairs(v, f"{name}'s expectations"):
                    if key not in PROC_EXPECT_KEYS:
                        self.fail(kn, f"unknown expectation key {_brief(key)} "
                                      f"(known: {', '.join(sorted(PROC_EXPECT_KEYS))})")
                    spec[key] = self.expected(vn, key, PROC_EXPECTS[key])
            else:
                spec = self.value(v)
                if spec not in ("reaped", "alive"):
                    self.fail(v, f"{name}: expected `reaped`, `alive` or a mapping")
            out.append((self.build.line(k), name, spec))
        return out


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_name(v):
    return isinstance(v, str) and (v == "init" or (NAME_RE.match(v) and v not in RESERVED))


def _is_plain(v):
    """Data a call returns through a pointer (procctl status, lwp_create): text, integers,
    true/false, null, and lists and mappings of those."""
    if isinstance(v, list):
        return all(_is_plain(x) for x in v)
    if isinstance(v, dict):
        return all(_is_plain(x) for x in v.values())
    return v is None or isinstance(v, (str, int))


def _in(lo, hi):
    return lambda v: _is_int(v) and lo <= v <= hi


# What each expectation key takes: (test, what it should be, for the message).
STEP_EXPECTS = {
    "ret": (lambda v: v is None or _is_int(v) or _is_name(v),
            "a number, a process name or null"),
    "errno": (lambda v: v is None or (isinstance(v, str) and v in ERRNOS),
              f"null or an errno name ({', '.join(sorted(ERRNOS))})"),
    "exit": (lambda v: v is None or _in(0, STATUS_MAX)(v), f"null or 0 to {STATUS_MAX}"),
    "signal": (lambda v: v is None or _in(1, 127)(v) or (isinstance(v, str) and v in SIGNALS),
               "null, a signal name (SIGKILL) or a number from 1 to 127"),
    # (false is left out: a step's `stopped` is a signal name or null, never false)
    "stopped": (lambda v: v is None or v is True or (isinstance(v, str) and v in SIGNALS),
                "true, null or a signal name (SIGSTOP)"),
    "continued": (lambda v: isinstance(v, bool), "true or false"),
    "info": (lambda v: v is None or (isinstance(v, dict) and _is_plain(v)),
             "null or a mapping"),
}
PROC_EXPECTS = {
    "ppid": (lambda v: _in(0, PID_MAX)(v) or _is_name(v),
             f"a process name or a pid from 0 to {PID_MAX}"),
    "state": (lambda v: isinstance(v, str) and v in STATES,
              f"one of {', '.join(sorted(STATES))}"),
    "nthreads": (_in(0, INT_MAX), f"an integer from 0 to {INT_MAX}"),
    "tids": (lambda v: isinstance(v, list) and all(_in(0, INT_MAX)(t) for t in v),
             "a list of thread ids (integers)"),
    "reaper": (lambda v: v is None or _in(0, PID_MAX)(v) or _is_name(v),
               "a process name, a pid or null"),
}


def make_step(index, actor, command, line=0, filename="<generated>", schedule="auto"):
    """Build one Step from text, with the same checks as a file (random scenarios,
    exported sessions)."""
    parser = _Parser(filename, "")
    parser.check_actor(line, actor, schedule)
    call, args, refs = parser.command(line, actor, command)
    return Step(index, line, actor, command, call, args, refs)


def new_scenario(kernel="reaper", race="after-fix", limits=None, title="", description="",
                 filename="<generated>", schedule="auto"):
    """An empty Scenario to which steps are appended as they are generated."""
    lim = {"maxproc": 1000, "nproc": None}
    lim.update(limits or {})
    return Scenario(filename, title, description, kernel, race, schedule, lim, [])


def dump_scenario(sc):
    """Scenario text for sc (steps and header; expectations are not regenerated)."""
    import json
    lines = []
    if sc.title:
        lines.append(f"title: {json.dumps(sc.title)}")
    if sc.description:
        lines.append(f"description: {json.dumps(sc.description)}")
    lines.append(f"kernel: {sc.kernel}")
    if sc.race != "after-fix":
        lines.append(f"race: {sc.race}")
    if sc.schedule != "auto":
        lines.append(f"schedule: {sc.schedule}")
    lim = {k: v for k, v in sc.limits.items() if v is not None}
    if lim != {"maxproc": 1000}:
        lines.append("limits: {" + ", ".join(f"{k}: {v}" for k, v in lim.items()) + "}")
    lines.append("steps:")
    for st in sc.steps:
        lines.append(f"  - {st.actor}: {st.command}")
    if sc.expect:
        lines.append("expect:")
        for _line_no, name, spec in sc.expect:
            if isinstance(spec, dict):
                spec = "{" + ", ".join(f"{k}: {v}" for k, v in spec.items()) + "}"
            lines.append(f"  {name}: {spec}")
    return "\n".join(lines) + "\n"
