"""The examples stay working: each runs in a tiny configuration, and each restores its own
checkpoints correctly."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from rung.cli.spec import load_spec
from rung.core.events import CheckpointSaved, ResultReported
from rung.errors import StopTrial
from rung.storage import SQLiteJournal
from rung.study import Study

pytest.importorskip("sklearn")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
if str(EXAMPLES) not in sys.path:  # the examples import their shared _examples_cli
    sys.path.insert(0, str(EXAMPLES))


def load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeContext:
    """Stands in for ``rung.TrialContext``: records reports, saves a checkpoint at
    ``save_at``, stops the trial after ``stop_after``."""

    def __init__(self, params: dict[str, Any], start: int, max_step: int,
                 checkpoint: str | None = None, save_dir: Path | None = None,
                 save_at: int | None = None, stop_after: int | None = None) -> None:
        self.params = params
        self.trial_id = 0
        self.start_step = start
        self.max_step = max_step
        self.checkpoint = checkpoint
        self.reports: dict[int, dict[str, Any]] = {}
        self._save_dir = save_dir
        self._save_at = save_at
        self._stop_after = stop_after

    def report(self, step: int, save: Callable[[str], Any] | None = None,
               **metrics: Any) -> None:
        self.reports[step] = metrics
        if step == self._save_at:
            assert save is not None and self._save_dir is not None
            self._save_dir.mkdir(parents=True)
            save(str(self._save_dir))
        if step == self._stop_after:
            raise StopTrial("test")


def run_ctx(module: ModuleType, ctx: FakeContext) -> FakeContext:
    with contextlib.suppress(StopTrial):
        module.train(ctx)
    return ctx


MLP = {"hidden": 64, "layers": 1, "lr": 3e-3, "alpha": 1e-4, "batch_size": 32}
BOOST = {"learning_rate": 0.1, "max_leaf_nodes": 15, "min_samples_leaf": 10,
         "l2_regularization": 0.1, "rounds": 10}


def test_mlp_checkpoint_restores_training(tmp_path: Path) -> None:
    mod = load_example("mlp_digits")
    ckpt = tmp_path / "ckpt"
    first = run_ctx(mod, FakeContext(MLP, 1, 6, save_dir=ckpt, save_at=4, stop_after=4))
    assert (ckpt / "weights.npz").is_file()
    resumed = run_ctx(mod, FakeContext(MLP, 5, 6, checkpoint=str(ckpt)))
    assert sorted(resumed.reports) == [5, 6]
    # the restored network goes on from where it was, far better than a fresh one's epoch 1
    assert resumed.reports[5]["val_loss"] < 0.8 * first.reports[1]["val_loss"]
    assert resumed.reports[5]["val_acc"] >= first.reports[4]["val_acc"] - 0.03


def test_boosting_checkpoint_continues_exactly(tmp_path: Path) -> None:
    mod = load_example("boosting")
    ckpt = tmp_path / "ckpt"
    straight = run_ctx(mod, FakeContext(BOOST, 1, 4))
    run_ctx(mod, FakeContext(BOOST, 1, 4, save_dir=ckpt, save_at=2, stop_after=2))
    resumed = run_ctx(mod, FakeContext(BOOST, 3, 4, checkpoint=str(ckpt)))
    assert resumed.reports[3]["trees"] == 30  # 20 restored + 10 new rounds
    assert resumed.reports[4] == pytest.approx(straight.reports[4])


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


UNIT = {"mlp_digits": "epochs", "boosting": "steps"}


def _example(name: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300, env=_env())


def _records(db: Path, study: str) -> list[Any]:
    with SQLiteJournal(db, readonly=True) as j:
        return j.read(study)


@pytest.mark.slow  # each example's commands, real training (8 s each)
@pytest.mark.parametrize("name", ["mlp_digits", "boosting"])
def test_example_commands_run_in_order_and_checkpoint_by_default(tmp_path: Path,
                                                                  name: str) -> None:
    """The header's commands differ in ``--trials`` / ``--max-step``, which a study fixes when
    it is created: run in order into one journal, each runs a study of its own (the second
    used to end in a ConfigError traceback). With the default options every step is
    checkpointed, so a trial resumed after a crash goes on from its last step;
    ``--checkpoint-every 0`` turns that off (the stopping ASHA then asks for none)."""
    db = tmp_path / "runs" / "examples.db"
    first = _example(name, tmp_path, "--trials", "4", "--max-step", "4", "--workers", "2",
                     "--storage", str(db))
    assert first.returncode == 0, first.stderr
    second = _example(name, tmp_path, "--trials", "3", "--max-step", "3", "--workers", "2",
                      "--checkpoint-every", "0", "--storage", str(db))
    assert second.returncode == 0, second.stderr
    unit = UNIT[name]
    a, b = f"{name}-4trials-4{unit}", f"{name}-3trials-3{unit}"
    assert "best trial #" in first.stdout and "best trial #" in second.stdout
    assert f"rung show {a} --storage {db}" in first.stdout
    with SQLiteJournal(db, readonly=True) as j:
        assert sorted(j.list_studies()) == sorted([a, b])
        for study, n in ((a, 4), (b, 3)):
            trials = Study.load(study, j).trials()
            assert len(trials) == n
            assert all(t.status.value in ("completed", "stopped") for t in trials)
    reported = {(r.trial_id, r.step) for r in _records(db, a) if isinstance(r, ResultReported)}
    saved = {(r.trial_id, r.step) for r in _records(db, a) if isinstance(r, CheckpointSaved)}
    # by default every step a trial went on from is checkpointed (a step at which the
    # scheduler stopped it needs none)
    last = {t: max(st for tt, st in reported if tt == t) for t, _ in reported}
    assert saved <= reported
    assert {(t, st) for t, st in reported if st < last[t]} <= saved
    assert any(st > 1 for _, st in saved)
    assert not [r for r in _records(db, b) if isinstance(r, CheckpointSaved)]

    # the same name with another max_step is refused as bad input: one line, exit 2, and
    # nothing written to the study that exists
    count = len(_records(db, a))
    again = _example(name, tmp_path, "--name", a, "--trials", "4", "--max-step", "3",
                     "--storage", str(db))
    assert again.returncode == 2
    assert again.stderr.count("\n") == 1 and "Traceback" not in again.stderr
    assert again.stderr.startswith(f"{name}.py: error: max_step: study {a!r} exists with "
                                   "max_step 4, not 3")
    assert len(_records(db, a)) == count


def test_the_headers_commands_name_their_own_studies(tmp_path: Path) -> None:
    """The documented commands (the docstring's ``python examples/...`` lines) run studies of
    different names, and the header's ``rung show`` names the default command's."""
    from _examples_cli import parse_args

    for name in ("mlp_digits", "boosting"):
        doc = load_example(name).__doc__
        assert doc is not None
        lines = [ln.split("#")[0].split() for ln in doc.splitlines()
                 if ln.strip().startswith(f"python examples/{name}.py")]
        assert len(lines) == 2
        names = [parse_args([*cmd[2:], "--storage", str(tmp_path / "x.db")], doc, name,
                            UNIT[name])[1].name for cmd in lines]
        assert names == [name, f"{name}-8trials-9{UNIT[name]}"]
        assert f"rung show {name} --storage runs/examples.db" in doc
        assert f"# {names[1]}" in doc  # the second line says which study it runs


@pytest.mark.parametrize("argv", [
    ["--workers", "0"], ["--trials", "0"], ["--max-step", "0"], ["--checkpoint-every", "-1"],
    ["--trials", "many"],
])
def test_bad_option_values_are_one_line_and_exit_2_writing_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    argv: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    mod = load_example("mlp_digits")
    with pytest.raises(SystemExit) as e:
        mod.main([*argv, "--storage", str(tmp_path / "runs" / "x.db")])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"mlp_digits.py: error: {argv[0]}: ") or err.startswith(
        f"{Path(sys.argv[0]).name}: error: {argv[0]}: ")
    assert argv[1] in err
    assert list(tmp_path.iterdir()) == []  # not even the journal's folder


def test_checkpoint_every_defaults_to_every_step_and_zero_turns_it_off(tmp_path: Path) -> None:
    from _examples_cli import parse_args

    doc = load_example("mlp_digits").__doc__ or ""
    db = str(tmp_path / "x.db")
    _, args = parse_args(["--storage", db], doc, "mlp_digits", "epochs")
    assert args.checkpoint_every == 1
    _, args = parse_args(["--checkpoint-every", "0", "--storage", db], doc, "mlp_digits",
                         "epochs")
    assert args.checkpoint_every is None


def test_spec_yaml_is_valid_and_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setenv("PYTHONPATH", os.environ.get("PYTHONPATH", ""))
    spec, fn = load_spec(EXAMPLES / "spec.yaml")  # validates and imports the objective
    assert spec.objective == "boosting:train" and callable(fn)
    # the same spec, shrunk
    data = yaml.safe_load((EXAMPLES / "spec.yaml").read_text())
    data.update(path=str(EXAMPLES), storage=str(tmp_path / "s.db"), max_step=3,
                budget={"n_trials": 3}, n_workers=2, checkpoint_every=1)
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(data))
    r = subprocess.run([sys.executable, "-m", "rung.cli", "run", "spec.yaml"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=300, env=_env())
    assert r.returncode == 0, r.stderr
    assert "boosting done: best val_logloss=" in r.stdout
