"""The scenario library: bundled `scenarios/*.yaml` plus the folder given by `--scenarios`.

A scenario's Timeline is computed once and shared by every session that opens it (a
Timeline is read-only once built), keyed by the file's path and modification time so an
edited file is picked up on the next open.  Timelines of text typed into the editor are
kept in a small LRU cache keyed by the text itself.

A choice-mode run (ChoiceRun) is the exception: it grows and branches as its tab chooses
what runs next, so each session that chooses has its own, built on the shared parsed
scenario.
"""

import dataclasses
import functools
import hashlib
import json
import logging
import os
import re
import threading
from collections import OrderedDict
from pathlib import Path

import yaml
from ptree.engine.errors import EngineError
from ptree.engine.runner import Run as EngineRun
from ptree.engine.scenario import ScenarioError, load_scenario_file, parse_scenario
from ptree.engine.seeds import cite
from ptree.engine.timeline import ChoiceTimeline, Timeline
from ptree.engine.waitstatus import status_text

from .annotate import Annotations

log = logging.getLogger(__name__)

EDITOR_FILENAME = "<editor>"
MAX_CHOICES = 2_000        # actions one choice-mode session may take (each keeps a snapshot)


_PROC_PATH = re.compile(r"^/procs/(\d+)$")


def _log_entry(ev):
    """What the page lists for an event: the event without its ops, its RESULT's status
    in words (`status_text`) and the pid whose process it removed (`reaped`, from its
    ops), so the page decodes nothing.  Its seed reference read is sent beside the log
    (`cites`, see cite_table) rather than in every entry."""
    entry = {k: v for k, v in ev.items() if k not in ("ops", "inverse")}
    res = entry.get("result")
    if res is not None:
        entry["result"] = {**res, "status_text": status_text(res["status"])}
    entry["reaped"] = next((int(m.group(1)) for op in ev.get("ops", ())
                            if op["op"] == "remove" and (m := _PROC_PATH.match(op["path"]))),
                           None)
    return entry


@functools.lru_cache(maxsize=1024)
def cite_json(seed):
    """An event's `seed` reference read by engine.seeds.cite, as the page gets it: what
    the Kernel source pane shows and the log's readable citation.  Shared, never mutated."""
    return cite(seed or "").as_json()


def cite_table(log):
    """{seed: cite_json(seed)} for every reference a log cites: sent once with the log,
    so a run of 20,000 events carries each of its few dozen references once."""
    return {ev["seed"]: cite_json(ev["seed"]) for ev in log}


def with_cite(entry):
    """A log entry with its `cite` (a diff's event: the page may not have it in its
    table yet, in choice mode)."""
    return {**entry, "cite": cite_json(entry["seed"])}


def violation_marks(violations, doc):
    """[{pid, tid, invariant, message}] of the processes (tid null) and LWPs the violation
    records name, as far as they exist in `doc`, the state after the violation."""
    return [dict(v) for v in violations
            if v["pid"] is not None and str(v["pid"]) in doc["procs"]]


def _with_marks(entry, timeline):
    if entry.get("violations"):
        entry["marks"] = violation_marks(entry["violations"], timeline.doc_at(entry["seq"]))
    return entry


# -- choice files as interactive runs ---------------------------------------------------------

def step_label(step):
    """The choice-mode label of a scenario step (`sh: fork a`, `kernel: lwp_dispose a.1`),
    spelled as engine.runner spells it."""
    if step.call == "kernel":
        return "kernel: " + " ".join(step.command.split())
    return f"{step.actor}: {step.command}"


def interactive_base(scenario):
    """(scenario, trace) for an interactive run.  A `schedule: choice` file records one
    interleaving: its scripted steps (kernel steps left out, each actor's in file order)
    are what an interactive run chooses from, and all its steps are the trace that replays
    it.  Any other scenario is its own base, with an empty trace."""
    if scenario.schedule != "choice":
        return scenario, []
    steps = [s for s in scenario.steps if s.call != "kernel"]
    base = dataclasses.replace(
        scenario, schedule="auto",
        steps=[dataclasses.replace(s, index=i) for i, s in enumerate(steps, 1)])
    return base, [step_label(s) for s in scenario.steps]


def export_auto(scenario, pos):
    """The steps a default-schedule run had started by event `pos`, as a scenario file
    (engine Run.export_text: the header and those steps; a `schedule: choice` file gives
    the actions it had taken).  `ptree run` on it runs them and the kernel work they
    start, so a position in the middle of that kernel work exports its end."""
    run = EngineRun(scenario)
    run.jump(pos)
    return run.export_text()


class Encoded(str):
    """A value already encoded as JSON: the wire writes it as it is (see WireJSON)."""


class WireJSON:
    """The JSON module Socket.IO encodes packets with: the standard one, except that an
    Encoded value among a message's top-level fields is written as it is.  A full
    snapshot's log of a 200,000-step run is about 200 MB of JSON, encoded once, off the
    event loop, when the run is built (Run.encoded_log), instead of in the server's one
    event loop on every open, which stalled every other tab for seconds."""

    _MARK = "\u0000ptree-encoded-{}\u0000"

    @classmethod
    def dumps(cls, obj, **kw):
        msg = obj[-1] if isinstance(obj, list) and obj and isinstance(obj[-1], dict) else None
        if msg is None or not any(isinstance(v, Encoded) for v in msg.values()):
            return json.dumps(obj, **kw)
        raw, marked = [], {}
        for k, v in msg.items():
            if isinstance(v, Encoded):
                marked[k] = cls._MARK.format(len(raw))
                raw.append(v)
            else:
                marked[k] = v
        rest = json.dumps([*obj[:-1], marked], **kw)
        # The marks appear in the text in the order of the fields, each once: no other
        # value of a message is a whole string of NUL, name, NUL.
        out = []
        for i, value in enumerate(raw):
            before, rest = rest.split(json.dumps(cls._MARK.format(i)), 1)
            out += [before, value]
        out.append(rest)
        return "".join(out)

    loads = staticmethod(json.loads)


# A full snapshot carries at most this many log entries; a longer log follows it in
# `log_chunk` messages of this many (docs/protocol.md).  PTREE_LOG_PAGE sets it (tests
# page a short scenario with a small value).
LOG_PAGE = int(os.environ.get("PTREE_LOG_PAGE") or 5_000)


def _encoded_slices(items, chunk):
    """The JSON of each `chunk` items of a list, without its brackets: one json.dumps
    holds the GIL for as long as it runs (4.7 s for a 200,000-step run's log, a measured
    stall of every other tab), so the event loop's thread gets its turn between slices."""
    return (json.dumps(items[i:i + chunk], separators=(",", ":"))[1:-1]
            for i in range(0, len(items), chunk))


class Run:
    """One scenario, run to the end: its source text, the Timeline and the view's annotations."""

    mode = "auto"

    def __init__(self, name, filename, text, scenario, timeline):
        self.name = name
        self.filename = filename
        self.text = text
        self.scenario = scenario
        self.timeline = timeline
        self.annotations = Annotations(timeline)
        # The event log the page lists: every event without its ops (sent once per open).
        self.log = [_with_marks(_log_entry(ev), timeline) for ev in timeline.events]
        self._encoded = self._pages = self._cites = None

    def encoded_log(self):
        """(log, cites) of a full snapshot with the whole log, encoded as JSON once
        (Encoded): a log of at most LOG_PAGE entries is its one page."""
        if self._encoded is None:
            pages = self.log_pages()
            whole = pages[0] if len(pages) == 1 else Encoded(
                "[" + ",".join(page[1:-1] for page in pages) + "]")
            self._encoded = (whole, self.cites_json())
        return self._encoded

    def log_pages(self):
        """The log as JSON arrays of LOG_PAGE entries each (Encoded; the last one shorter,
        none for an empty log), encoded once: what a paged snapshot and its `log_chunk`
        messages carry (docs/protocol.md), so no one message holds a long run's log."""
        if self._pages is None or self._pages[0] != LOG_PAGE:
            self._pages = (LOG_PAGE, [Encoded("[" + part + "]")
                                      for part in _encoded_slices(self.log, LOG_PAGE)]
                           or [Encoded("[]")])
        return self._pages[1]

    def cites_json(self):
        """The cite table of the whole log, encoded once."""
        if self._cites is None:
            self._cites = Encoded(json.dumps(cite_table(self.log), separators=(",", ":")))
        return self._cites

    def expectations(self):
        """Every `expect:` of the scenario with its outcome, for the editor's gutter:
        [{line, ok, message}] (message: what failed, joined, or "" when it held)."""
        if getattr(self, "_expects", None) is None:
            self._expects = expectation_results(self.scenario, self.timeline)
        return self._expects

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
                "schedule": sc.schedule, "steps": len(sc.steps), "text": self.text}

    def choice_info(self, pos):
        return None

    def export_text(self, pos):
        return export_auto(self.scenario, pos)


def expectation_results(scenario, timeline):
    """[{line, ok, message}] for every expectation line of `scenario` (each step's
    `expect:`, then the final `expect:` entries), from the engine's own check
    (Runner.check_expectations, what `ptree check` reports) of the recorded run."""
    lines = [s.expect_line for s in scenario.steps if s.expect is not None]
    lines += [line for line, _, _ in scenario.expect]
    if not lines:
        return []
    try:
        failures = timeline.run.check_expectations()
    except ScenarioError as e:       # an expectation naming no process: that line fails
        failures = [(e.line, e.message)]
    failed = {}
    for line, message in failures:
        failed.setdefault(line, []).append(message)
    return [{"line": line, "ok": line not in failed, "message": "; ".join(failed.get(line, []))}
            for line in sorted(set(lines))]


def build_file_run(name, path, progress=None):
    """Parse and run a library file to its end (pure: what `compute` runs off the
    server's event loop).  progress(events, step, steps) is called as the run goes."""
    text = path.read_text(encoding="utf-8")
    return _built(Run, name, path.name, text, load_scenario_file(path), progress)


def build_text_run(text, name, progress=None):
    """The same for editor text."""
    return _built(Run, name, EDITOR_FILENAME, text, parse_scenario(text, EDITOR_FILENAME),
                  progress)


def _built(cls, name, filename, text, sc, progress):
    tick = None if progress is None else (lambda n, step: progress(n, step, len(sc.steps)))
    run = cls(name, filename, text, sc, Timeline(sc, progress=tick))
    run.log_pages()              # everything a full snapshot needs, computed here once
    run.cites_json()
    run.expectations()
    return run


def inline(fn):
    """The default `compute`: build in the caller's thread."""
    return fn(None)


class ChoiceRun(Run):
    """A choice-mode run for one session: an engine ChoiceTimeline plus what the page
    needs at every position of the path taken so far (its runnable actions, the log, the
    edge labels and violation markers).

    The path is a list of action labels.  `after[k]` is the number of events after k
    choices; a position that equals one of them is a *choice point*, where the page shows
    the actions that can run.  Choosing the path's own next action there just moves on;
    choosing another one drops the rest of the path first (a new branch)."""

    mode = "choice"

    def __init__(self, name, filename, text, scenario, trace=None):
        base, file_trace = interactive_base(scenario)
        self.name, self.filename, self.text, self.scenario = name, filename, text, scenario
        self.base = base
        self.timeline = ChoiceTimeline(base)
        self.after = [0]
        self.actions = [self.timeline.choices()]     # runnable actions after k choices
        self.log = []
        self.annotations = Annotations(self.timeline)
        self.replay_error = None                     # why a trace stopped early, or None
        for label in (file_trace if trace is None else trace)[:MAX_CHOICES]:
            try:
                self._take(label, annotate=False)    # once at the end, not per action
            except (EngineError, ScenarioError) as e:
                self._truncate(len(self.trace), force=True)
                self.replay_error = (f"choice {len(self.trace) + 1} of the path, {label!r}, "
                                     f"cannot run here ({e}); the path stops before it")
                break
        self.annotations = Annotations(self.timeline)

    @property
    def trace(self):
        return self.timeline.trace

    def error(self):
        return None

    def meta(self):
        return {**super().meta(), "mode": "choice"}

    def point(self, pos):
        """k when position `pos` is the choice point after k choices (the latest, should
        an action have made no event), else None (between an event and its violation)."""
        for k in range(len(self.after) - 1, -1, -1):
            if self.after[k] == pos:
                return k
            if self.after[k] < pos:
                return None
        return None

    def choice_info(self, pos):
        """What the page shows at `pos`: {trace, at, next, actions}.  `at` is the choice
        point's index (null between an event and its violation), `actions` what can run
        there [{label, kind}], `next` the path's own next action from there."""
        k = self.point(pos)
        return {"trace": list(self.trace), "at": k,
                "next": self.trace[k] if k is not None and k < len(self.trace) else None,
                "actions": self.actions[k] if k is not None else []}

    def choose(self, pos, label):
        """Take action `label` at position `pos`.  Returns (events, new): the events that
        follow, and whether they are new to the log (a branch or the path's end) rather
        than the path's own next events.  EngineError if it cannot run there."""
        k = self.point(pos)
        if k is None:
            raise EngineError("this position is inside an action (an event and the violation "
                              "it caused): step forward to its end first")
        if label not in {a["label"] for a in self.actions[k]}:
            runnable = "; ".join(a["label"] for a in self.actions[k]) or "nothing"
            raise EngineError(f"{label!r} cannot run now (runnable: {runnable})")
        if k < len(self.trace) and self.trace[k] == label:
            return self.timeline.events[self.after[k]:self.after[k + 1]], False
        if len(self.trace) >= MAX_CHOICES and k >= len(self.trace):
            raise EngineError(f"a choice-mode path is limited to {MAX_CHOICES} actions")
        self._truncate(k)
        try:
            return self._take(label), True
        except (EngineError, ScenarioError):
            self._truncate(k, force=True)            # back to the choice point, unharmed
            raise

    def follow(self, trace):
        """Make `trace` this run's path: keep the common prefix, drop the rest, take the
        new labels (a lecture room's run on a server that did not see the choices made)."""
        k = 0
        while k < min(len(trace), len(self.trace)) and trace[k] == self.trace[k]:
            k += 1
        self._truncate(k)
        for label in trace[k:MAX_CHOICES]:
            try:
                self._take(label, annotate=False)
            except (EngineError, ScenarioError):
                self._truncate(len(self.trace), force=True)
                break
        self.annotations = Annotations(self.timeline)

    def _take(self, label, annotate=True):
        evs = self.timeline.choose(label)
        self.after.append(self.timeline.total)
        self.actions.append(self.timeline.choices())
        for ev in evs:
            self.log.append(_with_marks(_log_entry(ev), self.timeline))
        if annotate:
            self.annotations = Annotations(self.timeline)
        return evs

    def _truncate(self, k, force=False):
        """Drop the path after k choices (force: also restore the engine's run to the
        choice point, after an action that failed half-way)."""
        if k >= len(self.trace) and not force:
            return
        self.timeline.truncate(k)
        del self.after[k + 1:]
        del self.actions[k + 1:]
        del self.log[self.timeline.total:]
        self.annotations = Annotations(self.timeline)

    def export_text(self, pos):
        """The actions taken up to `pos` as a `schedule: choice` file (the engine's
        ChoiceTimeline.export_text of that prefix of the path)."""
        k = next(i for i, n in enumerate(self.after) if n >= pos)
        if k == len(self.trace):
            return self.timeline.export_text()
        tl = ChoiceTimeline(self.base, trace=self.trace[:k])
        return tl.export_text()


TITLE_HEAD = 64 * 1024     # bytes of a scenario file read for its title in the listing


def head_title(path):
    """The `title:` of a long scenario file from its first TITLE_HEAD bytes: the top-level
    lines before `steps:` (or the whole head, cut at its last full line) read as YAML;
    "" when that is not a mapping with a string title (the listing then shows the name,
    and opening the file reports what is wrong with it)."""
    with open(path, encoding="utf-8", errors="replace") as f:
        head = f.read(TITLE_HEAD)
    lines = head.splitlines(keepends=True)[:-1]
    cut = next((i for i, line in enumerate(lines) if line.startswith("steps:")), len(lines))
    try:
        top = yaml.safe_load("".join(lines[:cut]))
    except yaml.YAMLError:
        return ""
    title = top.get("title") if isinstance(top, dict) else None
    return title if isinstance(title, str) else ""


class Library:
    """Finds scenario files by name and caches their runs."""

    def __init__(self, dirs, cache_size=16):
        self.dirs = [Path(d) for d in dirs if d]
        self._lock = threading.Lock()
        self._files = {}                 # (path, mtime) -> Run
        self._titles = {}                # (path, mtime, size) -> title (parsed, not run)
        self._texts = OrderedDict()      # sha256 of text -> Run
        self._cache_size = cache_size

    def paths(self):
        """name -> path; a later folder (the user's --scenarios) overrides a bundled name.
        A folder's subfolders count too, one level down (scenarios/traced/*.yaml); the
        name is the file's stem all the same."""
        found = {}
        for d in self.dirs:
            for p in sorted(d.glob("*/*.yaml")) + sorted(d.glob("*.yaml")):
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
        """A file's title, parsed but not run, so listing the library stays cheap: cached
        by the file's version, and a file over TITLE_HEAD bytes gives the title from its
        head alone (parsing a 200,000-step file took seconds of the server's loop, in the
        `hello` of whichever tab came first)."""
        st = path.stat()
        key = (str(path), st.st_mtime_ns, st.st_size)
        title = self._titles.get(key)
        if title is None:
            if st.st_size > TITLE_HEAD:
                title = head_title(path)
            else:
                title = load_scenario_file(path).title or ""
            self._titles = {k: v for k, v in self._titles.items() if k[0] != key[0]}
            self._titles[key] = title
        return title

    def source(self, name):
        """The text of library scenario `name`, or None."""
        path = self.paths().get(name)
        return path.read_text(encoding="utf-8") if path else None

    def open_name(self, name, compute=inline):
        """The Run of a library scenario; KeyError if no such name, ScenarioError if bad.
        compute(fn) builds a run that is not cached yet: fn(progress) (the server passes
        one that runs it off its event loop and reports the progress to the page)."""
        path = self.paths()[name]
        key = (str(path), path.stat().st_mtime_ns)
        with self._lock:
            run = self._files.get(key)
        if run is None:
            run = compute(functools.partial(build_file_run, name, path))
            with self._lock:
                self._files = {k: v for k, v in self._files.items() if k[0] != key[0]}
                self._files[key] = run
        return run

    def open_text(self, text, name="", compute=inline):
        """The Run of text from the editor; ScenarioError if it is bad input."""
        key = hashlib.sha256(text.encode("utf-8")).hexdigest()
        with self._lock:
            run = self._texts.get(key)
            if run is not None:
                self._texts.move_to_end(key)
                return run
        run = compute(functools.partial(build_text_run, text, name))
        with self._lock:
            self._texts[key] = run
            while len(self._texts) > self._cache_size:
                self._texts.popitem(last=False)
        return run


def choice_run(run, trace=None):
    """A fresh choice-mode run of the scenario `run` (a library or editor Run) shows;
    trace None takes a `schedule: choice` file's own path (nothing for other files)."""
    return ChoiceRun(run.name, run.filename, run.text, run.scenario, trace)
