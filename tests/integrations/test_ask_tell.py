"""``Study.ask`` / ``report`` / ``tell`` given what a user of another library passes (the
interface the Optuna, Ray Tune and scikit-learn adapters drive, and a user's own loop): a
mistake is one ``ConfigError`` naming the argument, and nothing is journaled."""

from __future__ import annotations

from typing import Any

import pytest

import rung
from rung.errors import ConfigError


def study() -> tuple[rung.Study, int]:
    s = rung.Study.create("a", {"x": rung.Float(0.0, 1.0)}, objective="loss", max_step=3,
                          scheduler="asha", budget=rung.Budget(n_trials=5), seed=0)
    t = s.ask()
    assert t is not None
    return s, t.id


@pytest.mark.parametrize(("step", "metrics", "message"), [
    (1, 0.5, "metrics: a mapping of metric names to values (e.g. {'loss': 0.5}), got 0.5"),
    (1, [0.5], "metrics: a mapping of metric names to values (e.g. {'loss': 0.5}), got [0.5]"),
    (4, {"loss": 0.5}, "step: must be <= max_step=3, got 4"),
    (0, {"loss": 0.5}, "step: must be an integer >= 1, got 0"),
])
def test_report_refuses_naming_the_argument(step: Any, metrics: Any, message: str) -> None:
    """Before: a number raised TypeError("'float' object is not iterable") from dict(), and
    a step above max_step was recorded."""
    s, tid = study()
    n = len(s.journal.read("a"))
    with pytest.raises(ConfigError) as e:
        s.report(tid, step, metrics)
    assert str(e.value) == message
    assert len(s.journal.read("a")) == n  # nothing journaled
    assert s.report(tid, 1, {"loss": 0.5}).action is rung.Action.CONTINUE


@pytest.mark.parametrize(("args", "kwargs", "message"), [
    (("pruned",), {}, "status: 'pruned' is not one of ['completed', 'stopped', 'paused', "
                      "'failed', 'interrupted'] (Optuna's 'pruned' is 'stopped' here)"),
    ((0.5,), {}, "status: 0.5 is not one of ['completed', 'stopped', 'paused', 'failed', "
                 "'interrupted']; metrics go in metrics={'loss': 0.5}"),
    (("completed", 0.5), {}, "metrics: a mapping of metric names to values (e.g. "
                             "{'loss': 0.5}), got 0.5"),
    (("completed", {"loss": 0.5}), {"step": 7}, "step: must be an integer in [1, "
                                                "max_step=3], got 7"),
])
def test_tell_refuses_naming_the_argument(args: tuple[Any, ...], kwargs: dict[str, Any],
                                          message: str) -> None:
    s, tid = study()
    n = len(s.journal.read("a"))
    with pytest.raises(ConfigError) as e:
        s.tell(tid, *args, **kwargs)
    assert str(e.value) == message
    assert len(s.journal.read("a")) == n
    assert s.tell(tid, "completed", {"loss": 0.5}).value == 0.5
