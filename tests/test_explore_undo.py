"""The explorer's way back between two choices (Run.mark / Run.undo, doc.UndoDoc)."""

import marshal

from ptree.engine.explore import Expander
from ptree.engine.scenario import load_scenario_file


def test_undo_returns_to_the_marked_state():
    """Run.undo() after any choice gives back the state mark() took: the same saved
    values, in the same order, and the same key as that state loaded afresh (the explorer takes every choice
    from a state this way instead of reloading it between two choices)."""
    sc = load_scenario_file("scenarios/multi-lwp-exit-race.yaml")
    sc.race = "before-fix"
    ex = Expander(sc)
    run = ex.run
    frontier, checked = [ex.root()[1]], 0
    while frontier and checked < 4000:
        blob = frontier.pop(0)
        run.load(blob)
        key = run.state_key()
        run.mark()
        for choice in run.choices():
            run.choose(choice)
            child = run.state_key()
            frontier.append(run.save())
            run.undo()
            assert _values(run.save()) == _values(blob) and run.state_key() == key
            run.load(frontier[-1])
            assert run.state_key() == child      # the key is the same however it was made
            run.load(blob)
            run.mark()
            checked += 1
    assert checked >= 3000


def _values(blob):
    """A saved state's values in full, order included (marshal version 0 has no
    back-references, which differ with which equal strings are one object)."""
    return marshal.dumps(marshal.loads(blob[1:]), 0)


def test_rollback_restores_values_and_order():
    """Every kind of mutation is undone, newest first, and a removed key goes back to
    its place (a mapping's order is part of a state's key)."""
    from ptree.engine.doc import UndoDoc
    root = {"procs": {"1": {"children": [2, 3], "state": "SACTIVE"}, "2": {}, "3": {}},
            "seq": 0}
    before = marshal.dumps(root, 0)
    doc = UndoDoc(root)
    p1 = root["procs"]["1"]
    doc.set(root, "", "seq", 1)
    doc.set(p1, "/procs/1", "state", "SZOMB")
    doc.pop(p1["children"], "/procs/1/children", 0)
    doc.insert(p1["children"], "/procs/1/children", 0, 7)
    doc.remove(root["procs"], "/procs", "2")
    doc.add(root["procs"], "/procs", "4", {})
    assert doc.changed == {"1", "2", "4"}
    doc.rollback()
    assert marshal.dumps(root, 0) == before and not doc.changed
