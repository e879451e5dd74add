"""`ptree serve`: the server process's entry point.

This is the only place eventlet monkey-patches the standard library, and only when asked
for eventlet, so tests (which import webui.app) and `ptree run/check` never patch anything.
"""

import errno
import logging
import socket
import warnings
from pathlib import Path


class PortInUse(Exception):
    """The address `ptree serve` was asked for is taken: said in one line, exit 2."""


def check_port(host, port):
    """Bind (host, port) once and let it go, so a taken port is a clear message before
    anything starts, not a traceback from deep inside the server."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise PortInUse(f"cannot serve on {host}:{port}: {e.strerror}") from None
    family, kind, proto, _, addr = infos[0]
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(addr)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise PortInUse(f"port {port} on {host} is already in use (is another ptree "
                                f"serve running?); choose another with --port") from None
            raise PortInUse(f"cannot serve on {host}:{port}: {e.strerror}") from None


def _open_browser(url):
    """--open: the default browser, where there is one (said when there is none)."""
    import webbrowser
    if not webbrowser.open(url):
        print(f"ptree: no browser to open here; open {url} yourself", flush=True)


def serve(host="127.0.0.1", port=5000, async_mode="eventlet", scenarios_dir=None,
          message_queue=None, instance=None, open_browser=False):
    """Serve the explorer until interrupted.

    scenarios_dir: a folder (or list of folders) of *.yaml added to the bundled library;
    a file there with a bundled scenario's name replaces it.  message_queue: a
    redis://HOST:PORT/N URL that several server processes share (lecture rooms are then
    stored in that Redis too); instance: Flask's instance folder, where the embedded room
    store (SQLite) lives when there is no message queue.  open_browser: open the explorer
    in the default browser once the server runs.  Raises PortInUse.
    """
    check_port(host, port)
    if async_mode == "eventlet":
        # Eventlet is the product's stated default although it is in maintenance mode; its
        # import-time deprecation notice is for its own users' planning, not ours to print.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import eventlet
        eventlet.monkey_patch()
    elif async_mode != "threading":
        raise ValueError(f"async mode must be eventlet or threading, not {async_mode!r}")

    from ptree.webui.app import create_app, socketio

    extra = scenarios_dir if isinstance(scenarios_dir, (list, tuple)) else [scenarios_dir]
    app = create_app({"ASYNC_MODE": async_mode,
                      "EXTRA_SCENARIO_DIRS": [Path(d) for d in extra if d],
                      "MESSAGE_QUEUE": message_queue,
                      "INSTANCE_PATH": Path(instance).resolve() if instance else None})
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # Highlight the seeds before the first page asks for one (a second of work, once), so
    # the Kernel source pane of the first tab fills at once.
    from ptree.webui.source import warm_up
    socketio.start_background_task(warm_up)
    url = f"http://{host}:{port}/"
    rooms = message_queue or app.config["ROOM_STORE"] or app.instance_path
    print(f"ptree: serving the explorer at {url} ({async_mode}; lecture rooms in {rooms})",
          flush=True)
    if open_browser:
        socketio.start_background_task(_open_browser, url)
    kwargs = {"log_output": False} if async_mode == "eventlet" else {"allow_unsafe_werkzeug": True}
    socketio.run(app, host=host, port=port, **kwargs)
