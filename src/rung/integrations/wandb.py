"""``WandbCallback``: a study as Weights & Biases runs, grouped under the study's name.

wandb is an optional extra (``pip install 'rung[wandb]'``), imported when a session starts,
never by ``import rung``. It works offline (``mode="offline"`` or ``WANDB_MODE=offline``: the
runs are written under ``<dir>/wandb/offline-run-*`` and uploaded later by ``wandb sync``).
Online (the mode given, ``WANDB_MODE``, or W&B's default) it needs an API key: ``check``
refuses to start without one (``rung.integrations._wandb_auth``), before a study is created.

W&B has no nested runs; the study's runs share the group ``<study>`` (the UI groups them):

- the study run (``name`` and ``job_type`` ``"study"``): the study's objective, searcher,
  scheduler, ``max_step``, seed and budget as its config; after each trial whose status became
  final, ``best_<metric>`` (the best value so far) against ``rung/n_final`` (the number of final
  trials); in its summary at the end: ``rung/status`` (``finished``, ``failed``, ``killed``),
  ``rung/best_trial``, ``rung/best_params``, ``best_<metric>`` (the first objective's),
  ``rung/n_<status>`` and, in a multi-objective study, ``rung/pareto_front`` (trial ids);
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

A session that dies (SIGKILL, a lost machine) leaves its runs without what it journaled last,
and wandb's service dies with it: its offline runs' files may hold nothing at all. Each session
marks the study as open in W&B's directory (``<dir>/wandb/rung-<study>-<hash>.json``) and as
closed when it ends; a session that finds it still open reads back the earlier runs of the
study there (the runs' own ``run-<id>.wandb`` files) and logs, for each trial, the metrics,
decisions and final status they lack, once, in a new run of the trial (``trial-<id>``, same
group, summary ``rung/caught_up``). A run whose params are not the journal's is another
study's, and is not counted. The local files are what is compared: online, a point the dead
service had uploaded but not written locally is logged again.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import math
import os
import re
import struct
import zlib
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rung.core.records import TrialStatus
from rung.integrations._tracking import (
    DecisionEntry,
    TrackingCallback,
    dir_problem,
    first_line,
    not_in,
    objective_metrics,
    param_value,
    require,
    study_params,
)
from rung.integrations._wandb_auth import missing_api_key

if TYPE_CHECKING:
    from rung.study import Study

STEP = "rung/step"
log = logging.getLogger("rung.integrations.wandb")
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
        TrackerError: ``mode`` is not one of W&B's, ``<dir>/wandb`` cannot be created or
            written, or the mode is online (given, or W&B's default) and no API key is
            configured (``wandb login``, ``WANDB_API_KEY``; found without the network, the
            key is not verified); at ``on_start`` also whatever else stops ``wandb.init``.
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
        self._marker: Path | None = None  # the study's open / closed mark in W&B's directory

    # --- TrackingCallback hooks ------------------------------------------------------------------
    def _target(self) -> str:
        given = {"project": self.project, "dir": None if self.dir is None else os.fspath(self.dir),
                 "mode": self.mode}
        return ", ".join(f"{k}={v!r}" for k, v in given.items() if v is not None)

    def _check(self, study_name: str) -> None:
        require("wandb", "wandb", "WandbCallback")
        if self.mode not in (None, *_MODES):
            raise self._cannot_start(f"mode must be one of {', '.join(_MODES)}, got "
                                     f"{self.mode!r}", "mode")
        if self.dir is not None:
            problem = dir_problem(Path(self.dir) / "wandb")
            if problem is not None:
                raise self._cannot_start(problem, "dir")
        problem = missing_api_key(self.mode)
        if problem is not None:
            raise self._cannot_start(problem, "mode")

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
        self._marker = None
        if run.settings.mode != "disabled":
            root = Path(run.settings.wandb_dir)
            self._marker = root / _marker_name(self.project or study.name, study.name)
            died = _marked_open(self._marker)
            _mark(self._marker, study.name, self.project or study.name, "open")
            if died and len(study.history):
                self._catch_up(study, root, Path(run.settings.sync_dir))

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
        if len(objective_metrics(study)) > 1:
            summary["rung/pareto_front"] = [t.id for t in study.pareto_front()]
        run.finish(exit_code=0 if status == "finished" else 1)
        if self._marker is not None:
            _mark(self._marker, study.name, self.project or study.name, "closed")

    # --- catching up with the journal -------------------------------------------------------------
    def _catch_up(self, study: Study, root: Path, own: Path) -> None:
        """Log what the study's earlier runs under ``root`` lack of the journal (see the module
        docstring); ``own``: this session's study run, not read."""
        h = study.history
        project = self.project or study.name
        try:
            have = _earlier_points(root, own, project, study.name,
                                   {t: _config(h.params(t), h.parent_id(t)) for t in h})
        except Exception as err:  # wandb's file format is its own: never fail a session on it
            log.warning("W&B: cannot read the earlier runs of study %s under %s (%s): what a "
                        "session that died did not log is not caught up", study.name, root,
                        first_line(err))
            return
        assert self._before is not None  # the journal as this session found it
        points, decisions = self._before.points(), self._before.decisions()
        for tid in h:
            metrics, texts, statuses = have.get(tid, (Counter(), Counter(), set()))
            rows = not_in(points.get(tid, []), metrics, lambda p: (p[0], p[1], _same(p[2])))
            entries = not_in(decisions.get(tid, []), texts, lambda e: e.text())
            status = h.status(tid)
            close = status.final and status.value not in statuses
            if not (rows or entries or close):
                continue
            run = self._init(study.name, "trial", f"trial-{tid}",
                             _config(h.params(tid), h.parent_id(tid)) | {"rung.trial_id": tid})
            run.define_metric(STEP)
            run.define_metric("*", step_metric=STEP)
            for step, group in itertools.groupby(rows, key=lambda p: p[0]):
                run.log({STEP: step, **{k: v for _, k, v in group}})
            for e in entries:
                run.log({STEP: e.step, "rung/action": e.action, "rung/reason": e.reason,
                         "rung/until_step": e.until_step})
            run.summary["rung/status"] = status.value
            run.summary["rung/decisions"] = [e.as_dict() for e in decisions.get(tid, [])]
            error = h.error(tid)
            if error:
                run.summary["rung/error"] = error
            run.summary["rung/caught_up"] = True
            run.finish(exit_code=1 if status.value == "failed" else 0)

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


def _config(params: Mapping[str, Any], parent_id: int | None) -> dict[str, Any]:
    """A trial run's config as ``_open_trial`` writes it, without ``rung.trial_id``."""
    config: dict[str, Any] = {k: param_value(v) for k, v in params.items()}
    if parent_id is not None:
        config["rung.parent_trial"] = parent_id
    return config


def _same(v: float) -> float | str:
    """A metric value as compared with what W&B stored (JSON): NaN equal to NaN."""
    return "nan" if math.isnan(v) else v


def _marker_name(project: str, study: str) -> str:
    """The marker's file name: readable, and one per (project, study)."""
    digest = hashlib.sha1(f"{project}\0{study}".encode()).hexdigest()[:8]
    return f"rung-{re.sub(r'[^A-Za-z0-9_.-]+', '_', study)[:40]}-{digest}.json"


def _marked_open(marker: Path) -> bool:
    """A session of the study left the marker open: it died before its end."""
    try:
        return bool(json.loads(marker.read_text()).get("state") == "open")
    except (OSError, ValueError, AttributeError):
        return False


def _mark(marker: Path, study: str, project: str, state: str) -> None:
    tmp = marker.with_name(marker.name + ".tmp")
    tmp.write_text(json.dumps({"study": study, "project": project, "state": state}))
    os.replace(tmp, marker)


_EarlierTrial = tuple[Counter[tuple[int, str, Any]], Counter[str], set[str]]


def _earlier_points(root: Path, own: Path, project: str, group: str,
                    configs: Mapping[int, Mapping[str, Any]]) -> dict[int, _EarlierTrial]:
    """What the study's trial runs under ``root`` hold, by trial: their metric points
    ``(step, name, value)``, their decisions' texts, their final statuses. A run of another
    project or group, without a run record (its session died before wandb wrote one), or whose
    config is not the trial's (``configs``) is left out; ``own`` is not read."""
    out: dict[int, _EarlierTrial] = {}
    for path in sorted(root.glob("*run-*/run-*.wandb")):
        if path.parent == own:
            continue
        run = _read_run(path)
        if run is None or (run["project"], run["group"], run["job_type"]) != (
                project, group, "trial"):
            continue
        config = {k: v for k, v in run["config"].items() if not k.startswith("_")}  # _wandb
        tid = config.pop("rung.trial_id", None)
        if not isinstance(tid, int) or config != configs.get(tid):
            continue
        metrics, texts, statuses = out.setdefault(tid, (Counter(), Counter(), set()))
        for row in run["history"]:
            step = row.get(STEP)
            if not isinstance(step, int):
                continue
            if "rung/action" in row:
                texts[DecisionEntry(step, row["rung/action"], row.get("rung/reason") or "",
                                    row.get("rung/until_step")).text()] += 1
            for k, v in row.items():
                if not k.startswith(("rung/", "_")) and isinstance(v, int | float):
                    metrics[(step, k, _same(float(v)))] += 1
        status = run["summary"].get("rung/status")
        if isinstance(status, str):
            statuses.add(status)
    return out


_BLOCK = 32 * 1024


def _read_run(path: Path) -> dict[str, Any] | None:
    """A run's project, group, job type, config, history rows and summary, from its
    ``run-<id>.wandb`` file (wandb's own log: a 7-byte header, then 32 KiB blocks of chunks, each
    with a 7-byte header: CRC-32, length, type full / first / middle / last, holding its
    protobuf ``Record``s); ``None`` when it holds no run record. A file cut short ends at its
    last whole record."""
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    if data[:4] != b":W&B":
        raise ValueError(f"{path} is not a wandb run file")
    run: dict[str, Any] | None = None
    pos, parts = 7, b""
    while pos + 7 <= len(data):
        left = _BLOCK - pos % _BLOCK
        if left < 7:  # a block's tail too short for a chunk header is padding
            pos += left
            continue
        crc, n, kind = struct.unpack_from("<IHB", data, pos)
        chunk = data[pos + 7:pos + 7 + n]
        if (crc, n, kind) == (0, 0, 0):
            pos += 7
            continue
        if len(chunk) < n or zlib.crc32(chunk, zlib.crc32(bytes([kind]))) != crc:
            break  # cut short
        pos += 7 + n
        if kind in (2, 3):  # first, middle
            parts = chunk if kind == 2 else parts + chunk
            continue
        whole, parts = (parts + chunk, b"") if kind == 4 else (chunk, b"")
        r = wandb_internal_pb2.Record()  # type: ignore[attr-defined]
        r.ParseFromString(whole)
        which = r.WhichOneof("record_type")
        if which == "run":
            run = {"project": r.run.project, "group": r.run.run_group,
                   "job_type": r.run.job_type, "config": {}, "history": [], "summary": {}}
            _items(run["config"], r.run.config.update)
        elif run is None:
            continue
        elif which == "config":
            _items(run["config"], r.config.update)
        elif which == "history":
            row: dict[str, Any] = {}
            _items(row, r.history.item)
            run["history"].append(row)
        elif which == "summary":
            _items(run["summary"], r.summary.update)
    return run


def _items(into: dict[str, Any], items: Any) -> None:
    for item in items:
        key = "/".join(item.nested_key) if item.nested_key else item.key
        into[key] = json.loads(item.value_json)


__all__ = ["WandbCallback"]
