"""End-to-end fixtures: `ptree serve` as a subprocess, driven in Debian's Chromium.

The server runs in each async mode (eventlet, the default, and threading) on a free port,
with tests/e2e/scenarios added to the library.  Pages come from pytest-playwright's `page`
fixture, launched from /usr/bin/chromium (never a downloaded browser).  Every page is
watched: a request to anything but 127.0.0.1, a console error or an uncaught exception
fails the test.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

# Waiting is done by expect(); a loaded CI machine gets more time, never a fixed sleep.
expect.set_options(timeout=15_000)

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = Path(__file__).resolve().parent / "scenarios"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--metrics-recording-only",
    "--no-default-browser-check",
]


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

    def __init__(self, mode, extra_args=()):
        self.mode = mode
        self.port = free_port()
        self.log = open(ROOT / "test-results" / f"serve-{mode}-{self.port}.log", "w") \
            if (ROOT / "test-results").is_dir() else subprocess.DEVNULL
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONWARNINGS": "ignore"}
        self.proc = subprocess.Popen(
            [ptree_command(), "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--async-mode", mode, "--scenarios", str(SCENARIOS), *extra_args],
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

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.log is not subprocess.DEVNULL:
            self.log.close()


@pytest.fixture(scope="session", params=["eventlet", "threading"])
def server(request):
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    srv = Server(request.param)
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright launches Debian's Chromium, with the flags a closed network needs."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS,
            "headless": True}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1600, "height": 900}}


class PageWatch:
    """What a page did that a clean page must not: leave 127.0.0.1, log errors."""

    def __init__(self, page):
        self.outside = []
        self.console_errors = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.console_errors.append(f"uncaught: {exc}"))
        page.on("websocket", lambda ws: self._check(ws.url))
        page.route("**/*", self._route)

    def _console(self, msg):
        if msg.type == "error":
            self.console_errors.append(msg.text)

    def _check(self, url):
        host = urlparse(url).hostname
        if host != "127.0.0.1":
            self.outside.append(url)
            return False
        return True

    def _route(self, route):
        if self._check(route.request.url):
            route.continue_()
        else:
            route.abort()

    def assert_clean(self):
        assert self.outside == [], f"requests left 127.0.0.1: {self.outside}"
        assert self.console_errors == [], f"console errors: {self.console_errors}"


@pytest.fixture
def watched(page):
    """The page, watched; the test fails if it left 127.0.0.1 or logged an error."""
    page.set_default_timeout(15_000)
    watch = PageWatch(page)
    yield page
    watch.assert_clean()
