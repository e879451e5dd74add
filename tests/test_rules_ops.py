"""Every event carries `ops`, the RFC 6902 patch from the previous state document to the
next, and `inverse`, back again (architecture.md "Engine", "State document").  Checked
on a few stories that cover each kind of change, with the `jsonpatch` package and with
the engine's own `apply_ops`, against deep copies taken after every event.
"""

import copy
import json
from itertools import pairwise

import jsonpatch
import pytest
from ptree.engine.doc import apply_ops
from scenario_util import Story

STORIES = {
    "bundled-orphans-and-reapers": ("reaper", [
        "init: fork sh", "sh: procctl acquire", "sh: fork a", "a: fork b", "a: exit 3",
        "sh: wait4 a"]),
    "threads-and-dead-list": ("reaper", [
        "init: fork a", "a: lwp_create", "a: lwp_create", "a: lwp_create",
        "a.2: extexit lwp 0", "a.1: exit 4", "init: wait4 a"]),
    "splice-two-dead-nodes": ("reaper", [
        "init: fork a", "a: procctl acquire", "a: fork b", "b: procctl acquire",
        "b: fork c", "c: procctl acquire", "c: fork d", "d: fork e",
        "c: exit 0", "b: exit 0", "a: exit 0", "d: exit 0", "init: wait4 d"]),
    "release-and-status": ("reaper", [
        "init: fork sh", "sh: procctl acquire", "sh: fork a", "sh: procctl release",
        "sh: procctl status", "init: procctl release", "init: fork x",
        "x: rfork RFPROC|RFNOWAIT y"]),
    "classic-nocldwait-and-peers": ("classic", [
        "init: fork sh", "sh: sigaction SIGCHLD nocldwait", "sh: fork a",
        "sh: wait4 any", "a: exit 0", "sh: rfork RFPROC|RFTHREAD t1",
        "sh: rfork RFPROC|RFTHREAD|RFLINUXTHPN t2", "sh: exit 2", "init: wait4 sh"]),
    "stop-continue-vfork-exec": ("classic", [
        "init: fork sh", "sh: fork a", "sh: wait4 a WUNTRACED", "init: kill a SIGSTOP",
        "init: kill a SIGTERM", "init: kill a SIGCONT", "sh: wait4 a",
        "sh: vfork v", "v: lwp_create", "v.1: exec", "sh: setpgid", "sh: wait4 0 WNOHANG",
        "init: fork u", "u: setuid 9", "u: fork k", "init: kill u SIGKILL"]),
}


@pytest.fixture(scope="module", params=sorted(STORIES))
def traced(request):
    kernel, steps = STORIES[request.param]
    return Story(steps, kernel=kernel, trace=True)


def test_every_event_has_a_patch_and_its_inverse(traced):
    assert len(traced.events) == len(traced.docs) - 1
    for ev in traced.events:
        assert isinstance(ev["ops"], list) and isinstance(ev["inverse"], list)
        assert ev["ops"], f"event {ev['seq']} ({ev['kind']}) changes nothing"
        for op in ev["ops"] + ev["inverse"]:
            assert op["op"] in ("add", "remove", "replace", "move", "copy", "test")
            assert op["path"].startswith("/")
        json.dumps(ev["ops"])        # plain JSON


def test_seq_counts_events_from_boot(traced):
    assert [d["seq"] for d in traced.docs] == list(range(len(traced.docs)))
    assert [ev["seq"] for ev in traced.events] == list(range(1, len(traced.docs)))


def test_ops_turn_each_document_into_the_next_with_jsonpatch(traced):
    for ev, (before, after) in zip(traced.events, pairwise(traced.docs), strict=True):
        got = jsonpatch.apply_patch(copy.deepcopy(before), ev["ops"])
        assert got == after, f"event {ev['seq']} ({ev['kind']})"


def test_inverse_ops_turn_each_document_back_with_jsonpatch(traced):
    for ev, (before, after) in zip(traced.events, pairwise(traced.docs), strict=True):
        got = jsonpatch.apply_patch(copy.deepcopy(after), ev["inverse"])
        assert got == before, f"event {ev['seq']} ({ev['kind']})"


def test_engine_apply_ops_agrees(traced):
    for ev, (before, after) in zip(traced.events, pairwise(traced.docs), strict=True):
        assert apply_ops(copy.deepcopy(before), ev["ops"]) == after
        assert apply_ops(copy.deepcopy(after), ev["inverse"]) == before


def test_replaying_all_ops_from_boot_gives_the_final_document(traced):
    d = copy.deepcopy(traced.docs[0])
    for ev in traced.events:
        d = jsonpatch.apply_patch(d, ev["ops"])
    assert d == traced.doc
    for ev in reversed(traced.events):
        d = jsonpatch.apply_patch(d, ev["inverse"])
    assert d == traced.docs[0]


def test_ops_are_small_not_whole_processes(traced):
    """Ops are produced as the state mutates: no event replaces the whole process table
    or the whole document."""
    for ev in traced.events:
        for op in ev["ops"]:
            assert op["path"] not in ("", "/", "/procs", "/reapers")
