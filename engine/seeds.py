"""Seed references: where each modelled function lives, per kernel profile, and how to
read a reference back.

`F000` is seed 000 (kern_fork.c, 2014), `F001` seed 001 (kern_fork.c, 2010), `E003` seed 003
(kern_exit.c, 2011), `F004` seed 004 (kern_fork.c, 2008); `E2014` marks the 2014 exit1
described in kernel-semantics.md's appendix (commit f0d55ae9f692), which is not a seed.

An event's `seed` field is a reference as people write it: `F000:373-662`,
`E003:1138-1144, 753-773`, `F000:856-867 reaper_init F000:953-968`, `E2014 reparent loop;
F000:1015-1084`, `kern_sig.c (not a seed); rule 39`.  `cite` reads one into its seed lines
and the rest; it is the one parser of references (the server sends its result with every
event, so the page parses nothing).  `split_listing` reads a seed file itself.
"""

import re
from dataclasses import dataclass
from functools import lru_cache

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


# -- the seed files ------------------------------------------------------------------------

@dataclass(frozen=True)
class SeedFile:
    """One seed: its key in references, its file, and where it comes from."""

    key: str          # "F000"
    number: str       # "000"
    filename: str     # the file in webui/seeds/ (and ../shared/seeds/)
    path: str         # the path in the DragonFly tree
    commit: str
    date: str
    year: str         # what a reference shows beside the file name
    title: str        # the commit's title

    @property
    def name(self):
        """The file's own name, `kern_fork.c`."""
        return self.path.rsplit("/", 1)[-1]

    def describe(self):
        return (f"seed {self.number}: {self.path} at {self.commit} ({self.date})")


SEED_FILES = {s.key: s for s in (
    SeedFile("F000", "000", "000_4fb65f37863c235f.txt", "sys/kern/kern_fork.c", "f0d55ae9f692",
             "2014-11-11", "2014",
             "Add reapctl() system call for managing sub-processes (4) -> procctl"),
    SeedFile("F001", "001", "001_f3201b02ad5d31d4.txt", "sys/kern/kern_fork.c", "2b0bd8aa71c8",
             "2010-08-28", "2010", "Change lwp_fork() to not hold the mplock in the new thread"),
    SeedFile("E003", "003", "003_5c7687d2cff1a8b0.txt", "sys/kern/kern_exit.c", "2af9d75dac79",
             "2011-11-28", "2011", "Fix race in multi-LWP exit"),
    SeedFile("F004", "004", "004_d44014d4d2a7b022.txt", "sys/kern/kern_fork.c", "6b72a0c2567b",
             "2008-05-09", "2008", "v1.76"),
)}

# Keys a reference may use that name no seed file: said so, never shown as lines.
NOT_SEEDS = {
    "E2014": ("kern_exit.c", "2014",
              "not a seed (kernel-semantics.md's appendix describes it)"),
}


# -- references ----------------------------------------------------------------------------

# A key, then optionally ':' and line ranges ("548-566", "684, 687-693").
_KEY = re.compile(r"\b([FE]\d{3,4})(?::(\d+(?:-\d+)?(?:,\s?\d+(?:-\d+)?)*))?")
_LABEL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*$")      # a function name just before a key
_REMARK = re.compile(r"^\s*(\([^)]*\))")                   # "(absent before 2014)" just after


@dataclass(frozen=True)
class SeedRef:
    """Lines of one seed file: `ranges` are inclusive (first, last) pairs, in the order
    written; `label` the function named just before the key, `remark` a parenthesis
    right after it."""

    key: str
    ranges: tuple
    label: str = ""
    remark: str = ""

    @property
    def lines(self):
        """Every cited line number, in order, each once."""
        out = []
        for a, b in self.ranges:
            out.extend(n for n in range(a, b + 1) if n not in out)
        return out

    def text(self):
        """`kern_fork.c:548-566 (2014)`, as a person reads it."""
        seed = SEED_FILES[self.key]
        where = f":{_ranges_text(self.ranges)}" if self.ranges else ""
        return f"{seed.name}{where} ({seed.year})"

    def as_json(self):
        seed = SEED_FILES[self.key]
        return {"key": self.key, "seed": seed.number, "file": seed.name,
                "ranges": [list(r) for r in self.ranges], "label": self.label,
                "remark": self.remark, "text": self.text()}


@dataclass(frozen=True)
class Citation:
    """A reference read: its seed lines (`refs`) and what it cites that is not a seed line
    (`others`: a non-seed file, a rule, E2014), each a phrase as written."""

    source: str
    refs: tuple
    others: tuple

    def text(self):
        """The reference with each seed key made readable (the log's citation)."""
        return _KEY.sub(_readable_key, self.source)

    def title(self):
        """The hover text: which seed and commit each key means."""
        parts = []
        for m in _KEY.finditer(self.source):
            key, lines = m.group(1), m.group(2)
            known = SEED_FILES.get(key)
            desc = known.describe() if known else NOT_SEEDS.get(key, (None, None, None))[2]
            if desc:
                parts.append(f"{desc}, lines {lines}" if lines else desc)
        for other in self.others:
            if not _KEY.search(other):
                parts.append(f"{other}: not a seed, no lines to show")
        return "\n".join(parts) or self.source

    def as_json(self):
        """What the server sends with an event as `cite`: the readable text and hover
        title, the seed refs, and each other phrase with why it has no lines."""
        return {"text": self.text(), "title": self.title(),
                "refs": [r.as_json() for r in self.refs],
                "others": [{"text": _KEY.sub(_readable_key, o), "why": _why_no_lines(o)}
                           for o in self.others]}


def _why_no_lines(phrase):
    """Why a phrase of a reference shows no seed lines."""
    m = _KEY.search(phrase)
    if m and m.group(1) in NOT_SEEDS:
        return NOT_SEEDS[m.group(1)][2]
    if phrase.startswith("rule"):
        return "a rule of kernel-semantics.md, not a line of a seed"
    if "not a seed" in phrase:
        return "that file is not one of the seeds"
    return "not a line of a seed"


def _ranges_text(ranges):
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)


def _readable_key(m):
    key, lines = m.group(1), m.group(2)
    known = SEED_FILES.get(key) or (NOT_SEEDS[key] if key in NOT_SEEDS else None)
    if known is None:
        return m.group(0)
    name, year = (known.name, known.year) if isinstance(known, SeedFile) else known[:2]
    return f"{name}:{lines} ({year})" if lines else f"{name} ({year})"


def _parse_ranges(text):
    """"684, 687-693" -> ((684, 684), (687, 693))."""
    out = []
    for part in text.split(","):
        a, _, b = part.strip().partition("-")
        out.append((int(a), int(b or a)))
    return tuple(out)


def _segment(text):
    """One `;`-separated part of a reference -> ([SeedRef], [other phrases])."""
    refs, others, rest, pos = [], [], [], 0
    for m in _KEY.finditer(text):
        key, lines = m.group(1), m.group(2)
        before = text[pos:m.start()]
        if key not in SEED_FILES:
            rest.append(before + m.group(0))        # E2014 and any unknown key: words
            pos = m.end()
            continue
        label = _LABEL.search(before)
        if label and not _KEY.fullmatch(label.group(1)):
            before = before[:label.start()]
        rest.append(before)
        after = _REMARK.match(text[m.end():])
        refs.append(SeedRef(key, _parse_ranges(lines) if lines else (),
                            label.group(1) if label else "",
                            after.group(1)[1:-1] if after else ""))
        pos = m.end() + (after.end() if after else 0)
    rest.append(text[pos:])
    leftover = " ".join(" ".join(rest).split())
    if leftover:
        others.append(leftover)
    return refs, others


@lru_cache(maxsize=512)
def cite(source):
    """Read a seed reference (an event's `seed` field) into a Citation.  Few distinct
    references exist, so each is read once."""
    refs, others = [], []
    for part in (source or "").split(";"):
        r, o = _segment(part)
        refs.extend(r)
        others.extend(o)
    return Citation(source or "", tuple(refs), tuple(others))


# -- the listings ------------------------------------------------------------------------

_NUMBERED = re.compile(r"(\d+)(?: |$)")
_INLINE_NUMBER = re.compile(r"(?<!\S)(\d+)(?!\S)")


def split_listing(text):
    """A seed file's text -> (header lines, [(number, code), ...]).

    The listings number every line (`373 code`), each space of the source written as a
    no-break space (a tab as eight columns of them); the code comes back with plain
    spaces.  Lines before line 1 are the header (the commit's title and the path).  Seed
    004 has no line breaks: its numbers are inline, so the text is split at each next
    number standing alone (`... 9 * 10 * Redistribution ...`), which the line counts of
    the other seeds and 004's own last line confirm."""
    text = text.replace("\r\n", "\n")
    if text.count("\n") < 2:
        return [], _split_inline(text)
    header, lines = [], []
    for raw in text.split("\n"):
        m = _NUMBERED.match(raw)
        if m and int(m.group(1)) == len(lines) + 1:
            lines.append((len(lines) + 1, _plain(raw[m.end():])))
        elif not lines:
            if raw.strip():
                header.append(raw.strip())
        elif raw.strip():
            # A listing line wrapped in two: the piece without a number continues it.
            n, code = lines[-1]
            lines[-1] = (n, f"{code} {_plain(raw).strip()}")
    return header, lines


def _split_inline(text):
    """Seed 004's form: `1 /* 2 * Copyright ...` -> [(1, '/*'), (2, '* Copyright ...')]."""
    marks = []
    for m in _INLINE_NUMBER.finditer(text):
        if int(m.group(1)) == len(marks) + 1:
            marks.append(m)
    out = []
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        out.append((i + 1, _plain(text[m.end():end]).strip()))
    return out


def _plain(code):
    return code.replace("\xa0", " ").rstrip()
