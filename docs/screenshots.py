"""Regenerate docs/screenshot-*.png, the README's pictures of the explorer's main states.

Run with `make screenshots` (not part of `make test`: pictures are for people, and the
end-to-end tests already assert what they show).  Starts `ptree serve`, drives Debian's
Chromium at a projector's 1024x768 (the compare and quiz pages at 1600x900, which they
are laid out for), waits for the tree to settle (`data-settled`), and waits out
animations where a picture should show their middle (the reparent) — fine in a script,
never in a test.
"""

import re
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from bench.ui import scenario as bench_scenario  # noqa: E402
from bench.ui import start_event  # noqa: E402
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, SCENARIOS, Server  # noqa: E402

DOCS = ROOT / "docs"


PROJECTOR = {"width": 1024, "height": 768}
WIDE = {"width": 1600, "height": 900}


def settled(page):
    expect(page.locator("#tree")).to_have_attribute("data-settled", "true", timeout=60_000)
    # The source pane has its file (or says there is none to show).
    expect(page.locator("#source .source-file")).not_to_contain_text("loading", timeout=60_000)
    page.wait_for_timeout(400)          # the source pane's smooth scroll


def open_at(page, server, name, event, query=""):
    page.goto(server.url(f"/?scenario={name}&event={event}{query}"))
    expect(page.locator("#tree")).to_have_attribute("data-seq", str(event), timeout=60_000)
    settled(page)


def select(page, pid):
    page.locator(f'g.node[data-pid="{pid}"]').click()
    settled(page)


def step(page, settle_ms):
    seq = int(page.locator("#tree").get_attribute("data-seq"))
    page.get_by_role("button", name="Step").click()
    expect(page.locator("#tree")).to_have_attribute("data-seq", str(seq + 1))
    page.wait_for_timeout(settle_ms)


def shoot(page, name):
    path = DOCS / f"screenshot-{name}.png"
    page.screenshot(path=str(path))
    print(f"wrote {path.relative_to(ROOT)}")


def shoot_race(page, server):
    """Choice mode on the multi-LWP exit race, walked along the trace `ptree explore`
    prints, at the use-after-free: the freed LWP marked in the tree and the log."""
    from ptree.engine.explore import explore
    from ptree.engine.scenario import load_scenario_file

    trace = explore(load_scenario_file(ROOT / "scenarios" / "multi-lwp-exit-race.yaml")
                    ).violations[0].trace
    page.goto(server.url("/?scenario=multi-lwp-exit-race"))
    expect(page.locator("#position")).to_have_text(re.compile(r"Event 0 of [1-9]"))
    page.get_by_role("checkbox", name="Choice mode").check()
    expect(page.locator("#position")).to_have_text("Event 0 of 0")
    for n, label in enumerate(trace, 1):
        page.get_by_role("region", name="Runnable actions").get_by_role(
            "button", name=label, exact=True).click()
        expect(page.locator("#choices-hint")).to_contain_text(f"after {n} of {n} ")
    page.get_by_role("region", name="Interleavings").get_by_role("button", name="Explore").click()
    expect(page.get_by_role("button", name="Open trace")).to_be_visible()
    page.wait_for_timeout(1200)
    shoot(page, "race")


def shoot_compare_and_quiz(page, server):
    """Compare mode after the orphans' parent exits; a quiz question answered wrong."""
    page.set_viewport_size(WIDE)
    page.goto(server.url("/compare?scenario=orphans-reaper&step=6"))
    expect(page.locator("#position")).to_have_text("Step 6 of 10")
    page.wait_for_timeout(900)
    shoot(page, "compare")

    page.goto(server.url("/quiz?scenario=orphans-reaper&kind=predict"))
    heading = page.locator("#question-title")
    while True:                                   # answer on to the question about `a: exit 0`
        expect(heading).to_have_text(re.compile(r"step \d+ of"))
        if "step 6 of" in heading.inner_text():
            break
        before = heading.inner_text()
        page.get_by_role("radio").first.check()
        page.get_by_role("button", name="Check answer").click()
        page.get_by_role("button", name="Next question").click()
        expect(heading).not_to_have_text(before)
    page.get_by_role("radio", name="Option A").check()
    page.get_by_role("button", name="Check answer").click()
    expect(page.locator("#feedback")).not_to_be_empty()
    page.wait_for_timeout(300)
    page.screenshot(path=str(DOCS / "screenshot-quiz.png"), full_page=True)
    print("wrote docs/screenshot-quiz.png")


def shoot_lecture(browser, server):
    """Lecture mode: the presenter page with its QR code, and an audience page following."""
    presenter = browser.new_context(viewport={"width": 1600, "height": 900}).new_page()
    presenter.goto(server.url("/present?scenario=orphans-and-reapers&event=11"))
    expect(presenter.locator("#position")).to_have_text(re.compile(r"Event 11 of \d+"))
    presenter.wait_for_function("!!window.ptree?.lecture")
    link = presenter.get_by_test_id("audience-link").get_attribute("href")
    viewer = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    viewer.goto(link)
    expect(viewer.get_by_test_id("lecture-status")).to_contain_text("Following the presenter")
    expect(presenter.get_by_test_id("viewer-count")).to_have_text("1")
    presenter.wait_for_timeout(300)
    presenter.screenshot(path=str(DOCS / "screenshot-lecture-presenter.png"))
    presenter.get_by_role("button", name="Hide QR code").click()
    presenter.get_by_role("button", name="Step", exact=True).click()
    expect(viewer.locator("#position")).to_have_text(re.compile(r"Event 12 of \d+"))
    viewer.wait_for_timeout(900)
    viewer.screenshot(path=str(DOCS / "screenshot-lecture-audience.png"))
    print("wrote docs/screenshot-lecture-presenter.png and docs/screenshot-lecture-audience.png")
    presenter.context.close()
    viewer.context.close()


def main():
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        for f in SCENARIOS.glob("*.yaml"):
            shutil.copy(f, tmp)
        text, build = bench_scenario(1000)
        Path(tmp, "bench-1000.yaml").write_text(text)
        big_start = start_event(text, build)[0]
        server = Server("eventlet", extra_args=("--scenarios", tmp))
        try:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport=PROJECTOR)

            open_at(page, server, "orphans-and-reapers", 6)    # b forked: SIDL
            shoot(page, "fork")
            open_at(page, server, "orphans-and-reapers", 11)
            step(page, 500)                                     # mid-way along the arc
            shoot(page, "reparent")
            open_at(page, server, "orphans-and-reapers", 17)
            select(page, 3)
            shoot(page, "zombie")
            open_at(page, server, "threads-and-handovers", 5)   # an LWP on the dead-LWP list
            shoot(page, "lwps")
            open_at(page, server, "threads-and-handovers", 26)  # sh asleep in wait4
            shoot(page, "blocked")
            open_at(page, server, "multi-threaded-exit", 12)    # a.0 switched out, a.2 still on its CPU
            shoot(page, "threads")
            open_at(page, server, "orphans-and-reapers", 11, "&projector=1")
            shoot(page, "projector")

            open_at(page, server, "orphans-and-reapers", 0)
            page.get_by_text("Scenario editor").click()
            page.get_by_role("textbox", name="Scenario text").fill(
                "title: a typo\nsteps:\n  - init: fork sh\n  - sh: frok a\n  - sh: wait4 any\n")
            page.get_by_role("button", name="Run edited scenario").click()
            expect(page.locator("#editor-error")).to_be_visible()
            page.wait_for_timeout(300)
            shoot(page, "editor-error")

            page.set_viewport_size(WIDE)
            open_at(page, server, "bench-1000", big_start)
            shoot(page, "1000")
            page.set_viewport_size(PROJECTOR)

            shoot_race(page, server)
            shoot_compare_and_quiz(page, server)
            shoot_lecture(browser, server)
            browser.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
