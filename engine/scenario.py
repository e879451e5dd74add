"""Scenario files (architecture.md "Scenario files", contract): parsing and validation.

Everything that can be judged from the text alone is judged here, with the line it is
on; what depends on the run (a name not yet bound, a blocked actor) is judged by the
runner, with the same `FILE:LINE: message` form.
"""

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
    except OSError as e:
        raise ScenarioError(path, 0, f"cannot read: {e.strerror}") from None
    if len(data) > MAX_BYTES:
        raise ScenarioError(path, 1, f"file larger than the {MAX_BYTES} byte limit")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ScenarioError(path, 1, f"not UTF-8 text ({e.reason})") from None
    return parse_scenario(text, path)


def parse_scenario(text, filename="<editor>"):
    """Parse scenario text into a Scenario, or raise ScenarioError."""
    if len(text) > MAX_BYTES:
        raise ScenarioError(filename, 1, f"scenario larger than the {MAX_BYTES} byte limit")
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else 1
        raise ScenarioError(filename, line, f"YAML error: {e.problem or e}") from None
    except yaml.YAMLError as e:
        raise ScenarioError(filename, 1, f"YAML error: {e}") from None
    finally:
        loader.dispose()
    return _Parser(filename, text).scenario(root)


def _line(node):
    return node.start_mark.line + 1


class _Parser:
    def __init__(self, filename, text):
        self.filename = filename
        self.text = text
        self.loader = _Loader("")

    def fail(self, node_or_line, message):
        line = node_or_line if isinstance(node_or_line, int) else _line(node_or_line)
        raise ScenarioError(self.filename, line, message)

    def value(self, node):
        return self.loader.construct_object(node, deep=True)

    def pairs(self, node, what):
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, f"{what} must be a mapping")
        return node.value

    def key(self, node):
        if not isinstance(node, yaml.ScalarNode):
            self.fail(node, "a key must be a plain name")
        if node.tag != "tag:yaml.org,2002:str":
            kind = node.tag.rsplit(":", 1)[-1]
            self.fail(node, f"key {node.value!r} reads as a {kind} in YAML; "
                            f"quote it: \"{node.value}\"")
        return node.value

    def scenario(self, root):
        if root is None:
            self.fail(1, "empty scenario: expected a mapping with a non-empty 'steps' list")
        top = {}
        for k, v in self.pairs(root, "a scenario"):
            name = self.key(k)
            if name not in TOP_KEYS:
                self.fail(k, f"unknown key {name!r} (known: {', '.join(sorted(TOP_KEYS))})")
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
        if v not in allowed:
            self.fail(top[key][1], f"{key} must be one of {', '.join(allowed)}, not {v!r}")
        return v

    def limits(self, entry):
        from .kernel import MAX_MAXPROC
        limits = {"maxproc": 1000, "nproc": None}
        if entry is None:
            return limits
        for k, v in self.pairs(entry[1], "limits"):
            name = self.key(k)
            val = self.value(v)
            if name not in limits:
                self.fail(k, f"unknown limit {name!r} (known: maxproc, nproc)")
            if not isinstance(val, int) or isinstance(val, bool) or val < 1:
                self.fail(v, f"{name} must be a positive integer")
            if name == "maxproc" and val > MAX_MAXPROC:
                self.fail(v, f"maxproc {val} is over the stated limit of {MAX_MAXPROC}")
            limits[name] = val
        return limits

    def steps(self, node, schedule):
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            self.fail(node, "'steps' must be a non-empty list")
        if len(node.value) > MAX_STEPS:
            self.fail(node, f"{len(node.value)} steps: over the limit of {MAX_STEPS}")
        return [self.step(i + 1, n, schedule) for i, n in enumerate(node.value)]

    def step(self, index, node, schedule):
        actor = command = expect = None
        expect_line = 0
        for k, v in self.pairs(node, "a step (ACTOR: COMMAND)"):
            name = self.key(k)
            if name == "expect":
                expect, expect_line = self.step_expect(v), _line(v)
                continue
            if actor is not None:
                self.fail(k, f"a step has one actor; {actor!r} and {name!r} found")
            actor = name
            if not isinstance(v, yaml.ScalarNode) or v.tag == "tag:yaml.org,2002:null":
                self.fail(v, f"{name}: the command must be text")
            command = str(v.value).strip()
        if actor is None:
            self.fail(node, "a step needs an actor: `NAME: COMMAND`")
        self.check_actor(node, actor, schedule)
        call, args, refs = self.command(node, actor, command)
        return Step(index, _line(node), actor, command, call, args, refs, expect, expect_line)

    def check_actor(self, node, actor, schedule):
        if actor == "kernel":
            if schedule != "choice":
                self.fail(node, "`kernel:` steps are only for schedule: choice; in the auto "
                                "schedule kernel work runs by itself")
            return
        base, _, tid = actor.partition(".")
        if base != "init" and (not NAME_RE.match(base) or base in RESERVED):
            self.fail(node, f"bad actor {actor!r}: a name is [A-Za-z][A-Za-z0-9_-]* and not "
                            "init, swapper, kernel or any (or NAME.TID)")
        if tid and not tid.isdigit():
            self.fail(node, f"bad actor {actor!r}: the thread id after '.' must be a number")

    def command(self, node, actor, command):
        words = command.split()
        if not words:
            self.fail(node, "empty command")
        verb, rest = words[0], words[1:]
        handler = getattr(self, "cmd_" + verb, None)
        if handler is None or actor == "kernel":
            if actor == "kernel":
                return "kernel", {"work": verb, "target": " ".join(rest)}, {}
            self.fail(node, f"unknown command {verb!r}")
        return handler(node, rest)

    def want(self, node, rest, n, usage):
        if len(rest) not in (n if isinstance(n, tuple) else (n,)):
            self.fail(node, f"usage: {usage}")

    def new_name(self, node, name):
        if not NAME_RE.match(name) or name in RESERVED:
            self.fail(node, f"bad process name {name!r}: [A-Za-z][A-Za-z0-9_-]*, not init, "
                            "swapper, kernel or any")
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
                self.fail(node, f"unknown rfork flag {f!r} (known: {', '.join(RFORK_FLAGS)})")
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
        if not word.isdigit() or int(word) > 255:
            self.fail(node, f"exit status must be 0-255, not {word!r}")
        return int(word)

    def cmd_exit(self, node, rest):
        self.want(node, rest, 1, "exit STATUS")
        return "exit1", {"rv": W_EXITCODE(self.status(node, rest[0]), 0), "dying": True}, {}

    def cmd_extexit(self, node, rest):
        self.want(node, rest, 2, "extexit lwp|proc STATUS")
        if rest[0] not in ("lwp", "proc"):
            self.fail(node, f"extexit takes lwp or proc, not {rest[0]!r}")
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
                    self.fail(node, f"unknown wait4 option {o!r} "
                                    f"(known: {', '.join(WAIT_OPTIONS)})")
                options |= WAIT_OPTIONS[o]
        target = rest[0]
        refs = {}
        if target == "any":
            pid = -1
        elif re.fullmatch(r"-?\d+", target):
            pid = int(target)             # -1 is WAIT_ANY to the kernel too
        else:
            pid = None
            refs["pid"] = self.ref_name(node, target)
        return "kern_wait", {"pid": pid, "options": options}, refs

    def ref_name(self, node, name):
        if name != "init" and (not NAME_RE.match(name) or name in RESERVED):
            self.fail(node, f"bad process name {name!r}")
        return name

    def cmd_procctl(self, node, rest):
        self.want(node, rest, 1, "procctl acquire|release|status")
        if rest[0] not in PROCCTL_CMDS:
            self.fail(node, f"unknown procctl command {rest[0]!r} (acquire, release, status)")
        return "procctl", {"cmd": PROCCTL_CMDS[rest[0]]}, {}

    def cmd_kill(self, node, rest):
        self.want(node, rest, 2, "kill NAME SIGNAL")
        sig = rest[1] if rest[1].startswith("SIG") else "SIG" + rest[1]
        if sig not in SIGNALS:
            self.fail(node, f"unknown signal {rest[1]!r} (known: {', '.join(SIGNALS)})")
        args = {"sig": SIGNALS[sig], "signame": sig}
        if rest[0].isdigit():
            return "kill", dict(args, target=int(rest[0])), {}
        return "kill", args, {"target": self.ref_name(node, rest[0])}

    def cmd_sigaction(self, node, rest):
        self.want(node, rest, 2, "sigaction SIGCHLD default|ignore|nocldwait")
        if rest[0] != "SIGCHLD":
            self.fail(node, f"the model sets SIGCHLD's disposition only, not {rest[0]!r}")
        if rest[1] not in ("default", "ignore", "nocldwait"):
            self.fail(node, f"unknown disposition {rest[1]!r} (default, ignore, nocldwait)")
        return "sigaction", {"how": rest[1]}, {}

    def cmd_setuid(self, node, rest):
        self.want(node, rest, 1, "setuid UID")
        if not rest[0].isdigit():
            self.fail(node, f"uid must be a number, not {rest[0]!r}")
        return "setuid", {"uid": int(rest[0])}, {}

    def cmd_setpgid(self, node, rest):
        self.want(node, rest, (0, 1), "setpgid [PGID]")
        if rest and not rest[0].isdigit():
            self.fail(node, f"pgid must be a number, not {rest[0]!r}")
        return "setpgid", {"pgid": int(rest[0]) if rest else 0}, {}

    # ------------------------------------------------------------------ expectations
    def step_expect(self, node):
        if isinstance(node, yaml.ScalarNode):
            v = self.value(node)
            if v not in ERRNOS:
                self.fail(node, f"a bare expectation is an errno name, not {v!r}")
            return {"errno": v}
        out = {}
        for k, v in self.pairs(node, "expect"):
            name = self.key(k)
            if name not in STEP_EXPECT_KEYS:
                self.fail(k, f"unknown expectation key {name!r} "
                             f"(known: {', '.join(sorted(STEP_EXPECT_KEYS))})")
            out[name] = self.value(v)
        return out

    def final_expect(self, entry):
        if entry is None:
            return []
        out = []
        for k, v in self.pairs(entry[1], "expect"):
            name = self.key(k)
            spec = self.value(v)
            if isinstance(spec, str):
                if spec not in ("reaped", "alive"):
                    self.fail(v, f"{name}: expected `reaped`, `alive` or a mapping")
            elif isinstance(spec, dict):
                for key in spec:
                    if key not in PROC_EXPECT_KEYS:
                        self.fail(v, f"unknown expectation key {key!r} "
                                     f"(known: {', '.join(sorted(PROC_EXPECT_KEYS))})")
                if "state" in spec and spec["state"] not in STATES:
                    self.fail(v, f"unknown state {spec['state']!r}")
            else:
                self.fail(v, f"{name}: expected `reaped`, `alive` or a mapping")
            out.append((_line(k), name, spec))
        return out


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
