"""The wait-status word, BSD encoding (sys/wait.h), in one place.

The kernel stores one int per exited or stopped child: exit1 sets p_xstat to
W_EXITCODE(status, 0) or, for a fatal signal, to the signal number (E003:338-378);
a stopping process's p_xstat is the bare stop signal, which kern_wait returns as
W_STOPCODE(sig) (E003:860-880); a continued child reports 0x13 (WCONTINUED).  Signal
numbers are BSD's (constants.SIGNALS).  Everything that turns such a word into words
(the RESULTs, the CLI's event log, the server's `status_text` / `xstat_text`) calls this.
"""

from .constants import SIGNAMES

_WSTOPPED = 0o177          # the low seven bits of a stop status
_WCONTINUED = 0o23         # 19: the status of a continued child


def W_EXITCODE(ret, sig):
    """sys/wait.h: the status word of a normal exit (sig 0) or a signal death."""
    return (ret << 8) | sig


def W_STOPCODE(sig):
    """sys/wait.h: the status word of a stop."""
    return (sig << 8) | _WSTOPPED


def WIFCONTINUED(status):
    return status == _WCONTINUED


def WIFSTOPPED(status):
    return status & 0xFF == _WSTOPPED


def WSTOPSIG(status):
    return status >> 8


def WIFEXITED(status):
    return status & _WSTOPPED == 0


def WEXITSTATUS(status):
    return (status >> 8) & 0xFF


def WIFSIGNALED(status):
    """Killed by a signal: neither exited, stopped, nor the continue word."""
    return status & _WSTOPPED not in (0, _WSTOPPED) and not WIFCONTINUED(status)


def WTERMSIG(status):
    return status & _WSTOPPED


def signame(sig):
    """A BSD signal number's name ("SIGKILL"), or the number itself as text."""
    return SIGNAMES.get(sig, str(sig))


def status_text(status):
    """A status word in words: "exit 3", "killed by SIGKILL", "stopped by SIGSTOP",
    "continued"; "" for no status (None)."""
    if status is None:
        return ""
    if WIFCONTINUED(status):
        return "continued"
    if WIFSTOPPED(status):
        return f"stopped by {signame(WSTOPSIG(status))}"
    if WIFEXITED(status):
        return f"exit {WEXITSTATUS(status)}"
    return f"killed by {signame(WTERMSIG(status))}"


def short_text(status):
    """What an exit status reads as in an event summary: the signal's name for a signal
    death, else the exit code ("3", "SIGKILL")."""
    if WIFSIGNALED(status):
        return signame(WTERMSIG(status))
    return str(WEXITSTATUS(status))


def xstat_text(state, xstat):
    """A process's p_xstat in words.  A zombie's is its wait-status word; a live
    process's is the bare signal that last stopped it (proc_stop), kept after SIGCONT."""
    if xstat is None:
        return ""
    if state == "SZOMB":
        return status_text(xstat)
    verb = "stopped" if state == "SSTOP" else "last stopped"
    return f"{verb} by {signame(xstat)}"
