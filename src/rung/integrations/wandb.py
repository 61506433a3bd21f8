"""``WandbCallback``: a study as Weights & Biases runs, grouped under the study's name.

wandb is an optional extra (``pip install 'rung[wandb]'``), imported when a session starts,
never by ``import rung``. It works offline (``mode="offline"`` or ``WANDB_MODE=offline``: the
runs are written under ``<dir>/wandb/offline-run-*`` and uploaded later by ``wandb sync``).

W&B has no nested runs; the study's runs share the group ``<study>`` (the UI groups them):

- the study run (``name`` and ``job_type`` ``"study"``): the study's objective, searcher,
  scheduler, ``max_step``, seed and budget as its config; after each trial whose status became
  final, ``best_<metric>`` (the best value so far) against ``rung/n_final`` (the number of final
  trials); in its summary at the end: ``rung/status`` (``finished``, ``failed``, ``killed``),
  ``rung/best_trial``, ``rung/best_params``, ``best_<metric>`` and ``rung/n_<status>``;
- one run per trial and session (``name`` ``trial-<id>``, ``job_type`` ``"trial"``): its params
  as the config (with ``rung.trial_id`` and, for a PBT fork, ``rung.parent_trial``); every
  numeric metric against ``rung/step`` (rung's step, the x axis of every chart: a trial resumed
  below a step it had reported would break W&B's own monotonic ``_step``); every decision as a
  history row ``{"rung/step", "rung/action", "rung/reason", "rung/until_step"}`` at its step and,
  in the summary, the list ``rung/decisions`` and the final ``rung/status`` (and
  ``rung/error``). A failed trial's run finishes with exit code 1, any other with 0 (W&B's
  "finished"; the summary's ``rung/status`` says stopped, paused...).

A later session of the same study starts new runs for the trials it resumes (same name and
group); W&B's offline runs cannot be continued reliably across processes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rung.core.records import TrialStatus
from rung.integrations._tracking import (
    DecisionEntry,
    TrackingCallback,
    dir_problem,
    param_value,
    require,
    study_params,
)

if TYPE_CHECKING:
    from rung.study import Study

STEP = "rung/step"
_MODES = ("online", "offline", "disabled")


class WandbCallback(TrackingCallback):
    """Log a study to W&B: ``Study.run(..., callbacks=[WandbCallback(project="mlp")])``.

    Args:
        project: the W&B project; ``None``: the study's name.
        entity: the W&B entity (user or team); ``None``: W&B's default.
        dir: where W&B writes its local files (``<dir>/wandb/``); ``None``: W&B's default (the
            current directory, or ``WANDB_DIR``).
        mode: ``"online"``, ``"offline"`` or ``"disabled"``; ``None``: W&B's default
            (``WANDB_MODE``, else online).
        tags: tags set on every run of the study.

    Raises (from ``check`` and ``on_start``):
        ImportError: wandb is not installed (the message names the ``wandb`` extra).
        TrackerError: ``mode`` is not one of W&B's, or ``<dir>/wandb`` cannot be created or
            written; at ``on_start`` also whatever stops ``wandb.init`` (no login, say).
    """

    def __init__(
        self,
        project: str | None = None,
        entity: str | None = None,
        dir: str | os.PathLike[str] | None = None,
        mode: str | None = None,
        tags: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self.project = project
        self.entity = entity
        self.dir = dir
        self.mode = mode
        self.tags = tuple(tags)
        self._wandb: Any = None
        self._study_run: Any = None
        self._runs: dict[int, Any] = {}
        self._decisions: dict[int, list[dict[str, Any]]] = {}
        self._n_final = 0

    # --- TrackingCallback hooks ------------------------------------------------------------------
    def _target(self) -> str:
        given = {"project": self.project, "dir": None if self.dir is None else os.fspath(self.dir),
                 "mode": self.mode}
        return ", ".join(f"{k}={v!r}" for k, v in given.items() if v is not None)

    def _check(self, study_name: str) -> None:
        require("wandb", "wandb", "WandbCallback")
        if self.mode not in (None, *_MODES):
            raise self._cannot_start(f"mode must be one of {', '.join(_MODES)}, got "
                                     f"{self.mode!r}")
        if self.dir is not None:
            problem = dir_problem(Path(self.dir) / "wandb")
            if problem is not None:
                raise self._cannot_start(problem)

    def _open_study(self, study: Study) -> None:
        self._wandb = require("wandb", "wandb", "WandbCallback")
        self._runs, self._decisions = {}, {}
        self._n_final = sum(study.history.count(s) for s in TrialStatus if s.final)
        if self.dir is not None:
            os.makedirs(self.dir, exist_ok=True)
        run = self._study_run = self._init(study.name, "study", study.name,
                                           dict(study_params(study)))
        run.define_metric("rung/n_final")
        run.define_metric(f"best_{study.spec.objective.metric}", step_metric="rung/n_final")

    def _open_trial(
        self, trial_id: int, params: Mapping[str, Any], parent_id: int | None
    ) -> None:
        assert self._study is not None
        config: dict[str, Any] = {k: param_value(v) for k, v in params.items()}
        config["rung.trial_id"] = trial_id
        if parent_id is not None:
            config["rung.parent_trial"] = parent_id
        run = self._init(self._study.name, "trial", f"trial-{trial_id}", config)
        run.define_metric(STEP)
        run.define_metric("*", step_metric=STEP)
        self._runs[trial_id] = run
        self._decisions[trial_id] = []

    def _add_params(self, trial_id: int, params: Mapping[str, Any]) -> None:
        self._runs[trial_id].config.update({k: param_value(v) for k, v in params.items()})

    def _log_metrics(self, trial_id: int, step: int, metrics: Mapping[str, float]) -> None:
        self._runs[trial_id].log({STEP: step, **metrics})

    def _log_decision(self, trial_id: int, entry: DecisionEntry) -> None:
        self._decisions[trial_id].append(entry.as_dict())
        self._runs[trial_id].log({STEP: entry.step, "rung/action": entry.action,
                                  "rung/reason": entry.reason,
                                  "rung/until_step": entry.until_step})

    def _close_trial(self, trial_id: int, status: str, error: str | None) -> None:
        run = self._runs.pop(trial_id)
        run.summary["rung/status"] = status
        run.summary["rung/decisions"] = self._decisions.pop(trial_id, [])
        if error:
            run.summary["rung/error"] = error
        run.finish(exit_code=1 if status == "failed" else 0)
        if TrialStatus(status).final and self._study is not None:
            self._n_final += 1
            best = self._study.best_trial
            if best is not None and best.value is not None:
                metric = self._study.spec.objective.metric
                self._study_run.log({"rung/n_final": self._n_final,
                                     f"best_{metric}": best.value})

    def _close_study(self, study: Study, status: str) -> None:
        run = self._study_run
        if run is None:
            return
        self._study_run = None
        h = study.history
        summary = run.summary
        summary["rung/status"] = status
        for s in TrialStatus:
            summary[f"rung/n_{s.value}"] = h.count(s)
        best = study.best_trial
        if best is not None:
            summary["rung/best_trial"] = best.id
            summary["rung/best_params"] = {k: param_value(v) for k, v in best.params.items()}
            if best.value is not None:
                summary[f"best_{study.spec.objective.metric}"] = best.value
        run.finish(exit_code=0 if status == "finished" else 1)

    # --- helpers ---------------------------------------------------------------------------------
    def _init(self, study: str, job_type: str, name: str, config: dict[str, Any]) -> Any:
        wandb = self._wandb
        # no console capture (many runs are open at once in one process) and no system
        # metrics (one sampler per open run; the driver's own load is not the trials')
        settings = wandb.Settings(console="off", silent=True, disable_git=True,
                                  save_code=False, x_disable_stats=True)
        return wandb.init(
            project=self.project or study, entity=self.entity, dir=self.dir, mode=self.mode,
            group=study, job_type=job_type, name=name, config=config, tags=list(self.tags),
            reinit="create_new", settings=settings,
        )


__all__ = ["WandbCallback"]
