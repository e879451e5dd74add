"""Property tests: random valid syscall sequences in both profiles (hypothesis drives
every choice of the scenario generator, so failures shrink to short scenarios).

After every event: the section 9 invariants hold (checked in full, beside the engine's
own incremental check), the event's ops turn the previous state document into the next
(applied by the independent `jsonpatch` package), its inverse ops turn it back, and
`jump(n)` equals a fresh replay to n.
"""

import json

import jsonpatch
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ptree.engine.randomgen import Generator
from ptree.engine.runner import Run
from ptree.engine.scenario import dump_scenario, parse_scenario


class HypothesisPicker:
    """The generator's pick(n), drawn from hypothesis so examples shrink."""

    def __init__(self, data):
        self.data = data

    def pick(self, n):
        return self.data.draw(st.integers(0, n - 1)) if n > 1 else 0


def copy(doc):
    return json.loads(json.dumps(doc))


@pytest.mark.parametrize("profile", ["reaper", "classic"])
@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_random_sequences_keep_invariants_and_patches_exact(profile, data):
    gen = Generator(HypothesisPicker(data), profile, fork_ratio=0.4,
                    limits={"maxproc": 40, "nproc": 12})
    scenario = gen.generate(data.draw(st.integers(1, 30)))
    # Replay the written file from its text: the generator's steps must be a valid file.
    text = dump_scenario(scenario)
    run = Run(parse_scenario(text, "<random>"), checkpoint_every=7)
    docs = [copy(run.kernel.root)]
    events = []
    while (ev := run.step()) is not None:
        events.append(ev)
        assert ev["violation"] is None, (ev["summary"], text)
        assert run.kernel.check_all() == [], text
        now = copy(run.kernel.root)
        assert jsonpatch.apply_patch(docs[-1], ev["ops"]) == now, (ev, text)
        assert jsonpatch.apply_patch(now, ev["inverse"]) == docs[-1], (ev, text)
        docs.append(now)
    assert [e["kind"] for e in events] == [e["kind"] for e in gen.events]
    final_results = run.results()
    n = data.draw(st.integers(0, len(events)))
    run.jump(n)
    assert copy(run.kernel.root) == docs[n]
    # ... and from there the run goes on exactly as before.
    rest = []
    while (ev := run.step()) is not None:
        rest.append(ev)
    assert [(e["seq"], e["kind"], e["summary"]) for e in rest] == \
        [(e["seq"], e["kind"], e["summary"]) for e in events[n:]]
    assert copy(run.kernel.root) == docs[-1]
    assert run.results() == final_results
