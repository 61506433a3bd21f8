"""Simulated worker counts: bounded (``rung.study.MAX_SIMULATED_WORKERS``) alike in a spec's
``n_workers``, ``rung run`` / ``rung resume --workers`` and ``Study.simulate``, and ``rung run
--workers N`` counts as the spec's ``n_workers`` for everything that reads it, ``auto`` first.

Before, a simulated spec had no bound (``rung run simt.yaml --workers 100000000`` with a
``max_time`` budget wrote 2.17 million trials and 2.3 GB in a minute), and ``auto`` was chosen
from the spec's ``n_workers`` before ``--workers`` was read (``--workers 64`` chose ``gp``,
``n_workers: 64`` chose ``random``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from clihelp import files_under, write_spec

import rung
from rung.benchmarks import benchmark_from_json
from rung.cli.main import main
from rung.cli.spec import SpecError, load_spec, parse_spec
from rung.errors import ConfigError
from rung.storage import SQLiteJournal
from rung.study import MAX_SIMULATED_WORKERS, Study

SIM = ("name: sim\nexecutor: simulated\nbenchmark: mf-branin\nbudget: {n_trials: 70}\n"
       "seed: 0\n")
TIMED = "name: timed\nexecutor: simulated\nbenchmark: mf-branin\nbudget: {max_time: 3600}\n"
WHY = "(a simulated run starts a trial on each at once)"


def test_the_limit_is_the_documented_one() -> None:
    assert MAX_SIMULATED_WORKERS == 10_000
    docs = (Path(__file__).resolve().parents[2] / "docs" / "spec.md").read_text()
    assert "at most 10,000 simulated workers" in " ".join(docs.split())


def test_a_spec_refuses_more_simulated_workers(tmp_path: Path) -> None:
    data = {"name": "s", "executor": "simulated", "benchmark": "mf-branin",
            "budget": {"max_time": 3600}}
    assert parse_spec({**data, "n_workers": 10_000}).n_workers == 10_000
    with pytest.raises(SpecError) as e:
        parse_spec({**data, "n_workers": 10_001})
    assert str(e.value) == f"spec.n_workers: at most 10,000 simulated workers {WHY}, got 10,001"
    with pytest.raises(SpecError) as e:
        parse_spec(data, n_workers=100_000_000)
    assert str(e.value) == (f"--workers: at most 10,000 simulated workers {WHY}, got "
                            "100,000,000")
    # --workers stands in place of n_workers, which is still checked as a key of the file
    assert parse_spec({**data, "n_workers": 3}, n_workers=5).n_workers == 5
    with pytest.raises(SpecError) as e:
        parse_spec({**data, "n_workers": "many"}, n_workers=5)
    assert str(e.value) == "spec.n_workers: must be an integer >= 1, got 'many'"


def test_run_refuses_them_before_anything_is_written(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_spec(isolated, TIMED)
    before = files_under(isolated)
    assert main(["run", "spec.yaml", "--workers", "100000000", "--no-live"]) == 2
    assert capsys.readouterr() == ("", f"rung: error: --workers: at most 10,000 simulated "
                                   f"workers {WHY}, got 100,000,000\n")
    write_spec(isolated, TIMED + "n_workers: 20000\n")
    assert main(["run", "spec.yaml", "--no-live"]) == 2
    assert capsys.readouterr().err == (f"rung: error: spec.n_workers: at most 10,000 simulated "
                                       f"workers {WHY}, got 20,000\n")
    assert files_under(isolated) == before


def test_study_simulate_refuses_them_before_anything_is_simulated() -> None:
    bench = benchmark_from_json({"name": "mf-branin", "params": {}})
    study = Study.create("s", bench.space, rung.Objective(bench.metric, bench.mode),
                         searcher="random", scheduler="fifo", max_step=bench.max_step,
                         budget=rung.Budget(max_time=3600))
    for n, message in ((100_000_000, f"at most 10,000 simulated workers {WHY}, got "
                                     "100,000,000"),
                       (0, "must be an integer >= 1, got 0"),
                       (2.5, "must be an integer >= 1, got 2.5")):
        with pytest.raises(ConfigError) as e:
            study.simulate(bench, n_workers=n)  # type: ignore[arg-type]
        assert (e.value.key, e.value.message) == ("n_workers", message)
    assert len(study.history) == 0 and study.journal.read("s") == []


def test_workers_option_counts_as_n_workers_for_auto(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_spec(isolated, SIM + "n_workers: 64\n", "spec64.yaml")
    assert main(["run", "spec64.yaml", "--no-live", "--storage", "a.db"]) == 0
    from_spec = capsys.readouterr().out.splitlines()[0]
    write_spec(isolated, SIM)
    assert main(["run", "spec.yaml", "--workers", "64", "--no-live", "--storage", "b.db"]) == 0
    from_option = capsys.readouterr().out.splitlines()[0]
    assert from_spec == from_option
    assert from_option.startswith(
        "rung: study sim: auto: searcher random (64 workers (>= 64): random); scheduler asha")
    # and the study ran on as many, and the journal records them
    with SQLiteJournal(isolated / "b.db", readonly=True) as j:
        assert j.load_study("sim")["cli"]["n_workers"] == 64
    study = Study.load("sim", isolated / "b.db", readonly=True)
    assert study.engine.capacity == 64
    study.close()
    # without either: chosen for 1 simulated worker
    assert (load_spec("spec.yaml")[0].auto or "").startswith("auto: searcher gp (")


def test_resume_workers_chooses_nothing_again(
    isolated: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A resumed study keeps the components it was created with (the journal's): ``--workers``
    of ``rung resume`` only sets how many workers this session runs."""
    write_spec(isolated, SIM)

    def interrupted(self: Study, *args: object, **kwargs: object) -> Study:
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(Study, "simulate", interrupted)
        assert main(["run", "spec.yaml", "--no-live"]) == 130
    assert "auto: searcher gp (" in capsys.readouterr().out  # chosen for 1 worker
    assert main(["resume", "sim", "--workers", "64", "--no-live"]) == 0
    out = capsys.readouterr().out
    assert "auto:" not in out
    study = Study.load("sim", isolated / "runs" / "sim.db", readonly=True)
    assert (study.spec.searcher.name, study.spec.scheduler.name) == ("gp", "asha")
    assert study.engine.capacity == 64
    study.close()
    assert main(["resume", "sim", "--workers", "10001", "--no-live"]) == 2
    assert capsys.readouterr().err == (f"rung: error: --workers: at most 10,000 simulated "
                                       f"workers {WHY}, got 10,001\n")
