"""The Flask application factory and the module-level Socket.IO object.

`socketio` is created unbound and attached to an app by `init_app` in `create_app`, as in
the Flask tutorial and Flask-SocketIO-Chat.  Nothing here monkey-patches: eventlet's patching
happens only in `ptree.webui.server.serve`, the server process's entry point, so importing this
module (pytest does) leaves the standard library alone.
"""

from flask import Flask, render_template, send_from_directory
from flask_socketio import SocketIO

from ptree.resources import data_dir

from .library import Library
from .sessions import IDLE_SECONDS, MAX_SESSIONS, SessionRegistry

socketio = SocketIO()


def create_app(test_config=None):
    """Build the explorer's app.

    test_config keys (all optional): ASYNC_MODE ('eventlet' | 'threading'; default: let
    Flask-SocketIO pick), SCENARIO_DIRS (folders of *.yaml; default the bundled scenarios/),
    EXTRA_SCENARIO_DIRS (added after them, as `--scenarios DIR` does), MAX_SESSIONS,
    IDLE_SECONDS, TESTING.
    """
    app = Flask(__name__, template_folder=str(data_dir("templates")),
                static_folder=str(data_dir("static")), static_url_path="/static")
    app.config.from_mapping(
        ASYNC_MODE=None,
        SCENARIO_DIRS=[data_dir("scenarios")],
        EXTRA_SCENARIO_DIRS=[],
        MAX_SESSIONS=MAX_SESSIONS,
        IDLE_SECONDS=IDLE_SECONDS,
        # Static files change while developing; a stale cached module is worse than a refetch.
        SEND_FILE_MAX_AGE_DEFAULT=0,
    )
    if test_config:
        app.config.update(test_config)

    app.extensions["ptree.library"] = Library(
        list(app.config["SCENARIO_DIRS"]) + list(app.config["EXTRA_SCENARIO_DIRS"]))
    app.extensions["ptree.sessions"] = SessionRegistry(
        app.config["MAX_SESSIONS"], app.config["IDLE_SECONDS"])

    _add_routes(app)
    from .pages import init_pages  # gallery, compare and quiz modes (webui/pages.py)
    init_pages(app)
    from .source import bp as source_bp  # the seed sources for the Kernel source pane
    app.register_blueprint(source_bp)
    from . import events  # noqa: F401  (registers the Socket.IO handlers on `socketio`)

    socketio.init_app(app, async_mode=app.config["ASYNC_MODE"],
                      max_http_buffer_size=2_000_000)
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
