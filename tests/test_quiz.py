"""Quiz mode's engine side: every question has its true answer among the options, and
the wrong options really are wrong (checked by running them)."""

import pytest
from ptree.engine.quiz import Quiz
from ptree.engine.randomgen import generate
from ptree.engine.scenario import load_scenario_file


def test_predict_after_an_exit_offers_folklore_trees():
    q = Quiz(load_scenario_file("scenarios/orphans-reaper.yaml"), seed=1)
    x = q.question(6, "predict")                   # a: exit 0 under a sub-reaper
    truth = x["options"][x["answer"]]
    by_name = {n["name"]: n for n in truth}
    assert by_name["a"]["state"] == "SZOMB" and by_name["b"]["ppid"] == by_name["sh"]["pid"]
    wrong = [o for i, o in enumerate(x["options"]) if i != x["answer"]]
    # "orphans go to init": the classic answer is offered and is wrong here
    assert any({n["name"]: n["ppid"] for n in o}.get("b") == 1 for o in wrong)
    assert len(x["options"]) >= 3 and x["accept"] == [x["answer"]]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_which_questions_on_random_scenarios_accept_exactly_the_right_commands(seed):
    sc = generate(seed, 12)
    q = Quiz(sc, seed=seed)
    for n in range(1, len(sc.steps) + 1):
        x = q.question(n, "which")
        assert x["answer"] in x["accept"]
        assert x["options"][x["answer"]] == f"{sc.steps[n - 1].actor}: {sc.steps[n - 1].command}"
        assert len(set(x["options"])) == len(x["options"])
