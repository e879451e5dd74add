"""Lecture mode in real browsers: a presenter page and audience pages, each in a browser
context of its own (separate cookies, as separate people), against `ptree serve` in both
async modes.  What each page shows is read through the explorer's DOM contract and checked
against the engine's Timeline: "Event N of M" and the (data-pid, data-ppid, data-state) of
every process node.  Several processes on one Redis, and a server killed with SIGKILL and
started again, have servers of their own.
"""

import base64
import io
import re
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import pytest
import zxingcpp
from conftest import PageWatch
from PIL import Image
from playwright.sync_api import expect
from ptree.engine.scenario import load_scenario_file, parse_scenario
from ptree.engine.timeline import Timeline
from servers import Server

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = "orphans-and-reapers"
# A page whose server was killed under it logs its failed reconnection attempts.
RECONNECTING = re.compile(r"WebSocket connection to .* failed|Failed to load resource|ERR_CONNECTION_REFUSED")


@cache
def timeline(name=BUNDLED):
    return Timeline(load_scenario_file(ROOT / "scenarios" / f"{name}.yaml"))


def rows(doc):
    return sorted(f"{pid} {p['ppid']} {p['state']}" for pid, p in doc["procs"].items())


ROWS_JS = """(want) => {
  const got = [...document.querySelectorAll('g.node:not(.exiting)')]
    .map((n) => `${n.dataset.pid} ${n.dataset.ppid} ${n.dataset.state}`).sort();
  return JSON.stringify(got) === JSON.stringify(want);
}"""


def shows(page, n, total=None, doc=None):
    """Wait until `page` shows event n: its position and its tree (the engine's doc_at)."""
    total = timeline().total if total is None else total
    expect(page.locator("#position")).to_have_text(f"Event {n} of {total}")
    page.wait_for_function(ROWS_JS, arg=rows(doc or timeline().doc_at(n)))


class Browsers:
    """Pages in browser contexts of their own, each watched like the `watched` fixture."""

    def __init__(self, browser, context_args):
        self.browser, self.context_args = browser, context_args
        self.opened = []

    def page(self, url=None, allow=None):
        context = self.browser.new_context(**self.context_args)
        page = context.new_page()
        page.set_default_timeout(15_000)
        watch = PageWatch(page)
        self.opened.append((context, watch, allow))
        if url:
            page.goto(url)
        return page

    def close(self):
        """Close every page (before its server stops), then check what each one did."""
        opened, self.opened = self.opened, []
        for context, _, _ in opened:
            context.close()
        for _, watch, allow in opened:
            if allow is not None:
                watch.console_errors = [e for e in watch.console_errors if not allow.search(e)]
            watch.assert_clean()


@pytest.fixture
def browsers(browser, browser_context_args):
    b = Browsers(browser, browser_context_args)
    yield b
    b.close()


def present(browsers, server, query=f"?scenario={BUNDLED}", allow=None):
    """A presenter page on a new lecture: (page, room code, audience link)."""
    page = browsers.page(server.url(f"/present{query}"), allow)
    expect(page).to_have_url(re.compile(r"/present/[a-z0-9]{4}$"))
    code = page.url.rsplit("/", 1)[1]
    expect(page.locator("#position")).to_have_text(re.compile(r"Event \d+ of \d+"))
    link = page.get_by_test_id("audience-link")
    href = link.get_attribute("href")
    expect(link).to_have_text(href)
    return page, code, href


def ready(page):
    """Wait until lecture.js has wired the page (its buttons do something)."""
    page.wait_for_function("!!window.ptree?.lecture")


def hide_qr(page):
    ready(page)
    page.get_by_role("button", name="Hide QR code").click()
    expect(page.locator("#lecture-qr")).to_be_hidden()


def audience(browsers, url, allow=None):
    page = browsers.page(url, allow)
    ready(page)
    expect(page.get_by_test_id("lecture-status")).to_contain_text("Following the presenter")
    return page


def button(page, name):
    return page.get_by_role("button", name=name, exact=True)


def test_three_audience_pages_follow_the_presenter(server, browsers):
    presenter, code, link = present(browsers, server)
    assert link == server.url(f"/live/{code}")
    hide_qr(presenter)
    viewers = [audience(browsers, link) for _ in range(3)]
    expect(presenter.get_by_test_id("viewer-count")).to_have_text("3")
    for v in viewers:
        shows(v, 0)
        expect(button(v, "Step")).to_be_hidden()        # the audience only watches
    viewers[0].keyboard.press("ArrowRight")             # and its keys change nothing
    for n in (1, 2, 3):
        button(presenter, "Step").click()
        for page in (presenter, *viewers):
            shows(page, n)
    presenter.get_by_role("checkbox", name="Show future events").check()   # 9 is ahead
    presenter.locator("#log li[data-seq='9']").click()  # jump
    for page in (presenter, *viewers):
        shows(page, 9)
    button(presenter, "Back").click()
    for page in (presenter, *viewers):
        shows(page, 8)
    viewers[2].close()
    expect(presenter.get_by_test_id("viewer-count")).to_have_text("2")


def test_the_qr_code_is_the_audience_link(server, browsers):
    presenter, code, link = present(browsers, server)
    svg = presenter.locator("[data-testid='qr-code'] svg")
    expect(svg).to_be_visible()
    box = svg.bounding_box()
    viewport = presenter.viewport_size
    # Big enough for the back of a hall: most of the screen's height when projected.
    assert box["height"] >= 0.6 * viewport["height"] and box["width"] == pytest.approx(box["height"], abs=2)
    image = Image.open(io.BytesIO(svg.screenshot())).convert("L")
    found = zxingcpp.read_barcodes(image)
    assert [b.text for b in found] == [link]
    assert found[0].format == zxingcpp.BarcodeFormat.QRCode


def test_explore_on_my_own_and_back_to_the_lecture(server, browsers):
    presenter, code, link = present(browsers, server)
    hide_qr(presenter)
    alone, other = audience(browsers, link), audience(browsers, link)
    for n in (1, 2, 3, 4):
        button(presenter, "Step").click()
        shows(presenter, n)
    shows(alone, 4)
    button(alone, "Explore on my own").click()
    expect(alone.get_by_test_id("lecture-status")).to_contain_text("Exploring on your own")
    button(alone, "Step").click()
    shows(alone, 5)
    button(alone, "Step").click()
    shows(alone, 6)
    shows(presenter, 4)                                 # the room did not move
    shows(other, 4)
    button(presenter, "Step").click()
    shows(other, 5)
    shows(alone, 6)                                     # and the explorer is left alone
    button(alone, "Back to the lecture").click()
    expect(alone.get_by_test_id("lecture-status")).to_contain_text("Following the presenter")
    shows(alone, 5)
    button(presenter, "Back").click()
    for page in (presenter, alone, other):
        shows(page, 4)


def test_ending_the_lecture_leaves_each_page_a_copy(server, browsers):
    presenter, code, link = present(browsers, server, f"?scenario={BUNDLED}&event=6")
    hide_qr(presenter)
    viewer = audience(browsers, link)
    shows(viewer, 6)
    end = button(presenter, "End lecture")
    end.click()
    button(presenter, "Press again to end").click()
    expect(viewer.get_by_test_id("lecture-status")).to_contain_text("your own copy, at event 6")
    expect(presenter.get_by_test_id("lecture-status")).to_contain_text("You ended lecture")
    button(viewer, "Step").click()                      # a private session from there
    shows(viewer, 7)
    button(presenter, "Step").click()
    shows(presenter, 7)
    late = browsers.page(link)                          # a late joiner gets the last event
    expect(late.get_by_test_id("lecture-status")).to_contain_text("your own copy, at event 6")
    shows(late, 6)


def test_the_present_button_keeps_text_mode_path_and_event(server, browsers):
    text = "title: typed here\nsteps:\n  - init: fork a\n  - a: exit 3\n  - init: wait4 a\n"
    path = ["init: fork a", "kernel: start_forked_proc init.0", "a: exit 3"]
    enc = lambda s: base64.urlsafe_b64encode(s.encode()).decode().rstrip("=")  # noqa: E731
    page = browsers.page(server.url(f"/?text={enc(text)}&choices={enc(chr(10).join(path))}&event=2"))
    expect(page.locator("#position")).to_have_text(re.compile(r"Event 2 of [1-9]\d*"))
    page.wait_for_function("!!window.ptree?.state?.doc")
    total = int(page.locator("#position").inner_text().split()[-1])
    button(page, "Present").click()
    expect(page).to_have_url(re.compile(r"/present/[a-z0-9]{4}$"))
    hide_qr(page)
    expect(page.locator("#position")).to_have_text(f"Event 2 of {total}")
    expect(page.get_by_label("Choice mode")).to_be_checked()
    assert page.locator("#editor").input_value() == text
    link = page.get_by_test_id("audience-link").get_attribute("href")
    viewer = audience(browsers, link)
    from ptree.engine.timeline import ChoiceTimeline
    doc = ChoiceTimeline(parse_scenario(text, "<editor>"), trace=path).doc_at(2)
    shows(viewer, 2, total, doc)


@contextmanager
def servers(*specs):
    started = []
    try:
        for mode, args in specs:
            started.append(Server(mode, args))
        yield started
    finally:
        for s in started:
            s.stop()


@pytest.mark.parametrize("mode", ["eventlet", "threading"])
def test_presenter_on_one_process_audience_on_another(mode, redis_url, browsers):
    queue = ["--message-queue", redis_url]
    with servers((mode, queue), (mode, queue)) as (a, b):
        presenter, code, _ = present(browsers, a)
        hide_qr(presenter)
        viewers = [audience(browsers, b.url(f"/live/{code}")) for _ in range(2)]
        expect(presenter.get_by_test_id("viewer-count")).to_have_text("2")
        for n in (1, 2, 3):
            button(presenter, "Step").click()
            for page in (presenter, *viewers):
                shows(page, n)
        button(presenter, "Back").click()
        for page in (presenter, *viewers):
            shows(page, 2)
        browsers.close()                                # before the servers stop


@pytest.mark.parametrize("mode", ["eventlet", "threading"])
def test_after_kill_9_both_tabs_come_back_at_the_same_event(mode, browsers):
    with servers((mode, [])) as (srv,):
        presenter, code, link = present(browsers, srv, allow=RECONNECTING)
        hide_qr(presenter)
        viewer = audience(browsers, link, allow=RECONNECTING)
        for n in (1, 2, 3, 4):
            button(presenter, "Step").click()
            shows(presenter, n)
        shows(viewer, 4)
        srv.kill()
        for page in (presenter, viewer):
            page.wait_for_function("!window.ptree.socket.connected")
        srv.restart()
        for page in (presenter, viewer):                # they reconnect by themselves
            page.wait_for_function("window.ptree.socket.connected", timeout=30_000)
            shows(page, 4)
        expect(viewer.get_by_test_id("lecture-status")).to_contain_text("Following the presenter")
        button(presenter, "Step").click()               # the room is driven as before
        for page in (presenter, viewer):
            shows(page, 5)
        browsers.close()
