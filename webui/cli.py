"""The `ptree` command line (architecture.md "Command line", contract).

`run` and `check` import only the engine, so they start fast; Flask is imported for
`serve` alone.  Exit status: 0 fine, 1 a failed expectation or violated invariant,
2 bad input (`FILE:LINE: message` on stderr, never a traceback).
"""

import argparse
import json
import sys

from engine.errors import EngineError
from engine.runner import check_scenario_file, run_scenario
from engine.scenario import ScenarioError, load_scenario_file


def _fail(err):
    print(str(err), file=sys.stderr)
    return 2


def _status_text(status):
    """ " (exit 3)" after a step's return value, or "" when it carries no status."""
    from engine.waitstatus import status_text
    text = status_text(status)
    return f" ({text})" if text else ""


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
            if res["blocked"] == "stopped":
                print(f"       step {res['step']} `{res['command']}` has not returned: its "
                      "process is stopped (SSTOP) in the middle of it")
            elif res["blocked"]:
                print(f"       step {res['step']} `{res['command']}` is still blocked "
                      f"({res['blocked']})")
    return 1 if violated else 0


def check_file(path, out=sys.stdout, err=sys.stderr):
    """Run one scenario and its expectations; returns 0, 1 or 2."""
    status, messages, summary = check_scenario_file(path)
    for message in messages:
        print(message, file=err)
    if status == 0:
        print(summary, file=out)
    return status


def cmd_check(args):
    return max(check_file(path) for path in args.files)


def cmd_explore(args):
    from engine.explore import explore
    try:
        scenario = load_scenario_file(args.file)
        if scenario.schedule == "choice":
            raise ScenarioError(args.file, 1, "explore takes a scenario under schedule: auto; "
                                              "a schedule: choice file is one interleaving")
        if args.max_states < 1:
            raise ScenarioError(args.file, 0, "--max-states must be at least 1")
        result = explore(scenario, args.max_states)
    except ScenarioError as e:
        return _fail(e)
    if args.json:
        json.dump({"states": result.states, "transitions": result.transitions,
                   "complete": result.complete, "max_states": result.max_states,
                   "terminal_states": result.terminal,
                   "violations": [{"invariant": v.invariant, "message": v.message,
                                   "length": len(v.trace),
                                   "trace": v.scenario_text(scenario)}
                                  for v in result.violations]}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(f"# explored {result.states} states and {result.transitions} transitions "
              f"of {args.file} (kernel {scenario.kernel}, race {scenario.race})")
        if not result.complete:
            print(f"# --max-states {args.max_states} reached: the search stopped before "
                  "every state was seen; absence of violations is not proven")
        if not result.violations:
            print("# no invariant is violated" + (" in any interleaving" if result.complete
                                                   else " in the states seen"))
        for v in result.violations:
            print(f"# VIOLATION of {v.invariant}: {v.message}")
            print(f"# shortest trace: {len(v.trace)} steps; replay with `ptree run FILE`")
            print(v.scenario_text(scenario))
    return 1 if result.violations else 0


def cmd_random(args):
    from engine.randomgen import generate
    from engine.scenario import dump_scenario
    if args.actions < 1 or not 0 <= args.fork_ratio <= 1:
        print("ptree random: --actions must be >= 1 and --fork-ratio within 0..1",
              file=sys.stderr)
        return 2
    sc = generate(args.seed, args.actions, kernel=args.kernel, fork_ratio=args.fork_ratio)
    sc.title = f"Random scenario, seed {args.seed}, {args.actions} actions ({args.kernel})"
    text = dump_scenario(sc)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


def cmd_serve(args):
    from webui.server import serve
    if args.message_queue and not args.message_queue.startswith(("redis://", "rediss://")):
        print("ptree serve: --message-queue takes a redis://HOST:PORT/N URL", file=sys.stderr)
        return 2
    serve(args.host, args.port, args.async_mode, args.scenarios, args.message_queue,
          args.instance)
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
    p = sub.add_parser("explore", help="search every interleaving for invariant violations")
    p.add_argument("file")
    p.add_argument("--max-states", type=int, default=200_000)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_explore)
    p = sub.add_parser("random", help="write a random valid scenario (same seed, same file)")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--actions", type=int, required=True)
    p.add_argument("--fork-ratio", type=float, default=0.35)
    p.add_argument("--kernel", choices=("reaper", "classic"), default="reaper")
    p.add_argument("-o", "--output", help="write to this file instead of stdout")
    p.set_defaults(func=cmd_random)
    p = sub.add_parser("serve", help="serve the web explorer")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5000)
    p.add_argument("--async-mode", choices=("eventlet", "threading"), default="eventlet")
    p.add_argument("--scenarios", default=None, help="a folder of extra scenario files")
    p.add_argument("--message-queue", default=None, metavar="redis://HOST:PORT/N",
                   help="share lecture rooms with other server processes through this Redis")
    p.add_argument("--instance", default=None, metavar="DIR",
                   help="the instance folder (the embedded lecture-room store lives there)")
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
