"""Socket.IO handlers: the explorer's protocol (docs/protocol.md), one handler per message.

Every handler runs for one tab (request.sid) against that tab's session.  A message that is
malformed or unknown, or a handler that fails, answers the sender with an `error` event
{code, message, event}; the connection, the server and every other session go on.
"""

import functools
import logging
import math

from flask import current_app, request
from flask_socketio import ConnectionRefusedError, emit

from engine.scenario import ScenarioError

from .app import socketio
from .sessions import SessionLimitError

log = logging.getLogger(__name__)

PROTOCOL_VERSION = 1
MIN_SPEED, MAX_SPEED = 0.25, 200.0   # events per second while playing
MAX_TEXT = 1_000_000                 # characters of scenario text from the editor


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


def _handler(name):
    """Register fn(session, data) for message `name`, with the protocol's error handling.

    The wrapper finds the tab's session (recreating an expired one and telling the page, which
    then reopens where it was), checks the payload is a mapping, serialises the session
    against its play task, and turns a ProtocolError into an `error` event.
    """
    def decorate(fn):
        @functools.wraps(fn)
        def wrapped(*args):
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


# -- messages the server sends -----------------------------------------------------------

def snapshot(session, full):
    """The whole state at the session's position.  full adds the scenario and event log
    (on open and resync; jump and reset reuse the log the page already has)."""
    run, pos = session.run, session.pos
    msg = {"run": session.run_id, "seq": pos, "total": run.timeline.total,
           "doc": run.timeline.doc_at(pos), "edges": run.annotations.edges_at(pos),
           "playing": session.playing, "speed": session.speed, "full": full}
    if full:
        msg.update(scenario=run.meta(), events=run.log, error=run.error())
    return msg


def forward(session):
    """Apply the next event: the `diff` message {seq, from, dir, event, ops, edges}."""
    run, i = session.run, session.pos
    session.pos = i + 1
    return {"run": session.run_id, "seq": i + 1, "from": i, "dir": "forward",
            "total": run.timeline.total, "event": run.log[i],
            "ops": run.timeline.events[i]["ops"],
            "edges": run.annotations.edges_changed(i + 1, i + 1),
            "playing": session.playing}


def backward(session):
    """Undo the current event with its inverse ops: a `diff` with dir 'back'."""
    run, i = session.run, session.pos
    session.pos = i - 1
    return {"run": session.run_id, "seq": i - 1, "from": i, "dir": "back",
            "total": run.timeline.total, "event": run.log[i - 1],
            "ops": run.timeline.events[i - 1]["inverse"],
            "edges": run.annotations.edges_changed(i, i - 1),
            "playing": session.playing}


def status(session):
    return {"run": session.run_id, "seq": session.pos, "total": session.total,
            "playing": session.playing, "speed": session.speed}


# -- connection ----------------------------------------------------------------------------

@socketio.on("connect")
def on_connect(auth=None):
    """Sent by Socket.IO when a tab connects.  Creates the tab's session and emits `hello`
    {protocol, scenarios, max_sessions, idle_seconds}; when MAX_SESSIONS are open the
    connection is refused with a message saying so (the page shows it)."""
    try:
        _registry().create(request.sid)
    except SessionLimitError as e:
        raise ConnectionRefusedError(str(e)) from None
    emit("hello", {"protocol": PROTOCOL_VERSION, "scenarios": _library().listing(),
                   "max_sessions": _registry().max_sessions,
                   "idle_seconds": _registry().idle_seconds,
                   "async_mode": socketio.async_mode})


@socketio.on("disconnect")
def on_disconnect(*args):
    """Sent by Socket.IO when a tab goes away.  Drops its session (and play task); emits nothing."""
    _registry().close(request.sid)


# -- the protocol ------------------------------------------------------------------------

@_handler("list")
def on_list(session, data):
    """Sent by the page to refresh the Scenario picker.  Emits `scenarios` [{name, title}]."""
    emit("scenarios", _library().listing())


@_handler("open")
def on_open(session, data):
    """Sent by the page to open a scenario: {name} from the library or {text} from the
    editor (plus an optional label `name`), and optionally {event: N} to start at event N.
    Emits a full `snapshot`; for bad input `scenario_error` {filename, line, message, text},
    and the session keeps the run it had."""
    text, name = data.get("text"), data.get("name")
    event = _int(data, "event", 0)
    if text is not None:
        if not isinstance(text, str) or len(text) > MAX_TEXT:
            raise ProtocolError(f"'text' must be a string of at most {MAX_TEXT} characters")
        label = name if isinstance(name, str) else ""
        opener = functools.partial(_library().open_text, text, label)
    elif isinstance(name, str):
        opener = functools.partial(_library().open_name, name)
    else:
        raise ProtocolError("'open' needs {name: SCENARIO} or {text: YAML}")
    try:
        run = opener()
    except KeyError:
        raise ProtocolError(f"no scenario named {name!r}", code="not_found") from None
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
    emit("snapshot", snapshot(session, full=True))


@_handler("step")
def on_step(session, data):
    """Sent by the page's Step button or → key.  Emits a forward `diff`, or `status` when
    already at the last event.  Stops playing."""
    _require_run(session)
    session.stop_playing()
    if session.pos >= session.total:
        emit("status", status(session))
        return
    emit("diff", forward(session))


@_handler("back")
def on_back(session, data):
    """Sent by the page's Back button or ← key.  Emits a `diff` with dir 'back' whose ops
    are the event's inverse, or `status` at event 0.  Stops playing."""
    _require_run(session)
    session.stop_playing()
    if session.pos <= 0:
        emit("status", status(session))
        return
    emit("diff", backward(session))


@_handler("jump")
def on_jump(session, data):
    """Sent by the page when an event log entry is clicked (or a URL names one): {event: N}.
    N is clamped to 0..M.  Emits a `snapshot` at N (without the log).  Stops playing."""
    _require_run(session)
    event = _int(data, "event")
    session.stop_playing()
    session.pos = min(max(event, 0), session.total)
    emit("snapshot", snapshot(session, full=False))


@_handler("reset")
def on_reset(session, data):
    """Sent by the page's Reset button.  Emits a `snapshot` at event 0.  Stops playing."""
    _require_run(session)
    session.stop_playing()
    session.pos = 0
    emit("snapshot", snapshot(session, full=False))


@_handler("play")
def on_play(session, data):
    """Sent by the page's Play button or space: {speed: events per second} (optional).
    Emits `status` (playing), then one forward `diff` per tick from a background task until
    the last event or a pause, then a final `status`."""
    _require_run(session)
    session.stop_playing()
    session.speed = _speed(data, session.speed)
    if session.pos >= session.total:
        emit("status", status(session))
        return
    session.playing = True
    emit("status", status(session))
    socketio.start_background_task(_play, _registry(), request.sid, session.play_gen)


@_handler("pause")
def on_pause(session, data):
    """Sent by the page's Pause button or space while playing.  Emits `status`."""
    session.stop_playing()
    emit("status", status(session))


@_handler("speed")
def on_speed(session, data):
    """Sent by the page's speed control: {speed}.  Takes effect at the next tick; emits `status`."""
    session.speed = _speed(data, session.speed)
    emit("status", status(session))


@_handler("resync")
def on_resync(session, data):
    """Sent by a page that saw a gap in seq (or lost its place).  Emits a full `snapshot`,
    or `status` if no scenario is open."""
    if session.run is None:
        emit("status", status(session))
        return
    emit("snapshot", snapshot(session, full=True))


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


# -- the play task -----------------------------------------------------------------------

def _play(registry, sid, gen):
    """Background task: one forward diff per tick while session.play_gen is still `gen`."""
    while True:
        session = registry.get(sid)
        if session is None:
            return
        socketio.sleep(1.0 / session.speed)
        with session.lock:
            if session.play_gen != gen:
                return
            if session.pos >= session.total:
                session.stop_playing()
                socketio.emit("status", status(session), to=sid)
                return
            msg = forward(session)
        socketio.emit("diff", msg, to=sid)
