"""The `ptree` command line (architecture.md "Command line", contract).

`run` and `check` import only the engine, so they start fast; Flask is imported for
`serve` alone.  Exit status: 0 fine, 1 a failed expectation or violated invariant,
2 bad input (`FILE:LINE: message` on stderr, never a traceback).
"""

import argparse
import json
import sys

from engine.errors import EngineError
from engine.runner import run_scenario
from engine.scenario import ScenarioError, load_scenario_file


def _fail(err):
    print(str(err), file=sys.stderr)
    return 2


def _status_text(status):
    from engine.constants import SIGNAMES
    if status is None:
        return ""
    if status & 0xFF == 0x7F:
        return f" (stopped by {SIGNAMES.get(status >> 8, status >> 8)})"
    if status == 19:
        return " (continued)"
    if status & 0x7F:
        return f" (killed by {SIGNAMES.get(status & 0x7F, status & 0x7F)})"
    return f" (exit {status >> 8})"


def format_event(ev):
    """One line of the human event log."""
    line = f"{ev['seq']:>5}  {ev['name']:<12} {ev['kind']:<26} {ev['summary']}"
    if ev["seed"]:
        line += f"  [{ev['seed']}]"
    res = ev.get("result")
    if res is not None:
        if res["errno"]:
            line += f"\n       -> step {res['step']} `{res['command']}` fails: {res['errno']}"
        else:
            info = f" info {json.dumps(res['info'])}" if res["info"] else ""
            verb = ("does not return" if res["ret"] is None
                    else f"returns {res['ret']}")
            line += (f"\n       -> step {res['step']} `{res['command']}` {verb}"
                     f"{_status_text(res['status'])}{info}")
    if ev["violation"]:
        line = line.replace(ev["summary"], "!! " + ev["summary"])
    return line


def cmd_run(args):
    try:
        scenario = load_scenario_file(args.file)
        run, events = run_scenario(scenario)
    except ScenarioError as e:
        return _fail(e)
    except EngineError as e:                       # pragma: no cover - mapped by the runner
        return _fail(f"{args.file}:0: {e}")
    violated = any(ev["violation"] for ev in events)
    if args.json:
        json.dump({"state": run.kernel.root, "results": run.results(), "events": len(events)},
                  sys.stdout, sort_keys=False)
        sys.stdout.write("\n")
    else:
        title = f" -- {scenario.title}" if scenario.title else ""
        print(f"# {args.file}{title} (kernel {scenario.kernel}, race {scenario.race})")
        for ev in events:
            print(format_event(ev))
        for res in run.results():
            if res["blocked"]:
                print(f"       step {res['step']} `{res['command']}` is still blocked "
                      f"({res['blocked']})")
    return 1 if violated else 0


def check_file(path, out=sys.stdout, err=sys.stderr):
    """Run one scenario and its expectations; returns 0, 1 or 2."""
    try:
        scenario = load_scenario_file(path)
        run, events = run_scenario(scenario)
        failures = run.check_expectations()
    except ScenarioError as e:
        print(str(e), file=err)
        return 2
    worst = 0
    for ev in events:
        if ev["violation"]:
            line = ev.get("line") or 0
            print(f"{path}:{line}: invariant violated at event {ev['seq']}: {ev['violation']}",
                  file=err)
            worst = 1
    for line, message in failures:
        print(f"{path}:{line}: {message}", file=err)
        worst = 1
    if worst == 0:
        print(f"{path}: ok ({len(scenario.steps)} steps, {len(events)} events)", file=out)
    return worst


def cmd_check(args):
    return max(check_file(path) for path in args.files)


def cmd_serve(args):
    from webui.server import serve
    serve(args.host, args.port, args.async_mode, args.scenarios)
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="ptree", description="Explore DragonFly BSD's process lifecycle, one event at a time.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run a scenario and print its event log")
    p.add_argument("file")
    p.add_argument("--json", action="store_true",
                   help='print {"state": STATE, "results": [...], "events": N}')
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("check", help="run scenarios and check their expectations")
    p.add_argument("files", nargs="+")
    p.set_defaults(func=cmd_check)
    p = sub.add_parser("serve", help="serve the web explorer")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5000)
    p.add_argument("--async-mode", choices=("eventlet", "threading"), default="eventlet")
    p.add_argument("--scenarios", default=None, help="a folder of extra scenario files")
    p.set_defaults(func=cmd_serve)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:                        # `ptree run x | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
