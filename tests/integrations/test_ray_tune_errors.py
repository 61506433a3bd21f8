"""A Tune trial that raises is a failed rung trial whose error reads as a local run's does:
a traceback ending in the exception line, without Tune's ``Failure # n (occurred at <time>)``
header, the Ray task line or terminal colour codes, so ``rung show`` groups Tune's failures by
exception. Before, every Tune failure summarized as its timestamp line ("last failure trial
#7: Failure # 1 (occurred at 2026-12-04_23-13-55)"), all in one group, and the stored error
kept ``\\x1b[36m``."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

pytest.importorskip("ray.tune")

from rung import ASHA, Study
from rung.core.records import TrialStatus
from rung.integrations._tune_records import tune_error
from rung.integrations.ray_tune import RungScheduler
from rung.reporter import error_summary, failure_kind

#: the frames of the traceback Ray 2.60 writes when a trainable raises ValueError("boom")
FRAMES = (
    '  File "/venv/ray/tune/trainable/trainable.py", line 329, in train\n'
    "    raise skipped from exception_cause(skipped)\n"
    '  File "/venv/ray/tune/trainable/function_trainable.py", line 249, in _trainable_func\n'
    "    output = fn()\n"
    "             ^^^^\n"
    '  File "/work/train.py", line 10, in trainable\n'
    '    if x > 0.9: raise ValueError("boom")\n'
    "                ^^^^^^^^^^^^^^^^^^^^^^^^\n"
)

#: what Ray 2.60 writes to a trial's error.txt then
RAY_ERROR_TXT = (
    "Failure # 1 (occurred at 2026-12-04_23-13-47)\n"
    "\x1b[36mray::ImplicitFunc.train()\x1b[39m (pid=23206, ip=192.0.2.2, "
    "actor_id=f356f10fdd0093f6ae9c8ba801000000, repr=trainable)\n"
    "           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
    + FRAMES + "ValueError: boom\n"
)

TRACEBACK = "Traceback (most recent call last):\n" + FRAMES + "ValueError: boom"


def _trial(tmp_path: Path, i: int, text: str | None) -> Any:
    path = None
    if text is not None:
        path = tmp_path / f"t{i}" / "error.txt"
        path.parent.mkdir()
        path.write_text(text, encoding="utf-8")
    return SimpleNamespace(trial_id=f"t{i:05d}", config={"x": 0.1 * i},
                           error_file=None if path is None else str(path))


def test_a_failed_tune_trial_is_recorded_as_its_exception(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "s.db"
    sched = RungScheduler(ASHA(reduction_factor=3), max_step=3, metric="loss", mode="min",
                          storage=str(db), name="sch")
    retried = "Failure # 1 (occurred at 2026-12-04_23-13-40)\nOSError: first\n\n" + RAY_ERROR_TXT
    for i, text in enumerate([RAY_ERROR_TXT, retried, "The actor died unexpectedly.\n", None]):
        t = _trial(tmp_path, i, text)
        sched.on_trial_add(None, t)
        # each the best so far at ASHA's first rung: every trial runs on until it errors
        assert sched.on_trial_result(None, t, {"training_iteration": 1, "loss": 1.0 - i / 10}
                                     ) == "CONTINUE"
        sched.on_trial_error(None, t)
    errors = [t.error for t in sched.embedded.study.trials()]
    assert errors == [TRACEBACK, TRACEBACK, "The actor died unexpectedly.",
                      "the Tune trial errored (Tune wrote no error file)"]
    assert [failure_kind(error_summary(e)) for e in errors[:2]] == ["ValueError"] * 2
    sched.embedded.study.close()
    from rung.cli.main import main

    assert main(["show", "sch", "--storage", str(db)]) == 0
    out = capsys.readouterr().out
    assert "  last failure  trial #3: the Tune trial errored (Tune wrote no error file)" in out
    assert "2 x ValueError  (trials #0, #1; last: ValueError: boom)" in out
    assert "Failure #" not in out and "\x1b" not in out


def test_tune_error_keeps_an_error_without_a_traceback_as_tune_wrote_it(tmp_path: Path) -> None:
    text = "Failure # 2 (occurred at 2026-12-04_23-13-47)\n\x1b[31mTuneError\x1b[0m: no node\n"
    assert tune_error(_trial(tmp_path, 0, text)) == "TuneError: no node"


def _raises(config: dict[str, Any]) -> None:
    from ray import tune

    for it in range(1, 4):
        if config["x"] > 0.5:
            raise ValueError("boom")
        tune.report({"loss": config["x"] + 1.0 / it})


@pytest.mark.ray
@pytest.mark.slow  # a real tune.Tuner on ray.init(num_cpus=2): ~10 s
def test_a_tuner_trial_raising_valueerror_fails_with_its_traceback(tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    from ray import tune
    from ray.tune.search.basic_variant import BasicVariantGenerator

    db = str(tmp_path / "s.db")
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        tuner = tune.Tuner(_raises, param_space={"x": tune.uniform(0, 1)},
                           tune_config=tune.TuneConfig(
                               metric="loss", mode="min", num_samples=2,
                               search_alg=BasicVariantGenerator(
                                   points_to_evaluate=[{"x": 0.1}, {"x": 0.9}]),
                               scheduler=RungScheduler(ASHA(reduction_factor=3), max_step=3,
                                                       storage=db, name="sch")),
                           run_config=tune.RunConfig(storage_path=str(tmp_path / "ray"),
                                                     verbose=0))
        tuner.fit()
    finally:
        ray.shutdown()
    study = Study.load("sch", storage=db, readonly=True)
    failed = study.trials("failed")
    assert [t.status for t in study.trials()] == [TrialStatus.COMPLETED, TrialStatus.FAILED]
    error = failed[0].error
    assert error is not None
    assert error.startswith("Traceback (most recent call last):\n  File ")
    assert error.splitlines()[-1] == "ValueError: boom"
    assert "\x1b" not in error and "Failure #" not in error and "ray::" not in error
