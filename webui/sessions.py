"""One engine session per browser tab (Socket.IO sid), capped, expiring when idle.

A session is a position in a shared, read-only Run (see library.py) plus its play state, so
a session costs a few integers however large the scenario: the documents it sends come
from the Timeline's checkpoints.  In choice mode the run is the session's own (a
ChoiceRun, at most library.MAX_CHOICES actions long).  The registry holds at most MAX_SESSIONS at once (a tab
beyond that is refused with a message saying so) and drops any session idle for longer
than IDLE_SECONDS; a tab whose session expired is told so and reopens where it was.
"""

import threading
import time

MAX_SESSIONS = 64
IDLE_SECONDS = 30 * 60


class SessionLimitError(Exception):
    """Raised when a tab connects while MAX_SESSIONS sessions are open."""


class Session:
    """A tab's view of one run: position, play state, and a lock for the play task."""

    def __init__(self, sid, now):
        self.sid = sid
        self.run = None          # the Run being explored (library.Run), None before `open`
        self.run_id = 0          # bumps on every open, so the page can tell runs apart
        self.pos = 0             # events applied: the document shown is doc_at(pos)
        self.playing = False
        self.play_gen = 0        # bumps on every play/pause/open, to stop a stale play task
        self.speed = 2.0
        self.exploring = False   # an `explore` search of this tab is running
        self.draft = None        # the draft id its editor text is kept under, if kept
        self.last_seen = now
        self.lock = threading.RLock()

    @property
    def total(self):
        return self.run.timeline.total if self.run else 0

    def stop_playing(self):
        """Stop any play task at its next tick (it checks play_gen)."""
        self.playing = False
        self.play_gen += 1


class SessionRegistry:
    """The open sessions, by sid.  Thread-safe (green-thread-safe under eventlet)."""

    def __init__(self, max_sessions=MAX_SESSIONS, idle_seconds=IDLE_SECONDS, clock=time.monotonic):
        self.max_sessions = max_sessions
        self.idle_seconds = idle_seconds
        self.clock = clock
        self._sessions = {}
        self._lock = threading.Lock()

    def __len__(self):
        return len(self._sessions)

    def create(self, sid):
        """A new session for sid; SessionLimitError when the registry is full."""
        with self._lock:
            self._expire_locked()
            if sid not in self._sessions and len(self._sessions) >= self.max_sessions:
                raise SessionLimitError(
                    f"ptree is serving its maximum of {self.max_sessions} sessions (one per "
                    "open tab); close another tab or try again in a few minutes")
            session = self._sessions.get(sid) or Session(sid, self.clock())
            self._sessions[sid] = session
            return session

    def get(self, sid):
        """The live session for sid, touched; None if it never existed or expired."""
        with self._lock:
            self._expire_locked()
            session = self._sessions.get(sid)
            if session is not None:
                session.last_seen = self.clock()
            return session

    def close(self, sid):
        """Forget sid's session (tab closed); stops its play task."""
        with self._lock:
            session = self._sessions.pop(sid, None)
        if session is not None:
            session.stop_playing()

    def _expire_locked(self):
        # Swept lazily on every lookup: 64 entries cost nothing, and no timer thread is
        # needed in either async mode.
        cutoff = self.clock() - self.idle_seconds
        for sid in [s for s, sess in self._sessions.items() if sess.last_seen < cutoff]:
            self._sessions.pop(sid).stop_playing()
