"""A multi-threaded program for `make traced`: two threads besides the main one.

The first forks a child, which exits 7, and waits for it (waitpid on that pid); the
second only computes.  The main thread joins both and exits.  Under strace each thread
is a CLONE_THREAD clone (lwp_create in the scenario) that ends with exit(0) (extexit lwp).
"""

import os
import threading

results = {}


def forker():
    pid = os.fork()
    if pid == 0:
        os._exit(7)
    _, status = os.waitpid(pid, 0)
    results["child"] = (pid, os.waitstatus_to_exitcode(status))


def worker():
    results["sum"] = sum(range(100_000))


threads = [threading.Thread(target=forker), threading.Thread(target=worker)]
for t in threads:
    t.start()
for t in threads:
    t.join()
os.write(1, f"threads: child {results['child'][0]} exited {results['child'][1]}, "
            f"sum {results['sum']}\n".encode())
