"""``metric: "loss, acc"`` (one string) is one metric named ``'loss, acc'``: a name may hold a
comma, so it is not refused, but a trial that reports ``loss`` and ``acc`` and not it is told
how to give several objectives. Before: every trial failed with "metric 'loss, acc' was not
reported (reported: 'loss', 'acc', 'lat')" and nothing more."""

from __future__ import annotations

import pytest

import rung
from rung.core.records import Objective
from rung.errors import ConfigError

REPORTED = {"loss": 1.0, "acc": 0.5, "lat": 2.0}


def test_a_run_trial_missing_it_is_told_to_give_a_list() -> None:
    assert Objective("loss, acc").problem(REPORTED) == (
        "metric 'loss, acc' was not reported (reported: 'loss', 'acc', 'lat') (for several "
        "objectives, give a list: [loss, acc])")
    # a name with a comma whose parts were not all reported: nothing to suggest
    assert Objective("loss, f1").problem(REPORTED) == (
        "metric 'loss, f1' was not reported (reported: 'loss', 'acc', 'lat')")
    assert Objective("loss, acc").problem({"loss, acc": 1.0}) is None  # a name of its own


def test_ask_tell_report_says_so_too() -> None:
    s = rung.Study.create("c", {"x": rung.Float(0.0, 1.0)}, objective="loss, acc",
                          searcher="random", scheduler="fifo", budget={"n_trials": 1})
    t = s.ask()
    assert t is not None
    with pytest.raises(ConfigError) as e:
        s.report(t.id, 1, REPORTED)
    assert str(e.value) == (
        "metrics: no 'loss, acc' (the objective's metric): got 'loss', 'acc', 'lat' (for "
        "several objectives, give a list: [loss, acc])")
