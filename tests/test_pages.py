"""The gallery, compare and quiz endpoints (webui/pages.py) through Flask's test client.

Expected values come from the engine itself (Comparison, Quiz, Timeline, randomgen), so
these tests say "the endpoint serves exactly the engine's answer", and every kind of bad
input gets a JSON error with 400 or 404, never a traceback.
"""

import copy
import re
from pathlib import Path

import pytest
from markupsafe import escape
from ptree.engine.compare import Comparison
from ptree.engine.quiz import Quiz
from ptree.engine.scenario import load_scenario_file, parse_scenario
from ptree.engine.timeline import Timeline
from ptree.webui import pages
from ptree.webui.app import create_app, socketio
from ptree.webui.cli import main as cli_main

ROOT = Path(__file__).resolve().parent.parent
E2E_SCENARIOS = ROOT / "tests" / "e2e" / "scenarios"
ORPHANS = "orphans-reaper"




@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="module")
def orphans():
    return load_scenario_file(ROOT / "scenarios" / f"{ORPHANS}.yaml")


def library_files():
    bundled = sorted((ROOT / "scenarios").glob("*/*.yaml")) + sorted(
        (ROOT / "scenarios").glob("*.yaml"))            # scenarios/traced/ too
    found = {p.stem: p for p in bundled}
    found.update({p.stem: p for p in sorted(E2E_SCENARIOS.glob("*.yaml"))})
    return found


def error_of(resp, status):
    assert resp.status_code == status, resp.get_data(as_text=True)
    body = resp.get_json()
    assert set(body) == {"error"} and body["error"]["message"], body
    assert "Traceback" not in resp.get_data(as_text=True)
    return body["error"]


# -- the index and the gallery ---------------------------------------------------------------

def test_api_scenarios_lists_bundled_and_extra_with_title_profile_description(client):
    listing = client.get("/api/scenarios").get_json()
    files = library_files()
    assert [s["name"] for s in listing] == sorted(files)
    for entry in listing:
        sc = load_scenario_file(files[entry["name"]])
        assert entry["title"] == (sc.title or entry["name"])
        assert entry["kernel"] == sc.kernel and entry["race"] == sc.race
        assert entry["steps"] == len(sc.steps)
        assert entry["description"] == " ".join((sc.description or "").split())
        assert entry["error"] is None
    assert any(e["name"] == "threads-and-handovers" for e in listing)   # from --scenarios


def test_gallery_shows_every_scenario_with_its_links(client):
    html = client.get("/gallery").get_data(as_text=True)
    for name, path in library_files().items():
        sc = load_scenario_file(path)
        assert f'data-name="{name}"' in html
        assert f'href="/compare?scenario={name}"' in html
        assert f'href="/quiz?scenario={name}"' in html
        assert f'href="/?scenario={name}"' in html
        assert str(escape(sc.title or name)) in html     # traced titles hold & < > too
    assert "kernel reaper (2014)" in html and "kernel classic (2008-2011)" in html
    assert 'name="seed"' in html and 'name="actions"' in html and 'name="fork_ratio"' in html


def test_a_bad_file_is_listed_with_its_error(tmp_path):
    (tmp_path / "broken.yaml").write_text("title: broken\nsteps:\n  - init: frobnicate\n")
    app = create_app({"ASYNC_MODE": "threading", "TESTING": True,
                      "EXTRA_SCENARIO_DIRS": [tmp_path]})
    client = app.test_client()
    entry = next(e for e in client.get("/api/scenarios").get_json() if e["name"] == "broken")
    assert re.match(r".*broken\.yaml:3: ", entry["error"])
    assert "Bad input: " in client.get("/gallery").get_data(as_text=True)
    err = error_of(client.get("/api/compare?scenario=broken"), 400)
    assert err["code"] == "bad_scenario" and "broken.yaml:3" in err["message"]


def test_mode_pages_default_to_a_scenario(client):
    assert client.get("/compare").headers["Location"] == "/compare?scenario=orphans-reaper"
    assert client.get("/quiz").headers["Location"] == "/quiz?scenario=orphans-and-reapers"
    for url in ("/compare?scenario=orphans-reaper", "/quiz?scenario=orphans-reaper",
                "/quiz?random=7&actions=20"):
        resp = client.get(url)
        assert resp.status_code == 200
        assert '<select id="scenario"' in resp.get_data(as_text=True)


# -- random scenarios ------------------------------------------------------------------------

def test_api_random_is_ptree_random(client, tmp_path):
    out = tmp_path / "r.yaml"
    assert cli_main(["random", "--seed", "11", "--actions", "30", "--kernel", "classic",
                     "--fork-ratio", "0.5", "-o", str(out)]) == 0
    body = client.get("/api/random?seed=11&actions=30&kernel=classic&fork_ratio=0.5").get_json()
    assert body["text"] == out.read_text()
    assert body["name"] == "random-11-30-classic-f0.5"
    assert body["title"] == "Random scenario, seed 11, 30 actions (classic)"
    assert body["links"] == {"explore": "/?scenario=random-11-30-classic-f0.5",
                             "compare": "/compare?scenario=random-11-30-classic-f0.5",
                             "quiz": "/quiz?scenario=random-11-30-classic-f0.5"}
    again = client.get("/api/random?seed=11&actions=30&kernel=classic&fork_ratio=0.50").get_json()
    assert again["text"] == body["text"] and again["name"] == body["name"]
    assert client.get("/api/random?seed=7&actions=5").get_json()["name"] == "random-7-5-reaper"


@pytest.mark.parametrize("query, message", [
    ("seed=-1&actions=5", "seed must be between 0"),
    ("seed=abc&actions=5", "seed must be a whole number"),
    ("actions=5", "seed must be a whole number"),
    ("seed=1&actions=0", "actions must be between 1 and 500"),
    ("seed=1&actions=501", "actions must be between 1 and 500"),
    ("seed=1&actions=1e9", "actions must be a whole number"),
    ("seed=1&actions=5&kernel=linux", "kernel must be classic or reaper"),
    ("seed=1&actions=5&fork_ratio=2", "fork ratio must be from 0 to 1"),
    ("seed=1&actions=5&fork_ratio=nan", "fork ratio must be from 0 to 1"),
    ("seed=1&actions=5&fork_ratio=lots", "fork ratio must be a number"),
])
def test_bad_random_parameters_are_400(client, query, message):
    err = error_of(client.get(f"/api/random?{query}"), 400)
    assert err["code"] == "bad_random" and message in err["message"]
    err = error_of(client.get(f"/api/quiz?{query.replace('seed=', 'random=')}"), 400)
    assert message in err["message"] if "seed=" in query else "?random=SEED" in err["message"]


def test_random_form_redirects_to_each_mode(client):
    q = "seed=3&actions=12&kernel=reaper&fork_ratio=0.35"
    assert client.get(f"/random?{q}&mode=explore").headers["Location"] == "/?scenario=random-3-12-reaper"
    assert client.get(f"/random?{q}&mode=compare").headers["Location"] == \
        "/compare?scenario=random-3-12-reaper"
    assert client.get(f"/random?{q}&mode=quiz").headers["Location"] == "/quiz?scenario=random-3-12-reaper"
    resp = client.get(f"/random?{q}&mode=yaml")
    assert resp.status_code == 200 and resp.mimetype == "text/yaml"
    assert 'filename="random-3-12-reaper.yaml"' in resp.headers["Content-Disposition"]
    assert resp.get_data(as_text=True) == pages.random_text(3, 12, "reaper", 0.35)
    bad = client.get("/random?seed=3&actions=9999&mode=quiz")
    assert bad.status_code == 400
    assert re.search(r'role="alert">actions must be between 1 and 500', bad.get_data(as_text=True))
    assert client.get(f"/random?{q}&mode=banana").status_code == 400


def test_random_names_round_trip_and_stay_bounded():
    params = pages.random_params("42", "17", "classic", "0.2")
    name = pages.random_name(*params)
    assert name == "random-42-17-classic-f0.2"
    assert pages.parse_random_name(name) == params
    assert pages.parse_random_name("random-42-17-reaper") == (42, 17, "reaper", 0.35)
    assert pages.parse_random_name("random-042-17-reaper") is None      # one spelling only
    assert pages.parse_random_name("orphans-reaper") is None
    with pytest.raises(ValueError, match="between 1 and 500"):
        pages.parse_random_name("random-1-100000-reaper")


def test_explorer_opens_a_random_scenario_by_name(app):
    """The main page's `open {name}` resolves random names, so /?scenario=random-... works."""
    client = socketio.test_client(app)
    client.get_received()
    client.emit("open", {"name": "random-5-25-classic"})
    snap = [m["args"][0] for m in client.get_received() if m["name"] == "snapshot"][0]
    text = pages.random_text(5, 25, "classic", 0.35)
    assert snap["scenario"]["text"] == text
    assert snap["scenario"]["name"] == "random-5-25-classic"
    assert snap["scenario"]["title"] == "Random scenario, seed 5, 25 actions (classic)"
    assert snap["total"] == Timeline(parse_scenario(text)).total
    client.emit("open", {"name": "random-5-9999-classic"})
    errors = [m["args"][0] for m in client.get_received() if m["name"] == "error"]
    assert errors and errors[0]["code"] == "not_found"
    client.disconnect()


# -- compare -------------------------------------------------------------------------------

def test_compare_serves_both_kernels_at_every_step(client, orphans):
    cmp = Comparison(orphans)
    for n in range(cmp.steps + 1):
        body = client.get(f"/api/compare?scenario={ORPHANS}&step={n}").get_json()
        classic, reaper, diffs = cmp.at_step(n)
        assert body["step"] == n and body["steps"] == cmp.steps == 10
        assert body["command"] == (f"{orphans.steps[n - 1].actor}: {orphans.steps[n - 1].command}"
                                   if n else None)
        for kernel, doc in (("classic", classic), ("reaper", reaper)):
            pane = body["panes"][kernel]
            assert pane["label"] == pages.KERNELS[kernel]
            assert {(p["pid"], p["ppid"], p["state"]) for p in pane["procs"]} == \
                {(p["pid"], p["ppid"], p["state"]) for p in doc["procs"].values()}
            if n:
                assert pane["result"]["step"] == n
                assert [e["seq"] for e in pane["events"]] == [
                    e["seq"] for e in pages.step_events(cmp.runs[kernel], n)]
        assert [{k: d[k] for k in ("pid", "name", "field", "a", "b")} for d in body["diffs"]] == diffs


def test_compare_after_the_exit_names_the_orphans_parents(client):
    body = client.get(f"/api/compare?scenario={ORPHANS}&step=6").get_json()
    assert body["command"] == "a: exit 0"
    assert [d["text"] for d in body["diffs"]] == [
        "b (pid 4): parent init (1) under classic, sh (2) under reaper",
        "c (pid 5): parent init (1) under classic, sh (2) under reaper"]
    ppid = {k: {p["name"]: p["ppid"] for p in body["panes"][k]["procs"]} for k in pages.KERNELS}
    assert ppid["classic"]["b"] == ppid["classic"]["c"] == 1
    assert ppid["reaper"]["b"] == ppid["reaper"]["c"] == 2
    sh = next(p for p in body["panes"]["reaper"]["procs"] if p["name"] == "sh")
    assert sh["reaper_node"] == {"id": 2, "refs": 3}
    # procctl does not exist in classic: the step's results differ as well.
    two = client.get(f"/api/compare?scenario={ORPHANS}&step=2").get_json()
    assert two["panes"]["classic"]["result"]["errno"] == "ENOSYS"
    assert two["panes"]["reaper"]["result"]["ret"] == 0
    nine = client.get(f"/api/compare?scenario={ORPHANS}&step=9").get_json()
    assert "b (pid 4): exists under classic only" in nine["diffs"][0]["text"]


def test_compare_random_scenario(client):
    body = client.get("/api/compare?random=9&actions=40&kernel=reaper&step=40").get_json()
    sc = parse_scenario(pages.random_text(9, 40, "reaper", 0.35))
    assert body["steps"] == 40 and body["scenario"]["name"] == "random-9-40-reaper"
    assert [{k: d[k] for k in ("pid", "field")} for d in body["diffs"]] == \
        [{"pid": d["pid"], "field": d["field"]} for d in Comparison(sc).at_step(40)[2]]


@pytest.mark.parametrize("query, status, code", [
    ("scenario=no-such-thing", 404, "not_found"),
    ("", 400, "bad_request"),
    (f"scenario={ORPHANS}&step=-1", 400, "bad_request"),
    (f"scenario={ORPHANS}&step=11", 400, "bad_request"),
    (f"scenario={ORPHANS}&step=six", 400, "bad_request"),
    ("scenario=random-1-501-reaper", 400, "bad_random"),
    ("random=1&actions=x", 400, "bad_random"),
])
def test_compare_bad_input(client, query, status, code):
    assert error_of(client.get(f"/api/compare?{query}"), status)["code"] == code


def test_a_failure_inside_is_a_json_500_without_traceback(client, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("secret internals")
    monkeypatch.setattr(pages, "Comparison", boom)
    pages._comparisons.clear()
    resp = client.get(f"/api/compare?scenario={ORPHANS}&step=1")
    err = error_of(resp, 500)
    assert err["code"] == "internal" and "secret" not in resp.get_data(as_text=True)
    assert error_of(client.get("/api/no-such-endpoint"), 404)["code"] == "not_found"
    pages._comparisons.clear()


# -- quiz ------------------------------------------------------------------------------------

def engine_question(sc, n, kind, seed=0):
    return Quiz(copy.copy(sc), seed=seed).question(n, kind)


def test_quiz_questions_come_without_their_answers(client, orphans):
    step, seen = 1, []
    while True:
        body = client.get(f"/api/quiz?scenario={ORPHANS}&step={step}").get_json()
        assert body["steps"] == 10 and body["scenario"]["name"] == ORPHANS
        if body["done"]:
            break
        q = body["question"]
        assert "answer" not in q and "accept" not in q and "misconceptions" not in q
        assert q["step"] >= step and len(q["options"]) >= 2
        want = engine_question(orphans, q["step"], q["kind"])
        assert q == {k: v for k, v in want.items()
                     if k not in ("answer", "accept", "misconceptions")}
        seen.append((q["step"], q["kind"]))
        step = q["step"] + 1
        if step > 10:
            assert client.get(f"/api/quiz?scenario={ORPHANS}&step=10").get_json()["question"]
            break
    assert {k for _, k in seen} == {"predict", "which"}        # mixed mode asks both kinds
    assert [s for s, _ in seen] == sorted(s for s, _ in seen)


def test_quiz_kind_is_honoured(client):
    for kind in ("predict", "which"):
        q = client.get(f"/api/quiz?scenario={ORPHANS}&step=6&kind={kind}").get_json()["question"]
        assert q["kind"] == kind and q["step"] >= 6
    q = client.get(f"/api/quiz?scenario={ORPHANS}&step=6&kind=predict").get_json()["question"]
    assert q["command"] == "a: exit 0"


def test_quiz_answer_checks_against_accept_and_explains(client, orphans):
    for kind in ("predict", "which"):
        want = engine_question(orphans, 6, kind)
        for choice in range(len(want["options"])):
            body = client.get(f"/api/quiz/answer?scenario={ORPHANS}&step=6&kind={kind}"
                              f"&choice={choice}").get_json()
            assert body["correct"] is (choice in want["accept"])
            assert body["answer"] == want["answer"] and body["accept"] == want["accept"]
            assert body["command"] == "a: exit 0"
            assert body["result"]["command"] == "exit 0"
            assert body["after"] == (want["after"] if kind == "which"
                                     else want["options"][want["answer"]])
    body = client.get(f"/api/quiz/answer?scenario={ORPHANS}&step=6&kind=predict&choice=0").get_json()
    tl = Timeline(orphans)
    own = [ev["seq"] for ev in tl.events if ev["step"] == 6]
    assert [ev["seq"] for ev in body["events"]][:len(own)] == own
    assert any("orphan" in ev["summary"] or "reparent" in ev["kind"] for ev in body["events"])


def test_step_events_include_the_kernel_work_that_follows():
    tl = Timeline(load_scenario_file(ROOT / "scenarios" / "multi-threaded-exit.yaml"))
    step5 = [ev["seq"] for ev in pages.step_events(tl, 5)]
    start = min(ev["seq"] for ev in tl.events if ev["step"] == 5)
    end = min(ev["seq"] for ev in tl.events if ev["step"] == 6)
    assert step5 == list(range(start, end))
    assert any(tl.events[s - 1]["step"] is None for s in step5)     # the killed LWPs' exits


def test_quiz_on_a_random_scenario(client):
    body = client.get("/api/quiz?random=7&actions=20&kernel=classic").get_json()
    sc = parse_scenario(pages.random_text(7, 20, "classic", 0.35))
    q = body["question"]
    assert body["scenario"]["name"] == "random-7-20-classic" and body["steps"] == 20
    want = engine_question(sc, q["step"], q["kind"])
    assert q["options"] == want["options"]
    right = client.get(f"/api/quiz/answer?random=7&actions=20&kernel=classic&step={q['step']}"
                       f"&kind={q['kind']}&choice={want['answer']}").get_json()
    assert right["correct"] is True


@pytest.mark.parametrize("path, query, status", [
    ("/api/quiz", "scenario=nope", 404),
    ("/api/quiz", f"scenario={ORPHANS}&step=0", 400),
    ("/api/quiz", f"scenario={ORPHANS}&step=11", 400),
    ("/api/quiz", f"scenario={ORPHANS}&kind=guess", 400),
    ("/api/quiz", f"scenario={ORPHANS}&shuffle=-2", 400),
    ("/api/quiz/answer", f"scenario={ORPHANS}&step=6&kind=predict", 400),
    ("/api/quiz/answer", f"scenario={ORPHANS}&step=6&kind=predict&choice=9", 400),
    ("/api/quiz/answer", f"scenario={ORPHANS}&step=6&kind=predict&choice=-1", 400),
    ("/api/quiz/answer", f"scenario={ORPHANS}&step=6&kind=mixed&choice=0", 400),
    ("/api/quiz/answer", f"scenario={ORPHANS}&step=99&kind=which&choice=0", 400),
    ("/api/quiz/answer", "scenario=nope&step=1&kind=which&choice=0", 404),
])
def test_quiz_bad_input(client, path, query, status):
    error_of(client.get(f"{path}?{query}"), status)


def test_differences_in_words():
    docs = {"procs": {"1": {"name": "init"}, "2": {"name": "sh"}}}
    said = {f: pages.describe_diff({"pid": 5, "name": "p4", "field": f, "a": a, "b": b}, docs, docs)
            for f, a, b in [("ppid", 1, 2), ("state", "SZOMB", "SACTIVE"), ("nthreads", 1, 2),
                            ("flags", [], ["P_WEXIT"]), ("blocked", None, "killlwps"),
                            ("xstat", 768, None), ("exists", False, True)]}
    assert said == {
        "ppid": "p4 (pid 5): parent init (1) under classic, sh (2) under reaper",
        "state": "p4 (pid 5): state SZOMB under classic, SACTIVE under reaper",
        "nthreads": "p4 (pid 5): 1 thread under classic, 2 threads under reaper",
        "flags": "p4 (pid 5): flags none under classic, P_WEXIT under reaper",
        "blocked": "p4 (pid 5): not asleep under classic, asleep in killlwps under reaper",
        "xstat": "p4 (pid 5): exit status word 768 under classic, no exit status under reaper",
        "exists": "p4 (pid 5): exists under reaper only (reaped or never created under classic)",
    }


def test_mode_pages_keep_their_other_parameters_when_defaulting(client):
    assert client.get("/quiz?kind=which").headers["Location"] == \
        "/quiz?kind=which&scenario=orphans-and-reapers"
