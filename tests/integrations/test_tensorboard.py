"""``TensorBoardCallback``: the event files it writes (through tensorboardX) are read back with
TensorBoard's own reader (``EventAccumulator``): a study run and one run per trial, with the
params (as an HParams session), every metric at its step, the decisions and the status."""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import pytest
from tracking_study import (
    FAILED,
    Curves,
    check_truth,
    journal_decisions,
    resume,
    simulate,
    simulate_failing,
    simulate_interrupted,
    truth,
)

from rung import Study
from rung.integrations.tensorboard import TensorBoardCallback

pytest.importorskip("tensorboardX")
event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
from tensorboard.plugins.hparams import plugin_data_pb2  # noqa: E402
from tensorboard.util import tensor_util  # noqa: E402


def _read(path: Path) -> Any:
    ea = event_accumulator.EventAccumulator(
        str(path), size_guidance={"scalars": 0, "tensors": 0}, purge_orphaned_data=False
    )
    ea.Reload()
    return ea


def _texts(ea: Any, tag: str) -> list[tuple[int, str]]:
    """The text summaries under ``tag`` (none if the run has no such tag)."""
    tag = f"{tag}/text_summary"
    if tag not in ea.Tags()["tensors"]:
        return []
    return [(e.step, tensor_util.make_ndarray(e.tensor_proto).item().decode())
            for e in ea.Tensors(tag)]


def _hparams(ea: Any) -> dict[str, Any]:
    content = ea.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    data = plugin_data_pb2.HParamsPluginData.FromString(content)
    out: dict[str, Any] = {}
    for k, v in data.session_start_info.hparams.items():
        kind = v.WhichOneof("kind")
        out[k] = getattr(v, kind)
    return out


def _check(study: Study, root: Path) -> None:
    expected = truth(study)
    check_truth(expected)
    base = root / study.name
    assert sorted(p.name for p in base.iterdir()) == ["study"] + [
        f"trial-{t:04d}" for t in sorted(expected)]
    for tid, want in expected.items():
        ea = _read(base / f"trial-{tid:04d}")
        assert set(ea.Tags()["scalars"]) == {"loss", "acc"}  # "note" and "flag" are no numbers
        got = sorted((e.step, k, e.value) for k in ("loss", "acc") for e in ea.Scalars(k))
        assert got == [(s, k, pytest.approx(v, rel=1e-6)) for s, k, v in sorted(want.metrics)]
        hp = _hparams(ea)
        assert hp["opt"] == want.params["opt"]
        assert hp["x"] == pytest.approx(want.params["x"])
        decisions = _texts(ea, "rung/decisions")
        assert [step for step, _ in decisions] == [s for s, _, _ in want.decisions]
        assert [text for _, text in decisions] == _decision_texts(study, tid)
        ((status_step, status),) = _texts(ea, "rung/status")
        assert status == want.status
        assert status_step == max(s for s, _, _ in want.metrics)
    ea = _read(base / "study")
    best = study.best_trial
    assert best is not None
    curve = ea.Scalars("best_loss")
    assert [e.step for e in curve] == list(range(1, len(expected) + 1))
    assert curve[-1].value == pytest.approx(best.value)
    assert all(a.value >= b.value for a, b in itertools.pairwise(curve))
    ((_, text),) = _texts(ea, "rung/study")
    assert "| scheduler | asha |" in text
    assert _texts(ea, "rung/status")[-1][1].startswith("finished")


def test_simulated_study_is_read_back_by_tensorboard(tmp_path: Path) -> None:
    study = simulate(tmp_path, "tb", TensorBoardCallback(tmp_path / "logs"))
    _check(study, tmp_path / "logs")
    stops = [text for t in range(9)
             for _, text in _texts(_read(tmp_path / "logs/tb" / f"trial-{t:04d}"),
                                   "rung/decisions") if ": stop (" in text]
    assert stops and all("cutoff" in s for s in stops)


def test_a_failed_trial_has_its_status_and_error(tmp_path: Path) -> None:
    study = simulate_failing(tmp_path, TensorBoardCallback(tmp_path / "logs"))
    expected = truth(study)
    for tid in range(4):
        ea = _read(tmp_path / "logs/failing" / f"trial-{tid:04d}")
        ((step, status),) = _texts(ea, "rung/status")
        loss = [(e.step, e.value) for e in ea.Scalars("loss")]
        steps = [s for s, k, _ in expected[tid].metrics if k == "loss"]
        assert [s for s, _ in loss] == steps and step == steps[-1]
        if tid in FAILED:  # the NaN is logged as it was reported, then the stop and the error
            assert status == f"failed\n\n```\n{FAILED[tid]}\n```"
            assert math.isnan(dict(loss)[2])
            assert _texts(ea, "rung/decisions") == [(2, f"step 2: stop (failed: {FAILED[tid]})")]
        else:
            assert (step, status) == (3, "completed")
            assert not _texts(ea, "rung/decisions")


def test_a_resumed_study_continues_each_trials_run(tmp_path: Path) -> None:
    study = simulate_interrupted(tmp_path, "again", TensorBoardCallback(tmp_path / "logs"))
    ea = _read(tmp_path / "logs/again/study")
    assert _texts(ea, "rung/status")[-1][1].startswith("killed")
    again = resume(study, tmp_path, TensorBoardCallback(tmp_path / "logs"))
    _check_resumed(again, tmp_path / "logs")


def _check_resumed(study: Study, root: Path) -> None:
    """Every metric and decision once; trials open at the interruption have a second status
    line (``interrupted`` first, then the final one)."""
    expected = truth(study)
    for tid, want in expected.items():
        ea = _read(root / study.name / f"trial-{tid:04d}")
        got = sorted((e.step, k, e.value) for k in ("loss", "acc") for e in ea.Scalars(k))
        assert got == [(s, k, pytest.approx(v, rel=1e-6)) for s, k, v in sorted(want.metrics)]
        decisions = [text for _, text in _texts(ea, "rung/decisions")]
        assert [d for d in decisions if ": resume " not in d] == _decision_texts(study, tid)
        assert _texts(ea, "rung/status")[-1][1] == want.status


def _decision_texts(study: Study, tid: int) -> list[str]:
    """The text each of the trial's replies and cancels should have, from the journal (a
    cancel's reason always in parentheses, a reply's only when it has one)."""
    out: list[str] = []
    for step, action, reason, until_step in journal_decisions(study)[tid]:
        lease = f" until step {until_step}" if until_step is not None else ""
        why = f" ({reason})" if reason or action == "cancel" else ""
        out.append(f"step {step}: {action}{lease}{why}")
    return out


def test_a_pbt_fork_records_its_parent(tmp_path: Path) -> None:
    from tracking_study import SPACE

    from rung import PBT, Budget, Objective

    study = Study.create("pbt", SPACE, Objective("loss"), searcher="random",
                         scheduler=PBT(population_size=4, perturbation_interval=3), max_step=9,
                         budget=Budget(n_trials=8), seed=1, storage=tmp_path / "pbt.db")
    study.simulate(Curves(), n_workers=4, callbacks=[TensorBoardCallback(tmp_path / "logs")])
    forks = {t: study.history.parent_id(t) for t in study.history
             if study.history.parent_id(t) is not None}
    assert forks  # seed 1: trial 4 forks trial 1's checkpoint
    for tid, parent in forks.items():
        ea = _read(tmp_path / "logs/pbt" / f"trial-{tid:04d}")
        first = min(e.step for e in ea.Scalars("loss"))
        assert first > 1  # it continues from the parent's checkpoint
        assert _texts(ea, "rung/decisions")[0] == (
            first, f"step {first}: fork (forked from trial {parent} at step {first})")
        assert _hparams(ea)["rung.parent_trial"] == parent
