"""Socket.IO handlers: the explorer's protocol (docs/protocol.md), one handler per message.

Every handler runs for one tab (request.sid) against that tab's session.  A message that is
malformed or unknown, or a handler that fails, answers the sender with an `error` event
{code, message, event}; the connection, the server and every other session go on.
"""

import bisect
import contextlib
import functools
import gc
import hashlib
import logging
import math
import re
import threading
import time

from flask import current_app, request
from flask_socketio import ConnectionRefusedError, emit
from ptree.engine.errors import EngineError
from ptree.engine.explore import explore
from ptree.engine.scenario import ScenarioError, check_text

from . import library
from .app import socketio
from .library import (
    EDITOR_FILENAME,
    MAX_CHOICES,
    choice_run,
    cite_table,
    inline,
    interactive_base,
    with_cite,
)
from .rooms import RoomError, RoomSession
from .sessions import SessionLimitError
from .store import DRAFT_SECONDS
from .strace import looks_like_strace, parse_text
from .trace import convert as convert_strace

log = logging.getLogger(__name__)

PROTOCOL_VERSION = 1
MIN_SPEED, MAX_SPEED = 0.25, 200.0   # events per second while playing
SETTLE_WAIT = 5.0      # seconds a play tick waits at most for the page's `settled`
SETTLE_POLL = 0.01     # how often it looks
MAX_TEXT = 1_000_000                 # characters of scenario text from the editor
MAX_LABEL = 1_000                    # characters of one choice-mode action label
MAX_DRAFT = 1_000_000                # bytes (UTF-8) of editor text kept as a draft
DRAFT_ID = re.compile(r"^[0-9a-f]{16}$")
DRAFT_DAYS = DRAFT_SECONDS // 86_400
EXPLORE_STATES = 10_000              # explore's default bound on distinct states
MAX_EXPLORE_STATES = 50_000          # and the most a page may ask for
MAX_EXPLORES = 2                     # explorations running at once, server-wide
_explores = threading.BoundedSemaphore(MAX_EXPLORES)
_searches = {}                       # sid -> its running Search
PROGRESS_SECONDS = 0.25              # at most 4 progress messages a second per search


class ProtocolError(Exception):
    """A message the protocol does not allow; its text is sent back in an `error` event."""

    def __init__(self, message, code="bad_message"):
        super().__init__(message)
        self.code = code


# -- helpers ---------------------------------------------------------------------------

def _library():
    return current_app.extensions["ptree.library"]


def _registry():
    return current_app.extensions["ptree.sessions"]


def _hall():
    return current_app.extensions["ptree.hall"]


def _send(session, name, msg, private=False):
    """Emit a snapshot, diff or status for `session`: to its tab, or for a lecture room
    (a RoomSession) to everyone in the room once the change is stored (private: only to
    the tab that asked, as a presenter's resync)."""
    if isinstance(session, RoomSession):
        if private:
            session.owner.private(session, name, msg)
        else:
            session.outbox.append((name, msg))
    else:
        emit(name, msg)


def _error(code, message, event=None):
    emit("error", {"code": code, "message": message, "event": event})


def _mapping(args, name):
    """The message's single payload as a dict ({} when none was sent)."""
    if len(args) > 1:
        raise ProtocolError(f"'{name}' takes one argument, a mapping; got {len(args)}")
    data = args[0] if args else None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ProtocolError(f"'{name}' takes a mapping, got {type(data).__name__}")
    return data


def _int(data, key, default=None):
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProtocolError(f"'{key}' must be an integer, got {value!r}")
    return value


def _speed(data, default):
    value = data.get("speed", default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ProtocolError(f"'speed' must be a number of events per second, got {value!r}")
    return min(MAX_SPEED, max(MIN_SPEED, float(value)))


def _require_run(session):
    if session.run is None:
        raise ProtocolError("no scenario is open: send 'open' first", code="no_scenario")


def _labels(data):
    """The optional `choices` of an `open`: a list of action labels, or None."""
    labels = data.get("choices")
    if labels is None:
        return None
    if (not isinstance(labels, list) or len(labels) > MAX_CHOICES
            or not all(isinstance(x, str) and len(x) <= MAX_LABEL for x in labels)):
        raise ProtocolError(f"'choices' must be a list of at most {MAX_CHOICES} action labels")
    return labels


def _handler(name):
    """Register fn(session, data) for message `name`, with the protocol's error handling.

    The wrapper finds the tab's session (recreating an expired one and telling the page, which
    then reopens where it was), checks the payload is a mapping, serialises the session
    against its play task, and turns a ProtocolError into an `error` event.
    """
    def decorate(fn):
        @functools.wraps(fn)
        def wrapped(*args):
            member = _hall().get(request.sid)
            if member is not None and not member.alone:
                return _in_room(member, name, fn, args)
            session = _registry().get(request.sid)
            if session is None:
                try:
                    _registry().create(request.sid)
                except SessionLimitError as e:
                    return _error("busy", str(e), name)
                minutes = _registry().idle_seconds // 60
                return _error("expired", f"this tab's session expired after {minutes} minutes "
                              "idle; reopening it", name)
            try:
                data = _mapping(args, name)
                with session.lock:
                    fn(session, data)
            except ProtocolError as e:
                _error(e.code, str(e), name)
        socketio.on(name)(wrapped)
        return wrapped
    return decorate


def _open_text(text, label, compute=inline):
    """The Run of editor text.  Text that reads as strace output (a log pasted into the
    editor or dropped on the page) is converted here, as `ptree import-strace` does, and
    the scenario it makes is opened (and shown in the editor); a log that cannot be read
    is a scenario_error at its line.  check_text first: a JSON string can carry a lone
    surrogate, which neither the converter nor the library's hash of the text can encode;
    it is bad input at its line, like any other."""
    check_text(text, EDITOR_FILENAME)
    if looks_like_strace(text):
        text = _strace_scenario(text)
    return _library().open_text(text, label, compute=compute)


@functools.lru_cache(maxsize=8)
def _strace_scenario(log):
    """Scenario text of an strace log from the page (the same log reopened after a
    reconnect is converted once)."""
    records = parse_text(log, "<editor>")
    text, _ = convert_strace(records, filename="<editor>",
                             origin="Opened in the explorer from strace output.")
    return text
READ_ONLY = {"resync", "list", "export"}   # what a follower may ask of the room it follows


def _in_room(member, name, fn, args):
    """A message from a lecture tab that follows its room (webui/rooms.py).  The presenter's
    acts on the room: stored, then broadcast to every member.  Anyone else may only read
    (READ_ONLY, answered to that tab alone): any other message gets `not_presenter`,
    whatever it carries, before its payload is even looked at."""
    try:
        if member.role != "presenter" and name not in READ_ONLY:
            raise ProtocolError(f"only the presenter can change lecture {member.code}; "
                                "press 'Explore on my own' to try things yourself",
                                code="not_presenter")
        data = _mapping(args, name)
        _hall().act(member.code, lambda session: fn(session, data), member=member,
                    commit=member.role == "presenter" and name not in READ_ONLY)
    except (ProtocolError, RoomError) as e:
        _error(e.code, str(e), name)


# -- messages the server sends -----------------------------------------------------------

def snapshot(session, full, paged=False):
    """The whole state at the session's position.  full adds the scenario and event log
    (on open and resync; jump and reset reuse the log the page already has).  paged: a
    log longer than LOG_PAGE entries carries only its first page and `log_total`; the
    caller sends the rest (_send_log_pages)."""
    run, pos = session.run, session.pos
    msg = {"run": session.run_id, "seq": pos, "total": run.timeline.total,
           "doc": run.timeline.doc_at(pos), "edges": run.annotations.edges_at(pos),
           "xstat_text": run.annotations.xstat_at(pos),
           "playing": session.playing, "speed": session.speed, "full": full,
           "mode": run.mode, "choice": run.choice_info(pos)}
    if full:
        if run.mode != "auto":           # a session's own choice run: short, sent as it is
            events, cites = run.log, cite_table(run.log)
        elif paged and len(run.log_pages()) > 1:
            events, cites = run.log_pages()[0], run.cites_json()
            msg["log_total"] = len(run.log)
        else:                            # shared and read-only: its log encoded once
            events, cites = run.encoded_log()
        msg.update(scenario={**run.meta(), "draft": getattr(session, "draft", None)},
                   events=events, cites=cites, error=run.error(),
                   expects=run.expectations() if run.mode == "auto" else [])
    return msg


def _send_full(session, private=False):
    """A full snapshot for `session`: a tab's own gets a long log in pages (the snapshot
    with the first, then `log_chunk` messages from a background task); a lecture room's
    is one message with the whole log, as every member of the room reads it."""
    if isinstance(session, RoomSession):
        _send(session, "snapshot", snapshot(session, full=True), private=private)
        return
    msg = snapshot(session, full=True, paged=True)
    emit("snapshot", msg)
    if "log_total" in msg:
        socketio.start_background_task(_send_log_pages, _registry(), request.sid,
                                       session.run, session.run_id)


def forward(session):
    """Apply the next event: the `diff` message {seq, from, dir, event, ops, edges,
    xstat_text}."""
    run, i = session.run, session.pos
    session.pos = i + 1
    return {"run": session.run_id, "seq": i + 1, "from": i, "dir": "forward",
            "total": run.timeline.total, "event": with_cite(run.log[i]),
            "ops": run.timeline.events[i]["ops"],
            "edges": run.annotations.edges_changed(i + 1, i + 1),
            "xstat_text": run.annotations.xstat_changed(i + 1, i + 1),
            "playing": session.playing, "choice": run.choice_info(i + 1)}


def backward(session):
    """Undo the current event with its inverse ops: a `diff` with dir 'back'."""
    run, i = session.run, session.pos
    session.pos = i - 1
    return {"run": session.run_id, "seq": i - 1, "from": i, "dir": "back",
            "total": run.timeline.total, "event": with_cite(run.log[i - 1]),
            "ops": run.timeline.events[i - 1]["inverse"],
            "edges": run.annotations.edges_changed(i, i - 1),
            "xstat_text": run.annotations.xstat_changed(i, i - 1),
            "playing": session.playing, "choice": run.choice_info(i - 1)}


def status(session):
    return {"run": session.run_id, "seq": session.pos, "total": session.total,
            "playing": session.playing, "speed": session.speed}


# -- connection ----------------------------------------------------------------------------

def hello(**extra):
    return {"protocol": PROTOCOL_VERSION, "scenarios": _library().listing(),
            "max_sessions": _registry().max_sessions,
            "idle_seconds": _registry().idle_seconds,
            "async_mode": socketio.async_mode, **extra}


@socketio.on("connect")
def on_connect(auth=None):
    """Sent by Socket.IO when a tab connects.  Creates the tab's session and emits `hello`
    {protocol, scenarios, max_sessions, idle_seconds}; when MAX_SESSIONS are open the
    connection is refused with a message saying so (the page shows it).  A lecture page
    connects with auth {lecture: ROOM, role}: no session, see webui/lecture.py."""
    if isinstance(auth, dict) and "lecture" in auth:
        from .lecture import connect_member
        return connect_member(auth)
    try:
        _registry().create(request.sid)
    except SessionLimitError as e:
        raise ConnectionRefusedError(str(e)) from None
    emit("hello", hello())


@socketio.on("disconnect")
def on_disconnect(*args):
    """Sent by Socket.IO when a tab goes away.  Drops its session (and play task) or its
    place in a lecture; emits nothing (but a lecture's presenters get the new count)."""
    _registry().close(request.sid)
    from .lecture import disconnect_member
    disconnect_member(request.sid)


# -- the protocol ------------------------------------------------------------------------

@_handler("list")
def on_list(session, data):
    """Sent by the page to refresh the Scenario picker.  Emits `scenarios` [{name, title}]."""
    emit("scenarios", _library().listing())


@_handler("open")
def on_open(session, data):
    """Sent by the page to open a scenario: {name} from the library or {text} from the
    editor (plus an optional label `name`), and optionally {event: N} to start at event N.
    {mode: 'choice'} (or a `choices` list of action labels, the path to replay) opens it
    in choice mode, a run of this session's own.  Emits a full `snapshot`; for bad input
    `scenario_error` {filename, line, message, text}, and the session keeps the run it
    had; a path that stops early (a label that cannot run) also gets `error` 'bad_choice'."""
    text, name = data.get("text"), data.get("name")
    keep = data.get("keep", False)
    if "draft" in data:
        text, keep = _draft_text(data["draft"]), True
        name = name if isinstance(name, str) else "edited"
    event = _int(data, "event", 0)
    labels = _labels(data)
    mode = data.get("mode", "choice" if labels is not None else "auto")
    if mode not in ("auto", "choice"):
        raise ProtocolError(f"'mode' must be 'auto' or 'choice', got {mode!r}")
    if text is not None:
        if not isinstance(text, str) or len(text) > MAX_TEXT:
            raise ProtocolError(f"'text' must be a string of at most {MAX_TEXT} characters")
        label = name if isinstance(name, str) else ""
        opener = functools.partial(_open_text, text, label,
                                   compute=_computing(request.sid, label or "edited"))
    elif isinstance(name, str):
        opener = functools.partial(_library().open_name, name,
                                   compute=_computing(request.sid, name))
    else:
        raise ProtocolError("'open' needs {name: SCENARIO} or {text: YAML}")
    try:
        run = opener()
        if mode == "choice":
            run = choice_run(run, labels)
    except KeyError:
        raise ProtocolError(f"There is no scenario named “{name}” in this server's library "
                            "(the address may be mistyped).", code="not_found") from None
    except ScenarioError as e:
        # A bad library file is shown in the editor, so its author sees the line.
        src = _library().source(name) if text is None else None
        emit("scenario_error", {"filename": e.filename, "line": e.line, "message": e.message,
                                "text": str(e), "name": name if text is None else None,
                                "source": src})
        return
    session.stop_playing()
    session.run = run
    session.run_id += 1
    session.pos = min(max(event, 0), run.timeline.total)
    session.draft = _keep_draft(run.text) if keep is True and text is not None else None
    _send_full(session)
    if getattr(run, "replay_error", None):
        _error("bad_choice", run.replay_error, "open")


def draft_id(text):
    """The short id a draft is kept under: the text's SHA-256, first 64 bits."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _draft_text(draft):
    """The text an `open {draft: ID}` names (ProtocolError if none is kept)."""
    if not isinstance(draft, str) or not DRAFT_ID.match(draft):
        raise ProtocolError(f"'draft' must be a draft id (16 hex digits), got {draft!r}")
    text = _hall().store.draft(draft)
    if text is None:
        raise ProtocolError(f"no edited scenario is kept under draft {draft}: it is older than "
                            f"{DRAFT_DAYS} days, or the address was cut short",
                            code="not_found")
    return text


def _keep_draft(text):
    """Keep editor text in the store (webui/store.py) under its draft id, so a short
    address reopens it; None (and an `error` 'too_large') past MAX_DRAFT bytes."""
    size = len(text.encode("utf-8"))
    if size > MAX_DRAFT:
        _error("too_large", f"this scenario is {size:,} bytes; the server keeps edited text of "
               f"at most {MAX_DRAFT:,} bytes for an address, so a reload will not reopen it: "
               "use Export to save it as a file", "open")
        return None
    key = draft_id(text)
    _hall().store.put_draft(key, text)
    return key


@_handler("step")
def on_step(session, data):
    """Sent by the page's Step button or → key ({} or {by: "event"}: one kernel event), and
    by its Next command button or Shift+→ ({by: "command"}: every event of the next
    command, see command_bounds).  Emits one forward `diff` per event (a command's carry
    `by: "command"`, so the page can show each in turn), or `status` when already at the
    last event.  Stops playing."""
    _require_run(session)
    by = _step_size(data)
    session.stop_playing()
    if session.pos >= session.total:
        _send(session, "status", status(session))
        return
    if by == "event":
        _send(session, "diff", forward(session))
        return
    target = _next_bound(command_bounds(session.run), session.pos, session.total)
    while session.pos < target:
        _send(session, "diff", {**forward(session), "by": "command"})


@_handler("back")
def on_back(session, data):
    """Sent by the page's Back button or ← key ({} or {by: "event"}: undo one event), and
    by its Previous command button or Shift+← ({by: "command"}: back to where the current
    command began).  Emits one `diff` with dir 'back' per event undone, whose ops are its
    inverse (`by: "command"` on a command's), or `status` at event 0.  Stops playing."""
    _require_run(session)
    by = _step_size(data)
    session.stop_playing()
    if session.pos <= 0:
        _send(session, "status", status(session))
        return
    if by == "event":
        _send(session, "diff", backward(session))
        return
    target = _prev_bound(command_bounds(session.run), session.pos)
    while session.pos > target:
        _send(session, "diff", {**backward(session), "by": "command"})


STEP_SIZES = ("event", "command")


def _step_size(data):
    by = data.get("by", "event")
    if by not in STEP_SIZES:
        raise ProtocolError(f"'by' must be 'event' or 'command', got {by!r}")
    return by


def command_bounds(run):
    """The positions where a command's work is over, in order, 0 and the end included.

    A command is one scripted step of the file with all the kernel work it makes
    runnable (architecture.md "Scheduling"): it begins at the first event of a step
    whose index is higher than every step before it, so a blocked call that returns
    later (wait4 woken by an exit) belongs to the command that woke it, and kernel work
    (events with no step) to the command that made it runnable.  In choice mode a
    command is one chosen action: its bounds are the choice points (ChoiceRun.after).
    Auto-mode runs are shared and read-only, so their bounds are computed once."""
    after = getattr(run, "after", None)
    if after is not None:
        return after
    cached = getattr(run, "_command_bounds", None)
    if cached is None:
        cached, highest = [0], 0
        for ev in run.log:
            step = ev.get("step")
            if step is not None and step > highest:
                if highest:
                    cached.append(ev["seq"] - 1)
                highest = step
        cached.append(len(run.log))
        run._command_bounds = cached
    return cached


def _next_bound(bounds, pos, total):
    i = bisect.bisect_right(bounds, pos)
    return min(bounds[i], total) if i < len(bounds) else total


def _prev_bound(bounds, pos):
    i = bisect.bisect_left(bounds, pos)
    return bounds[i - 1] if i > 0 else 0


@_handler("jump")
def on_jump(session, data):
    """Sent by the page when an event log entry is clicked (or a URL names one): {event: N}.
    N is clamped to 0..M.  Emits a `snapshot` at N (without the log).  Stops playing."""
    _require_run(session)
    event = _int(data, "event")
    session.stop_playing()
    session.pos = min(max(event, 0), session.total)
    _send(session, "snapshot", snapshot(session, full=False))


@_handler("reset")
def on_reset(session, data):
    """Sent by the page's Reset button.  Emits a `snapshot` at event 0.  Stops playing."""
    _require_run(session)
    session.stop_playing()
    session.pos = 0
    _send(session, "snapshot", snapshot(session, full=False))


@_handler("choose")
def on_choose(session, data):
    """Sent by a choice-mode action button: {label}, one of the `choice.actions` of the
    current position.  The path's own next action moves on along it; any other drops the
    rest of the path and takes this one (a new branch).  Emits one forward `diff` per
    event the action makes, `new: true` on events the page's log does not have yet.
    A label that cannot run here, or choose outside choice mode, gets `error`
    'bad_choice' and changes nothing.  Stops playing."""
    _require_run(session)
    label = data.get("label")
    if not isinstance(label, str):
        raise ProtocolError(f"'label' must be an action label (a string), got {label!r}")
    run = session.run
    if run.mode != "choice":
        raise ProtocolError("'choose' needs choice mode: open the scenario with "
                            "{mode: 'choice'}", code="bad_choice")
    session.stop_playing()
    try:
        events, new = run.choose(session.pos, label)
    except (EngineError, ScenarioError) as e:
        raise ProtocolError(str(e), code="bad_choice") from None
    for ev in events:
        msg = forward(session)
        assert msg["event"]["seq"] == ev["seq"]
        _send(session, "diff", {**msg, "new": new})


@_handler("export")
def on_export(session, data):
    """Sent by the page's Export button.  Emits `exported` {run, event, mode, filename,
    text}: the session up to its current event as a scenario file (the scripted steps
    started so far, or in choice mode the actions taken, under `schedule: choice`).
    At event 0 nothing has run: `error` 'empty_export'."""
    _require_run(session)
    run, pos = session.run, session.pos
    if pos == 0:
        raise ProtocolError("nothing has run at event 0, so there is no step to export: "
                            "step forward first", code="empty_export")
    stem = run.name or "edited"
    stem = "".join(c if c.isalnum() or c in "-_." else "-" for c in stem).strip("-") or "edited"
    kind = "-choices" if run.mode == "choice" else ""
    emit("exported", {"run": session.run_id, "event": pos, "mode": run.mode,
                      "filename": f"{stem}{kind}-event-{pos}.yaml",
                      "text": run.export_text(pos)})


@_handler("explore")
def on_explore(session, data):
    """Sent by the page's Explore button: {max_states?} (1 to 50,000; default 10,000).
    Searches every interleaving of the open scenario (engine.explore) off the request
    thread, emitting `explore_progress` {run, states, transitions, depth, frontier,
    seconds, rate, max_states} at most every PROGRESS_SECONDS while it runs, then
    `explored` {run, title, states, transitions, complete, stopped, depth, max_states,
    terminal, seconds, violations: [{invariant, message, trace, text}]}.  One search per
    tab, MAX_EXPLORES at once: more get `error` 'explore_busy'."""
    _require_run(session)
    max_states = _int(data, "max_states", EXPLORE_STATES)
    if not 1 <= max_states <= MAX_EXPLORE_STATES:
        raise ProtocolError(f"'max_states' must be between 1 and {MAX_EXPLORE_STATES}")
    if session.exploring:
        raise ProtocolError("this tab is already exploring; wait for its result",
                            code="explore_busy")
    if not _explores.acquire(blocking=False):
        raise ProtocolError(f"the server is already running {MAX_EXPLORES} explorations; "
                            "try again when one has finished", code="explore_busy")
    session.exploring = True
    run = session.run
    owner = session.owner if isinstance(session, RoomSession) else _registry()
    search = _searches[request.sid] = Search(session.run_id, max_states)
    socketio.start_background_task(_explore, owner, request.sid, search,
                                   run.scenario, run.meta()["title"])
    socketio.start_background_task(_progress_task, request.sid, search, "explore_progress")


@_handler("explore_cancel")
def on_explore_cancel(session, data):
    """Sent by the page's Cancel button while its search runs.  The search stops at its
    next progress call (within PROGRESS_EVERY states) and `explored` comes with
    complete false and stopped 'cancelled', the states found so far.  Ignored when this
    tab has no search running."""
    search = _searches.get(request.sid)
    if search is not None:
        search.cancel = True


@_handler("play")
def on_play(session, data):
    """Sent by the page's Play button or space: {speed: events per second} (optional).
    Emits `status` (playing), then one forward `diff` per tick from a background task until
    the last event or a pause, then a final `status`."""
    _require_run(session)
    session.stop_playing()
    session.speed = _speed(data, session.speed)
    if session.pos >= session.total:
        _send(session, "status", status(session))
        return
    session.playing = True
    # {wait: true}: the page answers each diff with `settled` once its animation has ended,
    # and the next tick waits for that (a room's pages do not: the presenter's task ticks).
    session.play_wait = data.get("wait") is True and not isinstance(session, RoomSession)
    session.settled_seq = session.pos
    if isinstance(session, RoomSession):
        session.start_play()           # the room's play task starts once this is stored
    else:
        socketio.start_background_task(_play, _registry(), request.sid, session.play_gen)
    _send(session, "status", status(session))


@_handler("settled")
def on_settled(session, data):
    """Sent by a page playing with {wait: true} when it has drawn event {seq} and nothing
    in its tree moves any more: the play task may send the next diff.  Emits nothing."""
    session.settled_seq = _int(data, "seq", 0)


@_handler("pause")
def on_pause(session, data):
    """Sent by the page's Pause button or space while playing.  Emits `status`."""
    session.stop_playing()
    _send(session, "status", status(session))


@_handler("speed")
def on_speed(session, data):
    """Sent by the page's speed control: {speed}.  Takes effect at the next tick; emits `status`."""
    session.speed = _speed(data, session.speed)
    _send(session, "status", status(session))


@_handler("resync")
def on_resync(session, data):
    """Sent by a page that saw a gap in seq (or lost its place).  Emits a full `snapshot`,
    or `status` if no scenario is open."""
    if session.run is None:
        emit("status", status(session))
        return
    _send_full(session, private=True)


@socketio.on("*")
def on_unknown(event, *args):
    """Any message without a handler of its own.  Emits `error` {code: 'unknown_message'}."""
    _error("unknown_message", f"unknown message {event!r}", event)


@socketio.on_error_default
def on_handler_error(exc):
    """A handler raised: log it, tell the sender, keep the connection and server going."""
    log.exception("handler failed", exc_info=exc)
    event = getattr(request, "event", None) or {}
    _error("internal", f"the server failed on this message: {type(exc).__name__}: {exc}",
           event.get("message"))


# -- background tasks ------------------------------------------------------------------------

def _offload(fn, *args):
    """Run fn(*args) where it cannot stall the server: under eventlet in a real OS thread
    (eventlet.tpool), so the hub keeps serving every other tab; under threading this is
    a background thread already."""
    if socketio.async_mode == "eventlet":
        from eventlet import tpool
        return tpool.execute(fn, *args)
    return fn(*args)


class Progress:
    """How far a long computation has got: written by the thread that computes, read by
    `_progress_task` on the event loop (plain attributes: a whole dict is swapped in at
    once, so no lock is needed)."""

    def __init__(self):
        self.started = time.monotonic()
        self.progress = None
        self.done = False

    def seconds(self):
        return time.monotonic() - self.started


class Search(Progress):
    """One tab's running exploration, and whether the page asked to cancel it."""

    def __init__(self, run_id, max_states):
        super().__init__()
        self.run_id = run_id
        self.max_states = max_states
        self.cancel = False

    def report(self, progress):
        """engine.explore's progress callback: keep the figures; True asks it to stop."""
        self.progress = progress
        return self.cancel

    def message(self, p, seconds):
        return {"run": self.run_id, **p, "max_states": self.max_states,
                "seconds": round(seconds, 3),
                "rate": round(p["states"] / seconds) if seconds > 0 else 0}


class Opening(Progress):
    """A run being computed for `open` (a scenario not in the library's cache yet)."""

    def __init__(self, name):
        super().__init__()
        self.name = name

    def report(self, events, step, steps):
        self.progress = {"events": events, "step": step, "steps": steps}

    def message(self, p, seconds):
        return {"name": self.name, **p, "seconds": round(seconds, 3)}


_paused = [0]                          # builds running with the collector paused
_paused_lock = threading.Lock()


@contextlib.contextmanager
def _collector_paused():
    """Python's cyclic collector paused while a run is built, and what was built moved out
    of its reach after (gc.freeze).  A full collection walks every object, and holds the
    GIL while it does: in the middle of a 200,000-step run (tens of millions of objects)
    that was a stall of every other tab of over ten seconds, and every later full
    collection would walk the cached run again.  A run's objects are freed by their
    reference counts when the library lets it go."""
    with _paused_lock:
        _paused[0] += 1
        gc.disable()
    try:
        yield
    finally:
        with _paused_lock:
            _paused[0] -= 1
            if not _paused[0]:
                gc.freeze()
                gc.enable()


def _computing(sid, name):
    """The library's `compute` for an `open` by tab `sid`: the run is built off the event
    loop (_offload), and while it is, `open_progress` {name, events, step, steps,
    seconds} goes to the tab at most every PROGRESS_SECONDS."""
    def compute(build):
        box = Opening(name)
        socketio.start_background_task(_progress_task, sid, box, "open_progress")
        try:
            with _collector_paused():
                return _offload(build, box.report)
        finally:
            box.done = True
    return compute


def _explore(registry, sid, search, scenario, title):
    """Background task: engine.explore over the scenario's interleavings, then `explored`."""
    try:
        base, _ = interactive_base(scenario)
        result = _offload(functools.partial(explore, base, search.max_states,
                                            progress=search.report))
        msg = {"run": search.run_id, "title": title, "states": result.states,
               "transitions": result.transitions, "complete": result.complete,
               "stopped": result.stopped, "depth": result.depth,
               "max_states": search.max_states, "terminal": result.terminal,
               "seconds": round(search.seconds(), 3),
               "violations": [{"invariant": v.invariant, "message": v.message,
                               "trace": v.trace, "text": v.scenario_text(base)}
                              for v in result.violations]}
        name = "explored"
    except ScenarioError as e:
        msg, name = {"code": "bad_message", "message": str(e), "event": "explore"}, "error"
    except Exception as e:  # an engine failure ends this search, never the server
        log.exception("explore failed")
        msg = {"code": "internal", "message": f"explore failed: {type(e).__name__}: {e}",
               "event": "explore"}
        name = "error"
    finally:
        search.done = True
        if _searches.get(sid) is search:
            del _searches[sid]
        _explores.release()
        session = registry.get(sid)
        if session is not None:
            session.exploring = False
    socketio.emit(name, msg, to=sid)


def _progress_task(sid, box, name):
    """Background task beside a computation: its latest figures as message `name`, at
    most every PROGRESS_SECONDS (the engine calls back far more often, from its own
    thread), until it is done."""
    while True:
        socketio.sleep(PROGRESS_SECONDS)
        if box.done:
            return
        p = box.progress
        if p is not None:
            socketio.emit(name, box.message(p, box.seconds()), to=sid)


def _send_log_pages(registry, sid, run, run_id):
    """Background task after a paged snapshot: the rest of the run's log as `log_chunk`
    {run, from, events} messages of LOG_PAGE entries, each once the tab's send queue
    is short (_wait_for_queue), yielding to every other tab between them; it stops when
    the tab has gone or opened another run.

    One message of the whole log was the stall this replaces: eventlet's sendall sends
    what a partial write left by slicing it, a copy of the rest of the frame each time,
    which for a 260 MB frame held the event loop for 14 s (sampled in bench/server.py's
    run).  A page of 5,000 entries is about 2 MB."""
    pages, size = run.log_pages(), library.LOG_PAGE
    for k in range(1, len(pages)):
        _wait_for_queue(sid)
        session = registry.get(sid)
        if session is None or session.run is not run or session.run_id != run_id:
            return
        socketio.emit("log_chunk", {"run": run_id, "from": k * size, "events": pages[k]},
                      to=sid)
        socketio.sleep(0)


QUEUE_PAGES = 2                  # log pages waiting in a tab's send queue at most
QUEUE_WAIT = 0.02                # seconds between looks at it


def _wait_for_queue(sid, seconds=60):
    """Wait (a bounded poll) until the tab's engine.io send queue holds fewer than
    QUEUE_PAGES messages, so the log's pages are not all copied into it at once (each
    queued message is a new string of its page).  A socket that cannot be looked at
    (gone, or an engine.io without these internals) is not waited for."""
    try:
        eio_sid = socketio.server.manager.eio_sid_from_sid(sid, "/")
        queue = socketio.server.eio._get_socket(eio_sid).queue
    except Exception:
        return
    deadline = time.monotonic() + seconds
    while queue.qsize() >= QUEUE_PAGES and time.monotonic() < deadline:
        socketio.sleep(QUEUE_WAIT)


def _play(registry, sid, gen):
    """Background task: one forward diff per tick while session.play_gen is still `gen`.
    With play_wait, a tick also waits for the page's `settled` of the last diff (at most
    SETTLE_WAIT seconds: a hidden tab draws nothing and would never answer)."""
    while True:
        session = registry.get(sid)
        if session is None:
            return
        started = time.monotonic()
        socketio.sleep(1.0 / session.speed)
        while (getattr(session, "play_wait", False) and session.play_gen == gen
               and session.settled_seq < session.pos
               and time.monotonic() - started < SETTLE_WAIT):
            socketio.sleep(SETTLE_POLL)
        with session.lock:
            if session.play_gen != gen:
                return
            if session.pos >= session.total:
                session.stop_playing()
                socketio.emit("status", status(session), to=sid)
                return
            msg = forward(session)
        socketio.emit("diff", msg, to=sid)
