"""The Flask application factory and the module-level Socket.IO object.

`socketio` is created unbound and attached to an app by `init_app` in `create_app`, as in
the Flask tutorial and Flask-SocketIO-Chat.  Nothing here monkey-patches: eventlet's patching
happens only in `ptree.webui.server.serve`, the server process's entry point, so importing this
module (pytest does) leaves the standard library alone.
"""

import os
from pathlib import Path

from flask import Flask, render_template, send_from_directory
from flask_socketio import SocketIO

from ptree.resources import data_dir

from .library import Library, WireJSON
from .rooms import MAX_ROOMS, MAX_VIEWERS, ROOM_IDLE_SECONDS, Hall
from .sessions import IDLE_SECONDS, MAX_SESSIONS, SessionRegistry
from .store import open_store

socketio = SocketIO()


def create_app(test_config=None):
    """Build the explorer's app.

    test_config keys (all optional): ASYNC_MODE ('eventlet' | 'threading'; default: let
    Flask-SocketIO pick), SCENARIO_DIRS (folders of *.yaml; default the bundled scenarios/),
    EXTRA_SCENARIO_DIRS (added after them, as `--scenarios DIR` does), MAX_SESSIONS,
    IDLE_SECONDS, TESTING; for lecture rooms: MESSAGE_QUEUE (a redis:// URL shared by
    several server processes; rooms are then stored in that Redis), ROOM_STORE (where rooms
    live otherwise: default a SQLite file in the instance folder), INSTANCE_PATH (Flask's
    instance folder), MAX_ROOMS, MAX_VIEWERS, ROOM_IDLE_SECONDS.
    """
    test_config = test_config or {}
    app = Flask(__name__, template_folder=str(data_dir("templates")),
                static_folder=str(data_dir("static")), static_url_path="/static",
                instance_path=os.fspath(test_config["INSTANCE_PATH"])
                if test_config.get("INSTANCE_PATH") else None)
    app.config.from_mapping(
        ASYNC_MODE=None,
        SCENARIO_DIRS=[data_dir("scenarios")],
        EXTRA_SCENARIO_DIRS=[],
        MAX_SESSIONS=MAX_SESSIONS,
        IDLE_SECONDS=IDLE_SECONDS,
        MESSAGE_QUEUE=None,
        ROOM_STORE=None,
        MAX_ROOMS=MAX_ROOMS,
        MAX_VIEWERS=MAX_VIEWERS,
        ROOM_IDLE_SECONDS=ROOM_IDLE_SECONDS,
        # Static files change while developing; a stale cached module is worse than a refetch.
        SEND_FILE_MAX_AGE_DEFAULT=0,
    )
    if test_config:
        app.config.update(test_config)

    app.extensions["ptree.library"] = Library(
        list(app.config["SCENARIO_DIRS"]) + list(app.config["EXTRA_SCENARIO_DIRS"]))
    app.extensions["ptree.sessions"] = SessionRegistry(
        app.config["MAX_SESSIONS"], app.config["IDLE_SECONDS"])

    queue = app.config["MESSAGE_QUEUE"]
    where = app.config["ROOM_STORE"] or queue or (Path(app.instance_path) / "ptree-rooms.sqlite3")
    store = open_store(where, app.config["ROOM_IDLE_SECONDS"])
    app.extensions["ptree.hall"] = Hall(
        store, lambda: app.extensions["ptree.library"], socketio,
        max_rooms=app.config["MAX_ROOMS"], max_viewers=app.config["MAX_VIEWERS"],
        idle_seconds=app.config["ROOM_IDLE_SECONDS"])

    _add_routes(app)
    from .pages import init_pages  # gallery, compare and quiz modes (webui/pages.py)
    init_pages(app)
    from .source import bp as source_bp  # the seed sources for the Kernel source pane
    app.register_blueprint(source_bp)
    from . import events  # noqa: F401  (registers the Socket.IO handlers on `socketio`)
    from .lecture import bp as lecture_pages  # lecture rooms (webui/lecture.py)
    app.register_blueprint(lecture_pages)

    # With a message queue every emit also goes through Redis, so a diff broadcast by the
    # process the presenter is on reaches the room's viewers on every other process.
    socketio.init_app(app, async_mode=app.config["ASYNC_MODE"],
                      max_http_buffer_size=2_000_000, message_queue=queue,
                      channel="ptree-socketio", json=WireJSON)
    return app


def _add_routes(app):
    @app.get("/")
    def index():
        """The explorer page; it reads ?scenario=NAME&event=N itself."""
        return render_template("index.html")

    @app.get("/favicon.ico")
    def favicon():
        """Browsers ask for /favicon.ico on their own; answer it so no load logs a 404."""
        return send_from_directory(app.static_folder, "favicon.svg", mimetype="image/svg+xml")
