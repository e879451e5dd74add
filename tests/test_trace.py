"""Real programs (issue 11): `ptree trace`, `ptree import-strace` and the explorer's strace
upload, from strace's text to a scenario the kernel model replays.

Three kinds of test: stored logs made by real strace runs on Linux (tests/fixtures/strace:
an -ff folder with timestamps and one without, an -f log with interleaved `<unfinished
...>` lines, a terminal log without -ttt), real commands under real strace on this
machine (skipped only where ptrace is refused here, and saying so), and the reality
check: programs that print what Linux did, whose replay under `reaper` must agree and
under `classic` must differ as DragonFly 2011 did.
"""

import dataclasses
import importlib.util
import inspect
import os
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
import yaml
from ptree.engine.runner import Run
from ptree.engine.scenario import MAX_STEPS, NAME_RE, parse_scenario
from ptree.webui.strace import looks_like_strace, parse_text, read_log, split_args
from ptree.webui.trace import convert, linux_signal, program_name
from scenario_util import REPO, cli

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "strace"
TRACED = REPO / "scenarios" / "traced"
PY = sys.executable
# The calls the mapping knows; anything else in a full `strace -f` log is a comment.
MAPPED = {"fork", "vfork", "clone", "clone3", "execve", "exit", "exit_group", "wait4",
          "waitid", "kill", "tgkill", "tkill", "prctl", "setpgid", "setuid", "setreuid",
          "setresuid", "rt_sigaction"}


# -- helpers ----------------------------------------------------------------------------------

@cache
def ptrace_refusal():
    """None if strace can trace here; else what strace said (the reason to skip)."""
    strace = shutil.which("strace")
    assert strace, "strace is missing: `make setup` installs Debian's strace"
    proc = subprocess.run([strace, "-f", "-qq", "-o", os.devnull, "true"],
                          capture_output=True, text=True, timeout=60)
    return None if proc.returncode == 0 else (proc.stderr.strip() or f"exit {proc.returncode}")


@pytest.fixture
def ptrace():
    """Real strace runs: skipped, with strace's own words, only where ptrace is refused."""
    why = ptrace_refusal()
    if why:
        pytest.skip(f"ptrace is refused on this machine, so strace cannot run here: {why}")


def run_of(text, kernel=None):
    """The scenario text replayed to the end (optionally under the other kernel)."""
    if kernel:
        text = re.sub(r"^kernel: \w+$", f"kernel: {kernel}", text, count=1, flags=re.M)
    run = Run(parse_scenario(text, "<trace>"))
    run.run()
    return run


def proc(run, name):
    """The model's process dict of a scenario name (None once reaped)."""
    return run.kernel.proc(run.state["names"][name])


def name_of_pid(run, pid):
    return next(n for n, p in run.state["names"].items() if p == pid)


def linux_pid(name):
    """The Linux pid a traced process's name carries (`sh_4120` is 4120)."""
    return int(name.rsplit("_", 1)[1])


def steps(text):
    """[(actor, command)] of the scenario text's steps."""
    return [(a, c) for s in yaml.safe_load(text)["steps"] for a, c in s.items()
            if a != "expect"]


def names_forked(text):
    return [c.split()[-1] for _, c in steps(text) if c.split()[0] in ("fork", "vfork", "rfork")]


def result_of(run, actor, command, nth=0):
    """The RESULT of the nth step `actor: command`."""
    found = [r for r in run.results() if r["actor"] == actor and r["command"] == command]
    return found[nth]


def convert_file(path, **kw):
    records, _ = read_log(path)
    return convert(records, **kw)


def trace(*command, kernel="reaper", extra=()):
    """`ptree trace` of a real command: (scenario text, stderr)."""
    proc = cli("trace", "--kernel", kernel, *extra, "--", *command, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, proc.stderr


def reality(stderr):
    """The `reality:` lines a program printed (its stdout goes to ptree's stderr)."""
    return dict(line.removeprefix("reality: ").split(" ", 1)
                for line in stderr.splitlines() if line.startswith("reality: "))


# -- reading strace's text ------------------------------------------------------------------------

def test_a_cut_call_is_one_record_where_it_started_with_both_halves():
    text = (FIXTURES / "make-j2.log").read_text()
    records, _ = read_log(FIXTURES / "make-j2.log")
    spawns = [r for r in records if r.kind == "call" and r.name == "clone3"]
    starts = [n for n, line in enumerate(text.splitlines(), 1)
              if "clone3(" in line and "<unfinished ...>" in line]
    assert [r.line for r in spawns] == starts and len(starts) == 2
    for r in spawns:
        assert r.end_line > r.line and r.ret.isdigit()          # the pid, from `resumed>)`
        assert "CLONE_VFORK" in r.args and "exit_signal=SIGCHLD" in r.args
    waits = [r for r in records if r.kind == "call" and r.name == "wait4"]
    assert [r.line for r in waits] == [n for n, line in enumerate(text.splitlines(), 1)
                                       if re.search(r"\bwait4\(", line)]
    cut = [r for r in waits if r.end_line]
    assert cut
    for r in cut:                      # `wait4(-1,  <unfinished ...>`: options came later
        assert r.text.endswith("wait4(-1,  <unfinished ...>")
        assert split_args(r.args)[0] == "-1" and split_args(r.args)[2] in ("0", "WNOHANG")


def test_a_terminal_log_gives_bare_lines_their_pid_and_takes_out_attach_messages():
    """strace -f to a terminal (no -o, no -ttt): `[pid N]` only while several processes
    run, and `strace: Process N attached` cutting a call in two."""
    records, _ = read_log(FIXTURES / "terminal-no-ttt.log")
    assert all(r.ts is None for r in records)
    calls = [r for r in records if r.kind == "call"]
    assert {r.pid for r in calls} == {14878, 14879, 14880, 14881}
    first_wait = next(r for r in calls if r.name == "wait4")
    assert first_wait.pid == 14878 and first_wait.ret == "14879"      # cut by two messages
    clone = [r for r in calls if r.name == "clone"][-1]
    assert clone.ret == "14881" and "child_tidptr" in clone.args       # cut mid-argument
    attached = [r.number for r in records if r.kind == "attached"]
    assert attached == [14879, 14880, 14881]
    assert [r.pid for r in records if r.kind == "exited"][-1] == 14881


def test_ff_folder_and_prefix_read_the_same_log_in_time_order():
    by_dir, files = read_log(FIXTURES / "pipeline-ff")
    by_prefix, _ = read_log(FIXTURES / "pipeline-ff" / "trace")
    assert len(files) == 4
    key = [(r.pid, r.kind, r.name, r.ret) for r in by_dir]
    assert key == [(r.pid, r.kind, r.name, r.ret) for r in by_prefix]
    assert [r.ts for r in by_dir] == sorted(r.ts for r in by_dir)
    assert {r.pid for r in by_dir} == {14851, 14852, 14853, 14854}


def test_ff_without_timestamps_is_ordered_by_causes():
    """The daemon's double fork, -ff, no timestamps: the order is rebuilt so that the
    daemon (sleep) outlives the inner sh, which did not wait for it, as it did."""
    text, _ = convert_file(FIXTURES / "daemon-ff-nots")
    order = [f"{a}: {c}" for a, c in steps(text)]
    assert order.index("sh_14859: exit 0") < order.index("sleep_14860: exit 0")
    assert order.index("sh_14859: exec") < order.index("sh_14858: wait4 any")
    run = run_of(text)
    assert proc(run, "sleep_14860")["ppid"] == 1 and proc(run, "sh_14859") is None
    described = yaml.safe_load(cli("import-strace", FIXTURES / "daemon-ff-nots").stdout)
    assert "order across processes is rebuilt" in described["description"]


@pytest.mark.parametrize("content, line, message", [
    ("title: a scenario\nsteps:\n  - init: fork a\n", 1, "not strace output"),
    ("\n\nhello world\n4120  exit_group(0) = ?\n", 3, "not strace output"),
    ("", 1, "empty: no strace output"),
])
def test_what_is_not_strace_output_is_bad_input_at_its_line(tmp_path, content, line, message):
    log = tmp_path / "notes.txt"
    log.write_text(content)
    proc = cli("import-strace", log)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith(f"{log}:{line}: {message}"), proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_missing_log_or_ff_prefix_is_bad_input(tmp_path):
    proc = cli("import-strace", tmp_path / "nothing")
    assert proc.returncode == 2 and "cannot read: no such file, nor -ff files" in proc.stderr
    (tmp_path / "a.1").write_text("1  exit_group(0) = ?\n")
    (tmp_path / "b.2").write_text("2  exit_group(0) = ?\n")
    proc = cli("import-strace", tmp_path)
    assert proc.returncode == 2 and "several -ff logs here (a, b)" in proc.stderr


def test_strace_text_is_told_from_scenario_text():
    assert looks_like_strace((FIXTURES / "signals.log").read_text())
    assert looks_like_strace((FIXTURES / "terminal-no-ttt.log").read_text())
    assert not looks_like_strace((TRACED / "traced-pipeline.yaml").read_text())
    assert not looks_like_strace("steps:\n  - init: fork a\n")


# -- what maps --------------------------------------------------------------------------------------

def test_pipeline_ff_replays_the_shells_tree():
    text, summary = convert_file(FIXTURES / "pipeline-ff")
    assert names_forked(text) == ["sh_14851", "sleep_14852", "ls_14853", "wc_14854"]
    assert steps(text)[:2] == [("init", "fork sh_14851"), ("sh_14851", "exec")]
    run = run_of(text)
    assert proc(run, "ls_14853") is None and proc(run, "wc_14854") is None   # sh reaped them
    sleep = proc(run, "sleep_14852")                                          # never waited for
    assert sleep["ppid"] == 1 and sleep["state"] == "SZOMB"
    assert result_of(run, "sh_14851", "wait4 any")["ret"] == run.state["names"]["ls_14853"]
    assert summary.counts == {"disposition": 8} and summary.steps == len(steps(text))


def test_vfork_from_posix_spawn_sleeps_in_ppwait_until_the_childs_exec():
    text, summary = convert_file(FIXTURES / "make-j2.log")
    assert [c for _, c in steps(text) if c.startswith("vfork")] == [
        "vfork sleep_14865", "vfork sleep_14866"]
    run = run_through(text, "vfork sleep_14865")
    assert proc(run, "make_14864")["blocked"] == "ppwait"           # until sleep's exec
    assert result_of(run, "make_14864", "vfork sleep_14865")["blocked"] == "ppwait"
    run = run_through(text, "vfork sleep_14866")
    assert result_of(run, "make_14864", "vfork sleep_14865")["ret"] == \
        run.state["names"]["sleep_14865"]
    run = run_of(text)
    assert proc(run, "make_14864")["state"] == "SZOMB"
    assert proc(run, "sleep_14865") is None and proc(run, "sleep_14866") is None
    # setresuid(-1, 0, -1) changes only the effective uid: commented and counted.
    assert summary.counts["option"] == 2
    assert text.count("setresuid(-1, 0, -1): changes only the effective or saved uid") == 2


def test_signals_map_by_name_and_by_what_linux_did():
    """SIGTERM that killed: kill SIGTERM; SIGHUP that killed (the model treats it as
    caught): SIGKILL stands in; SIGSTOP, SIGCONT, SIGKILL as they are.  Linux numbers
    them 15, 1, 19, 18, 9; the model (BSD) 15, 1, 17, 19, 9."""
    text, summary = convert_file(FIXTURES / "signals.log")
    kills = [c for _, c in steps(text) if c.startswith("kill")]
    assert kills == ["kill sh_14871 SIGTERM", "kill sh_14872 SIGKILL", "kill sh_14873 SIGSTOP",
                     "kill sh_14873 SIGCONT", "kill sh_14873 SIGKILL"]
    assert "kill(14872, SIGHUP): its default action killed sh_14872; SIGKILL stands in" in text
    assert summary.counts["standin"] == 1
    run = run_of(text)
    statuses = {name_of_pid(run, r["ret"]): r["status"] for r in run.results()
                if r["command"].startswith("wait4") and r["ret"]}
    assert statuses == {"sh_14871": 15, "sh_14872": 9, "sh_14873": 9}   # BSD SIGTERM, SIGKILL


def run_through(text, command):
    """The model after the scenario's steps up to the first `command` (and the kernel
    work they made)."""
    sc = parse_scenario(text, "<t>")
    upto = next(s.index for s in sc.steps if s.command == command)
    run = Run(dataclasses.replace(sc, steps=sc.steps[:upto]))
    run.run()
    return run


def test_a_stop_replayed_from_linux_stops_the_model_with_bsd_numbers():
    text, _ = convert_file(FIXTURES / "signals.log")
    run = run_through(text, "kill sh_14873 SIGSTOP")
    p = proc(run, "sh_14873")
    assert p["state"] == "SSTOP" and p["xstat"] == 17                     # BSD SIGSTOP


def test_linux_signal_numbers_are_read_by_name():
    assert [linux_signal(n) for n in ("15", "10", "17", "19", "SIGIOT", "SIGCLD")] == [
        "SIGTERM", "SIGUSR1", "SIGCHLD", "SIGSTOP", "SIGABRT", "SIGCHLD"]
    log = ("300  execve(\"/bin/sh\", [\"sh\"], 0x0 /* 1 var */) = 0\n"
           "300  clone(child_stack=NULL, flags=SIGCHLD) = 301\n"
           "300  kill(301, 10) = 0\n"
           "300  kill(301, 31) = 0\n"
           "300  kill(301, 0) = 0\n"
           "300  kill(-301, SIGTERM) = -1 ESRCH (No such process)\n"
           "300  kill(0, SIGUSR2) = 0\n"
           "301  exit_group(0) = ?\n"
           "300  wait4(301, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 301\n"
           "300  exit_group(0) = ?\n")
    text, summary = convert(parse_text(log, "l"))
    assert ("sh_300", "kill sh_301 SIGUSR1") in steps(text)       # Linux 10 is SIGUSR1 (BSD 30)
    assert "kill(301, 31)" in text and "the model has no SIGSYS" in text
    assert "signal 0 only checks that the process exists" in text
    assert "names one process" in text                            # kill(0, SIGUSR2)
    assert summary.counts == {"signal": 1, "option": 1, "failed": 1, "target": 1}
    run = run_of(text)
    assert proc(run, "sh_301") is None


def test_threads_are_lwps_a_thread_forks_and_threads_end_with_extexit():
    """scenarios/traced/threads.py's stored run: CLONE_THREAD clones are LWPs of the
    process (tids 1 and 2 in the model, 16033 and 16035 under Linux); the first thread
    forks a child and waits for it by pid."""
    said = (FIXTURES / "threads.out").read_text()
    assert said.startswith("threads: child 16034 exited 7")
    text, summary = convert_file(FIXTURES / "threads.log")
    assert [(a, c) for a, c in steps(text) if not c.startswith("exec")] == [
        ("init", "fork python_16031"), ("python_16031", "lwp_create"),
        ("python_16031.1", "fork python_16034"), ("python_16031.1", "wait4 python_16034"),
        ("python_16034", "exit 7"), ("python_16031.0", "lwp_create"),
        ("python_16031.1", "extexit lwp 0"), ("python_16031.2", "extexit lwp 0"),
        ("python_16031.0", "exit 0")]
    assert "thread 16033 is LWP python_16031.1" in text
    assert "thread 16035 is LWP python_16031.2" in text
    run = run_of(text)
    res = result_of(run, "python_16031.1", "wait4 python_16034")
    assert name_of_pid(run, res["ret"]) == "python_16034" and res["status"] >> 8 == 7
    main = proc(run, "python_16031")
    assert main["state"] == "SZOMB" and main["nthreads"] == 0 and main["lasttid"] == 2


def test_clone_flags_map_to_rfork_flags_and_the_rest_is_counted():
    log = ("600  execve(\"/bin/init-ish\", [\"x\"], 0x0 /* 1 var */) = 0\n"
           # CLONE_VM|CLONE_SIGHAND and an exit signal that is not SIGCHLD: a Linux thread
           # library's child before NPTL, RFLINUXTHPN's reason to exist.
           "600  clone(child_stack=0x7f, flags=CLONE_VM|CLONE_FS|CLONE_SIGHAND|SIGUSR1) = 601\n"
           "600  clone(child_stack=NULL, flags=CLONE_VM|CLONE_FILES|CLONE_NEWPID|CLONE_PARENT|"
           "SIGCHLD) = 602\n"
           "600  clone3({flags=CLONE_VM|CLONE_VFORK, exit_signal=SIGCHLD, stack=0x7f, "
           "stack_size=0x9000}, 88) = 603\n"
           "603  exit_group(0) = ?\n"
           "600  clone(child_stack=NULL, flags=CLONE_VM|CLONE_SIGHAND|CLONE_THREAD|"
           "CLONE_SYSVSEM|CLONE_SETTLS, tls=0x7f) = 604\n"
           "601  exit_group(1) = ?\n"
           "602  exit_group(2) = ?\n"
           "600  wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 1}], __WCLONE, NULL) = 601\n"
           "600  wait4(602, [{WIFEXITED(s) && WEXITSTATUS(s) == 2}], __WALL, NULL) = 602\n"
           "600  wait4(603, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 603\n"
           "604  exit(0) = ?\n"
           "600  exit_group(0) = ?\n")
    text, summary = convert(parse_text(log, "l"))
    assert [c for a, c in steps(text) if a.startswith("init-ish_600")] == [
        "exec", "rfork RFPROC|RFMEM|RFFDG|RFSIGSHARE|RFLINUXTHPN init-ish_601",
        "rfork RFPROC|RFMEM init-ish_602", "vfork init-ish_603", "lwp_create",
        "wait4 any WLINUXCLONE", "wait4 init-ish_602", "wait4 init-ish_603", "extexit lwp 0",
        "exit 0"]
    assert "CLONE_FS: no DragonFly meaning" in text
    assert "CLONE_NEWPID, CLONE_PARENT: no DragonFly meaning" in text
    assert "__WALL: wait options the model lacks" in text
    assert summary.counts == {"flags": 2, "option": 1}
    run = run_of(text)
    for child, status in (("init-ish_601", 1), ("init-ish_602", 2), ("init-ish_603", 0)):
        assert proc(run, child) is None
        res = next(r for r in run.results() if r["ret"] == run.state["names"][child]
                   and r["command"].startswith("wait4"))
        assert res["status"] >> 8 == status


def test_prctl_setpgid_setuid_and_sigchld_dispositions_map():
    log = ("400  execve(\"/usr/bin/python3\", [\"python3\"], 0x0 /* 1 var */) = 0\n"
           "400  prctl(PR_SET_CHILD_SUBREAPER, 1) = 0\n"
           "400  prctl(PR_GET_CHILD_SUBREAPER, [1]) = 0\n"
           "400  prctl(PR_SET_NAME, \"worker\") = 0\n"
           "400  setpgid(0, 0) = 0\n"
           "400  rt_sigaction(SIGCHLD, {sa_handler=SIG_IGN, sa_mask=[], sa_flags=SA_RESTORER, "
           "sa_restorer=0x7f}, {sa_handler=SIG_DFL, sa_mask=[], sa_flags=0}, 8) = 0\n"
           "400  rt_sigaction(SIGCHLD, {sa_handler=SIG_DFL, sa_mask=[], "
           "sa_flags=SA_RESTORER|SA_NOCLDWAIT, sa_restorer=0x7f}, NULL, 8) = 0\n"
           "400  prctl(PR_SET_CHILD_SUBREAPER, 0) = 0\n"
           "400  clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, "
           "child_tidptr=0x7f) = 401\n"
           "401  setuid(65534) = 0\n"
           "401  setresuid(-1, 1000, -1) = 0\n"
           "401  setpgid(0, 400) = 0\n"
           "401  exit_group(0) = ?\n"
           "400  wait4(-1, 0x7ffc, 0, NULL) = -1 ECHILD (No child processes)\n"
           "400  exit_group(0) = ?\n")
    text, summary = convert(parse_text(log, "l"))
    assert [c for a, c in steps(text) if a == "python3_400"] == [
        "exec", "procctl acquire", "procctl status", "setpgid", "sigaction SIGCHLD ignore",
        "sigaction SIGCHLD nocldwait", "procctl release", "fork python3_401", "wait4 any",
        "exit 0"]
    assert [c for a, c in steps(text) if a == "python3_401"] == [
        "setuid 65534", "setpgid 2", "exit 0"]
    assert summary.counts == {"option": 2}                        # PR_SET_NAME, setresuid
    run = run_of(text)
    assert result_of(run, "python3_400", "wait4 any")["errno"] == "ECHILD"    # as Linux
    assert result_of(run, "python3_401", "setpgid 2")["errno"] is None


def test_a_step_the_model_refuses_is_a_counted_comment_and_the_rest_replays():
    """Signals arrive late under Linux: the child execs after its parent's kill(SIGSTOP)
    returned.  The model stops it at once, so its exec cannot be a step: a comment."""
    log = ("500  execve(\"/bin/sh\", [\"sh\"], 0x0 /* 1 var */) = 0\n"
           "500  clone(child_stack=NULL, flags=SIGCHLD) = 501\n"
           "500  kill(501, SIGSTOP) = 0\n"
           "501  execve(\"/bin/true\", [\"true\"], 0x0 /* 1 var */) = 0\n"
           "501  --- SIGSTOP {si_signo=SIGSTOP, si_code=SI_USER, si_pid=500, si_uid=0} ---\n"
           "501  --- stopped by SIGSTOP ---\n"
           "500  kill(501, SIGKILL) = 0\n"
           "501  +++ killed by SIGKILL +++\n"
           "500  wait4(-1, [{WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL}], 0, NULL) = 501\n"
           "500  exit_group(0) = ?\n")
    text, summary = convert(parse_text(log, "l"))
    assert ("true_501", "exec") not in steps(text)          # named after what it execs
    assert re.search(r"# L4 true_501: execve\(.*\) = 0: not replayed: in the model, true_501 "
                     r"is stopped \(SIGSTOP\) and cannot act until SIGCONT", text)
    assert summary.counts == {"blocked": 1}
    assert "1 step the model cannot take there" in yaml.safe_load(text)["description"]
    run = run_of(text)
    assert result_of(run, "sh_500", "wait4 any")["status"] == 9


def test_names_follow_the_program_and_stay_valid():
    assert [program_name(p) for p in ("/usr/bin/python3.11", "/bin/[", "/opt/7z", "ls")] == [
        "python3-11", "proc", "z", "ls"]
    for path in sorted(TRACED.glob("*.yaml")) + [FIXTURES / "pipeline-ff"]:
        text = path.read_text() if path.is_file() else convert_file(path)[0]
        for name in names_forked(text):
            assert NAME_RE.match(name), name


def test_every_call_line_of_a_full_log_is_a_step_or_a_comment():
    """Nothing silently dropped: each call of a full `strace -f` log (all syscalls) is
    named by its line, L17 or L12-20, in a step's comment or in a comment line; and the
    calls the model lacks are counted."""
    path = FIXTURES / "terminal-no-ttt.log"
    records, _ = read_log(path)
    text, summary = convert(records)
    covered = set()
    for m in re.finditer(r"# L(\d+)(?:-(\d+))?", text):
        covered.update(range(int(m.group(1)), int(m.group(2) or m.group(1)) + 1))
    calls = [r for r in records if r.kind == "call"]
    assert {r.line for r in calls} <= covered
    others = [r for r in calls if r.name not in MAPPED]
    assert summary.counts["syscall"] == len(others) > 100
    assert f"{len(others)} system calls the model has no counterpart for" in \
        yaml.safe_load(text)["description"]


def test_a_trace_over_the_step_limit_is_cut_with_a_note():
    assert inspect.signature(convert).parameters["max_steps"].default == MAX_STEPS == 200_000
    records, _ = read_log(FIXTURES / "pipeline-ff")
    text, summary = convert(records, max_steps=6)
    assert len(steps(text)) == 6
    assert re.search(r"# L\d+: the scenario reached the 6-step limit here: the \d+ lines "
                     r"from here on are left out", text)
    assert "The trace is cut at the 6-step limit" in yaml.safe_load(text)["description"]
    assert summary.counts["limit"] > 0
    run_of(text)                                                     # and it replays


# -- the command line --------------------------------------------------------------------------------

def test_import_strace_writes_a_scenario_that_ptree_check_accepts(tmp_path):
    out = tmp_path / "make.yaml"
    proc = cli("import-strace", FIXTURES / "make-j2.log", "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert "ptree import-strace: wrote" in proc.stderr and "14 steps" in proc.stderr
    doc = yaml.safe_load(out.read_text())
    assert doc["title"] == "make -s -f scenarios/traced/tiny.mk -j2"
    assert doc["description"].startswith(f"Imported with ptree import-strace from "
                                         f"{FIXTURES / 'make-j2.log'}, traced 20")
    assert "249 signal dispositions" in doc["description"]
    check = cli("check", out)
    assert check.returncode == 0, check.stderr
    classic = cli("import-strace", FIXTURES / "make-j2.log", "--kernel", "classic")
    assert yaml.safe_load(classic.stdout)["kernel"] == "classic"


def test_the_reality_check_from_its_stored_run():
    """The stored log and output of scenarios/traced/subreaper.py (so this runs where
    ptrace is refused too): reaper agrees with Linux, classic differs."""
    said = reality((FIXTURES / "subreaper.out").read_text())
    text, _ = convert_file(FIXTURES / "subreaper.log")
    assert_reality(text, said)


def assert_reality(text, said):
    """Linux's own report (said) against the replay of its trace under both kernels."""
    main, child, grandchild = names_forked(text)
    assert linux_pid(main) == int(said["subreaper"])
    assert said["child"] == f"{linux_pid(child)} forked grandchild {linux_pid(grandchild)}"
    reaper = run_of(text, "reaper")
    first, second = [r for r in reaper.results() if r["actor"] == main
                     and r["command"] == "wait4 any"]
    # Linux: wait1 reaped the child (exit 3); the orphan was adopted by the sub-reaper;
    # wait2 reaped it (exit 7).
    assert said["wait1"] == f"{linux_pid(child)} exit 3"
    assert name_of_pid(reaper, first["ret"]) == child and first["status"] >> 8 == 3
    assert said["grandchild"] == f"{linux_pid(grandchild)} adopted by {linux_pid(main)}"
    assert said["wait2"] == f"{linux_pid(grandchild)} exit 7"
    assert name_of_pid(reaper, second["ret"]) == grandchild and second["status"] >> 8 == 7
    assert proc(reaper, grandchild) is None
    # classic (2011): no procctl, the orphan goes to init, the second wait4 finds nothing.
    classic = run_of(text, "classic")
    assert result_of(classic, main, "procctl acquire")["errno"] == "ENOSYS"
    first, second = [r for r in classic.results() if r["actor"] == main
                     and r["command"] == "wait4 any"]
    assert name_of_pid(classic, first["ret"]) == child
    assert second["errno"] == "ECHILD" and second["ret"] is None     # Linux said wait2 G
    orphan = proc(classic, grandchild)
    assert orphan["ppid"] == 1 and orphan["state"] == "SZOMB"


def test_trace_needs_a_command_and_a_positive_timeout():
    proc = cli("trace")
    assert proc.returncode == 2 and "no command: give it after --" in proc.stderr
    proc = cli("trace", "--timeout", "0", "--", "true")
    assert proc.returncode == 2 and "--timeout must be more than 0" in proc.stderr


def test_a_command_that_cannot_start_is_a_clear_message(tmp_path):
    proc = cli("trace", "--", "no-such-program-for-ptree")
    assert proc.returncode == 2 and proc.stdout == ""
    assert "cannot start 'no-such-program-for-ptree': no such command on PATH" in proc.stderr
    notexec = tmp_path / "script"
    notexec.write_text("echo hi\n")
    proc = cli("trace", "--", notexec)
    assert proc.returncode == 2 and "not an executable file" in proc.stderr


def test_strace_missing_says_how_to_install_it():
    env = {**os.environ, "PATH": "/nonexistent"}
    proc = subprocess.run([PY, "-m", "ptree", "trace", "--", "/bin/true"], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "strace is not installed" in proc.stderr and "apt-get install strace" in proc.stderr


def test_ptrace_refused_says_so_and_how_to_fix_it(ptrace):
    """A traced process cannot trace: ptree trace run under strace gets EPERM from
    ptrace, a real refusal, and must say why and what to do."""
    proc = subprocess.run([shutil.which("strace"), "-f", "-qq", "-o", os.devnull, PY, "-m",
                           "ptree", "trace", "--", "true"], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "strace cannot trace here: ptrace is not permitted" in proc.stderr
    assert "Operation not permitted" in proc.stderr
    assert "ptree itself is being traced" in proc.stderr
    assert "--cap-add=SYS_PTRACE" in proc.stderr


# -- real commands under real strace ---------------------------------------------------------------

def test_done_a_shell_pipeline_traced_and_replayed(ptrace, tmp_path):
    """`ptree trace -- sh -c 'sleep 1 & ls | wc -l'`: a scenario on stdout (the command's
    own output on stderr), which ptree check runs, with the shell's tree."""
    text, err = trace("sh", "-c", "sleep 1 & ls | wc -l")
    doc = yaml.safe_load(text)
    assert doc["title"] == "sh -c 'sleep 1 & ls | wc -l'"
    assert re.match(r"Traced with ptree trace on .+ at \d{4}-\d\d-\d\d \d\d:\d\d UTC with "
                    r"strace", doc["description"])
    files = len([f for f in os.listdir(REPO) if not f.startswith(".")])
    assert re.search(rf"^{files}$", err, re.M), err                  # wc -l's answer
    assert re.search(r"^ptree trace: scenario on stdout\. \d+ steps", err, re.M)
    names = names_forked(text)
    assert [n.split("_")[0] for n in names] == ["sh", "sleep", "ls", "wc"]
    run = run_of(text)
    sh, sleep, ls, wc = names
    assert proc(run, ls) is None and proc(run, wc) is None
    assert proc(run, sleep)["ppid"] == 1 and proc(run, sh)["ppid"] == 1
    path = tmp_path / "pipeline.yaml"
    path.write_text(text)
    assert cli("check", path).returncode == 0


def test_trace_to_a_file_keeps_the_commands_output_on_stdout(ptrace, tmp_path):
    out, log = tmp_path / "echo.yaml", tmp_path / "echo.log"
    proc = cli("trace", "-o", out, "--strace-log", log, "--", "sh", "-c", "echo hello; true")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "hello\n"
    assert f"ptree trace: wrote {out}." in proc.stderr
    # --strace-log keeps strace's own log: importing it gives the same steps.
    assert log.read_text().splitlines()[0].split()[2].startswith("execve(")
    assert steps(out.read_text()) == steps(convert_file(log)[0])


def test_threads_forks_and_waits_of_a_python_program(ptrace):
    text, err = trace(PY, "scenarios/traced/threads.py")
    m = re.search(r"threads: child (\d+) exited 7", err)
    assert m, err
    commands = steps(text)
    main = names_forked(text)[0]
    assert sum(c == "lwp_create" for _, c in commands) == 2
    assert sum(c == "extexit lwp 0" for _, c in commands) == 2
    child = f"python_{m.group(1)}"
    forker = next(a for a, c in commands if c == f"fork {child}")
    assert re.fullmatch(rf"{main}\.[12]", forker)                   # a thread forked it
    run = run_of(text)
    res = result_of(run, forker, f"wait4 {child}")
    assert name_of_pid(run, res["ret"]) == child and res["status"] >> 8 == 7
    assert proc(run, main)["nthreads"] == 0 and proc(run, main)["state"] == "SZOMB"


def test_make_j2_spawns_with_vfork(ptrace):
    text, _ = trace("make", "-s", "-f", "scenarios/traced/tiny.mk", "-j2")
    vforks = [c for a, c in steps(text) if c.startswith("vfork sleep_")]
    assert len(vforks) == 2
    run = run_of(text)
    for c in vforks:
        assert proc(run, c.split()[1]) is None                       # make reaped both


def test_kills_under_real_strace(ptrace):
    text, _ = trace("sh", "-c", "sleep 5 & kill $!; wait; sleep 5 & kill -HUP $!; wait")
    kills = [c.rsplit(" ", 1)[1] for _, c in steps(text) if c.startswith("kill ")]
    assert kills == ["SIGTERM", "SIGKILL"]
    assert "SIGKILL stands in" in text
    run = run_of(text)
    sleeps = [n for n in names_forked(text)[1:]]
    assert all(proc(run, n) is None for n in sleeps)                # killed and reaped


def test_the_reality_check_under_real_strace(ptrace):
    """scenarios/traced/subreaper.py run under strace now: what it printed against the
    replay of its own trace, under reaper (agrees) and classic (differs)."""
    text, err = trace(PY, "scenarios/traced/subreaper.py", kernel="reaper")
    assert_reality(text, reality(err))
    text_classic, err_classic = trace(PY, "scenarios/traced/subreaper.py", kernel="classic")
    assert yaml.safe_load(text_classic)["kernel"] == "classic"
    said = reality(err_classic)
    assert said["wait2"].endswith("exit 7")                          # Linux is Linux
    assert_reality(text_classic, said)


def test_a_program_past_the_timeout_is_stopped_and_its_trace_kept(ptrace):
    text, err = trace("sh", "-c", "sleep 30 & sleep 20", extra=("--timeout", "1"))
    doc = yaml.safe_load(text)
    assert "ptree trace stopped the program at its --timeout of 1 s, with 3 processes " \
           "still running" in doc["description"]
    assert "stopped the program at its --timeout of 1 s" in err
    assert re.search(r"# L\d+: ptree trace stopped the program here, at its --timeout of 1 s; "
                     r"3 processes were still running: sh_\d+, sleep_\d+, sleep_\d+", text)
    run = run_of(text)
    for name in names_forked(text):
        assert proc(run, name)["state"] == "SACTIVE"                 # alive when stopped
    assert "init: kill" not in text                                  # ptree's kills are not the program's


def test_make_traced_regenerates_the_examples_with_their_expectations(ptrace, tmp_path):
    spec = importlib.util.spec_from_file_location("regenerate", TRACED / "regenerate.py")
    regen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(regen)
    regen.main([], out_dir=tmp_path)
    made = sorted(p.name for p in tmp_path.glob("*.yaml"))
    assert made == sorted(p.name for p in TRACED.glob("*.yaml"))
    for path in tmp_path.glob("*.yaml"):
        doc = yaml.safe_load(path.read_text())
        assert doc["expect"], path
        assert cli("check", path).returncode == 0


# -- the bundled examples, the library and the explorer ------------------------------------------------

def test_bundled_traced_examples_check_and_name_their_programs():
    expected = {"traced-pipeline": {"sh", "sleep", "ls", "wc"}, "traced-daemon": {"sh", "sleep"},
                "traced-make-j2": {"make", "sleep"}, "traced-threads": {"python"},
                "traced-subreaper": {"python"}}
    assert {p.stem for p in TRACED.glob("*.yaml")} == set(expected)
    for name, programs in expected.items():
        path = TRACED / f"{name}.yaml"
        text = path.read_text()
        assert {n.rsplit("_", 1)[0] for n in names_forked(text)} == programs
        assert yaml.safe_load(text)["expect"]
    proc = cli("check", *sorted(TRACED.glob("*.yaml")))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count(": ok (") == len(expected)


def test_the_makefile_installs_strace_and_checks_the_traced_examples():
    mk = (REPO / "Makefile").read_text()
    assert re.search(r"^\$\(STRACE\):\n\ttest -x \$\(STRACE\) \|\| .*apt-get update.*\n.*"
                     r"apt-get install -y --no-install-recommends strace", mk, re.M)
    assert re.search(r"^setup: .*\$\(STRACE\)", mk, re.M)
    assert "ptree check scenarios/*.yaml scenarios/traced/*.yaml" in mk
    assert re.search(r"^traced: setup\n\t\$\(BIN\)/python scenarios/traced/regenerate.py", mk,
                     re.M)


def test_library_gallery_compare_and_quiz_show_traced_scenarios(app):
    client = app.test_client()
    names = [s["name"] for s in client.get("/api/scenarios").get_json()]
    assert {"traced-pipeline", "traced-subreaper", "traced-threads"} <= set(names)
    html = client.get("/gallery").get_data(as_text=True)
    assert 'href="/?scenario=traced-make-j2"' in html
    text = (TRACED / "traced-subreaper.yaml").read_text()
    main, child, grandchild = names_forked(text)
    index = [i for i, (a, c) in enumerate(steps(text), 1) if a == main and c == "wait4 any"][1]
    cmp = client.get(f"/api/compare?scenario=traced-subreaper&step={index}").get_json()
    assert cmp["panes"]["classic"]["result"]["errno"] == "ECHILD"
    assert cmp["panes"]["reaper"]["result"]["errno"] is None
    assert any(d["name"] == grandchild and d["field"] == "ppid" for d in cmp["diffs"])
    assert {p["name"] for p in cmp["panes"]["reaper"]["procs"]} >= {main, grandchild}
    quiz = client.get("/api/quiz?scenario=traced-pipeline&step=3&kind=predict")
    assert quiz.status_code == 200, quiz.get_data(as_text=True)
    assert "sh_" in quiz.get_data(as_text=True)


def test_the_explorer_opens_strace_text_as_the_scenario_it_makes(sio):
    log = (FIXTURES / "signals.log").read_text()
    sio.emit("open", {"text": log, "name": "signals.log"})
    msgs = sio.get_received()
    assert [m["name"] for m in msgs] == ["snapshot"], msgs
    snap = msgs[0]["args"][0]
    expected, _ = convert(parse_text(log, "<editor>"), filename="<editor>",
                          origin="Opened in the explorer from strace output.")
    assert snap["scenario"]["text"] == expected
    assert snap["scenario"]["name"] == "signals.log"
    assert snap["total"] > 0 and snap["error"] is None
    names = {e["summary"].split()[2] for e in snap["events"] if e["kind"] == "fork1"
             and e["summary"].startswith("sh_14870 forks")}
    assert names == {"sh_14871", "sh_14872", "sh_14873"}
    sio.emit("open", {"text": "title: plain\nsteps:\n  - init: fork a\n"})   # YAML stays YAML
    snap = sio.get_received()[0]["args"][0]
    assert snap["scenario"]["title"] == "plain"
