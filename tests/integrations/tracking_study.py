"""What the tracking tests share: a small simulated study with ASHA stops, and what the journal
says happened in it (the ground truth each tracker's contents are compared with)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from rung import ASHA, Budget, Callback, Categorical, Float, Objective, SearchSpace, Study
from rung.core.events import Cancel, Command, Event, Reply, ResultReported
from rung.core.history import History

SPACE = SearchSpace({"x": Float(0.0, 1.0), "opt": Categorical(["adam", "sgd"])})


class Curves:
    """A benchmark whose loss falls with the step, plus metrics that are not numbers (skipped by
    the trackers): ``note`` (text) and ``flag`` (a boolean)."""

    name = "tracking-curves"
    space = SPACE
    max_step = 9
    metric = "loss"
    mode = "min"
    optimum = None

    def evaluate(self, params: Mapping[str, Any], step: int) -> tuple[dict[str, Any], float]:
        loss = float(params["x"]) + 1.0 / step + (0.25 if params["opt"] == "sgd" else 0.0)
        return {"loss": loss, "acc": 1.0 - loss / 3.0, "note": "text", "flag": True}, 1.0


class FailingCurves(Curves):
    """``Curves`` whose loss is NaN at step 2 when ``x > 0.6``: those trials fail (the objective's
    default ``nan="fail"``), with the error ``metric 'loss' is nan at step 2``."""

    def evaluate(self, params: Mapping[str, Any], step: int) -> tuple[dict[str, Any], float]:
        metrics, seconds = super().evaluate(params, step)
        if float(params["x"]) > 0.6 and step == 2:
            metrics["loss"] = float("nan")
        return metrics, seconds


def make_failing_study(tmp_path: Path, name: str = "failing") -> Study:
    """Four trials of ``FailingCurves`` under FIFO, to step 3: trials 2 and 3 fail (seed 1)."""
    return Study.create(name, SPACE, Objective("loss"), searcher="random", scheduler="fifo",
                        max_step=3, budget=Budget(n_trials=4), seed=1,
                        storage=tmp_path / f"{name}.db")


FAILED = {2: "metric 'loss' is nan at step 2", 3: "metric 'loss' is nan at step 2"}


def make_study(tmp_path: Path, name: str = "track", n_trials: int = 9, seed: int = 1) -> Study:
    return Study.create(name, SPACE, Objective("loss"), searcher="random",
                        scheduler=ASHA(reduction_factor=3), max_step=9,
                        budget=Budget(n_trials=n_trials), seed=seed,
                        storage=tmp_path / f"{name}.db")


def simulate(tmp_path: Path, name: str, tracker: Callback, n_trials: int = 9,
             seed: int = 1) -> Study:
    """``make_study`` simulated to its end on ``Curves`` (2 workers), reported to ``tracker``."""
    study = make_study(tmp_path, name, n_trials, seed)
    study.simulate(Curves(), n_workers=2, callbacks=[tracker])
    return study


def simulate_failing(tmp_path: Path, tracker: Callback) -> Study:
    """``make_failing_study`` simulated to its end on ``FailingCurves`` (2 workers), reported to
    ``tracker``; trials 2 and 3 failed with the errors in ``FAILED`` (checked)."""
    study = make_failing_study(tmp_path)
    study.simulate(FailingCurves(), n_workers=2, callbacks=[tracker])
    assert {t.id: t.error for t in study.trials("failed")} == FAILED
    return study


def simulate_interrupted(tmp_path: Path, name: str, tracker: Callback) -> Study:
    """The first session of a resumed study: ``make_study`` simulated on ``Curves`` (2 workers),
    reported to ``tracker``, until turn 8 raises ``KeyboardInterrupt`` (checked) as a crash would
    end it; its journal stays intact. Resume it with ``resume``."""
    study = make_study(tmp_path, name)
    with pytest.raises(KeyboardInterrupt):
        study.simulate(Curves(), n_workers=2, callbacks=[tracker, StopAtTurn(8)])
    return study


def resume(study: Study, tmp_path: Path, tracker: Callback) -> Study:
    """The second session: ``study`` (from ``simulate_interrupted``) closed, loaded again from its
    journal and simulated to its end, reported to ``tracker`` (a new callback, as a new process
    would have)."""
    study.close()
    again = Study.load(study.name, storage=tmp_path / f"{study.name}.db")
    again.simulate(Curves(), n_workers=2, callbacks=[tracker])
    return again


@dataclass
class TrialTruth:
    params: dict[str, Any]
    status: str
    parent_id: int | None
    #: (step, metric, value) of every numeric metric of every report, in journal order
    metrics: list[tuple[int, str, float]] = field(default_factory=list)
    #: (step, action, reason) of every Reply and Cancel, in journal order
    decisions: list[tuple[int, str, str]] = field(default_factory=list)


def journal_decisions(study: Study) -> dict[int, list[tuple[int, str, str, int | None]]]:
    """Every trial's replies and cancels as the journal records them, in its order:
    ``(step, action, reason, until_step)``; a cancel stands at the trial's last reported step
    (0 before any), with no ``until_step``."""
    out: dict[int, list[tuple[int, str, str, int | None]]] = {t: [] for t in study.history}
    last: dict[int, int] = {}
    for r in study.journal.read(study.name):
        if isinstance(r, ResultReported):
            last[r.trial_id] = r.step
        elif isinstance(r, Reply):
            d = r.decision
            out[r.trial_id].append((r.step, d.action.value, d.reason, d.until_step))
        elif isinstance(r, Cancel):
            out[r.trial_id].append((last.get(r.trial_id, 0), "cancel", r.reason, None))
    return out


def truth(study: Study) -> dict[int, TrialTruth]:
    """Every trial of ``study`` as its journal records it."""
    h = study.history
    out = {t: TrialTruth(dict(h.params(t)), h.status(t).value, h.parent_id(t)) for t in h}
    for r in study.journal.read(study.name):
        if isinstance(r, ResultReported):
            for k, v in r.metrics.items():
                if isinstance(v, float | int) and not isinstance(v, bool):
                    out[r.trial_id].metrics.append((r.step, k, float(v)))
    for t, decisions in journal_decisions(study).items():
        out[t].decisions = [(step, action, reason) for step, action, reason, _ in decisions]
    return out


def check_truth(t: dict[int, TrialTruth]) -> None:
    """The study is worth checking a tracker against: several trials, stops with reasons."""
    assert len(t) == 9
    stops = [d for tt in t.values() for d in tt.decisions if d[1] == "stop"]
    assert stops and all(reason for _, _, reason in stops), stops
    assert {tt.status for tt in t.values()} >= {"completed", "stopped"}


class StopAtTurn(Callback):
    """Raises at its ``n``-th turn: ends a session half-way, as a crash would (journal intact)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.turns = 0

    def on_turn(self, events: Sequence[Event], commands: Sequence[Command],
                history: History) -> None:
        self.turns += 1
        if self.turns == self.n:
            raise KeyboardInterrupt
