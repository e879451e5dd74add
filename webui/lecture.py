"""Lecture mode: the presenter's and the audience's pages, and their Socket.IO messages.

    /present?scenario=NAME[&event=N][&choices=B64][&text=B64]   (GET, the explorer's address
    forms) or POST /present (the explorer's Present button: scenario or text+label, mode,
    choices, event): makes a room and redirects (303) to
    /present/ROOM   the presenter page: the explorer, driving the room, with the audience
                    link, its QR code (SVG, drawn here by segno) and the viewer count
    /live/ROOM      the audience page: the explorer's view, following the presenter
    /live           a form to type a room code into

The presenter key goes into an HttpOnly cookie `ptree_present_ROOM` with the redirect, so
it is never in a link; the presenter page's socket sends it with its handshake.  A script
may give it as auth {key} instead.  The rooms themselves are webui/rooms.py; the messages
are in docs/protocol.md ("Lecture rooms").
"""

import base64
import binascii
import functools
import json
import time

import segno
from flask import (
    Blueprint,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_socketio import ConnectionRefusedError, emit, join_room, leave_room
from ptree.engine.scenario import ScenarioError

from .app import socketio
from .events import (
    MAX_LABEL,
    MAX_TEXT,
    ProtocolError,
    _error,
    _mapping,
    hello,
    on_open,
    snapshot,
)
from .library import MAX_CHOICES, choice_run
from .rooms import COOKIE_PREFIX, Member, RoomError, key_matches, normal_code
from .sessions import SessionLimitError

bp = Blueprint("lecture", __name__)

DEFAULT_SCENARIO = "orphans-and-reapers"
COOKIE_SECONDS = 2 * 24 * 60 * 60     # the presenter cookie outlives any room


def _hall():
    return current_app.extensions["ptree.hall"]


def _library():
    return current_app.extensions["ptree.library"]


def _registry():
    return current_app.extensions["ptree.sessions"]


# -- pages ----------------------------------------------------------------------------------

class PageError(Exception):
    def __init__(self, status, title, message):
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


def _page_error(e, code=None):
    return render_template("lecture_message.html", title=e.title, message=e.message,
                           code=code), e.status


def _b64(value, what):
    try:
        pad = "=" * (-len(value) % 4)
        return base64.urlsafe_b64decode(value + pad).decode("utf-8")
    except (binascii.Error, ValueError):
        raise PageError(400, "Bad address", f"the address's {what} cannot be read: it was "
                        "cut short or changed") from None


def _lecture_args():
    """(run, event) of a /present request: the explorer's address forms in a GET, the
    Present button's form fields in a POST."""
    form = request.form if request.method == "POST" else request.args
    posted = request.method == "POST"
    text = form.get("text")
    if text is not None and not posted:
        text = _b64(text, "scenario text")
    labels = None
    if "choices" in form:
        raw = form.get("choices", "")
        if posted:
            try:
                labels = json.loads(raw or "[]")
            except ValueError:
                labels = None
            if not isinstance(labels, list):
                raise PageError(400, "Bad request", "choices must be a JSON list of labels")
        else:
            decoded = _b64(raw, "choice-mode path")
            labels = decoded.split("\n") if decoded else []
        if (len(labels) > MAX_CHOICES
                or not all(isinstance(x, str) and len(x) <= MAX_LABEL for x in labels)):
            raise PageError(400, "Bad request",
                            f"a choice-mode path is at most {MAX_CHOICES} action labels")
    mode = form.get("mode") or ("choice" if labels is not None else "auto")
    if mode not in ("auto", "choice"):
        raise PageError(400, "Bad request", f"mode must be auto or choice, not {mode!r}")
    try:
        event = int(form.get("event", "0") or 0)
    except ValueError:
        raise PageError(400, "Bad request", "event must be a whole number") from None
    name = form.get("scenario") or (None if text is not None else DEFAULT_SCENARIO)
    try:
        if text is not None:
            if len(text) > MAX_TEXT:
                raise PageError(400, "Bad request",
                                f"scenario text is limited to {MAX_TEXT:,} characters")
            run = _library().open_text(text, form.get("label", ""))
        else:
            run = _library().open_name(name)
        if mode == "choice":
            run = choice_run(run, labels)
    except KeyError:
        raise PageError(404, "No such scenario", f"there is no scenario named {name!r} in "
                        "the library (see the gallery)") from None
    except ScenarioError as e:
        raise PageError(400, "The scenario has an error", str(e)) from None
    return run, event


@bp.route("/present", methods=["GET", "POST"])
def present_new():
    """Start a lecture: a new room showing the scenario, mode and position asked for; the
    presenter key goes into an HttpOnly cookie and the browser on to /present/ROOM."""
    try:
        run, event = _lecture_args()
        code, key = _hall().create(run, event)
    except PageError as e:
        return _page_error(e)
    except RoomError as e:
        return _page_error(PageError(503, "No room for another lecture", str(e)))
    response = redirect(url_for("lecture.present_page", code=code), 303)
    response.set_cookie(COOKIE_PREFIX + code, key, max_age=COOKIE_SECONDS, httponly=True,
                        samesite="Lax", secure=request.is_secure, path="/")
    return response


def _gone(code):
    return PageError(404, "No such lecture",
                     f"there is no lecture {code}: it ended or expired (a lecture expires "
                     "when its presenter has been away for two hours), or the code is "
                     "mistyped")


@bp.get("/present/<code>")
def present_page(code):
    """The presenter page: the explorer driving room `code`, for the browser holding its
    key; anyone else is told so and pointed at the audience page."""
    room = normal_code(code)
    record = _hall().load(room) if room else None
    if record is None:
        return _page_error(_gone(code))
    if not key_matches(request.cookies.get(COOKIE_PREFIX + room), record):
        return _page_error(PageError(
            403, "Not the presenter",
            f"this browser does not hold the presenter key of lecture {room}; the "
            "audience page follows it"), code=room)
    return _lecture_page(room, "presenter")


@bp.get("/live/<code>")
def live_page(code):
    """The audience page of room `code`: the presenter's view, live."""
    room = normal_code(code)
    if room is None or _hall().load(room) is None:
        return _page_error(_gone(code))
    if room != code:
        return redirect(url_for("lecture.live_page", code=room))
    return _lecture_page(room, "viewer")


@bp.get("/live")
def live_join():
    """A form to type a room code into (what the presenter reads aloud)."""
    typed = request.args.get("room")
    if typed is not None:
        room = normal_code(typed)
        if room:
            return redirect(url_for("lecture.live_page", code=room))
    return render_template("lecture_join.html", typed=typed)


def _lecture_page(code, role):
    url = url_for("lecture.live_page", code=code, _external=True)
    config = {"room": code, "role": role, "audience_url": url,
              "max_viewers": _hall().max_viewers}
    return render_template("lecture.html", config=config, code=code, role=role,
                           audience_url=url, qr_svg=qr_svg(url) if role == "presenter" else "")


@functools.lru_cache(maxsize=256)
def qr_svg(url):
    """The QR code of `url` as inline SVG (segno, error correction M, the standard quiet
    zone of 4 modules), scaled by CSS to fill its box; dark on white so it scans under any
    theme."""
    qr = segno.make(url, error="m", micro=False)
    return qr.svg_inline(scale=1, border=4, omitsize=True, dark="#000", light="#fff",
                         svgclass="qr-svg", title=f"QR code of {url}")


# -- sockets --------------------------------------------------------------------------------

def lecture_state(member, record):
    """The `lecture` message: who this tab is in its room, and the room's state."""
    hall = _hall()
    return {"room": member.code, "role": member.role, "following": not member.alone,
            "ended": bool(record and record.get("ended")), "gone": record is None,
            "viewers": hall.store.viewers(member.code) if record else 0,
            "max_viewers": hall.max_viewers}


def _room_snapshot(member):
    """A full snapshot of the room, to this member only (a late joiner, a rejoin)."""
    from .events import _send
    _hall().act(member.code, lambda s: _send(s, "snapshot", snapshot(s, full=True)),
                member=member, commit=False)


def connect_member(auth):
    """A lecture page connects: auth {lecture: ROOM, role: presenter|viewer, key?,
    following?}.  The presenter's key comes from auth.key or the HttpOnly cookie; a tab
    without it is a viewer.  A viewer past MAX_VIEWERS is refused with a message.
    Emits `hello` (with `lecture`), `lecture`, then a full room snapshot, or
    `lecture_ended` for a room that ended or is gone."""
    hall = _hall()
    code = normal_code(auth.get("lecture"))
    if code is None:
        raise ConnectionRefusedError("'lecture' must be a room code such as k7m2")
    wants = auth.get("role") if auth.get("role") in ("presenter", "viewer") else "viewer"
    record = hall.load(code)
    key = auth.get("key") or request.cookies.get(COOKIE_PREFIX + code)
    role = "presenter" if wants == "presenter" and key_matches(key, record) else "viewer"
    member = Member(request.sid, code, role)
    following = auth.get("following", True) is not False
    if record is not None and role == "viewer" and following and not record.get("ended"):
        if hall.store.viewers(code) >= hall.max_viewers:
            raise ConnectionRefusedError(
                f"lecture {code} has its maximum of {hall.max_viewers} viewers; "
                "try again when someone leaves")
    hall.add(member)
    if record is not None and following:
        join_room(f"lecture:{code}")
        if role == "presenter":
            join_room(f"present:{code}")
            hall.store.touch(code)
        elif not record.get("ended"):
            hall.count(member, +1)
    elif record is not None and role == "viewer":
        member.alone = True        # comes back to its own exploring: it sends `detach`
    emit("hello", hello(lecture={"room": code, "role": role}))
    if wants == "presenter" and role != "presenter":
        _error("not_presenter", f"this browser does not hold the presenter key of lecture "
               f"{code}: it follows the lecture as the audience does", "connect")
    emit("lecture", lecture_state(member, record))
    if record is None:
        emit("lecture_ended", {"room": code, "reason": "gone"})
        return
    if following:
        _room_snapshot(member)
    if record.get("ended"):
        emit("lecture_ended", {"room": code, "reason": "ended", "event": record["pos"],
                               "rev": record["rev"]})


def disconnect_member(sid):
    hall = _hall()
    member = hall.remove(sid)
    if member is None:
        return
    if member.counted:
        hall.count(member, -1)
    if member.role == "presenter" and not member.alone:
        record = hall.load(member.code)
        if record is not None and not record.get("ended"):
            hall.store.touch(member.code)      # two hours from now without a presenter


def _lecture_handler(name):
    """Register fn(member, data) for a lecture message: a mapping payload, errors as
    `error` events; a tab that is not on a lecture page gets `bad_message`."""
    def decorate(fn):
        @functools.wraps(fn)
        def wrapped(*args):
            try:
                member = _hall().get(request.sid)
                if member is None:
                    raise ProtocolError(f"'{name}' is a lecture page's message; this tab is "
                                        "not in a lecture")
                fn(member, args)
            except (ProtocolError, RoomError) as e:
                _error(e.code, str(e), name)
        socketio.on(name)(wrapped)
        return wrapped
    return decorate


def _reopen_payload(hall, record):
    """The `open` that gives a private session the room's scenario, mode, path and position."""
    src = record["source"]
    if "name" in src:
        payload = {"name": src["name"]}
    else:
        text = hall.store.blob(record["code"], src["text"])
        payload = {"text": text, "name": src.get("label", "")}
    payload["event"] = record["pos"]
    if record["mode"] == "choice":
        path = hall.store.blob(record["code"], record["choices"]) if record["choices"] else "[]"
        payload.update(mode="choice", choices=json.loads(path or "[]"))
    return payload


@_lecture_handler("detach")
def on_detach(member, args):
    """Sent by the audience page's 'Explore on my own' (and by any lecture page once its
    lecture has ended): {resume?: an `open` payload}.  Gives this tab a private session
    (the 64-session cap applies) opened where the room is, or at `resume` (a tab that
    comes back to its own exploring after a reconnect, or whose room is gone), and stops
    following.  Emits `lecture` (following: false), then the private session's full
    `snapshot`.  The presenter of a running lecture drives it and cannot detach."""
    data = _mapping(args, "detach")
    hall = _hall()
    record = hall.load(member.code)
    if member.role == "presenter" and record is not None and not record.get("ended"):
        raise ProtocolError("the presenter drives the lecture; end it to explore on your own")
    resume = data.get("resume")
    if resume is not None and not isinstance(resume, dict):
        raise ProtocolError("'resume' must be an `open` payload (a mapping)")
    if resume is None:
        if record is None:
            raise RoomError(f"there is no lecture {member.code} any more", "no_room")
        resume = _reopen_payload(hall, record)
    try:
        session = _registry().create(request.sid)
    except SessionLimitError as e:
        raise RoomError(f"{e}; you keep following the lecture", "busy") from None
    was_alone = member.alone
    leave_room(f"lecture:{member.code}")
    member.alone = True
    if member.counted:
        hall.count(member, -1)
    emit("lecture", lecture_state(member, record))
    try:
        with session.lock:
            on_open.__wrapped__(session, resume)
    finally:
        if session.run is None and not was_alone:
            _rejoin(member, record)        # the copy could not be opened: follow again


def _rejoin(member, record):
    """Undo a detach whose `open` failed (its error was sent): the tab follows again."""
    hall = _hall()
    _registry().close(request.sid)
    member.alone = False
    if record is None or record.get("ended"):
        return
    join_room(f"lecture:{member.code}")
    if member.role == "viewer":
        hall.count(member, +1)
    emit("lecture", lecture_state(member, record))
    _room_snapshot(member)


@_lecture_handler("follow")
def on_follow(member, args):
    """Sent by 'Back to the lecture': drops this tab's private session and rejoins the
    room at the presenter's position.  Emits `lecture` (following: true) and the room's
    full `snapshot`; `lecture_ended` (the code) if the lecture ended, `room_full` past
    MAX_VIEWERS."""
    _mapping(args, "follow")
    hall = _hall()
    record = hall.load(member.code)
    if record is None or record.get("ended"):
        raise RoomError(f"lecture {member.code} has ended; what you see is your own copy",
                        "lecture_ended")
    if not member.alone:
        _room_snapshot(member)
        return
    if member.role == "viewer" and hall.store.viewers(member.code) >= hall.max_viewers:
        raise RoomError(f"lecture {member.code} has its maximum of {hall.max_viewers} "
                        "viewers; try again when someone leaves", "room_full")
    _registry().close(request.sid)
    member.alone = False
    join_room(f"lecture:{member.code}")
    if member.role == "presenter":
        join_room(f"present:{member.code}")
    else:
        hall.count(member, +1)
    emit("lecture", lecture_state(member, record))
    _room_snapshot(member)


@_lecture_handler("end")
def on_end(member, args):
    """Sent by the presenter's 'End lecture'.  Marks the room ended (it is kept two more
    hours, so late joiners and reconnecting tabs are told), and emits `lecture_ended`
    {reason: 'ended', event} to every member: each page keeps a private copy at that
    position.  From anyone else: `not_presenter`."""
    if member.role != "presenter" or member.alone:
        raise ProtocolError(f"only the presenter can end lecture {member.code}",
                            code="not_presenter")
    _mapping(args, "end")

    def end(s):
        s.stop_playing()
        s.ended = time.time()
        s.outbox.append(("lecture_ended", {"reason": "ended", "event": s.pos,
                                           "total": s.total}))
    hall = _hall()
    hall.act(member.code, end, member=member)
    hall.store.touch(member.code)
