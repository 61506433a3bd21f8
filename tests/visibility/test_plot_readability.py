"""rung.plot figures a user reads without guessing: the optimization history names what each
colour is and its best line is the best feasible value (``Study.best_trial``), the worker
timeline's legend does not cover runs and its height is bounded, the slices keep a
categorical's choices in the space's order and say the metric's direction."""

from __future__ import annotations

import math

import pytest

import rung
from rung.benchmarks import get_benchmark

pytest.importorskip("matplotlib")
from rung import plot as P


def _constrained() -> rung.Study:
    # the best loss (x near 0) breaks the constraint: the best feasible trial has |x| >= 0.5
    s = rung.Study.create("con", {"x": rung.Float(-1, 1)}, objective="loss", searcher="random",
                          scheduler="fifo", budget=rung.Budget(n_trials=30), seed=0,
                          constraints=["mem >= 0.5"])
    while (t := s.ask()) is not None:
        x = t.params["x"]
        s.tell(t.id, "completed", {"loss": x * x, "mem": abs(x)})
    return s


def test_history_best_line_is_the_best_feasible_value() -> None:
    s = _constrained()
    best = s.best_trial
    assert best is not None and best.value >= 0.25
    assert min(t.value for t in s.trials()) < 0.01  # an infeasible trial looks better
    ax = P.optimization_history(s).axes[0]
    (line,) = [a for a in ax.lines if a.get_gid() == "best"]
    assert line.get_ydata()[-1] == pytest.approx(best.value)
    assert line.get_label() == "best final value so far (feasible)"
    (bad,) = [a for a in ax.collections if a.get_gid() == "infeasible"]
    infeasible = sorted(t.id for t in s.trials() if abs(t.params["x"]) < 0.5)
    assert sorted(int(x) for x, _ in bad.get_offsets()) == infeasible
    (ok,) = [a for a in ax.collections if a.get_gid() == "trials-completed"]
    assert len(ok.get_offsets()) == 30 - len(infeasible)


def test_history_legend_names_each_status_colour() -> None:
    b = get_benchmark("mf-hartmann3")
    s = rung.Study.create("h", b.space, objective=rung.Objective(b.metric, b.mode),
                          searcher="random", scheduler=rung.ASHA(reduction_factor=3),
                          max_step=b.max_step, budget=rung.Budget(n_trials=30), seed=0)
    s.simulate(b, n_workers=4)
    ax = P.optimization_history(s).axes[0]
    series = {a.get_gid(): a for a in ax.collections}
    by_status = {t.status.value for t in s.trials()}
    assert by_status == {"completed", "stopped"}
    assert set(series) == {f"trials-{k}" for k in by_status}
    legend = {t.get_text() for t in ax.get_legend().get_texts()}
    assert {"completed (value at its last step)", "stopped (value at its last step)"} <= legend
    for k in by_status:
        (face,) = {tuple(c) for c in series[f"trials-{k}"].get_facecolors()}
        from matplotlib.colors import to_rgba

        assert face == to_rgba(P.STATUS_COLORS[k])


def _many_slots(n_workers: int) -> rung.Study:
    b = get_benchmark("mf-hartmann3")
    s = rung.Study.create("w", b.space, objective=rung.Objective(b.metric, b.mode),
                          searcher="random", scheduler="fifo", max_step=3,
                          budget=rung.Budget(n_trials=2 * n_workers), seed=0)
    return s.simulate(b, n_workers=n_workers)


def test_worker_timeline_legend_is_beside_the_runs_and_height_is_bounded() -> None:
    fig = P.worker_timeline(_many_slots(8))
    fig.canvas.draw()
    ax = fig.axes[0]
    legend = ax.get_legend().get_window_extent()
    assert legend.x0 >= ax.get_window_extent().x1  # right of the axes: covers no run
    big = P.worker_timeline(_many_slots(256))
    assert big.get_figheight() <= 0.35 * P._figures.MAX_ROWS + 1.5
    ticks = big.axes[0].get_yticks()
    assert 2 <= len(ticks) <= 30 and all(float(t).is_integer() for t in ticks)


def test_slices_keep_choice_order_and_say_the_direction() -> None:
    s = rung.Study.create("cat", {"c": rung.Categorical(["a", "b", "c", "d"])},
                          objective=rung.Objective("acc", "max"), searcher="random",
                          scheduler="fifo", budget=rung.Budget(n_trials=12), seed=3)
    while (t := s.ask()) is not None:
        s.tell(t.id, "completed", {"acc": "abcd".index(t.params["c"]) / 3})
    first = s.trials()[0].params["c"]
    assert first != "a"  # so the order the trials drew them in is not the space's
    fig = P.intermediate_slices(s)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c", "d"]
    assert ax.get_ylabel() == "acc (higher is better)"
    (pts,) = [a for a in ax.collections if (a.get_gid() or "").startswith("step-")]
    for x, y in pts.get_offsets():  # each point above its own choice
        assert math.isclose(y, x / 3)


def test_pareto_title_says_a_front_over_more_objectives_than_drawn() -> None:
    s = rung.Study.create("three", {"x": rung.Float(0, 1), "y": rung.Float(0, 1)},
                          objective=["a", "b", "c"], searcher="random", scheduler="fifo",
                          budget=rung.Budget(n_trials=20), seed=0)
    while (t := s.ask()) is not None:
        x, y = t.params["x"], t.params["y"]
        s.tell(t.id, "completed", {"a": x, "b": 1 - x, "c": y})
    fig = P.pareto_front(s)
    ax = fig.axes[0]
    n = len(s.pareto_front())
    assert ax.get_title().replace("\n", " ") == (
        f"three: Pareto front ({n} of 20 trials; front over all 3 objectives, drawn in the "
        "first two)")
    # wrapped to fit: one line was cut at both ends of a PNG (the note about the third
    # objective lost)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    box = ax.title.get_window_extent(canvas.get_renderer())
    assert "\n" in ax.get_title() and box.x0 >= 0 and box.x1 <= fig.bbox.width


def test_learning_curves_legend_is_beside_the_curves() -> None:
    b = get_benchmark("mf-hartmann3")
    s = rung.Study.create("lc", b.space, objective=rung.Objective(b.metric, b.mode),
                          searcher="random", scheduler=rung.ASHA(reduction_factor=3),
                          max_step=b.max_step, budget=rung.Budget(n_trials=30), seed=0)
    s.simulate(b, n_workers=4)
    fig = P.learning_curves(s)
    fig.canvas.draw()
    ax = fig.axes[0]
    assert ax.get_legend().get_window_extent().x0 >= ax.get_window_extent().x1


def test_learning_curves_draw_completed_trials_over_stopped_ones() -> None:
    b = get_benchmark("mf-hartmann3")
    s = rung.Study.create("lc", b.space, objective=rung.Objective(b.metric, b.mode),
                          searcher="random", scheduler=rung.ASHA(reduction_factor=3),
                          max_step=b.max_step, budget=rung.Budget(n_trials=30), seed=0)
    s.simulate(b, n_workers=4)
    ax = P.learning_curves(s).axes[0]
    # one collection of curves per outcome
    z = {c.get_gid(): c.get_zorder() for c in ax.collections
         if (c.get_gid() or "").startswith("trials-")}
    assert set(z) == {f"trials-{t.status.value}" for t in s.trials()}
    assert z["trials-completed"] > z["trials-stopped"]


def test_single_objective_figures_of_a_multi_objective_study_say_which_they_draw() -> None:
    """They draw the first objective: their axes said only its name (Optuna asks for a
    ``target``); the importance axis said "the score"."""
    s = rung.Study.create("two", {"x": rung.Float(0.0, 1.0), "y": rung.Float(0.0, 1.0)},
                          objective=[rung.Objective("acc", "max"), rung.Objective("lat")],
                          searcher="random", scheduler="fifo", budget=rung.Budget(n_trials=12),
                          seed=0)
    while (t := s.ask()) is not None:
        s.tell(t.id, "completed", {"acc": t.params["x"], "lat": t.params["y"]})
    assert P.optimization_history(s).axes[0].get_ylabel() == (
        "acc (higher is better, the first of 2 objectives)")
    assert P.param_importance(s).axes[0].get_xlabel() == (
        "share of the variance of acc (the first of 2 objectives) explained (main effect)")
