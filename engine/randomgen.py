"""Random valid scenarios that use the whole command set (for `ptree random`, the
property tests and the benchmarks).

The generator runs the engine as it writes, so each step it adds is one the actor can
take at that point (never bad input), yet the kernel's own errors (ECHILD, EAGAIN,
EALREADY, EPERM...) still occur.  Every choice goes through `pick(n)`, so the same seed
gives the same file, and hypothesis can drive (and shrink) the choices instead.
"""

import random

from .runner import Run
from .scenario import make_step, new_scenario

SIGS = ("SIGSTOP", "SIGCONT", "SIGCONT", "SIGKILL", "SIGTERM", "SIGUSR1")
WAIT_OPTS = ("", "", "WNOHANG", "WNOHANG", "WNOHANG", "WUNTRACED", "WCONTINUED",
             "WNOHANG|WUNTRACED|WCONTINUED", "WLINUXCLONE|WNOHANG")
RFORKS = ("RFPROC|RFNOWAIT", "RFPROC|RFTHREAD", "RFPROC|RFLINUXTHPN",
          "RFPROC|RFSIGSHARE", "RFPROC|RFFDG|RFCFDG", "RFFDG", "RFPROC|RFPPWAIT",
          "RFPROC|RFMEM|RFNOWAIT")


class RandomPicker:
    """pick(n) from a seeded random.Random."""

    def __init__(self, seed):
        self.rng = random.Random(seed)

    def pick(self, n):
        return self.rng.randrange(n)


class Generator:
    """Writes a scenario step by step while running it."""

    def __init__(self, picker, kernel="reaper", fork_ratio=0.35, limits=None, check=True,
                 race="after-fix", stops=0.0):
        """`stops` (0..1): how often a step stops or continues a process, preferring one
        asleep in the kernel, and lets waits sleep on live children (a run that ends with
        every thread blocked just ends early); 0 keeps the default mix unchanged."""
        self.p = picker
        self.fork_ratio = fork_ratio
        self.stops = stops
        self.sc = new_scenario(kernel, race, limits or {"maxproc": 1000},
                               title=f"Random scenario ({kernel})")
        self.run = Run(self.sc, check=check)
        self.events = []
        self.counter = 0

    def chance(self, prob):
        return self.p.pick(1000) < prob * 1000

    def choice(self, seq):
        return seq[self.p.pick(len(seq))]

    def settle(self):
        """Run kernel work and the last step to quiescence."""
        while len(self.run.state["pending"]) or self._more_kernel_work():
            ev = self.run.step()
            if ev is None:
                break
            self.events.append(ev)

    def _more_kernel_work(self):
        k = self.run.kernel
        return k.priv["current"] is not None or bool(k.priv["runq"]) and any(
            k._can_run(key) for key in k.priv["runq"])

    def idle_actors(self):
        """(name, pid, tid) of every LWP that may take a step now."""
        k = self.run.kernel
        frames = k.priv["frames"]
        out = []
        for p in k.root["procs"].values():
            if p["pid"] == 0 or p["state"] not in ("SACTIVE",):
                continue
            for t in k.live_tids(p):
                if (p["pid"], t) not in frames:
                    out.append((p["name"], p["pid"], t))
        return out

    def add(self, actor, command):
        step = make_step(len(self.sc.steps) + 1, actor, command, line=len(self.sc.steps) + 1)
        self.sc.steps.append(step)
        while self.run.state["pos"] < len(self.sc.steps):
            ev = self.run.step()
            if ev is None:
                break
            self.events.append(ev)
        self.settle()

    def generate(self, actions):
        """Add up to `actions` steps; stops early if no thread can act."""
        self.settle()
        for _ in range(actions):
            actors = self.idle_actors()
            if not actors:
                break
            # init reaps what is handed to it, as a real init does, now and then.
            inits = [a for a in actors if a[1] == 1]
            if inits and self.chance(0.1):
                name, pid, tid = inits[0]
            else:
                name, pid, tid = self.choice(actors)
            k = self.run.kernel
            p = k.proc(pid)
            actor = name if tid == k.live_tids(p)[0] else f"{name}.{tid}"
            self.add(actor, self.command(p))
        return self.sc

    def new_name(self):
        self.counter += 1
        return f"p{self.counter}"

    def command(self, p):
        """A command for process p, weighted towards growth when the tree is small."""
        k = self.run.kernel
        live = sum(1 for q in k.root["procs"].values() if q["state"] != "SZOMB")
        fork_ratio = 0.8 if live < 4 else self.fork_ratio
        if self.stops and self.chance(self.stops):
            return self.cmd_stop_or_continue()
        if self.chance(fork_ratio):
            return self.fork_command()
        kinds = ["wait", "wait", "kill", "exit", "exit", "procctl", "lwp", "misc"]
        kind = self.choice(kinds)
        if p["pid"] == 1 and kind in ("exit", "lwp"):
            kind = "wait"
        return getattr(self, "cmd_" + kind)(p)

    def fork_command(self):
        r = self.p.pick(100)
        if r < 70:
            return f"fork {self.new_name()}"
        if r < 80:
            return f"vfork {self.new_name()}"
        flags = self.choice(RFORKS)
        if "RFPROC" in flags.split("|"):
            return f"rfork {flags} {self.new_name()}"
        return f"rfork {flags}"

    def cmd_wait(self, p):
        k = self.run.kernel
        opts = self.choice(WAIT_OPTS)
        # A wait that could sleep forever is written only when a zombie is there to reap,
        # and init never sleeps: so some thread can always act and the run goes on.
        zombies = any(k.proc(c)["state"] == "SZOMB" for c in p["children"])
        if self.stops:
            zombies = zombies or bool(p["children"])
        if "WNOHANG" not in opts and (p["pid"] == 1 or not zombies):
            opts = "|".join(filter(None, (opts, "WNOHANG")))
        r = self.p.pick(10)
        if r < 5 or not p["children"]:
            target = "any"
        elif r < 8:
            target = k.proc(self.choice(p["children"]))["name"]
        elif r < 9:
            target = "0"
        else:
            target = f"-{p['pgid']}"
        return f"wait4 {target} {opts}".strip()

    def cmd_kill(self, p):
        k = self.run.kernel
        procs = [q for q in k.root["procs"].values() if q["pid"] != 0]
        q = self.choice(procs)
        return f"kill {q['name'] if q['pid'] != 1 else 'init'} {self.choice(SIGS)}"

    def cmd_stop_or_continue(self):
        """kill Q SIGSTOP / SIGCONT, Q preferably a process with a thread asleep in the
        kernel (a vfork parent in ppwait, a waiter in wait4)."""
        k = self.run.kernel
        procs = [q for q in k.root["procs"].values() if q["pid"] > 1 and q["state"] != "SZOMB"]
        if not procs:
            return "wait4 any WNOHANG"
        asleep = [q for q in procs if q["blocked"] or q["state"] == "SSTOP"]
        q = self.choice(asleep if asleep and self.chance(0.7) else procs)
        return f"kill {q['name']} {self.choice(('SIGSTOP', 'SIGCONT'))}"

    def cmd_exit(self, p):
        r = self.p.pick(10)
        status = self.p.pick(256)
        if r < 7:
            return f"exit {status}"
        return f"extexit {'lwp' if r < 9 else 'proc'} {status}"

    def cmd_procctl(self, p):
        return "procctl " + self.choice(("acquire", "acquire", "release", "status"))

    def cmd_lwp(self, p):
        return "lwp_create"

    def cmd_misc(self, p):
        r = self.p.pick(4)
        if r == 0:
            return "sigaction SIGCHLD " + self.choice(("default", "ignore", "nocldwait"))
        if r == 1:
            return "setuid " + self.choice(("0", "1000", "1001", str(p["uid"])))
        if r == 2:
            return "setpgid" + self.choice(("", f" {p['pid']}", f" {p['pgid']}", " 1"))
        return "exec"

    def final_expectations(self):
        """What the run ended with, as `expect:` entries, so the file is a test too."""
        k = self.run.kernel
        out = []
        for name, pid in self.run.state["names"].items():
            p = k.proc(pid)
            if p is None:
                out.append((0, name, "reaped"))
                continue
            parent = k.proc(p["ppid"])
            out.append((0, name, {"ppid": parent["name"] if p["ppid"] >= 1 else 0,
                                  "state": p["state"], "nthreads": p["nthreads"]}))
        return out


def generate(seed, actions, kernel="reaper", fork_ratio=0.35, limits=None):
    """A random scenario (a Scenario object, with the final state as expectations)."""
    gen = Generator(RandomPicker(seed), kernel, fork_ratio, limits)
    sc = gen.generate(actions)
    sc.expect = gen.final_expectations()
    return sc
