"""A fuzzer for scenario files (issue 17): hostile documents must be bad input, never a
crash.

Strategies build malformed scenario documents (every top-level key with values of every
wrong type, odd scalars that YAML reads as dates, floats or tagged values, unhashable and
odd keys, anchors and recursive aliases, control characters, numbers out of every range)
and mutate the bundled scenarios (byte flips, token swaps, line shuffles).  The oracle:
the command line either runs the file (exit 0 or 1, no traceback) or answers bad input
with exit 2 and `FILE:LINE: message` on stderr.  Exit 3, the catch-all's internal error,
fails the test: it means the fuzzer found a crash.

The CLI is driven in-process (ptree.webui.cli.main), so thousands of cases are cheap; a few
cases go through a real `python -m ptree` subprocess, and the same documents are
opened through the Socket.IO test client (the editor and `?text=`), which must answer
`scenario_error` or a snapshot and go on answering.

Case counts: `make test` runs the quick profile (a few hundred cases, derandomized so it
is the same every run); `make fuzz` sets PTREE_FUZZ=full (over 10,000 cases, fresh ones
each run).  PTREE_FUZZ_SCALE multiplies the full counts.
"""

import contextlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ptree.engine.randomgen import generate
from ptree.engine.scenario import dump_scenario
from ptree.webui.cli import main
from scenario_util import REPO, cli

FULL = os.environ.get("PTREE_FUZZ") == "full"
SCALE = float(os.environ.get("PTREE_FUZZ_SCALE", "1"))

settings.register_profile("ptree-fuzz-quick", deadline=None, database=None,
                          derandomize=True, suppress_health_check=list(HealthCheck))
settings.register_profile("ptree-fuzz-full", deadline=None, print_blob=True,
                          suppress_health_check=list(HealthCheck))
PROFILE = settings.get_profile("ptree-fuzz-full" if FULL else "ptree-fuzz-quick")


def cases(quick, full):
    """Hypothesis settings running `quick` cases in `make test`, `full` in `make fuzz`."""
    return settings(PROFILE, max_examples=max(1, int(full * SCALE)) if FULL else quick)


# ---------------------------------------------------------------------- the corpus
BUNDLED = sorted((REPO / "scenarios").glob("*.yaml")) + sorted(
    (REPO / "tests" / "e2e" / "scenarios").glob("*.yaml"))
CORPUS = [p.read_text(encoding="utf-8") for p in BUNDLED] + [
    dump_scenario(generate(seed, 25, kernel=kernel))
    for seed in range(4) for kernel in ("reaper", "classic")]

# ---------------------------------------------------------------------- scalars
class Repeated(str):
    """A long run of one character, with a short repr (hypothesis prints strategies)."""

    def __repr__(self):
        return f"{self[:1]!r} * {len(self)}"


NINES = Repeated("9" * 5000)     # over Python's 4300-digit limit for int(str)
VERBS = ["fork", "vfork", "rfork", "lwp_create", "exit", "extexit", "exec", "wait4",
         "procctl", "kill", "sigaction", "setuid", "setpgid", "reaplwps", "lwp_dispose",
         "spawn", "Fork", ""]
NAMES = ["a", "b", "c", "sh", "init", "kernel", "any", "swapper", "a.1", "a.0", "init.0",
         "a.²", "a.-1", "a.99999999999999999999", "9lives", "a b", "é"]
FLAGS = ["RFPROC", "RFPROC|RFNOWAIT", "RFPROC|RFTHREAD", "RFFDG|RFCFDG", "RFPROC|RFPPWAIT",
         "RFPROC|", "|", "RFBOGUS"]
WORDS = (VERBS + NAMES + FLAGS + [
    "SIGKILL", "SIGSTOP", "SIGCONT", "KILL", "SIGCHLD", "SIGBOGUS", "WNOHANG",
    "WNOHANG|WUNTRACED", "WCONTINUED|", "lwp", "proc", "acquire", "release", "status",
    "default", "ignore", "nocldwait", "reaper", "classic", "after-fix", "before-fix",
    "auto", "choice", "reaped", "alive", "SACTIVE", "SZOMB", "SSTOP", "EINVAL", "ECHILD",
    "EALREADY"])
# numbers as a command word: every range edge, and what int() or isdigit() mistake
NUMBER_WORDS = ["0", "1", "-1", "-0", "+1", "255", "256", "999999", "1000000", "-999999",
                "-1000000", "2147483647", "2147483648", "4294967295", "4294967296",
                "99999999999999999999", "-99999999999999999999", NINES, "1.5", "1e3",
                "0x10", "²", "٣", "true", "null", ".nan", "", "007"]
ODD_SCALARS = [
    "2001-13-45", "2001-12-14", "2001-12-14t21:59:43.10-05:00", "!!float x", "!!float 1",
    "!!int x", "!!int 0b", "!!int 1", "!!bool x", "!!bool yes", "!!null x", "!!str 5",
    "!!binary aGk=", "!!timestamp x", "!!set {a, b}", "!!omap [{a: 1}]", "!!pairs [{a: 1}]",
    "!foo bar", "!!python/object:os.system x", "!!python/name:os.system ''", "!<x> y",
    ".inf", "-.inf", ".nan", ".NaN", "1.5", "-0.0", "1e3", "6.8523015e+5", NINES,
    "-" + "9" * 30, "0x7fffffff", "0x80000000", "-0x80000001", "0b101", "017", "09",
    "1_000", "190:20:30", "~", "null", "Null", "true", "false", "no", "on", "yes", "off",
    "''", '""', '"\\x01"', '"\\0"', '"\\e[31m"', '"\\x85"', '"\\t"', '"a\\nb"', '"\\x7f"',
    '"\\u200b"', '"\\uFEFF"', "'it''s'", "<<", "=", "*undefined", "*A", "*A",
]
# block-only forms, for a section's value (they cannot stand inside a flow collection)
BLOCK_SCALARS = ["|\n  a", ">-\n  a", "\n  - x", "\n  ? [1]\n  : 2", "\n  a: 1\n  a: 2"]
TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs", "Cc")), max_size=20)
NUMBERS = st.one_of(
    st.integers(-(2 ** 70), 2 ** 70),
    st.sampled_from([-(2 ** 31) - 1, -(2 ** 31), -1, 0, 1, 255, 256, 999_999, 1_000_000,
                     250_000, 250_001, 2 ** 31 - 1, 2 ** 31, 2 ** 32])).map(str)
LEAF = st.one_of(st.sampled_from(ODD_SCALARS), NUMBERS, st.sampled_from(WORDS),
                 TEXT.map(lambda t: json.dumps(t, ensure_ascii=False)))
KEY = st.one_of(
    st.sampled_from(["title", "kernel", "steps", "expect", "limits", "ret", "errno", "exit",
                     "signal", "stopped", "continued", "info", "ppid", "state", "nthreads",
                     "tids", "reaper", "maxproc", "nproc", "a", "init", "sh", "1", "on",
                     "null", "~", "<<", "[1]", "{a: 1}", "? [1]", '"\\x01"', '"a\\tb"',
                     "2001-01-01", ".inf", "!!float k", "*undefined", "&A k"]),
    LEAF)


def flow_map(pairs):
    return "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"


def anchored(value):
    """value with an anchor `&A` (named later by link_anchors); one anchor per node."""
    return value if value.startswith(("&", "*")) else "&A " + value


def _containers(inner):
    """Flow lists and mappings of `inner`, anchored values and recursive aliases."""
    return st.one_of(
        st.lists(inner, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]"),
        st.lists(st.tuples(KEY, inner), max_size=4).map(flow_map),
        inner.map(anchored),
        st.sampled_from(["&A [*A]", "&A {k: *A}", "&A [1, [2, *A]]", "&A {ret: *A}",
                         "[&A 1, *A, *A]", "{a: &A [1, 2], b: *A}"]))


VALUE = st.recursive(LEAF, _containers, max_leaves=12)

# ---------------------------------------------------------------------- documents
def mostly(good, odd):
    """`good` three times in four: a document that is wrong everywhere fails at its first
    key, and the deeper checks (steps, expectations, the run) would never be reached."""
    return st.one_of(good, good, good, odd)


WORD_OR_NUMBER = st.one_of(st.sampled_from(WORDS), st.sampled_from(NUMBER_WORDS))
def shaped(number, name, good):
    """Commands of the right shape, with number words, names and other words drawn
    from `number`, `name` and `good` (a strategy choosing between a right word and an odd
    one)."""
    return [
        st.builds(lambda n: f"exit {n}", number),
        st.builds(lambda w, n: f"extexit {w} {n}", good(["lwp", "proc"], ["thread"]), number),
        st.builds(lambda t, s: f"kill {t} {s}", st.one_of(name, number),
                  good(["SIGKILL", "SIGSTOP", "CONT", "SIGTERM"], ["SIGBOGUS", "9"])),
        st.builds(lambda n: f"setuid {n}", number),
        st.builds(lambda n: f"setpgid {n}".strip(), number),
        st.builds(lambda t, o: f"wait4 {t} {o}".strip(), st.one_of(name, number),
                  good(["", "WNOHANG", "WUNTRACED|WCONTINUED"], ["WBOGUS", "|"])),
        st.builds(lambda f, n: f"rfork {f} {n}".strip(),
                  good(["RFPROC|RFNOWAIT", "RFFDG", "RFPROC|RFTHREAD"], FLAGS),
                  good(["", "x", "y"], ["b", "init", "9x"])),
        st.builds(lambda v, n: f"{v} {n}", st.sampled_from(["fork", "vfork"]), name),
        st.sampled_from(["lwp_create", "exec", "procctl acquire", "procctl status",
                         "procctl release", "sigaction SIGCHLD ignore",
                         "sigaction SIGCHLD nocldwait", "sigaction SIGINT default"]),
    ]


def either(right, odd):
    return st.sampled_from(right + odd)


def mostly_right(right, odd):
    return mostly(st.sampled_from(right), st.sampled_from(odd))


# every range edge in command words, and within the ranges (for runs that go on)
IN_RANGE = ["0", "1", "2", "3", "255", "999999", "-999999", "4294967295", "-1", "007"]
SHAPED = shaped(st.sampled_from(NUMBER_WORDS), st.sampled_from(NAMES), either)
SHAPED_COMMAND = st.one_of(*shaped(mostly_right(IN_RANGE, NUMBER_WORDS),
                                   mostly_right(["a", "b", "c", "sh", "init", "x", "y"], NAMES),
                                   mostly_right))
COMMAND = st.one_of(*SHAPED)
COMMAND = st.one_of(*SHAPED, st.lists(WORD_OR_NUMBER, min_size=1, max_size=4).map(" ".join))
ACTOR = st.one_of(st.sampled_from(["init", "a", "b", "c", "sh", "a.1"]), st.sampled_from(NAMES),
                  st.sampled_from(ODD_SCALARS[:30]))
EXPECT_VALUE = st.one_of(VALUE, st.sampled_from(
    ["a", "b", "init", "0", "2", "-1", "null", "true", "SIGKILL", "SIGSTOP", "ECHILD",
     "{flags: [OWNED], refs: 1}", "{tid: 1}", "[]"]))
STEP_EXPECT = st.one_of(
    st.lists(st.tuples(st.sampled_from(["ret", "errno", "exit", "signal", "stopped",
                                        "continued", "info", "bogus"]), EXPECT_VALUE),
             max_size=3).map(flow_map),
    st.sampled_from(["EINVAL", "ECHILD", "ESRCH", "EBOGUS"]),
    VALUE)


@st.composite
def step_text(draw):
    """One step as a block-list item: `- ACTOR: COMMAND`, maybe with `expect:`."""
    actor, command = draw(ACTOR), draw(COMMAND)
    if draw(st.booleans()) and command:
        command = json.dumps(command) if draw(st.booleans()) else command
    line = f"  - {actor}: {command}"
    if draw(st.integers(0, 3)) == 0:
        line += f"\n    expect: {draw(STEP_EXPECT)}"
    return line


PRELUDE = ["  - init: fork a", "  - init: fork b", "  - a: fork c", "  - a: lwp_create",
           "  - init: fork sh", "  - sh: procctl acquire"]
STEPS = st.tuples(st.lists(st.sampled_from(PRELUDE), max_size=4),
                  st.lists(step_text(), min_size=1, max_size=6)).map(
    lambda pair: "\n" + "\n".join(pair[0] + pair[1]))
PROC_VALUE = st.one_of(VALUE, st.sampled_from(
    ["a", "sh", "init", "1", "0", "null", "SACTIVE", "SZOMB", "SBOGUS", "[0]", "[0, 1]",
     "[a]"]))
PROC_SPEC = st.one_of(
    st.sampled_from(["reaped", "alive", "dead"]),
    st.lists(st.tuples(st.sampled_from(["ppid", "state", "nthreads", "tids", "reaper",
                                        "bogus"]), PROC_VALUE), max_size=3).map(flow_map),
    VALUE)
SECTIONS = {
    "title": mostly(TEXT.map(lambda t: json.dumps(t, ensure_ascii=False)), VALUE),
    "description": st.one_of(VALUE, st.sampled_from(BLOCK_SCALARS)),
    "kernel": mostly(st.sampled_from(["reaper", "classic"]), VALUE),
    "race": mostly(st.sampled_from(["after-fix", "before-fix"]), VALUE),
    "schedule": mostly(st.sampled_from(["auto", "auto", "choice"]), VALUE),
    "limits": mostly(st.lists(st.tuples(st.sampled_from(["maxproc", "nproc", "x"]),
                                        st.one_of(NUMBERS, VALUE)),
                              max_size=2).map(flow_map), VALUE),
    "steps": mostly(STEPS, VALUE),
    "expect": mostly(st.lists(st.tuples(st.one_of(st.sampled_from(NAMES), KEY), PROC_SPEC),
                              max_size=3).map(
        lambda kv: "".join(f"\n  {k}: {v}" for k, v in kv)), VALUE),
}
BOGUS = st.one_of(VALUE, st.sampled_from(BLOCK_SCALARS))


@st.composite
def near_valid(draw):
    """A scenario that is valid but for what it draws from the edges: commands of the
    right shape with numbers from every range, by processes that exist, and expectations
    with any value (so the run and the expectation checks are reached)."""
    lines = [f"kernel: {draw(st.sampled_from(['reaper', 'classic']))}", "steps:",
             "  - init: fork a", "  - init: fork b", "  - a: fork c", "  - init: fork sh"]
    for _ in range(draw(st.integers(1, 4))):
        actor = draw(st.sampled_from(["init", "a", "b", "c", "sh", "a.0"]))
        lines.append(f"  - {actor}: {draw(SHAPED_COMMAND)}")
        if draw(st.booleans()):
            lines.append(f"    expect: {draw(STEP_EXPECT)}")
    if draw(st.booleans()):
        lines.append("expect:")
        for name in draw(st.lists(st.sampled_from(["a", "b", "c", "sh", "init"]),
                                  min_size=1, max_size=3, unique=True)):
            lines.append(f"  {name}: {draw(PROC_SPEC)}")
    return link_anchors(draw, "\n".join(lines) + "\n")


@st.composite
def document(draw):
    """A scenario document: top-level sections (each right, wrong or odd), sometimes
    repeated or anchored and aliased across sections, or a bare value; or a near-valid
    one (a third of the time)."""
    if draw(st.integers(0, 2)) == 0:
        return draw(near_valid())
    if draw(st.integers(0, 9)) == 0:
        return link_anchors(draw, draw(VALUE) + "\n")
    keys = draw(st.lists(st.sampled_from(sorted(SECTIONS)), max_size=5, unique=True))
    if draw(st.integers(0, 9)) == 0:
        keys += draw(st.lists(st.sampled_from(sorted(SECTIONS)), max_size=2))  # repeated
    if "steps" not in keys and draw(st.integers(0, 5)):
        keys.append("steps")
    if draw(st.integers(0, 9)) == 0:
        keys.insert(draw(st.integers(0, len(keys))), draw(KEY))      # an unknown key
    lines = []
    for key in keys:
        value = draw(SECTIONS.get(key, BOGUS))
        if draw(st.integers(0, 9)) == 0:
            prefix = draw(st.sampled_from(["&A", "*A", "!!str", "!!map", "!!seq"]))
            if prefix == "*A":
                value = prefix
            elif not value.startswith(("&", "*", "!")):
                value = prefix + ("" if value.startswith("\n") else " ") + value
        lines.append(f"{key}: {value}")
    return link_anchors(draw, "\n".join(lines) + "\n")


def link_anchors(draw, text):
    """Name the anchors `&A` a1, a2, ... in document order and point each alias `*A` at
    one defined before it (an enclosing one makes a recursive alias), so that aliases
    mostly resolve instead of all being YAML errors."""
    defined = 0

    def name(m):
        nonlocal defined
        if m.group() == "&A":
            defined += 1
            return f"&a{defined}"
        if not defined:
            return "*undefined"
        return f"*a{draw(st.integers(1, defined))}"

    return re.sub(r"[&*]A\b", name, text)


# ---------------------------------------------------------------------- mutations
TOKEN = re.compile(r"\w+|[^\w\s]|\s+")
INTERESTING = ["*a", "&a", "&a [*a]", "!!float", "!!int", "!!binary", "!foo", "[", "]",
               "{", "}", ":", ": ", "- ", "-", "\n", "\n  ", "\t", "?", "|", ">", "'",
               '"', "#", "%", "@", "`", "<<", NINES, "-1", "-999999", "1000000",
               "4294967296", "2001-13-45", ".nan", ".inf", "1.5", '"\\x07"', "\x85",
               "\u2028", "²", "kernel", "expect", "steps", "init", "swapper", "any",
               "WNOHANG", "SIGSTOP", "reaped", "null", "~", "yes", "on", "EINVAL"]


@st.composite
def token_mutant(draw, texts=CORPUS):
    """A corpus file with a few token swaps, replacements, deletions and duplications,
    or swapped, duplicated and deleted lines."""
    text = draw(st.sampled_from(texts))
    tokens = TOKEN.findall(text)
    for _ in range(draw(st.integers(1, 4))):
        if not tokens:
            break
        i, j = (draw(st.integers(0, len(tokens) - 1)) for _ in range(2))
        op = draw(st.sampled_from(["swap", "replace", "delete", "dup", "lines"]))
        if op == "swap":
            tokens[i], tokens[j] = tokens[j], tokens[i]
        elif op == "replace":
            tokens[i] = draw(st.one_of(st.sampled_from(INTERESTING), st.sampled_from(tokens)))
        elif op == "delete":
            del tokens[i]
        elif op == "dup":
            tokens.insert(i, tokens[j])
        else:
            lines = "".join(tokens).split("\n")
            a, b = (draw(st.integers(0, len(lines) - 1)) for _ in range(2))
            how = draw(st.sampled_from(["swap", "dup", "delete"]))
            if how == "swap":
                lines[a], lines[b] = lines[b], lines[a]
            elif how == "dup":
                lines.insert(a, lines[b])
            else:
                del lines[a]
            tokens = TOKEN.findall("\n".join(lines))
    return "".join(tokens)


@st.composite
def byte_mutant(draw, texts=CORPUS):
    """A corpus file's UTF-8 bytes with a few bytes flipped, replaced, deleted or
    inserted (the result may not be UTF-8 at all)."""
    data = bytearray(draw(st.sampled_from(texts)).encode("utf-8"))
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        op = draw(st.sampled_from(["flip", "byte", "delete", "insert"]))
        if op == "flip":
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "byte":
            data[i] = draw(st.integers(0, 255))
        elif op == "delete":
            del data[i]
        else:
            data.insert(i, draw(st.integers(0, 255)))
    return bytes(data)


ANY_TEXT = st.one_of(document(), token_mutant(), token_mutant(texts=CORPUS[:3]))
ANY_FILE = st.one_of(ANY_TEXT.map(lambda t: t.encode("utf-8")), byte_mutant())
COMMANDS = [["run"], ["run", "--json"], ["check"], ["explore", "--max-states", "40"]]


# ---------------------------------------------------------------------- the oracle
def run_main(argv):
    """ptree.webui.cli.main in-process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main([str(a) for a in argv])
    return status, out.getvalue(), err.getvalue()


def assert_handled(path, data, command, status, out, err):
    """Exit 0 or 1 (a valid run) or 2 with `FILE:LINE: message`; never a traceback and
    never the catch-all's exit 3."""
    lines = data.count(b"\n") + 1
    shown = data[:400].decode("utf-8", "replace")
    assert "Traceback" not in out and "Traceback" not in err, (shown, err)
    assert status in (0, 1, 2), f"exit {status} for {command}: {err.strip()}\n{shown}"
    if status == 2:
        first = err.splitlines()[0] if err else ""
        m = re.match(re.escape(str(path)) + r":(\d+): \S", first)
        assert m, f"not FILE:LINE: message: {first!r}\n{shown}"
        assert 1 <= int(m.group(1)) <= lines, (first, shown)
        assert len(err.splitlines()) == 1, err
        if command[0] == "run":
            assert out == ""
    elif command == ["run", "--json"]:
        assert set(json.loads(out)) == {"state", "results", "events"}
    elif command == ["check"] and status == 1:
        assert all(line.startswith(f"{path}:") for line in err.splitlines()), err


def fuzz_cli(tmp_path, data, command):
    path = tmp_path / "fuzzed.yaml"
    path.write_bytes(data)
    status, out, err = run_main([*command[:1], path, *command[1:]])
    assert_handled(path, data, command, status, out, err)
    return status


# ---------------------------------------------------------------------- the CLI
@cases(quick=200, full=4500)
@given(doc=document(), command=st.sampled_from(COMMANDS))
def test_fuzzed_documents_are_run_or_bad_input(tmp_path_factory, doc, command):
    fuzz_cli(tmp_path_factory.mktemp("doc"), doc.encode("utf-8"), command)


@cases(quick=100, full=2500)
@given(text=token_mutant(), command=st.sampled_from(COMMANDS))
def test_token_mutants_of_the_bundled_scenarios(tmp_path_factory, text, command):
    fuzz_cli(tmp_path_factory.mktemp("tok"), text.encode("utf-8"), command)


@cases(quick=100, full=2500)
@given(data=byte_mutant(), command=st.sampled_from(COMMANDS))
def test_byte_mutants_of_the_bundled_scenarios(tmp_path_factory, data, command):
    fuzz_cli(tmp_path_factory.mktemp("byte"), data, command)


@cases(quick=4, full=40)
@given(data=ANY_FILE)
def test_fuzzed_files_through_a_real_subprocess(tmp_path_factory, data):
    """The real `ptree` process: no traceback on stderr, exit 0, 1 or 2."""
    path = tmp_path_factory.mktemp("sub") / "fuzzed.yaml"
    path.write_bytes(data)
    for command in (["run", "--json"], ["check"]):
        proc = cli(command[0], path, *command[1:])
        assert_handled(path, data, command, proc.returncode, proc.stdout, proc.stderr)


def test_check_of_several_fuzzed_files_reports_the_worst(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(CORPUS[0])
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: 2001-13-45\nsteps:\n  - init: fork a\n")
    status, out, err = run_main(["check", good, bad])
    assert status == 2 and err.startswith(f"{bad}:1: ")
    assert f"{good}: ok" in out


# ---------------------------------------------------------------------- exit 3
@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_the_catch_all_is_one_line_naming_the_file_and_exit_3(tmp_path):
    """The catch-all reached for real: stdout on a full disk (/dev/full) makes print()
    raise OSError, which no command handles."""
    path = tmp_path / "s.yaml"
    path.write_text(CORPUS[0])
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "ptree", "run", str(path)],
                              cwd=REPO, stdout=full, stderr=subprocess.PIPE, text=True,
                              timeout=120)
    assert proc.returncode == 3
    assert proc.stderr.splitlines() == [
        f"ptree: internal error while processing {path}: "
        "OSError: [Errno 28] No space left on device"]


# ---------------------------------------------------------------------- the socket path
@pytest.fixture(scope="module")
def fuzz_sio():
    """One Socket.IO test client for the module (hypothesis runs many cases per test)."""
    from ptree.webui.app import create_app, socketio
    app = create_app({"ASYNC_MODE": "threading", "TESTING": True})
    client = socketio.test_client(app)
    assert client.is_connected()
    client.get_received()
    yield client
    if client.is_connected():
        client.disconnect()


SOCKET_TEXT = st.one_of(
    ANY_TEXT,
    # bytes that are not UTF-8, as a page could send them: replaced, or lone surrogates
    st.builds(lambda b, how: b.decode("utf-8", how), byte_mutant(),
              st.sampled_from(["replace", "surrogateescape"])))


@cases(quick=100, full=1500)
@given(text=SOCKET_TEXT, mode=st.sampled_from([None, "auto", "choice"]))
def test_fuzzed_editor_text_over_the_socket(fuzz_sio, text, mode):
    """`open {text}` (the editor's Run edited scenario, and `?text=`): a full snapshot or
    `scenario_error` {filename, line, message, text}; then the server still answers."""
    msg = {"text": text} if mode is None else {"text": text, "mode": mode}
    fuzz_sio.emit("open", msg)
    got = fuzz_sio.get_received()
    names = [m["name"] for m in got]
    assert names and names[0] in ("snapshot", "scenario_error"), got[:2]
    assert "error" not in names or names == ["snapshot", "error"], got
    first = got[0]["args"][0]
    json.dumps(first)
    if names[0] == "scenario_error":
        assert first["filename"] == "<editor>"
        assert 1 <= first["line"] <= text.count("\n") + 1, first
        assert first["text"] == f"<editor>:{first['line']}: {first['message']}"
    else:
        assert got[-1]["name"] != "error" or got[-1]["args"][0]["code"] == "bad_choice", got
        fuzz_sio.emit("jump", {"event": 10 ** 6})
        assert fuzz_sio.get_received()[0]["name"] == "snapshot"
    fuzz_sio.emit("list")
    assert [m["name"] for m in fuzz_sio.get_received()] == ["scenarios"]


def test_lone_surrogate_over_the_socket_is_a_scenario_error(fuzz_sio):
    """The crash the socket fuzzer found: the library hashed the text before parsing it."""
    fuzz_sio.emit("open", {"text": "steps:\n  - init: fork a\ntitle: \udc80\n"})
    (msg,) = fuzz_sio.get_received()
    assert msg["name"] == "scenario_error"
    assert msg["args"][0]["line"] == 3 and "surrogate" in msg["args"][0]["message"]
