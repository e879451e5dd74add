"""UI latency: from a Step click to the DOM showing that event, measured in the page.

For trees of about 100 and 1,000 processes, starts `ptree serve` (eventlet, the default)
with generated scenarios, opens each at the event where its tree is built, and clicks Step
repeatedly.  Each sample is timed inside the page: performance.now() at the click, then a
MutationObserver on the tree's data-seq attribute, which the page sets when it has drawn the
event (the observer runs after the whole synchronous redraw: tree, tray, log, inspector,
counter), and `painted`: after the next frame's style, layout and paint.  The time therefore includes the
round trip through Socket.IO and the server, not only drawing.  Between clicks the page is
left to finish its animations, as it would be for a person stepping.

Long tasks (PerformanceObserver 'longtask': main-thread work of 50 ms or more, the page not
answering meanwhile) are counted while stepping each size, and while Playing the
601-process run of `ptree random --seed 3 --actions 2000` with init's "+N more" fold
opened during the Play (issue 16): count, longest, total.

Writes bench/results/ui.json and prints a table.  Run by `make bench`, never by `make test`.
"""

import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402
from ptree.engine.randomgen import generate  # noqa: E402
from ptree.engine.scenario import dump_scenario, parse_scenario  # noqa: E402
from ptree.engine.timeline import Timeline  # noqa: E402

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, Server  # noqa: E402

SIZES = (100, 1000)
SHELLS = 10
SAMPLES = 60
WARMUP = 5
SETTLE_MS = 800   # a person stepping waits for the animation; so does the benchmark
PLAY_EVENTS = 40  # events played after the fold is opened
PLAY_SPEED = 10   # events per second asked for

# Every long task from now on, kept in the page.
LONGTASKS_JS = """() => {
  window.benchLongTasks = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.benchLongTasks.push(e.duration);
  }).observe({type: 'longtask'});
}"""

MEASURE_JS = """
() => new Promise((resolve) => {
  const svg = document.getElementById('tree');
  const want = String(Number(svg.dataset.seq) + 1);
  let t1 = null;
  const obs = new MutationObserver(() => {
    if (svg.dataset.seq !== want || t1 !== null) return;
    t1 = performance.now();
    obs.disconnect();
    // The next frame's callbacks run before its style, layout and paint; a message posted
    // from there is handled after them, so `painted` includes the browser's own work.
    requestAnimationFrame(() => {
      const ch = new MessageChannel();
      ch.port1.onmessage = () => resolve({dom: t1 - t0, painted: performance.now() - t0});
      ch.port2.postMessage(0);
    });
  });
  obs.observe(svg, {attributes: true, attributeFilter: ['data-seq']});
  const t0 = performance.now();
  document.getElementById('step').click();
})
"""


def scenario(nprocs):
    """A tree of about nprocs processes (shells with many children), then a workload of
    forks, exits (zombies, orphans) and reaps to step through.  Returns (text, build steps)."""
    steps = [f"  - init: fork s{i}" for i in range(SHELLS)]
    kids = nprocs - 2 - SHELLS
    for k in range(kids):
        steps.append(f"  - s{k % SHELLS}: fork k{k}")
    build = len(steps)
    for i in range(40):
        shell = f"s{i % SHELLS}"
        steps += [f"  - {shell}: fork m{i}", f"  - m{i}: fork g{i}", f"  - m{i}: exit {i % 7}",
                  f"  - {shell}: wait4 m{i}"]
    text = (f"title: bench {nprocs} processes\nkernel: reaper\n"
            f"limits: {{maxproc: {nprocs * 2 + 200}}}\nsteps:\n" + "\n".join(steps) + "\n")
    return text, build


def start_event(text, build):
    """The first event of the workload: the tree is built before it."""
    tl = Timeline(parse_scenario(text, "bench"))
    first = next(ev["seq"] for ev in tl.events if ev["step"] and ev["step"] > build)
    return first - 1, tl.total, tl.doc_at(first - 1)["nprocs"]


def percentile(values, p):
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def measure(page, server, name, start):
    page.goto(server.url(f"/?scenario={name}&event={start}"))
    page.wait_for_function(f"document.getElementById('tree').dataset.seq === '{start}'",
                           timeout=60_000)
    page.wait_for_timeout(1500)
    samples = []
    for i in range(WARMUP + SAMPLES):
        if i == WARMUP:
            page.evaluate(LONGTASKS_JS)
        sample = page.evaluate(MEASURE_JS)
        if i >= WARMUP:
            samples.append(sample)
        page.wait_for_timeout(SETTLE_MS)
    return (samples, page.evaluate("document.querySelectorAll('g.node.proc').length"),
            longtasks(page))


def longtasks(page):
    tasks = page.evaluate("window.benchLongTasks")
    return {"longtasks": len(tasks), "longtask_max_ms": round(max(tasks, default=0), 1),
            "longtask_total_ms": round(sum(tasks), 1)}


def measure_fold_play(page, server):
    """The 601-process random run: Play (the page acknowledging each event, as it does),
    open init's "+N more" fold three events in, and count the long tasks until
    PLAY_EVENTS more events have been drawn."""
    sc = generate(3, 2000)
    sc.title = "Random scenario, seed 3, 2000 actions (reaper)"
    text = dump_scenario(sc)
    tl = Timeline(parse_scenario(text, "random-3"))
    start = tl.total - PLAY_EVENTS - 10
    page.goto(server.url("/?scenario=bench-100"))
    page.wait_for_function("document.getElementById('tree').dataset.settled === 'true'", timeout=60_000)
    page.evaluate("([text, event]) => ptree.send('open', {text, name: 'random-3', event})", [text, start])
    page.wait_for_function(f"ptree.state.seq === {start} && "
                           "document.getElementById('tree').dataset.settled === 'true'", timeout=60_000)
    page.select_option("#speed", str(PLAY_SPEED))
    page.click("#play")
    page.wait_for_function(f"ptree.state.seq >= {start + 3}", timeout=60_000)
    page.evaluate(LONGTASKS_JS)
    t0 = time.monotonic()
    at = page.evaluate("ptree.state.seq")
    page.locator('#tree g.node.more').first.click()
    page.wait_for_function(f"ptree.state.seq >= {at + PLAY_EVENTS}", timeout=300_000)
    seconds = time.monotonic() - t0
    page.click("#play")     # pause
    return {"processes": tl.doc_at(at)["nprocs"], "events": tl.total, "fold_opened_at": at,
            "nodes_drawn": page.evaluate("document.querySelectorAll('g.node.proc').length"),
            "events_played": PLAY_EVENTS, "speed_asked": PLAY_SPEED, "seconds": round(seconds, 1),
            **longtasks(page)}


def main():
    results = {"what": "Step click to DOM showing the event, measured in the page (ms)",
               "async_mode": "eventlet", "samples": SAMPLES, "settle_ms": SETTLE_MS,
               "machine": {"python": platform.python_version(), "cpus": _cpus()},
               "sizes": {}}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        starts = {}
        for n in SIZES:
            text, build = scenario(n)
            Path(tmp, f"bench-{n}.yaml").write_text(text)
            starts[n] = start_event(text, build)
        server = Server("eventlet", extra_args=("--scenarios", tmp))
        try:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            results["chromium"] = browser.version
            page = browser.new_page(viewport={"width": 1600, "height": 900})
            for n in SIZES:
                start, total, nprocs = starts[n]
                t0 = time.monotonic()
                samples, drawn, tasks = measure(page, server, f"bench-{n}", start)
                dom = [s["dom"] for s in samples]
                painted = [s["painted"] for s in samples]
                results["sizes"][str(n)] = {
                    "processes": nprocs, "nodes_drawn": drawn, "events": total,
                    "start_event": start,
                    "dom_p50": round(statistics.median(dom), 2),
                    "dom_p95": round(percentile(dom, 95), 2),
                    "dom_max": round(max(dom), 2),
                    "painted_p50": round(statistics.median(painted), 2),
                    "painted_p95": round(percentile(painted, 95), 2),
                    "seconds": round(time.monotonic() - t0, 1),
                    **tasks,
                }
            results["fold_play"] = measure_fold_play(page, server)
            results["load_average"] = [round(x, 2) for x in __import__("os").getloadavg()]
            browser.close()
        finally:
            server.stop()
    out = ROOT / "bench" / "results" / "ui.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)
    print(f"\nwrote {out.relative_to(ROOT)}")


def print_table(results):
    print(f"UI latency, Step click -> DOM shows the event ({results['async_mode']}, "
          f"{results['samples']} samples, Chromium {results.get('chromium', '?')})")
    print(f"{'processes':>10} {'drawn':>6} {'DOM p50':>9} {'DOM p95':>9} {'DOM max':>9} "
          f"{'painted p50':>12} {'painted p95':>12}")
    for r in results["sizes"].values():
        print(f"{r['processes']:>10} {r['nodes_drawn']:>6} {r['dom_p50']:>8.1f}ms "
              f"{r['dom_p95']:>8.1f}ms {r['dom_max']:>8.1f}ms {r['painted_p50']:>11.1f}ms "
              f"{r['painted_p95']:>11.1f}ms  long tasks {r['longtasks']} (max {r['longtask_max_ms']} ms)")
    f = results.get("fold_play")
    if f:
        print(f"{f['processes']}-process random run, fold opened during Play ({f['events_played']} events, "
              f"{f['seconds']} s): {f['longtasks']} long tasks, max {f['longtask_max_ms']} ms, "
              f"total {f['longtask_total_ms']} ms; load average {results.get('load_average')}")


def _cpus():
    try:
        return len(__import__("os").sched_getaffinity(0))
    except AttributeError:
        return None


if __name__ == "__main__":
    main()
