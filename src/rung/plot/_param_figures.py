"""The figures of ``rung.plot`` over the parameters: parallel coordinates, importance, the
Pareto front and intermediate-value slices (each takes a ``Study``, returns a ``Figure``;
matplotlib is imported only when one is drawn)."""

from __future__ import annotations

import math
import textwrap
from typing import TYPE_CHECKING, Any

from rung.analysis_frames import front_staircase
from rung.plot._draw import _data, _figure, _nothing_yet, _value
from rung.plot._finite_axes import AXIS_LIMIT, finite_axes, unit_interval

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from rung.study import Study


#: where an inactive parameter's value is drawn on its parallel-coordinates axis: below the
#: axis's range (0 to 1), at a tick labelled ``INACTIVE_LABEL``
INACTIVE = -0.15
INACTIVE_LABEL = "inactive"


def _unit(param: Any, value: Any) -> float:
    """Where ``value`` sits on ``param``'s axis, from 0 to 1 (NaN: no position)."""
    choices = getattr(param, "choices", None)
    if choices is not None:  # None may be one of them
        k = len(choices)
        idx = _choice_index(choices, value)
        return idx / (k - 1) if k > 1 else 0.5
    if value is None:
        return math.nan
    try:
        return float(param.to_unit(value))
    except (NotImplementedError, TypeError, ValueError):
        return 0.5


def _choice_index(choices: Any, value: Any) -> int:
    """The position of ``value`` among a categorical's ``choices``, telling apart values that
    compare equal but are different choices (``True`` and ``1``, ``1.0`` and ``1``)."""
    for i, c in enumerate(choices):
        if type(c) is type(value) and c == value:
            return i
    return next((i for i, c in enumerate(choices) if c == value), 0)


def _axis_labels(param: Any) -> list[tuple[float, str]]:
    """Where a parameter's values sit on its parallel-coordinates axis (``_unit``), labelled:
    each choice of a categorical, the ends of a range."""
    choices = getattr(param, "choices", None)
    if choices is not None:
        k = len(choices)
        return [(i / (k - 1) if k > 1 else 0.5, str(c)) for i, c in enumerate(choices)]
    low, high = getattr(param, "low", None), getattr(param, "high", None)
    if low is None or high is None:
        return []
    return [(_unit(param, low), f"{low:.3g}"), (_unit(param, high), f"{high:.3g}")]


def parallel_coordinates(study: Study) -> Figure:
    """One line per trial through every parameter (scaled as the searchers see it: log
    parameters on a log scale) to its value at its last step, coloured by that value; each
    axis is labelled with what its positions stand for (a range's ends, a categorical's
    choices, the lowest and highest value). A parameter a trial has no value for (a
    conditional one its branch leaves inactive, one a define-by-run trial never asked for)
    is drawn at ``INACTIVE``, below its axis's range, where the axis has a tick labelled
    ``inactive``: every line stays continuous from the first axis to the value's."""
    d = _data(study)
    h = d.history
    names = [n for n in h.space if h.space[n].tunable]
    rows, vals = [], []
    for tid in h:
        v = _value(h, tid)
        if math.isnan(v):
            continue
        p = h.params(tid)
        units = [_unit(h.space[n], p[n]) if n in p else math.nan for n in names]
        rows.append([INACTIVE if math.isnan(u) else u for u in units])
        vals.append(v)
    inactive = {x for row in rows for x, u in enumerate(row) if u == INACTIVE}
    fig = _figure(max(6.0, 1.3 * (len(names) + 1) + 2), 5)
    ax = fig.add_subplot()
    import matplotlib as mpl

    if vals:
        lo, hi = min(vals), max(vals)
        # the colour bar shows [0, 1] labelled with the values at its ends (lo, hi) when
        # the values' span is beyond a float (-1.7e308 to 1.7e308: Normalize overflows)
        wide = not math.isfinite(hi - lo) or max(abs(lo), abs(hi)) > AXIS_LIMIT
        norm = (mpl.colors.Normalize(0.0, 1.0) if wide
                else mpl.colors.Normalize(lo, hi if hi > lo else lo + 1))
        cmap = mpl.colormaps["viridis_r" if h.objective.mode == "min" else "viridis"]
        import numpy as np
        from matplotlib.collections import LineCollection

        # best drawn last, on top: descending score (the value, minimized or negated)
        sign = 1.0 if h.objective.mode == "min" else -1.0
        order = np.argsort(-sign * np.asarray(vals), kind="stable")
        scaled = np.asarray(unit_interval(vals, lo, hi) if wide
                            else norm(np.asarray(vals)), dtype=float)
        xs = np.arange(len(names) + 1, dtype=float)
        # one artist for all, coloured at once (one Line2D per trial, each coloured on its
        # own, took 25 s for 20,000 trials)
        ax.add_collection(LineCollection(
            [np.column_stack([xs, [*rows[i], scaled[i]]]) for i in order],
            colors=cmap(scaled[order]), linewidths=0.9, alpha=0.8, gid="trials"))
        bar = fig.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, label=d.label())
        if wide:
            bar.set_ticks([0.0, 1.0], labels=[f"{lo:.3g}", f"{hi:.3g}"])
    ticks = [_axis_labels(h.space[n]) + ([(INACTIVE, INACTIVE_LABEL)] if x in inactive else [])
             for x, n in enumerate(names)]
    if vals:
        lo, hi = min(vals), max(vals)
        ticks.append([(0.0, f"{lo:.3g}"), (1.0, f"{hi:.3g}")] if hi > lo else [(0.0, f"{lo:.3g}")])
    for x, labels in enumerate(ticks):  # what each axis's positions stand for
        for at, text in labels:
            if math.isfinite(at):
                ax.annotate(text, (x, at), xytext=(3, 0), textcoords="offset points",
                            va="center", fontsize="x-small", color="#333333",
                            gid=f"axis-{x}-label")
    for x in range(len(names) + 1):
        ax.axvline(x, color="#555555", lw=0.8)
    ax.set_xticks(range(len(names) + 1), [*names, d.metric])
    ax.set_ylim(INACTIVE - 0.05 if inactive else -0.05, 1.05)
    ax.set_ylabel("scaled value (each axis: its own range)")
    ax.set_title(f"{d.name}: parallel coordinates ({len(vals)} trials)")
    if not vals:
        _nothing_yet(ax)
    return fig


def param_importance(study: Study) -> Figure:
    """Each parameter's share of the score's variance (``rung.analysis.param_importance``: a
    main-effect variance, NumPy only; its docstring says why that method)."""
    from rung.analysis import param_importance as importance

    d = _data(study)
    imp = importance(d.history)
    items = sorted(imp.importances.items(), key=lambda kv: kv[1])
    fig = _figure(7, max(2.5, 0.4 * len(items) + 1.5))
    ax = fig.add_subplot()
    ax.barh([k for k, _ in items], [v for _, v in items], color="#1f77b4", gid="importance")
    ax.set_xlabel(f"share of the variance of {d.named()} explained (main effect)")
    ax.set_ylabel("parameter")
    ax.set_xlim(0, 1)
    if imp.n_trials:
        ax.set_title(f"{d.name}: parameter importance at step {imp.step} "
                     f"({imp.n_trials} trial{'s' if imp.n_trials != 1 else ''})")
        if not any(v > 0 for _, v in items):
            scores = {score for score, _ in d.history.at_step(imp.step)}
            _nothing_yet(ax, "one trial: nothing to compare yet" if imp.n_trials == 1
                         else f"{imp.n_trials} trials: too few to compare (3 are needed)"
                         if imp.n_trials < 3 else
                         "the score is the same for every trial: nothing to explain"
                         if len(scores) <= 1 else
                         "no parameter explains more of the score than chance")
    else:
        ax.set_title(f"{d.name}: parameter importance")
        _nothing_yet(ax)
    return fig


def pareto_front(study: Study) -> Figure:
    """The first two objectives of every trial at its last step, the non-dominated feasible
    ones highlighted and joined by the line that bounds what they attain
    (``rung.analysis_frames.front_staircase``; a multi-objective study). The front is judged
    among the trials with a final result (``History.best_candidates``: at ``max_step``, or
    the highest step reached while none has one), drawn as filled points ("trials with a final
    result"); the other feasible trials (stopped or unfinished below that step, or failed)
    are hollow points, "other trials (value at their last step; not judged for the front)",
    since a value at a lower step may look better than the front and is not comparable to
    it; the title counts them."""
    d = _data(study)
    h = d.history
    if len(h.objectives) < 2:
        raise ValueError(f"study {d.name!r} has one objective: a Pareto front needs two or more "
                         "(a spec's metric: [a, b], or rung.Study.create(objective=[...]))")
    o1, o2 = h.objectives[0], h.objectives[1]
    judged = set(h.best_candidates())
    points: dict[str, tuple[list[float], list[float]]] = {
        "trials": ([], []), "other-trials": ([], []), "infeasible": ([], [])}
    for tid in h:
        v = h.values(tid)
        if math.isfinite(v[0]) and math.isfinite(v[1]):
            kind = ("infeasible" if h.feasibility(tid) is False
                    else "trials" if tid in judged else "other-trials")
            points[kind][0].append(o1.value(v[0]))
            points[kind][1].append(o2.value(v[1]))
    front = study.pareto_front()
    fx = [o1.value(h.values(t.id)[0]) for t in front]
    fy = [o2.value(h.values(t.id)[1]) for t in front]
    final = any(h.is_final(t) for t in judged)
    at = "with a final result" if final or not judged else \
        f"at step {max(h.last_step(t) for t in judged)} (the highest reached)"
    fig = _figure(7, 5.5)
    ax = fig.add_subplot()
    ax.scatter(*points["trials"], s=14, color="#aaaaaa", gid="trials", label=f"trials {at}")
    others = len(points["other-trials"][0])
    if others:  # not comparable to the front: a value at a lower step may look better
        ax.scatter(*points["other-trials"], s=14, facecolors="none", edgecolors="#aaaaaa",
                   gid="other-trials",
                   label="other trials (value at their last step; not judged for the front)")
    if points["infeasible"][0]:  # a constraint excludes them from the front, however good
        ax.scatter(*points["infeasible"], s=16, marker="x", color="#cccccc", gid="infeasible",
                   label="infeasible (a constraint is not met)")
    ax.scatter(fx, fy, s=30, color="#d62728", zorder=3, gid="front", label="Pareto front")
    if fx:
        lx, ly = front_staircase(list(zip(fx, fy, strict=True)), (o1.mode, o2.mode))
        ax.plot(lx, ly, color="#d62728", lw=1, gid="front-line")
    ax.set_xlabel(f"{o1.metric} ({o1.mode})")
    ax.set_ylabel(f"{o2.metric} ({o2.mode})")
    n_obj = len(h.objectives)
    # with three objectives or more the front is non-dominated in all of them: a point of it
    # may look dominated in the two drawn
    over = f"; front over all {n_obj} objectives, drawn in the first two" if n_obj > 2 else ""
    drawn = sum(len(xs) for xs, _ in points.values())
    unjudged = f"; {others} drawn at their last step, not judged" if others else ""
    title = f"{d.name}: Pareto front ({len(front)} of {drawn} trials{unjudged}{over})"
    ax.set_title(textwrap.fill(title, 70), fontsize="medium")  # (one line was cut at its ends)
    ax.legend(loc="best", fontsize="small")
    return finite_axes(fig)


def intermediate_slices(study: Study) -> Figure:
    """One panel per parameter: its value against the metric at each rung step (one colour per
    step), to see whether a parameter's effect shows early or only at high fidelity. A
    categorical's choices stand in the space's order."""
    d = _data(study)
    h = d.history
    names = [n for n in h.space if h.space[n].tunable]
    steps = [s for s in d.steps if h.n_at_step(s)]
    cols = min(3, max(1, len(names)))
    rows = math.ceil(max(1, len(names)) / cols)
    fig = _figure(4.2 * cols, 3.4 * rows)
    axes = fig.subplots(rows, cols, squeeze=False)
    import matplotlib as mpl

    cmap = mpl.colormaps["plasma"]
    for k, name in enumerate(names):
        ax: Axes = axes[k // cols][k % cols]
        p = h.space[name]
        log = bool(getattr(p, "log", False))
        # a categorical's choices in the space's order (as matplotlib's own categories, they
        # came in the order the trials first drew them)
        choices = getattr(p, "choices", None)
        for j, s in enumerate(steps):
            xs, ys = [], []
            for score, tid in h.at_step(s):
                x = h.params(tid).get(name)
                if x is not None and math.isfinite(score):
                    xs.append(x if choices is None else _choice_index(choices, x))
                    ys.append(h.objective.value(score))
            ax.scatter(xs, ys, s=10, alpha=0.7, color=cmap(j / max(len(steps) - 1, 1) * 0.85),
                       gid=f"step-{s}", label=f"step {s}")
        if log:
            ax.set_xscale("log")
        if choices is not None:
            ax.set_xticks(range(len(choices)), [str(c) for c in choices])
            ax.set_xlim(-0.5, len(choices) - 0.5)
        ax.set_xlabel(name)
        ax.set_ylabel(d.label())
    for k in range(len(names), rows * cols):
        axes[k // cols][k % cols].set_visible(False)
    if names and steps:
        axes[0][0].legend(fontsize="x-small", title="metric at", title_fontsize="x-small")
    elif names:
        for k in range(len(names)):
            _nothing_yet(axes[k // cols][k % cols])
    fig.suptitle(f"{d.name}: intermediate-value slices")
    return finite_axes(fig)


__all__ = ["intermediate_slices", "parallel_coordinates", "param_importance", "pareto_front"]
