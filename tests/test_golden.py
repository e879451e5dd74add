"""The engine's behaviour does not move unless on purpose: every scenario's `ptree run
--json`, its event log and its event records equal the recorded goldens
(tests/golden/record.py says how to regenerate, and when)."""

import json
import os
from pathlib import Path

import pytest
from golden import record

GOLDEN = json.loads(record.GOLDEN.read_text())


@pytest.fixture(autouse=True)
def _at_root():
    old = os.getcwd()
    os.chdir(record.ROOT)
    yield
    os.chdir(old)


def test_golden_covers_every_scenario_file():
    missing = sorted(set(record.scenario_files()) - set(GOLDEN["files"]))
    assert not missing, f"no golden record for {missing}: run tests/golden/record.py"


@pytest.mark.parametrize("path", sorted(GOLDEN["files"]))
def test_scenario_file_matches_golden(path):
    if not Path(path).exists():
        pytest.fail(f"{path} has a golden record but no longer exists: regenerate on purpose")
    assert record.record_file(path) == GOLDEN["files"][path]


@pytest.mark.parametrize("args", record.RANDOM, ids=record.random_key)
def test_random_scenario_matches_golden(args):
    assert record.record_random(args) == GOLDEN["random"][record.random_key(args)]
