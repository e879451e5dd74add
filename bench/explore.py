"""`ptree explore` benchmark (run by `make bench`): states explored per second and peak
memory, for the bundled race scenario (before-fix and after-fix) and for a scenario of
more than 100,000 reachable states.  Each search runs in a fresh process so that its
peak resident memory (ru_maxrss) is its own.  Writes bench/results/explore.json."""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results", "explore.json")
CASES = [
    ("multi-lwp-exit-race (before-fix)", "scenarios/multi-lwp-exit-race.yaml", "before-fix"),
    ("multi-lwp-exit-race (after-fix)", "scenarios/multi-lwp-exit-race.yaml", "after-fix"),
    ("two-threaded-exits (after-fix)", "bench/scenarios/two-threaded-exits.yaml", "after-fix"),
]

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from ptree.engine.explore import explore
from ptree.engine.scenario import load_scenario_file
sc = load_scenario_file(sys.argv[2])
sc.race = sys.argv[3]
t0 = time.perf_counter()
r = explore(sc, max_states=1_000_000)
dt = time.perf_counter() - t0
print(json.dumps({"states": r.states, "transitions": r.transitions, "complete": r.complete,
                  "violations": [v.invariant for v in r.violations],
                  "seconds": round(dt, 2), "states_per_s": round(r.states / dt),
                  "transitions_per_s": round(r.transitions / dt),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))
"""


def main():
    out = {}
    for name, path, race in CASES:
        res = subprocess.run([sys.executable, "-c", CHILD, ROOT, os.path.join(ROOT, path), race],
                             capture_output=True, text=True, check=True)
        out[name] = json.loads(res.stdout)
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w") as f:
        json.dump(out, f, indent=2)
    print(f"{'scenario':<36} {'states':>8} {'transitions':>11} {'states/s':>9} "
          f"{'trans/s':>8} {'peak MB':>8}  violations")
    for name, r in out.items():
        print(f"{name:<36} {r['states']:>8} {r['transitions']:>11} {r['states_per_s']:>9} "
              f"{r['transitions_per_s']:>8} {r['peak_rss_mb']:>8}  {', '.join(r['violations']) or '-'}")
    print(f"written to {os.path.relpath(RESULTS, ROOT)}")


if __name__ == "__main__":
    main()
