"""The seed sources for the explorer's Kernel source pane: `/api/seed/KEY`.

The seeds ship in webui/seeds/ (see its README: DragonFly BSD, BSD licence).  Each is
read into numbered lines by engine.seeds.split_listing, highlighted as C by Pygments on
the server (one pass over the whole file, so a comment spanning lines is a comment on each
of them), and cut back into one HTML fragment per line.  A file is read and highlighted
once per process; the answer is cached by the browser too.
"""

import html
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, jsonify
from ptree.engine.seeds import SEED_FILES, split_listing
from pygments.lexers import CLexer
from pygments.token import STANDARD_TYPES

SEED_DIR = Path(__file__).resolve().parent / "seeds"

bp = Blueprint("source", __name__)


def _css_class(tok):
    """Pygments' short class for a token type (`k`, `c1`, `nf`, ...), walking up to the
    nearest type that has one."""
    while tok not in STANDARD_TYPES:
        tok = tok.parent
    return STANDARD_TYPES[tok]


def _indent(code):
    """Leading eight-space groups as tabs: the page shows them at a narrower tab-size,
    so deep code still fits a side pane on a projector.  The text is unchanged otherwise."""
    stripped = code.lstrip(" ")
    tabs, spaces = divmod(len(code) - len(stripped), 8)
    return "\t" * tabs + " " * spaces + stripped


# Token classes drawn in the plain text colour: no span for them keeps a 1,000-line file
# small (names, punctuation, operators and whitespace are most of C).
_PLAIN = {"", "w", "n", "p", "o"}


def highlight_lines(codes):
    """[code, ...] -> [html, ...]: one HTML fragment per line, each with its own balanced
    `<span class="...">` tokens (a token spanning lines is cut at each line break, and
    neighbouring tokens of one class share a span)."""
    text = "\n".join(_indent(c) for c in codes) + "\n"
    lines, runs = [], []            # runs: [[class, text], ...] of the line being built
    for tok, value in CLexer(stripnl=False, ensurenl=False).get_tokens(text):
        cls = _css_class(tok)
        cls = "" if cls in _PLAIN else cls
        for i, piece in enumerate(value.split("\n")):
            if i:
                lines.append(_line_html(runs))
                runs = []
            if not piece:
                continue
            if runs and runs[-1][0] == cls:
                runs[-1][1] += piece
            else:
                runs.append([cls, piece])
    if runs:
        lines.append(_line_html(runs))
    return lines[:len(codes)] + [""] * (len(codes) - len(lines))


def _line_html(runs):
    return "".join(f'<span class="{cls}">{html.escape(t, quote=False)}</span>' if cls
                   else html.escape(t, quote=False) for cls, t in runs)


@lru_cache(maxsize=len(SEED_FILES))
def seed_listing(key):
    """The seed `key` (F000, F001, E003, F004) as JSON-ready data: what it is and its
    lines as [number, html].  KeyError for a key that is no seed."""
    seed = SEED_FILES[key]
    header, lines = split_listing((SEED_DIR / seed.filename).read_text(encoding="utf-8"))
    codes = [code for _, code in lines]
    return {"key": key, "seed": seed.number, "file": seed.name, "path": seed.path,
            "commit": seed.commit, "date": seed.date, "year": seed.year,
            "title": seed.title, "header": header,
            "lines": [[n, h] for (n, _), h in zip(lines, highlight_lines(codes), strict=True)]}


@bp.get("/api/seed/<key>")
def api_seed(key):
    """One seed file, highlighted: {key, seed, file, path, commit, date, year, title,
    header, lines: [[number, html], ...]}; 404 with the usual error body for a key
    that names no seed."""
    if key not in SEED_FILES:
        known = ", ".join(SEED_FILES)
        return jsonify({"error": {"code": "not_found",
                                  "message": f"no seed {key!r} (seeds: {known})"}}), 404
    resp = jsonify(seed_listing(key))
    resp.headers["Cache-Control"] = "public, max-age=3600"   # the seeds never change
    return resp


def warm_up():
    """Read and highlight every seed now (the server's start calls it in the background)."""
    for key in SEED_FILES:
        seed_listing(key)
