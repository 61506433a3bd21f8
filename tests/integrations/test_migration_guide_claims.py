"""The Optuna and Ray Tune migration guides' claims, checked against the installed Optuna and
Ray: how Ray's ranges map onto rung's (``randint``'s upper bound is exclusive), how Ray's
``MedianStoppingRule`` differs from rung's, when ``SuccessiveHalvingPruner`` and ``ASHA`` agree,
the async Hyperband port's rungs, and the rows a migrating user missed (``timeout=``,
``tune.with_parameters``, what ``Tuner.restore`` resumes from). Found by an audit that
followed the guides: a port of ``tune.randint(0, len(LAYERS))`` to ``rung.Int(0,
len(LAYERS))`` failed 9 of 30 trials with an IndexError."""

from __future__ import annotations

import functools
import math
import random
import re
from collections import Counter
from typing import Any

import numpy as np
import pytest

import rung
from doc_blocks import blocks, page_path
from rung.schedulers.asha import rung_steps

RAY_GUIDE = page_path("migrate-ray-tune").read_text()
OPTUNA_GUIDE = page_path("migrate-optuna").read_text()


def _draws(domain: Any, n: int = 4000) -> list[Any]:
    return list(domain.sample(size=n, random_state=np.random.default_rng(0)))


def _values(p: rung.Int) -> set[int]:
    q: Any = rung.SearchSpace({"p": p})["p"]
    return set(range(q.low, q.high + 1, q.step))


def test_ray_ranges_map_to_rungs_inclusive_bounds() -> None:
    tune = pytest.importorskip("ray.tune")
    assert ("| `tune.randint(lo, hi)`, `tune.lograndint(lo, hi)`: Ray's `hi` is **exclusive** "
            "(`randint(0, 3)` draws 0, 1 or 2) | `rung.Int(lo, hi - 1)`, "
            "`rung.Int(lo, hi - 1, log=True)`") in RAY_GUIDE
    assert set(_draws(tune.randint(0, 3))) == {0, 1, 2} == _values(rung.Int(0, 3 - 1))
    layers = [[64], [128, 64], [256, 128, 64]]
    assert set(_draws(tune.randint(0, len(layers)))) == _values(rung.Int(0, len(layers) - 1))
    # the guide's example: lograndint(16, 512) never draws 512; its port is Int(16, 511)
    ray_block, rung_block = blocks("migrate-ray-tune")[:2]
    assert '"width": tune.lograndint(16, 512)' in ray_block
    assert '"width": rung.Int(16, 511, log=True)' in rung_block
    assert max(_draws(tune.lograndint(16, 512), 20000)) == 511
    # qrandint: the multiples of q in [lo, hi], hi included; rung's steps count from low
    assert "`rung.Int(3, 9, step=3)`" in RAY_GUIDE and "(`Int(1, 10, step=3)` is 1, 4, 7, 10)" \
        in RAY_GUIDE
    assert set(_draws(tune.qrandint(1, 10, 3))) == {3, 6, 9} == _values(rung.Int(3, 9, step=3))
    assert _values(rung.Int(1, 10, step=3)) == {1, 4, 7, 10}
    assert set(_draws(tune.qrandint(0, 3, 1))) == {0, 1, 2}  # q=1: hi excluded
    # quniform: the same values as Float(lo, hi, step=q); Ray's end points half as likely
    counts = Counter(_draws(tune.quniform(0, 1, 0.25), 40000))
    grid = rung.SearchSpace({"u": rung.Float(0, 1, step=0.25)})["u"].grid(10)
    assert sorted(counts) == grid == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert counts[0.0] / counts[0.5] == pytest.approx(0.5, abs=0.05)
    assert counts[1.0] / counts[0.5] == pytest.approx(0.5, abs=0.05)
    # no log scale with a step in rung, as the qloguniform / qlograndint row says
    with pytest.raises(rung.ConfigError):
        rung.SearchSpace({"u": rung.Int(16, 512, log=True, step=16)})
    for row in ("| `tune.choice([...])` |", "| `tune.grid_search([...])`",
                "| `tune.qloguniform(lo, hi, q)`, `tune.qlograndint(lo, hi, q)` |"):
        assert row in RAY_GUIDE


def _median_rules(grace: int, seed: int, n: int = 24, steps: int = 10) -> tuple[list[int],
                                                                                  list[int]]:
    """The last step of each of ``n`` trials run one after another under Ray's and rung's
    median stopping rules (``min_samples_required`` / ``min_trials`` 3)."""
    from ray.tune.schedulers import MedianStoppingRule as RayRule

    class Controller:
        def get_live_trials(self) -> list[Any]:
            return []

    class T:
        def __init__(self, i: int) -> None:
            self.trial_id = str(i)

    rng = random.Random(seed)
    xs = [rng.random() for _ in range(n)]

    def loss(x: float, s: int) -> float:
        return math.sin(17 * x * s) * 0.4 + x + 1.0 / s

    ray: Any = RayRule(time_attr="training_iteration", metric="loss", mode="min",
                  grace_period=grace, min_samples_required=3)
    theirs = []
    for i, x in enumerate(xs):
        t, last = T(i), steps
        ray.on_trial_add(Controller(), t)
        for s in range(1, steps + 1):
            if ray.on_trial_result(Controller(), t, {"training_iteration": s,
                                                    "loss": loss(x, s)}) == "STOP":
                last = s
                break
        if last == steps:
            ray.on_trial_complete(Controller(), t, {"training_iteration": s, "loss": loss(x, s)})
        theirs.append(last)
    study = rung.Study.create("m", {"x": rung.Float(0, 1)}, "loss", searcher="random",
                              scheduler=rung.MedianStoppingRule(min_step=grace, min_trials=3),
                              max_step=steps, budget={"n_trials": n})
    for x in xs:
        study.enqueue({"x": x})
    ours = []
    while (trial := study.ask()) is not None:
        last = steps
        for s in range(1, steps + 1):
            if study.report(trial.id, s, {"loss": loss(trial.params["x"], s)}).action is not \
                    rung.Action.CONTINUE:
                last = s
                break
        study.tell(trial.id, "stopped" if last < steps else "completed")
        ours.append(last)
    return theirs, ours


def test_ray_median_stopping_rule_row_says_how_they_differ() -> None:
    pytest.importorskip("ray.tune")
    import inspect

    from ray.tune.schedulers import MedianStoppingRule as RayRule

    assert ("Ray's averages a trial's results in `[grace_period, t]`, rung's (Vizier's) in "
            "`[1, t]`, so they decide alike at `grace_period=1` (`min_step=1`) and differ above "
            "it") in RAY_GUIDE
    assert ("Ray's defaults are `time_attr=\"time_total_s\"` and `grace_period=60.0` seconds"
            in RAY_GUIDE)
    assert "`min_samples_required` (rung: `min_trials`, default 3 in both)" in RAY_GUIDE
    ray_defaults = {k: p.default for k, p in inspect.signature(RayRule).parameters.items()}
    assert (ray_defaults["time_attr"], ray_defaults["grace_period"],
            ray_defaults["min_samples_required"]) == ("time_total_s", 60.0, 3)
    assert "`rung.MedianStoppingRule(min_step, min_trials)`" in RAY_GUIDE
    assert rung.MedianStoppingRule().get_params() == {"min_step": 1, "min_trials": 3}
    for seed in (1, 2):
        theirs, ours = _median_rules(1, seed)
        assert theirs == ours and sum(s < 10 for s in ours) >= 5
        theirs, ours = _median_rules(3, seed)
        assert sum(s < 10 for s in theirs) > sum(s < 10 for s in ours)


def test_successive_halving_pruner_agrees_with_asha_only_from_step_1() -> None:
    """With a ``range(n)`` loop Optuna's rungs are its steps 1, 4 and 16 (a trial's 2nd, 5th
    and 17th reports), rung's a trial's 1st, 4th and 16th reports (Optuna steps 0, 3, 15)."""
    optuna = pytest.importorskip("optuna")
    from rung.integrations.optuna_sampler import RungPruner

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    assert "With the usual `range(n)` loop they do not: Optuna's rungs are its steps 1, 4 and " \
           "16" in OPTUNA_GUIDE
    rng = np.random.default_rng(4)
    a, b = rng.uniform(0.5, 2.0, 40), rng.uniform(0.0, 1.0, 40)
    curves = [[float(a[i] / (s + 1) + b[i]) for s in range(27)] for i in range(40)]

    def pruned_steps(pruner: Any) -> list[int | None]:
        study = optuna.create_study(pruner=pruner)
        out: list[int | None] = []
        for curve in curves:
            trial, at = study.ask(), None
            for step in range(27):  # the usual loop: Optuna steps 0..26
                trial.report(curve[step], step)
                if step < 26 and trial.should_prune():
                    at = step
                    break
            study.tell(trial, None if at is not None else curve[-1],
                       state=optuna.trial.TrialState.PRUNED if at is not None else None)
            out.append(at)
        return out

    theirs = pruned_steps(optuna.pruners.SuccessiveHalvingPruner(min_resource=1,
                                                                 reduction_factor=4))
    ours = pruned_steps(RungPruner(rung.ASHA(reduction_factor=4), max_step=27))
    assert {s for s in theirs if s is not None} <= {1, 4, 16}
    assert {s for s in ours if s is not None} <= {0, 3, 15}
    assert sum(s is not None for s in ours) >= 20
    assert sum(x != y for x, y in zip(theirs, ours, strict=True)) >= 20


def test_the_async_hyperband_port_names_rays_three_rungs() -> None:
    pytest.importorskip("ray.tune")
    from ray.tune.schedulers.async_hyperband import _Bracket

    from test_examples_ports import load

    doc = load("ray_tune_async_hyperband").__doc__
    assert doc is not None
    m = re.search(r"rungs at ([\d, and]+) \(and the stop at 100\)", " ".join(doc.split()))
    assert m is not None
    said = [int(x) for x in re.findall(r"\d+", m.group(1))]
    ray_rungs = sorted(r[0] for r in _Bracket(min_t=5, max_t=100, reduction_factor=4,
                                               s=0)._rungs)
    assert said == ray_rungs == rung_steps(5, 4, 100) == [5, 20, 80]


def _train(ctx: rung.TrialContext, data: list[float]) -> None:
    for step in range(ctx.start_step, ctx.max_step + 1):
        ctx.report(step, loss=abs(sum(data) / len(data) - ctx.params["x"]) + 1.0 / step)


def test_the_rows_a_migrating_user_missed() -> None:
    """``timeout=`` (Optuna), ``tune.with_parameters`` and what ``Tuner.restore`` resumes
    from: each has its row, and ``functools.partial`` is an objective as the row says."""
    assert ("| `study.optimize(..., timeout=600)` | `max_time=600`" in OPTUNA_GUIDE
            and "Optuna only starts no new trial after `timeout` and lets the running ones "
                "finish; rung also stops running trials at their next report, and kills a trial "
                "still running 1 s after `max_time`" in OPTUNA_GUIDE)
    assert ("| `tune.with_parameters(trainable, data=data)` | `functools.partial(train, "
            "data=data)` as the objective" in RAY_GUIDE)
    assert ("so under ASHA, which only stops trials, the port above saves none, and its "
            "cut-off trials start again from step 1. Give the executor `checkpoint_every=k`"
            in RAY_GUIDE)
    study = rung.run(functools.partial(_train, data=[0.2, 0.4]), {"x": rung.Float(0, 1)},
                     max_step=2, n_trials=3, n_workers=1, progress=False, searcher="random")
    assert [t.status.value for t in study.trials()] == ["completed"] * 3
    assert all(t.value == pytest.approx(abs(0.3 - t.params["x"]) + 0.5) for t in study.trials())
