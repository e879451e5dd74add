"""Lecture rooms (docs/protocol.md "Lecture rooms"), through Flask-SocketIO's test client.

One presenter drives, every follower gets the same messages, and nothing an audience member
sends changes the room.  Documents are checked against the engine's Timeline, as in
test_socket.py.  The rooms live in a SQLite file of each test's own (the `app` fixture);
a second app on the same file is what a restarted server finds.
"""

import sqlite3
import threading
import time
from pathlib import Path

import jsonpatch
import pytest
from ptree.engine.scenario import load_scenario_file
from ptree.engine.timeline import Timeline
from ptree.webui.app import create_app, socketio
from ptree.webui.rooms import CODE_ALPHABET, CODE_LENGTH, ROOM_IDLE_SECONDS

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = "orphans-and-reapers"
CONTROL = ["open", "step", "back", "jump", "play", "pause", "speed", "reset", "choose",
           "explore", "end"]


@pytest.fixture(scope="module")
def timeline():
    return Timeline(load_scenario_file(ROOT / "scenarios" / f"{BUNDLED}.yaml"))


def make_app(tmp_path, **config):
    return create_app({"ASYNC_MODE": "threading", "TESTING": True,
                       "ROOM_STORE": tmp_path / "rooms.sqlite3", **config})


def start_room(app, query=f"?scenario={BUNDLED}", method="get", data=None):
    """Start a lecture as a browser does; returns (code, key, the browser's HTTP client)."""
    http = app.test_client()
    answer = getattr(http, method)("/present" + query, data=data)
    assert answer.status_code == 303, answer.get_data(as_text=True)
    code = answer.headers["Location"].rsplit("/", 1)[1]
    cookie = http.get_cookie(f"ptree_present_{code}")
    return code, cookie.value, http


def join(app, code, role="viewer", http=None, **auth):
    c = socketio.test_client(app, auth={"lecture": code, "role": role, **auth},
                             flask_test_client=http)
    assert c.is_connected()
    return c


def msgs(c, *names):
    """[(name, payload)] received since the last call, those named only (all if none)."""
    out = [(m["name"], m["args"][0] if m["args"] else None) for m in c.get_received()]
    return [m for m in out if not names or m[0] in names]


def view(c):
    """The room messages (snapshot, diff, status) received since the last call."""
    return msgs(c, "snapshot", "diff", "status")


def wait_for(c, name, predicate=lambda m: True, seconds=10):
    """Messages until one named `name` satisfies predicate (bounded poll)."""
    deadline = time.monotonic() + seconds
    seen = []
    tick = threading.Event()
    while time.monotonic() < deadline:
        for m in c.get_received():
            seen.append(m)
            if m["name"] == name and predicate(m["args"][0]):
                return seen
        tick.wait(0.01)
    raise AssertionError(f"no {name} within {seconds}s; got {[m['name'] for m in seen]}")


def record(app, code):
    return app.extensions["ptree.hall"].load(code)


@pytest.fixture
def room(app):
    """A room on the bundled scenario with its presenter connected (messages read)."""
    code, key, http = start_room(app)
    presenter = join(app, code, "presenter", http)
    presenter.get_received()
    yield code, key, presenter
    presenter.disconnect() if presenter.is_connected() else None


# -- making a room ----------------------------------------------------------------------------

def test_present_makes_a_room_with_a_short_code_and_an_httponly_key(app):
    http = app.test_client()
    answer = http.get(f"/present?scenario={BUNDLED}&event=3")
    assert answer.status_code == 303
    code = answer.headers["Location"].rsplit("/", 1)[1]
    assert len(code) == CODE_LENGTH and set(code) <= set(CODE_ALPHABET)
    assert not set(code) & set("01lio")              # nothing that reads two ways
    cookie = answer.headers["Set-Cookie"]
    assert f"ptree_present_{code}=" in cookie and "HttpOnly" in cookie
    key = http.get_cookie(f"ptree_present_{code}").value
    page = http.get(f"/present/{code}").get_data(as_text=True)
    assert f'data-testid="audience-link" href="http://localhost/live/{code}"' in page
    assert "<svg" in page and 'data-testid="viewer-count"' in page
    assert key not in page                            # the key is in no page and no link
    live = app.test_client().get(f"/live/{code}")
    assert live.status_code == 200 and key not in live.get_data(as_text=True)
    assert record(app, code)["pos"] == 3


def test_the_key_is_stored_hashed(app, room):
    code, key, _ = room
    stored = record(app, code)
    assert stored["key_hash"] != key and len(stored["key_hash"]) == 64
    db = sqlite3.connect(app.config["ROOM_STORE"])
    dump = "\n".join(db.iterdump())
    assert key not in dump and stored["key_hash"] in dump


def test_the_presenter_page_needs_the_key(app, room):
    code, _, _ = room
    answer = app.test_client().get(f"/present/{code}")
    assert answer.status_code == 403
    assert f"/live/{code}" in answer.get_data(as_text=True)


@pytest.mark.parametrize("query,status", [("?scenario=no-such-thing", 404),
                                          ("?text=not*base64", 400),
                                          ("?scenario=x&event=many", 400)])
def test_present_refuses_bad_input_with_a_page(app, query, status):
    assert app.test_client().get("/present" + query).status_code == status


def test_unknown_rooms_are_a_404_page(app):
    for path in ("/present/zzzz", "/live/zzzz", "/live/NOT A CODE!"):
        assert app.test_client().get(path).status_code == 404


def test_live_join_form_takes_a_typed_code(app, room):
    code, _, _ = room
    answer = app.test_client().get(f"/live?room= {code.upper()} ")
    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/live/{code}")
    assert app.test_client().get("/live").status_code == 200


def test_the_present_button_keeps_text_mode_path_and_event(app):
    text = "title: typed\nsteps:\n  - init: fork a\n  - a: exit 1\n  - init: wait4 a\n"
    code, key, http = start_room(app, "", "post", {
        "text": text, "label": "mine", "mode": "choice",
        "choices": '["init: fork a", "kernel: start_forked_proc init.0"]', "event": "1"})
    presenter = join(app, code, "presenter", http)
    snap = dict(view(presenter))["snapshot"]
    assert (snap["seq"], snap["mode"]) == (1, "choice")
    assert snap["scenario"]["text"] == text
    assert snap["choice"]["trace"] == ["init: fork a", "kernel: start_forked_proc init.0"]
    assert snap["room"] == code


# -- the presenter drives, the room follows ----------------------------------------------------

def test_every_follower_gets_the_presenters_diffs(app, room, timeline):
    code, _, presenter = room
    viewers = [join(app, code) for _ in range(3)]
    docs = []
    for v in viewers:
        (name, snap), = view(v)
        assert name == "snapshot" and snap["full"] and snap["room"] == code
        docs.append(snap["doc"])
    actions = [("step", None)] * 5 + [("back", None), ("jump", {"event": 9}), ("step", None),
                                      ("reset", None), ("step", None)]
    for name, data in actions:
        presenter.emit(name, data) if data else presenter.emit(name)
        sent = view(presenter)
        assert len(sent) == 1
        for i, v in enumerate(viewers):
            got = view(v)
            assert got == sent                        # the same message, to every member
            kind, msg = got[0]
            docs[i] = msg["doc"] if kind == "snapshot" else jsonpatch.apply_patch(docs[i], msg["ops"])
            assert docs[i] == timeline.doc_at(msg["seq"])
    assert [msg["rev"] for _, msg in [sent[0]]][0] == record(app, code)["rev"]
    assert record(app, code)["pos"] == 1


def test_a_late_joiner_gets_a_snapshot_at_the_rooms_position(app, room, timeline):
    code, _, presenter = room
    for _ in range(4):
        presenter.emit("step")
    presenter.emit("jump", {"event": 11})
    late = join(app, code)
    got = msgs(late)
    assert [n for n, _ in got] == ["hello", "lecture", "snapshot"]
    snap = got[2][1]
    assert (snap["seq"], snap["full"]) == (11, True)
    assert snap["doc"] == timeline.doc_at(11)
    assert len(snap["events"]) == timeline.total


def test_play_pause_and_speed_reach_the_room(app, room, timeline):
    code, _, presenter = room
    viewer = join(app, code)
    viewer.get_received()
    presenter.emit("play", {"speed": 200})
    seen = wait_for(viewer, "status", lambda s: not s["playing"] and s["seq"] == timeline.total)
    diffs = [m["args"][0]["seq"] for m in seen if m["name"] == "diff"]
    assert diffs == list(range(1, timeline.total + 1))
    presenter.emit("reset")
    presenter.emit("speed", {"speed": 4})
    assert view(viewer)[-1][1]["speed"] == 4
    presenter.emit("play")
    presenter.emit("pause")
    paused = view(viewer)[-1][1]
    assert paused["playing"] is False
    assert record(app, code)["playing"] is False


def test_choice_mode_in_a_room(app, room):
    code, _, presenter = room
    viewer = join(app, code)
    presenter.emit("open", {"name": BUNDLED, "mode": "choice"})
    snap = dict(view(viewer))["snapshot"]
    assert snap["mode"] == "choice" and snap["total"] == 0
    first = snap["choice"]["actions"][0]["label"]
    presenter.emit("choose", {"label": first})
    diffs = [m for n, m in view(viewer) if n == "diff"]
    assert diffs and all(d["new"] for d in diffs)
    late = join(app, code)
    snap = dict(view(late))["snapshot"]
    assert snap["choice"]["trace"] == [first] and snap["seq"] == diffs[-1]["seq"]


def test_viewer_count_reaches_the_presenter(app, room):
    code, _, presenter = room
    viewers = [join(app, code) for _ in range(3)]
    wait_for(presenter, "viewers", lambda m: m["count"] == 3)
    viewers[0].disconnect()
    wait_for(presenter, "viewers", lambda m: m["count"] == 2)


def test_a_follower_may_read_but_only_for_itself(app, room):
    code, _, presenter = room
    presenter.emit("step")
    a, b = join(app, code), join(app, code)
    a.get_received(), b.get_received()
    presenter.get_received()
    a.emit("resync")
    assert dict(view(a))["snapshot"]["seq"] == 1
    a.emit("export")
    assert msgs(a, "exported")[0][1]["event"] == 1
    assert view(b) == [] and view(presenter) == []


def test_a_presenters_bad_message_gets_an_error_and_the_room_goes_on(app, room):
    code, _, presenter = room
    viewer = join(app, code)
    viewer.get_received()
    presenter.emit("jump", {"event": "banana"})
    assert msgs(presenter, "error")[0][1]["code"] == "bad_message"
    presenter.emit("step")
    assert view(viewer)[0][1]["seq"] == 1


# -- audience members never change the room --------------------------------------------------

def hostile_payloads(code, key, other_key):
    return [None, "garbage", {"key": "0" * 32}, {"key": other_key, "room": code},
            {"key": key, "room": code}, {"name": BUNDLED, "event": 5, "key": key},
            {"event": 7}, {"label": "init: fork a"}, {"speed": 100}]


@pytest.mark.parametrize("name", CONTROL)
def test_no_control_message_from_the_audience_changes_the_room(app, room, name):
    code, key, presenter = room
    _, other_key, _ = start_room(app)                  # a key that is valid, for another room
    before = record(app, code)
    bystander = join(app, code)
    hostile = [join(app, code), join(app, code, "presenter", key="guessed-key-123"),
               join(app, code, "presenter", key=other_key)]
    for h in hostile:
        h.get_received()
    bystander.get_received()
    presenter.get_received()
    for h in hostile:
        for payload in hostile_payloads(code, key, other_key):
            h.emit(name, payload) if payload is not None else h.emit(name)
            errors = msgs(h)
            assert [(n, m["code"]) for n, m in errors] == [("error", "not_presenter")], (payload, errors)
    after = record(app, code)
    assert {k: v for k, v in after.items() if k != "seen"} == \
           {k: v for k, v in before.items() if k != "seen"}
    assert view(bystander) == [] and view(presenter) == []
    presenter.emit("step")                             # the presenter still drives
    assert view(bystander)[0][1]["seq"] == 1


@pytest.mark.parametrize("key", ["", "x" * 5000, 12345, None, ["a"], {"k": "v"}, "guess"])
def test_a_handshake_without_the_key_is_a_viewer(app, room, key):
    code, _, _ = room
    c = join(app, code, "presenter", key=key)
    got = msgs(c)
    lecture = dict(got)["lecture"]
    assert lecture["role"] == "viewer"
    assert ("error", "not_presenter") in [(n, m.get("code")) for n, m in got if n == "error"]
    c.emit("step")
    assert msgs(c)[0][1]["code"] == "not_presenter"


def test_another_rooms_key_does_not_open_this_one(app, room):
    code, _, _ = room
    _, other_key, other_http = start_room(app)
    c = join(app, code, "presenter", http=other_http)  # its cookie is for the other room
    assert dict(msgs(c))["lecture"]["role"] == "viewer"
    c2 = join(app, code, "presenter", key=other_key)
    assert dict(msgs(c2))["lecture"]["role"] == "viewer"


def test_the_presenter_key_in_a_message_gives_nothing(app, room):
    code, key, presenter = room
    viewer = join(app, code)
    viewer.get_received()
    viewer.emit("end", {"key": key})
    assert msgs(viewer)[0][1]["code"] == "not_presenter"
    assert record(app, code)["ended"] is None


# -- scale: followers are not sessions -----------------------------------------------------------

def test_followers_do_not_count_against_the_session_cap(tmp_path):
    app = make_app(tmp_path, MAX_SESSIONS=1)
    code, _, http = start_room(app)
    presenter = join(app, code, "presenter", http)
    viewers = [join(app, code) for _ in range(6)]
    assert len(app.extensions["ptree.sessions"]) == 0
    explorer = socketio.test_client(app)
    assert explorer.is_connected()
    assert not socketio.test_client(app).is_connected()    # the cap, for private sessions
    viewers[0].get_received()
    viewers[0].emit("detach")                                # none left for a private copy
    err = msgs(viewers[0], "error")[0][1]
    assert err["code"] == "busy" and "keep following" in err["message"]
    presenter.emit("step")
    assert view(viewers[0])[0][1]["seq"] == 1               # it still follows
    explorer.disconnect()


def test_the_viewer_cap_refuses_the_next_viewer_with_a_message(tmp_path):
    app = make_app(tmp_path, MAX_VIEWERS=2)
    code, _, http = start_room(app)
    join(app, code, "presenter", http)
    a, _ = join(app, code), join(app, code)
    third = socketio.test_client(app, auth={"lecture": code, "role": "viewer"})
    assert not third.is_connected()
    a.disconnect()
    assert join(app, code).is_connected()                    # a place freed


def test_the_room_cap_answers_with_a_page(tmp_path):
    app = make_app(tmp_path, MAX_ROOMS=1)
    start_room(app)
    answer = app.test_client().get(f"/present?scenario={BUNDLED}")
    assert answer.status_code == 503
    assert "maximum of 1 lectures" in answer.get_data(as_text=True)


# -- exploring alone, coming back, the end -------------------------------------------------------

def test_explore_on_my_own_and_back_to_the_lecture(app, room, timeline):
    code, _, presenter = room
    for _ in range(3):
        presenter.emit("step")
    viewer = join(app, code)
    viewer.get_received()
    viewer.emit("detach")
    got = msgs(viewer)
    assert got[0] == ("lecture", got[0][1]) and got[0][1]["following"] is False
    snap = dict(got)["snapshot"]
    assert snap["seq"] == 3 and "room" not in snap          # a private session's own
    viewer.emit("step")
    viewer.emit("step")
    mine = view(viewer)
    assert [m["seq"] for _, m in mine] == [4, 5] and all("room" not in m for _, m in mine)
    assert record(app, code)["pos"] == 3                    # the room did not move
    presenter.emit("back")
    assert view(viewer) == []                               # not following: nothing arrives
    viewer.emit("follow")
    got = msgs(viewer)
    assert got[0][0] == "lecture" and got[0][1]["following"] is True
    snap = dict(got)["snapshot"]
    assert snap["seq"] == 2 and snap["room"] == code and snap["doc"] == timeline.doc_at(2)
    presenter.emit("step")
    assert view(viewer)[0][1]["seq"] == 3


def test_ending_the_lecture_leaves_everyone_a_copy(app, room):
    code, _, presenter = room
    for _ in range(4):
        presenter.emit("step")
    viewer = join(app, code)
    viewer.get_received()
    presenter.get_received()
    presenter.emit("end")
    ended = dict(msgs(viewer))["lecture_ended"]
    assert ended["reason"] == "ended" and ended["event"] == 4
    assert dict(msgs(presenter))["lecture_ended"]["event"] == 4
    presenter.emit("step")
    assert msgs(presenter, "error")[0][1]["code"] == "lecture_ended"
    presenter.emit("resync")                                # reading still works
    assert dict(view(presenter))["snapshot"]["seq"] == 4
    viewer.emit("detach")                                   # what the page does on lecture_ended
    snap = dict(view(viewer))["snapshot"]
    assert snap["seq"] == 4 and "room" not in snap
    viewer.emit("step")
    assert view(viewer)[0][1]["seq"] == 5
    viewer.emit("follow")
    assert msgs(viewer, "error")[0][1]["code"] == "lecture_ended"
    late = join(app, code)                                  # a late joiner is told too
    got = dict(msgs(late))
    assert got["snapshot"]["seq"] == 4 and got["lecture_ended"]["reason"] == "ended"


def test_a_room_without_its_presenter_for_two_hours_expires(app, room):
    code, _, presenter = room
    hall = app.extensions["ptree.hall"]
    viewer = join(app, code)
    start = time.time()
    hall.store.clock = lambda: start + ROOM_IDLE_SECONDS * 0.75
    hall.beat()                                   # the presenter is here: the room lives on
    presenter.disconnect()                        # the presenter leaves; the clock starts
    hall.store.clock = lambda: start + ROOM_IDLE_SECONDS * 1.5
    assert record(app, code) is not None
    hall.store.clock = lambda: start + ROOM_IDLE_SECONDS * 1.75 + 1
    viewer.get_received()
    hall.beat()
    assert record(app, code) is None
    assert dict(msgs(viewer))["lecture_ended"]["reason"] == "expired"
    assert app.test_client().get(f"/live/{code}").status_code == 404


# -- nothing lost -------------------------------------------------------------------------------

def test_a_restarted_server_finds_its_rooms_where_they_were(tmp_path, timeline):
    first = make_app(tmp_path)
    code, key, http = start_room(first)
    presenter = join(first, code, "presenter", http)
    presenter.emit("open", {"name": BUNDLED, "mode": "choice"})
    labels = []
    for _ in range(3):
        actions = [m for n, m in view(presenter) if n in ("snapshot", "diff")][-1]["choice"]["actions"]
        labels.append(actions[0]["label"])
        presenter.emit("choose", {"label": labels[-1]})
    pos = record(first, code)["pos"]
    second = make_app(tmp_path)                          # the same store, a fresh process
    again = join(second, code, "presenter", key=key)
    snap = dict(view(again))["snapshot"]
    assert (snap["seq"], snap["mode"], snap["choice"]["trace"]) == (pos, "choice", labels)
    viewer = join(second, code)
    viewer.get_received()
    again.emit("back")
    assert view(viewer)[0][1]["seq"] == pos - 1


@pytest.mark.parametrize("resume", [{"name": "no-such-scenario"}, {"text": "steps: [oops"},
                                    {"event": "x", "name": BUNDLED}])
def test_a_detach_that_cannot_open_keeps_following(app, room, resume):
    code, _, presenter = room
    viewer = join(app, code)
    viewer.get_received()
    viewer.emit("detach", {"resume": resume})
    got = msgs(viewer)
    assert {"error", "scenario_error"} & {n for n, _ in got}
    assert [m["following"] for n, m in got if n == "lecture"][-1] is True
    presenter.emit("step")
    assert view(viewer)[-1][1]["seq"] == 1                  # it still follows
    assert len(app.extensions["ptree.sessions"]) == 0
