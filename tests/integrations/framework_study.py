"""What the framework-callback tests share: the study they run, what ASHA must have decided in
it, and the evaluation logs the objectives write next to it.

Each framework test runs its real library inside a real study on the local executor with one
worker, so trials run one after another in id order and ASHA's decisions can be recomputed from
the recorded values alone (``expected_stops``).
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rung import ASHA, Budget, Fixed, Objective, SearchSpace, Study
from rung.core.records import Trial, TrialStatus
from rung.errors import PauseTrial, StopTrial
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


def tree_data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The boosting tests' regression data: 240 rows of 4 features (the first 160 to train on),
    a nonlinear target with noise; ``seed`` gives each framework's test its own draw."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(240, 4))
    y = x[:, 0] * 2.0 - x[:, 1] + 0.5 * x[:, 2] ** 2 + rng.normal(scale=0.3, size=240)
    return x, y


def net_data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The neural-network tests' regression data, float32: 160 rows of 3 features (the first 120
    to train on), a linear target of shape ``(160, 1)`` with noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(160, 3)).astype("float32")
    y = (x[:, :1] * 1.5 - x[:, 1:2] + 0.1 * rng.normal(size=(160, 1))).astype("float32")
    return x, y


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


def check_logged_values(study: Study, out: Path, metric: str, rtol: float | None = None) -> None:
    """The ASHA run of a framework test: ASHA stopped trials where its rule says (rungs 1 and 3 of
    ``max_step`` 9), and each trial ran once, its framework logging exactly the ``metric``
    values rung recorded (``rtol``: equal to that relative tolerance; ``None``: equal)."""
    check_asha_stops(study, metric, rungs=[1, 3])
    for t in study.trials():
        (log,) = read_logs(out, t.id).values()
        got = [r.metrics[metric] for r in t.results]
        if rtol is None:
            assert got == log, (t.id, got, log)
        else:
            np.testing.assert_allclose(got, log, rtol=rtol)


def check_resumes(study: Study, out: Path, metric: str,
                  uninterrupted: Callable[[Trial], Sequence[float]], rtol: float,
                  every_trial: bool = False) -> int:
    """The pause/resume run of a framework test (ASHA ``variant="promotion"``).

    For every trial: its first run started at step 1 and each later run right after the step
    where the previous one paused; for every resumed trial (every trial with ``every_trial``)
    the recorded steps have no gap and the ``metric`` curve equals, to ``rtol``,
    ``uninterrupted(trial)``: the framework's curve trained straight through
    ``trial.last_step``, so training continued from the checkpoint rather than starting over.
    Some trial completed at ``max_step``.

    Returns:
        How many trials were resumed (the caller asserts how many must have been).
    """
    resumed = 0
    for t in study.trials():
        runs = read_logs(out, t.id)
        starts = sorted(runs)
        assert starts[0] == 1, (t.id, starts)
        for a, b in itertools.pairwise(starts):
            assert b == a + len(runs[a]), (t.id, starts)
        resumed += len(starts) > 1
        if every_trial or len(starts) > 1:
            assert steps(t) == list(range(1, t.last_step + 1)), (t.id, steps(t))
            np.testing.assert_allclose([r.metrics[metric] for r in t.results],
                                       uninterrupted(t), rtol=rtol)
    max_step = study.spec.max_step
    assert any(t.status is TrialStatus.COMPLETED and t.last_step == max_step
               for t in study.trials())
    return resumed


class FakeContext:
    """Stands in for ``rung.TrialContext`` in a framework callback's unit tests: records every
    report as ``(step, metrics, whether a save function came with it)``; at step ``stop_at`` it
    raises ``StopTrial``, as the scheduler's decision to stop would; at step ``pause_at`` it
    calls ``save(save_dir)`` and raises ``PauseTrial``, as a pause would. ``checkpoint`` (the
    directory to resume from) is ``None`` unless a test sets it: a trial with
    ``start_step > 1`` is then one resumed without its saved model."""

    def __init__(self, start_step: int = 1, max_step: int = 3, stop_at: int | None = None,
                 trial_id: int = 0, pause_at: int | None = None,
                 save_dir: Path | None = None) -> None:
        self.start_step, self.max_step, self.stop_at = start_step, max_step, stop_at
        self.trial_id, self.pause_at, self.save_dir = trial_id, pause_at, save_dir
        self.checkpoint: str | None = None
        self.reports: list[tuple[int, dict[str, float], bool]] = []

    @property
    def steps(self) -> list[int]:
        """The reported steps, in order."""
        return [step for step, _, _ in self.reports]

    def report(self, step: int, save: Any = None, **metrics: float) -> None:
        self.reports.append((step, metrics, save is not None))
        if step == self.stop_at:
            raise StopTrial("below the cutoff")
        if step == self.pause_at:
            assert save is not None and self.save_dir is not None
            self.save_dir.mkdir(parents=True, exist_ok=True)
            save(str(self.save_dir))
            raise PauseTrial("promoted later")

    def resumed(self, trial_id: int | None = None) -> FakeContext:
        """The next run of this trial (``trial_id`` another: a fork of it) from the checkpoint it
        paused with: ``start_step`` after the pause, ``checkpoint`` its ``save_dir``."""
        assert self.pause_at is not None and self.save_dir is not None
        ctx = FakeContext(start_step=self.pause_at + 1, max_step=self.max_step,
                          trial_id=self.trial_id if trial_id is None else trial_id)
        ctx.checkpoint = str(self.save_dir)
        return ctx
