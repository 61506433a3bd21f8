"""``Study.feasible`` takes a trial's id or the ``Trial`` itself; anything else is one
``TypeError`` line naming what it got."""

from __future__ import annotations

import pytest

import rung


def test_a_trial_or_its_id() -> None:
    st = rung.Study.create("f", {"x": rung.Float(0, 1)}, "loss", searcher="random",
                           max_step=1, budget=rung.Budget(n_trials=2),
                           constraints=["mem <= 10"])
    ok, bad = st.ask(), st.ask()
    assert ok is not None and bad is not None
    st.tell(ok.id, "completed", {"loss": 0.5, "mem": 1})
    st.tell(bad.id, "completed", {"loss": 0.1, "mem": 20})
    assert st.feasible(ok) and st.feasible(ok.id) and st.feasible(st.trial(ok.id))
    assert not st.feasible(bad) and not st.feasible(bad.id)
    with pytest.raises(TypeError) as e:
        st.feasible({"id": 0})  # type: ignore[arg-type]
    assert str(e.value) == ("feasible(trial_id): expected a trial's id (an int) or a Trial, "
                            "got dict: {'id': 0}")
