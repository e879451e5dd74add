"""Running a command under strace for `ptree trace` (the impure half: processes, files,
signals).  webui.strace reads what it writes; webui.trace turns that into a scenario.

Errors a user can fix (strace missing, ptrace refused, a command that cannot start) are
TraceError, whose text says what to do; the command line prints it and exits 2.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

# The process-lifecycle calls (issue 11).  `?` lets strace skip a call this architecture
# lacks (arm64 has no fork or vfork) instead of refusing to start.
SYSCALLS = ("?fork", "?vfork", "clone", "?clone3", "execve", "exit", "exit_group", "wait4",
            "waitid", "kill", "tgkill", "tkill", "prctl", "setpgid", "setuid", "setreuid",
            "setresuid", "rt_sigaction")
_STRACE_SAYS = re.compile(r"(?:\S*/)?strace: (.*)", re.S)   # strace's own messages (argv[0]: ...)
STRACE_ARGS = ("-f", "-ttt", "-qq", "-s", "256", "-e", "trace=" + ",".join(SYSCALLS))


class TraceError(Exception):
    """A command that cannot be traced here; the message says why and how to fix it."""


@dataclass
class Traced:
    """What a traced run left: the log, and when and why it was stopped (if it was)."""

    log: Path
    strace_version: str
    stopped_at: float | None = None     # time.time() when ptree stopped the program
    why_stopped: str | None = None      # 'timeout' or 'interrupted'
    returncode: int | None = None


def find_strace():
    """strace's path, or TraceError saying how to install it."""
    path = shutil.which("strace")
    if path is None:
        raise TraceError("strace is not installed (not found on PATH). Install it: "
                         "`sudo apt-get install strace` on Debian or Ubuntu, `sudo dnf "
                         "install strace` on Fedora, or `make setup` in this repository.")
    return path


def strace_version(strace):
    try:
        out = subprocess.run([strace, "-V"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "strace"
    first = out.splitlines()[0] if out else "strace"
    return first.replace(" -- version", "")


def check_command(argv):
    """TraceError unless argv[0] names a program that can be started."""
    if not argv:
        raise TraceError("no command: give it after --, e.g. `ptree trace -- sh -c 'ls | wc -l'`")
    prog = argv[0]
    if "/" in prog:
        if not os.path.exists(prog):
            raise TraceError(f"cannot start {prog!r}: no such file")
        if os.path.isdir(prog) or not os.access(prog, os.X_OK):
            raise TraceError(f"cannot start {prog!r}: not an executable file")
    elif shutil.which(prog) is None:
        raise TraceError(f"cannot start {prog!r}: no such command on PATH")


def ptrace_help(strace_said):
    """What to tell a user whose strace may not use ptrace, from what this machine says."""
    lines = [f"strace cannot trace here: ptrace is not permitted ({strace_said.strip()})."]
    tracer = _tracer_pid()
    if tracer:
        lines.append(f"ptree itself is being traced (TracerPid {tracer}: a debugger, or strace "
                     "around ptree); a traced process cannot trace its children. Run "
                     "`ptree trace` outside it.")
    scope = Path("/proc/sys/kernel/yama/ptrace_scope")
    try:
        value = int(scope.read_text().strip())
    except (OSError, ValueError):
        value = None
    if value is not None and value >= 2:
        lines.append(f"/proc/sys/kernel/yama/ptrace_scope is {value}, which limits ptrace to "
                     "root" + (" (or forbids it)" if value == 3 else "") + ". Allow it with "
                     "`sudo sysctl kernel.yama.ptrace_scope=1`"
                     + (" (3 can only be undone by a reboot)." if value == 3 else "."))
    lines.append("In a container, ptrace needs the SYS_PTRACE capability and a seccomp "
                 "profile that allows it, e.g. `docker run --cap-add=SYS_PTRACE "
                 "--security-opt seccomp=unconfined ...`.")
    return " ".join(lines)


def _tracer_pid():
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("TracerPid:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def tracees(strace_pid):
    """The pids of the processes strace is tracing now (their TracerPid)."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            for line in (d / "status").read_text().splitlines():
                if line.startswith("TracerPid:"):
                    if int(line.split()[1]) == strace_pid:
                        out.append(int(d.name))
                    break
        except (OSError, ValueError):
            continue
    return out


def _stop_tracees(proc, grace=10.0):
    """SIGKILL every process strace traces, until strace (which then writes their ends
    and exits) has gone; strace itself is killed if it outlives the grace period."""
    deadline = time.monotonic() + grace
    while proc.poll() is None and time.monotonic() < deadline:
        for pid in tracees(proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            proc.wait(timeout=0.2)
        except subprocess.TimeoutExpired:
            continue
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def trace_command(argv, timeout=30.0, log=None, stdout=None):
    """Run argv under strace, the trace written to `log` (a temporary file if None).

    The command's standard output goes to `stdout` (a file object; our stderr when the
    scenario itself goes to stdout), its stderr and stdin are ours.  Past `timeout`
    seconds its processes are killed and the trace so far is kept; so it is on Ctrl-C."""
    strace = find_strace()
    check_command(argv)
    if log is None:
        fd, name = tempfile.mkstemp(prefix="ptree-trace-", suffix=".log")
        os.close(fd)
        log = name
    log = Path(log)
    cmd = [strace, *STRACE_ARGS, "-o", str(log), "--", *argv]
    out = stdout if stdout is not None else sys.stderr
    said = []
    try:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE, text=True,
                                errors="replace")
    except OSError as e:
        raise TraceError(f"cannot run strace: {e.strerror}") from None
    reader = threading.Thread(target=_relay, args=(proc.stderr, said), daemon=True)
    reader.start()
    result = Traced(log, strace_version(strace))
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        result.stopped_at, result.why_stopped = time.time(), "timeout"
        _stop_tracees(proc)
    except KeyboardInterrupt:
        result.stopped_at, result.why_stopped = time.time(), "interrupted"
        _stop_tracees(proc)
    reader.join(timeout=10)
    result.returncode = proc.returncode
    _diagnose(said, log, argv)
    return result


def _relay(stream, said):
    """Copy strace's stderr (the command's stderr too) to ours; keep strace's own lines."""
    for line in stream:
        own = _STRACE_SAYS.match(line)
        if own:
            said.append("strace: " + own.group(1).rstrip("\n"))
        else:
            sys.stderr.write(line)
            sys.stderr.flush()


def _diagnose(said, log, argv):
    """TraceError for a run that traced nothing: ptrace refused, or no command started."""
    text = "\n".join(said)
    try:
        empty = log.stat().st_size == 0
    except OSError:
        empty = True
    if ("Operation not permitted" in text or "EPERM" in text) and (
            "ptrace" in text.lower() or "attach" in text):
        first = next(line for line in said if "ermitted" in line or "EPERM" in line)
        raise TraceError(ptrace_help(first.removeprefix("strace: ")))
    for line in said:
        if "Can't stat" in line or line.startswith("strace: exec:"):
            raise TraceError(f"cannot start {argv[0]!r}: {line.split(': ')[-1]}")
    if empty:
        raise TraceError("strace wrote no trace" + (f": {text}" if text else ""))
    for line in said:
        sys.stderr.write(line + "\n")
