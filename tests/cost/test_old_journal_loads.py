"""A journal whose stored spec has a budget its ``resources_per_trial`` would never spend (as a
version before that rule wrote it) still loads: ``Study.load``, ``rung show`` and ``rung
ledger`` read it. The rule (``rung.core.pricing.check_spendable``) refuses where a study is
created (``Study.create`` / ``from_spec``) or run (``run`` / ``simulate``), nothing written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import rung
from rung.cli.main import main
from rung.core.records import ComponentSpec, StudySpec
from rung.errors import ConfigError
from rung.storage import SQLiteJournal

NEVER_COST = ("budget.max_cost: would never be spent: a trial holds cpu=2 (resources_per_trial) "
              "and prices {'gpu:A100': 3.0} charge none of it")
NEVER_GPU = ("budget.max_gpu_hours: would never be spent: a trial holds cpu=2 "
             "(resources_per_trial); say what it holds, e.g. resources_per_trial: {gpu: 1}")
SPACE = {"x": rung.Float(0.0, 1.0)}


class Bench:
    max_step = 3

    def evaluate(self, params: dict[str, Any], step: int) -> tuple[dict[str, float], float]:
        return {"loss": params["x"] + 1.0 / step}, 60.0


def _old_journal(db: Path, budget: dict[str, float], prices: dict[str, float]) -> None:
    """The spec JSON written straight to the journal, as a version without the check did."""
    spec = rung.Study.create("s", SPACE, objective="loss", searcher="random", scheduler="fifo",
                             max_step=3, budget=rung.Budget(n_trials=3),
                             resources_per_trial={"cpu": 2}).spec.to_json()
    with SQLiteJournal(db) as j:
        j.create_study("s", spec | {"budget": spec["budget"] | budget, "prices": prices})


@pytest.mark.parametrize(
    ("budget", "prices", "line"),
    [({"max_cost": 1.0}, {"gpu:A100": 3.0}, NEVER_COST),
     ({"max_gpu_hours": 1.0}, {}, NEVER_GPU)],
)
def test_an_old_journal_loads_and_its_run_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], budget: dict[str, float],
    prices: dict[str, float], line: str,
) -> None:
    db = tmp_path / "s.db"
    _old_journal(db, budget, prices)
    study = rung.Study.load("s", db)
    stored = study.spec.budget.to_json()
    assert {k: stored[k] for k in ("n_trials", *budget)} == {"n_trials": 3} | budget
    assert study.spec.resources_per_trial == {"cpu": 2.0}
    with pytest.raises(ConfigError) as e:
        study.simulate(Bench(), n_workers=1)
    assert str(e.value) == line
    with pytest.raises(ConfigError) as e:
        study.run(lambda ctx: None, executor="local", n_workers=1, progress=False)
    assert str(e.value) == line
    study.close()
    with SQLiteJournal(db, readonly=True) as j:
        assert j.read("s") == []  # nothing written
    assert main(["show", "s", "--storage", str(db)]) == 0
    budget_line = next(ln for ln in capsys.readouterr().out.splitlines()
                       if ln.startswith("  budget "))
    assert budget_line.split()[1] == "n_trials=3,"
    assert main(["ledger", "s", "--storage", str(db), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["trials"], data["prices"]) == (0, prices)
    assert {k: data["budget"][k] for k in budget} == budget


def test_a_new_study_is_refused_when_created(tmp_path: Path) -> None:
    """Study.create and Study.from_spec refuse it before the journal is opened; a spec value
    itself (what a journal reads back) no longer does."""
    db = tmp_path / "s.db"
    spec = StudySpec(name="s", space=rung.SearchSpace(SPACE),
                     objective=rung.Objective("loss"),
                     searcher=ComponentSpec("random"), scheduler=ComponentSpec("fifo"),
                     budget=rung.Budget(max_gpu_hours=1.0), resources_per_trial={"cpu": 2})
    with pytest.raises(ConfigError) as e:
        rung.Study.from_spec(spec, db)
    assert str(e.value) == NEVER_GPU
    with pytest.raises(ConfigError) as e:
        rung.Study.create("s", SPACE, objective="loss", searcher="random", scheduler="fifo",
                          storage=db, prices={"gpu:a100": 3}, resources_per_trial={"cpu": 2},
                          budget=rung.Budget(max_cost=1, n_trials=3))
    assert str(e.value) == NEVER_COST
    assert not db.exists()


def test_resume_of_an_old_journal_is_refused_as_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``rung resume`` on a stored spec whose budget would never be spent: one line naming the
    spec key, exit 2, no "resume with" hint (resuming again would fail the same way), and
    nothing appended to the journal."""
    import sqlite3

    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.yaml").write_text(
        "name: sim\nexecutor: simulated\nbenchmark: {name: mf-branin}\nn_workers: 1\n"
        "searcher: random\nscheduler: fifo\nseed: 0\nprices: {cpu: 1}\n"
        "resources_per_trial: {cpu: 2}\nbudget: {n_trials: 3, max_cost: 100}\n")
    assert main(["run", "spec.yaml", "--no-live"]) == 0
    db = tmp_path / "runs" / "sim.db"
    with sqlite3.connect(db) as con:  # as a version without the check could have stored it
        (text,) = con.execute("SELECT spec FROM study WHERE name = 'sim'").fetchone()
        spec = json.loads(text)
        spec["prices"] = {"gpu:A100": 3.0}
        spec["budget"]["n_trials"] = 6  # room to resume
        con.execute("UPDATE study SET spec = ? WHERE name = 'sim'", (json.dumps(spec),))
    with SQLiteJournal(db, readonly=True) as j:
        before = len(j.read("sim"))
    capsys.readouterr()
    assert main(["resume", "sim"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["rung: error: spec.budget.max_cost: would never be spent: a trial holds cpu=2 "
                   "(resources_per_trial) and prices {'gpu:A100': 3.0} charge none of it"]
    with SQLiteJournal(db, readonly=True) as j:
        assert len(j.read("sim")) == before
