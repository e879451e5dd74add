"""The explorer as a lecture hall sees it (issue 9): the whole tree in view at a projector's
1024×768 and at 1920×1080, the Kernel source pane showing the lines each event cites, LWP
marks that can be read, the timeline slider, projector mode and the keys overlay.

Every test runs against `ptree serve` in both async modes (the `server` fixture).  What a
scenario does comes from the engine (Timeline, engine.seeds.cite); what a seed line says
comes from the seed file itself.  Waiting is done on conditions: the tree's SVG says
`data-settled="true"` once no transition of its nodes or camera runs.
"""

import re
from functools import cache
from pathlib import Path

import pytest
from playwright.sync_api import expect
from ptree.engine.scenario import load_scenario_file
from ptree.engine.seeds import SEED_FILES, cite
from ptree.engine.timeline import Timeline

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = sorted(p.stem for p in (ROOT / "scenarios").glob("*.yaml"))
SEEDS = ROOT / "webui" / "seeds"


@cache
def timeline(name):
    path = ROOT / "scenarios" / f"{name}.yaml"
    if not path.exists():
        path = Path(__file__).parent / "scenarios" / f"{name}.yaml"
    return Timeline(load_scenario_file(path))


@cache
def seed_lines(key):
    """{number: text} of a numbered seed listing, read straight from the file: line N is
    the file's line that starts with `N ` after the two header lines, no-break spaces as
    spaces, whitespace runs as one space (the pane shows tabs for indentation)."""
    raw = (SEEDS / SEED_FILES[key].filename).read_text(encoding="utf-8").split("\n")[2:]
    out = {}
    for n, line in enumerate(raw, 1):
        number, _, code = line.replace("\xa0", " ").partition(" ")
        assert number == str(n), (key, n, line)
        out[n] = " ".join(code.split())
    return out


def settled_at(page, n):
    """Wait until the tree shows position n and nothing in it still moves."""
    tree = page.locator("#tree")
    expect(tree).to_have_attribute("data-seq", str(n))
    expect(tree).to_have_attribute("data-settled", "true")


def open_at(page, server, name, event=0, query=""):
    page.goto(server.url(f"/?scenario={name}&event={event}{query}"))
    expect(page.locator("#position")).to_have_text(
        f"Event {event} of {timeline(name).total}" if name in BUNDLED or event else
        re.compile(r"Event \d+ of \d+"))
    settled_at(page, event)


def slide_to(page, n, m):
    """Set the timeline slider to n (as a drag ends there) and wait for the tree."""
    page.get_by_role("slider", name="Event").fill(str(n))
    expect(page.locator("#position")).to_have_text(f"Event {n} of {m}")
    settled_at(page, n)


# Every drawn process node inside the tree's visible box, and the smallest label, in CSS px.
GEOMETRY = """() => {
  const box = document.getElementById('tree').getBoundingClientRect();
  const view = {left: Math.max(box.left, 0), top: Math.max(box.top, 0),
                right: Math.min(box.right, innerWidth), bottom: Math.min(box.bottom, innerHeight)};
  const out = {outside: [], label: Infinity, lwp: Infinity, nodes: 0};
  for (const g of document.querySelectorAll('#tree g.node[data-pid]')) {
    out.nodes += 1;
    const r = g.getBoundingClientRect();
    if (r.left < view.left - 0.5 || r.top < view.top - 0.5 || r.right > view.right + 0.5 ||
        r.bottom > view.bottom + 0.5) out.outside.push([g.dataset.pid, r.left, r.top, r.right, r.bottom]);
    out.label = Math.min(out.label, g.querySelector('.l1').getBoundingClientRect().height);
    for (const m of g.querySelectorAll('[data-tid]')) out.lwp = Math.min(out.lwp, m.getBoundingClientRect().height);
  }
  return out;
}"""


def sample_positions(total):
    """The last event and three in between."""
    return sorted({max(1, total // 4), max(1, total // 2), max(1, 3 * total // 4), total})


SIZES = [(1024, 768), (1920, 1080)]
NEXT_FRAME = "() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))"


def check_view(page, size, what, problems):
    """Resize to `size` (the view refits at once) and note what is out of view or small."""
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.wait_for_function(f"innerWidth === {size[0]} && innerHeight === {size[1]}")
    page.evaluate(NEXT_FRAME)      # the tree's ResizeObserver has refitted by then
    g = page.evaluate(GEOMETRY)
    where = f"{what} at {size[0]}x{size[1]}"
    if g["outside"]:
        problems.append(f"{where}: outside the view: {g['outside']}")
    if g["nodes"] <= 15 and g["label"] < 16:
        problems.append(f"{where}: labels {g['label']:.1f} px")
    if g["nodes"] <= 15 and g["lwp"] < 14:
        problems.append(f"{where}: LWP marks {g['lwp']:.1f} px")


def test_every_scenario_stays_in_view_with_readable_labels(server, watched):
    """At a projector's 1024×768 and at 1920×1080, every process node of every bundled
    scenario lies inside the tree's box at the last event and three in between, and a tree
    of up to 15 processes keeps its `PID NAME` labels at 16 CSS px or more and its LWP
    marks at 14.  One page
    serves every scenario (picked in the Scenario box, moved along by the slider), and short
    animations (reduced motion) keep the test fast: the positions reached are the same."""
    page = watched
    page.set_viewport_size({"width": SIZES[0][0], "height": SIZES[0][1]})
    page.emulate_media(reduced_motion="reduce")
    open_at(page, server, BUNDLED[0])
    problems = []
    sizes = list(SIZES)
    for name in BUNDLED:
        m = timeline(name).total
        if name != BUNDLED[0]:
            page.get_by_role("combobox", name="Scenario").select_option(name)
            expect(page.locator("#position")).to_have_text(f"Event 0 of {m}")
        for n in sample_positions(m):
            slide_to(page, n, m)
            for size in sizes:
                check_view(page, size, f"{name} event {n}", problems)
            sizes.reverse()          # the next position starts at the size this one ended at
    assert problems == []


def test_the_view_refits_when_the_window_changes(server, watched):
    page = watched
    name = "reaper-get-splice"
    m = timeline(name).total
    page.set_viewport_size({"width": 1920, "height": 1080})
    open_at(page, server, name, m)
    page.set_viewport_size({"width": 1024, "height": 768})
    expect(page.locator("#tree")).to_have_attribute("data-settled", "true")
    page.wait_for_function(f"(() => {{ const g = ({GEOMETRY})(); return g.outside.length === 0; }})")


# -- the Kernel source pane ------------------------------------------------------------------

def expected_marks(ev):
    """(seed key, {line numbers}) the pane must mark for ev: its first reference's file,
    every range cited in that file; (None, set()) when it cites no seed line."""
    refs = cite(ev["seed"]).refs
    if not refs:
        return None, set()
    key = refs[0].key
    return key, {n for r in refs if r.key == key for n in r.lines}


def check_source(page, ev):
    region = page.get_by_role("region", name="Kernel source")
    key, lines = expected_marks(ev)
    marked = region.locator("[data-line]")
    if key is None:
        expect(marked).to_have_count(0)
        expect(region).to_contain_text("No seed lines to show")
        return
    seed = SEED_FILES[key]
    expect(region.locator(".source-file")).to_contain_text(f"{seed.name} · seed {seed.number}")
    expect(marked).to_have_count(len(lines))
    shown = page.evaluate("""() => [...document.querySelectorAll('#source [data-line]')]
        .map((li) => [Number(li.dataset.line), li.querySelector('code').textContent])""")
    assert {n for n, _ in shown} == lines, ev["seed"]
    text = seed_lines(key)
    for n, code in shown:
        assert " ".join(code.split()) == text[n], (key, n)
    # The first cited line is scrolled into the pane's view.
    first = region.locator(f'[data-line="{refs_first_line(ev)}"]')
    expect(first).to_be_in_viewport()


def refs_first_line(ev):
    return cite(ev["seed"]).refs[0].ranges[0][0]


@pytest.mark.parametrize("name", ["orphans-and-reapers", "fork-and-wait-classic"])
def test_the_source_pane_follows_every_step_and_back(server, watched, name):
    """Each event of a reaper (2014) and a classic (2008-2011) scenario shows its own seed's
    lines, marked, with the seed's text; Back shows the previous event's again."""
    page = watched
    page.set_viewport_size({"width": 1024, "height": 768})
    tl = timeline(name)
    open_at(page, server, name)
    region = page.get_by_role("region", name="Kernel source")
    expect(region).to_contain_text("Boot state")
    for ev in tl.events:
        page.keyboard.press("ArrowRight")
        expect(page.locator("#position")).to_have_text(f"Event {ev['seq']} of {tl.total}")
        check_source(page, ev)
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#position")).to_have_text(f"Event {tl.total - 1} of {tl.total}")
    check_source(page, tl.events[-2])


def test_events_citing_no_seed_say_so_and_citations_open_from_the_log(server, watched):
    page = watched
    name = "signals-and-sleeps"
    tl = timeline(name)
    kill = next(ev for ev in tl.events if ev["kind"] == "kill")
    open_at(page, server, name, kill["seq"])
    check_source(page, kill)
    region = page.get_by_role("region", name="Kernel source")
    expect(region).to_contain_text("kern_sig.c (not a seed)")
    expect(region).to_contain_text("no seed file")
    # A log entry's citation opens that event's lines in the pane.
    fork = next(ev for ev in tl.events if ev["kind"] == "fork1")
    page.get_by_role("list", name="Event log").locator(
        f'li[data-seq="{fork["seq"]}"] .cite').click()
    expect(page.locator("#position")).to_have_text(f"Event {fork['seq']} of {tl.total}")
    check_source(page, fork)


def test_a_2014_zombie_cites_two_files_and_shows_either(server, watched):
    page = watched
    name = "orphans-and-reapers"
    tl = timeline(name)
    ev = next(e for e in tl.events if e["kind"] == "proc_move_allproc_zombie")
    open_at(page, server, name, ev["seq"])
    check_source(page, ev)
    region = page.get_by_role("region", name="Kernel source")
    region.get_by_role("button", name="kern_fork.c:977-1003 (2014)").click()
    expect(region.locator(".source-file")).to_contain_text("kern_fork.c · seed 000")
    expect(region.locator("[data-line]")).to_have_count(27)
    expect(region.locator('[data-line="977"]')).to_be_in_viewport()
    expect(region).to_contain_text("kern_exit.c (2014): not a seed")


# -- LWPs ------------------------------------------------------------------------------------

LWP_MARKS = """() => [...document.querySelectorAll('#tree g.node [data-tid]')].map((m) => {
  const r = m.getBoundingClientRect();
  const label = m.querySelector('.lwp-label');
  const l = label.getBoundingClientRect();
  return {tid: m.dataset.tid, height: r.height, text: label.textContent,
          visible: l.width > 0 && l.height > 0 && getComputedStyle(label).visibility !== 'hidden'
                   && l.left >= r.left - 0.5 && l.right <= r.right + 0.5};
})"""


@pytest.mark.parametrize("name", ["multi-threaded-exit", "threads-and-handovers"])
def test_lwp_marks_are_labelled_and_tall_enough_at_1024(server, watched, name):
    page = watched
    page.set_viewport_size({"width": 1024, "height": 768})
    page.emulate_media(reduced_motion="reduce")
    tl = timeline(name)
    open_at(page, server, name)
    for n in sample_positions(tl.total):
        slide_to(page, n, tl.total)
        marks = page.evaluate(LWP_MARKS)
        assert marks, f"no LWP marks at event {n}"
        for mark in marks:
            assert mark["height"] >= 14, (n, mark)
            assert mark["visible"] and mark["text"].startswith(f"{mark['tid']} "), (n, mark)


def test_the_dead_lwp_list_names_each_lwp_and_its_process(server, watched):
    page = watched
    name = "threads-and-handovers"
    tl = timeline(name)
    n = next(k for k in range(tl.total + 1) if tl.doc_at(k)["deadlwps"])
    dead = tl.doc_at(n)["deadlwps"][0]
    proc = next(p for k in range(n + 1) for pid, p in tl.doc_at(k)["procs"].items()
                if int(pid) == dead["pid"])
    open_at(page, server, name, n)
    entry = page.get_by_role("region", name="Dead LWPs").get_by_role("listitem").first
    expect(entry).to_contain_text(proc["name"])
    expect(entry).to_contain_text(f"tid {dead['tid']}")
    expect(entry).to_contain_text(re.compile(r"exiting|TDF_EXITING|switched out"))


def test_the_race_shows_the_lwp_still_on_its_cpu_and_the_violation_points_at_it(server, watched):
    """Choice mode at the multi-LWP exit race: before the reaper frees a.1, the dead-LWP
    list says it is preempted, not switched out; at the violation its mark in a reads
    FREED and the violation's label names LWP 1."""
    import base64

    from ptree.engine.explore import explore

    page = watched
    trace = explore(load_scenario_file(ROOT / "scenarios" / "multi-lwp-exit-race.yaml")
                    ).violations[0].trace
    code = base64.urlsafe_b64encode("\n".join(trace).encode()).decode().rstrip("=")
    page.goto(server.url(f"/?scenario=multi-lwp-exit-race&choices={code}&event=999"))
    expect(page.locator("#position")).to_have_text(re.compile(r"Event ([1-9]\d*) of \1$"))
    n, _ = map(int, re.findall(r"\d+", page.locator("#position").inner_text()))
    settled_at(page, n)
    node = page.locator("#tree g.node.violated")
    expect(node.locator('[data-freed-tid="1"]')).to_contain_text("1 FREED")
    expect(node.locator(".violation-label")).to_contain_text("LWP 1")
    expect(page.locator("#tray li.freed")).to_contain_text("freed while on its CPU")
    # Back to before the dispose: a.1 waits on the dead-LWP list, preempted, on its CPU.
    page.get_by_role("slider", name="Event").fill(str(n - 2))
    settled_at(page, n - 2)
    entry = page.locator('#tray li[data-dead-tid="1"]')
    expect(entry).to_have_class(re.compile(r"\bon-cpu\b"))
    expect(entry).to_contain_text("TDF_EXITING preempted")


# -- the timeline slider --------------------------------------------------------------------

def boundaries(tl):
    """Positions where a scripted step's work is over: PageUp/PageDown's stops (a step
    that returns later, a woken wait4, belongs to the command that woke it)."""
    out, current = [0], None
    for ev in tl.events:
        if ev["step"] is not None and (current is None or ev["step"] > current):
            if current is not None:
                out.append(ev["seq"] - 1)
            current = ev["step"]
    return sorted(set(out + [tl.total]))


def test_the_slider_follows_the_event_and_jumps(server, watched):
    page = watched
    name = "orphans-and-reapers"
    tl = timeline(name)
    m = tl.total
    open_at(page, server, name)
    slider = page.get_by_role("slider", name="Event")
    expect(slider).to_have_value("0")
    expect(slider).to_have_attribute("aria-valuetext", f"Event 0 of {m}")
    page.get_by_role("button", name="Step").click()
    expect(slider).to_have_value("1")
    slide_to(page, 7, m)
    expect(slider).to_have_attribute("aria-valuetext", f"Event 7 of {m}")
    # Marks come from the events' fields.
    marks = page.locator("#scrub-marks")
    expect(marks.locator(".mark.fork")).to_have_count(sum(ev["created"] is not None for ev in tl.events))
    expect(marks.locator(".mark.reparent")).to_have_count(sum(ev["reparent"] is not None for ev in tl.events))
    expect(marks.locator(".mark.zombie")).to_have_count(
        sum(ev["kind"] == "proc_move_allproc_zombie" for ev in tl.events))
    expect(marks.locator(".mark.reap")).to_have_count(1)
    # Keys: End, Home, and PageDown/PageUp by scripted step (on the page and on the slider).
    page.locator("#tree").click(position={"x": 5, "y": 5})
    page.keyboard.press("End")
    expect(page.locator("#position")).to_have_text(f"Event {m} of {m}")
    page.keyboard.press("Home")
    expect(page.locator("#position")).to_have_text(f"Event 0 of {m}")
    stops = boundaries(tl)
    for stop in stops[1:3]:
        page.keyboard.press("PageDown")
        expect(page.locator("#position")).to_have_text(f"Event {stop} of {m}")
    slider.focus()
    page.keyboard.press("PageUp")
    expect(page.locator("#position")).to_have_text(f"Event {stops[1]} of {m}")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#position")).to_have_text(f"Event {stops[1] + 1} of {m}")


def test_dragging_the_slider_ends_where_the_drag_ends(server, watched):
    page = watched
    name = "multi-threaded-exit"
    m = timeline(name).total
    open_at(page, server, name)
    box = page.get_by_role("slider", name="Event").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + 8, y)
    page.mouse.down()
    for i in range(1, 21):                        # a quick drag across the whole timeline
        page.mouse.move(box["x"] + 8 + (box["width"] - 16) * i / 20, y)
    page.mouse.up()
    expect(page.locator("#position")).to_have_text(f"Event {m} of {m}")
    settled_at(page, m)


# -- projector mode, keys, reduced motion ----------------------------------------------------

def test_projector_mode_and_the_keys_overlay(server, watched):
    page = watched
    name = "orphans-and-reapers"
    open_at(page, server, name, 5, "&projector=1")
    expect(page.locator("body")).to_have_class(re.compile(r"\bprojector\b"))
    expect(page.get_by_role("button", name="Projector mode")).to_have_attribute("aria-pressed", "true")
    inspector = page.get_by_role("region", name="Inspector")
    expect(inspector).to_be_hidden()
    page.get_by_role("treeitem", name="pid 2 sh").click()
    expect(inspector).to_be_visible()
    expect(inspector.get_by_role("heading")).to_have_text("Inspector: pid 2 sh")
    page.keyboard.press("Escape")
    expect(inspector).to_be_hidden()
    page.keyboard.press("p")
    expect(page.locator("body")).not_to_have_class(re.compile(r"\bprojector\b"))
    expect(inspector).to_be_visible()
    expect(page).to_have_url(re.compile(r"event=5$"))

    page.keyboard.press("?")
    help_ = page.get_by_role("dialog", name="Keys")
    expect(help_).to_be_visible()
    for key in ("→", "←", "space", "Home", "End", "PageUp", "PageDown", "Esc", "?"):
        expect(help_.locator("kbd", has_text=key).first).to_be_visible()
    page.keyboard.press("Escape")
    expect(help_).to_be_hidden()


def test_reduced_motion_still_shows_every_change(server, watched):
    page = watched
    page.emulate_media(reduced_motion="reduce")
    name = "orphans-and-reapers"
    tl = timeline(name)
    fork = next(ev for ev in tl.events if ev["created"] is not None)
    open_at(page, server, name, fork["seq"] - 1)
    page.keyboard.press("ArrowRight")
    node = page.locator(f'g.node[data-pid="{fork["created"]}"]')
    expect(node).to_have_attribute("data-state", "SIDL")
    settled_at(page, fork["seq"])
    assert float(node.evaluate("(g) => getComputedStyle(g).opacity")) == 1


def test_compare_shows_each_kernels_source(server, watched):
    page = watched
    page.goto(server.url("/compare?scenario=orphans-reaper&step=1"))
    expect(page.locator("#position")).to_have_text(re.compile(r"Step 1 of"))
    classic = page.get_by_role("region", name="Kernel source, classic")
    reaper = page.get_by_role("region", name="Kernel source, reaper")
    expect(classic.locator(".source-file")).to_contain_text("kern_fork.c · seed 001")
    expect(reaper.locator(".source-file")).to_contain_text("kern_fork.c · seed 000")
    expect(classic.locator("[data-line]").first).to_be_visible()
