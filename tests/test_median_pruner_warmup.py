"""``median_pruner(n_warmup_steps=...)`` whose first decision is at or past ``max_step`` is
refused naming ``n_warmup_steps``, the argument the user gave, and the largest one accepted.
Before: ``scheduler.params.min_step: 5 is max_step, the step a trial ends at: the rule would
never stop a trial``, a key the user never wrote (audit ``optuna/warmup.py``)."""

from __future__ import annotations

import pytest

from rung import ConfigError, Float, MedianStoppingRule, Study
from rung.integrations.optuna import median_pruner


def create(scheduler: object, max_step: int) -> Study:
    return Study.create("w", {"x": Float(0.0, 1.0)}, "loss", searcher="random",
                        scheduler=scheduler, max_step=max_step)


def refusal(scheduler: object, max_step: int) -> str:
    with pytest.raises(ConfigError) as e:
        create(scheduler, max_step)
    assert e.value.key == "scheduler.params.min_step"
    return str(e.value)


def warmup(most: int) -> str:
    return (" (with median_pruner(n_warmup_steps=n, first_step=f), min_step is n - f + 1: "
            f"give n_warmup_steps at most {most} + first_step)")


@pytest.mark.parametrize(("kw", "max_step", "message"), [
    ({"n_warmup_steps": 4}, 5, "scheduler.params.min_step: 5 is max_step, the step a trial "
                               "ends at: the rule would never stop a trial" + warmup(3)),
    ({"n_warmup_steps": 10}, 5, "scheduler.params.min_step: 11 is above max_step (5): the "
                                "rule would never stop a trial" + warmup(3)),
    ({"n_warmup_steps": 7, "first_step": 1}, 7, "scheduler.params.min_step: 7 is max_step, "
     "the step a trial ends at: the rule would never stop a trial" + warmup(5)),
    ({"n_warmup_steps": 1}, 1, "scheduler.params.min_step: 2 is above max_step (1): the rule "
                               "would never stop a trial" + warmup(0)),
])
def test_the_refusal_names_n_warmup_steps(kw: dict[str, int], max_step: int,
                                          message: str) -> None:
    assert refusal(median_pruner(**kw), max_step) == message


@pytest.mark.parametrize(("max_step", "first_step"), [(5, 0), (7, 1), (9, 3), (1, 0), (2, 2)])
def test_the_largest_n_warmup_steps_named_is_accepted_and_one_more_is_not(
        max_step: int, first_step: int) -> None:
    message = refusal(median_pruner(n_warmup_steps=99, first_step=first_step), max_step)
    most = int(message.rsplit("at most ", 1)[1].split(" ")[0]) + first_step
    create(median_pruner(n_warmup_steps=most, first_step=first_step), max_step)
    refusal(median_pruner(n_warmup_steps=most + 1, first_step=first_step), max_step)


def test_rung_s_own_median_rule_is_not_told_of_median_pruner() -> None:
    assert refusal(MedianStoppingRule(min_step=5), 5) == (
        "scheduler.params.min_step: 5 is max_step, the step a trial ends at: the rule would "
        "never stop a trial")
