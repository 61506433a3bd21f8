"""Commands the CLI prints work when pasted into a shell, and a spec that differs from the
stored study of the same name says how."""

from __future__ import annotations

import importlib.util
import shlex
from pathlib import Path

import pytest
from clihelp import files_under, sim_spec, write_spec

from rung.cli.main import main


def _hint(text: str, prefix: str) -> list[str]:
    """The command after ``prefix`` on the line that holds it, split as a shell splits it."""
    line = next(ln for ln in text.splitlines() if prefix in ln)
    return shlex.split(line[line.index(prefix):].split("`")[0].rstrip(")"))


def test_printed_commands_quote_a_storage_path_with_spaces(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_spec(isolated, sim_spec("sp", n_trials=4))
    assert main(["run", "spec.yaml", "--no-live", "--storage", "my runs/a b.db"]) == 0
    out = capsys.readouterr().out
    show = _hint(out, "rung show")
    assert show == ["rung", "show", "sp", "--storage", "my runs/a b.db"]
    assert main(show[1:]) == 0
    capsys.readouterr()
    assert main(["run", "spec.yaml", "--storage", "my runs/a b.db"]) == 2
    resume = _hint(capsys.readouterr().err, "rung resume")
    assert resume == ["rung", "resume", "sp", "--storage", "my runs/a b.db"]
    assert main([*resume[1:], "--no-live"]) == 0  # finished: a no-op, but it finds the study


def test_default_storage_needs_no_flag(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_spec(isolated, sim_spec("dflt", n_trials=3))
    assert main(["run", "spec.yaml", "--no-live"]) == 0
    assert _hint(capsys.readouterr().out, "rung show") == ["rung", "show", "dflt"]


def test_rerun_of_a_changed_spec_names_what_changed(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_spec(isolated, sim_spec("ch", n_trials=3))
    assert main(["run", "spec.yaml", "--no-live"]) == 0
    db = isolated / "runs" / "ch.db"
    before = db.stat().st_mtime_ns, db.stat().st_size
    capsys.readouterr()
    # another n_workers is a run-time choice, not a different study
    write_spec(isolated, sim_spec("ch", n_trials=3).replace("n_workers: 4", "n_workers: 2"))
    assert main(["run", "spec.yaml"]) == 2
    assert capsys.readouterr().err == (
        "rung: error: spec.name: study 'ch' already exists in runs/ch.db "
        "(continue it with: rung resume ch)\n")
    write_spec(isolated, sim_spec("ch", n_trials=5, extra="metric: loss\nmode: max\n"))
    assert main(["run", "spec.yaml"]) == 2
    assert capsys.readouterr().err == (
        "rung: error: spec.name: study 'ch' already exists in runs/ch.db with other budget, "
        "metric/mode than this spec's; a study's settings are fixed when it is created: "
        "`rung resume ch` continues it as stored, or give this spec another name\n")
    assert (db.stat().st_mtime_ns, db.stat().st_size) == before


def test_resume_names_the_recorded_objective_it_cannot_import(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rung.cli.spec import CLI_KEY, parse_spec
    from rung.study import Study

    (isolated / "gone_objective.py").write_text("def train(ctx):\n    pass\n")
    spec = parse_spec({"name": "mv", "objective": "gone_objective:train", "metric": "loss",
                       "space": {"x": [1, 2]}, "budget": {"n_trials": 2}}, base_dir=isolated)
    Study.from_spec(spec.study, spec.storage, extra={CLI_KEY: spec.cli_json()}).close()
    (isolated / "gone_objective.py").unlink()  # moved away since the study was created
    assert main(["resume", "mv"]) == 2
    assert capsys.readouterr().err == (
        "rung: error: study 'mv' runs the objective 'gone_objective:train' (recorded when it "
        f"was created): no module named 'gone_objective' (looked in {isolated})\n")


def test_a_tilde_in_the_spec_is_the_home_directory(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rung.cli.spec import parse_spec

    home = isolated / "home"
    (home / "code").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    tb = importlib.util.find_spec("tensorboardX") is not None
    tracking = {"tracking": {"tensorboard": {"logdir": "~/tb"}}} if tb else {}
    spec = parse_spec({"name": "t", "objective": "m:f", "path": "~/code", "metric": "loss",
                       "space": {"x": [1, 2]}, "budget": {"n_trials": 2},
                       "storage": "~/runs/t.db", **tracking}, base_dir=isolated)
    assert spec.storage == home / "runs" / "t.db"  # not ./~/runs/t.db
    assert spec.path == (str(home / "code"),)
    if tb:
        assert spec.tracking == {"tensorboard": {"logdir": str(home / "tb")}}


def test_rerun_while_another_process_runs_the_study_says_so(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import fcntl
    import os

    from rung.storage.paths import lock_file_name

    write_spec(isolated, sim_spec("busy", n_trials=3))
    assert main(["run", "spec.yaml", "--no-live"]) == 0
    capsys.readouterr()
    lock = isolated / "runs" / lock_file_name("busy.db", "busy")
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # what a live driver holds
        assert main(["run", "spec.yaml"]) == 2
    finally:
        os.close(fd)
    assert capsys.readouterr().err == (
        "rung: error: spec.name: study 'busy' already exists in runs/busy.db, and another "
        "process is running it now (watch it with: rung show busy)\n")


def test_show_notes_the_resume_command_with_the_storage_it_read(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import rung

    study = rung.Study.create("asked", rung.SearchSpace({"x": rung.Float(0.0, 1.0)}),
                              objective=rung.Objective("loss", "min"), max_step=2,
                              budget=rung.Budget(n_trials=2), storage="my runs/j.db",
                              searcher="random", scheduler="fifo")
    study.ask()  # a running trial, and no driver any more
    study.close()
    assert main(["show", "asked", "--storage", "my runs/j.db"]) == 0
    out = capsys.readouterr().out
    # created from Python: `rung resume` has no objective to run (it says so), Python does;
    # an asked trial goes on by report / tell (before: the advice was to run the study)
    assert "rung resume" not in out
    assert ("note: 1 trial(s) asked (Study.ask) and never told: #0; go on with them from "
            "Python, Study.load('asked', storage='my runs/j.db'), then report / tell them by "
            "id (tell(id) ends one as its scheduler decided, else completed; tell(id, "
            "'interrupted') one that cannot go on)") in out


def test_run_never_adds_its_tables_to_another_applications_database(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlite3

    with sqlite3.connect(isolated / "mlflow.db") as db:  # say, MLflow's tracking store
        db.execute("CREATE TABLE experiments (id INTEGER)")
    db.close()
    before = (isolated / "mlflow.db").read_bytes()
    write_spec(isolated, sim_spec("f", n_trials=2, extra="storage: mlflow.db\n"))
    assert main(["run", "spec.yaml"]) == 2
    assert capsys.readouterr().err == (
        "rung: error: spec.storage: mlflow.db is not a rung journal (no study/record tables); "
        "name a new file, or a rung journal\n")
    assert (isolated / "mlflow.db").read_bytes() == before
    assert files_under(isolated) == {"spec.yaml", "mlflow.db"}
    (isolated / "empty.db").write_bytes(b"")  # an empty file is a new journal
    assert main(["run", "spec.yaml", "--storage", "empty.db", "--no-live"]) == 0


def test_a_study_in_several_journals_of_a_directory_is_not_picked_at_random(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_spec(isolated, sim_spec("twice", n_trials=2))
    for db in ("d/one.db", "d/two.db"):
        assert main(["run", "spec.yaml", "--no-live", "--storage", db]) == 0
    capsys.readouterr()
    assert main(["show", "twice", "--storage", "d"]) == 2
    assert capsys.readouterr().err == ("rung: error: study 'twice' is in 2 journals under d: "
                                       "d/one.db, d/two.db (name one with --storage FILE)\n")
    assert main(["run", "spec.yaml", "--no-live", "--storage", "d/twice.db"]) == 0
    capsys.readouterr()
    assert main(["show", "twice", "--storage", "d"]) == 0  # <name>.db is the one meant
    assert capsys.readouterr().out.startswith("study twice  (d/twice.db)")
