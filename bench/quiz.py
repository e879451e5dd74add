"""Quiz fairness statistics (run by `make bench`; not a timed test): over every question
the quiz asks about the bundled scenarios (each step's predict and which question, and the
final-tree one) under seeds 0-9, how many options are invented, how many questions show
identical before and after trees, and where the right answer sits (its share of each
position, by number of options).  Writes bench/results/quiz.json and prints a summary."""

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ptree.engine.quiz import statistics  # noqa: E402
from ptree.engine.scenario import load_scenario_file  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "quiz.json"
SEEDS = range(10)


def bundled():
    """The bundled scenarios the quiz can ask about (schedule: auto)."""
    paths = sorted((ROOT / "scenarios").glob("*.yaml")) + sorted(
        (ROOT / "scenarios" / "traced").glob("*.yaml"))
    out = {}
    for path in paths:
        sc = load_scenario_file(path)
        if sc.schedule == "auto":
            out[path.stem] = sc
    return out


def main():
    scenarios = bundled()
    per_seed = {str(s): statistics(scenarios, seeds=[s]) for s in SEEDS}
    total = statistics(scenarios, seeds=SEEDS)
    out = {"total": total, "seed_0": per_seed["0"],
           "two_option_second_share_by_seed": {
               s: st["position_share"].get("2", [None, None])[1] for s, st in per_seed.items()}}
    os.makedirs(RESULTS.parent, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    for label, st in (("seed 0", per_seed["0"]), (f"seeds {SEEDS[0]}-{SEEDS[-1]}", total)):
        print(f"{label}: {st['questions']} questions over {st['scenarios']} scenarios "
              f"{st['by_kind']}; invented options {st['invented_options']}, identical "
              f"trees {st['identical_trees']}, duplicate options {st['duplicate_options']}, "
              f"wrong options without a misconception {st['misconception_missing']}")
        for k, share in st["position_share"].items():
            print(f"  {k} options ({sum(st['positions'][k])} questions): right answer at "
                  + ", ".join(f"{p + 1}: {s:.1%}" for p, s in enumerate(share)))
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
