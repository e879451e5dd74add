"""Engine benchmarks (run by `make bench`, never by `make test`).

Figures (the invariant checks on unless said otherwise; CPU-bound, so medians of
--repeat runs, with the load average beside them: the machine is shared):
- events per second replaying a generated scenario, recorded (patches and checkpoints,
  as the explorer runs it) and unrecorded (as `ptree run` / `ptree check` run it), each
  with the checks on and off;
- linear in the tree: init forking 5,000 and 50,000 children (one wide fan-out), cost
  per fork and the ratio; per-event cost of a steady fork/exit/wait4 workload with 100
  live processes versus 20,000, in a deep tree (fan-out 8) and in a wide one (every
  process a child of init);
- memory: peak RSS above the baseline per live process, 50,000 live processes, measured
  in a fresh process running as `ptree run --json` does;
- mean JSON Patch bytes per event versus the whole state document at 10,000 processes;
- time of jump(n) to random positions of a 250,000-event run (2,000 live processes).
Writes bench/results/engine.json and prints a table.  Targets (issue 10): >= 60,000
events/s unrecorded with checks, fan-out and size ratios <= 1.3 and 1.2, <= 3 KB per
process, jump p95 < 20 ms.
"""

import argparse
import gc
import json
import os
import random
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from ptree.engine.randomgen import Generator, RandomPicker  # noqa: E402
from ptree.engine.runner import Run, collector_paused  # noqa: E402
from ptree.engine.scenario import make_step, new_scenario  # noqa: E402

RESULTS = os.path.join(ROOT, "bench", "results", "engine.json")
# The figures issue 10 measured before the engine work (same machine).
BEFORE = {"events_per_s_recorded_checks_on": 14856, "fanout_12500_s": 4.8,
          "fanout_25000_s": 13.3, "fanout_50000_s": 36.6, "bytes_per_process": 14 * 1024,
          "jump_p95_ms": 450.6, "size_ratio_deep_checks_on": 1.33}


def load():
    return round(os.getloadavg()[0], 2)


def median_of(repeat, fn):
    return statistics.median(fn() for _ in range(repeat))


def generated_scenario(steps, seed=2026):
    gen = Generator(RandomPicker(seed), "reaper", fork_ratio=0.3,
                    limits={"maxproc": 2000}, check=False)
    with collector_paused():
        return gen.generate(steps)


def replay_rate(scenario, check, record):
    """Events per second (CPU time) for a fresh run of the whole scenario."""
    run = Run(scenario, check=check, record=record)
    gc.collect()
    t0 = time.process_time()
    with collector_paused():
        n = run.run()
    return n / (time.process_time() - t0), n


def fan_out_cost(n, check=True):
    """CPU microseconds per fork for init forking n children (unrecorded run)."""
    sc = new_scenario("reaper", limits={"maxproc": n + 100})
    for i in range(n):
        sc.steps.append(make_step(i + 1, "init", f"fork c{i}"))
    run = Run(sc, check=check, record=False)
    gc.collect()
    t0 = time.process_time()
    with collector_paused():
        run.run()
    return (time.process_time() - t0) / n * 1e6


class Grower:
    """A scenario written while it runs: a tree of N live processes with the given
    fan-out (8: a deep tree in which no children list grows with N; 0: every process
    a child of init), then a steady workload of fork/exit/wait4."""

    def __init__(self, check, maxproc, record=True):
        self.sc = new_scenario("reaper", limits={"maxproc": maxproc})
        self.run = Run(self.sc, check=check, record=record)
        self.names = ["init"]

    def do(self, actor, command):
        self.sc.steps.append(make_step(len(self.sc.steps) + 1, actor, command))
        while self.run.step() is not None:
            pass

    def grow(self, n, fanout=8):
        parent = 0
        with collector_paused():
            while len(self.names) <= n:
                name = f"q{len(self.names)}"
                self.do(self.names[parent], f"fork {name}")
                self.names.append(name)
                if fanout and (len(self.names) - 1) % fanout == 0:
                    parent += 1

    def workload(self, rounds, rng):
        """Each round: a random process forks a child, the child exits, the parent
        reaps it.  Returns (events, CPU seconds, patch bytes)."""
        events = 0
        nbytes = 0
        elapsed = 0.0
        with collector_paused():
            for i in range(rounds):
                parent = self.names[rng.randrange(1, len(self.names))]
                child = f"w{i}"
                before = self.run.seq
                batch = []
                for actor, cmd in ((parent, f"fork {child}"), (child, "exit 1"),
                                   (parent, f"wait4 {child}")):
                    self.sc.steps.append(make_step(len(self.sc.steps) + 1, actor, cmd))
                    t0 = time.process_time()
                    while (ev := self.run.step()) is not None:
                        batch.append(ev)
                    elapsed += time.process_time() - t0
                if self.run.record:
                    nbytes += sum(len(json.dumps(ev["ops"], separators=(",", ":")))
                                  for ev in batch)
                events += self.run.seq - before
        return events, elapsed, nbytes


def per_event_cost(size, check, fanout=8, rounds=2000, seed=7, record=True):
    g = Grower(check, maxproc=size + 100, record=record)
    g.grow(size, fanout)
    gc.collect()
    events, secs, nbytes = g.workload(rounds, random.Random(seed))
    return secs / events * 1e6, events, nbytes / max(events, 1), g


def steady_scenario(events, procs=2000, seed=5):
    """A scenario of about `events` events: a deep tree of `procs` processes, then
    rounds of fork / exit / wait4 by random processes (12 events a round)."""
    sc = new_scenario("reaper", limits={"maxproc": procs + 100})
    names = ["init"]
    for i in range(1, procs + 1):
        sc.steps.append(make_step(len(sc.steps) + 1, names[(i - 1) // 8], f"fork q{i}"))
        names.append(f"q{i}")
    rng = random.Random(seed)
    for r in range(max(0, (events - 2 * procs) // 12)):
        p = names[rng.randrange(1, len(names))]
        for actor, cmd in ((p, f"fork w{r}"), (f"w{r}", "exit 1"), (p, f"wait4 w{r}")):
            sc.steps.append(make_step(len(sc.steps) + 1, actor, cmd))
    return sc


def checkpoint_bytes(run):
    """What the checkpoints hold: each process pickle once (checkpoints share them),
    the rest of each checkpoint, and a reference (about 40 bytes) per process each."""
    blobs = {id(b): len(b) for ck in run.checkpoints.values() for b in ck[0].values()}
    return (sum(blobs.values()) + sum(len(ck[1]) for ck in run.checkpoints.values())
            + 40 * sum(len(ck[0]) for ck in run.checkpoints.values()))


def jump_times(run, total, count=40, seed=11):
    """Wall-clock milliseconds of jump(n) to random positions (what a viewer waits)."""
    rng = random.Random(seed)
    times = []
    for _ in range(count):
        n = rng.randrange(total + 1)
        t0 = time.perf_counter()
        run.jump(n)
        times.append((time.perf_counter() - t0) * 1000)
    return times


MEMORY_CHILD = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from ptree.engine.runner import Run
from ptree.engine.scenario import make_step, new_scenario
n = int(sys.argv[2])
sc = new_scenario("reaper", limits={"maxproc": n + 100})
for i in range(n):
    sc.steps.append(make_step(i + 1, "init", f"fork c{i}"))
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096
base = rss()
run = Run(sc, record=sys.argv[3] == "recorded")
kept = [] if sys.argv[3] == "events" else None
for ev in run.events():
    if kept is not None:
        kept.append(ev)
# VmHWM, not ru_maxrss: the latter survives exec and so starts at the parent's size.
with open("/proc/self/status") as f:
    peak = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))
print(json.dumps({"live": run.kernel.root["nprocs"] - 1, "bytes_per_process": (peak - base) // n}))
"""


def memory_per_process(n, mode):
    """Peak RSS above the baseline (the scenario built, the engine imported) per live
    process; `mode`: "run" (as `ptree run --json`: unrecorded, no event log kept),
    "events" (unrecorded, the log kept) or "recorded" (patches and checkpoints)."""
    res = subprocess.run([sys.executable, "-c", MEMORY_CHILD, ROOT, str(n), mode],
                         capture_output=True, text=True, check=True)
    return json.loads(res.stdout)["bytes_per_process"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--big", type=int, default=20_000)
    ap.add_argument("--patch-size", type=int, default=10_000)
    ap.add_argument("--jump-events", type=int, default=250_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    rep = args.repeat

    out = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
           "loadavg_1min_start": load(), "repeat": rep, "before": BEFORE}
    t0 = time.perf_counter()
    scenario = generated_scenario(args.steps)
    out["generated"] = {"steps": len(scenario.steps),
                        "seconds": round(time.perf_counter() - t0, 1)}
    for record in (True, False):
        for check in (True, False):
            tag = f"{'recorded' if record else 'unrecorded'}_checks_{'on' if check else 'off'}"
            rates = [replay_rate(scenario, check, record) for _ in range(rep)]
            out[f"replay_{tag}"] = {"events": rates[0][1],
                                    "events_per_s": round(statistics.median(r for r, _ in rates)),
                                    "loadavg_1min": load()}

    small = median_of(rep, lambda: fan_out_cost(5_000))
    big = median_of(rep, lambda: fan_out_cost(50_000))
    out["fanout_checks_on"] = {"us_per_fork_5000": round(small, 1),
                               "us_per_fork_50000": round(big, 1),
                               "ratio": round(big / small, 2), "loadavg_1min": load()}

    for shape, fanout in (("deep", 8), ("wide", 0)):
        for check in (True, False):
            tag = f"{shape}_checks_{'on' if check else 'off'}"
            small = statistics.median(per_event_cost(100, check, fanout)[0]
                                      for _ in range(rep))
            big = statistics.median(per_event_cost(args.big, check, fanout)[0]
                                    for _ in range(rep))
            out[f"cost_{tag}"] = {"us_per_event_100": round(small, 1),
                                  f"us_per_event_{args.big}": round(big, 1),
                                  "ratio": round(big / small, 2), "loadavg_1min": load()}

    out["memory_50000_live"] = {mode: statistics.median(memory_per_process(50_000, mode)
                                                        for _ in range(rep))
                                for mode in ("run", "events", "recorded")}
    out["memory_50000_live"]["unit"] = "bytes of peak RSS above baseline per live process"

    _, _, mean_patch, g = per_event_cost(args.patch_size, True, rounds=500)
    doc_bytes = len(json.dumps(g.run.kernel.root, separators=(",", ":")))
    out["patch_checks_on"] = {"processes": g.run.kernel.root["nprocs"],
                              "mean_patch_bytes": round(mean_patch),
                              "document_bytes": doc_bytes,
                              "percent": round(100 * mean_patch / doc_bytes, 4)}
    del g

    run = Run(steady_scenario(args.jump_events))
    t0 = time.perf_counter()
    with collector_paused():
        total = run.run()
    record_s = time.perf_counter() - t0
    jt = sorted(t for _ in range(rep) for t in jump_times(run, total))
    out["jump_checks_on"] = {"events": total, "processes": run.kernel.root["nprocs"],
                             "checkpoints": len(run.checkpoints),
                             "checkpoint_mb": round(checkpoint_bytes(run) / 2 ** 20, 1),
                             "run_s": round(record_s, 1), "jumps": len(jt),
                             "median_ms": round(statistics.median(jt), 1),
                             "p95_ms": round(jt[int(len(jt) * .95) - 1], 1),
                             "max_ms": round(jt[-1], 1), "loadavg_1min": load()}
    del run
    out["loadavg_1min_end"] = load()

    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w") as f:
        json.dump(out, f, indent=2)
    print(f"generated scenario: {out['generated']['steps']} steps "
          f"({out['replay_recorded_checks_on']['events']} events); medians of {rep}; "
          f"load {out['loadavg_1min_start']} -> {out['loadavg_1min_end']}")
    for k, v in out.items():
        if k.startswith(("replay_", "fanout_", "cost_", "memory_", "patch_", "jump_")):
            print(f"{k:<30} " + ", ".join(f"{a} {b}" for a, b in v.items()))
    print("targets: >= 60000 events/s (unrecorded, checks on); fan-out ratio <= 1.3; "
          "size ratio <= 1.2; <= 3072 bytes per process; jump p95 < 20 ms")
    print(f"written to {os.path.relpath(RESULTS, ROOT)}")


if __name__ == "__main__":
    main()
