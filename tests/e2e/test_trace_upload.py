"""Real programs in the explorer (issue 11): an strace log dropped on the page, chosen with
Open file, or pasted into the scenario editor opens as the scenario it makes, and the
scenario `ptree trace` prints opens and animates the traced shell's tree.

Each test runs against `ptree serve` in both async modes (the `server` fixture).
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "strace"


def position(page):
    return page.locator("#position")


def node(page, name):
    return page.get_by_role("treeitem", name=re.compile(rf"^pid \d+ {re.escape(name)}$"))


def open_page(page, server):
    page.goto(server.url("/"))
    expect(position(page)).to_have_text(re.compile(r"Event \d+ of [1-9]\d*"))


def play_to_the_end(page):
    """Play at 30 events a second until the page shows its last event."""
    n, m = re.fullmatch(r"Event (\d+) of (\d+)", position(page).inner_text()).groups()
    page.locator("#speed").select_option("30")
    page.get_by_role("button", name="Play").click()
    expect(position(page)).to_have_text(f"Event {m} of {m}", timeout=60_000)


def step_until_visible(page, locator, text=None):
    """Step (Step button) until locator is in the tree (and holds text, if given)."""
    while locator.count() == 0 or (text and text not in (locator.text_content() or "")):
        n, m = re.fullmatch(r"Event (\d+) of (\d+)", position(page).inner_text()).groups()
        assert int(n) < int(m), "reached the last event first"
        page.get_by_role("button", name="Step").click()
        expect(position(page)).to_have_text(f"Event {int(n) + 1} of {m}")


def drop_file(page, name, text):
    """A file dropped on the tree, as a browser delivers it (a DataTransfer with a File)."""
    data = page.evaluate_handle(
        "([name, text]) => { const dt = new DataTransfer();"
        " dt.items.add(new File([text], name, {type: 'text/plain'})); return dt; }",
        [name, text])
    page.dispatch_event("#tree", "dragover", {"dataTransfer": data})
    page.dispatch_event("#tree", "drop", {"dataTransfer": data})


@pytest.fixture(scope="module")
def traced_pipeline(tmp_path_factory):
    """`ptree trace -- sh -c 'sleep 1 & ls | wc -l'` on this machine: (scenario, log)."""
    probe = subprocess.run([shutil.which("strace") or "strace", "-f", "-qq", "-o", os.devnull,
                            "true"], capture_output=True, text=True)
    if probe.returncode:
        pytest.skip(f"ptrace is refused on this machine, so strace cannot run here: "
                    f"{probe.stderr.strip()}")
    log = tmp_path_factory.mktemp("trace") / "pipeline.log"
    proc = subprocess.run([sys.executable, "-m", "ptree", "trace", "--strace-log", str(log),
                           "--", "sh", "-c", "sleep 1 & ls | wc -l"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, log.read_text()


def names_by_program(scenario):
    forks = [c.split()[-1] for s in yaml.safe_load(scenario)["steps"] for a, c in s.items()
             if c.split()[0] in ("fork", "vfork")]
    return {n.rsplit("_", 1)[0]: n for n in forks}


def test_the_scenario_ptree_trace_prints_opens_and_animates_the_shells_tree(
        server, watched, traced_pipeline):
    page = watched
    scenario, _ = traced_pipeline
    names = names_by_program(scenario)
    open_page(page, server)
    page.get_by_text("Scenario editor").click()
    page.get_by_role("textbox", name="Scenario text").fill(scenario)
    page.get_by_role("button", name="Run edited scenario").click()
    expect(page.locator("#current .title")).to_contain_text("sh -c 'sleep 1 & ls | wc -l'")
    expect(position(page)).to_have_text(re.compile(r"Event 0 of [1-9]\d*"))
    step_until_visible(page, node(page, names["wc"]))
    for program in ("sh", "sleep", "ls", "wc"):
        expect(node(page, names[program])).to_have_count(1)
    play_to_the_end(page)
    expect(node(page, names["ls"])).to_have_count(0)             # reaped by sh
    expect(node(page, names["wc"])).to_have_count(0)
    expect(node(page, names["sleep"])).to_have_attribute("data-ppid", "1")   # orphan to init
    expect(node(page, names["sleep"])).to_have_attribute("data-state", "SZOMB")
    expect(node(page, names["sh"])).to_have_attribute("data-state", "SZOMB")


def test_a_pasted_strace_log_opens_as_the_scenario_it_makes(server, watched, traced_pipeline):
    page = watched
    scenario, log = traced_pipeline
    names = names_by_program(scenario)
    open_page(page, server)
    page.get_by_text("Scenario editor").click()
    editor = page.get_by_role("textbox", name="Scenario text")
    editor.fill(log)
    page.get_by_role("button", name="Run edited scenario").click()
    # The server converted it: the editor now holds the scenario, comments and all.
    expect(editor).to_have_value(re.compile(r"^title: \"sh -c 'sleep 1 & ls \| wc -l'\""))
    expect(editor).to_have_value(re.compile(rf"  - sh_\d+: fork {names['ls']} +# L\d+ clone"))
    expect(editor).to_have_value(re.compile(r"# L\d+-\d+ sh_\d+: SIGINT"))
    play_to_the_end(page)
    expect(node(page, names["sleep"])).to_have_attribute("data-ppid", "1")
    expect(node(page, names["ls"])).to_have_count(0)


def test_a_log_dropped_on_the_page_opens_with_the_programs_names(server, watched):
    page = watched
    text = (FIXTURES / "make-j2.log").read_text()
    open_page(page, server)
    drop_file(page, "make-j2.log", text)
    expect(page.locator("#current .title")).to_contain_text("make -s -f scenarios/traced/tiny.mk -j2")
    editor = page.get_by_role("textbox", name="Scenario text")
    expect(editor).to_be_visible()
    expect(editor).to_have_value(re.compile(r"  - make_14864: vfork sleep_14865 "))
    expect(page.locator("#notice")).to_contain_text("Opened make-j2.log")
    # make vforks: it sleeps in ppwait until the child has exec'd sleep.
    step_until_visible(page, node(page, "sleep_14865"))
    step_until_visible(page, node(page, "make_14864"), "ppwait")
    expect(node(page, "sleep_14865")).to_have_attribute("data-state", "SACTIVE")
    play_to_the_end(page)
    expect(node(page, "sleep_14865")).to_have_count(0)
    expect(node(page, "sleep_14866")).to_have_count(0)
    expect(node(page, "make_14864")).to_have_attribute("data-state", "SZOMB")


def test_open_file_takes_an_strace_log_too(server, watched):
    page = watched
    open_page(page, server)
    page.get_by_text("Scenario editor").click()
    page.set_input_files("#open-file", str(FIXTURES / "signals.log"))
    expect(page.locator("#current .title")).to_contain_text("sh -c 'sleep 5 & kill $!; wait; sleep 5'")
    expect(page.get_by_role("textbox", name="Scenario text")).to_have_value(
        re.compile(r"kill sh_14872 SIGKILL +# L\d+ kill\(14872, SIGHUP\): its default action"))
    step_until_visible(page, node(page, "sh_14873"))
    play_to_the_end(page)
    for name in ("sh_14871", "sh_14872", "sh_14873"):
        expect(node(page, name)).to_have_count(0)                # killed, then reaped
