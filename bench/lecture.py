"""Lecture fan-out: from a presenter's step to the diff arriving at every viewer.

Starts `ptree serve` (eventlet, the default) and a lecture on the bundled
orphans-and-reapers scenario, then connects 1, 100 and 500 viewers (python-socketio's
AsyncClient over WebSocket, all in this process, on 127.0.0.1) and has the presenter step
through the scenario and back again.  A sample is one viewer's latency for one step: from
the presenter's `emit('step')` to that viewer's handler getting the diff (one clock, this
process).  Twice: one server process (the embedded SQLite store), and two processes on one
Redis (a Debian redis-server started here on a free loopback port), the presenter on the
first and every viewer on the second, so each diff crosses the message queue.

Memory per viewer is the growth of the viewers' server process (VmRSS) from before the
viewers connected to when they all had their snapshot, divided by their number.  The
clients share this machine's 2 cores with the servers (and Redis), so the figures include
their own decoding.  The 1-minute load average is recorded with each row: other work on the
machine (another checkout's tests) shows in the tail.  Writes bench/results/lecture.json and prints a
table.  Run by `make bench`, never by `make test`.
"""

import asyncio
import http.client
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import socketio  # noqa: E402

from tests.conftest import RedisServer  # noqa: E402
from tests.servers import Server  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "lecture.json"
SCENARIO = "orphans-and-reapers"
VIEWERS = (1, 100, 500)
STEPS = 72                 # four passes over the scenario's 18 events, forward and back
GAP = 0.05                 # seconds between a step's last arrival and the next step
CONNECT_BATCH = 50         # viewers connecting at once
TIMEOUT = 30               # seconds any one wait may take before the run is abandoned


def start_room(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    conn.request("GET", f"/present?scenario={SCENARIO}")
    answer = conn.getresponse()
    code = answer.getheader("Location").rsplit("/", 1)[1]
    key = answer.getheader("Set-Cookie").split(";", 1)[0].split("=", 1)[1]
    conn.close()
    return code, key


def cpu_seconds(pid):
    """User + system CPU time of process pid so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class Viewer:
    """One audience member: the arrival time of each (rev, seq, dir) diff it got."""

    def __init__(self, bench):
        self.bench = bench
        self.sio = socketio.AsyncClient(reconnection=False)
        self.ready = asyncio.Event()
        self.sio.on("snapshot", self._snapshot)
        self.sio.on("diff", self._diff)

    async def _snapshot(self, msg):
        self.ready.set()

    async def _diff(self, msg):
        self.bench.arrived(msg, time.perf_counter())

    async def connect(self, server, code):
        await self.sio.connect(server.url(), auth={"lecture": code, "role": "viewer"},
                               transports=["websocket"], wait_timeout=TIMEOUT)
        await asyncio.wait_for(self.ready.wait(), TIMEOUT)


class Bench:
    def __init__(self):
        self.waiting = None        # (rev, seq, dir) of the step in flight
        self.times = []
        self.expected = 0
        self.done = asyncio.Event()

    def arrived(self, msg, t):
        if self.waiting and (msg["seq"], msg["dir"]) == self.waiting:
            self.times.append(t)
            if len(self.times) == self.expected:
                self.done.set()

    async def step(self, presenter, name, seq, direction, n):
        self.times, self.expected = [], n
        self.done.clear()
        self.waiting = (seq, direction)
        t0 = time.perf_counter()
        await presenter.emit(name)
        await asyncio.wait_for(self.done.wait(), TIMEOUT)
        self.waiting = None
        return [(t - t0) * 1000 for t in self.times]


def percentile(values, p):
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


async def run_setup(name, presenter_server, viewer_server, total_events):
    servers = {presenter_server.pid: presenter_server, viewer_server.pid: viewer_server}.values()
    code, key = start_room(presenter_server)
    bench = Bench()
    presenter = socketio.AsyncClient(reconnection=False)
    await presenter.connect(presenter_server.url(),
                            auth={"lecture": code, "role": "presenter", "key": key},
                            transports=["websocket"], wait_timeout=TIMEOUT)
    viewers, rows, pos = [], [], 0
    baseline = rss_kb(viewer_server.pid)
    for n in VIEWERS:
        while len(viewers) < n:
            batch = [Viewer(bench) for _ in range(min(CONNECT_BATCH, n - len(viewers)))]
            await asyncio.gather(*(v.connect(viewer_server, code) for v in batch))
            viewers.extend(batch)
        grown = rss_kb(viewer_server.pid)
        samples = []
        cpu0 = [cpu_seconds(srv.pid) for srv in servers]
        for i in range(STEPS):
            forward = (i // total_events) % 2 == 0
            if forward:
                pos += 1
                samples += await bench.step(presenter, "step", pos, "forward", n)
            else:
                pos -= 1
                samples += await bench.step(presenter, "back", pos, "back", n)
            await asyncio.sleep(GAP)
        cpu = sum(cpu_seconds(srv.pid) for srv in servers) - sum(cpu0)
        row = {"setup": name, "viewers": n, "steps": STEPS, "samples": len(samples),
               "loadavg_1min": round(os.getloadavg()[0], 2),
               "p50_ms": round(percentile(samples, 50), 1),
               "p95_ms": round(percentile(samples, 95), 1),
               "p99_ms": round(percentile(samples, 99), 1),
               "max_ms": round(max(samples), 1),
               "mean_ms": round(statistics.fmean(samples), 1),
               "server_rss_mb": round(grown / 1024, 1),
               "per_viewer_kb": round((grown - baseline) / n, 1),
               # what the servers' CPU did per step and viewer, whatever else the machine ran
               "server_cpu_us_per_viewer_step": round(cpu / STEPS / n * 1e6)}
        rows.append(row)
        print(f"{name:<24} {n:>5} viewers  p50 {row['p50_ms']:>6} ms  p95 {row['p95_ms']:>6}  "
              f"p99 {row['p99_ms']:>6}  max {row['max_ms']:>6}  "
              f"{row['per_viewer_kb']:>6} KB/viewer  "
              f"{row['server_cpu_us_per_viewer_step']:>5} us server CPU/viewer/step", flush=True)
    for v in viewers:
        await v.sio.disconnect()
    await presenter.disconnect()
    return rows


def main():
    from ptree.engine.scenario import load_scenario_file
    from ptree.engine.timeline import Timeline
    total = Timeline(load_scenario_file(ROOT / "scenarios" / f"{SCENARIO}.yaml")).total
    out = {"what": "presenter step -> the diff at every viewer (ms), per viewer and step",
           "async_mode": "eventlet", "scenario": SCENARIO, "events": total, "steps": STEPS,
           "gap_s": GAP, "machine": {"python": platform.python_version(),
                                     "cpus": len(os.sched_getaffinity(0))},
           "results": []}
    one = Server("eventlet")
    try:
        out["results"] += asyncio.run(run_setup("one process", one, one, total))
    finally:
        one.stop()
    redis = RedisServer()
    try:
        queue = ["--message-queue", redis.url(0)]
        a, b = Server("eventlet", queue), Server("eventlet", queue)
        try:
            out["results"] += asyncio.run(run_setup("two processes on Redis", a, b, total))
        finally:
            a.stop()
            b.stop()
    finally:
        redis.stop()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print(markdown(out))
    print(f"written to {RESULTS.relative_to(ROOT)}")


def markdown(out):
    """The results as the README's table."""
    lines = ["| setup | viewers | p50 ms | p95 ms | p99 ms | max ms | KB per viewer | "
             "server CPU µs per viewer and step | load (1 min) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in out["results"]:
        lines.append(f"| {r['setup']} | {r['viewers']} | {r['p50_ms']} | {r['p95_ms']} | "
                     f"{r['p99_ms']} | {r['max_ms']} | {r['per_viewer_kb']} | "
                     f"{r['server_cpu_us_per_viewer_step']} | {r['loadavg_1min']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
