"""`ptree explore` benchmark (run by `make bench`): states explored per second and peak
memory, for the bundled race scenario (before-fix and after-fix) and for a scenario of
more than 100,000 reachable states, with one job and with N (--jobs, default one per
core).  Each search runs in a fresh process so that its peak resident memory (ru_maxrss,
its workers' included) is its own; the load average is recorded beside each row, since
the machine is shared.  Writes bench/results/explore.json."""

import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results", "explore.json")
CASES = [
    ("multi-lwp-exit-race (before-fix)", "scenarios/multi-lwp-exit-race.yaml", "before-fix",
     1_000_000),
    ("multi-lwp-exit-race (after-fix)", "scenarios/multi-lwp-exit-race.yaml", "after-fix",
     1_000_000),
    ("two-threaded-exits, 20,000 states", "bench/scenarios/two-threaded-exits.yaml",
     "after-fix", 20_000),
    ("two-threaded-exits (after-fix)", "bench/scenarios/two-threaded-exits.yaml", "after-fix",
     1_000_000),
]
# Issue 10's figure before the engine work: --max-states 20000 in 28 s.
BEFORE = {"two-threaded-exits, 20,000 states": {"seconds": 28.0, "states_per_s": 700}}

CHILD = r"""
import json, os, resource, sys, time
sys.path.insert(0, sys.argv[1])
from ptree.engine.explore import explore
from ptree.engine.scenario import load_scenario_file
sc = load_scenario_file(sys.argv[2])
sc.race = sys.argv[3]
t0 = time.perf_counter()
c0 = time.process_time()
r = explore(sc, max_states=int(sys.argv[4]), jobs=int(sys.argv[5]))
dt = time.perf_counter() - t0
peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(json.dumps({"jobs": r.jobs, "states": r.states, "transitions": r.transitions,
                  "complete": r.complete, "stopped": r.stopped, "depth": r.depth,
                  "violations": [v.invariant for v in r.violations],
                  "seconds": round(dt, 2), "states_per_s": round(r.states / dt),
                  "transitions_per_s": round(r.transitions / dt),
                  "main_cpu_s": round(time.process_time() - c0, 2),
                  "peak_rss_mb": round(peak / 1024, 1),
                  "loadavg_1min": round(os.getloadavg()[0], 2)}))
"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--quick", action="store_true", help="skip the complete 130k-state search")
    args = ap.parse_args(argv)
    out = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
           "before": BEFORE, "rows": {}}
    for name, path, race, limit in CASES:
        if args.quick and limit > 100_000 and "two-threaded" in path:
            continue
        for jobs in sorted({1, args.jobs}):
            res = subprocess.run([sys.executable, "-c", CHILD, ROOT, os.path.join(ROOT, path),
                                  race, str(limit), str(jobs)],
                                 capture_output=True, text=True, check=True)
            out["rows"][f"{name}, {jobs} job{'s' if jobs > 1 else ''}"] = json.loads(res.stdout)
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w") as f:
        json.dump(out, f, indent=2)
    print(f"{'scenario':<46} {'states':>8} {'trans':>8} {'states/s':>9} {'peak MB':>8} "
          f"{'load':>5}  violations")
    for name, r in out["rows"].items():
        print(f"{name:<46} {r['states']:>8} {r['transitions']:>8} {r['states_per_s']:>9} "
              f"{r['peak_rss_mb']:>8} {r['loadavg_1min']:>5}  "
              f"{', '.join(r['violations']) or '-'}")
    print(f"written to {os.path.relpath(RESULTS, ROOT)}")


if __name__ == "__main__":
    main()
