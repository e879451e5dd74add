"""ptree beside OSTEP's fork.py (the homework simulator, cpu-api/fork.py) on one workload.

Builds 16,000 random fork/exit actions the way fork.py does (`-f 0.7`: 70% forks, a
random live process forks; an exit is by a random live process other than the root),
writes them both as a ptree scenario (kernel classic; the root is init, the others are
named p1, p2, ... which YAML reads as strings) and as fork.py's `-A` list, and times
`ptree run FILE --json`.  When FORKPY names a copy of fork.py it also times
`fork.py -A LIST -F -c` on the same list in the same run and prints the ratio
(ptree / fork.py; at most 1.0 is the target).  Wall-clock medians of --repeat runs, with
the load average beside them (the machine is shared).  Writes bench/results/forkpy.json.

    FORKPY=/tmp/forkpy/fork.py .venv/bin/python bench/forkpy.py
"""

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results", "forkpy.json")
PTREE = os.path.join(os.path.dirname(sys.executable), "ptree")
# The figures for this workload before the engine work (same machine).
BEFORE = {"forkpy_s": 1.1, "ptree_json_s": 8.9, "ptree_text_s": 4.8, "ratio": 7.9}


def actions(count, seed, fork_ratio=0.7):
    """[(parent, child)] for a fork, [(name, None)] for an exit; 'a' is the root."""
    rng = random.Random(seed)
    live = ["a"]
    out = []
    made = 0
    while len(out) < count:
        if rng.random() < fork_ratio:
            made += 1
            child = f"p{made}"
            out.append((rng.choice(live), child))
            live.append(child)
        else:
            name = rng.choice(live)
            if name == "a":
                continue
            live.remove(name)
            out.append((name, None))
    return out


def scenario_text(acts):
    forks = sum(1 for _, c in acts if c)
    lines = ["title: fork.py-style random fork/exit actions",
             "kernel: classic",
             f"limits: {{maxproc: {forks + 100}}}",
             "steps:"]
    for name, child in acts:
        actor = "init" if name == "a" else name
        lines.append(f"  - {actor}: fork {child}" if child else f"  - {actor}: exit 0")
    return "\n".join(lines) + "\n"


def forkpy_list(acts):
    return ",".join(f"{n}+{c}" if c else f"{n}-" for n, c in acts)


# fork.py takes its list as one argument, longer than the kernel's 128 KiB limit on one
# argument (MAX_ARG_STRLEN): a two-line launcher reads it from a file and hands it over
# in sys.argv, as the shell would.
LAUNCH = ("import runpy, sys; prog, lst = sys.argv[1:3]; "
          "sys.argv = [prog, '-A', open(lst).read(), '-F', '-c']; "
          "runpy.run_path(prog, run_name='__main__')")


def _children_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def timed(argv, repeat, cpu):
    """Wall-clock seconds of each run; the CPU seconds are appended to `cpu` (less
    disturbed by the other programs on a shared machine)."""
    times = []
    for _ in range(repeat):
        c0 = _children_cpu()
        t0 = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - t0)
        cpu.append(_children_cpu() - c0)
    return times


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--actions", type=int, default=16_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    acts = actions(args.actions, args.seed)
    forkpy = os.environ.get("FORKPY")
    out = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
           "actions": len(acts), "forks": sum(1 for _, c in acts if c),
           "repeat": args.repeat, "loadavg_1min_before": round(os.getloadavg()[0], 2)}
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "forkpy.yaml")
        with open(path, "w") as f:
            f.write(scenario_text(acts))
        listfile = os.path.join(d, "forkpy.list")
        with open(listfile, "w") as f:
            f.write(forkpy_list(acts))
        res = {}
        cpu = {"ptree_json": [], "forkpy": [], "ptree_text": []}
        # Interleave the two programs so that both see the same load.
        for _ in range(args.repeat):
            res.setdefault("ptree_json", []).extend(
                timed([PTREE, "run", path, "--json"], 1, cpu["ptree_json"]))
            if forkpy:
                res.setdefault("forkpy", []).extend(
                    timed([sys.executable, "-c", LAUNCH, forkpy, listfile], 1,
                          cpu["forkpy"]))
        res["ptree_text"] = timed([PTREE, "run", path], 1, cpu["ptree_text"])
    for k, v in res.items():
        out[f"{k}_s"] = round(statistics.median(v), 3)
        out[f"{k}_runs_s"] = [round(x, 3) for x in v]
        out[f"{k}_cpu_s"] = round(statistics.median(cpu[k]), 3)
    if forkpy:
        out["ratio"] = round(out["ptree_json_s"] / out["forkpy_s"], 2)
        out["ratio_cpu"] = round(out["ptree_json_cpu_s"] / out["forkpy_cpu_s"], 2)
    out["loadavg_1min_after"] = round(os.getloadavg()[0], 2)
    out["before"] = BEFORE
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w") as f:
        json.dump(out, f, indent=2)
    print(f"{out['actions']} actions ({out['forks']} forks), medians of {args.repeat}, "
          f"load {out['loadavg_1min_before']}-{out['loadavg_1min_after']}")
    print(f"ptree run --json  {out['ptree_json_s']:.2f} s   (issue: {BEFORE['ptree_json_s']} s)")
    print(f"ptree run         {out['ptree_text_s']:.2f} s   (issue: {BEFORE['ptree_text_s']} s)")
    if forkpy:
        print(f"fork.py -F -c     {out['forkpy_s']:.2f} s   ratio {out['ratio']} "
              f"(CPU time: {out['ratio_cpu']}; issue: {BEFORE['ratio']}; target <= 1.0)")
    else:
        print(f"(set FORKPY=path/to/fork.py to time fork.py too; the issue measured "
              f"{BEFORE['forkpy_s']} s for it)")
    print(f"written to {os.path.relpath(RESULTS, ROOT)}")


if __name__ == "__main__":
    main()
