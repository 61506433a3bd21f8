"""Syne Tune 0.16's simulator back end on a ``Problem`` (random search, ASHA, its asynchronous
Hyperband, BOHB, the median stopping rule)."""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import sys
import tempfile
from collections.abc import Mapping
from typing import Any

import numpy as np

import rung
from allocation.regret import Obs
from allocation.tasks import ETA, Problem


def _syne_imports() -> Any:
    import types

    try:
        import huggingface_hub  # noqa: F401
    except ImportError:  # only blackbox_repository's download code imports it
        sys.modules["huggingface_hub"] = types.ModuleType("huggingface_hub")
        sys.modules["huggingface_hub"].snapshot_download = None  # type: ignore[attr-defined]
    import syne_tune

    return syne_tune


def _syne_space(space: rung.SearchSpace) -> dict[str, Any]:
    from syne_tune import config_space as cs

    out: dict[str, Any] = {}
    for name, q in space.params.items():
        if isinstance(q, rung.Float):
            out[name] = (cs.loguniform if q.log else cs.uniform)(q.low, q.high)
        elif isinstance(q, rung.Int):
            out[name] = (cs.lograndint if q.log else cs.randint)(q.low, q.high)
        elif isinstance(q, rung.Categorical):
            out[name] = cs.choice(list(q.choices))
        else:
            raise ValueError(f"{name}: no Syne Tune domain for {q!r}")
    return out


def run_syne(method: str, p: Problem, workers: int, seed: int) -> dict[str, Any]:
    _syne_imports()
    from syne_tune import StoppingCriterion, Tuner
    from syne_tune.backend.simulator_backend.simulator_backend import SimulatorConfig
    from syne_tune.backend.simulator_backend.simulator_callback import SimulatorCallback
    from syne_tune.backend.simulator_backend.time_keeper import SimulatedTimeKeeper
    from syne_tune.blackbox_repository.blackbox import Blackbox
    from syne_tune.blackbox_repository.simulated_tabular_backend import UserBlackboxBackend
    from syne_tune.config_space import randint
    from syne_tune.constants import ST_TUNER_TIME
    from syne_tune.optimizer import baselines as bl
    from syne_tune.optimizer.schedulers.median_stopping_rule import MedianStoppingRule as STMSR
    from syne_tune.tuner_callback import TunerCallback

    logging.getLogger("syne_tune").setLevel(logging.ERROR)
    space = _syne_space(p.space)
    steps = np.arange(1, p.max_step + 1)
    # Syne Tune's back end makes every step last at least 0.01 time units (it forces elapsed
    # times apart by 0.01): time is scaled so that a mean step lasts 10,000 units
    scale = 1e4 * p.max_step / p.full_cost

    class Table(Blackbox):  # the problem's curve of a configuration, every step at once
        def __init__(self) -> None:
            super().__init__(space, {"step": randint(1, p.max_step)}, ["score", "elapsed"])
            self.memo: dict[Any, np.ndarray] = {}

        def _objective_function(self, configuration: Any, fidelity: Any = None,
                                seed: Any = None) -> np.ndarray:
            params = {k: configuration[k] for k in space}
            key = p.key(params)
            arr = self.memo.get(key)
            if arr is None:
                res = [p.step(params, int(s)) for s in steps]
                arr = np.array([[v for v, _ in res], scale * np.cumsum([c for _, c in res])]).T
                self.memo[key] = arr
            if fidelity is not None:
                return dict(zip(self.objectives_names, arr[int(fidelity["step"]) - 1],
                                strict=True))
            return arr

        @property
        def fidelity_values(self) -> np.ndarray:
            return steps

    obs: list[Obs] = []
    params: dict[int, Mapping[str, Any]] = {}

    class Recorder(TunerCallback):
        def on_trial_result(self, trial: Any, status: str, result: dict[str, Any],
                            decision: str) -> None:
            params[trial.trial_id] = {k: trial.config[k] for k in space}
            obs.append((float(result[ST_TUNER_TIME]) / scale, trial.trial_id, int(result["step"]),
                        float(result["score"])))

    class VirtualClock(SimulatedTimeKeeper):  # the tuner's real computing time is not charged
        def real_time_since_last_recent_exit(self) -> float:
            return 0.0

    class EventDriven(SimulatorCallback):  # a sleep advances to the next event, not by 5 s
        def on_tuning_sleep(self, sleep_time: float) -> None:
            heap = backend._simulator_state.event_heap
            self._time_keeper.advance_to(heap[0][0] if heap else self._time_keeper.time())

    common = {"config_space": space, "do_minimize": True, "random_seed": seed}
    mf = {**common, "metric": "score", "time_attr": "step", "max_t": p.max_step,
          "grace_period": 1, "reduction_factor": ETA}
    n_rungs = round(math.log(p.max_step) / math.log(ETA)) + 1
    if method == "st-random":
        sched: Any = bl.RandomSearch(**common, metrics=["score"])
    elif method == "st-asha":
        sched = bl.ASHA(**mf)
    elif method == "st-hyperband":
        sched = bl.ASHA(**mf, brackets=n_rungs)
    elif method == "st-bohb":
        sched = bl.BOHB(**mf)
    elif method == "st-median":
        sched = STMSR(bl.RandomSearch(**common, metrics=["score"]), time_attr="step",
                      metric="score", do_minimize=True, random_seed=seed)
    else:
        raise ValueError(method)
    horizon = p.budget / workers
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SYNETUNE_FOLDER"] = tmp
        backend = UserBlackboxBackend(
            blackbox=Table(), elapsed_time_attr="elapsed",
            simulator_config=SimulatorConfig(0.0, 0.0, 0.0, 0.0, 0.0))
        backend._time_keeper = VirtualClock()
        tuner = Tuner(
            trial_backend=backend, scheduler=sched,
            stop_criterion=StoppingCriterion(max_wallclock_time=horizon * scale),
            n_workers=workers,
            sleep_time=0, callbacks=[EventDriven(), Recorder()], save_tuner=False,
            print_update_interval=1e12, results_update_interval=1e12,
            tuner_name=f"alloc-{os.getpid()}", suffix_tuner_name=True,
        )
        with contextlib.redirect_stdout(io.StringIO()):  # its tables and summary
            tuner.run()
    return {"obs": obs, "params": params}  # the back end does not expose busy time

