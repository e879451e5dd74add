"""Names and numbers the model shares with the DragonFly sources (seeds 000-004).

Signal numbers are BSD's; errno names are symbolic, as RESULTs report them.
"""

# rfork flags (sys/unistd.h).  Only the bits the seeds test are named here.
RFNAMEG = 1 << 0
RFENVG = 1 << 1
RFFDG = 1 << 2
RFNOTEG = 1 << 3
RFPROC = 1 << 4
RFMEM = 1 << 5
RFNOWAIT = 1 << 6
RFCNAMEG = 1 << 10
RFCENVG = 1 << 11
RFCFDG = 1 << 12
RFTHREAD = 1 << 13
RFSIGSHARE = 1 << 14
RFLINUXTHPN = 1 << 16
RFPPWAIT = 1 << 31
RFPGLOCK = 1 << 30
RFKERNELONLY = RFPGLOCK | RFPPWAIT

RFORK_FLAGS = {
    "RFPROC": RFPROC, "RFFDG": RFFDG, "RFCFDG": RFCFDG, "RFNOWAIT": RFNOWAIT,
    "RFMEM": RFMEM, "RFSIGSHARE": RFSIGSHARE, "RFTHREAD": RFTHREAD,
    "RFLINUXTHPN": RFLINUXTHPN, "RFPPWAIT": RFPPWAIT, "RFPGLOCK": RFPGLOCK,
    "RFNAMEG": RFNAMEG, "RFENVG": RFENVG, "RFNOTEG": RFNOTEG, "RFCNAMEG": RFCNAMEG,
    "RFCENVG": RFCENVG,
}

FORK_FLAGS = RFFDG | RFPROC | RFPGLOCK                      # sys_fork, F000:114
VFORK_FLAGS = RFFDG | RFPROC | RFPPWAIT | RFMEM | RFPGLOCK  # sys_vfork, F000:135

# wait4 options (sys/wait.h)
WNOHANG = 1
WUNTRACED = 2
WCONTINUED = 4
WLINUXCLONE = 0x80000000
WAIT_OPTIONS = {"WNOHANG": WNOHANG, "WUNTRACED": WUNTRACED, "WCONTINUED": WCONTINUED,
                "WLINUXCLONE": WLINUXCLONE}
WAIT_ANY = -1

# BSD signal numbers
SIGNALS = {
    "SIGHUP": 1, "SIGINT": 2, "SIGQUIT": 3, "SIGKILL": 9, "SIGPIPE": 13, "SIGALRM": 14,
    "SIGTERM": 15, "SIGURG": 16, "SIGSTOP": 17, "SIGTSTP": 18, "SIGCONT": 19, "SIGCHLD": 20,
    "SIGTTIN": 21, "SIGTTOU": 22, "SIGWINCH": 28, "SIGINFO": 29, "SIGUSR1": 30, "SIGUSR2": 31,
}
SIGNAMES = {v: k for k, v in SIGNALS.items()}
SIGKILL = SIGNALS["SIGKILL"]
SIGTERM = SIGNALS["SIGTERM"]
SIGSTOP = SIGNALS["SIGSTOP"]
SIGCONT = SIGNALS["SIGCONT"]
SIGCHLD = SIGNALS["SIGCHLD"]
SIGUSR1 = SIGNALS["SIGUSR1"]

# procctl (sys/procctl.h)
P_PID = 0
PROC_REAP_ACQUIRE = 1
PROC_REAP_RELEASE = 2
PROC_REAP_STATUS = 3
PROCCTL_CMDS = {"acquire": PROC_REAP_ACQUIRE, "release": PROC_REAP_RELEASE,
                "status": PROC_REAP_STATUS}

# What a phase of a system call does next (kernel.run_action): go on, sleep, return to
# user mode, or end the thread.  TASK is the run-queue key of the dead-LWP reaper task.
CONT, SLEEP, DONE, GONE = "cont", "sleep", "done", "gone"
TASK = ("task", "reaplwps")

# Why a process's parent changed (an event's `reparent.reason`), each decided in one place:
# exit1's orphan loop (E003:490-517), exit1's hand-over of a zombie whose parent has
# PS_NOCLDWAIT or (2014) ignores SIGCHLD (E003:531-550), kern_wait giving a ptrace-attached
# child back to its old parent (E003:918-930), and fork1 with RFNOWAIT (F000:548-566).
REPARENT_REASONS = ("orphan", "nocldwait", "sigchld-ignored", "ptrace", "rfnowait")

PROFILES = ("reaper", "classic")
RACE_MODES = ("after-fix", "before-fix")

# Process flag order in the state document (a stable order keeps ops deterministic).
PROC_FLAG_ORDER = ("P_MAYBETHREADED", "P_WEXIT", "P_PPWAIT", "P_TRACED", "P_WAITED",
                   "P_CONTINUED", "P_SUGID", "PS_NOCLDWAIT", "PS_CLDSIGIGN")
