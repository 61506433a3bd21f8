"""The value axis of the history and learning-curve figures fits the bulk of the results: far
outliers on the objective's bad side (a diverged trial's loss of 1e6) are left out and counted
on the axes; good results are never left out (``rung.plot._outliers.fit_bulk``)."""

from __future__ import annotations

import pytest

import rung

pytest.importorskip("matplotlib")
from rung import plot as P

FIGURES = (P.optimization_history, P.learning_curves)


def _study(mode: str, outlier: float | None, n: int = 20, tie: bool = False) -> rung.Study:
    """``n`` trials of 3 steps: value x + 1/step (or 0.5 for every result with ``tie``),
    trial 5's results all ``outlier``."""
    s = rung.Study.create("o", {"x": rung.Float(0, 1)}, objective="v", mode=mode,
                          searcher="random", scheduler="fifo", max_step=3,
                          budget=rung.Budget(n_trials=n), seed=0)
    while (t := s.ask()) is not None:
        for step in (1, 2, 3):
            v = 0.5 if tie else t.params["x"] + 1 / step
            s.report(t.id, step, {"v": outlier if t.id == 5 and outlier is not None else v})
        s.tell(t.id, "completed")
    return s


def _note(ax: object) -> list[str]:
    return [a.get_text() for a in ax.texts if a.get_gid() == "outliers"]  # type: ignore[attr-defined]


def _values(s: rung.Study, fig_kind: object) -> list[float]:
    """The values the figure must show: every trial's last value (history) or every result."""
    if fig_kind is P.optimization_history:
        return [t.value for t in s.trials()]
    h = s.history
    return [h.objective.value(sc) for tid in h for sc in h.scores(tid).values()]


@pytest.mark.parametrize("figure", FIGURES)
def test_a_diverged_trial_is_left_above_the_axis_when_lower_is_better(figure: object) -> None:
    s = _study("min", 1e6)
    ax = figure(s).axes[0]  # type: ignore[operator]
    low, high = ax.get_ylim()
    shown = [v for v in _values(s, figure) if v != 1e6]
    assert high < 10 and low <= min(shown) and high >= max(shown)
    n = 1 if figure is P.optimization_history else 3  # its last value / its three results
    assert _note(ax) == [f"{n} result{'s' if n > 1 else ''} above the axis (worse than "
                         f"{max(shown):.4g})"]


@pytest.mark.parametrize("figure", FIGURES)
def test_a_diverged_trial_is_left_below_the_axis_when_higher_is_better(figure: object) -> None:
    s = _study("max", -1e6)
    ax = figure(s).axes[0]  # type: ignore[operator]
    low, high = ax.get_ylim()
    shown = [v for v in _values(s, figure) if v != -1e6]
    assert low > -10 and low <= min(shown) and high >= max(shown)
    assert _note(ax)[0].endswith(f"below the axis (worse than {min(shown):.4g})")


@pytest.mark.parametrize("figure", FIGURES)
def test_a_far_good_result_stays_in_view(figure: object) -> None:
    """An outlier on the good side is the interesting one: never left out."""
    s = _study("min", -1e6)
    ax = figure(s).axes[0]  # type: ignore[operator]
    assert ax.get_ylim()[0] <= -1e6 and _note(ax) == []


@pytest.mark.parametrize("figure", FIGURES)
def test_without_outliers_or_with_tied_quartiles_every_result_is_in_view(
        figure: object) -> None:
    for s in (_study("min", None), _study("min", 1e6, tie=True)):
        ax = figure(s).axes[0]  # type: ignore[operator]
        low, high = ax.get_ylim()
        values = _values(s, figure)
        assert low <= min(values) and high >= max(values) and _note(ax) == []


def test_values_that_are_not_numbers_are_counted_and_integer_axes_have_integer_ticks() -> None:
    """Results of inf, -inf and NaN were left out silently; the trial axis (history) and a
    short step axis (curves) had ticks at 0.2, 0.4 and 1.25, 1.5. Found by an audit."""
    s = rung.Study.create("o", {"x": rung.Float(0, 1)}, objective=rung.Objective("v", nan="worst"),
                          searcher="random", scheduler="fifo", max_step=3,
                          budget=rung.Budget(n_trials=6), seed=0)
    odd = {1: float("inf"), 2: float("-inf"), 3: float("nan")}
    while (t := s.ask()) is not None:
        for step in (1, 2, 3):
            s.report(t.id, step, {"v": odd[t.id] if t.id in odd and step == 3 else 0.5 + t.id})
        s.tell(t.id, "completed")
    notes = {}
    for figure in FIGURES:
        fig = figure(s)  # type: ignore[operator]
        ax = fig.axes[0]
        notes[figure] = [a.get_text() for a in ax.texts if a.get_gid() == "not-finite"]
        ticks = [x for x in ax.get_xticks() if ax.get_xlim()[0] <= x <= ax.get_xlim()[1]]
        assert ticks and all(float(x).is_integer() for x in ticks), ticks
    assert notes[P.optimization_history] == [
        "3 trials' values not drawn (NaN, infinite or missing)"]
    assert notes[P.learning_curves] == ["3 results not drawn (NaN, infinite or missing)"]
    clean = _study("min", None, n=4)
    for figure in FIGURES:
        ax = figure(clean).axes[0]  # type: ignore[operator]
        assert [a for a in ax.texts if a.get_gid() == "not-finite"] == []
