"""Parallel coordinates with a conditional parameter: a trial that has no value for it (its
branch leaves it inactive) is drawn at the axis's "inactive" tick, below its range, so every
line runs continuously from the first axis to the value's. Before, a line broke at the NaN:
with the conditional parameter last, only the trials on its branch reached the value axis
(3 of 40 in a define-by-run study)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import rung

pytest.importorskip("matplotlib")
from matplotlib.collections import LineCollection
from matplotlib.text import Annotation

from rung import plot as P
from rung.plot._param_figures import INACTIVE


def conditional_study() -> rung.Study:
    space = {"opt": rung.Categorical(["adam", "sgd"]), "lr": rung.Float(1e-3, 1.0, log=True),
             "momentum": rung.Float(0.0, 0.9, when={"opt": "sgd"})}
    study = rung.Study.create("cond", space, searcher="random", scheduler="fifo",
                              budget=rung.Budget(n_trials=40), seed=0)
    while (t := study.ask()) is not None:
        p = t.params
        study.tell(t.id, "completed", {"loss": p["lr"] + p.get("momentum", 0.0)})
    return study


def test_a_trial_without_a_value_for_a_parameter_is_drawn_at_its_inactive_tick() -> None:
    study = conditional_study()
    fig = P.parallel_coordinates(study)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["opt", "lr", "momentum", "loss"]
    (lines,) = [c for c in ax.collections if c.get_gid() == "trials"]
    assert isinstance(lines, LineCollection)
    segments = lines.get_segments()
    assert len(segments) == 40
    adam = sum(1 for t in study.trials() if t.params["opt"] == "adam")
    assert 0 < adam < 40
    for seg in segments:  # every line is whole: four finite points, one per axis
        assert np.isfinite(seg).all() and [x for x, _ in seg] == [0, 1, 2, 3]
    # the adam trials sit at the inactive position of the momentum axis, and only they do
    momentum = [seg[2][1] for seg in segments]
    assert sum(1 for y in momentum if y == INACTIVE) == adam
    assert all(0.0 <= y <= 1.0 for y in momentum if y != INACTIVE)
    assert sum(1 for seg in segments if seg[0][1] == 0.0) == adam  # opt = adam at 0
    # that position is labelled on the momentum axis, and within the drawing's limits
    inactive = [(a.get_gid(), a.xy) for a in ax.texts
                if isinstance(a, Annotation) and a.get_text() == "inactive"]
    assert inactive == [("axis-2-label", (2, INACTIVE))]
    low, high = ax.get_ylim()
    assert low < INACTIVE and high == 1.05 and math.isclose(low, INACTIVE - 0.05)


def test_without_inactive_values_the_axes_are_as_before() -> None:
    space = {"a": rung.Float(0, 1), "b": rung.Categorical(["x", "y"])}
    study = rung.Study.create("plain", space, searcher="random", scheduler="fifo",
                              budget=rung.Budget(n_trials=5), seed=0)
    while (t := study.ask()) is not None:
        study.tell(t.id, "completed", {"loss": t.params["a"]})
    ax = P.parallel_coordinates(study).axes[0]
    assert ax.get_ylim() == (-0.05, 1.05)
    assert not any(a.get_text() == "inactive" for a in ax.texts)
