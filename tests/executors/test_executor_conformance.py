"""The executor conformance suite on the local and simulated executors (Ray: test_ray.py), and
the proof that both give the same decisions on the same scripted objective."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import rung
from rung import ASHA, Budget, Float, Objective, Study
from rung.core.events import Reply
from rung.executors.local import LocalExecutor
from rung.executors.simulated import SimulatedExecutor
from rung.storage import MemoryJournal
from rung.testing import ScriptedBenchmark, check_executor, scripted_objective


def test_local_executor_conforms(tmp_path: Path) -> None:
    check_executor(lambda: LocalExecutor(n_workers=1, start_method="fork"), tmp_path)


def test_local_executor_conforms_with_spawned_workers(tmp_path: Path) -> None:
    check_executor(lambda: LocalExecutor(n_workers=2), tmp_path)


def test_simulated_executor_conforms(tmp_path: Path) -> None:
    check_executor(lambda: SimulatedExecutor(ScriptedBenchmark(), n_workers=1), tmp_path,
                   worker_death=False, real_checkpoints=False)


def _study(name: str, scheduler: Any) -> Study:
    return Study.create(
        name, {"x": Float(0.0, 1.0)}, Objective("loss", "min"), scheduler=scheduler,
        max_step=9, budget=Budget(n_trials=12), seed=5, storage=MemoryJournal(),
    )


def _outcome(study: Study) -> tuple[list[Any], list[Any]]:
    trials = [(t.id, dict(t.params), t.status, [(r.step, r.metrics) for r in t.results])
              for t in study.trials()]
    replies = [(r.trial_id, r.step, r.decision.action, r.decision.until_step, r.decision.reason)
               for r in study.journal.read(study.name) if isinstance(r, Reply)]
    return trials, replies


def test_simulated_and_local_executors_decide_alike(tmp_path: Path) -> None:
    for scheduler, decides in ((ASHA(reduction_factor=3), True), (rung.FIFOScheduler(), False)):
        sim = _study("sim", scheduler).simulate(ScriptedBenchmark(), n_workers=1)
        local = _study("local", scheduler)
        local.run(scripted_objective, executor=LocalExecutor(n_workers=1, start_method="fork"))
        sim_trials, sim_replies = _outcome(sim)
        local_trials, local_replies = _outcome(local)
        assert local_trials == sim_trials
        assert local_replies == sim_replies
        assert len(sim_trials) == 12
        assert bool(sim_replies) is decides  # with ASHA the comparison covers decisions
        assert {t[2] for t in sim_trials} == ({rung.TrialStatus.COMPLETED, rung.TrialStatus.STOPPED}
                                              if decides else {rung.TrialStatus.COMPLETED})
