"""Scenario files are tests: any `*.yaml` under tests/ is collected by pytest as a test
of its own, which runs the scenario and its expectations like `ptree check`.  A failure
reads `FILE:LINE: expected KEY V, got W`, pointing at the file and line."""

import pytest

from engine.runner import check_scenario_file


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
