"""The gallery, compare mode and quiz mode in a real browser, in both async modes.

What the pages should show is computed here from the engine (Comparison, the library's
runs, the quiz's questions), so a test fails if a page shows something else: a pane that
did not step, a marker on the wrong node, a score that moved on a wrong answer.
"""

import re
from functools import cache

import pytest
from playwright.sync_api import expect
from ptree.engine.compare import Comparison
from ptree.engine.scenario import load_scenario_file, parse_scenario
from ptree.engine.timeline import Timeline
from ptree.webui import pages
from quiz_util import LETTERS, ROOT, library, question

pytestmark = pytest.mark.browser

@cache
def comparison(name):
    return Comparison(load_scenario_file(ROOT / "scenarios" / f"{name}.yaml"))


def pane(page, kernel):
    return page.get_by_role("region", name=pages.KERNELS[kernel])


def proc(page, kernel, pid):
    return pane(page, kernel).locator(f'g.node[data-pid="{pid}"]')


def expect_panes_at(page, cmp, n):
    """Both panes show the engine's trees after step n: every process, parent and state."""
    expect(page.locator("#position")).to_have_text(f"Step {n} of {cmp.steps}")
    classic, reaper, diffs = cmp.at_step(n)
    for kernel, doc in (("classic", classic), ("reaper", reaper)):
        expect(pane(page, kernel).get_by_role("treeitem")).to_have_count(len(doc["procs"]))
        for pid, p in doc["procs"].items():
            node = pane(page, kernel).get_by_role("treeitem", name=f"pid {pid} {p['name']}")
            expect(node).to_have_attribute("data-ppid", str(p["ppid"]))
            expect(node).to_have_attribute("data-state", p["state"])
    expect(page.get_by_role("list", name="Differences").locator("li[data-pid]")).to_have_count(len(diffs))


def test_gallery_lists_every_scenario(server, watched):
    page = watched
    page.goto(server.url("/"))
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Gallery").click()
    expect(page).to_have_url(server.url("/gallery"))
    cards = page.get_by_role("list", name="Scenarios").get_by_role("listitem")
    index = [pages.scenario_meta(n, p) for n, p in sorted(library().paths().items())]
    expect(cards).to_have_count(len(index))
    for meta in index:
        card = page.locator(f'li.card[data-name="{meta["name"]}"]')
        expect(card.get_by_role("heading")).to_have_text(meta["title"])
        expect(card).to_contain_text(f"kernel {pages.KERNELS[meta['kernel']]}")
        expect(card.locator(".desc")).to_have_text(meta["description"])
    # The --scenarios folder's file is there too, and a card's links open its modes.
    expect(page.locator('li.card[data-name="threads-and-handovers"]')).to_have_count(1)
    page.get_by_role("link", name="Compare orphans-reaper").click()
    expect(page).to_have_url(server.url("/compare?scenario=orphans-reaper&step=0"))
    expect(page.locator("#position")).to_have_text("Step 0 of 10")
    page.go_back()
    page.get_by_role("link", name="Quiz orphans-classic").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Question 1: step \d+ of 10$"))).to_be_visible()
    page.go_back()
    page.get_by_role("link", name="Explore orphans-classic").click()
    expect(page.get_by_role("combobox", name="Scenario")).to_have_value("orphans-classic")
    expect(page.locator("#position")).to_have_text(re.compile(r"Event 0 of [1-9]"))


def test_compare_steps_both_panes_and_marks_the_orphans(server, watched):
    page = watched
    cmp = comparison("orphans-reaper")
    page.goto(server.url("/compare?scenario=orphans-reaper"))
    expect(pane(page, "classic").get_by_role("heading")).to_have_text("classic (2008-2011)")
    expect(pane(page, "reaper").get_by_role("heading")).to_have_text("reaper (2014)")
    expect_panes_at(page, cmp, 0)
    expect(page.get_by_role("button", name="Back")).to_be_disabled()
    for n in range(1, 6):
        page.get_by_role("button", name="Step").click()
        expect_panes_at(page, cmp, n)
    differing = pane(page, "classic").locator("g.node[data-differs]")
    expect(differing).to_have_count(0)

    page.get_by_role("button", name="Step").click()                 # a: exit 0
    expect_panes_at(page, cmp, 6)
    expect(page.locator("#command")).to_have_text("Step 6: a: exit 0")
    for name, pid in (("b", 4), ("c", 5)):
        classic, reaper = proc(page, "classic", pid), proc(page, "reaper", pid)
        expect(classic).to_have_attribute("data-ppid", "1")
        expect(reaper).to_have_attribute("data-ppid", "2")
        why = f"{name} (pid {pid}): parent init (1) under classic, sh (2) under reaper"
        for node in (classic, reaper):
            expect(node).to_have_attribute("data-differs", "true")
            expect(node.locator(".diff-mark")).to_be_visible()
            expect(node).to_have_accessible_description(re.compile(re.escape(why)))
        expect(page.get_by_role("list", name="Differences").locator(f'li[data-pid="{pid}"]')).to_have_text(why)
    for pid in (1, 2, 3):                                            # the same in both
        expect(proc(page, "classic", pid)).not_to_have_attribute("data-differs", "true")
        expect(proc(page, "reaper", pid)).not_to_have_attribute("data-differs", "true")
    expect(page).to_have_url(re.compile(r"scenario=orphans-reaper&step=6$"))

    # Back (← key) un-marks them; → again marks them; Reset goes to the boot state.
    page.keyboard.press("ArrowLeft")
    expect_panes_at(page, cmp, 5)
    expect(pane(page, "reaper").locator("g.node[data-differs]")).to_have_count(0)
    expect(page.get_by_role("list", name="Differences")).to_contain_text("None")
    page.keyboard.press("ArrowRight")
    expect(proc(page, "reaper", 4)).to_have_attribute("data-differs", "true")
    page.get_by_role("button", name="Reset").click()
    expect_panes_at(page, cmp, 0)


def test_compare_shows_each_kernels_result(server, watched):
    page = watched
    page.goto(server.url("/compare?scenario=orphans-reaper&step=2"))
    expect(page.locator("#position")).to_have_text("Step 2 of 10")
    expect(pane(page, "classic").locator(".pane-result")).to_have_text("→ procctl acquire fails: ENOSYS")
    expect(pane(page, "reaper").locator(".pane-result")).to_have_text("→ procctl acquire returns 0")
    expect(proc(page, "reaper", 2).locator(".badge")).to_contain_text("R ")
    expect(proc(page, "classic", 2).locator(".badge")).to_have_count(0)


def answer_option(page, q, index):
    if q["kind"] == "predict":
        return page.get_by_role("radio", name=f"Option {LETTERS[index]}", exact=True)
    return page.get_by_role("radio", name=q["options"][index], exact=True)


def test_quiz_scores_right_answers_only(server, watched):
    page = watched
    name = "orphans-reaper"
    run = library().open_name(name)
    score = page.locator("#score")
    page.goto(server.url(f"/quiz?scenario={name}"))
    expect(score).to_have_text("Score: 0 of 0")

    q1 = question(name, 1)
    expect(page.get_by_role("heading", name=f"Question 1: step {q1['step']} of 10")).to_be_visible()
    if q1["kind"] == "predict":
        expect(page.locator("#prompt")).to_contain_text(q1["command"])
    expect(page.get_by_role("radio")).to_have_count(len(q1["options"]))
    check = page.get_by_role("button", name="Check answer")
    expect(check).to_be_disabled()
    answer_option(page, q1, q1["answer"]).check()
    check.click()
    expect(score).to_have_text("Score: 1 of 1")
    expect(page.get_by_role("status").filter(has_text="Right!")).to_be_visible()
    events = page.get_by_role("list", name="Events of this step").get_by_role("listitem")
    expect(events).to_have_count(len(pages.step_events(run.timeline, q1["step"])))

    page.get_by_role("button", name="Next question").click()
    q2 = question(name, q1["step"] + 1)
    expect(page.get_by_role("heading", name=f"Question 2: step {q2['step']} of 10")).to_be_visible()
    wrong = next(i for i in range(len(q2["options"])) if i not in q2["accept"])
    answer_option(page, q2, wrong).check()
    page.get_by_role("button", name="Check answer").click()
    right_name = (f"Option {LETTERS[q2['answer']]}" if q2["kind"] == "predict"
                  else q2["options"][q2["answer"]])
    expect(page.locator("#feedback")).to_have_text(f"Not right: the right answer is {right_name}.")
    expect(score).to_have_text("Score: 1 of 2")
    expect(page.locator(f'#option-list .option[data-index="{q2["answer"]}"]')).to_have_class(re.compile(r"\bright\b"))
    expect(page.locator(f'#option-list .option[data-index="{wrong}"]')).to_have_class(re.compile(r"\bwrong\b"))
    step = run.scenario.steps[q2["step"] - 1]
    expect(page.locator("#explain")).to_contain_text(f"What step {q2['step']} did: {step.actor}: {step.command}")
    expect(answer_option(page, q2, q2["answer"])).to_be_disabled()  # one answer per question


def test_quiz_predict_shows_trees_with_the_dom_contract(server, watched):
    page = watched
    q = question("orphans-reaper", 6, "predict")
    page.goto(server.url("/quiz?scenario=orphans-reaper&kind=predict"))
    expect(page.get_by_role("combobox", name="Questions")).to_have_value("predict")
    # Step through to the orphans' question, answering each one right.
    while True:
        heading = page.locator("#question-title")
        expect(heading).to_have_text(re.compile(r"^Question \d+: step \d+ of 10$"))
        at = int(re.search(r"step (\d+)", heading.inner_text()).group(1))
        if at == q["step"]:
            break
        cur = question("orphans-reaper", at, "predict")
        answer_option(page, cur, cur["answer"]).check()
        page.get_by_role("button", name="Check answer").click()
        page.get_by_role("button", name="Next question").click()
        expect(heading).not_to_have_text(re.compile(rf"step {at} of"))
    expect(page.locator("#prompt")).to_contain_text("a: exit 0")
    before = page.get_by_role("tree", name="Before tree")
    for p in q["before"]:
        node = before.get_by_role("treeitem", name=f"pid {p['pid']} {p['name']}")
        expect(node).to_have_attribute("data-ppid", str(p["ppid"]))
    truth = page.get_by_role("tree", name=f"Option {LETTERS[q['answer']]} tree")
    expect(truth.locator('g.node[data-pid="4"]')).to_have_attribute("data-ppid", "2")
    expect(truth.locator('g.node[data-pid="3"]')).to_have_attribute("data-state", "SZOMB")


def test_a_random_scenario_opens_in_quiz_mode(server, watched):
    page = watched
    page.goto(server.url("/gallery"))
    form = page.get_by_role("region", name="A random scenario")
    form.get_by_label("Seed").fill("11")
    form.get_by_label("Actions").fill("12")
    form.get_by_label("Kernel").select_option("classic")
    form.get_by_role("button", name="Open in quiz mode").click()
    expect(page).to_have_url(server.url("/quiz?scenario=random-11-12-classic"))
    expect(page.locator("#title")).to_contain_text("Random scenario, seed 11, 12 actions (classic)")
    expect(page.get_by_role("combobox", name="Scenario")).to_have_value("random-11-12-classic")
    sc = parse_scenario(pages.random_text(11, 12, "classic", 0.35))
    q = question("random-11-12-classic", 1)
    expect(page.get_by_role("heading", name=f"Question 1: step {q['step']} of 12")).to_be_visible()
    step = sc.steps[q["step"] - 1]
    if q["kind"] == "predict":
        expect(page.locator("#prompt")).to_contain_text(f"{step.actor}: {step.command}")
    else:
        expect(page.get_by_role("radio", name=f"{step.actor}: {step.command}", exact=True)).to_have_count(1)
    answer_option(page, q, q["answer"]).check()
    page.get_by_role("button", name="Check answer").click()
    expect(page.locator("#score")).to_have_text("Score: 1 of 1")


def test_a_random_scenario_opens_in_the_explorer_and_compare(server, watched):
    page = watched
    page.goto(server.url("/gallery"))
    form = page.get_by_role("region", name="A random scenario")
    form.get_by_label("Seed").fill("5")
    form.get_by_label("Actions").fill("25")
    form.get_by_role("button", name="Open in the explorer").click()
    text = pages.random_text(5, 25, "reaper", 0.35)
    total = Timeline(parse_scenario(text)).total
    expect(page.locator("#position")).to_have_text(f"Event 0 of {total}")
    expect(page.locator("#current .title")).to_contain_text("Random scenario, seed 5, 25 actions (reaper)")
    page.get_by_role("button", name="Step").click()
    expect(page.locator("#position")).to_have_text(f"Event 1 of {total}")
    expect(page).to_have_url(re.compile(r"scenario=random-5-25-reaper"))

    page.goto(server.url("/compare?random=5&actions=25"))
    cmp = Comparison(parse_scenario(text))
    expect_panes_at(page, cmp, 0)
    page.get_by_role("button", name="Step").click()
    expect_panes_at(page, cmp, 1)
