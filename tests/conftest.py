"""Scenario files are tests: any `*.yaml` under tests/ is collected by pytest as a test
of its own, which runs the scenario and its expectations like `ptree check`.  A failure
reads `FILE:LINE: expected KEY V, got W`, pointing at the file and line."""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from ptree.engine.runner import check_scenario_file

E2E_SCENARIOS = Path(__file__).resolve().parent / "e2e" / "scenarios"
REDIS_SERVER = "/usr/bin/redis-server"


@pytest.fixture
def app(tmp_path):
    """The Flask app in threading mode, with the e2e scenarios added to the library (and
    lecture rooms in a SQLite file of the test's own)."""
    from ptree.webui.app import create_app
    return create_app({"ASYNC_MODE": "threading", "TESTING": True,
                       "EXTRA_SCENARIO_DIRS": [E2E_SCENARIOS],
                       "ROOM_STORE": tmp_path / "rooms.sqlite3"})


@pytest.fixture
def sio(app):
    """A Flask-SocketIO test client, connected, its `hello` already read."""
    from ptree.webui.app import socketio
    c = socketio.test_client(app)
    assert c.is_connected()
    c.get_received()
    yield c
    if c.is_connected():
        c.disconnect()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """Debian's redis-server on 127.0.0.1 and a free port, with no persistence, for as long
    as the tests that share it run.  `url(db)` names one of its databases."""

    def __init__(self):
        if not os.access(REDIS_SERVER, os.X_OK):
            pytest.fail(f"{REDIS_SERVER} is missing: `make test` installs Debian's redis-server")
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="ptree-redis-")
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--protected-mode", "yes", "--dir", self.dir,
             "--databases", "64"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        import redis
        deadline = time.monotonic() + 20
        while True:                      # a bounded poll until it answers PING
            try:
                redis.Redis(port=self.port, socket_timeout=1).ping()
                return
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("redis-server did not answer within 20 s") from None
            try:                         # each round waits on the process itself
                code = self.proc.wait(timeout=0.05)
                raise RuntimeError(f"redis-server exited with {code} at start")
            except subprocess.TimeoutExpired:
                continue

    def url(self, db=0):
        return f"redis://127.0.0.1:{self.port}/{db}"

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server():
    """One real Redis for the whole test run (each test takes a database of its own)."""
    server = RedisServer()
    yield server
    server.stop()


_redis_dbs = iter(range(1, 64))


@pytest.fixture
def redis_url(redis_server):
    """A fresh database of the test run's Redis: its URL."""
    import redis
    db = next(_redis_dbs)
    redis.Redis.from_url(redis_server.url(db)).flushdb()
    return redis_server.url(db)


def pytest_collect_file(parent, file_path):
    if file_path.suffix in (".yaml", ".yml"):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    def collect(self):
        yield ScenarioItem.from_parent(self, name="scenario")


class ScenarioFailed(Exception):
    pass


class ScenarioItem(pytest.Item):
    def runtest(self):
        status, messages, _ = check_scenario_file(str(self.path))
        if status:
            raise ScenarioFailed("\n".join(messages))

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, ScenarioFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, f"scenario {self.path.name}"
