"""Bad input (architecture.md "Scenario files", issue 2 "Bad input"): the command line
answers `FILE:LINE: message` on stderr with exit status 2 and never a traceback.  Kernel
errors (EINVAL, EAGAIN, ECHILD, EALREADY, ENOTCONN, ...) are not bad input: they are
RESULTs with `errno` set, and the run exits 0.
"""

import contextlib
import io
import json
import re

import pytest
from ptree.engine.scenario import ScenarioError, parse_scenario
from ptree.webui.cli import main
from scenario_util import cli

# (id, file text, line of the offending text, a fragment the message must contain)
CASES = [
    ("yaml-error",
     "steps:\n  - init: fork a\n  - init: fork b: c\n", 3, "YAML"),
    ("yaml-unclosed-flow",
     "kernel: reaper\nsteps:\n  - init: fork a\n  - [oops\n", None, "YAML"),
    ("yaml-tab-indent",
     "steps:\n\t- init: fork a\n", None, "YAML"),
    ("empty-file", "", 1, ""),
    ("only-a-comment", "# nothing here\n", 1, ""),
    ("document-is-a-list", "- init: fork a\n", 1, "mapping"),
    ("document-is-text", "just some text\n", 1, "mapping"),
    ("no-steps", "kernel: reaper\n", 1, "steps"),
    ("empty-steps", "kernel: reaper\nsteps: []\n", 2, "steps"),
    ("null-steps", "kernel: reaper\nsteps:\n", None, "steps"),
    ("steps-not-a-list", "steps: {init: fork a}\n", 1, "steps"),
    ("unknown-actor", "steps:\n  - init: fork a\n  - b: exit 0\n", 3, "b"),
    ("unknown-command", "steps:\n  - init: fork a\n  - a: spawn b\n", 3, "spawn"),
    ("unknown-rfork-flag", "steps:\n  - init: rfork RFPROC|RFBOGUS b\n", 2, "RFBOGUS"),
    ("unknown-signal", "steps:\n  - init: fork a\n  - init: kill a SIGBOGUS\n", 3, "SIGBOGUS"),
    ("unknown-wait-option", "steps:\n  - init: fork a\n  - init: wait4 a WBOGUS\n", 3,
     "WBOGUS"),
    ("unknown-procctl", "steps:\n  - init: procctl grab\n", 2, "grab"),
    ("unknown-disposition", "steps:\n  - init: sigaction SIGCHLD catch\n", 2, "catch"),
    ("reused-name", "steps:\n  - init: fork a\n  - init: fork a\n", 3, "a"),
    ("reused-name-after-reap",
     "steps:\n  - init: fork a\n  - a: exit 0\n  - init: wait4 a\n  - init: vfork a\n", 5, "a"),
    ("reserved-name-init", "steps:\n  - init: fork init\n", 2, "init"),
    ("reserved-name-any", "steps:\n  - init: fork any\n", 2, "any"),
    ("reserved-name-kernel", "steps:\n  - init: fork kernel\n", 2, "kernel"),
    ("reserved-name-swapper", "steps:\n  - init: fork swapper\n", 2, "swapper"),
    ("bad-name", "steps:\n  - init: fork 9lives\n", 2, "9lives"),
    ("exit-status-over-255", "steps:\n  - init: fork a\n  - a: exit 256\n", 3, "256"),
    ("exit-status-not-a-number", "steps:\n  - init: fork a\n  - a: exit x\n", 3, ""),
    ("blocked-actor",
     "steps:\n  - init: fork a\n  - a: fork b\n  - a: wait4 any\n  - a: fork c\n", 5, "a"),
    ("blocked-vfork-parent",
     "steps:\n  - init: fork a\n  - a: vfork b\n  - a: fork c\n", 4, "a"),
    ("exited-lwp",
     "steps:\n  - init: fork a\n  - a: lwp_create\n  - a.1: extexit lwp 0\n  - a.1: fork b\n",
     5, "a.1"),
    ("never-existing-lwp", "steps:\n  - init: fork a\n  - a.4: fork b\n", 3, "a.4"),
    ("zombie-actor", "steps:\n  - init: fork a\n  - a: exit 0\n  - a: fork b\n", 4, "zombie"),
    ("stopped-actor",
     "steps:\n  - init: fork a\n  - init: kill a SIGSTOP\n  - a: fork b\n", 4, "stop"),
    ("reaped-actor",
     "steps:\n  - init: fork a\n  - a: exit 0\n  - init: wait4 a\n  - a: fork b\n", 5, "reaped"),
    ("init-exits-first-step", "steps:\n  - init: exit 0\n", 2,
     "panic: Going nowhere without my init!"),
    ("init-exits-later",
     "steps:\n  - init: fork a\n  - a: exit 0\n  - init: wait4 a\n  - init: exit 1\n", 5,
     "panic: Going nowhere without my init!"),
    ("init-extexit-proc", "kernel: classic\nsteps:\n  - init: fork a\n  - init: extexit proc 0\n",
     4, "panic: Going nowhere without my init!"),
    ("step-expect-unknown-key", "steps:\n  - init: fork a\n    expect: {bogus: 1}\n", 3,
     "bogus"),
    ("final-expect-unknown-key", "steps:\n  - init: fork a\nexpect:\n  a: {bogus: 1}\n", None,
     "bogus"),
    ("bare-expect-not-an-errno", "steps:\n  - init: fork a\n    expect: EBOGUS\n", 3,
     "EBOGUS"),
    ("unknown-kernel", "kernel: bsd\nsteps:\n  - init: fork a\n", 1, "bsd"),
    ("kernel-step-in-auto-schedule", "steps:\n  - kernel: reaplwps\n", 2, "kernel"),
    ("two-actors-in-a-step", "steps:\n  - init: fork a\n    a: fork b\n", None, ""),
    ("step-is-text", "steps:\n  - \"init fork a\"\n", 2, ""),
    ("step-without-command", "steps:\n  - init:\n", 2, ""),
]

# YAML reads these actor keys as booleans, nulls and numbers (architecture.md).
NON_STRING_KEYS = ["on", "no", "true", "null", "1", "yes", "off", "~", "False", "2.5"]


def write(tmp_path, text, name="s.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def assert_bad(proc, path, line, fragment):
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    first = proc.stderr.strip().splitlines()[0]
    m = re.match(re.escape(str(path)) + r":(\d+): (.+)$", first)
    assert m, f"not FILE:LINE: message: {first!r}"
    if line is not None:
        assert int(m.group(1)) == line, first
    assert fragment in m.group(2), first
    return int(m.group(1)), m.group(2)


@pytest.mark.parametrize("text,line,fragment", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
@pytest.mark.parametrize("command", ["run", "run --json", "check"])
def test_bad_input_is_file_line_message_and_exit_2(tmp_path, command, text, line, fragment):
    path = write(tmp_path, text)
    proc = cli(*command.split(), path)
    got_line, _ = assert_bad(proc, path, line, fragment)
    assert 1 <= got_line <= max(1, text.count("\n") + 1)
    if command == "run --json":
        assert proc.stdout == ""          # no half-written JSON document


@pytest.mark.parametrize("key", NON_STRING_KEYS)
def test_non_string_actor_key_is_bad_input_with_a_hint_to_quote(tmp_path, key):
    path = write(tmp_path, f"steps:\n  - init: fork a\n  - {key}: exit 0\n")
    proc = cli("run", path)
    _, message = assert_bad(proc, path, 3, "")
    assert "quote" in message.lower()
    assert key in message


def test_quoted_actor_key_is_read_as_a_name(tmp_path):
    path = write(tmp_path, 'steps:\n  - init: fork on\n  - "on": exit 3\n'
                           '  - init: wait4 on\n')
    proc = cli("run", "--json", path)
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout)["results"]
    assert res[2]["ret"] == 2 and res[2]["status"] == 768


def test_over_the_size_limit_is_bad_input(tmp_path):
    """At most 200,000 steps (architecture.md)."""
    n = 200_001
    path = write(tmp_path, "steps:\n" + "  - init: procctl status\n" * n)
    proc = cli("run", path, timeout=300)
    _, message = assert_bad(proc, path, None, "")
    assert "200000" in message.replace(",", "").replace("_", "")


def test_exactly_200000_steps_is_not_over_the_limit():
    sc = parse_scenario("steps:\n" + "  - init: procctl status\n" * 200_000, "big.yaml")
    assert len(sc.steps) == 200_000


def test_unreadable_file_is_bad_input(tmp_path):
    missing = tmp_path / "nope.yaml"
    proc = cli("run", missing)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"{missing}:")
    d = tmp_path / "dir.yaml"
    d.mkdir()
    proc = cli("check", d)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_non_utf8_file_is_bad_input(tmp_path):
    path = tmp_path / "bin.yaml"
    path.write_bytes(b"steps:\n  - init: fork \xff\xfe\n")
    proc = cli("run", path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"{path}:")


def test_bad_input_in_process_is_a_scenario_error_with_the_line():
    """The same judgement through the engine's API: parse errors carry their line."""
    with pytest.raises(ScenarioError) as e:
        parse_scenario("steps:\n  - init: fork a\n  - a: frob\n", "x.yaml")
    assert e.value.line == 3 and str(e.value).startswith("x.yaml:3: ")


# ---------------------------------------------------------------------- kernel errors
KERNEL_ERRORS = [
    ("EINVAL", "init: rfork RFPROC|RFPPWAIT x"),
    ("EINVAL", "init: rfork RFFDG|RFCFDG"),
    ("EAGAIN", "init: fork x"),
    ("ECHILD", "u: wait4 any"),
    ("EALREADY", "init: procctl acquire"),
    ("ENOTCONN", "a: procctl release"),
    ("ESRCH", "init: kill 500 SIGKILL"),
    ("EPERM", "u: setuid 7"),
]


@pytest.mark.parametrize("errno,step", KERNEL_ERRORS, ids=[f"{e}-{i}" for i, (e, _)
                                                            in enumerate(KERNEL_ERRORS)])
def test_kernel_errors_are_results_not_bad_input(tmp_path, errno, step):
    text = ("limits: {maxproc: 4}\nsteps:\n  - init: fork a\n  - init: fork u\n"
            "  - u: setuid 5\n"
            f"  - {step}\n    expect: {errno}\n")
    path = write(tmp_path, text)
    proc = cli("run", "--json", path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    res = json.loads(proc.stdout)["results"]
    assert len(res) == 4
    assert res[3]["errno"] == errno and res[3]["ret"] is None
    proc = cli("check", path)
    assert proc.returncode == 0, proc.stderr


def test_enosys_in_classic_is_a_result(tmp_path):
    path = write(tmp_path, "kernel: classic\nsteps:\n  - init: procctl status\n"
                           "    expect: ENOSYS\n")
    proc = cli("run", "--json", path)
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["results"][0]["errno"] == "ENOSYS"
    assert cli("check", path).returncode == 0


# ---------------------------------------------------------------------- hostile files
# Issue 17: one file for each kind of crash the fuzzer (tests/test_fuzz.py) found before
# the restricted loader; each printed a traceback and exited 1.  Now each is bad input at
# its line.  (id, text, line, a fragment of the message)
S = "steps:\n  - init: fork a\n"
HOSTILE = [
    ("timestamp-out-of-range", "title: 2001-13-45\n" + S, 1, "date"),
    ("timestamp-valid", "title: 2001-12-14\n" + S, 1, "date"),
    ("tagged-float-not-a-number", "title: !!float x\n" + S, 1, "float"),
    ("tagged-int-not-a-number", "title: !!int x\n" + S, 1, "not an integer"),
    ("tagged-int-empty-binary", "title: !!int 0b\n" + S, 1, "not an integer"),
    ("tagged-bool-not-a-bool", "title: !!bool x\n" + S, 1, "true or false"),
    ("int-of-5000-digits", "limits: {maxproc: " + "9" * 5000 + "}\n" + S, 1, "integer"),
    ("int-over-int-max", "limits: {nproc: 2147483648}\n" + S, 1, "2147483647"),
    ("inf-as-a-limit", "limits: {maxproc: .inf}\n" + S, 1, "float"),
    ("nan-as-an-exit", S + "    expect: {exit: .nan}\n", 3, "float"),
    ("python-tag", "title: !!python/object:os.system x\n" + S, 1, "tag"),
    ("custom-tag", "title: !x y\n" + S, 1, "tag"),
    ("value-key", S + "expect:\n  a: {=: 1}\n", 4, "quote"),
    ("map-tag-on-a-scalar", "title: !!map ''\n" + S, 1, "tag"),
    ("seq-tag-on-a-scalar", "race: !!seq after-fix\n" + S, 1, "tag"),
    ("set-as-title", "title: !!set {a, b}\n" + S, 1, "tag"),
    ("omap-steps", "steps: !!omap [{init: fork a}]\n", 1, "tag"),
    ("list-key-in-final-expect", S + "expect:\n  a: {[1]: 2}\n", 4, "key"),
    ("map-key-in-step-expect", S + "    expect: {{a: 1}: 2}\n", 3, "key"),
    ("list-key-at-top", "[1]: 2\n" + S, 1, "key"),
    ("merge-key", S + "expect:\n  a: {<<: {ppid: init}}\n", 4, "quote"),
    ("recursive-alias-in-step-expect", S + "    expect: &r {ret: *r}\n", 3, "recursive"),
    ("recursive-alias-in-info", S + "    expect: {info: &r [1, [2, *r]]}\n", 3, "recursive"),
    ("recursive-alias-in-final-expect", S + "expect:\n  a: &r {ppid: *r}\n", 4, "recursive"),
    ("recursive-alias-as-steps", "steps: &r [*r]\n", 1, "mapping"),
    ("alias-bomb", "title: x\n" + S + "    expect: {info: {k: &a0 [1, 1, 1, 1, 1, 1, 1, 1]"
     + "".join(f", k{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 8) + "]" for i in range(1, 9))
     + "}}\n", 4, "too large"),
    ("duplicate-top-key", S + "steps:\n  - init: fork b\n", 3, "duplicate"),
    ("control-character-in-title", 'title: "a\\x1b[31mb"\n' + S, 1, "control character"),
    ("nul-in-a-command", 'steps:\n  - init: "fork \\0a"\n', 2, "control character"),
    ("control-character-in-a-key", S + 'expect:\n  "a\\x07": alive\n', 4, "control character"),
    ("raw-control-character", "title: a\x01\n" + S, 1, "control characters"),
    ("errno-as-a-list", S + "    expect: {errno: [EINVAL]}\n", 3, "errno"),
    ("state-as-a-list", S + "expect:\n  a: {state: [1]}\n", 4, "state"),
    ("tids-as-text", S + "expect:\n  a: {tids: x}\n", 4, "tids"),
    ("ret-as-a-mapping", S + "    expect: {ret: {x: 1}}\n", 3, "ret"),
    ("info-as-a-list", "steps:\n  - init: procctl status\n    expect: {info: [1]}\n", 3, "info"),
    ("final-expect-key-not-a-name", S + "expect:\n  a b: alive\n", 4, "process name"),
    ("kernel-as-a-mapping", "kernel: {a: 1}\n" + S, 1, "kernel"),
    ("race-as-a-list", "race: [before-fix]\n" + S, 1, "race"),
    ("limits-as-a-list", "limits: [1]\n" + S, 1, "limits"),
    ("unicode-digit-exit", S + "  - a: exit ²\n", 3, "0 to 255"),
    ("unicode-digit-setuid", S + "  - a: setuid ٣\n", 3, "0 to 4294967295"),
    ("unicode-digit-setpgid", S + "  - a: setpgid ²\n", 3, "0 to 999999"),
    ("unicode-digit-kill", S + "  - init: kill ² SIGKILL\n", 3, "²"),
    ("exit-of-5000-digits", S + "  - a: exit " + "9" * 5000 + "\n", 3, "0 to 255"),
    ("negative-exit", S + "  - a: exit -1\n", 3, "0 to 255"),
    ("extexit-over-255", S + "  - a: extexit proc 256\n", 3, "0 to 255"),
    ("kill-huge-pid", S + "  - init: kill 99999999999999999999 SIGKILL\n", 3, "0 to 999999"),
    ("kill-negative-pid", S + "  - init: kill -1 SIGKILL\n", 3, "0 to 999999"),
    ("setuid-over-uid-max", S + "  - a: setuid 4294967296\n", 3, "0 to 4294967295"),
    ("setpgid-over-pid-max", S + "  - a: setpgid 1000000\n", 3, "0 to 999999"),
    ("wait4-under-minus-pid-max", S + "  - init: wait4 -1000000\n", 3, "-999999 to 999999"),
    ("wait4-float-pid", S + "  - init: wait4 1.5\n", 3, "-999999 to 999999"),
    ("tid-unicode-digit", S + "  - a.²: exit 0\n", 3, "thread id"),
    ("cr-line-breaks", "title: x\rsteps:\r  - init: frob\n", 1, "frob"),
    ("error-at-the-end-without-newline", S + "expect:\n  a: {ppid: init", 4, "YAML"),
]


@pytest.mark.parametrize("text,line,fragment", [c[1:] for c in HOSTILE],
                         ids=[c[0] for c in HOSTILE])
@pytest.mark.parametrize("command", [["run"], ["run", "--json"], ["check"],
                                     ["explore", "--max-states", "50"]])
def test_hostile_files_are_bad_input_at_their_line(tmp_path, command, text, line, fragment):
    """In-process (ptree.webui.cli.main), so that all four commands are cheap for every file."""
    path = write(tmp_path, text)
    status, out, err = run_main([command[0], str(path), *command[1:]])
    assert status == 2, err
    assert "Traceback" not in err
    m = re.match(re.escape(str(path)) + r":(\d+): (.+)$", err.strip())
    assert m, f"not one FILE:LINE: message line: {err!r}"
    assert int(m.group(1)) == line, err
    assert fragment in m.group(2), err
    if command[0] == "run":
        assert out == ""


@pytest.mark.parametrize("case", ["timestamp-out-of-range", "recursive-alias-in-step-expect",
                                  "int-of-5000-digits", "list-key-in-final-expect"])
def test_hostile_files_in_a_real_process(tmp_path, case):
    text, line, fragment = next(c[1:] for c in HOSTILE if c[0] == case)
    path = write(tmp_path, text)
    assert_bad(cli("run", path), path, line, fragment)


def test_in_range_numbers_at_the_edges_run(tmp_path):
    """The stated ranges are inclusive: their edges are kernel calls, not bad input."""
    path = write(tmp_path, S + "  - a: setuid 4294967295\n  - init: kill 999999 SIGKILL\n"
                               "    expect: ESRCH\n  - init: wait4 -999999 WNOHANG\n"
                               "    expect: ECHILD\n  - init: setpgid 999999\n"
                               "    expect: EPERM\n  - a: exit 255\n"
                               "  - init: wait4 a\n    expect: {ret: a, exit: 255}\n"
                               "limits: {nproc: 2147483647}\n")
    status, out, err = run_main(["check", str(path)])
    assert status == 0, err


def test_a_nul_in_the_path_is_bad_input():
    """Only in-process: a command line cannot carry a NUL."""
    status, _, err = run_main(["run", "a\0b.yaml"])
    assert status == 2 and err.startswith("a\0b.yaml:0: cannot read")


def test_lone_surrogate_in_text_is_bad_input_at_its_line():
    """Text from a JSON string (the editor, ?text=) can hold one; a file cannot."""
    with pytest.raises(ScenarioError) as e:
        parse_scenario("steps:\n  - init: fork a\ntitle: \ud800\n", "<editor>")
    assert e.value.line == 3 and "surrogate" in e.value.message


def run_main(argv):
    """ptree.webui.cli.main in-process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv)
    return status, out.getvalue(), err.getvalue()
