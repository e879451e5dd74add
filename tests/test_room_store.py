"""The room stores (webui/store.py): the embedded SQLite file and Redis, one contract.

The Redis is a real redis-server on a free loopback port (the `redis_url` fixture), never a
stand-in.  Each test runs against both backends.
"""

import time

import pytest
import redis
from ptree.webui.store import DRAFT_SECONDS, KEY_PREFIX, RedisStore, SQLiteStore


@pytest.fixture(params=["sqlite", "redis"])
def store(request, tmp_path):
    if request.param == "sqlite":
        s = SQLiteStore(tmp_path / "rooms.sqlite3", idle_seconds=60)
    else:
        s = RedisStore(request.getfixturevalue("redis_url"), idle_seconds=60)
    yield s
    s.close()


def rec(code="k7m2", rev=1, **extra):
    return {"code": code, "rev": rev, "source": {"name": "x"}, "choices": None, "pos": 0,
            **extra}


def test_create_load_and_a_taken_code(store):
    assert store.create("k7m2", rec(), {})
    assert not store.create("k7m2", rec(pos=5), {})
    got = store.load("k7m2")
    assert got["pos"] == 0 and got["rev"] == 1 and "seen" in got
    assert store.load("zzzz") is None
    assert store.count() == 1


def test_save_is_a_compare_and_set_on_rev(store):
    store.create("k7m2", rec(), {})
    assert store.save("k7m2", rec(rev=2, pos=1), expect_rev=1)
    assert not store.save("k7m2", rec(rev=2, pos=9), expect_rev=1)   # the loser of a race
    assert store.load("k7m2")["pos"] == 1
    assert not store.save("gone", rec("gone", rev=2), expect_rev=1)


def test_blobs_live_as_long_as_the_record_names_them(store):
    store.create("k7m2", rec(source={"text": "aa", "label": ""}), {"aa": "text A"})
    assert store.blob("k7m2", "aa") == "text A"
    store.save("k7m2", rec(rev=2, source={"text": "bb", "label": ""}, choices="cc"), 1,
               {"bb": "text B", "cc": '["p"]'})
    assert store.blob("k7m2", "aa") is None
    assert (store.blob("k7m2", "bb"), store.blob("k7m2", "cc")) == ("text B", '["p"]')
    store.delete("k7m2")
    assert store.load("k7m2") is None and store.blob("k7m2", "bb") is None


def test_viewer_counts_add_up_over_processes(store):
    store.create("k7m2", rec(), {})
    store.viewers_add("k7m2", "host-a", 1)
    store.viewers_add("k7m2", "host-a", 1)
    assert store.viewers_add("k7m2", "host-b", 1) == 3
    assert store.viewers_add("k7m2", "host-a", -1) == 2
    assert store.viewers("k7m2") == 2


def test_a_dead_processes_viewers_stop_counting(redis_url):
    store = RedisStore(redis_url, idle_seconds=60)
    store.viewers_add("k7m2", "host-a", 2)
    store.viewers_add("k7m2", "host-b", 3)
    redis.Redis.from_url(redis_url).delete(f"{KEY_PREFIX}host:host-b")   # its heartbeat lapsed
    assert store.viewers("k7m2") == 2


def test_sqlite_rooms_expire_after_the_idle_time(tmp_path):
    now = [1000.0]
    store = SQLiteStore(tmp_path / "r.sqlite3", idle_seconds=60, clock=lambda: now[0])
    store.create("k7m2", rec(), {})
    now[0] += 50
    store.touch("k7m2")                   # a presenter is still there
    now[0] += 50
    assert store.load("k7m2") is not None
    now[0] += 11
    assert store.load("k7m2") is None
    assert store.sweep() == ["k7m2"] and store.count() == 0


def test_redis_rooms_expire_by_their_ttl(redis_url):
    store = RedisStore(redis_url, idle_seconds=1)
    store.create("k7m2", rec(), {"aa": "text"})
    deadline = time.monotonic() + 10
    while store.load("k7m2") is not None:          # a bounded poll for Redis's own expiry
        assert time.monotonic() < deadline, "the room outlived its TTL"
        redis.Redis.from_url(redis_url).ping()
    assert store.blob("k7m2", "aa") is None and store.count() == 0


def test_a_sqlite_room_survives_a_reopen(tmp_path):
    first = SQLiteStore(tmp_path / "r.sqlite3", idle_seconds=60)
    first.create("k7m2", rec(), {})
    first.save("k7m2", rec(rev=2, pos=7), 1)
    # No close: what a SIGKILL leaves behind is committed WAL pages.
    second = SQLiteStore(tmp_path / "r.sqlite3", idle_seconds=60)
    assert second.load("k7m2")["pos"] == 7


def test_drafts_are_kept_and_expire(store, monkeypatch):
    assert store.draft("0123456789abcdef") is None
    store.put_draft("0123456789abcdef", "title: kept\nsteps: []\n")
    assert store.draft("0123456789abcdef") == "title: kept\nsteps: []\n"
    if isinstance(store, SQLiteStore):
        # 30 days on, an SQLite draft is gone (Redis drops it by the key's TTL).
        later = time.time() + DRAFT_SECONDS + 1
        monkeypatch.setattr(store, "clock", lambda: later)
        assert store.draft("0123456789abcdef") is None
    else:
        ttl = store.redis.ttl(f"{KEY_PREFIX}draft:0123456789abcdef")
        assert 0 < ttl <= DRAFT_SECONDS


def test_a_sqlite_draft_survives_a_reopen(tmp_path):
    SQLiteStore(tmp_path / "r.sqlite3", idle_seconds=60).put_draft("0123456789abcdef", "x")
    assert SQLiteStore(tmp_path / "r.sqlite3", idle_seconds=60).draft("0123456789abcdef") == "x"
