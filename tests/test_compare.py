"""Compare mode's engine side: the same steps under classic and reaper, matched by pid."""

from ptree.engine.compare import Comparison
from ptree.engine.scenario import load_scenario_file


def test_orphans_differ_only_where_sub_reapers_change_the_tree():
    c = Comparison(load_scenario_file("scenarios/orphans-reaper.yaml"))
    for n in range(6):
        assert c.at_step(n)[2] == []          # until a exits, the trees are the same
    classic, reaper, diff = c.at_step(6)      # a: exit 0
    assert {(d["name"], d["field"]) for d in diff} == {("b", "ppid"), ("c", "ppid")}
    for d in diff:
        assert classic["procs"][str(d["a"])]["name"] == "init"
        assert reaper["procs"][str(d["b"])]["name"] == "sh"
    # b is reaped by init in one kernel and by sh in the other: gone in both.
    assert {(d["name"], d["field"]) for d in c.at_step(c.steps)[2]} == {("c", "ppid")}
