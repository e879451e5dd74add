"""The lecture pages: the gallery, compare mode and quiz mode, with their JSON endpoints.

A Flask blueprint, registered by `init_pages(app)`:

    /gallery                  every scenario (bundled + --scenarios DIR) and a random-scenario form
    /random?seed=&actions=&kernel=&fork_ratio=&mode=explore|compare|quiz|yaml
                              opens a generated scenario (a redirect) or downloads its text
    /compare?scenario=NAME    the same scenario under classic and reaper, side by side
    /quiz?scenario=NAME       questions about each step (also ?random=SEED&actions=K&kernel=K),
                              &kind=mixed|predict|which|final, &seed=S for the answer order
    /quiz/print?scenario=NAME the same questions as a printable handout (&answers=1)
    /api/scenarios            [{name, title, kernel, race, schedule, steps, description, error}]
    /api/random               a generated scenario's name, title and text
    /api/compare              both kernels' trees after step N, and their differences
    /api/quiz                 the next question from step N on (without its answer)
    /api/quiz/answer          whether option I is right, the answer and what happened

Random scenarios have library names, `random-SEED-ACTIONS-KERNEL` (plus `-fRATIO` when
the fork ratio is not the default), which the library resolves by generating the text
(`engine.randomgen`, as `ptree random` does).  So the explorer opens one through the
`?scenario=NAME` it already passes to `open`, and a shared address reproduces it.

Every endpoint answers bad input (an unknown scenario, a bad seed, step or choice) with
`{"error": {"code", "message"}}` and HTTP 400 or 404, never a traceback; a request can ask
for at most MAX_ACTIONS random actions.
"""

import copy
import functools
import hashlib
import logging
import math
import re
import threading
from collections import OrderedDict

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from ptree.engine.compare import Comparison
from ptree.engine.errors import EngineError
from ptree.engine.quiz import Quiz
from ptree.engine.randomgen import generate
from ptree.engine.scenario import ScenarioError, dump_scenario, load_scenario_file, parse_scenario
from ptree.engine.timeline import Timeline
from ptree.engine.waitstatus import status_text, xstat_text
from werkzeug.exceptions import HTTPException

from .library import Library, Run, cite_json

log = logging.getLogger(__name__)

bp = Blueprint("pages", __name__)

MAX_ACTIONS = 500               # random scenarios: steps a request may ask for
MAX_SEED = 2**32 - 1
DEFAULT_FORK_RATIO = 0.35       # `ptree random`'s default
KERNELS = {"classic": "classic (2008-2011)", "reaper": "reaper (2014)"}
QUIZ_KINDS = ("predict", "which", "final")
STEP_KINDS = ("predict", "which")   # the kinds asked about one step (mixed alternates them)
MAX_HANDOUT = 60                # questions on a printed handout (then the final-tree one)
MAX_STEP_EVENTS = 60            # event summaries sent per step and kernel
DEFAULTS = {"compare": "orphans-reaper", "quiz": "orphans-and-reapers"}


class APIError(Exception):
    """Bad input to an endpoint: answered as {"error": {code, message}} with `status`."""

    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def init_pages(app):
    """Register the pages and endpoints, and let the library resolve random names."""
    old = app.extensions["ptree.library"]
    app.extensions["ptree.library"] = RandomLibrary(old.dirs)
    app.register_blueprint(bp)


def _library():
    return current_app.extensions["ptree.library"]


# -- random scenarios ----------------------------------------------------------------------

RANDOM_NAME = re.compile(r"random-(0|[1-9]\d*)-([1-9]\d*)-(classic|reaper)(?:-f([0-9.]+))?")


def random_params(seed, actions, kernel="reaper", fork_ratio=None):
    """Validated (seed, actions, kernel, fork_ratio) from strings or numbers; ValueError
    with a message saying what is wrong and the bounds."""
    def whole(value, what, low, high):
        try:
            n = int(str(value).strip())
        except (TypeError, ValueError):
            raise ValueError(f"{what} must be a whole number, not {value!r}") from None
        if not low <= n <= high:
            raise ValueError(f"{what} must be between {low} and {high}, not {n}")
        return n

    seed = whole(seed, "seed", 0, MAX_SEED)
    actions = whole(actions, "actions", 1, MAX_ACTIONS)
    kernel = kernel or "reaper"
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be classic or reaper, not {kernel!r}")
    if fork_ratio is None or fork_ratio == "":
        ratio = DEFAULT_FORK_RATIO
    else:
        try:
            ratio = float(fork_ratio)
        except (TypeError, ValueError):
            raise ValueError(f"fork ratio must be a number from 0 to 1, not {fork_ratio!r}") from None
        if not math.isfinite(ratio) or not 0 <= ratio <= 1:
            raise ValueError(f"fork ratio must be from 0 to 1, not {fork_ratio!r}")
        ratio = round(ratio, 3)
    return seed, actions, kernel, ratio


def random_name(seed, actions, kernel, fork_ratio):
    """The library name of a random scenario (what `?scenario=` carries)."""
    name = f"random-{seed}-{actions}-{kernel}"
    return name if fork_ratio == DEFAULT_FORK_RATIO else f"{name}-f{fork_ratio:g}"


def parse_random_name(name):
    """(seed, actions, kernel, fork_ratio) for a random scenario's name, None if `name` is
    not one; ValueError if it is one out of bounds."""
    m = RANDOM_NAME.fullmatch(name or "")
    if not m:
        return None
    params = random_params(*m.groups())
    if random_name(*params) != name:       # one spelling per scenario, so caches agree
        return None
    return params


@functools.lru_cache(maxsize=64)
def random_text(seed, actions, kernel, fork_ratio):
    """The scenario text `ptree random` writes for these parameters (same seed, same text)."""
    sc = generate(seed, actions, kernel=kernel, fork_ratio=fork_ratio)
    sc.title = f"Random scenario, seed {seed}, {actions} actions ({kernel})"
    return dump_scenario(sc)


class RandomLibrary(Library):
    """The library, plus random scenarios under their `random-...` names (a file with such
    a name still wins)."""

    def __init__(self, dirs, cache_size=16):
        super().__init__(dirs, cache_size)
        self._random = OrderedDict()           # name -> Run

    def open_name(self, name, **kw):
        try:
            return super().open_name(name, **kw)
        except KeyError:
            try:
                params = parse_random_name(name)
            except ValueError:
                params = None
            if params is None:
                raise
        with self._lock:
            run = self._random.get(name)
            if run is not None:
                self._random.move_to_end(name)
                return run
        text = random_text(*params)
        filename = f"{name}.yaml"
        sc = parse_scenario(text, filename)
        run = Run(name, filename, text, sc, Timeline(sc))
        with self._lock:
            self._random[name] = run
            while len(self._random) > self._cache_size:
                self._random.popitem(last=False)
        return run

    def source(self, name):
        text = super().source(name)
        if text is None:
            try:
                params = parse_random_name(name)
            except ValueError:
                params = None
            if params is not None:
                text = random_text(*params)
        return text


# -- the scenario index ----------------------------------------------------------------------

_meta_cache = {}
_meta_lock = threading.Lock()


def scenario_meta(name, path):
    """What the gallery shows of one file, parsed (not run), cached by modification time."""
    key = (str(path), path.stat().st_mtime_ns)
    with _meta_lock:
        meta = _meta_cache.get(key)
    if meta is None:
        meta = {"name": name, "title": name, "kernel": None, "race": None, "schedule": None,
                "steps": 0, "description": "", "error": None}
        try:
            sc = load_scenario_file(path)
            meta.update(title=sc.title or name, kernel=sc.kernel, race=sc.race,
                        schedule=sc.schedule, steps=len(sc.steps),
                        description=" ".join((sc.description or "").split()))
        except ScenarioError as e:
            meta["error"] = str(e)
        except Exception:  # an engine bug in one file must not hide the others
            log.exception("scenario %s failed to load", path)
            meta["error"] = f"{path.name}: failed to load"
        with _meta_lock:
            for stale in [k for k in _meta_cache if k[0] == key[0]]:   # an edited file
                del _meta_cache[stale]
            _meta_cache[key] = meta
    return dict(meta, name=name)


def scenario_index():
    """Every library scenario's metadata, in name order."""
    return [scenario_meta(name, path) for name, path in sorted(_library().paths().items())]


# -- request helpers -------------------------------------------------------------------------

def _int_arg(key, low, high, default=None):
    value = request.args.get(key)
    if value is None or value == "":
        if default is None:
            raise APIError(400, "bad_request", f"missing ?{key}=N ({low} to {high})")
        return default
    try:
        n = int(value)
    except ValueError:
        raise APIError(400, "bad_request", f"{key} must be a whole number, not {value!r}") from None
    if not low <= n <= high:
        raise APIError(400, "bad_request", f"{key} must be between {low} and {high}, not {n}")
    return n


def _random_from_args(args, key="random"):
    try:
        return random_params(args.get(key), args.get("actions"),
                             args.get("kernel"), args.get("fork_ratio"))
    except ValueError as e:
        raise APIError(400, "bad_random", str(e)) from None


def _source_name(args):
    """The library name a request asks for: ?scenario=NAME or ?random=SEED&actions=K...."""
    if args.get("random") is not None:
        return random_name(*_random_from_args(args))
    name = args.get("scenario")
    if not name:
        raise APIError(400, "bad_request",
                       "give ?scenario=NAME or ?random=SEED&actions=K[&kernel=K&fork_ratio=F]")
    try:
        parse_random_name(name)
    except ValueError as e:
        raise APIError(400, "bad_random", f"{name}: {e}") from None
    return name


def _open_run(args):
    """The library Run a request names (cached by the library)."""
    name = _source_name(args)
    try:
        return _library().open_name(name)
    except KeyError:
        raise APIError(404, "not_found", f"no scenario named {name!r}") from None
    except ScenarioError as e:
        raise APIError(400, "bad_scenario", str(e)) from None


def _meta(run):
    sc = run.scenario
    return {"name": run.name, "title": sc.title or run.name, "description": sc.description or "",
            "kernel": sc.kernel, "race": sc.race, "schedule": sc.schedule,
            "steps": len(sc.steps)}


def _links(name):
    return {"explore": url_for("index", scenario=name),
            "compare": url_for("pages.compare_page", scenario=name),
            "quiz": url_for("pages.quiz_page", scenario=name)}


def step_events(timeline, n, limit=MAX_STEP_EVENTS):
    """The events of scripted step n: those the step made and the kernel work that ran
    after them before the next scripted step (kernel work has no step of its own)."""
    out, current = [], None
    for ev in timeline.events:
        if ev.get("step") is not None:
            current = ev["step"]
        if current == n:
            out.append({**{k: ev.get(k) for k in ("seq", "name", "kind", "summary", "seed",
                                                  "violation")},
                        "cite": cite_json(ev.get("seed"))})
        elif current is not None and current > n:
            break
    return out[:limit]


def step_result(timeline, n):
    """Step n's RESULT, with its status in words (`status_text`)."""
    res = next((r for r in timeline.results if r["step"] == n), None)
    return None if res is None else {**res, "status_text": status_text(res["status"])}


# -- pages -----------------------------------------------------------------------------------

@bp.get("/gallery")
def gallery():
    """Every scenario with links to explore, compare and quiz it; a random-scenario form."""
    return render_template("gallery.html", scenarios=scenario_index(), kernels=KERNELS,
                           form={}, error=None, max_actions=MAX_ACTIONS, max_seed=MAX_SEED,
                           fork_ratio=DEFAULT_FORK_RATIO)


@bp.get("/random")
def random_page():
    """The gallery's random form: redirect to the generated scenario in the mode asked
    for (explore, compare or quiz), or send its text (mode=yaml)."""
    mode = request.args.get("mode", "explore")
    try:
        params = random_params(request.args.get("seed"), request.args.get("actions"),
                               request.args.get("kernel"), request.args.get("fork_ratio"))
        if mode not in ("explore", "compare", "quiz", "yaml"):
            raise ValueError(f"mode must be explore, compare, quiz or yaml, not {mode!r}")
    except ValueError as e:
        return render_template("gallery.html", scenarios=scenario_index(), kernels=KERNELS,
                               form=request.args, error=str(e), max_actions=MAX_ACTIONS,
                               max_seed=MAX_SEED, fork_ratio=DEFAULT_FORK_RATIO), 400
    name = random_name(*params)
    if mode == "yaml":
        return Response(random_text(*params), mimetype="text/yaml",
                        headers={"Content-Disposition": f'attachment; filename="{name}.yaml"'})
    return redirect(_links(name)[mode])


def _mode_page(template, mode):
    if request.args.get("scenario") is None and request.args.get("random") is None:
        names = sorted(_library().paths())
        default = DEFAULTS[mode] if DEFAULTS[mode] in names else (names[0] if names else None)
        if default is not None:
            return redirect(url_for(request.endpoint, **{**request.args, "scenario": default}))
    return render_template(template, scenarios=scenario_index(), kernels=KERNELS,
                           current=request.args.get("scenario") or "")


@bp.get("/compare")
def compare_page():
    """Compare mode: the page fetches /api/compare with its own query and the step."""
    return _mode_page("compare.html", "compare")


@bp.get("/quiz")
def quiz_page():
    """Quiz mode: the page fetches /api/quiz and /api/quiz/answer with its own query."""
    return _mode_page("quiz.html", "quiz")


# -- JSON endpoints ------------------------------------------------------------------------

@bp.get("/api/scenarios")
def api_scenarios():
    """[{name, title, kernel, race, schedule, steps, description, error}] in name order."""
    return jsonify(scenario_index())


@bp.get("/api/random")
def api_random():
    """?seed=S&actions=K[&kernel=reaper|classic&fork_ratio=F] -> {name, title, text,
    seed, actions, kernel, fork_ratio, links}."""
    seed, actions, kernel, ratio = params = _random_from_args(request.args, "seed")
    name = random_name(*params)
    text = random_text(*params)
    return jsonify({"name": name, "title": parse_scenario(text, f"{name}.yaml").title,
                    "seed": seed, "actions": actions, "kernel": kernel, "fork_ratio": ratio,
                    "text": text, "links": _links(name)})


_comparisons = OrderedDict()
_comparisons_lock = threading.Lock()


def comparison(run, cache_size=8):
    """The Comparison of a run's scenario, cached by its text (read-only once built)."""
    key = hashlib.sha256(run.text.encode("utf-8")).hexdigest()
    with _comparisons_lock:
        found = _comparisons.get(key)
        if found is not None:
            _comparisons.move_to_end(key)
            return found
    try:
        found = Comparison(run.scenario)
    except (ScenarioError, EngineError) as e:
        raise APIError(400, "cannot_compare",
                       f"this scenario does not run under both kernels: {e}") from None
    with _comparisons_lock:
        _comparisons[key] = found
        while len(_comparisons) > cache_size:
            _comparisons.popitem(last=False)
    return found


PANE_KEYS = ("pid", "name", "ppid", "state", "nthreads", "blocked", "xstat", "flags", "lwps")


def pane_procs(doc):
    """The rows a compare pane draws: each process's tree fields, and its reaper node if
    it owns one."""
    owned = {r["owner"]: r for r in doc.get("reapers", {}).values() if r.get("owner") is not None}
    rows = []
    for p in sorted(doc["procs"].values(), key=lambda p: p["pid"]):
        row = {k: p.get(k) for k in PANE_KEYS}
        row["xstat_text"] = xstat_text(p["state"], p["xstat"])
        node = owned.get(p["pid"])
        row["reaper_node"] = {"id": node["id"], "refs": node["refs"]} if node else None
        rows.append(row)
    return rows


def _who(doc, pid):
    p = doc["procs"].get(str(pid))
    return f"{p['name']} ({pid})" if p else f"pid {pid}"


VALUE_WORDS = ("blocked", "nthreads", "xstat")     # fields whose values say what they are


def _value(field, v):
    if field == "flags":
        return "|".join(v) if v else "none"
    if field == "blocked":
        return f"asleep in {v}" if v else "not asleep"
    if field == "nthreads":
        return f"{v} thread" + ("" if v == 1 else "s")
    if field == "xstat":
        return "no exit status" if v is None else f"exit status word {v}"
    return str(v)


def describe_diff(d, classic, reaper):
    """One difference in words, e.g. "b (pid 4): parent init (1) under classic, sh (2)
    under reaper"."""
    head = f"{d['name']} (pid {d['pid']})"
    f = d["field"]
    if f == "exists":
        only, other = ("classic", "reaper") if d["a"] else ("reaper", "classic")
        return f"{head}: exists under {only} only (reaped or never created under {other})"
    if f == "ppid":
        return (f"{head}: parent {_who(classic, d['a'])} under classic, "
                f"{_who(reaper, d['b'])} under reaper")
    what = {"state": "state ", "flags": "flags "}.get(f, "" if f in VALUE_WORDS else f"{f} ")
    return (f"{head}: {what}{_value(f, d['a'])} under classic, "
            f"{_value(f, d['b'])} under reaper")


@bp.get("/api/compare")
def api_compare():
    """?scenario=NAME (or ?random=...) &step=N (0..M, default 0) -> {scenario, steps, step,
    command, panes: {classic, reaper} each {label, procs, result, events}, diffs}.
    Each diff is {pid, name, field, a (classic), b (reaper), text}."""
    run = _open_run(request.args)
    cmp = comparison(run)
    n = _int_arg("step", 0, cmp.steps, default=0)
    classic, reaper, diffs = cmp.at_step(n)
    step = run.scenario.steps[n - 1] if n else None
    panes = {}
    for kernel, doc in (("classic", classic), ("reaper", reaper)):
        tl = cmp.runs[kernel]
        panes[kernel] = {"label": KERNELS[kernel], "procs": pane_procs(doc),
                         "result": step_result(tl, n) if n else None,
                         "events": step_events(tl, n) if n else []}
    return jsonify({
        "scenario": _meta(run), "steps": cmp.steps, "step": n,
        "command": f"{step.actor}: {step.command}" if step else None,
        "panes": panes,
        "diffs": [dict(d, text=describe_diff(d, classic, reaper)) for d in diffs]})


def quiz_question(run, n, kind, seed=0):
    """Question `kind` about step n of run's scenario, or None when no fair one can be
    asked there.  A fresh Quiz per question (on a copy: Quiz swaps the scenario's steps
    while it tries commands), seeded by `seed`, so the same request always gets the same
    options in the same order."""
    if run.scenario.schedule != "auto":
        raise APIError(400, "cannot_quiz", "quiz mode takes scenarios under schedule: auto")
    try:
        return Quiz(copy.copy(run.scenario), seed=seed).question(n, kind)
    except (ScenarioError, EngineError) as e:
        raise APIError(400, "cannot_quiz", f"step {n} cannot be asked about: {e}") from None


def _kinds(pref, n):
    if pref == "mixed":
        return STEP_KINDS if n % 2 else STEP_KINDS[::-1]
    return (pref,)


def next_question(run, start, pref="mixed", seed=0):
    """The first fair question from step `start` on (a step whose command leaves the tree
    as it was makes none), or None at the end.  kind "final" is one question about the
    whole scenario."""
    if pref == "final":
        return quiz_question(run, start, "final", seed)
    for n in range(start, len(run.scenario.steps) + 1):
        for kind in _kinds(pref, n):
            q = quiz_question(run, n, kind, seed)
            if q is not None:
                return q
    return None


def handout(run, pref="mixed", seed=0, limit=MAX_HANDOUT):
    """The questions of a printed handout: what the page would ask one after the other
    (at most `limit`), then, for mixed and final, the final-tree question."""
    out = []
    n = 1
    while pref != "final" and len(out) < limit:
        q = next_question(run, n, pref, seed)
        if q is None:
            break
        out.append(q)
        n = q["step"] + 1
    if pref in ("mixed", "final") and len(out) < limit + 1:
        q = quiz_question(run, len(run.scenario.steps), "final", seed)
        if q is not None:
            out.append(q)
    return out


def _public(q):
    """A question without its answer (and without what its wrong options stand for)."""
    return {k: v for k, v in q.items() if k not in ("answer", "accept", "misconceptions")}


def _seed_arg():
    """?seed=S (the older ?shuffle=S too): the answer positions' seed, 0 by default."""
    key = "seed" if request.args.get("seed") not in (None, "") else "shuffle"
    return _int_arg(key, 0, MAX_SEED, default=0)


def _kind_arg(kinds, default=None):
    kind = request.args.get("kind", default)
    if kind not in kinds:
        raise APIError(400, "bad_request",
                       f"kind must be {', '.join(kinds[:-1])} or {kinds[-1]}, not {kind!r}")
    return kind


@bp.get("/quiz/print")
def quiz_print():
    """A printable handout: every question of the scenario (kind and seed as the quiz
    page), answers on a last page shown by a toggle."""
    try:
        run = _open_run(request.args)
        total = len(run.scenario.steps)
        kind = _kind_arg(("mixed",) + QUIZ_KINDS, "mixed")
        seed = _seed_arg()
        qs = handout(run, kind, seed) if total else []
    except APIError as e:
        return render_template("quiz_print.html", scenarios=scenario_index(), kernels=KERNELS,
                               current=request.args.get("scenario") or "", error=e.message,
                               meta=None, questions=[], kind="mixed", seed=0), e.status
    answers = request.args.get("answers") in ("1", "true", "yes", "on")
    return render_template("quiz_print.html", scenarios=scenario_index(), kernels=KERNELS,
                           current=run.name, error=None, meta=_meta(run), questions=qs,
                           kind=kind, seed=seed, answers=answers, letters="ABCDEFGH",
                           limit=MAX_HANDOUT)


@bp.get("/api/quiz")
def api_quiz():
    """?scenario=NAME (or ?random=...) &step=N (1..M, default 1)
    &kind=mixed|predict|which|final &seed=S -> {scenario, steps, done, question}: the
    first fair question from step N on (question.step says which), without its answer;
    done when none is left."""
    run = _open_run(request.args)
    total = len(run.scenario.steps)
    kind = _kind_arg(("mixed",) + QUIZ_KINDS, "mixed")
    n = _int_arg("step", 1, max(total, 1), default=1)
    seed = _seed_arg()
    q = next_question(run, n, kind, seed) if total else None
    return jsonify({"scenario": _meta(run), "steps": total, "done": q is None, "seed": seed,
                    "question": _public(q) if q else None})


def run_events(timeline, limit=MAX_STEP_EVENTS):
    """The first events of the whole run (a final-tree question's explanation)."""
    return [{**{k: ev.get(k) for k in ("seq", "name", "kind", "summary", "seed", "violation")},
             "cite": cite_json(ev.get("seed"))} for ev in timeline.events[:limit]]


@bp.get("/api/quiz/answer")
def api_quiz_answer():
    """?scenario=NAME (or ?random=...) &step=N &kind=predict|which|final &choice=I &seed=S
    -> {correct, choice, answer, accept, misconceptions, step, kind, command, after,
    result, events}: the verdict on option I, the right option, what each wrong option
    stands for, and what the step (for final: the scenario) really did."""
    run = _open_run(request.args)
    total = len(run.scenario.steps)
    if total == 0:
        raise APIError(400, "bad_request", "the scenario has no steps")
    n = _int_arg("step", 1, total)
    kind = _kind_arg(QUIZ_KINDS)
    seed = _seed_arg()
    q = quiz_question(run, n, kind, seed)
    if q is None:
        raise APIError(400, "bad_request", f"step {n} has no fair {kind} question")
    choice = _int_arg("choice", 0, len(q["options"]) - 1)
    step = run.scenario.steps[q["step"] - 1]
    after = q["after"] if kind == "which" else q["options"][q["answer"]]
    final = kind == "final"
    return jsonify({"correct": choice in q["accept"], "choice": choice, "answer": q["answer"],
                    "accept": q["accept"], "misconceptions": q["misconceptions"],
                    "step": q["step"], "kind": kind,
                    "command": "every step" if final else f"{step.actor}: {step.command}",
                    "after": after,
                    "result": None if final else step_result(run.timeline, n),
                    "events": run_events(run.timeline) if final
                    else step_events(run.timeline, n)})


# -- errors ------------------------------------------------------------------------------

@bp.errorhandler(APIError)
def api_error(e):
    return jsonify({"error": {"code": e.code, "message": e.message}}), e.status


@bp.app_errorhandler(404)
@bp.app_errorhandler(405)
def api_not_found(e):
    """An unknown /api/ address or method gets JSON too; other pages keep Flask's answer."""
    if request.path.startswith("/api/"):
        return jsonify({"error": {"code": e.name.lower().replace(" ", "_"),
                                  "message": f"{request.method} {request.path}: {e.name}"}}), e.code
    return e


@bp.errorhandler(Exception)
def unexpected(e):
    """Anything else: HTTP errors keep their status; a bug is logged and answered 500,
    as JSON for the endpoints, never with a traceback."""
    if isinstance(e, HTTPException):
        if request.path.startswith("/api/"):
            return jsonify({"error": {"code": e.name.lower().replace(" ", "_"),
                                      "message": e.description}}), e.code
        return e
    log.exception("%s failed", request.path)
    if request.path.startswith("/api/"):
        return jsonify({"error": {"code": "internal",
                                  "message": "the server failed on this request (logged)"}}), 500
    return Response("ptree: the server failed on this page (logged)", status=500,
                    mimetype="text/plain")
