"""`ptree serve`: the server process's entry point.

This is the only place eventlet monkey-patches the standard library, and only when asked
for eventlet, so tests (which import webui.app) and `ptree run/check` never patch anything.
"""

import logging
import warnings
from pathlib import Path


def serve(host="127.0.0.1", port=5000, async_mode="eventlet", scenarios_dir=None,
          message_queue=None, instance=None):
    """Serve the explorer until interrupted.

    scenarios_dir: a folder (or list of folders) of *.yaml added to the bundled library;
    a file there with a bundled scenario's name replaces it.  message_queue: a
    redis://HOST:PORT/N URL that several server processes share (lecture rooms are then
    stored in that Redis too); instance: Flask's instance folder, where the embedded room
    store (SQLite) lives when there is no message queue.
    """
    if async_mode == "eventlet":
        # Eventlet is the product's stated default although it is in maintenance mode; its
        # import-time deprecation notice is for its own users' planning, not ours to print.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import eventlet
        eventlet.monkey_patch()
    elif async_mode != "threading":
        raise ValueError(f"async mode must be eventlet or threading, not {async_mode!r}")

    from webui.app import create_app, socketio

    extra = scenarios_dir if isinstance(scenarios_dir, (list, tuple)) else [scenarios_dir]
    app = create_app({"ASYNC_MODE": async_mode,
                      "EXTRA_SCENARIO_DIRS": [Path(d) for d in extra if d],
                      "MESSAGE_QUEUE": message_queue,
                      "INSTANCE_PATH": Path(instance).resolve() if instance else None})
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    rooms = message_queue or app.config["ROOM_STORE"] or app.instance_path
    print(f"ptree: serving the explorer at http://{host}:{port}/ ({async_mode}; lecture "
          f"rooms in {rooms})", flush=True)
    kwargs = {"log_output": False} if async_mode == "eventlet" else {"allow_unsafe_werkzeug": True}
    socketio.run(app, host=host, port=port, **kwargs)
