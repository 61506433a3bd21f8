"""A minimized objective whose name reads higher-is-better is warned about once, at creation
(``rung.study_checks.direction_hint``): ``mode`` defaults to ``'min'``, so
``objective="val_accuracy"`` alone searched for the worst model without a word."""

from __future__ import annotations

import logging

import pytest

import rung
from rung.core.records import Objective
from rung.study_checks import direction_hint

SPACE = {"x": rung.Float(0, 1)}


@pytest.mark.parametrize("metric", ["val_accuracy", "acc", "roc_auc", "f1", "valid-R2",
                                    "episode_reward", "mean_average_precision"])
def test_higher_is_better_names_minimized_are_warned(metric: str) -> None:
    assert direction_hint([Objective(metric, "min")]) == (
        f"objective {metric!r} is minimized, but its name reads higher-is-better: give "
        "mode='max' if higher is better")


@pytest.mark.parametrize("metric,mode", [("val_accuracy", "max"), ("loss", "min"),
                                         ("accuracy_error", "min"), ("auc_loss", "min"),
                                         ("accumulated_time", "min"), ("val_acc", "max")])
def test_other_objectives_are_not(metric: str, mode: str) -> None:
    assert direction_hint([Objective(metric, mode)]) is None


def test_create_warns_once_and_names_the_study(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="rung.study"):
        rung.Study.create("acc", SPACE, objective="val_accuracy")
        rung.Study.create("acc2", SPACE, objective="val_accuracy", mode="max")
        rung.Study.create("mo", SPACE, objective=["loss", "val_accuracy"])
    assert [r.getMessage() for r in caplog.records if r.name == "rung.study"] == [
        "study acc: objective 'val_accuracy' is minimized, but its name reads "
        "higher-is-better: give mode='max' if higher is better",
        "study mo: objective 'val_accuracy' is minimized, but its name reads "
        "higher-is-better: give mode='max' if higher is better"]


def test_an_objective_object_is_checked_too(caplog: pytest.LogCaptureFixture) -> None:
    """``rung.Objective("accuracy")`` (its mode defaults to 'min'), as ``rung.run`` and the
    spec pass it."""
    with caplog.at_level(logging.WARNING, logger="rung.study"):
        rung.Study.create("r", SPACE, objective=rung.Objective("accuracy"))
    assert [r.getMessage() for r in caplog.records if r.name == "rung.study"] == [
        "study r: objective 'accuracy' is minimized, but its name reads higher-is-better: "
        "give mode='max' if higher is better"]
