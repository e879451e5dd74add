"""Engine benchmarks (run by `make bench`, never by `make test`).

Figures, each with the per-event invariant checks on and off:
- events per second replaying a generated 100,000-step scenario;
- per-event cost with 100 live processes versus 20,000 (the ratio);
- mean JSON Patch bytes per event versus the whole state document at 10,000 processes;
- time of jump(n) to random positions of the 100,000-step run.
Writes bench/results/engine.json and prints a table.  Targets (2 cores, checks on):
>= 20,000 events/s, ratio <= 1.5, patch bytes < 1% of the document, jump < 100 ms.
"""

import argparse
import gc
import json
import os
import random
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from ptree.engine.randomgen import Generator, RandomPicker  # noqa: E402
from ptree.engine.runner import Run  # noqa: E402
from ptree.engine.scenario import make_step, new_scenario  # noqa: E402

RESULTS = os.path.join(ROOT, "bench", "results", "engine.json")


def generated_scenario(steps, seed=2026):
    gen = Generator(RandomPicker(seed), "reaper", fork_ratio=0.3,
                    limits={"maxproc": 2000}, check=False)
    return gen.generate(steps)


def replay_rate(scenario, check):
    """Events per second for a fresh run of the whole scenario."""
    run = Run(scenario, check=check)
    gc.collect()
    t0 = time.perf_counter()
    n = run.run()
    dt = time.perf_counter() - t0
    return n, n / dt, run


class Grower:
    """A scenario written while it runs: a tree of N live processes with fan-out 8
    (so no children list grows with N), then a steady workload of fork/exit/wait4."""

    def __init__(self, check, maxproc):
        self.sc = new_scenario("reaper", limits={"maxproc": maxproc})
        self.run = Run(self.sc, check=check)
        self.names = ["init"]

    def do(self, actor, command):
        self.sc.steps.append(make_step(len(self.sc.steps) + 1, actor, command))
        n = 0
        while self.run.step() is not None:
            n += 1
        return n

    def grow(self, n):
        parent = 0
        while len(self.names) <= n:
            name = f"q{len(self.names)}"
            self.do(self.names[parent], f"fork {name}")
            self.names.append(name)
            if (len(self.names) - 1) % 8 == 0:
                parent += 1

    def workload(self, rounds, rng):
        """Each round: a random process forks a child, the child exits, the parent
        reaps it.  Returns (events, seconds, patch bytes)."""
        events = 0
        nbytes = 0
        elapsed = 0.0
        for i in range(rounds):
            parent = self.names[rng.randrange(1, len(self.names))]
            child = f"w{i}"
            before = self.run.seq
            batch = []
            for actor, cmd in ((parent, f"fork {child}"), (child, "exit 1"),
                               (parent, f"wait4 {child}")):
                self.sc.steps.append(make_step(len(self.sc.steps) + 1, actor, cmd))
                t0 = time.perf_counter()
                while (ev := self.run.step()) is not None:
                    batch.append(ev)
                elapsed += time.perf_counter() - t0
            nbytes += sum(len(json.dumps(ev["ops"], separators=(",", ":"))) for ev in batch)
            events += self.run.seq - before
        return events, elapsed, nbytes


def per_event_cost(size, check, rounds=2000, seed=7):
    g = Grower(check, maxproc=size + 100)
    g.grow(size)
    gc.collect()
    events, secs, nbytes = g.workload(rounds, random.Random(seed))
    return secs / events * 1e6, events, nbytes / events, g


def jump_times(run, total, count=30, seed=11):
    rng = random.Random(seed)
    times = []
    for _ in range(count):
        n = rng.randrange(total + 1)
        t0 = time.perf_counter()
        run.jump(n)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--big", type=int, default=20_000)
    ap.add_argument("--patch-size", type=int, default=10_000)
    args = ap.parse_args(argv)

    out = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}}
    t0 = time.perf_counter()
    scenario = generated_scenario(args.steps)
    out["generated"] = {"steps": len(scenario.steps),
                        "seconds": round(time.perf_counter() - t0, 1)}
    rows = []
    for check in (True, False):
        tag = "on" if check else "off"
        n, rate, run = replay_rate(scenario, check)
        out[f"replay_checks_{tag}"] = {"events": n, "events_per_s": round(rate)}
        jt = jump_times(run, n)
        out[f"jump_checks_{tag}"] = {"events": n, "mean_ms": round(statistics.mean(jt), 1),
                                     "p95_ms": round(sorted(jt)[int(len(jt) * .95) - 1], 1),
                                     "max_ms": round(max(jt), 1)}
        del run
        small, _, _, _ = per_event_cost(100, check)
        big, _, _, _ = per_event_cost(args.big, check)
        out[f"cost_checks_{tag}"] = {"us_per_event_100": round(small, 1),
                                     f"us_per_event_{args.big}": round(big, 1),
                                     "ratio": round(big / small, 2)}
        _, _, mean_patch, g = per_event_cost(args.patch_size, check, rounds=500)
        doc_bytes = len(json.dumps(g.run.kernel.root, separators=(",", ":")))
        out[f"patch_checks_{tag}"] = {"processes": g.run.kernel.root["nprocs"],
                                      "mean_patch_bytes": round(mean_patch),
                                      "document_bytes": doc_bytes,
                                      "percent": round(100 * mean_patch / doc_bytes, 4)}
        rows.append((tag, out[f"replay_checks_{tag}"]["events_per_s"],
                     out[f"cost_checks_{tag}"]["ratio"], small, big,
                     out[f"patch_checks_{tag}"]["percent"], out[f"jump_checks_{tag}"]))
        del g
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w") as f:
        json.dump(out, f, indent=2)
    print(f"generated scenario: {out['generated']['steps']} steps "
          f"({out['replay_checks_on']['events']} events)")
    print(f"{'checks':<7} {'events/s':>9} {'us/ev@100':>10} {'us/ev@big':>10} {'ratio':>6} "
          f"{'patch %doc':>11} {'jump mean':>10} {'jump max':>9}")
    for tag, rate, ratio, small, big, pct, jt in rows:
        print(f"{tag:<7} {rate:>9} {small:>10.1f} {big:>10.1f} {ratio:>6.2f} {pct:>10.4f}% "
              f"{jt['mean_ms']:>8.1f}ms {jt['max_ms']:>7.1f}ms")
    print("targets (checks on): >= 20000 events/s, ratio <= 1.5, patch < 1%, jump < 100 ms")
    print(f"written to {os.path.relpath(RESULTS, ROOT)}")


if __name__ == "__main__":
    main()
