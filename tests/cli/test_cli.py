"""`rung run / resume / ls / show` end to end."""

from __future__ import annotations

import io
import math
import re
import signal
import time
from pathlib import Path

import pytest
from clihelp import files_under, popen_rung, run_rung, sim_spec, tiny_spec, write_spec

from rung.cli.main import main
from rung.cli.progress import Progress
from rung.cli.report import fmt_num
from rung.storage import SQLiteJournal
from rung.study import Study


def load(db: Path, name: str) -> Study:
    return Study.load(name, SQLiteJournal(db, readonly=True))


@pytest.fixture
def sim_study(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
              capsys: pytest.CaptureFixture[str]) -> Path:
    """A finished simulated study in ``tmp_path/runs/sim.db``."""
    monkeypatch.chdir(tmp_path)
    write_spec(tmp_path, sim_spec(n_trials=30))
    assert main(["run", "spec.yaml", "--no-live"]) == 0
    out = capsys.readouterr().out
    assert "sim done: best loss=" in out
    assert "rung show sim" in out
    return tmp_path / "runs" / "sim.db"


def test_run_simulated_spec(sim_study: Path) -> None:
    study = load(sim_study, "sim")
    assert len(study.trials()) == 30
    assert study.engine.history.n_suggested == 30
    assert not study.trials("running") and not study.trials("launched")
    assert study.best_trial is not None


def test_show_prints_the_numbers(sim_study: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study = load(sim_study, "sim")
    best = study.best_trial
    assert best is not None
    completed = len(study.trials("completed"))
    stopped = len(study.trials("stopped"))
    rungs = study.engine.scheduler.state()["rungs"]
    assert main(["show", "sim"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("study sim  (runs/sim.db)")
    assert f"trials     30: running 0, paused 0, stopped {stopped}, completed {completed}" in out
    assert f"best loss={fmt_num(study.best_value())} (trial #{best.id}, step 27)" in out
    assert f"{study.engine.history.n_results} results" in out
    # best-trials table: the best trial first
    table = out.split("best trials")[1]
    first_row = table.splitlines()[2].split()
    assert first_row[:3] == [str(best.id), best.status.value, str(best.last_step)]
    # rung occupancy: one row per rung with its results and continued counts
    occupancy = out.split("rung occupancy (asha)")[1]
    for r in rungs:
        assert re.search(rf"^\s+{r['step']}\s+{r['results']}\s+{r['continued']}\b", occupancy,
                         re.M), (r, occupancy)
    assert rungs[0]["results"] == 30
    if hasattr(study, "diagnostics"):
        assert "diagnostics" in out
    # --top limits the table
    assert main(["show", "sim", "--top", "2", "--storage", str(sim_study)]) == 0
    table = capsys.readouterr().out.split("best trials (top 2)")[1].split("\n\n")[0]
    assert len(table.strip().splitlines()) == 3


def test_ls_lists_the_study(sim_study: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study = load(sim_study, "sim")
    completed = len(study.trials("completed"))
    assert main(["ls"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["study", "state", "trials"]
    row = out[1].split()
    assert row[:4] == ["sim", "done", "30", str(completed)]
    assert row[-1] == "runs/sim.db"
    assert f"{fmt_num(study.best_value())} (loss)" in out[1]
    # --storage takes a file or a directory
    assert main(["ls", "--storage", str(sim_study)]) == 0
    assert "sim" in capsys.readouterr().out
    assert main(["ls", "--storage", str(sim_study.parent)]) == 0
    assert "sim" in capsys.readouterr().out


def test_ls_empty_and_unknown_study(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["ls"]) == 0
    assert "no studies" in capsys.readouterr().out
    assert main(["show", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rung: error: no study named 'nope'") and len(err.splitlines()) == 1
    assert main(["resume", "nope"]) == 2
    assert files_under(tmp_path) == set()


def test_resume_finished_study_is_a_no_op(sim_study: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    n = len(load(sim_study, "sim").trials())
    assert main(["resume", "sim", "--no-live"]) == 0
    assert "sim done" in capsys.readouterr().out
    assert len(load(sim_study, "sim").trials()) == n


def test_two_studies_in_one_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    write_spec(tmp_path, sim_spec("a", 5, "storage: shared.db\n"), "a.yaml")
    write_spec(tmp_path, sim_spec("b", 7, "storage: shared.db\n"), "b.yaml")
    assert main(["run", "a.yaml", "--no-live"]) == 0
    assert main(["run", "b.yaml", "--no-live"]) == 0
    capsys.readouterr()
    assert main(["ls", "--storage", "shared.db"]) == 0
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()[1:]}
    assert rows["a"][2] == "5" and rows["b"][2] == "7"
    assert main(["show", "b", "--storage", "."]) == 0  # a directory is searched
    assert "trials     7:" in capsys.readouterr().out


def test_progress_views(sim_study: Path) -> None:
    study = load(sim_study, "sim")
    buf = io.StringIO()
    with Progress(study, stream=buf, live=False, interval=0.0) as prog:
        prog.on_turn(study.engine)
    lines = buf.getvalue().splitlines()
    assert len(lines) == 2
    assert "trials 30/30" in lines[0] and "stopped" in lines[0] and "results/s" in lines[0]
    buf = io.StringIO()
    with Progress(study, stream=buf, live=True, refresh=0.0) as prog:
        prog.on_turn(study.engine)
    text = buf.getvalue()
    assert "sim" in text and "asha rungs" in text and "trials/s" in text


def test_run_local_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    """A real `rung run` with worker processes (trials with x > 0.5 raise at step 1), then
    `rung show`."""
    write_spec(tmp_path, tiny_spec(n_trials=8, max_step=9, storage="out/t.db",
                                   fixed={"fail_at": 1}, extra="checkpoint_every: 3\n"))
    r = run_rung("run", "spec.yaml", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "tiny done: best loss=" in r.stdout
    assert "rung show tiny --storage out/t.db" in r.stdout
    study = load(tmp_path / "out" / "t.db", "tiny")
    trials = study.trials()
    assert [t.id for t in trials] == list(range(8))
    failed = study.trials("failed")
    assert failed, "some of the 8 draws have x > 0.5"
    for t in trials:
        if t.status.value == "failed":
            assert t.params["x"] > 0.5 and "boom at step 1" in (t.error or "")
        else:
            assert t.status.value in ("completed", "stopped")
    best = study.best_trial
    assert best is not None and best.last_step == 9
    assert math.isclose(best.score, (best.params["x"] - 0.3) ** 2 + 1 / 9)
    # the best finished trial keeps its final checkpoint (keep_checkpoints: 1)
    assert best.checkpoint is not None
    assert (tmp_path / "out" / "t-checkpoints" / "tiny" / best.checkpoint.path).is_dir()
    monkeypatch.chdir(tmp_path)
    assert main(["show", "tiny", "--storage", "out"]) == 0
    out = capsys.readouterr().out
    assert "trials     8:" in out and f"failed {len(failed)}" in out
    assert f"(trial #{best.id}, step 9)" in out
    assert f"last failure  trial #{failed[-1].id}: ValueError: boom at step 1" in out
    ids = ", ".join(f"#{t.id}" for t in failed[:5])
    assert (f"failures   {len(failed)} x ValueError  (trials {ids}; last: ValueError: boom at "
            f"step 1 (x=") in out


def test_ctrl_c_stops_cleanly_and_resume_finishes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_spec(tmp_path, tiny_spec(name="cc", n_trials=24, max_step=9, delay=0.04))
    proc = popen_rung("run", "spec.yaml", "--log-every", "0.2", cwd=tmp_path)
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    for line in proc.stdout:  # wait for the first results, then interrupt
        if "best loss=" in line or time.monotonic() > deadline:
            break
    # while it runs: `ls` sees a live driver, `resume` refuses to start a second one
    capsys.readouterr()
    assert main(["ls", "--storage", str(tmp_path / "runs")]) == 0
    assert capsys.readouterr().out.splitlines()[1].split()[:2] == ["cc", "running"]
    assert main(["resume", "cc", "--storage", str(tmp_path / "runs")]) == 2  # as `run`
    err = capsys.readouterr().err
    assert "being run by another process (watch it with: rung show cc" in err
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Resume with: rung resume cc" in err
    assert "Traceback" not in err
    study = load(tmp_path / "runs" / "cc.db", "cc")
    n_before = len(study.trials())
    assert 0 < n_before < 24
    r = run_rung("resume", "cc", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    study = load(tmp_path / "runs" / "cc.db", "cc")
    assert study.engine.history.n_suggested == 24
    assert [t.id for t in study.trials()] == list(range(24))
    assert all(t.status.value in ("completed", "stopped") for t in study.trials())


def test_show_states_constraints_and_no_feasible_trial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A spec's constraints are shown with the objective; when no trial satisfies them the
    best line says so instead of 'none yet'."""
    monkeypatch.chdir(tmp_path)
    write_spec(tmp_path, sim_spec("cons", n_trials=12,
                                  extra="constraints: ['loss <= -1', {metric: loss, op: '<=', bound: 5}]\n"))
    assert main(["run", "spec.yaml", "--no-live"]) == 0
    assert "cons done: best: no feasible trial\n" in capsys.readouterr().out
    assert main(["show", "cons"]) == 0
    out = capsys.readouterr().out
    assert "objective  loss (min)   subject to loss <= -1, loss <= 5" in out
    assert "best: no feasible trial\n" in out


def test_auto_choice_is_printed_and_journaled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    write_spec(tmp_path, "name: auto\nexecutor: simulated\nbenchmark: {name: mf-branin}\n"
                         "budget: {n_trials: 12}\nn_workers: 2\nseed: 1\n")
    assert main(["run", "spec.yaml", "--no-live"]) == 0
    out = capsys.readouterr().out
    reason = ("auto: searcher gp (2 dimensions, 0 categorical, unconditional: gp); "
              "scheduler asha (max_step 27: asha (stopping, eta 3, first rung chosen from data: "
              "8 trials run to max_step, then the lowest rung with Spearman >= 0.7 with the "
              "final value))")
    assert f"rung: study auto: {reason}" in out
    study = load(tmp_path / "runs" / "auto.db", "auto")
    assert study.auto_reason == reason
    assert (study.spec.searcher.name, study.spec.scheduler.name) == ("gp", "asha")


def test_failure_lines_group_every_failure_by_its_kind() -> None:
    from rung.cli.report import failure_lines
    from rung.core.records import Trial, TrialStatus

    def failed(tid: int, error: str) -> Trial:
        return Trial(id=tid, params={}, status=TrialStatus.FAILED,
                     error=f"Traceback (most recent call last):\n  ...\n{error}")

    trials = [failed(i, f"ValueError: boom {i}") for i in (1, 3, 4, 6, 8, 9, 11)]
    trials += [failed(2, "KeyError: 'lr'"), failed(5, "metric 'loss' is nan at step 3"),
               failed(7, "torch.cuda.OutOfMemoryError: CUDA out of memory"),
               failed(10, "metric 'loss' is nan at step 12")]
    # numbers in a message that names no exception do not split its kind (steps, pids)
    died = "too many interruptions (4; last: worker process {} died (exited with code 3) while "
    trials += [failed(12, died.format(812) + "running trial 12)"),
               failed(13, died.format(907) + "running trial 13)")]
    assert failure_lines(sorted(trials, key=lambda t: t.id)) == [
        "  failures   7 x ValueError  (trials #1, #3, #4, #6, #8, +2 more; "
        "last: ValueError: boom 11)",
        "  failures   2 x metric 'loss' is nan at step N  (trials #5, #10; "
        "last: metric 'loss' is nan at step 12)",
        "  failures   2 x too many interruptions  (trials #12, #13; last: "
        + died.format(907) + "running trial 13))",
        "  failures   1 x KeyError  (trials #2; last: KeyError: 'lr')",
        "  failures   1 x torch.cuda.OutOfMemoryError  (trials #7; "
        "last: torch.cuda.OutOfMemoryError: CUDA out of memory)",
    ]
    many = [failed(i, f"E{i}: x") for i in range(12)]
    lines = failure_lines(many)
    assert len(lines) == 11 and lines[-1] == "  failures   2 more in 2 other kinds"


def test_python_dash_m_rung_is_the_rung_command() -> None:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "rung", "ls", "--storage", "/nonexistent/x.db"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert out.stderr.startswith("rung: error: ") and out.stderr.count("\n") == 1
