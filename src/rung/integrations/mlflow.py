"""``MLflowCallback``: a study as MLflow runs (a parent run per study, a nested run per trial).

MLflow is an optional extra (``pip install 'rung[mlflow]'``), imported when a session starts,
never by ``import rung``. Everything goes through ``mlflow.tracking.MlflowClient`` (no fluent
``mlflow.start_run`` state, so the user's own active run is left alone).

What is recorded, in the experiment named after the study (or ``experiment=``):

- the parent run (``run_name`` the study's name, tags ``rung.study`` and ``rung.role=study``):
  the study's objective(s) (``study_params``), searcher, scheduler, ``max_step``, seed and
  budget as params; at the session's end the best trial (tags ``rung.best_trial``,
  ``rung.best_params``; metric ``best_<metric>``, the first objective's), a multi-objective
  study's Pareto front (tag ``rung.pareto_front``, a JSON list of trial ids) and the count of
  trials by status (metrics ``n_<status>``);
- one run per trial (``trial-<id>``, tag ``mlflow.parentRunId`` so the UI nests it, tags
  ``rung.trial_id`` and, for a PBT fork, ``rung.parent_trial``): its params; every numeric
  metric at its step (``Metric.step`` is rung's step); every decision, in journal order, in the
  artifact ``rung/decisions.json`` (``{"decisions": [{"step", "action", "reason",
  "until_step"}, ...]}``) and the latest one in the tag ``rung.decision``; the status in the tag
  ``rung.status`` (and ``rung.error`` for a failed trial) and the run's status: ``FINISHED``
  for a completed or stopped trial, ``FAILED`` for a failed one, ``KILLED`` for one still paused,
  interrupted or running when the session ended.

A later session of the same study (``Study.load(...).run``, ``rung resume``) with the same
experiment finds the parent run and the trials' runs by their tags and continues them: a
resumed trial's metrics and decisions go on in its run (its earlier decisions are read from the
journal). A run an earlier session left ``RUNNING`` (it was killed, or lost its machine, before
ending it) is first brought up to the journal: the metrics it lacks (a turn journaled but never
sent), its decisions and its status (``KILLED`` for a trial still running then, until it is
resumed).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rung.core.records import TrialStatus
from rung.integrations._tracking import (
    DecisionEntry,
    TrackingCallback,
    first_line,
    not_in,
    objective_metrics,
    param_value,
    require,
    study_params,
)

if TYPE_CHECKING:
    from rung.study import Study

#: MLflow's limits (``mlflow.utils.validation``): values longer than these are cut.
_PARAM_MAX, _TAG_MAX = 6000, 8000
_BATCH_ALL, _BATCH_PARAMS, _BATCH_TAGS = 1000, 100, 100
_KEY_BAD = re.compile(r"[^\w\-. /]")  # MLflow keys: alphanumerics, _ - . space /
_RUN_STATUS = {"completed": "FINISHED", "stopped": "FINISHED", "failed": "FAILED"}
_DECISIONS = "rung/decisions.json"
log = logging.getLogger("rung.integrations.mlflow")


@dataclass
class _Batch:
    """What a run has not sent yet: metrics as (key, value, ms, step), params, tags."""

    metrics: list[tuple[str, float, int, int]] = field(default_factory=list)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


def _key(k: str) -> str:
    return _KEY_BAD.sub("_", k) or "_"


def _now_ms() -> int:
    return int(time.time() * 1000)


class MLflowCallback(TrackingCallback):
    """Log a study to MLflow: pass it as ``Study.run(..., callbacks=[MLflowCallback(...)])``.

    Args:
        tracking_uri: an MLflow tracking URI (``http://127.0.0.1:5000``, ``sqlite:///mlflow.db``,
            a directory: MLflow 3 refuses a directory unless ``MLFLOW_ALLOW_FILE_STORE=true``);
            ``None``: MLflow's own default (``MLFLOW_TRACKING_URI``, else ``sqlite:///mlflow.db``
            in the current directory with MLflow 3, ``./mlruns`` before).
        experiment: the experiment's name (created if absent); ``None``: the study's name.
        tags: extra tags set on the parent run and on every trial's run.

    Raises (from ``check`` and ``on_start``):
        ImportError: MLflow is not installed (the message names the ``mlflow`` extra).
        TrackerError: MLflow refuses ``tracking_uri``, its server does not answer (``check``
            gives up after one retry and 10 s, where MLflow's own requests retry for minutes),
            or the experiment is deleted.
    """

    def __init__(
        self,
        tracking_uri: str | None = None,
        experiment: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.tracking_uri = tracking_uri
        self.experiment = experiment
        self.tags = dict(tags or {})
        self._client: Any = None
        self._entities: Any = None
        self._experiment_id = ""
        self._parent = ""
        self._runs: dict[int, str] = {}  # trial id -> run id (also of earlier sessions)
        self._pending: dict[str, _Batch] = {}  # run id -> what is not yet sent
        self._decisions: dict[int, list[dict[str, Any]]] = {}

    @property
    def parent_run_id(self) -> str:
        """The study's parent run (``""`` before the first session started)."""
        return self._parent

    def run_id(self, trial_id: int) -> str | None:
        """The MLflow run of a trial (``None``: none was opened for it)."""
        return self._runs.get(trial_id)

    # --- TrackingCallback hooks -------------------------------------------------------------------
    def _target(self) -> str:
        where = (f"tracking_uri={self.tracking_uri!r}" if self.tracking_uri is not None
                 else "MLflow's default tracking URI")
        return where + (f", experiment={self.experiment!r}" if self.experiment else "")

    def _check(self, study_name: str) -> None:
        mlflow = require("mlflow", "mlflow", "MLflowCallback")
        name = self.experiment or study_name
        try:
            with _quick_requests():
                client = mlflow.tracking.MlflowClient(tracking_uri=self.tracking_uri)
                exp = client.get_experiment_by_name(name)
        except Exception as e:  # a URI MLflow refuses, a server that does not answer
            raise self._cannot_start(first_line(e), "tracking_uri") from e
        if exp is not None and exp.lifecycle_stage == "deleted":
            raise self._cannot_start(
                f"its experiment {name!r} is deleted (restore it: mlflow experiments restore "
                f"--experiment-id {exp.experiment_id}; or give experiment= another name)",
                "experiment")

    def _open_study(self, study: Study) -> None:
        mlflow = require("mlflow", "mlflow", "MLflowCallback")
        self._entities = require("mlflow.entities", "mlflow", "MLflowCallback")
        self._client = client = mlflow.tracking.MlflowClient(tracking_uri=self.tracking_uri)
        name = self.experiment or study.name
        exp = client.get_experiment_by_name(name)
        self._experiment_id = exp.experiment_id if exp is not None else client.create_experiment(
            name
        )
        self._runs, self._pending, self._decisions = {}, {}, {}
        parent, runs, left_open = self._earlier_runs(study)
        if parent is not None:
            client.update_run(parent, status="RUNNING")
            self._parent, self._runs = parent, runs
            for tid, missing in sorted(left_open.items()):
                self._batch(runs[tid]).params.update(missing)
                self._settle(tid)
            return
        tags = {**self.tags, "rung.study": study.name, "rung.role": "study"}
        self._parent = client.create_run(self._experiment_id, tags=tags,
                                         run_name=study.name).info.run_id
        self._batch(self._parent).params.update(_params(study_params(study)))
        self._flush(self._parent)

    def _open_trial(
        self, trial_id: int, params: Mapping[str, Any], parent_id: int | None
    ) -> None:
        run_id = self._runs.get(trial_id)
        if run_id is not None:  # a trial of an earlier session, resumed
            self._client.update_run(run_id, status="RUNNING")
            self._decisions[trial_id] = self._earlier_decisions(trial_id)
            return
        tags = {**self.tags, "mlflow.parentRunId": self._parent, "rung.study": self._study_name,
                "rung.role": "trial", "rung.trial_id": str(trial_id)}
        if parent_id is not None:
            tags["rung.parent_trial"] = str(parent_id)
        run_id = self._client.create_run(self._experiment_id, tags=tags,
                                         run_name=f"trial-{trial_id}").info.run_id
        self._runs[trial_id] = run_id
        self._decisions[trial_id] = []
        self._batch(run_id).params.update(_params(params))

    def _add_params(self, trial_id: int, params: Mapping[str, Any]) -> None:
        self._batch(self._runs[trial_id]).params.update(_params(params))

    def _log_metrics(self, trial_id: int, step: int, metrics: Mapping[str, float]) -> None:
        ts = _now_ms()
        self._batch(self._runs[trial_id]).metrics.extend(
            (k, v, ts, step) for k, v in metrics.items()
        )

    def _log_decision(self, trial_id: int, entry: DecisionEntry) -> None:
        self._decisions.setdefault(trial_id, []).append(entry.as_dict())
        self._batch(self._runs[trial_id]).tags["rung.decision"] = entry.text()

    def _close_trial(self, trial_id: int, status: str, error: str | None) -> None:
        run_id = self._runs[trial_id]
        tags = self._batch(run_id).tags
        tags["rung.status"] = status
        if error:
            tags["rung.error"] = error[-_TAG_MAX:]  # the end of a traceback says the most
        self._flush(run_id)
        self._client.log_dict(run_id, {"decisions": self._decisions.pop(trial_id, [])},
                              _DECISIONS)
        self._client.set_terminated(run_id, status=_RUN_STATUS.get(status, "KILLED"))

    def _end_turn(self) -> None:
        for run_id in list(self._pending):
            self._flush(run_id)

    def _close_study(self, study: Study, status: str) -> None:
        if self._client is None or not self._parent:
            return
        h = study.history
        batch = self._batch(self._parent)
        ts, step = _now_ms(), len(h)
        batch.metrics.extend((f"n_{s}", float(h.count(s)), ts, step) for s in TrialStatus)
        best = study.best_trial
        if best is not None:
            batch.tags["rung.best_trial"] = str(best.id)
            batch.tags["rung.best_params"] = json.dumps(dict(best.params), default=repr)
            if best.value is not None:
                batch.metrics.append((f"best_{study.spec.objective.metric}", float(best.value),
                                      ts, step))
        if len(objective_metrics(study)) > 1:  # the trade-offs, not only the first objective's
            batch.tags["rung.pareto_front"] = json.dumps([t.id for t in study.pareto_front()])
        self._flush(self._parent)
        self._client.set_terminated(self._parent, status=status.upper())

    # --- helpers ----------------------------------------------------------------------------------
    @property
    def _study_name(self) -> str:
        return self._study.name if self._study is not None else ""

    def _batch(self, run_id: str) -> _Batch:
        batch = self._pending.get(run_id)
        if batch is None:
            batch = self._pending[run_id] = _Batch()
        return batch

    def _flush(self, run_id: str) -> None:
        """Send what is pending for ``run_id`` in as few ``log_batch`` requests as MLflow's
        limits allow (1000 metrics, 100 params, 100 tags each)."""
        batch = self._pending.pop(run_id, None)
        if batch is None:
            return
        e = self._entities
        metrics = [e.Metric(_key(k), v, ts, step) for k, v, ts, step in batch.metrics]
        params = [e.Param(k, v) for k, v in batch.params.items()]
        tags = [e.RunTag(k, v[:_TAG_MAX]) for k, v in batch.tags.items()]
        while metrics or params or tags:
            p, t = params[:_BATCH_PARAMS], tags[:_BATCH_TAGS]
            m = metrics[:_BATCH_ALL - len(p) - len(t)]
            self._client.log_batch(run_id, metrics=m, params=p, tags=t)
            metrics, params, tags = metrics[len(m):], params[len(p):], tags[len(t):]

    def _earlier_runs(
        self, study: Study
    ) -> tuple[str | None, dict[int, str], dict[int, dict[str, str]]]:
        """The parent run, the trials' runs an earlier session of this study left in the
        experiment (``None``: there is none) and, for each trial whose run it left ``RUNNING``
        (a session that died without ending it: killed, or its machine lost), the params that
        run lacks (the session may have died between creating it and sending them). Runs
        tagged with the study's name belong to it only if every trial run's params are those
        the journal has for that trial (all of them, but in a run left ``RUNNING``): a new
        study that reuses an old one's name (and experiment) gets runs of its own."""
        parent = None
        runs: dict[int, str] = {}
        left_open: dict[int, dict[str, str]] = {}
        h = study.history
        for run in self._search(f"tags.`rung.study` = '{_quote(study.name)}'"):
            tags = run.data.tags
            if tags.get("rung.role") == "study":
                parent = run.info.run_id
            elif tags.get("rung.role") == "trial" and "rung.trial_id" in tags:
                tid = int(tags["rung.trial_id"])
                logged = run.data.params
                want = _params(h.params(tid)) if tid in h else None
                open_ = run.info.status == "RUNNING"
                if want is None or (logged != want if not open_ else
                                    any(want.get(k) != v for k, v in logged.items())):
                    log.warning("MLflow experiment %s holds runs of another study named %r: "
                                "this one gets new runs", self._experiment_id, study.name)
                    return None, {}, {}
                runs[tid] = run.info.run_id
                if open_:
                    left_open[tid] = {k: v for k, v in want.items() if k not in logged}
        return parent, runs, left_open

    def _search(self, filter_string: str) -> list[Any]:
        runs: list[Any] = []
        token = None
        while True:
            page = self._client.search_runs([self._experiment_id], filter_string,
                                            max_results=1000, page_token=token)
            runs.extend(page)
            token = page.token
            if not token:
                return runs

    def _earlier_decisions(self, trial_id: int) -> list[dict[str, Any]]:
        """The decisions earlier sessions made on a trial, from the journal as this session
        found it (``SessionJournal``: none of this session's, which ``on_turn`` logs) (the
        run's ``rung/decisions.json`` is written when a session closes the run: a session that
        died wrote none)."""
        assert self._before is not None
        return [e.as_dict() for e in self._before.decisions().get(trial_id, [])]

    def _settle(self, trial_id: int) -> None:
        """Bring the run of a trial that an earlier session left open (it died) up to the
        journal, and close it as that session's end would have: the metrics it reported that
        the run lacks (the dead session's last turn, journaled but never sent), its decisions,
        its status (a trial still running then is ``KILLED`` until it is resumed); with the
        params it lacks, which the caller has put in its batch."""
        run_id = self._runs[trial_id]
        want: dict[str, list[tuple[int, float]]] = {}
        assert self._before is not None
        for step, k, v in self._before.points().get(trial_id, []):
            want.setdefault(_key(k), []).append((step, v))
        ts = _now_ms()
        batch = self._batch(run_id)
        for key, points in want.items():
            have = Counter((m.step, _same(m.value))
                           for m in self._client.get_metric_history(run_id, key))
            for step, v in not_in(points, have, lambda p: (p[0], _same(p[1]))):
                batch.metrics.append((key, v, ts, step))
        self._decisions[trial_id] = self._earlier_decisions(trial_id)
        h = self._study.history if self._study is not None else None
        assert h is not None
        self._close_trial(trial_id, h.status(trial_id).value, h.error(trial_id))


def _same(v: float) -> float | str:
    """A metric value as compared with what MLflow stored: NaN equals NaN, and an infinity
    the largest float MLflow's database stores in its place."""
    if math.isnan(v):
        return "nan"
    if abs(v) >= sys.float_info.max:
        return "inf" if v > 0 else "-inf"
    return v


#: what ``check`` allows MLflow's HTTP requests (MLflow's defaults: 7 retries with a growing
#: backoff, 120 s each, several minutes before a server that is down is reported)
_CHECK_LIMITS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": 1, "MLFLOW_HTTP_REQUEST_TIMEOUT": 10}


@contextlib.contextmanager
def _quick_requests() -> Iterator[None]:
    """MLflow's request limits lowered to ``_CHECK_LIMITS`` (a user's lower values kept) for
    the duration (MLflow reads them from the environment at every request)."""
    saved = {k: os.environ.get(k) for k in _CHECK_LIMITS}
    for k, cap in _CHECK_LIMITS.items():
        v = saved[k]
        if v is None or not v.strip().isdigit() or int(v) > cap:
            os.environ[k] = str(cap)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _params(params: Mapping[str, Any]) -> dict[str, str]:
    """Params as MLflow stores them: valid keys, text values within its length limit."""
    return {_key(str(k)): str(param_value(v))[:_PARAM_MAX] for k, v in params.items()}


def _quote(s: str) -> str:
    return s.replace("\\", "\\\\").replace("'", "\\'")


__all__ = ["MLflowCallback"]
