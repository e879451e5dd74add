"""`make traced`: trace the example programs again and write scenarios/traced/*.yaml.

Each example is a real command run under `ptree trace` on this machine.  Its pids (and so
its process names, `sh_4120`) change with every run, so the expectations are not copied
from a run: they are worked out from what the program does, here, and matched to the
names of the new trace by role (the process forked by init, its child that runs ls...).
Every file is then run through `ptree check`.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PTREE = [sys.executable, "-m", "ptree"]
# The interpreter as the title shows it: relative to the repository when inside it.
PY = os.path.relpath(sys.executable, ROOT) if sys.executable.startswith(str(ROOT)) \
    else sys.executable


def forks(text):
    """[(parent actor base, child name)] of the scenario's fork steps, in order."""
    return [(m.group(1).split(".")[0], m.group(2)) for m in
            re.finditer(r"^  - ([\w.-]+): (?:fork|vfork|rfork \S+) ([\w-]+)", text, re.M)]


def by_program(text, program):
    """The names of the processes that run `program` (named PROGRAM_PID), in fork order."""
    return [child for _, child in forks(text) if child.startswith(program + "_")]


def add_step_expect(text, pattern, expect):
    """Put `expect: EXPECT` under the first step line matching the regular expression."""
    m = re.search(rf"^(  - {pattern})(\s+#.*)?$", text, re.M)
    if not m:
        raise SystemExit(f"regenerate: no step matches {pattern!r}")
    return text[:m.end()] + f"\n    expect: {expect}" + text[m.end():]


def pipeline(text):
    sh = by_program(text, "sh")[0]
    (sleep,), (ls,), (wc,) = by_program(text, "sleep"), by_program(text, "ls"), \
        by_program(text, "wc")
    return text, {sh: "{ppid: init, state: SZOMB}", ls: "reaped", wc: "reaped",
                  sleep: "{ppid: init, state: SZOMB}"}


def daemon(text):
    outer, inner = by_program(text, "sh")
    (sleep,) = by_program(text, "sleep")
    return text, {outer: "{ppid: init, state: SZOMB}", inner: "reaped",
                  sleep: "{ppid: init, state: SZOMB}"}


def make_j2(text):
    (make,) = by_program(text, "make")
    first, second = by_program(text, "sleep")
    return text, {make: "{ppid: init, state: SZOMB}", first: "reaped", second: "reaped"}


def threads(text):
    (main,) = [c for p, c in forks(text) if p == "init"]
    (child,) = [c for p, c in forks(text) if p == main]
    text = add_step_expect(text, rf"{main}\.\d+: wait4 {child}", f"{{ret: {child}, exit: 7}}")
    return text, {main: "{ppid: init, state: SZOMB, nthreads: 0}", child: "reaped"}


def subreaper(text):
    (main,) = [c for p, c in forks(text) if p == "init"]
    (child,) = [c for p, c in forks(text) if p == main]
    (grandchild,) = [c for p, c in forks(text) if p == child]
    waits = re.findall(rf"^  - {main}: wait4 any", text, re.M)
    assert len(waits) == 2, "the program waits twice"
    text = add_step_expect(text, rf"{main}: procctl acquire", "{ret: 0}")
    # Both waits: the second is found by its comment's Linux result, the grandchild.
    text = add_step_expect(text, rf"{main}: wait4 any(?=\s+# .*Linux: \d+ \({child}\))",
                           f"{{ret: {child}, exit: 3}}")
    text = add_step_expect(text, rf"{main}: wait4 any(?=\s+# .*Linux: \d+ \({grandchild}\))",
                           f"{{ret: {grandchild}, exit: 7}}")
    return text, {main: "{ppid: init, state: SZOMB}", child: "reaped", grandchild: "reaped"}


EXAMPLES = [
    ("traced-pipeline", ["sh", "-c", "sleep 1 & ls | wc -l"], pipeline,
     "A shell pipeline with a background job, traced on Linux. sh forks sleep (in the "
     "background), ls and wc, and waits for the pipeline only; when sh exits, the sleep it "
     "never waited for is an orphan and moves to init, which does not reap it here."),
    ("traced-daemon", ["sh", "-c", 'sh -c "sleep 1 </dev/null >/dev/null 2>&1 &"; '
                       "echo daemon started"], daemon,
     "The double fork a daemon makes, traced on Linux: the outer sh forks an inner sh, "
     "which forks the daemon (sleep) and exits at once; the outer sh reaps the inner one, "
     "and the daemon, orphaned, is adopted by init."),
    ("traced-make-j2", ["make", "-s", "-f", "scenarios/traced/tiny.mk", "-j2"], make_j2,
     "make -j2 of a two-job Makefile, traced on Linux. make starts each job with "
     "posix_spawn, a clone with CLONE_VM|CLONE_VFORK: a vfork, so make sleeps in ppwait "
     "until the child has exec'd sleep; it then polls with WNOHANG and waits for both."),
    ("traced-threads", [PY, "scenarios/traced/threads.py"], threads,
     "A multi-threaded Python program, traced on Linux. Two CLONE_THREAD clones are two "
     "lwp_create steps; the first thread forks a child and waits for it by pid (the child "
     "exits 7); each thread ends with exit(0), extexit lwp; the main thread's exit_group "
     "ends the process."),
    ("traced-subreaper", [PY, "scenarios/traced/subreaper.py"], subreaper,
     "The reality check: a Python program makes itself a sub-reaper with "
     "prctl(PR_SET_CHILD_SUBREAPER), forks a child that forks a grandchild and exits 3, "
     "then waits twice. Linux gave the orphan to the sub-reaper and the second wait "
     "reaped it; so does this replay under reaper. Open it in compare mode: under classic "
     "(2011) procctl is ENOSYS, the orphan goes to init and the second wait4 fails with "
     "ECHILD."),
]


def regenerate(name, command, roles, lecture, out_dir=HERE):
    """Trace one example into out_dir/NAME.yaml, with its lecture text and expectations,
    and check it."""
    out = Path(out_dir) / f"{name}.yaml"
    proc = subprocess.run([*PTREE, "trace", "--timeout", "60", "-o", str(out), "--",
                           *command], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"regenerate: {name}: {proc.stderr.strip()}")
    text = out.read_text()
    text, expect = roles(text)
    text = re.sub(r'^description: "(.*)"$',
                  lambda m: "description: " + json.dumps(
                      lecture + " " + json.loads(f'"{m.group(1)}"'), ensure_ascii=False),
                  text, count=1, flags=re.M)
    text += "expect:\n" + "".join(f"  {k}: {v}\n" for k, v in expect.items())
    out.write_text(text)
    check = subprocess.run([*PTREE, "check", str(out)], cwd=ROOT, capture_output=True,
                           text=True)
    sys.stdout.write(check.stdout)
    if check.returncode:
        raise SystemExit(f"regenerate: {name}: {check.stderr.strip()}")


def main(names, out_dir=HERE):
    for name, command, roles, lecture in EXAMPLES:
        if not names or name in names:
            regenerate(name, command, roles, lecture, out_dir)


if __name__ == "__main__":
    main(sys.argv[1:])
