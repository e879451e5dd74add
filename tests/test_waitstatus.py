"""The one wait-status decoder (engine/waitstatus.py), BSD encoding: worked from sys/wait.h,
not from the engine's output."""

import pytest
from ptree.engine.waitstatus import (
    W_EXITCODE,
    W_STOPCODE,
    WEXITSTATUS,
    WIFCONTINUED,
    WIFEXITED,
    WIFSIGNALED,
    WIFSTOPPED,
    WSTOPSIG,
    WTERMSIG,
    short_text,
    status_text,
    xstat_text,
)


@pytest.mark.parametrize("status, exited, signaled, stopped, continued, text", [
    (768, True, False, False, False, "exit 3"),            # W_EXITCODE(3, 0)
    (0, True, False, False, False, "exit 0"),
    (9, False, True, False, False, "killed by SIGKILL"),
    (15, False, True, False, False, "killed by SIGTERM"),
    (4479, False, False, True, False, "stopped by SIGSTOP"),  # W_STOPCODE(17)
    (19, False, False, False, True, "continued"),
])
def test_macros_and_words(status, exited, signaled, stopped, continued, text):
    assert (WIFEXITED(status), WIFSIGNALED(status), WIFSTOPPED(status),
            WIFCONTINUED(status)) == (exited, signaled, stopped, continued)
    assert status_text(status) == text


def test_encoders_and_fields():
    assert W_EXITCODE(3, 0) == 768 and WEXITSTATUS(768) == 3
    assert W_STOPCODE(17) == 4479 and WSTOPSIG(4479) == 17
    assert WTERMSIG(W_EXITCODE(0, 9)) == 9
    assert status_text(None) == ""
    assert short_text(768) == "3" and short_text(9) == "SIGKILL"


def test_xstat_depends_on_the_state():
    """A zombie's p_xstat is a status word; a live process's is the bare stop signal."""
    assert xstat_text("SZOMB", 9) == "killed by SIGKILL"
    assert xstat_text("SSTOP", 17) == "stopped by SIGSTOP"
    assert xstat_text("SACTIVE", 17) == "last stopped by SIGSTOP"
    assert xstat_text("SACTIVE", None) == ""
