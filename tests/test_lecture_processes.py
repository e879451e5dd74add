"""Several server processes, one lecture: two real `ptree serve` on one real Redis.

Process A (eventlet) holds the presenter, process B (threading) the audience: the diffs go
from A through Flask-SocketIO's Redis message queue to B's viewers, the viewer count comes
back from B through the shared store, and B answers B's hostile viewer by itself.  The
clients are python-socketio's AsyncClient over WebSocket on 127.0.0.1.
"""

import asyncio
import http.client
import time
from pathlib import Path

import jsonpatch
import pytest
import socketio
from ptree.engine.scenario import load_scenario_file
from ptree.engine.timeline import Timeline
from ptree.webui.store import RedisStore
from servers import Server

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = "orphans-and-reapers"
CONTROL = ["open", "step", "back", "jump", "play", "pause", "speed", "reset", "choose",
           "explore", "end"]
WAIT = 15


def start_room(server, query=f"/present?scenario={BUNDLED}"):
    """GET /present on `server` without following the redirect: (code, key)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=WAIT)
    conn.request("GET", query)
    answer = conn.getresponse()
    assert answer.status == 303, answer.read()
    code = answer.getheader("Location").rsplit("/", 1)[1]
    cookie = answer.getheader("Set-Cookie").split(";", 1)[0]
    name, key = cookie.split("=", 1)
    assert name == f"ptree_present_{code}"
    conn.close()
    return code, key


class Client:
    """A lecture tab: every message it got, in order, and a way to wait for one."""

    def __init__(self):
        self.sio = socketio.AsyncClient(reconnection=False)
        self.got = []
        self.arrived = asyncio.Event()
        self.sio.on("*", self._any)

    async def _any(self, name, data=None):
        self.got.append((name, data))
        self.arrived.set()

    async def connect(self, server, **auth):
        await self.sio.connect(server.url(), auth=auth, transports=["websocket"],
                               wait_timeout=WAIT)
        return self

    async def wait_for(self, name, predicate=lambda m: True, seconds=WAIT):
        """The first message named `name` (from the start) that satisfies predicate."""
        return await self.wait_until(
            lambda: next((m for n, m in self.got if n == name and predicate(m)), None),
            f"no {name}", seconds)

    async def wait_until(self, find, what, seconds=WAIT):
        """find()'s first result that is not None, re-tried as messages arrive (bounded)."""
        deadline = time.monotonic() + seconds
        while True:
            found = find()
            if found is not None:
                return found
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{what} within {seconds}s: {[n for n, _ in self.got]}")
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), left)
            except TimeoutError:
                pass

    def named(self, name):
        return [m for n, m in self.got if n == name]


@pytest.fixture
def pair(redis_url):
    a = Server("eventlet", ["--message-queue", redis_url])
    try:
        b = Server("threading", ["--message-queue", redis_url])
    except Exception:
        a.stop()
        raise
    yield a, b
    a.stop()
    b.stop()


def test_a_presenter_on_one_process_drives_viewers_on_another(pair, redis_url):
    a, b = pair
    timeline = Timeline(load_scenario_file(ROOT / "scenarios" / f"{BUNDLED}.yaml"))
    code, key = start_room(a)
    store = RedisStore(redis_url, idle_seconds=60)

    async def scenario():
        presenter = await Client().connect(a, lecture=code, role="presenter", key=key)
        viewers = [await Client().connect(b, lecture=code, role="viewer") for _ in range(2)]
        hostile = await Client().connect(b, lecture=code, role="presenter", key="forged")
        assert (await presenter.wait_for("lecture"))["role"] == "presenter"
        assert (await hostile.wait_for("lecture"))["role"] == "viewer"
        await presenter.wait_for("viewers", lambda m: m["count"] == 3)

        docs = [(await v.wait_for("snapshot"))["doc"] for v in viewers]
        for n in (1, 2, 3):
            await presenter.sio.emit("step")
            for i, v in enumerate(viewers):
                diff = await v.wait_for("diff", lambda m, n=n: m["seq"] == n)
                assert diff["room"] == code
                docs[i] = jsonpatch.apply_patch(docs[i], diff["ops"])
                assert docs[i] == timeline.doc_at(n)

        before = store.load(code)
        for name in CONTROL:
            for payload in (None, {"key": key}, {"event": 9, "room": code}):
                await (hostile.sio.emit(name, payload) if payload else hostile.sio.emit(name))
        # (threading mode handles one client's messages concurrently: count, not order)
        refused = await hostile.wait_until(
            lambda: (lambda r: r if len(r) >= 3 * len(CONTROL) else None)(
                [m for m in hostile.named("error") if m["event"] in CONTROL]),
            "not every control message was refused")
        assert len(refused) == 3 * len(CONTROL) and {m["code"] for m in refused} == {"not_presenter"}
        assert store.load(code)["rev"] == before["rev"] and store.load(code)["pos"] == 3

        late = await Client().connect(b, lecture=code, role="viewer")
        assert (await late.wait_for("snapshot"))["seq"] == 3

        alone = viewers[1]
        await alone.sio.emit("detach")
        mine = await alone.wait_for("snapshot", lambda m: "room" not in m)
        assert mine["seq"] == 3
        await alone.sio.emit("step")
        assert (await alone.wait_for("diff", lambda m: "room" not in m))["seq"] == 4
        await presenter.sio.emit("back")
        back = lambda m: m["dir"] == "back"  # noqa: E731
        assert (await viewers[0].wait_for("diff", back))["seq"] == 2
        assert (await late.wait_for("diff", back))["seq"] == 2
        assert not [m for m in alone.named("diff") if back(m)]

        await presenter.sio.emit("end")
        for v in (viewers[0], late):
            assert (await v.wait_for("lecture_ended"))["event"] == 2
        for c in (presenter, *viewers, hostile, late):
            await c.sio.disconnect()

    run_in_own_loop(scenario())


def run_in_own_loop(coro):
    """asyncio.run in a thread of its own: Playwright's sync API (the browser tests, in the
    same pytest process) may leave an event loop running in the main thread."""
    import threading
    failure = []

    def target():
        try:
            asyncio.run(coro)
        except BaseException as e:          # re-raised in the test's own thread
            failure.append(e)

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if failure:
        raise failure[0]
