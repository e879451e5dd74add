"""What the quiz browser tests compare the pages with: the server's own library and
questions (the same code, the same seeds), computed in the test process."""

from functools import cache
from pathlib import Path

from ptree.webui import pages

ROOT = Path(__file__).resolve().parents[2]
E2E_SCENARIOS = Path(__file__).parent / "scenarios"
LETTERS = "ABCDEFGH"


@cache
def library():
    return pages.RandomLibrary([ROOT / "scenarios", E2E_SCENARIOS])


def question(name, start, kind="mixed", seed=0):
    """The question the server asks from step `start` on."""
    return pages.next_question(library().open_name(name), start, kind, seed)
