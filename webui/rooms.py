"""Lecture rooms: one presenter drives a run, every member of the room follows it.

A room is a record in the shared store (webui/store.py):

    {code, key_hash, created, active, ended, rev, run_id,
     source: {name} | {text: SHA, label}, mode, choices: SHA | null,
     pos, speed, playing, play_token, play_until}

`pos` is the room's position; `rev` bumps on every change.  The presenter's key is never
stored, only its SHA-256 (the key is 192 random bits, so a plain hash is enough; compared
with hmac.compare_digest).  Audience members are *subscribers*: a Socket.IO room
`lecture:CODE` per room, no session of their own, so 500 viewers cost one run (the
library's shared Timeline) and one position.

Each server process has one `Hall`: the lecture connections it holds (presenters and
viewers, by sid) and, per room, a lock and the choice-mode run it rebuilt from the record.
Everything a presenter does goes through `Hall.act`: load the record, build a
`RoomSession` that looks like an explorer Session to the handlers in events.py, run the
handler, compare-and-set the record, and only then broadcast what the handler emitted, each
message stamped with {room, rev}.  A process that did not see the change (another server
behind the load balancer) reads the record when one of its viewers joins or resyncs, and
gets the diffs themselves through the message queue.
"""

import functools
import hashlib
import hmac
import json
import logging
import re
import secrets
import threading
import time

from ptree.engine.scenario import ScenarioError

from .library import EDITOR_FILENAME, choice_run

log = logging.getLogger(__name__)

MAX_ROOMS = 50              # lectures open at once (in the store all processes share)
MAX_VIEWERS = 1000          # audience members following one lecture (over all processes)
ROOM_IDLE_SECONDS = 2 * 60 * 60    # a room with no presenter for this long expires
BASE_RECHECK = 5.0          # seconds a room trusts its scenario file without a new look
HEARTBEAT_SECONDS = 10      # a process renews its presenters' rooms and its counts this often
# Room codes are read aloud and typed on phones: lower-case letters and digits without the
# ones people confuse (0/o, 1/l/i), four of them: 31**4 (about 920,000) codes.
CODE_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
CODE_LENGTH = 4
CODE_RE = re.compile(r"^[a-z0-9]{1,16}$")
COOKIE_PREFIX = "ptree_present_"
MAX_KEY = 200               # characters of a presenter key anyone may send


class RoomError(Exception):
    """A room that cannot be made or acted on; `code` is the protocol's error code."""

    def __init__(self, message, code):
        super().__init__(message)
        self.code = code


def hash_key(key):
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def key_matches(key, record):
    """Whether `key` is the presenter key of `record`: in constant time, never an error."""
    if not isinstance(key, str) or not key or len(key) > MAX_KEY or record is None:
        return False
    return hmac.compare_digest(hash_key(key), record.get("key_hash", ""))


def new_code():
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normal_code(code):
    """A room code as typed (any case, spaces) in the form rooms use, or None."""
    if not isinstance(code, str):
        return None
    code = code.strip().lower().replace(" ", "").replace("-", "")
    return code if CODE_RE.match(code) else None


def sha(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def source_of(run):
    """(source, blobs) of a run for a record: {name} for a library scenario, or
    {text: SHA, label} for editor text, whose text goes into blobs."""
    if run.filename == EDITOR_FILENAME:
        digest = sha(run.text)
        return {"text": digest, "label": run.name or ""}, {digest: run.text}
    return {"name": run.name}, {}


def path_of(run):
    """(sha, blobs) of a choice-mode run's path, or (None, {}) in auto mode."""
    if run.mode != "choice":
        return None, {}
    text = json.dumps(list(run.trace))
    digest = sha(text)
    return digest, {digest: text}


class Member:
    """One lecture connection (a browser tab) on this process."""

    def __init__(self, sid, code, role):
        self.sid = sid
        self.code = code
        self.role = role           # 'presenter' or 'viewer'
        self.alone = False         # exploring on its own (a private session), not following
        self.counted = False       # counted among the room's viewers
        self.exploring = False     # an `explore` search of this presenter tab is running


class LocalRoom:
    """What this process keeps for one room: a lock (one change at a time here; other
    processes are kept out by the store's compare-and-set) and the choice-mode run it last
    built, so the next change does not replay the path from the start."""

    def __init__(self, code):
        self.code = code
        self.lock = threading.RLock()
        self.choice = None         # ChoiceRun of the room in choice mode
        self.choice_key = None     # (source, id of the base Run) it was built from
        self.choice_sha = None     # the path (blob sha) it holds
        self.texts = {}            # sha -> editor text, the one the room shows
        self.base = None           # (source key, Run, when looked up): see Hall._base
        self.count_pending = False


class RoomSession:
    """A room as the explorer's handlers see a Session: run, run_id, pos, playing, speed,
    stop_playing().  What the handlers emit to the page goes to `outbox`, broadcast to the
    room once the change is stored (or, for a viewer's read-only request, to that viewer)."""

    def __init__(self, hall, record, run, member=None, now=None):
        self.owner = hall
        self.record = record
        self.code = record["code"]
        self.rev = record["rev"]
        self.run = run
        self.run_id = record["run_id"]
        self.pos = min(max(record["pos"], 0), run.timeline.total)
        self.speed = record["speed"]
        now = time.time() if now is None else now
        self.playing = bool(record.get("playing")) and (record.get("play_until") or 0) > now
        self.play_token = record.get("play_token") if self.playing else None
        self.play_until = record.get("play_until") if self.playing else None
        self.play_gen = 0
        self.member = member
        self.sid = member.sid if member else None
        self.lock = _NO_LOCK
        self.outbox = []
        self.after = []            # run after a successful commit (start a play task)
        self.ended = record.get("ended")
        self.cancel = False        # a play tick that found nothing to do: store nothing

    @property
    def total(self):
        return self.run.timeline.total

    @property
    def exploring(self):
        return bool(self.member and self.member.exploring)

    @exploring.setter
    def exploring(self, value):
        if self.member:
            self.member.exploring = value

    def stop_playing(self):
        self.playing = False
        self.play_token = None
        self.play_until = None

    def start_play(self):
        """Called by `play`: a new play token (any older task stops at its next tick) and,
        once stored, a task on this process that advances the room."""
        self.play_token = secrets.token_hex(8)
        self.play_until = time.time() + play_lease(self.speed)
        token = self.play_token
        self.after.append(lambda: self.owner.spawn_play(self.code, token))


class _NoLock:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


_NO_LOCK = _NoLock()


def play_lease(speed):
    """How long a play task's last tick keeps the room 'playing': a task on a process that
    died stops counting after this, so the room shows as paused."""
    return max(5.0, 3.0 / speed)


def _tick(token, forward, status, s):
    """One tick of a room's play task on session s; True when the task is done."""
    if not s.playing or s.play_token != token:
        s.cancel = True                  # paused, stepped, or playing from another task
        return True
    if s.pos >= s.total:
        s.stop_playing()
        s.outbox.append(("status", status(s)))
        return True
    s.play_until = time.time() + play_lease(s.speed)
    s.outbox.append(("diff", forward(s)))
    return False


class Hall:
    """This process's lecture connections and its view of the rooms (see the module doc)."""

    def __init__(self, store, library, socketio, max_rooms=MAX_ROOMS, max_viewers=MAX_VIEWERS,
                 idle_seconds=ROOM_IDLE_SECONDS):
        self.store = store
        self._library = library          # a callable: the app's scenario library
        self.socketio = socketio
        self.max_rooms = max_rooms
        self.max_viewers = max_viewers
        self.idle_seconds = idle_seconds
        self.host = secrets.token_hex(8)
        self.members = {}                # sid -> Member
        self.rooms = {}                  # code -> LocalRoom
        self._lock = threading.Lock()
        self._beating = False

    # -- rooms -------------------------------------------------------------------------------

    def create(self, run, pos, now=None):
        """A new room showing `run` (a library/editor Run or a ChoiceRun) at `pos`.
        Returns (code, key).  RoomError 'room_limit' when MAX_ROOMS are open."""
        if self.store.count() >= self.max_rooms:
            raise RoomError(f"ptree is hosting its maximum of {self.max_rooms} lectures; "
                            "end one (or wait until one expires) and try again", "room_limit")
        now = time.time() if now is None else now
        key = secrets.token_urlsafe(24)
        source, blobs = source_of(run)
        path_sha, path_blobs = path_of(run)
        record = {"code": None, "key_hash": hash_key(key), "created": now, "active": now,
                  "ended": None, "rev": 1, "run_id": 1, "source": source, "mode": run.mode,
                  "choices": path_sha, "pos": min(max(pos, 0), run.timeline.total),
                  "speed": 2.0, "playing": False, "play_token": None, "play_until": None}
        for _ in range(50):
            code = new_code()
            record["code"] = code
            if self.store.create(code, record, {**blobs, **path_blobs}):
                room = self._room(code)
                if run.mode == "choice":
                    room.choice, room.choice_sha = run, path_sha
                    room.choice_key = self._choice_key(source, code, room)
                return code, key
        raise RoomError("could not find a free room code", "room_limit")  # pragma: no cover

    def load(self, code):
        return self.store.load(code)

    def _room(self, code):
        with self._lock:
            room = self.rooms.get(code)
            if room is None:
                room = self.rooms[code] = LocalRoom(code)
            return room

    def _text(self, room, digest):
        text = room.texts.get(digest)
        if text is None:
            text = self.store.blob(room.code, digest)
            if text is None:
                raise RoomError("this lecture's scenario text is missing from the store",
                                "internal")
            room.texts = {digest: text}
        return text

    def _base(self, room, source):
        """The library (or editor-text) Run a record's source names.  Looked up again
        (the library notices an edited file) at most every BASE_RECHECK seconds: a step
        should not cost a directory listing."""
        key = json.dumps(source, sort_keys=True)
        now = time.monotonic()
        if room.base is not None and room.base[0] == key and now - room.base[2] < BASE_RECHECK:
            return room.base[1]
        run = self._lookup(room, source)
        room.base = (key, run, now)
        return run

    def _lookup(self, room, source):
        try:
            if "name" in source:
                return self._library().open_name(source["name"])
            return self._library().open_text(self._text(room, source["text"]),
                                             source.get("label", ""))
        except KeyError:
            raise RoomError(f"this lecture's scenario {source.get('name')!r} is no longer "
                            "in the library", "not_found") from None
        except ScenarioError as e:
            raise RoomError(f"this lecture's scenario no longer runs: {e}",
                            "internal") from None

    def _choice_key(self, source, code, room):
        return (json.dumps(source, sort_keys=True), id(self._base(room, source)))

    def run_of(self, room, record):
        """The Run a record shows: the library's shared Run in auto mode; in choice mode
        this process's ChoiceRun of the room, brought to the record's path."""
        source = record["source"]
        base = self._base(room, source)
        if record["mode"] != "choice":
            return base
        key = (json.dumps(source, sort_keys=True), id(base))
        digest = record.get("choices")
        if room.choice is not None and room.choice_key == key and room.choice_sha == digest:
            return room.choice
        text = self.store.blob(room.code, digest) if digest else "[]"
        trace = json.loads(text or "[]")
        if room.choice is not None and room.choice_key == key:
            room.choice.follow(trace)
        else:
            room.choice = choice_run(base, trace)
            room.choice_key = key
        room.choice_sha = digest
        return room.choice

    # -- acting on a room --------------------------------------------------------------------

    def act(self, code, fn, member=None, commit=True, retries=5):
        """Run fn(session) on the room's current state.  commit: store what changed
        (compare-and-set, retried on a conflict with another process) and broadcast what fn
        emitted; otherwise (a viewer's read-only request) send it to that viewer only.
        Returns fn's result.  RoomError 'no_room' when the room is gone, 'lecture_ended'
        when a change is asked of an ended lecture."""
        room = self._room(code)
        with room.lock:
            for _ in range(retries):
                record = self.store.load(code)
                if record is None:
                    raise RoomError(f"there is no lecture {code} any more: it ended or "
                                    "expired", "no_room")
                if commit and record.get("ended"):
                    raise RoomError(f"lecture {code} has ended", "lecture_ended")
                session = RoomSession(self, record, self.run_of(room, record), member)
                result = fn(session)
                if not commit:
                    self._deliver(session, session.rev, to=member.sid if member else None)
                    return result
                if session.cancel:
                    return result
                stored = self._commit(room, record, session)
                if stored is not None:
                    self._deliver(session, stored)
                    for action in session.after:
                        action()
                    return result
                # Another process changed the room meanwhile: reload and run fn again.
                room.choice_sha = None
            raise RoomError("the lecture changed too often to apply this; try again", "busy")

    def _commit(self, room, record, s):
        """Store the session's state as the record's next rev; the new rev, or None on a
        conflict.  A change that stores nothing new and emits nothing is not written."""
        source, blobs = source_of(s.run)
        path_sha, path_blobs = path_of(s.run)
        new = {k: v for k, v in record.items() if k != "seen"}
        new.update(source=source, mode=s.run.mode, choices=path_sha, pos=s.pos,
                   run_id=s.run_id, speed=s.speed, playing=s.playing,
                   play_token=s.play_token, play_until=s.play_until)
        if s.ended and not record.get("ended"):
            new["ended"] = s.ended
        old = {k: v for k, v in record.items() if k != "seen"}
        if new == old and not s.outbox:
            return record["rev"]
        new["rev"] = record["rev"] + 1
        new["active"] = time.time()
        fresh = {d: t for d, t in {**blobs, **path_blobs}.items()
                 if d not in (record["source"].get("text"), record.get("choices"))}
        if not self.store.save(room.code, new, record["rev"], fresh):
            return None
        if s.run.mode == "choice":
            room.choice, room.choice_sha = s.run, path_sha
            room.choice_key = (json.dumps(source, sort_keys=True), id(self._base(room, source)))
        if "text" in source:
            room.texts = {source["text"]: s.run.text}
        return new["rev"]

    def _deliver(self, session, rev, to=None):
        """Send the session's outbox, each message stamped {room, rev}: to the room (both
        the presenters and every follower, on every process) or to one sid."""
        target = to or f"lecture:{session.code}"
        for name, msg in session.outbox:
            self.socketio.emit(name, {**msg, "room": session.code, "rev": rev}, to=target)
        session.outbox = []

    def private(self, session, name, msg):
        """A message to the acting tab only (a presenter's resync), stamped like the rest."""
        self.socketio.emit(name, {**msg, "room": session.code, "rev": session.rev},
                           to=session.sid)

    # -- play --------------------------------------------------------------------------------

    def spawn_play(self, code, token):
        self.socketio.start_background_task(self._play, code, token)

    def _play(self, code, token):
        """A background task: one forward diff per tick while the room's play token is
        still `token` (pause, a step, or play on another process change it)."""
        from .events import forward, status  # the explorer's own messages
        while True:
            record = self.store.load(code)
            if record is None or record.get("play_token") != token or record.get("ended"):
                return
            self.socketio.sleep(1.0 / record["speed"])
            try:
                if self.act(code, functools.partial(_tick, token, forward, status)):
                    return
            except RoomError:
                return
            except Exception:  # a failing tick ends this task, never the server
                log.exception("play task of lecture %s failed", code)
                return

    # -- members -----------------------------------------------------------------------------

    def get(self, sid):
        """The lecture member for sid (or None): also what `_explore` asks when its search
        is done, to clear the presenter tab's `exploring`."""
        return self.members.get(sid)

    def add(self, member):
        with self._lock:
            self.members[member.sid] = member
        self._room(member.code)
        if not self._beating:
            self._beating = True
            self.socketio.start_background_task(self._heartbeat)

    def remove(self, sid):
        with self._lock:
            return self.members.pop(sid, None)

    def count(self, member, delta):
        """Count a viewer in (delta 1) or out (-1) of its room; returns the room's total."""
        if delta > 0 and member.counted or delta < 0 and not member.counted:
            return self.store.viewers(member.code)
        member.counted = delta > 0
        total = self.store.viewers_add(member.code, self.host, delta)
        self.tell_count(member.code)
        return total

    def tell_count(self, code, delay=0.25):
        """Send the room's presenters its viewer count soon: at most one message per room
        per `delay` from this process, however many join at once."""
        room = self._room(code)
        if room.count_pending:
            return
        room.count_pending = True

        def later():
            self.socketio.sleep(delay)
            room.count_pending = False
            self.socketio.emit("viewers", {"room": code, "count": self.store.viewers(code)},
                               to=f"present:{code}")
        self.socketio.start_background_task(later)

    def _heartbeat(self):
        """While this process holds lecture connections: renew its viewer counts, keep its
        presenters' rooms alive, expire idle rooms, and tell the members of a room that
        expired (or was ended elsewhere and then removed) that it is gone."""
        while True:
            self.socketio.sleep(HEARTBEAT_SECONDS)
            with self._lock:
                members = list(self.members.values())
                if not members:
                    self._beating = False
                    return
            try:
                self.beat(members)
            except Exception:
                log.exception("lecture heartbeat failed")

    def beat(self, members=None):
        members = list(self.members.values()) if members is None else members
        self.store.heartbeat(self.host)
        self.store.sweep()
        presenting = {m.code for m in members if m.role == "presenter" and not m.alone}
        for code in {m.code for m in members}:
            record = self.store.load(code)
            if record is None:
                self.socketio.emit("lecture_ended", {"room": code, "reason": "expired"},
                                   to=f"lecture:{code}")
            elif code in presenting and not record.get("ended"):
                self.store.touch(code)
        # Forget what this process built for rooms it no longer serves (rebuilt on demand).
        with self._lock:
            held = {m.code for m in self.members.values()}
            for code in [c for c in self.rooms if c not in held]:
                del self.rooms[code]
