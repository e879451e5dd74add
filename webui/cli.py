"""The `ptree` command line (architecture.md "Command line", contract).

`run` and `check` import only the engine, so they start fast; Flask is imported for
`serve` alone.  Exit status: 0 fine, 1 a failed expectation or violated invariant,
2 bad input (`FILE:LINE: message` on stderr, never a traceback), 3 an internal error
(one line on stderr naming the file being processed: a bug to report, or a system that
refused, such as a full disk; never a traceback either).
"""

import argparse
import json
import os
import sys

from ptree.engine.errors import EngineError
from ptree.engine.runner import Run, check_scenario_file
from ptree.engine.scenario import ScenarioError, load_scenario_file


def _fail(err):
    print(str(err), file=sys.stderr)
    return 2


def _status_text(status):
    """ " (exit 3)" after a step's return value, or "" when it carries no status."""
    from ptree.engine.waitstatus import status_text
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


def scenario_path(arg):
    """A scenario argument as a path: the file if one of that name exists, else the
    bundled scenario of that name (`ptree run orphans-and-reapers`), else the argument
    unchanged (so reading it reports the missing file)."""
    if os.path.exists(arg):
        return arg
    from ptree.resources import data_dir
    root = data_dir("scenarios")
    for candidate in (root / f"{arg}.yaml", root / "traced" / f"{arg}.yaml"):
        if candidate.is_file():
            return str(candidate)
    return arg


def cmd_run(args):
    args.file = scenario_path(args.file)
    try:
        scenario = load_scenario_file(args.file)
        run = Run(scenario, record=False)
        # The events are not kept: --json reads none, the log only its lines (written
        # after the run, so that bad input met half-way prints no half log).
        lines = []
        violated = False
        for ev in run.events():
            violated = violated or bool(ev["violation"])
            if not args.json:
                lines.append(format_event(ev))
    except ScenarioError as e:
        return _fail(e)
    except EngineError as e:                       # pragma: no cover - mapped by the runner
        return _fail(f"{args.file}:0: {e}")
    if args.json:
        # json.dumps then one write: json.dump writes chunk by chunk, 13x slower.
        sys.stdout.write(json.dumps({"state": run.kernel.root, "results": run.results(),
                                     "events": run.seq}, sort_keys=False) + "\n")
    else:
        title = f" -- {scenario.title}" if scenario.title else ""
        print(f"# {args.file}{title} (kernel {scenario.kernel}, race {scenario.race})")
        sys.stdout.write("".join(line + "\n" for line in lines))
        for res in run.results():
            if res["blocked"] == "stopped":
                print(f"       step {res['step']} `{res['command']}` has not returned: its "
                      "process is stopped (SSTOP) in the middle of it")
            elif res["blocked"]:
                print(f"       step {res['step']} `{res['command']}` is still blocked "
                      f"({res['blocked']})")
    return 1 if violated else 0


def check_file(path, out=None, err=None):
    """Run one scenario and its expectations; returns 0, 1 or 2.  out and err default to
    the sys.stdout and sys.stderr of the moment (so a caller can redirect them)."""
    out, err = out or sys.stdout, err or sys.stderr
    status, messages, summary = check_scenario_file(path)
    for message in messages:
        print(message, file=err)
    if status == 0:
        print(summary, file=out)
    return status


def cmd_check(args):
    worst = 0
    for path in args.files:
        args.current = path = scenario_path(path)  # named by an internal error
        worst = max(worst, check_file(path))
    return worst


def cmd_explore(args):
    from ptree.engine.explore import explore
    args.file = scenario_path(args.file)
    try:
        scenario = load_scenario_file(args.file)
        if scenario.schedule == "choice":
            raise ScenarioError(args.file, 1, "explore takes a scenario under schedule: auto; "
                                              "a schedule: choice file is one interleaving")
        if args.max_states < 1:
            raise ScenarioError(args.file, 0, "--max-states must be at least 1")
        if args.jobs < 0:
            raise ScenarioError(args.file, 0, "--jobs must be 0 (one per core) or more")
        result = explore(scenario, args.max_states, max_memory=args.max_memory,
                         jobs=args.jobs)
    except ScenarioError as e:
        return _fail(e)
    if args.json:
        sys.stdout.write(json.dumps({
            "states": result.states, "transitions": result.transitions,
            "complete": result.complete, "max_states": result.max_states,
            "max_memory": result.max_memory, "stopped": result.stopped,
            "depth": result.depth, "jobs": result.jobs, "terminal_states": result.terminal,
            "violations": [{"invariant": v.invariant, "message": v.message,
                            "length": len(v.trace), "trace": v.scenario_text(scenario)}
                           for v in result.violations]}, indent=2) + "\n")
    else:
        print(f"# explored {result.states} states and {result.transitions} transitions "
              f"of {args.file} (kernel {scenario.kernel}, race {scenario.race})")
        if result.stopped == "max_states":
            print(f"# --max-states {args.max_states} reached, {result.depth} levels deep: "
                  "the search stopped before every state was seen; absence of violations "
                  "is not proven")
        elif result.stopped == "max_memory":
            print(f"# --max-memory {_size_text(args.max_memory)} reached after "
                  f"{result.states} states, {result.depth} levels deep: the search stopped "
                  "before every state was seen; absence of violations is not proven")
        if not result.violations:
            print("# no invariant is violated" + (" in any interleaving" if result.complete
                                                   else " in the states seen"))
        for v in result.violations:
            print(f"# VIOLATION of {v.invariant}: {v.message}")
            print(f"# shortest trace: {len(v.trace)} steps; replay with `ptree run FILE`")
            print(v.scenario_text(scenario))
    return 1 if result.violations else 0


def memory_size(text):
    """--max-memory: bytes, or a number with K, M or G (powers of 1024)."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    t = text.strip().upper().removesuffix("B")
    mult = units.get(t[-1:], 1)
    try:
        value = float(t[:-1] if t[-1:] in units else t)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (like 512M or 2G)") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("--max-memory must be more than 0")
    return int(value * mult)


def _size_text(n):
    for unit, size in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n >= size:
            return f"{n / size:g}{unit}"
    return str(n)


def cmd_random(args):
    from ptree.engine.randomgen import generate
    from ptree.engine.scenario import dump_scenario
    if args.actions < 1 or not 0 <= args.fork_ratio <= 1:
        print("ptree random: --actions must be >= 1 and --fork-ratio within 0..1",
              file=sys.stderr)
        return 2
    sc = generate(args.seed, args.actions, kernel=args.kernel, fork_ratio=args.fork_ratio)
    sc.title = f"Random scenario, seed {args.seed}, {args.actions} actions ({args.kernel})"
    text = dump_scenario(sc)
    if args.output:
        try:
            with open(args.output, "w") as f:
                f.write(text)
        except OSError as e:
            print(f"ptree random: cannot write {args.output}: {e.strerror}", file=sys.stderr)
            return 2
    else:
        sys.stdout.write(text)
    return 0


def _write_scenario(text, output):
    if output:
        with open(output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()


def cmd_trace(args):
    """`ptree trace -- COMMAND...`: run it under strace, write its process tree as a
    scenario (webui.tracer runs strace, webui.strace reads it, webui.trace maps it)."""
    import platform
    import shlex
    from datetime import UTC, datetime

    from ptree.webui.strace import read_log
    from ptree.webui.trace import convert
    from ptree.webui.tracer import TraceError, trace_command
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if args.timeout <= 0:
        print("ptree trace: --timeout must be more than 0 seconds", file=sys.stderr)
        return 2
    started = datetime.now(UTC)
    try:
        traced = trace_command(command, timeout=args.timeout, log=args.strace_log,
                               stdout=None if args.output is None else sys.stdout)
    except TraceError as e:
        print(f"ptree trace: {e}", file=sys.stderr)
        return 2
    try:
        records, _ = read_log(traced.log)
        origin = (f"Traced with ptree trace on {platform.node()} ({platform.system()} "
                  f"{platform.release()}, {platform.machine()}) at "
                  f"{started:%Y-%m-%d %H:%M} UTC with {traced.strace_version}.")
        reason = (f"its --timeout of {args.timeout:g} s" if traced.why_stopped == "timeout"
                  else "an interrupt (Ctrl-C)")
        text, summary = convert(records, kernel=args.kernel, title=shlex.join(command),
                                origin=origin, cut_at=traced.stopped_at, cut_reason=reason,
                                filename=str(traced.log))
    except ScenarioError as e:
        return _fail(e)
    finally:
        if args.strace_log is None:
            traced.log.unlink(missing_ok=True)
    _write_scenario(text, args.output)
    where = f"wrote {args.output}" if args.output else "scenario on stdout"
    print(f"ptree trace: {where}. {summary.text()}", file=sys.stderr)
    return 0


def cmd_import_strace(args):
    """`ptree import-strace LOG`: an existing strace -f log (a file, an -ff folder or
    prefix) as a scenario."""
    from ptree.webui.strace import read_log
    from ptree.webui.trace import convert
    try:
        records, files = read_log(args.log)
        where = files[0] if len(files) == 1 else f"{len(files)} -ff files {args.log}"
        stamps = [r.ts for r in records if r.ts is not None and r.ts > 1e8]
        when = ""
        if stamps:
            from datetime import UTC, datetime
            when = f", traced {datetime.fromtimestamp(stamps[0], UTC):%Y-%m-%d %H:%M} UTC"
        origin = f"Imported with ptree import-strace from {where}{when}."
        if len(files) > 1 and not any(r.ts != int(r.ts) for r in records if r.ts is not None):
            origin += (" The -ff files have no sub-second timestamps, so the order across "
                       "processes is rebuilt from forks, kills and waits.")
        text, summary = convert(records, kernel=args.kernel, origin=origin,
                                filename=str(args.log))
    except ScenarioError as e:
        return _fail(e)
    _write_scenario(text, args.output)
    out = f"wrote {args.output}" if args.output else "scenario on stdout"
    print(f"ptree import-strace: {out}. {summary.text()}", file=sys.stderr)
    return 0


def cmd_serve(args):
    from ptree.webui.server import PortInUse, serve
    if args.message_queue and not args.message_queue.startswith(("redis://", "rediss://")):
        print("ptree serve: --message-queue takes a redis://HOST:PORT/N URL", file=sys.stderr)
        return 2
    try:
        serve(args.host, args.port, args.async_mode, args.scenarios, args.message_queue,
              args.instance, open_browser=args.open)
    except PortInUse as e:
        print(f"ptree serve: {e}", file=sys.stderr)
        return 2
    return 0


class _Version(argparse.Action):
    """--version, reading the version only when asked: importlib.metadata (with email,
    socket, datetime ...) was a fifth of every `ptree run`'s start-up."""

    def __call__(self, parser, namespace, values, option_string=None):
        from ptree import __version__
        print(f"ptree {__version__}")
        parser.exit()


def build_parser():
    parser = argparse.ArgumentParser(
        prog="ptree", description="Explore DragonFly BSD's process lifecycle, one event at a time.")
    parser.add_argument("--version", action=_Version, nargs=0,
                        help="show program's version number and exit")
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
    p.add_argument("--max-memory", type=memory_size, default=None, metavar="SIZE",
                   help="stop when the search holds this much (like 512M; its state "
                        "table and frontier, as the search counts them)")
    p.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="worker processes expanding each level (0: one per core); the "
                        "same states and violations as one job")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_explore)
    p = sub.add_parser("random", help="write a random valid scenario (same seed, same file)")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--actions", type=int, required=True)
    p.add_argument("--fork-ratio", type=float, default=0.35)
    p.add_argument("--kernel", choices=("reaper", "classic"), default="reaper")
    p.add_argument("-o", "--output", help="write to this file instead of stdout")
    p.set_defaults(func=cmd_random)
    p = sub.add_parser("trace", help="run a command under strace and write its process tree "
                                     "as a scenario")
    p.add_argument("-o", "--output", help="write to this file instead of stdout (the "
                                          "command's own output then stays on stdout)")
    p.add_argument("--kernel", choices=("reaper", "classic"), default="reaper")
    p.add_argument("--timeout", type=float, default=30.0,
                   help="stop the program after S seconds, keeping its trace (default 30)")
    p.add_argument("--strace-log", default=None, help="keep strace's own log in this file")
    p.add_argument("command", nargs=argparse.REMAINDER,
                   help="-- COMMAND ARGS...: the program to trace")
    p.set_defaults(func=cmd_trace)
    p = sub.add_parser("import-strace", help="an existing `strace -f` log as a scenario")
    p.add_argument("log", help="a log file, or -ff files as a folder or as their prefix LOG")
    p.add_argument("-o", "--output", help="write to this file instead of stdout")
    p.add_argument("--kernel", choices=("reaper", "classic"), default="reaper")
    p.set_defaults(func=cmd_import_strace)
    p = sub.add_parser("serve", help="serve the web explorer")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5000)
    p.add_argument("--async-mode", choices=("eventlet", "threading"), default="eventlet")
    p.add_argument("--scenarios", default=None, help="a folder of extra scenario files")
    p.add_argument("--open", action="store_true", help="open the explorer in the default browser")
    p.add_argument("--message-queue", default=None, metavar="redis://HOST:PORT/N",
                   help="share lecture rooms with other server processes through this Redis")
    p.add_argument("--instance", default=None, metavar="DIR",
                   help="the instance folder (the embedded lecture-room store lives there)")
    p.set_defaults(func=cmd_serve)
    return parser


def _quiet_stdout():
    """Flush stdout; if that fails (a closed pipe, a full disk), point it at /dev/null so
    that Python's own flush at exit does not fail again and print a traceback."""
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        try:
            fd = os.open(os.devnull, os.O_WRONLY)
            os.dup2(fd, sys.stdout.fileno())
            os.close(fd)
        except (OSError, ValueError):
            pass


def internal_error(args, exc):
    """Exit status 3: one line on stderr naming the file being processed and the
    exception, never a traceback (tests/test_fuzz.py fails if any input gets here)."""
    where = f" while processing {args.current}" if getattr(args, "current", None) else ""
    what = " ".join(f"{type(exc).__name__}: {exc}".split())
    print(f"ptree: internal error{where}: {what}", file=sys.stderr)
    _quiet_stdout()
    return 3


def main(argv=None):
    """The `ptree` command.  Returns the exit status: 0, 1, 2 (bad input) or 3 (internal
    error: any exception the commands did not turn into a status themselves)."""
    args = build_parser().parse_args(argv)
    args.current = getattr(args, "file", None) or getattr(args, "output", None)
    try:
        return args.func(args)
    except BrokenPipeError:                        # `ptree run x | head`
        _quiet_stdout()
        return 0
    except KeyboardInterrupt:                      # Ctrl-C: the shell's 128 + SIGINT
        print("ptree: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        return internal_error(args, exc)


if __name__ == "__main__":
    sys.exit(main())
