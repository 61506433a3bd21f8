"""Figures of a study with no results say so ("no results yet", "no runs yet") instead of
drawing empty axes (and an importance "at step 0 (0 trials)"); the optimization history's
best-so-far line runs to the latest trial."""

from __future__ import annotations

import pytest

import rung

pytest.importorskip("matplotlib")
from rung import plot as P

KINDS = ["history", "curves", "occupancy", "workers", "parallel", "importance", "slices"]


@pytest.mark.parametrize("kind", KINDS)
def test_an_empty_study_says_it_has_nothing_yet(kind: str) -> None:
    s = rung.Study.create("e", {"x": rung.Float(0, 1), "y": rung.Float(0, 1)},
                          searcher="random", scheduler="asha", max_step=9,
                          budget=rung.Budget(n_trials=3))
    fig = P.plot(s, kind)
    notes = [t.get_text() for ax in fig.axes for t in ax.texts
             if t.get_gid() == "nothing-yet"]
    want = "no runs yet" if kind == "workers" else "no results yet"
    assert notes and set(notes) == {want}
    assert all("step 0" not in ax.get_title() for ax in fig.axes)


def test_best_so_far_runs_to_the_latest_trial() -> None:
    s = rung.Study.create("h", {"x": rung.Float(0, 1)}, searcher="random",
                          scheduler="fifo", max_step=2, budget=rung.Budget(n_trials=5))
    for i in range(5):
        t = s.ask()
        assert t is not None
        if i < 2:  # two trials reach max_step, the last three stop at step 1
            s.report(t.id, 1, {"loss": 1.0 - i / 10})
            s.tell(t.id, "completed", {"loss": 1.0 - i / 10})
        else:
            s.report(t.id, 1, {"loss": 5.0})
            s.tell(t.id, "stopped")
    ax = P.optimization_history(s).axes[0]
    (best,) = [a for a in ax.lines if a.get_gid() == "best"]
    xs, ys = (list(v) for v in best.get_data())
    assert xs == [0, 1, 4] and ys == pytest.approx([1.0, 0.9, 0.9])
    assert not [t for t in ax.texts if t.get_gid() == "nothing-yet"]
