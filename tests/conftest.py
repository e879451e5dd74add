"""Scenario files are tests: any `*.yaml` under tests/ is collected by pytest as a test
of its own, which runs the scenario and its expectations like `ptree check`.  A failure
reads `FILE:LINE: expected KEY V, got W`, pointing at the file and line."""

from pathlib import Path

import pytest
from ptree.engine.runner import check_scenario_file

E2E_SCENARIOS = Path(__file__).resolve().parent / "e2e" / "scenarios"


@pytest.fixture
def app():
    """The Flask app in threading mode, with the e2e scenarios added to the library."""
    from ptree.webui.app import create_app
    return create_app({"ASYNC_MODE": "threading", "TESTING": True,
                       "EXTRA_SCENARIO_DIRS": [E2E_SCENARIOS]})


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
