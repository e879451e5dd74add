"""A long scenario opens with its log usable: the log comes in pages after the snapshot
(docs/protocol.md, `log_chunk`), and the page shows every entry, the timeline's marks and
the log's options as for a short one.

The server here pages a log of 600 events in pages of 50 (PTREE_LOG_PAGE), so the test
stays fast; it runs in both async modes like the shared `server` fixture.
"""

import os
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect
from scenario_util import short_lives
from servers import Server

pytestmark = pytest.mark.browser

STEPS = 150                      # init forks, the child exits, init reaps: 600 events
PAGE = 50


@pytest.fixture(scope="module", params=["eventlet", "threading"])
def paging_server(request):
    folder = Path(tempfile.mkdtemp(prefix="ptree-long-log-"))
    (folder / "long-fan.yaml").write_text(short_lives(STEPS))
    old = os.environ.get("PTREE_LOG_PAGE")
    os.environ["PTREE_LOG_PAGE"] = str(PAGE)        # the subprocess reads it at start
    try:
        srv = Server(request.param, extra_args=["--scenarios", str(folder)])
    finally:
        if old is None:
            del os.environ["PTREE_LOG_PAGE"]
        else:
            os.environ["PTREE_LOG_PAGE"] = old
    yield srv
    srv.stop()


def test_a_long_scenario_opens_with_its_log_usable(paging_server, watched):
    from ptree.engine.scenario import parse_scenario
    from ptree.engine.timeline import Timeline
    tl = Timeline(parse_scenario(short_lives(STEPS), "long-fan.yaml"))
    total, at = tl.total, tl.total - 20          # a position in the log's last page
    assert total > 10 * PAGE
    page = watched
    page.goto(paging_server.url(f"/?scenario=long-fan&event={at}"))
    position = page.locator("#position")
    expect(position).to_have_text(f"Event {at} of {total}")
    log = page.get_by_role("list", name="Event log")
    # The current entry came in one of the last pages; the loading line goes once all came.
    expect(log.locator("li[aria-current]")).to_have_attribute("data-seq", str(at))
    expect(log.locator("li.loading")).to_have_count(0)
    page.get_by_label("Show future events").check()
    expect(log.locator("li[data-seq]")).to_have_count(total)
    expect(log.locator(f'li[data-seq="{total}"]')).to_be_visible()
    # Marks along the timeline reach past the first page.
    marks = page.locator("#scrub-marks .mark")
    expect(marks.first).to_be_attached()
    late = [int(n) for n in marks.evaluate_all("ms => ms.map(m => m.dataset.event)")]
    assert max(late) > PAGE
    # Hiding internal kernel events still hides them (the kernel's reaper bookkeeping).
    internal = log.locator("li.internal:not([aria-current])")
    expect(internal.first).to_be_visible()
    page.get_by_label("Hide internal kernel events").check()
    expect(internal.first).to_be_hidden()
    page.get_by_label("Hide internal kernel events").uncheck()
    # The log is usable: a click on an entry of the last page jumps there.
    log.locator(f'li[data-seq="{total - 1}"]').click()
    expect(position).to_have_text(f"Event {total - 1} of {total}")
