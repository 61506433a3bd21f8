"""The spec key ``tracking`` of ``rung run``: validated with one-line errors naming the key
(exit 2, nothing written), stored with the study for ``rung resume``, and the run is mirrored
into the tracker (TensorBoard here: read back with its own reader)."""

from __future__ import annotations

import json
import re
import sqlite3
import sys
from pathlib import Path

import pytest

from rung.cli import spec_tracking
from rung.cli.main import main
from rung.cli.spec_tracking import spec_tracking as parse
from rung.cli.spec_tracking import tracking_callbacks
from rung.integrations.mlflow import MLflowCallback
from rung.integrations.tensorboard import TensorBoardCallback
from rung.integrations.wandb import WandbCallback

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
pytest.importorskip("tensorboardX")

SPEC = """\
name: tracked
executor: simulated
benchmark: {name: mf-branin}
searcher: random
scheduler: {name: asha, params: {reduction_factor: 3}}
budget: {n_trials: 6}
seed: 0
"""


def _run(tmp_path: Path, tracking: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    (tmp_path / "spec.yaml").write_text(SPEC + tracking)
    code = main(["run", str(tmp_path / "spec.yaml"), "--no-live",
                 "--storage", str(tmp_path / "runs.db")])
    return code, capsys.readouterr().err


@pytest.mark.parametrize(("tracking", "message"), [
    ("tracking: [mlflow]\n", "spec.tracking: must be a mapping of trackers"),
    ("tracking: {neptune: {}}\n", "spec.tracking.neptune: unknown tracker (known: mlflow, "
                                  "tensorboard, wandb)"),
    ("tracking: {mlflow: 3}\n", "spec.tracking.mlflow: must be true, false or a mapping"),
    ("tracking: {mlflow: {url: x}}\n", "spec.tracking.mlflow.url: unknown option (did you mean "
                                       "'uri'?) (known: uri, experiment, tags)"),
    ("tracking: {wandb: {mode: cloud}}\n", "spec.tracking.wandb.mode: must be one of online, "
                                           "offline, disabled, got 'cloud'"),
    ("tracking: {wandb: {tags: ci}}\n", "spec.tracking.wandb.tags: must be a list of strings"),
    ("tracking: {tensorboard: {logdir: ''}}\n", "spec.tracking.tensorboard.logdir: must be a "
                                                "non-empty string"),
    ("tracking: {mlflow: {tags: {a: 1}}}\n", "spec.tracking.mlflow.tags: must be a mapping of "
                                             "strings to strings"),
])
def test_bad_tracking_is_one_line_exit_2_nothing_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tracking: str, message: str
) -> None:
    code, err = _run(tmp_path, tracking, capsys)
    assert code == 2
    assert err.strip().startswith(f"rung: {message}") or message in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "runs.db").exists()


def test_a_tracker_not_installed_names_the_extra(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spec_tracking, "not_installed",
                        lambda module: "not installed" if module == "wandb" else None)
    code, err = _run(tmp_path, "tracking: {wandb: {mode: offline}}\n", capsys)
    assert code == 2
    assert "spec.tracking.wandb: needs wandb, which is not installed: pip install " \
           "'rung[wandb]'" in err
    assert not (tmp_path / "runs.db").exists()


def test_parsed_tracking_builds_the_callbacks() -> None:
    tracking = parse({"tracking": {
        "mlflow": {"uri": "http://127.0.0.1:5000", "experiment": "e", "tags": {"team": "x"}},
        "tensorboard": True, "wandb": {"mode": "offline", "tags": ["a"]}}})
    assert tracking == {"mlflow": {"uri": "http://127.0.0.1:5000", "experiment": "e",
                                   "tags": {"team": "x"}},
                        "tensorboard": {}, "wandb": {"mode": "offline", "tags": ["a"]}}
    ml, tb, wb = tracking_callbacks(tracking)
    assert isinstance(ml, MLflowCallback)
    assert (ml.tracking_uri, ml.experiment, ml.tags) == ("http://127.0.0.1:5000", "e",
                                                         {"team": "x"})
    assert isinstance(tb, TensorBoardCallback) and str(tb.logdir) == "runs/tensorboard"
    assert isinstance(wb, WandbCallback) and (wb.mode, wb.tags) == ("offline", ("a",))
    assert parse({"tracking": {"mlflow": False}}) is None
    assert parse({}) is None


def test_rung_run_mirrors_the_study_into_tensorboard_and_stores_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    logdir = tmp_path / "tb"
    code, err = _run(tmp_path, f"tracking: {{tensorboard: {{logdir: '{logdir}'}}}}\n", capsys)
    assert code == 0, err
    runs = sorted(p.name for p in (logdir / "tracked").iterdir())
    assert runs == ["study"] + [f"trial-{t:04d}" for t in range(6)]
    for name in runs[1:]:
        ea = event_accumulator.EventAccumulator(str(logdir / "tracked" / name))
        ea.Reload()
        assert ea.Scalars("loss"), name  # mf-branin's metric, from step 1 on
        assert ea.Scalars("loss")[0].step == 1
    with sqlite3.connect(tmp_path / "runs.db") as db:
        (spec,) = db.execute("SELECT spec FROM study").fetchone()
    assert json.loads(spec)["cli"]["tracking"] == {"tensorboard": {"logdir": str(logdir)}}
    # `rung resume` rebuilds the run from the journal: with the same tracking
    from rung.cli.spec import spec_from_journal
    from rung.storage import SQLiteJournal

    journal = SQLiteJournal(tmp_path / "runs.db", readonly=True)
    try:
        again = spec_from_journal(journal.load_study("tracked"), tmp_path / "runs.db")
    finally:
        journal.close()
    (cb,) = tracking_callbacks(again.tracking)
    assert isinstance(cb, TensorBoardCallback) and cb.logdir == str(logdir)


@pytest.mark.parametrize(("callback", "module", "extra"), [
    (MLflowCallback(), "mlflow", "mlflow"),
    (TensorBoardCallback(), "tensorboardX", "tensorboard"),
    (WandbCallback(), "wandb", "wandb"),
])
def test_a_missing_library_fails_at_start_naming_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, callback: object, module: str, extra: str
) -> None:
    from rung import Budget, Float, Objective, Study
    from rung.testing.executors import ScriptedBenchmark

    monkeypatch.setitem(sys.modules, module, None)  # `import module` now raises ImportError
    study = Study.create("s", {"x": Float(0.0, 1.0)}, Objective("loss"), searcher="random",
                         scheduler="fifo", max_step=2, budget=Budget(n_trials=2))
    with pytest.raises(ImportError, match=re.escape(f"pip install 'rung[{extra}]'")):
        study.simulate(ScriptedBenchmark(), callbacks=[callback])  # type: ignore[list-item]
    assert len(study.history) == 0  # nothing ran
