"""The scenario library: bundled `scenarios/*.yaml` plus the folder given by `--scenarios`.

A scenario's Timeline is computed once and shared by every session that opens it (a
Timeline is read-only once built), keyed by the file's path and modification time so an
edited file is picked up on the next open.  Timelines of text typed into the editor are
kept in a small LRU cache keyed by the text itself.
"""

import hashlib
import logging
import threading
from collections import OrderedDict
from pathlib import Path

from engine.scenario import ScenarioError, load_scenario_file, parse_scenario
from engine.timeline import Timeline

from .annotate import Annotations

log = logging.getLogger(__name__)

EDITOR_FILENAME = "<editor>"


class Run:
    """One scenario, run to the end: its source text, the Timeline and the view's annotations."""

    def __init__(self, name, filename, text, scenario, timeline):
        self.name = name
        self.filename = filename
        self.text = text
        self.scenario = scenario
        self.timeline = timeline
        self.annotations = Annotations(timeline)
        # The event log the page lists: every event without its ops (sent once per open).
        self.log = [{k: v for k, v in ev.items() if k not in ("ops", "inverse")}
                    for ev in timeline.events]

    def error(self):
        """The run-time error that ended the run early ({filename, line, message}) or None."""
        err = self.timeline.error
        if err is None:
            return None
        return {"filename": err.filename, "line": err.line, "message": err.message,
                "text": str(err)}

    def meta(self):
        """What the page shows about the scenario (and puts in the editor)."""
        sc = self.scenario
        return {"name": self.name, "filename": self.filename, "title": sc.title or self.name or "",
                "description": sc.description or "", "kernel": sc.kernel, "race": sc.race,
                "steps": len(sc.steps), "text": self.text}


class Library:
    """Finds scenario files by name and caches their runs."""

    def __init__(self, dirs, cache_size=16):
        self.dirs = [Path(d) for d in dirs if d]
        self._lock = threading.Lock()
        self._files = {}                 # (path, mtime) -> Run
        self._titles = {}                # (path, mtime) -> title (parsed, not run)
        self._texts = OrderedDict()      # sha256 of text -> Run
        self._cache_size = cache_size

    def paths(self):
        """name -> path; a later folder (the user's --scenarios) overrides a bundled name."""
        found = {}
        for d in self.dirs:
            for p in sorted(d.glob("*.yaml")):
                found[p.stem] = p
        return found

    def listing(self):
        """[{name, title}] for the Scenario picker, in name order; unreadable files still appear."""
        out = []
        for name, path in sorted(self.paths().items()):
            try:
                title = self._title(path) or name
            except ScenarioError as e:
                title = f"{name} (bad input: {e.message})"
            except Exception:  # an engine bug in one file must not hide the others
                log.exception("scenario %s failed to run", path)
                title = f"{name} (failed to run)"
            out.append({"name": name, "title": title})
        return out

    def _title(self, path):
        """A file's title, parsed but not run, so listing the library stays cheap."""
        key = (str(path), path.stat().st_mtime_ns)
        title = self._titles.get(key)
        if title is None:
            title = self._titles[key] = load_scenario_file(path).title or ""
        return title

    def source(self, name):
        """The text of library scenario `name`, or None."""
        path = self.paths().get(name)
        return path.read_text(encoding="utf-8") if path else None

    def open_name(self, name):
        """The Run of a library scenario; KeyError if no such name, ScenarioError if bad."""
        path = self.paths()[name]
        key = (str(path), path.stat().st_mtime_ns)
        with self._lock:
            run = self._files.get(key)
        if run is None:
            text = path.read_text(encoding="utf-8")
            sc = load_scenario_file(path)
            run = Run(name, path.name, text, sc, Timeline(sc))
            with self._lock:
                self._files = {k: v for k, v in self._files.items() if k[0] != key[0]}
                self._files[key] = run
        return run

    def open_text(self, text, name=""):
        """The Run of text from the editor; ScenarioError if it is bad input."""
        key = hashlib.sha256(text.encode("utf-8")).hexdigest()
        with self._lock:
            run = self._texts.get(key)
            if run is not None:
                self._texts.move_to_end(key)
                return run
        sc = parse_scenario(text, EDITOR_FILENAME)
        run = Run(name, EDITOR_FILENAME, text, sc, Timeline(sc))
        with self._lock:
            self._texts[key] = run
            while len(self._texts) > self._cache_size:
                self._texts.popitem(last=False)
        return run
