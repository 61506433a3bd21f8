"""What the framework-callback tests share: the study they run, what ASHA must have decided in
it, and the evaluation logs the objectives write next to it.

Each framework test runs its real library inside a real study on the local executor with one
worker, so trials run one after another in id order and ASHA's decisions can be recomputed from
the recorded values alone (``expected_stops``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rung import ASHA, Budget, Fixed, Objective, SearchSpace, Study
from rung.core.records import Trial, TrialStatus
from rung.space.search_space import ParamLike


def make_study(name: str, params: Mapping[str, ParamLike], out: Path, metric: str,
               max_step: int, n_trials: int, variant: str = "stopping", mode: str = "min",
               seed: int = 0) -> Study:
    """An in-memory study with ASHA (eta 3, first rung at step 1); ``out`` reaches the objective
    as the fixed parameter ``"out"`` (where it writes its framework's evaluation log)."""
    space = SearchSpace({**params, "out": Fixed(str(out))})
    return Study.create(name, space, Objective(metric, mode), searcher="random",
                        scheduler=ASHA(reduction_factor=3, min_step=1, variant=variant),
                        max_step=max_step, budget=Budget(n_trials=n_trials), seed=seed)


def write_log(params: Mapping[str, Any], trial_id: int, start_step: int, log: Any) -> None:
    """The objective's side: the framework's own log of one run of a trial, as JSON."""
    path = Path(params["out"]) / f"{trial_id}-{start_step}.json"
    path.write_text(json.dumps(log))


def read_logs(out: Path, trial_id: int) -> dict[int, Any]:
    """Every run's log of a trial, keyed by the run's first step."""
    return {int(p.stem.split("-")[1]): json.loads(p.read_text())
            for p in out.glob(f"{trial_id}-*.json")}


def steps(trial: Trial) -> list[int]:
    return [r.step for r in trial.results]


def expected_stops(trials: Sequence[Trial], metric: str, rungs: Sequence[int],
                   mode: str = "min") -> dict[int, int | None]:
    """ASHA's stopping rule replayed over sequential trials: at each rung a trial continues iff
    it is in the top ``max(1, floor(n / eta))`` (eta 3) of the ``n`` results recorded there so
    far, itself included. Returns each trial's stopping rung (``None``: never stopped)."""
    sign = 1.0 if mode == "min" else -1.0
    table: dict[int, list[float]] = {r: [] for r in rungs}
    stops: dict[int, int | None] = {}
    for t in sorted(trials, key=lambda t: t.id):
        by_step = {r.step: r.metrics[metric] for r in t.results}
        stops[t.id] = None
        for r in rungs:
            if r not in by_step:
                break
            value = sign * float(by_step[r])
            table[r].append(value)
            quota = max(1, math.floor(len(table[r]) / 3))
            if sorted(table[r]).index(value) >= quota:
                stops[t.id] = r
                break
    return stops


def check_asha_stops(study: Study, metric: str, rungs: Sequence[int], mode: str = "min") -> None:
    """Every trial ran steps 1..last without a gap, stopped trials stopped exactly where the rule
    says, the others completed at ``max_step``; and the rule did stop someone."""
    trials = study.trials()
    stops = expected_stops(trials, metric, rungs, mode)
    for t in trials:
        assert steps(t) == list(range(1, t.last_step + 1)), (t.id, steps(t))
        if stops[t.id] is None:
            assert t.status is TrialStatus.COMPLETED, (t.id, t.status, stops)
            assert t.last_step == study.spec.max_step
        else:
            assert t.status is TrialStatus.STOPPED, (t.id, t.status, stops)
            assert t.last_step == stops[t.id]
    assert any(s is not None for s in stops.values()), stops
