"""Golden outputs: what the engine says for every bundled and test scenario and for a fixed
set of `ptree random` ones, recorded as digests so a change that moves behaviour is seen.

Three things are recorded per scenario: the bytes of `ptree run --json`, the bytes of the
text event log (`ptree run`), and the event records themselves (seq, actor, kind, summary,
seed, step, line, result, violation, ops, inverse: the fields events had when the goldens
were first made; fields added since are left out, so adding one moves nothing).

    .venv/bin/python tests/golden/record.py        # rewrite tests/golden/golden.json

Regenerate only on purpose, and say in the commit which behaviour moved and why.
"""

import contextlib
import hashlib
import io
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).with_name("golden.json")
EVENT_FIELDS = ("seq", "actor", "name", "kind", "summary", "seed", "step", "line", "result",
                "violation", "ops", "inverse")
# (seed, actions, kernel, fork_ratio): a few hundred random scenarios over both kernels.
RANDOM = [(seed, 20 + (seed * 37) % 140, ("reaper", "classic")[seed % 2],
           (0.35, 0.5, 0.2)[seed % 3]) for seed in range(1, 241)]


def scenario_files():
    """Every scenario file the project keeps, relative to the repository, sorted."""
    files = list((ROOT / "scenarios").rglob("*.yaml")) + list((ROOT / "tests").rglob("*.yaml"))
    files += list((ROOT / "bench" / "scenarios").rglob("*.yaml"))
    return sorted(str(f.relative_to(ROOT)) for f in files)


def _sha(data):
    return hashlib.sha256(data.encode()).hexdigest()[:32]


def _cli(*argv):
    """(exit status, stdout) of the `ptree` command run in-process."""
    from ptree.webui.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(argv))
    return status, out.getvalue()


def _events_digest(path):
    from ptree.engine.runner import run_scenario
    from ptree.engine.scenario import load_scenario_file
    _, events = run_scenario(load_scenario_file(path))
    proj = [{k: ev.get(k) for k in EVENT_FIELDS} for ev in events]
    return _sha(json.dumps(proj, sort_keys=True, separators=(",", ":"))), len(events)


def record_file(path):
    """The golden record of one scenario file."""
    status, out = _cli("run", path, "--json")
    lstatus, log = _cli("run", path)
    events, n = _events_digest(path)
    return {"exit": status, "json": _sha(out), "log": _sha(log.replace(path, "FILE")),
            "events": events, "nevents": n}


def random_text(seed, actions, kernel, fork_ratio):
    """The text `ptree random` writes for these arguments."""
    status, text = _cli("random", "--seed", str(seed), "--actions", str(actions),
                        "--kernel", kernel, "--fork-ratio", str(fork_ratio))
    assert status == 0
    return text


def record_random(args):
    text = random_text(*args)
    with tempfile.TemporaryDirectory() as d:
        path = str(Path(d) / "random.yaml")
        Path(path).write_text(text)
        rec = record_file(path)
    rec["text"] = _sha(text)
    return rec


def random_key(args):
    seed, actions, kernel, ratio = args
    return f"random-{seed}-{actions}-{kernel}-{ratio}"


def record_all():
    import os
    os.chdir(ROOT)
    out = {"files": {f: record_file(f) for f in scenario_files()},
           "random": {random_key(a): record_random(a) for a in RANDOM}}
    return out


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    GOLDEN.write_text(json.dumps(record_all(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")
