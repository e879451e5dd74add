"""A long run's log in pages (docs/protocol.md, `log_chunk`), and the library's titles of
long files read from their heads, through Flask-SocketIO's test client in threading mode.

LOG_PAGE is set low here so that a scenario of a few hundred events is paged; polls are
bounded and wait on a condition (a message arriving), never a fixed time.
"""

from pathlib import Path

import pytest
from ptree.webui import library
from ptree.webui.app import create_app, socketio
from scenario_util import receive_until, short_lives

ROOT = Path(__file__).resolve().parent.parent
SMALL = "orphans-and-reapers"
FULL_KEYS = {"run", "seq", "total", "doc", "edges", "xstat_text", "playing", "speed", "full",
             "mode", "choice", "scenario", "events", "cites", "error", "expects"}


@pytest.fixture
def client(tmp_path):
    (tmp_path / "long-fan.yaml").write_text(short_lives(120))
    app = create_app({"ASYNC_MODE": "threading", "TESTING": True,
                      "EXTRA_SCENARIO_DIRS": [tmp_path], "ROOM_STORE": tmp_path / "r.sqlite3"})
    c = socketio.test_client(app)
    c.get_received()
    yield c, app
    if c.is_connected():
        c.disconnect()



def snapshot_and_log(c, data, name="open"):
    """Send `name`, then read its snapshot and every log_chunk up to the log's end."""
    c.emit(name, data)

    def complete(msgs):
        snaps = [m["args"][0] for m in msgs if m["name"] == "snapshot"]
        if not snaps:
            return False
        have = len(snaps[-1]["events"]) + sum(len(m["args"][0]["events"]) for m in msgs
                                              if m["name"] == "log_chunk")
        return have >= snaps[-1].get("log_total", len(snaps[-1]["events"]))
    msgs = receive_until(c, complete)
    snap = next(m["args"][0] for m in msgs if m["name"] == "snapshot")
    return snap, [m["args"][0] for m in msgs if m["name"] == "log_chunk"]


def test_a_small_run_has_its_whole_log_in_the_snapshot_as_before(client):
    c, app = client
    snap, chunks = snapshot_and_log(c, {"name": SMALL})
    run = app.extensions["ptree.library"].open_name(SMALL)
    assert set(snap) == FULL_KEYS                  # no log_total: the snapshot is unchanged
    assert snap["events"] == run.log and chunks == []


def test_a_long_run_log_comes_in_pages_with_every_entry(client, monkeypatch):
    monkeypatch.setattr(library, "LOG_PAGE", 50)
    c, app = client
    snap, chunks = snapshot_and_log(c, {"name": "long-fan", "event": 300})
    run = app.extensions["ptree.library"].open_name("long-fan")
    total = run.timeline.total
    assert total > 150 and set(snap) == FULL_KEYS | {"log_total"}
    assert snap["log_total"] == total and len(snap["events"]) == 50
    assert snap["seq"] == 300 and snap["doc"] == run.timeline.doc_at(300)
    assert [ch["from"] for ch in chunks] == list(range(50, total, 50))
    assert all(ch["run"] == snap["run"] and len(ch["events"]) <= 50 for ch in chunks)
    log = snap["events"] + [ev for ch in chunks for ev in ch["events"]]
    assert log == run.log and [ev["seq"] for ev in log] == list(range(1, total + 1))
    assert snap["cites"] == library.cite_table(run.log)


def test_a_resync_of_a_long_run_is_paged_too(client, monkeypatch):
    monkeypatch.setattr(library, "LOG_PAGE", 50)
    c, app = client
    snapshot_and_log(c, {"name": "long-fan"})
    snap, chunks = snapshot_and_log(c, {}, name="resync")
    run = app.extensions["ptree.library"].open_name("long-fan")
    assert snap["log_total"] == run.timeline.total
    assert snap["events"] + [ev for ch in chunks for ev in ch["events"]] == run.log


def test_a_new_open_stops_the_old_runs_pages(client, monkeypatch):
    monkeypatch.setattr(library, "LOG_PAGE", 50)
    c, app = client
    c.emit("open", {"name": "long-fan"})
    snap, _ = snapshot_and_log(c, {"name": SMALL})
    msgs = c.get_received()
    # Whatever of the old run's pages was still on its way names the old run, never the new.
    assert all(m["args"][0]["run"] < snap["run"] for m in msgs if m["name"] == "log_chunk")


def test_a_long_file_is_listed_by_the_title_at_its_head(tmp_path, monkeypatch):
    monkeypatch.setattr(library, "TITLE_HEAD", 256)
    # Past its head the file is bad input: the listing does not read that far (opening it
    # reports the line).
    (tmp_path / "huge.yaml").write_text(short_lives(60) + "  - nobody: frobnicate\n")
    lib = library.Library([tmp_path])
    assert lib.listing() == [{"name": "huge", "title": "60 steps of short lives"}]
    with pytest.raises(library.ScenarioError):
        lib.open_name("huge")
