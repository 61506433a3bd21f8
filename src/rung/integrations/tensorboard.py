"""``TensorBoardCallback``: a study as TensorBoard runs (event files, written by tensorboardX).

tensorboardX is an optional extra (``pip install 'rung[tensorboard]'``, which also installs
``tensorboard`` to view the files), imported when a session starts, never by ``import rung``.
It needs neither TensorFlow nor PyTorch.

Layout under ``logdir`` (``tensorboard --logdir <logdir>`` shows one run per directory):

- ``<study>/study/``: the parent run. Text ``rung/study`` (objective, searcher, scheduler,
  ``max_step``, seed, budget) at step 0; after each trial whose status became final, the
  scalar ``best_<metric>`` (the best value so far) at step = the number of final trials; at the
  session's end the text ``rung/status`` (``finished``, ``failed`` or ``killed``, with the best
  trial, and a multi-objective study's Pareto front).
- ``<study>/trial-<id>/``: one run per trial (``<id>`` zero-padded to 4 digits so runs sort).
  Its params as an HParams session (the HParams dashboard lists trials with their params and
  objective metrics, every objective's in a multi-objective study) and as the text
  ``rung/params``; every numeric metric as a scalar at its step (``global_step`` is rung's
  step); every decision as the text ``rung/decisions`` at its step (``step 3: stop (below
  rung-1 cutoff 0.52)``; a PBT fork records its parent there); the final status (and a
  failed trial's error) as the text ``rung/status`` at the trial's last step.

``<study>`` is the study's name when it is one path component, else that name made one
(``team/mlp`` -> ``team_mlp-<8 hex digits>``): nothing is written outside ``logdir``.

A later session of the same study writes new event files into the same directories, so a
resumed trial's curve continues in its run (TensorBoard reads every event file of a run). It
first brings every trial's run up to the journal: a session that died (killed, its machine
lost) leaves runs without what it journaled last (a turn journaled but never handed to the
callback, and what tensorboardX had not flushed yet); the later session reads each trial's
event files back and writes, in one new event file, the metrics, decisions and final status
they lack (each point once: what a run holds is not written again).
A trial resumed *below* a step it had already reported (restarted without a checkpoint) writes
that step again; TensorBoard's reader then drops the later steps of the first attempt unless it
is told not to purge "orphaned" data (``EventAccumulator(..., purge_orphaned_data=False)``).
"""

from __future__ import annotations

import itertools
import math
import os
import struct
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rung.core.records import TrialStatus
from rung.integrations._tracking import (
    DecisionEntry,
    TrackingCallback,
    dir_problem,
    not_in,
    objective_metrics,
    param_value,
    require,
    study_params,
)

if TYPE_CHECKING:
    from rung.study import Study

_FILE_SEQ = itertools.count()
_DECISIONS, _STATUS = "rung/decisions", "rung/status"
#: the tags tensorboardX's ``add_text`` writes them under
_TEXT_TAGS = (f"{_DECISIONS}/text_summary", f"{_STATUS}/text_summary")


def _events(run_dir: Path) -> Iterator[Any]:
    """Every ``Event`` of a run's event files, in the order TensorBoard reads them (by file
    name); a file cut short (its writer was killed mid-record) ends at its last whole record.
    The files are TFRecords: a little-endian 8-byte length, a 4-byte CRC of it, the record,
    a 4-byte CRC of it (CRCs not checked: a record is used only if it parses)."""
    from google.protobuf.message import DecodeError
    from tensorboardX.proto import event_pb2

    for path in sorted(run_dir.glob("events.out.tfevents.*")):
        data = path.read_bytes()
        pos = 0
        while pos + 12 <= len(data):
            (n,) = struct.unpack_from("<Q", data, pos)
            end = pos + 12 + n + 4
            if end > len(data):
                break
            ev = event_pb2.Event()
            try:
                ev.ParseFromString(data[pos + 12:pos + 12 + n])
            except DecodeError:
                break
            yield ev
            pos = end


def _same32(v: float) -> float | str:
    """A metric value as an event file stores it (``simple_value`` is a 32-bit float), NaN
    equal to NaN."""
    if math.isnan(v):
        return "nan"
    with np.errstate(over="ignore"):
        return float(np.float32(v))


def _table(items: Mapping[str, Any]) -> str:
    """A Markdown table (TensorBoard's text plugin renders Markdown)."""
    rows = "\n".join(f"| {k} | {v} |" for k, v in items.items())
    return f"| name | value |\n|---|---|\n{rows}"


class TensorBoardCallback(TrackingCallback):
    """Write a study as TensorBoard event files: ``Study.run(..., callbacks=[TensorBoardCallback(
    "runs/tb")])``, then ``tensorboard --logdir runs/tb``.

    Args:
        logdir: the directory under which ``<study>/`` is written (created if absent).
        flush_secs: how often each open writer flushes its events to disk (tensorboardX's
            ``flush_secs``); every writer is flushed when its trial ends and at the session's
            end.

    Raises (from ``check`` and ``on_start``):
        ImportError: tensorboardX is not installed (the message names the ``tensorboard``
            extra).
        TrackerError: ``<logdir>/<study>/`` cannot be created or written (a file on its path,
            no permission).
    """

    def __init__(self, logdir: str | os.PathLike[str] = "runs/tensorboard",
                 flush_secs: int = 10) -> None:
        super().__init__()
        self.logdir = logdir
        self.flush_secs = flush_secs
        self._tbx: Any = None
        self._root = Path()
        self._writers: dict[int, Any] = {}
        self._study_writer: Any = None
        self._last_step: dict[int, int] = {}
        self._n_final = 0

    def study_dir(self, study: str) -> Path:
        """Where study ``study``'s runs go: ``<logdir>/<study>``; a name that is not one path
        component (``team/mlp``, ``/abs``) gets one (``rung.storage.paths.study_subdir``), so
        no name writes outside ``logdir``."""
        from rung.storage.paths import study_subdir

        return study_subdir(Path(self.logdir), study)

    def trial_dir(self, study: str, trial_id: int) -> Path:
        """Where trial ``trial_id``'s events go."""
        return self.study_dir(study) / f"trial-{trial_id:04d}"

    # --- TrackingCallback hooks -------------------------------------------------------------------
    def _target(self) -> str:
        return f"logdir={os.fspath(self.logdir)!r}"

    def _check(self, study_name: str) -> None:
        require("tensorboardX", "tensorboard", "TensorBoardCallback")
        problem = dir_problem(self.study_dir(study_name) / "study")
        if problem is not None:
            raise self._cannot_start(problem, "logdir")

    def _open_study(self, study: Study) -> None:
        self._tbx = require("tensorboardX", "tensorboard", "TensorBoardCallback")
        self._root = self.study_dir(study.name)
        self._writers, self._last_step = {}, {}
        self._n_final = sum(study.history.count(s) for s in TrialStatus if s.final)
        earlier = (self._root / "study").is_dir()  # a session of this study wrote here
        self._study_writer = self._writer(self._root / "study")
        self._study_writer.add_text("rung/study", _table(study_params(study)), 0)
        if earlier:
            self._catch_up(study)

    def _open_trial(
        self, trial_id: int, params: Mapping[str, Any], parent_id: int | None
    ) -> None:
        assert self._study is not None
        w = self._writers[trial_id] = self._writer(self.trial_dir(self._study.name, trial_id))
        self._write_params(w, params, parent_id)

    def _add_params(self, trial_id: int, params: Mapping[str, Any]) -> None:
        # the HParams session was written when the run opened; the text lists the additions
        values = {k: param_value(v) for k, v in params.items()}
        self._writers[trial_id].add_text("rung/params", _table(values),
                                         self._last_step.get(trial_id, 0))

    def _log_metrics(self, trial_id: int, step: int, metrics: Mapping[str, float]) -> None:
        w = self._writers[trial_id]
        for k, v in metrics.items():
            w.add_scalar(k, v, step)
        self._last_step[trial_id] = step

    def _log_decision(self, trial_id: int, entry: DecisionEntry) -> None:
        self._writers[trial_id].add_text(_DECISIONS, entry.text(), entry.step)

    def _close_trial(self, trial_id: int, status: str, error: str | None) -> None:
        w = self._writers.pop(trial_id)
        self._write_status(w, status, error, self._last_step.get(trial_id, 0))
        w.close()
        if TrialStatus(status).final and self._study is not None:
            self._n_final += 1
            best = self._study.best_trial
            if best is not None and best.value is not None:
                self._study_writer.add_scalar(f"best_{self._metric}", best.value,
                                              self._n_final)

    def _close_study(self, study: Study, status: str) -> None:
        if self._study_writer is None:
            return
        best = study.best_trial
        text = status
        if best is not None:
            text += f"\n\nbest trial {best.id}: {self._metric} = {best.value}"
        if len(objective_metrics(study)) > 1:
            front = ", ".join(str(t.id) for t in study.pareto_front()) or "none"
            text += f"\n\nPareto front ({', '.join(objective_metrics(study))}): {front}"
        self._study_writer.add_text("rung/status", text, self._n_final)
        self._study_writer.close()
        self._study_writer = None

    # --- catching up with the journal -------------------------------------------------------------
    def _catch_up(self, study: Study) -> None:
        """Write what every trial's run lacks of the journal (see the module docstring): read
        once per session, when an earlier session of the study wrote under ``logdir``: the
        journal as this session found it (``SessionJournal``)."""
        h = study.history
        assert self._before is not None
        points, decisions = self._before.points(), self._before.decisions()
        for tid in h:
            self._catch_up_trial(study, tid, points.get(tid, []), decisions.get(tid, []))

    def _catch_up_trial(self, study: Study, tid: int, points: list[tuple[int, str, float]],
                        decisions: list[DecisionEntry]) -> None:
        path = self.trial_dir(study.name, tid)
        scalars: Counter[tuple[int, str, float | str]] = Counter()
        texts: Counter[tuple[int, str]] = Counter()
        statuses: set[str] = set()
        for ev in _events(path):
            for v in ev.summary.value:
                kind = v.WhichOneof("value")
                if kind == "simple_value":
                    scalars[(ev.step, v.tag, _same32(v.simple_value))] += 1
                elif kind == "tensor" and v.tensor.string_val and v.tag in _TEXT_TAGS:
                    text = v.tensor.string_val[0].decode("utf-8", "replace")
                    if v.tag == _TEXT_TAGS[0]:
                        texts[(ev.step, text)] += 1
                    else:
                        statuses.add(text.split("\n", 1)[0])
        metrics = not_in(points, scalars, lambda p: (p[0], p[1], _same32(p[2])))
        entries = not_in(decisions, texts, lambda e: (e.step, e.text()))
        status = study.history.status(tid)
        close = status.final and status.value not in statuses
        if not (metrics or entries or close):
            return
        new = not path.is_dir()
        w = self._writer(path)
        if new:  # the session that died never opened the trial's run
            h = study.history
            self._write_params(w, h.params(tid), h.parent_id(tid))
        for step, k, value in metrics:
            w.add_scalar(k, value, step)
        for e in entries:
            w.add_text(_DECISIONS, e.text(), e.step)
        if close:
            self._write_status(w, status.value, study.history.error(tid),
                               study.history.last_step(tid))
        w.close()

    # --- helpers ----------------------------------------------------------------------------------
    def _write_params(self, w: Any, params: Mapping[str, Any], parent_id: int | None) -> None:
        """A trial run's params: an HParams session, and the text ``rung/params``."""
        values = {k: param_value(v) for k, v in params.items()}
        if parent_id is not None:
            values["rung.parent_trial"] = parent_id
        metrics = dict.fromkeys(objective_metrics(self._study), 0.0) if self._study else {}
        exp, ssi, _ = self._tbx.summary.hparams(values, metrics or {self._metric: 0.0})
        w.file_writer.add_summary(exp)
        w.file_writer.add_summary(ssi)
        w.add_text("rung/params", _table(values), 0)

    def _write_status(self, w: Any, status: str, error: str | None, step: int) -> None:
        """A trial run's status text (a failed trial's error under it) and the end of its
        HParams session."""
        text = status if not error else f"{status}\n\n```\n{error}\n```"
        w.add_text(_STATUS, text, step)
        _, _, sei = self._tbx.summary.hparams({}, {})
        w.file_writer.add_summary(sei)

    @property
    def _metric(self) -> str:
        return self._study.spec.objective.metric if self._study is not None else "value"

    def _writer(self, path: Path) -> Any:
        path.mkdir(parents=True, exist_ok=True)
        # event files are named by the second they were created in: the suffix keeps two
        # sessions' files of one run apart, and in order, when they start in the same second
        suffix = f".{os.getpid()}.{next(_FILE_SEQ):06d}"
        return self._tbx.SummaryWriter(logdir=str(path), flush_secs=self.flush_secs,
                                       filename_suffix=suffix)


__all__ = ["TensorBoardCallback"]
