"""``ctx.report`` follows the rule a returned value and ``Study.tell`` follow for an
objective's metric (``rung.core.metric_value.is_real``): a ``bool``, ``Decimal``, an array of
one element, ``complex`` or a string is refused with a ``ConfigError`` naming the metric and
the value's real type; the trial fails with it, the others run on."""

from __future__ import annotations

import decimal
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import rung
from rung.core.records import Objective, TrialStatus
from rung.executors.report_input import refused_metric

VALUES: dict[str, Any] = {"bool": True, "decimal": decimal.Decimal("0.1"),
                          "array": np.array([0.1]), "complex": 1 + 2j, "str": "0.5"}
SHOWN = {"bool": "bool: True", "decimal": "decimal.Decimal: Decimal('0.1')",
         "array": "numpy.ndarray: array([0.1])", "complex": "complex: (1+2j)",
         "str": "str: '0.5'"}


def reports_bad(ctx: rung.TrialContext) -> None:
    bad = VALUES[os.environ["RUNG_TEST_BAD"]]
    ctx.report(1, loss=bad if ctx.trial_id == 0 else ctx.params["x"])


@pytest.mark.parametrize("kind", list(VALUES))
def test_the_trial_fails_naming_the_real_type(kind: str, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNG_TEST_BAD", kind)
    st = rung.Study.create("r", {"x": rung.Float(0, 1)}, rung.Objective("loss", nan="worst"),
                           searcher="random", scheduler="fifo", max_step=1,
                           budget=rung.Budget(n_trials=3), storage=tmp_path / "r.db", seed=0)
    st.run(reports_bad, n_workers=1, start_method="fork", progress=False)
    first, *rest = st.trials()
    assert first.status is TrialStatus.FAILED and first.error is not None
    assert first.error.rstrip().splitlines()[-1] == (
        "rung.errors.ConfigError: report: metric 'loss' must be a real number (an "
        f"objective's metric), got {SHOWN[kind]}")
    assert not first.results  # nothing recorded
    assert [t.status for t in rest] == [TrialStatus.COMPLETED] * 2


def test_the_rule_is_one_function() -> None:
    assert refused_metric(["loss"], {"loss": 0.5, "acc": "high"}) is None  # only objectives
    assert refused_metric(["loss"], {"loss": np.float32(0.5)}) is None
    assert refused_metric(["loss"], {"loss": np.array(0.5)}) is None  # 0-d: a number
    assert refused_metric(["loss"], {"loss": np.True_}) == (
        "metric 'loss' must be a real number (an objective's metric), got numpy.bool: "
        "np.True_")


def test_the_driver_refuses_a_bool_too() -> None:
    """A context without the objectives' names (a custom executor): the driver judges."""
    o = Objective("loss")
    assert o.problem({"loss": True}) == "metric 'loss' is not a number: True (bool)"
    assert o.score({"loss": True}) == float("inf")
