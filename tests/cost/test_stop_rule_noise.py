"""The stop rule's statistical error: the binomial error of an error rate on n examples, with n
given (``n_val``) or read off the values' grid (``rung.cost.noise.lattice_size``)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import rung
from rung.cost import stop_rule
from rung.cost.noise import binomial_se, lattice_size
from rung.errors import ConfigError

SPACE = {"x": rung.Float(0.0, 1.0), "y": rung.Float(0.0, 1.0)}


@pytest.mark.parametrize("n", [7 * 11 * 13, 334, 1667, 2467, 6340])
def test_lattice_size_reads_the_validation_set_size(n: int) -> None:
    rng = np.random.default_rng(n)
    k = rng.integers(int(0.1 * n), int(0.4 * n), size=30)
    rates = k / n
    assert lattice_size(rates.tolist()) == n
    # stored as float32 (the curve tables), or maximized as an accuracy (scored -a)
    assert lattice_size(rates.astype(np.float32).astype(float).tolist()) == n
    assert lattice_size((-(1.0 - rates)).tolist()) == n


def test_lattice_size_of_a_large_validation_set_needs_float64_rates() -> None:
    """Rates on 250,000 examples spread over 0.1-0.4: computed in float64 the grid is exact
    (their fractions' common denominator); stored in float32 the closest two rates are too many
    grid steps apart to read it, and the answer is None (the rule then measures its noise)."""
    n = 250_000
    k = np.random.default_rng(1).integers(n // 10, 4 * n // 10, size=20)
    assert lattice_size((k / n).tolist()) == n
    assert lattice_size((1.0 - (n - k) / n).tolist()) == n
    assert lattice_size((k / n).astype(np.float32).astype(float).tolist()) is None


def test_lattice_size_refuses_what_is_not_a_rate() -> None:
    rng = np.random.default_rng(0)
    u = rng.random(200)
    assert lattice_size(u.tolist()) is None  # continuous
    assert lattice_size((2.0 * u).tolist()) is None  # outside [0, 1]
    assert lattice_size(np.round(u, 4).tolist()) is None  # rounded decimals: 1/10**4
    assert lattice_size(np.round(u * 0.3, 3).tolist()) is None  # 1/1000
    assert lattice_size([1 / 3, 2 / 3, 0.0, 1.0] * 5) is None  # 4 distinct values: too few
    assert lattice_size([0.1, math.inf, math.nan]) is None
    # a log-loss of the same models is never taken for a rate
    assert lattice_size((-np.log(0.05 + 0.9 * u)).tolist()) is None
    hits = sum(lattice_size(rng.random(8).tolist()) is not None for _ in range(2000))
    assert hits == 0


def test_binomial_se() -> None:
    q = 20.5 / 101  # (n p + 1/2) / (n + 1)
    assert binomial_se(0.2, 100) == pytest.approx(math.sqrt(q * (1 - q) / 100))
    assert binomial_se(-0.2, 100) == binomial_se(0.2, 100)
    assert binomial_se(0.0, 100) == pytest.approx(binomial_se(1.0, 100))  # half an example
    assert binomial_se(0.0, 100) == pytest.approx(math.sqrt(0.5 / 101 * (100.5 / 101) / 100))


def _rate_study(f: Callable[[int, dict[str, Any]], float], n_trials: int, **params: Any
                ) -> rung.Study:
    study = rung.Study.create(
        "r", SPACE, objective="err", searcher="random", scheduler="fifo",
        budget=rung.Budget(n_trials=n_trials, stop=rung.StopRule(**params)),
    )
    i = 0
    while (t := study.ask()) is not None:
        study.tell(t.id, "completed", {"err": f(i, dict(t.params))})
        i += 1
    return study


N = 400


def _flat_rate(i: int, p: dict[str, Any]) -> float:
    """An error rate on N examples that does not depend on the configuration: 80 errors, give
    or take 4 (a few examples either way, far below the binomial error of 8 examples)."""
    return (80 + round(4 * math.sin(12.9898 * i * 78.233))) / N


def test_a_flat_error_rate_stops_on_its_binomial_error() -> None:
    study = _rate_study(_flat_rate, 200)
    verdict = study.engine.stopped
    assert verdict is not None
    ev = verdict.evidence
    assert len(study.trials()) == 26  # bounded: 7 checks after min_trials
    assert ev["n_val"] == N  # read off the grid
    assert ev["noise"] == pytest.approx(binomial_se(ev["best"], N))
    assert ev["threshold"] == ev["noise"] and ev["regret_bound"] <= ev["threshold"]
    assert ev["gp_noise"] == ev["curve_noise"] == 0.0
    assert f"on {N} validation examples (read off the values' grid)" in verdict.reason
    # the same, n given: the same decision at the same trial
    given = _rate_study(_flat_rate, 200, n_val=N)
    assert given.engine.stopped is not None
    assert len(given.trials()) == 26
    assert given.engine.stopped.evidence == ev
    assert "(given)" in given.engine.stopped.reason


def _near_flat_rate(i: int, p: dict[str, Any]) -> float:
    """An error rate on N examples that the configuration moves by at most 6 examples either way,
    deterministically (as a fixed validation set does): the binomial error is 8 examples."""
    return (80 + round(3 * (math.sin(6.3 * p["x"]) + math.cos(6.3 * p["y"])))) / N


@pytest.mark.slow  # three 200-trial studies (~8 s)
def test_the_noise_measured_from_the_history_misses_the_binomial_error() -> None:
    """The failure the binomial error fixes: a deterministic near-flat rate has no noise a GP
    or a learning curve can see, so the measured noise (``lattice=False``) is far below the
    evaluation's error and the rule never stops; read off the grid, it stops at once."""
    measured = _rate_study(_near_flat_rate, 200, lattice=False)
    assert len(measured.trials()) == 200 and measured.engine.stopped is None
    binomial = _rate_study(_near_flat_rate, 200)
    verdict = binomial.engine.stopped
    assert verdict is not None and len(binomial.trials()) == 20  # min_trials
    ev = verdict.evidence
    assert ev["n_val"] == N and ev["regret_bound"] <= ev["noise"]
    assert ev["noise"] == pytest.approx(binomial_se(ev["best"], N))
    # the pure-noise flat rate, without the grid: the GP's noise, 3 times below the binomial
    noisy = _rate_study(_flat_rate, 200, lattice=False)
    assert noisy.engine.stopped is not None
    ev = noisy.engine.stopped.evidence
    assert ev["n_val"] == 0.0 and ev["noise"] == max(ev["gp_noise"], ev["curve_noise"])
    assert ev["noise"] < binomial_se(ev["best"], N) / 2
    assert "observed noise" in noisy.engine.stopped.reason


@pytest.mark.parametrize(
    "f",
    [
        lambda i, p: round(4999 * (p["x"] + p["y"]) / 2) / 4999,
        lambda i, p: round(4999 * (1 - math.exp(-((p["x"] - 0.7) ** 2 + (p["y"] - 0.2) ** 2)
                                                / 0.01))) / 4999,
    ],
    ids=["linear", "needle"],
)
def test_an_error_rate_that_still_improves_does_not_stop(
    f: Callable[[int, dict[str, Any]], float],
) -> None:
    study = _rate_study(f, 80)
    assert len(study.trials()) == 80
    assert study.engine.stopped is None


@pytest.mark.parametrize(("params", "key"), [({"n_val": 0}, "n_val"),
                                             ({"lattice": "yes"}, "lattice"),
                                             ({"noise_metric": ""}, "noise_metric")])
def test_bad_noise_parameters_name_the_key(params: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as e:
        rung.Study.create("bad", SPACE, objective="err", searcher="random", scheduler="fifo",
                          budget=rung.Budget(n_trials=5, stop=rung.StopRule(**params)))
    assert e.value.key == f"budget.stop.params.{key}"


def _se_study(n_trials: int, report: Callable[[int, dict[str, Any]], dict[str, float]],
              **params: Any) -> rung.Study:
    study = rung.Study.create(
        "m", SPACE, objective="loss", searcher="random", scheduler="fifo",
        budget=rung.Budget(n_trials=n_trials, stop=rung.StopRule(**params)),
    )
    i = 0
    while (t := study.ask()) is not None:
        study.tell(t.id, "completed", report(i, dict(t.params)))
        i += 1
    return study


def _near_flat_loss(p: dict[str, Any]) -> float:
    """A continuous loss the configuration moves by at most 0.002, deterministically."""
    return 0.5 + 0.001 * (math.sin(6.3 * p["x"]) + math.cos(6.3 * p["y"]))


@pytest.mark.slow  # a 200-trial study the rule checks throughout (~7 s)
def test_noise_metric_takes_the_incumbents_reported_error() -> None:
    """Each trial reports the standard error of its own evaluation (as cross-validation folds
    give it); the rule compares the bound with the incumbent's. The same loss without it has
    only the measured noise, which a deterministic function does not show: no stop in 200."""
    def report(i: int, p: dict[str, Any]) -> dict[str, float]:
        return {"loss": _near_flat_loss(p), "loss_se": 0.01 + 0.0001 * i}

    study = _se_study(200, report, noise_metric="loss_se")
    verdict = study.engine.stopped
    assert verdict is not None and len(study.trials()) == 20
    ev = verdict.evidence
    best = min(study.trials(), key=lambda t: t.value if t.value is not None else math.inf)
    assert ev["reported"] == 1.0 and ev["n_val"] == 0.0
    assert ev["noise"] == best.results[-1].metrics["loss_se"]  # the incumbent's, not another's
    assert ev["regret_bound"] <= ev["threshold"] == ev["noise"]
    assert "<= the incumbent's reported loss_se " in verdict.reason
    measured = _se_study(200, report)
    assert measured.engine.stopped is None and len(measured.trials()) == 200


def test_noise_metric_missing_at_the_incumbent_falls_back() -> None:
    """Only the trials other than the incumbent report an error: the rule ignores theirs and
    uses the next source (here the history's measured noise)."""
    def report(i: int, p: dict[str, Any]) -> dict[str, float]:
        loss = _near_flat_loss(p)
        return {"loss": loss} if loss < 0.4995 else {"loss": loss, "loss_se": 0.05}

    study = _se_study(40, report, noise_metric="loss_se")
    assert study.engine.stopped is None and len(study.trials()) == 40
    ev = stop_rule.assess(study, noise_metric="loss_se")
    assert ev is not None and ev["reported"] == 0.0
    assert ev["noise"] == max(ev["gp_noise"], ev["curve_noise"]) < 0.05


def test_noise_parameters_survive_the_spec() -> None:
    b = rung.Budget(stop=rung.StopRule(n_val=334, noise_metric="err_se", lattice=False))
    again = rung.Budget.from_json(b.to_json())
    assert again == b
    study = rung.Study.create("j", SPACE, objective="err", searcher="random", scheduler="fifo",
                              budget=again)
    rule = study.engine.stop_rule
    assert isinstance(rule, rung.StopRule)
    assert (rule.n_val, rule.noise_metric, rule.lattice) == (334, "err_se", False)
