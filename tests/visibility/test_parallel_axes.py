"""``rung plot --kind parallel``: a categorical's choices that compare equal (``True`` and
``1``) sit at their own positions, and every axis says what its positions stand for (a
categorical's choices, a range's ends, the metric's lowest and highest value)."""

from __future__ import annotations

import pytest

import rung

pytest.importorskip("matplotlib")
from rung import plot as P


def test_axes_are_labelled_and_equal_choices_kept_apart() -> None:
    s = rung.Study.create("p", {"act": rung.Categorical([1, "relu", True]),
                                "lr": rung.Float(1e-4, 1e-1, log=True)},
                          objective="loss", searcher="random", scheduler="fifo",
                          budget=rung.Budget(n_trials=3), seed=0)
    for act in (True, 1, "relu"):
        s.enqueue({"act": act, "lr": 0.01})
    seen = []
    while (t := s.ask()) is not None:
        seen.append(t.params["act"])
        s.tell(t.id, "completed", {"loss": 1.0 if t.params["act"] is True else 2.0})
    assert [repr(v) for v in seen] == ["True", "1", "'relu'"]
    ax = P.parallel_coordinates(s).axes[0]
    # act's axis: 1 at 0, relu at 0.5, True at 1; a trial line starts at its act position
    (lines,) = [c for c in ax.collections if c.get_gid() == "trials"]  # a line per trial
    starts = {float(seg[0][1]) for seg in lines.get_segments()}
    assert starts == {0.0, 0.5, 1.0}
    labels = {(a.get_gid(), a.get_text(), a.xy) for a in ax.texts}
    assert {("axis-0-label", "1", (0, 0.0)), ("axis-0-label", "relu", (0, 0.5)),
            ("axis-0-label", "True", (0, 1.0))} <= labels
    assert {("axis-1-label", "0.0001", (1, 0.0)), ("axis-1-label", "0.1", (1, 1.0))} <= labels
    assert {("axis-2-label", "1", (2, 0.0)), ("axis-2-label", "2", (2, 1.0))} <= labels
