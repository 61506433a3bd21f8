"""A study whose last step is beyond its simulated benchmark's ``max_step`` is refused before
anything is written: a spec's ``fidelity`` (without ``max_step``) as a ``max_step`` already was,
and ``Study.simulate`` (``ConfigError`` key ``max_step``), which ``rung resume`` of a study
stored that way reports as one line, exit 2.

Before, ``benchmark: mf-branin`` with ``fidelity: {name: epochs, values: [1, 100]}`` passed the
spec check, the study was written, and the run died with ``ValueError: mf-branin: step 28 is
outside 1..27`` (exit 1, trials left running); every ``rung resume`` died the same way."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from clihelp import files_under, write_spec

import rung
from rung.benchmarks import get_benchmark
from rung.cli.main import main
from rung.cli.spec import CLI_KEY, SpecError, parse_spec
from rung.errors import ConfigError
from rung.storage import SQLiteJournal
from rung.study import Study

SPEC = {"name": "fidbig", "executor": "simulated", "benchmark": "mf-branin",
        "budget": {"n_trials": 4}, "n_workers": 2}
BIG = {"name": "epochs", "values": [1, 100]}


def test_a_spec_refuses_a_fidelity_beyond_the_benchmark() -> None:
    with pytest.raises(SpecError) as e:
        parse_spec({**SPEC, "fidelity": BIG})
    assert str(e.value) == ("spec.fidelity: its last value (100) is step 100; the benchmark "
                            "goes up to 27")
    # up to the benchmark's last step it is accepted, and sets max_step
    spec = parse_spec({**SPEC, "fidelity": {"name": "epochs", "values": [1, 27]}})
    assert spec.study.max_step == 27
    # given with max_step, max_step is the key named (as before)
    with pytest.raises(SpecError) as e:
        parse_spec({**SPEC, "fidelity": BIG, "max_step": 100})
    assert str(e.value) == "spec.max_step: the benchmark goes up to 27, got 100"


def test_rung_run_refuses_it_before_anything_is_written(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_spec(isolated, "name: fidbig\nexecutor: simulated\nbenchmark: mf-branin\n"
               "fidelity: {name: epochs, values: [1, 100]}\nbudget: {n_trials: 4}\n"
               "n_workers: 2\n")
    before = files_under(isolated)
    assert main(["run", "spec.yaml", "--no-live", "--storage", "runs/"]) == 2
    assert capsys.readouterr() == ("", "rung: error: spec.fidelity: its last value (100) is "
                                   "step 100; the benchmark goes up to 27\n")
    assert files_under(isolated) == before


@pytest.mark.parametrize("kind", ["max_step", "fidelity"])
def test_study_simulate_refuses_it_before_anything_is_written(kind: str) -> None:
    bench = get_benchmark("mf-branin")
    extra = ({"max_step": 100} if kind == "max_step"
             else {"fidelity": rung.Fidelity("epochs", [1, 100])})
    study = Study.create("s", bench.space, objective="loss", scheduler="fifo",
                         budget=rung.Budget(n_trials=4), **extra)  # type: ignore[arg-type]
    with pytest.raises(ConfigError) as e:
        study.simulate(bench, n_workers=2)
    of = " (the fidelity's last step)" if kind == "fidelity" else ""
    assert (e.value.key, e.value.message) == (
        "max_step", f"the study's max_step 100{of} is beyond the benchmark's: it goes up to 27")
    assert len(study.history) == 0 and study.journal.read("s") == []
    # a max_step up to the benchmark's still simulates
    ok = Study.create("ok", bench.space, objective="loss", scheduler="fifo", max_step=27,
                      budget=rung.Budget(n_trials=2))
    assert ok.simulate(bench, n_workers=2).best_trial is not None


def test_resume_of_a_study_stored_that_way_is_one_line_exit_2(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A journal an earlier rung wrote with such a fidelity: resuming it is refused, as a bad
    input (exit 2, one line on stderr), and writes nothing."""
    run = parse_spec({**SPEC, "fidelity": {"name": "epochs", "values": [1, 27]}})
    stored = dataclasses.replace(run.study, fidelity=rung.Fidelity("epochs", [1, 100]),
                                 max_step=100)
    path = isolated / "fidbig.db"
    Study.from_spec(stored, path, extra={CLI_KEY: run.cli_json()}).close()
    assert main(["resume", "fidbig", "--no-live", "--storage", str(path)]) == 2
    err = capsys.readouterr().err
    assert err == ("rung: error: spec.max_step: the study's max_step 100 (the fidelity's last "
                   "step) is beyond the benchmark's: it goes up to 27\n")
    with SQLiteJournal(path, readonly=True) as j:
        assert j.read("fidbig") == []
