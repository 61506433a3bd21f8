"""``WandbCallback`` in offline mode: the runs it writes are read back from W&B's offline run
files (``wandb_reader``): a study run and one run per trial in the study's group, with the
params, every metric at its step, the decisions and the status. No network: offline mode."""

from __future__ import annotations

from pathlib import Path

import pytest
from tracking_study import (
    FAILED,
    check_truth,
    journal_decisions,
    resume,
    simulate,
    simulate_failing,
    simulate_interrupted,
    truth,
)

from rung import Study
from rung.integrations.wandb import WandbCallback

wandb = pytest.importorskip("wandb")
from wandb_reader import OfflineRun, read_runs  # noqa: E402
from wandb_reader import offline as wandb_offline  # noqa: E402


@pytest.fixture(autouse=True)
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wandb_offline(monkeypatch, tmp_path)


def _decisions(study: Study, tid: int) -> list[dict[str, object]]:
    """What the journal says the trial's decisions were, as the run's rows should hold them."""
    return [{"step": step, "action": action, "reason": reason, "until_step": until_step}
            for step, action, reason, until_step in journal_decisions(study)[tid]]


def _read(root: Path) -> list[OfflineRun]:
    """The offline runs under ``root`` (``read_runs`` waits for wandb's service to write them)."""
    return read_runs(root)


def _by_name(runs: list[OfflineRun]) -> dict[str, list[OfflineRun]]:
    out: dict[str, list[OfflineRun]] = {}
    for r in runs:
        out.setdefault(r.name, []).append(r)
    return out


def test_simulated_study_is_written_as_offline_runs(tmp_path: Path) -> None:
    study = simulate(tmp_path, "wb", WandbCallback(dir=tmp_path / "w", mode="offline",
                                                   tags=["ci"]))
    expected = truth(study)
    check_truth(expected)
    runs = _by_name(_read(tmp_path / "w"))
    assert sorted(runs) == sorted(["wb"] + [f"trial-{t}" for t in expected])
    assert all(len(v) == 1 for v in runs.values())
    ((parent,),) = [runs["wb"]]
    assert (parent.group, parent.job_type, parent.project) == ("wb", "study", "wb")
    assert parent.config["scheduler"] == "asha" and parent.config["budget.n_trials"] == 9
    best = study.best_trial
    assert best is not None
    assert parent.summary["rung/status"] == "finished"
    assert parent.summary["rung/best_trial"] == best.id
    assert parent.summary["best_loss"] == pytest.approx(best.value)
    assert parent.summary["rung/n_stopped"] == len(study.trials("stopped"))
    curve = [(row["rung/n_final"], row["best_loss"]) for row in parent.history]
    assert [n for n, _ in curve] == list(range(1, 10))
    assert curve[-1][1] == pytest.approx(best.value)
    assert parent.exit_code == 0
    for tid, want in expected.items():
        (run,) = runs[f"trial-{tid}"]
        assert (run.group, run.job_type) == ("wb", "trial")
        assert {k: v for k, v in run.config.items() if not k.startswith("_")} == {
            **want.params, "rung.trial_id": tid}
        rows = run.history
        got = sorted((row["rung/step"], k, row[k]) for row in rows for k in ("loss", "acc")
                     if k in row)
        assert got == sorted(want.metrics)
        assert not any("note" in row or "flag" in row for row in rows)  # not numbers
        decided = [{"step": row["rung/step"], "action": row["rung/action"],
                    "reason": row["rung/reason"], "until_step": row["rung/until_step"]}
                   for row in rows if "rung/action" in row]
        assert decided == _decisions(study, tid)
        assert run.summary["rung/decisions"] == decided
        assert run.summary["rung/status"] == want.status
        assert run.exit_code == 0
    stops = [r.summary["rung/decisions"][-1]["reason"] for v in runs.values() for r in v
             if r.summary.get("rung/status") == "stopped"]
    assert stops and all("cutoff" in s for s in stops)


def test_a_failed_trial_finishes_with_exit_code_1_and_its_error(tmp_path: Path) -> None:
    simulate_failing(tmp_path, WandbCallback(dir=tmp_path / "w"))
    runs = {r.name: r for r in _read(tmp_path / "w")}
    for tid in range(4):
        run = runs[f"trial-{tid}"]
        if tid in FAILED:
            assert run.exit_code == 1
            assert run.summary["rung/status"] == "failed"
            assert run.summary["rung/error"] == FAILED[tid]
        else:
            assert run.exit_code == 0 and run.summary["rung/status"] == "completed"
            assert "rung/error" not in run.summary
    assert runs["failing"].summary["rung/n_failed"] == 2


def test_a_resumed_study_logs_the_rest_in_new_runs(tmp_path: Path) -> None:
    study = simulate_interrupted(tmp_path, "again", WandbCallback(dir=tmp_path / "w"))
    first = _read(tmp_path / "w")
    (parent,) = [r for r in first if r.job_type == "study"]
    assert parent.summary["rung/status"] == "killed" and parent.exit_code == 1
    open_then = {r.name for r in first if r.summary.get("rung/status") in ("running",
                                                                            "interrupted")}
    assert open_then
    again = resume(study, tmp_path, WandbCallback(dir=tmp_path / "w"))
    expected = truth(again)
    runs = _by_name(_read(tmp_path / "w"))
    for tid, want in expected.items():
        rows = [row for r in runs[f"trial-{tid}"] for row in r.history]
        got = sorted((row["rung/step"], k, row[k]) for row in rows for k in ("loss", "acc")
                     if k in row)
        assert got == sorted(want.metrics)  # every result once, across the two sessions
        final = [r for r in runs[f"trial-{tid}"] if r.summary["rung/status"] == want.status]
        assert len(final) == 1
    assert {n for n, v in runs.items() if len(v) == 2} <= open_then | {"again"}
