"""A study interrupted cleanly (Ctrl-C) and resumed: each tracker logs every decision of the
journal exactly once, the resume of each interrupted trial included. The resumed session's first
turn journals the resume launches; a tracker that read "what earlier sessions journaled" after
that turn (MLflow did, lazily) logged each resume twice: once from the journal, once from
``on_turn``. The expected lists are built here from the journal's records, independently of the
trackers' own journal readers."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from tracking_study import resume, simulate_interrupted

from rung import Study
from rung.core.events import Cancel, Launch, Reply, ResultReported


def expected(study: Study) -> dict[int, list[tuple[int, str]]]:
    """Every trial's ``(step, action)`` decisions in journal order: replies, cancels (at the
    trial's last reported step) and every launch after a trial's first (``resume``)."""
    out: dict[int, list[tuple[int, str]]] = {t: [] for t in study.history}
    last: dict[int, int] = {}
    launched: set[int] = set()
    for r in study.journal.read(study.name):
        if isinstance(r, ResultReported):
            last[r.trial_id] = r.step
        elif isinstance(r, Reply):
            out[r.trial_id].append((r.step, r.decision.action.value))
        elif isinstance(r, Cancel):
            out[r.trial_id].append((last.get(r.trial_id, 0), "cancel"))
        elif isinstance(r, Launch):
            if r.trial_id in launched:
                out[r.trial_id].append((r.start_step, "resume"))
            launched.add(r.trial_id)
    return out


def _check_resumes(want: dict[int, list[tuple[int, str]]]) -> None:
    """The study is worth checking: some trials were resumed (once each)."""
    resumed = [t for t, d in want.items() if any(a == "resume" for _, a in d)]
    assert resumed, want
    assert all(sum(a == "resume" for _, a in want[t]) == 1 for t in resumed)


def test_mlflow_logs_each_resume_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("mlflow")
    monkeypatch.chdir(tmp_path)  # a sqlite:/// store keeps its artifacts in ./mlruns
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from mlflow.tracking import MlflowClient

    from rung.integrations.mlflow import MLflowCallback

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    study = simulate_interrupted(tmp_path, "again", MLflowCallback(tracking_uri=uri))
    again = resume(study, tmp_path, MLflowCallback(tracking_uri=uri))
    want = expected(again)
    _check_resumes(want)
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("again")
    runs = client.search_runs([exp.experiment_id], "tags.`rung.role` = 'trial'")
    got: dict[int, list[tuple[int, str]]] = {}
    for run in runs:
        tid = int(run.data.tags["rung.trial_id"])
        path = client.download_artifacts(run.info.run_id, "rung/decisions.json",
                                         str(tmp_path / "dl" / str(tid)))
        got[tid] = [(d["step"], d["action"]) for d in json.loads(Path(path).read_text())[
            "decisions"]]
    assert got == want


def test_tensorboard_logs_each_resume_once(tmp_path: Path) -> None:
    pytest.importorskip("tensorboardX")
    from rung.integrations.tensorboard import TensorBoardCallback, _events

    study = simulate_interrupted(tmp_path, "again", TensorBoardCallback(tmp_path / "tb"))
    again = resume(study, tmp_path, TensorBoardCallback(tmp_path / "tb"))
    want = expected(again)
    _check_resumes(want)
    got: dict[int, list[tuple[int, str]]] = {}
    for tid in want:
        texts = [(ev.step, v.tensor.string_val[0].decode())
                 for ev in _events(tmp_path / "tb" / "again" / f"trial-{tid:04d}")
                 for v in ev.summary.value if v.tag == "rung/decisions/text_summary"]
        got[tid] = [(step, text.split(": ", 1)[1].split(" ", 1)[0]) for step, text in texts]
    assert got == want


def test_wandb_logs_each_resume_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("wandb")
    from wandb_reader import offline, read_runs

    from rung.integrations.wandb import WandbCallback

    offline(monkeypatch, tmp_path)
    study = simulate_interrupted(tmp_path, "again", WandbCallback(dir=tmp_path / "w", mode="offline"))
    again = resume(study, tmp_path, WandbCallback(dir=tmp_path / "w", mode="offline"))
    want = expected(again)
    _check_resumes(want)
    got: dict[int, list[tuple[int, str]]] = {t: [] for t in want}
    runs = [r for r in read_runs(tmp_path / "w") if r.name.startswith("trial-")]
    # a resumed trial's first run ended it unfinished; runs of one second may list either way
    final = {"completed", "stopped", "failed"}
    for run in sorted(runs, key=lambda r: r.summary.get("rung/status") in final):
        got[int(run.name.split("-")[1])] += [(row["rung/step"], row["rung/action"])
                                             for row in run.history if "rung/action" in row]
    assert got == want
