"""Does opening a 200,000-step scenario stall the other tabs?  (issue 10, the server)

Starts `ptree serve` (eventlet, the default; `--async-mode threading` for the other) with
a temporary folder holding one random scenario of STEPS steps (engine.randomgen, cut to
exactly that many steps: its own prefix, so every step stays valid).  One client steps a
small scenario back and forth, measuring each step's round trip (the `step` sent, its
`diff` received), first alone, then while a second client, in a process of its own (so
decoding the log's 330 MB of JSON does not share this one's interpreter), opens the big
scenario and waits for its snapshot and the whole log (the `log_chunk` pages that follow
a long run's snapshot), counting the `open_progress` messages meanwhile.

Writes bench/results/server.json: p50 / p99 / max of the round trips before and during
the open, how long the open took (to the snapshot, and to the log's last page), and how
many progress messages and log pages came.

    .venv/bin/python bench/server.py [--steps 200000] [--async-mode eventlet]
"""

import argparse
import json
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import socketio  # noqa: E402

from tests.servers import Server  # noqa: E402

BASELINE_SECONDS = 5.0


def make_scenario(folder, steps, seed=3, random=False):
    """A valid scenario of exactly `steps` steps, written to folder/big.yaml.

    By default a fan of short lives (init forks a child, it exits, init reaps it: three
    steps each), written directly; with `random`, engine.randomgen's
    scenario cut to `steps` steps (its own prefix, so every step stays valid), which on
    this shared machine takes minutes to generate."""
    path = Path(folder) / "big.yaml"
    if random:
        from ptree.engine.randomgen import generate
        from ptree.engine.scenario import dump_scenario
        sc = generate(seed, int(steps * 1.7) + 1000)     # its actions make fewer steps
        sc.steps = sc.steps[:steps]
        sc.expect = []                                 # the whole run's final state no more
        sc.title = f"Random scenario, seed {seed}, {len(sc.steps)} steps"
        path.write_text(dump_scenario(sc))
        return path
    lines = [f"title: {steps} steps of short lives", "kernel: reaper", "steps:"]
    for i in range(steps // 3):
        lines += [f"  - init: fork c{i}", f"  - c{i}: exit {i % 5}", f"  - init: wait4 c{i}"]
    lines += [f"  - init: fork t{k}" for k in range(steps % 3)]
    path.write_text("\n".join(lines) + "\n")
    return path


def percentile(values, p):
    values = sorted(values)
    if not values:
        return None
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]


def summary(ms):
    return {"n": len(ms), "p50_ms": round(statistics.median(ms), 2) if ms else None,
            "p99_ms": round(percentile(ms, 99), 2) if ms else None,
            "max_ms": round(max(ms), 2) if ms else None}


def opener(url, done):
    """In a process of its own: open the big scenario, wait for its snapshot."""
    import asyncio
    done.put(asyncio.run(_open_big(url)))


async def _open_big(url):
    import asyncio
    # aiohttp refuses websocket messages over 4 MB by default; a full snapshot of a long
    # run was hundreds before its log came in pages (docs/protocol.md, log_chunk).
    sio = socketio.AsyncClient(reconnection=False, websocket_extra_options={"max_msg_size": 0})
    progress, chunks = [], []
    loaded = asyncio.get_running_loop().create_future()
    got = {"entries": 0, "want": None, "snapshot_at": None}

    def check():
        if got["want"] is not None and got["entries"] >= got["want"] and not loaded.done():
            loaded.set_result(None)

    def on_snapshot(msg):
        got["snapshot_at"] = time.monotonic()
        got["total"], got["paged"] = msg["total"], "log_total" in msg
        got["entries"] = len(msg["events"])
        got["want"] = msg.get("log_total", len(msg["events"]))
        check()

    def on_chunk(msg):
        chunks.append(len(msg["events"]))
        got["entries"] += len(msg["events"])
        check()

    sio.on("open_progress", lambda msg: progress.append(msg["events"]))
    sio.on("snapshot", on_snapshot)
    sio.on("log_chunk", on_chunk)
    sio.on("disconnect", lambda *a: loaded.done() or loaded.set_exception(
        RuntimeError("the server dropped the connection before the whole log came")))
    await sio.connect(url, transports=["websocket"], wait_timeout=300)
    # The client gives up on a read that takes longer than the server's ping interval and
    # timeout (45 s); taking in a snapshot of hundreds of MB on a loaded machine could.
    sio.eio.ping_interval = 3600
    started = time.monotonic()
    await sio.emit("open", {"name": "big"})
    await loaded
    seconds = time.monotonic() - started
    await sio.disconnect()
    return {"seconds": round(seconds, 2), "events": got["total"],
            "snapshot_at_s": round(got["snapshot_at"] - started, 2),
            "log_paged": got["paged"], "log_chunks": len(chunks),
            "log_entries": got["entries"],
            "progress_messages": len(progress),
            "last_progress_events": progress[-1] if progress else None}


class Stepper:
    """A tab stepping orphans-and-reapers back and forth, timing each round trip."""

    def __init__(self):
        import asyncio
        self.sio = socketio.AsyncClient(reconnection=False)
        self.waiting = None
        self.asyncio = asyncio
        for name in ("diff", "status", "snapshot"):
            self.sio.on(name, self._answered)
        self.forward = True
        self.rtts = []
        self.sent = []             # when each step was sent (time.monotonic)

    def _answered(self, msg):
        if self.waiting is not None and not self.waiting.done():
            self.waiting.set_result(msg)

    async def request(self, name, data=None):
        self.waiting = self.asyncio.get_running_loop().create_future()
        t0 = time.perf_counter()
        await (self.sio.emit(name, data) if data is not None else self.sio.emit(name))
        msg = await self.waiting
        return (time.perf_counter() - t0) * 1000, msg

    async def one(self):
        sent = time.monotonic()
        ms, msg = await self.request("step" if self.forward else "back")
        if msg.get("seq") in (0, msg.get("total")):
            self.forward = not self.forward
        self.rtts.append(ms)
        self.sent.append(sent)


async def measure(url):
    stepper = Stepper()
    # The first `hello` lists the library, which reads every file's title: the big one's
    # from its first 64 KB only (library.head_title; it was seconds of parsing).
    await stepper.sio.connect(url, transports=["websocket"], wait_timeout=300)
    await stepper.request("open", {"name": "orphans-and-reapers"})
    end = time.monotonic() + BASELINE_SECONDS
    while time.monotonic() < end:
        await stepper.one()
    alone, stepper.rtts, stepper.sent = stepper.rtts, [], []
    begun = time.monotonic()
    spawn = multiprocessing.get_context("spawn")    # a fresh interpreter, no event loop
    done = spawn.Queue()
    proc = spawn.Process(target=opener, args=(url, done))
    proc.start()
    while done.empty() and proc.is_alive():
        await stepper.one()
    if done.empty():
        raise SystemExit(f"the opener process ended without the snapshot (exit {proc.exitcode})")
    result = done.get()
    proc.join()
    await stepper.sio.disconnect()
    worst = max(range(len(stepper.rtts)), key=stepper.rtts.__getitem__, default=None)
    if worst is not None:    # where the longest wait fell: computing, or sending the result
        result["longest_step_sent_at_s"] = round(stepper.sent[worst] - begun, 2)
    return alone, stepper.rtts, result


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200_000)
    ap.add_argument("--async-mode", default="eventlet", choices=["eventlet", "threading"])
    ap.add_argument("--random", action="store_true",
                    help="a random scenario (engine.randomgen) instead of the fan of short lives")
    args = ap.parse_args(argv)
    folder = tempfile.mkdtemp(prefix="ptree-bench-server-")
    t0 = time.monotonic()
    path = make_scenario(folder, args.steps, random=args.random)
    generated = time.monotonic() - t0
    print(f"scenario: {args.steps} steps, {path.stat().st_size:,} bytes ({generated:.0f} s)")
    server = Server(args.async_mode, extra_args=["--scenarios", folder])
    try:
        import asyncio
        alone, during, result = asyncio.run(measure(server.url()))
    finally:
        server.stop()
    out = {"async_mode": args.async_mode, "steps": args.steps,
           "scenario_bytes": path.stat().st_size, "open": result,
           "step_round_trip_alone": summary(alone),
           "step_round_trip_during_open": summary(during),
           "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                       "load_average_1min": round(os.getloadavg()[0], 2)}}
    print(json.dumps(out, indent=2))
    results = ROOT / "bench" / "results" / "server.json"
    old = json.loads(results.read_text()) if results.exists() else {}
    old[args.async_mode] = out
    results.write_text(json.dumps(old, indent=2) + "\n")


if __name__ == "__main__":
    main()
