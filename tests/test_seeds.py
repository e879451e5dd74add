"""The seed sources: references read back into seed lines (engine.seeds.cite), the numbered
listings split into lines (split_listing), their C highlighted per line (webui.source), the
`/api/seed/KEY` endpoint, and what the explorer's messages carry for the Kernel source pane."""

import html
import re
from functools import cache
from pathlib import Path

import pytest
from ptree.engine.scenario import load_scenario_file
from ptree.engine.seeds import NOT_SEEDS, SEED_FILES, cite, split_listing
from ptree.engine.timeline import Timeline
from ptree.webui.source import SEED_DIR, highlight_lines, seed_listing

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "seeds"
BUNDLED = sorted((ROOT / "scenarios").glob("*.yaml"))


@cache
def listing(key):
    return split_listing((SEED_DIR / SEED_FILES[key].filename).read_text(encoding="utf-8"))


@cache
def timeline(path):
    return Timeline(load_scenario_file(path))


# -- references ------------------------------------------------------------------------------

@pytest.mark.parametrize("source, refs, others", [
    ("F000:373-662", [("F000", [(373, 662)], "", "")], []),
    ("E003:684, 687-693", [("E003", [(684, 684), (687, 693)], "", "")], []),
    ("E003:1138-1144, 753-773", [("E003", [(1138, 1144), (753, 773)], "", "")], []),
    ("F000:856-867 reaper_init F000:953-968",
     [("F000", [(856, 867)], "", ""), ("F000", [(953, 968)], "reaper_init", "")], []),
    ("E003:482-488; E2014 reaper_exit F000:977-1003",
     [("E003", [(482, 488)], "", ""), ("F000", [(977, 1003)], "reaper_exit", "")], ["E2014"]),
    ("E2014 reparent loop; F000:1015-1084",
     [("F000", [(1015, 1084)], "", "")], ["E2014 reparent loop"]),
    ("E2014 PS_NOCLDWAIT|PS_CLDSIGIGN", [], ["E2014 PS_NOCLDWAIT|PS_CLDSIGIGN"]),
    ("F000:843 (absent before 2014)", [("F000", [(843, 843)], "", "absent before 2014")], []),
    ("kern_exec.c (not a seed); E003:225-228",
     [("E003", [(225, 228)], "", "")], ["kern_exec.c (not a seed)"]),
    ("kern_sig.c (not a seed); rule 39", [], ["kern_sig.c (not a seed)", "rule 39"]),
    ("rule 40 (pre-fix lwp_wait)", [], ["rule 40 (pre-fix lwp_wait)"]),
    ("E003:1131", [("E003", [(1131, 1131)], "", "")], []),
    ("", [], []),
])
def test_a_reference_reads_into_seed_lines_and_the_rest(source, refs, others):
    c = cite(source)
    assert [(r.key, list(r.ranges), r.label, r.remark) for r in c.refs] == refs
    assert list(c.others) == others


def test_a_citation_reads_as_file_lines_and_year():
    assert cite("F000:548-566").text() == "kern_fork.c:548-566 (2014)"
    assert cite("E003:684, 687-693").text() == "kern_exit.c:684, 687-693 (2011)"
    assert cite("F001:361-577").text() == "kern_fork.c:361-577 (2010)"
    assert cite("E2014 reparent loop; F000:1015-1084").text() == \
        "kern_exit.c (2014) reparent loop; kern_fork.c:1015-1084 (2014)"
    assert "seed 003: sys/kern/kern_exit.c at 2af9d75dac79" in cite("E003:591-685").title()
    assert cite("E003:684, 687-693").refs[0].lines == [684, *range(687, 694)]


def test_a_citation_says_why_what_is_not_a_seed_has_no_lines():
    others = cite("kern_sig.c (not a seed); rule 39").as_json()["others"]
    assert [o["text"] for o in others] == ["kern_sig.c (not a seed)", "rule 39"]
    assert "not one of the seeds" in others[0]["why"]
    assert "rule" in others[1]["why"]
    e2014 = cite("E2014 PS_NOCLDWAIT|PS_CLDSIGIGN").as_json()
    assert e2014["refs"] == []
    assert e2014["others"][0]["why"] == NOT_SEEDS["E2014"][2]


@cache
def engine_citations():
    """{seed reference: {profiles}} over every event of every bundled scenario."""
    out = {}
    for path in BUNDLED:
        tl = timeline(path)
        for ev in tl.events:
            out.setdefault(ev["seed"], set()).add(tl.scenario.kernel)
    return out


def test_every_reference_the_engine_makes_names_lines_its_seed_has():
    for source in engine_citations():
        for r in cite(source).refs:
            n = len(listing(r.key)[1])
            assert all(1 <= a <= b <= n for a, b in r.ranges), (source, n)
        for other in cite(source).others:
            # Whatever is not a seed line says what it is: a non-seed file, a rule, E2014.
            assert "not a seed" in other or other.startswith(("rule", "E2014")), source


def test_each_kernel_cites_its_own_seeds():
    """reaper (2014) never cites the 2010 kern_fork.c; classic (2008-2011) cites the 2014
    one only for procctl, which it does not have."""
    for source, profiles in engine_citations().items():
        keys = {r.key for r in cite(source).refs}
        if "reaper" in profiles:
            assert "F001" not in keys, source
        if "classic" in profiles and "F000" in keys:
            assert cite(source).refs[0].remark == "absent before 2014", source


# -- listings --------------------------------------------------------------------------------

@pytest.mark.parametrize("key", sorted(SEED_FILES))
def test_the_shipped_seeds_are_the_shared_ones_unchanged(key):
    name = SEED_FILES[key].filename
    if not (SHARED / name).exists():
        pytest.skip("no ../shared/seeds beside this checkout")
    assert (SEED_DIR / name).read_bytes() == (SHARED / name).read_bytes()


@pytest.mark.parametrize("key, count, path", [
    ("F000", 1084, "sys / kern / kern_fork.c"), ("F001", 724, "sys / kern / kern_fork.c"),
    ("E003", 1159, "sys / kern / kern_exit.c")])
def test_a_numbered_listing_splits_into_its_numbered_lines(key, count, path):
    header, lines = listing(key)
    assert header[1].endswith(path)
    assert [n for n, _ in lines] == list(range(1, count + 1))
    raw = (SEED_DIR / SEED_FILES[key].filename).read_text(encoding="utf-8").split("\n")
    for n, code in lines:
        # Line n's text is the listing's line after its number, no-break spaces as spaces.
        assert raw[n + 1] .replace("\xa0", " ").rstrip() == f"{n} {code}".rstrip()


def test_a_listing_keeps_code_and_indentation():
    f000 = dict(listing("F000")[1])
    assert f000[373] == "        p2 = kmalloc(sizeof(struct proc), M_PROC, M_WAITOK|M_ZERO);"
    e003 = dict(listing("E003")[1])
    assert e003[1159].startswith("SYSINIT(deadlwpinit,")
    assert "\xa0" not in "".join(f000.values())


def test_seed_004_without_line_breaks_splits_on_its_inline_numbers():
    header, lines = listing("F004")
    assert header == []
    assert [n for n, _ in lines] == list(range(1, 703))
    f004 = dict(lines)
    assert f004[1] == "/*"
    assert f004[2] == "* Copyright (c) 1982, 1986, 1989, 1991, 1993"
    assert f004[9] == "*"
    assert f004[10].startswith("* Redistribution")  # "10" also stands alone later on
    assert f004[700] == 'tsleep(lp1->lwp_proc, 0, "ppwait", 0);'
    assert f004[702] == ""
    # Every piece of the text is in exactly one line: nothing lost between numbers.
    text = (SEED_DIR / SEED_FILES["F004"].filename).read_text(encoding="utf-8")
    assert " ".join(f"{n} {c}" for n, c in lines).split() == text.split()


# -- highlighting ----------------------------------------------------------------------------

def text_of(fragment):
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).expandtabs(8)


def test_highlighting_gives_one_balanced_fragment_per_line():
    codes = ["/*", " * a comment", " */", "int", "fork1(struct lwp *lp1, int flags)", "{",
             '\tif (x < 1 && y > 2) return "a<b>";', "}", ""]
    out = highlight_lines(codes)
    assert len(out) == len(codes)
    for frag, code in zip(out, codes, strict=True):
        assert frag.count("<span") == frag.count("</span>")
        assert text_of(frag) == code.expandtabs(8)
    assert all('class="cm"' in frag for frag in out[:3])   # the comment on each of its lines
    assert '<span class="kt">int</span>' in out[3]
    assert '<span class="k">return</span>' in out[6]
    assert "&lt;" in out[6] and "&amp;&amp;" in out[6]


@pytest.mark.parametrize("key", sorted(SEED_FILES))
def test_a_seed_highlighted_holds_its_text_line_by_line(key):
    data = seed_listing(key)
    assert (data["key"], data["seed"], data["file"]) == \
        (key, SEED_FILES[key].number, SEED_FILES[key].name)
    assert [n for n, _ in data["lines"]] == [n for n, _ in listing(key)[1]]
    for (_, frag), (_, code) in zip(data["lines"], listing(key)[1], strict=True):
        assert text_of(frag) == code


def test_the_seed_endpoint(app):
    client = app.test_client()
    res = client.get("/api/seed/E003")
    assert res.status_code == 200
    body = res.get_json()
    assert (body["file"], body["commit"], body["date"]) == ("kern_exit.c", "2af9d75dac79",
                                                            "2011-11-28")
    assert len(body["lines"]) == 1159
    assert text_of(body["lines"][590][1]) == dict(listing("E003")[1])[591]
    assert "max-age" in res.headers["Cache-Control"]
    bad = client.get("/api/seed/E2014")
    assert bad.status_code == 404
    assert bad.get_json()["error"]["code"] == "not_found"


# -- what the explorer is sent ---------------------------------------------------------------

def messages(sio, name):
    return [m["args"][0] for m in sio.get_received() if m["name"] == name]


def test_the_log_comes_with_its_citations_and_reaps(sio):
    sio.emit("open", {"name": "orphans-and-reapers"})
    snap = messages(sio, "snapshot")[0]
    assert set(snap["cites"]) == {ev["seed"] for ev in snap["events"]}
    assert snap["cites"]["E003:591-685"]["refs"][0]["ranges"] == [[591, 685]]
    reaps = [(ev["seq"], ev["reaped"]) for ev in snap["events"] if ev["reaped"] is not None]
    tl = timeline(ROOT / "scenarios" / "orphans-and-reapers.yaml")
    assert reaps == [(n, int(pid)) for n in range(1, tl.total + 1)
                     for pid in tl.doc_at(n - 1)["procs"] if pid not in tl.doc_at(n)["procs"]]
    sio.emit("step")
    diff = messages(sio, "diff")[0]
    assert diff["event"]["cite"] == snap["cites"][diff["event"]["seed"]]
