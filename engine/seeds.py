"""Seed references: where each modelled function lives, per kernel profile.

`F000` is seed 000 (kern_fork.c, 2014), `F001` seed 001 (kern_fork.c, 2010), `E003` seed 003
(kern_exit.c, 2011); `E2014` marks the 2014 exit1 described in kernel-semantics.md's
appendix (commit f0d55ae9f692), which is not a seed.
"""

_REFS = {
    "sys_rfork": ("F000:157-181", "F001:166-190"),
    "rfork_kernelonly": ("F000:164", "F001:173"),
    "fork1_fdg": ("F000:257", "F001:254"),
    "fork1_norfproc": ("F000:268-306", "F001:261-300"),
    "fork1_limits": ("F000:335-368", "F001:322-355"),
    "fork1": ("F000:373-662", "F001:361-577"),
    "lwp_fork": ("F000:664-738", "F001:579-637"),
    "start_forked_proc": ("F000:793-838", "F001:690-724"),
    "lwp_create": ("F000:186-237", "F001:191-240"),
    "exit1_zombie": ("E003:482-488; E2014 reaper_exit F000:977-1003", "E003:482-488"),
    "exit1_orphan": ("E2014 reparent loop; F000:1015-1084", "E003:490-517"),
    "exit1_nocldwait": ("E2014 PS_NOCLDWAIT|PS_CLDSIGIGN", "E003:531-550"),
    "exit1_status": ("E003:338-378; E2014 P_PPWAIT before the zombie move", "E003:338-378"),
    "exit1_signal": ("E003:552-561", "E003:552-561"),
}


def ref(name, profile):
    """The seed reference of `name` in `profile` ('reaper' or 'classic')."""
    pair = _REFS[name]
    return pair[0] if profile == "reaper" else pair[1]
