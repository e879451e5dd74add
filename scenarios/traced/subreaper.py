"""Reality check for sub-reapers: what does Linux do with an orphan?

The process makes itself a sub-reaper (prctl PR_SET_CHILD_SUBREAPER, through ctypes),
forks a child; the child forks a grandchild and exits 3; the grandchild waits until it
has been adopted and exits 7.  The sub-reaper then waits twice.  Each process prints what
Linux told it, one `reality:` line each, so a test (or a lecturer) can put the real run
next to its replay under `ptree trace --kernel reaper` and `--kernel classic`.
"""

import ctypes
import os
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def report(text):
    """One line, in one write: lines of the three processes never mix."""
    os.write(1, f"reality: {text}\n".encode())


def main():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        report(f"prctl failed: {os.strerror(ctypes.get_errno())}")
        return 1
    me = os.getpid()
    report(f"subreaper {me}")
    child = os.fork()
    if child == 0:
        grandchild = os.fork()
        if grandchild == 0:
            # Adopted once the child has exited: poll getppid (a second at most).
            deadline = time.monotonic() + 10
            while os.getppid() != me and time.monotonic() < deadline:
                time.sleep(0.001)
            report(f"grandchild {os.getpid()} adopted by {os.getppid()}")
            os._exit(7)
        report(f"child {os.getpid()} forked grandchild {grandchild}")
        os._exit(3)
    pid, status = os.waitpid(-1, 0)
    report(f"wait1 {pid} exit {os.waitstatus_to_exitcode(status)}")
    try:
        pid, status = os.waitpid(-1, 0)
        report(f"wait2 {pid} exit {os.waitstatus_to_exitcode(status)}")
    except ChildProcessError:
        report("wait2 ECHILD")
    return 0


if __name__ == "__main__":
    sys.exit(main())
