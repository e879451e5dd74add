"""`ptree serve` as a subprocess, for the end-to-end and several-process tests.

A Server runs on 127.0.0.1 and a free port in one async mode, with tests/e2e/scenarios
added to the library and an instance folder of its own (where the embedded lecture-room
store lives).  `kill()` is SIGKILL, as a crash; `restart()` starts it again on the same
port with the same instance folder, so what was stored is there again.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "tests" / "e2e" / "scenarios"


def ptree_command():
    """The installed `ptree` next to this Python (the venv's), else the one on PATH."""
    local = Path(sys.executable).parent / "ptree"
    return str(local) if local.exists() else shutil.which("ptree")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A running `ptree serve`; `url(path)` builds addresses on it."""

    def __init__(self, mode, extra_args=(), port=None, instance=None):
        self.mode = mode
        self.extra_args = list(extra_args)
        self.port = port or free_port()
        self.instance = instance or tempfile.mkdtemp(prefix="ptree-instance-")
        self._own_instance = instance is None
        self.log = subprocess.DEVNULL
        self._start()

    def _start(self):
        if (ROOT / "test-results").is_dir():
            self.log = open(ROOT / "test-results" / f"serve-{self.mode}-{self.port}.log", "a")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONWARNINGS": "ignore"}
        self.proc = subprocess.Popen(
            [ptree_command(), "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--async-mode", self.mode, "--scenarios", str(SCENARIOS),
             "--instance", self.instance, *self.extra_args],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_until_listening()

    def _wait_until_listening(self, seconds=30):
        # A bounded poll for start-up: each round waits on the process itself, so a server
        # that dies at start is reported at once instead of after the deadline.
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                pass
            try:
                code = self.proc.wait(timeout=0.1)
                raise RuntimeError(f"ptree serve ({self.mode}) exited with {code} at start")
            except subprocess.TimeoutExpired:
                continue
        self.stop()
        raise RuntimeError(f"ptree serve ({self.mode}) did not listen within {seconds}s")

    def url(self, path="/"):
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def pid(self):
        return self.proc.pid

    def kill(self):
        """SIGKILL: no handler runs, nothing is flushed or closed."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self._close_log()

    def restart(self):
        """Start again on the same port and instance folder (after kill or stop)."""
        self._start()

    def _close_log(self):
        if self.log is not subprocess.DEVNULL:
            self.log.close()
            self.log = subprocess.DEVNULL

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._close_log()
        if self._own_instance:
            shutil.rmtree(self.instance, ignore_errors=True)
