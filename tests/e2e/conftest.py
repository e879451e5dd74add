"""End-to-end fixtures: `ptree serve` as a subprocess, driven in Debian's Chromium.

The server runs in each async mode (eventlet, the default, and threading) on a free port,
with tests/e2e/scenarios added to the library.  Pages come from pytest-playwright's `page`
fixture, launched from /usr/bin/chromium (never a downloaded browser).  Every page is
watched: a request to anything but 127.0.0.1, a console error or an uncaught exception
fails the test.
"""

import os
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


# The server process itself: tests/servers.py (also used by the several-process tests);
# bench/ui.py and docs/screenshots.py import this file as tests.e2e.conftest.
try:
    from servers import Server, free_port, ptree_command  # noqa: E402,F401
except ImportError:
    from tests.servers import Server, free_port, ptree_command  # noqa: E402,F401


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
