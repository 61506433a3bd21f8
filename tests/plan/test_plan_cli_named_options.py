"""``rung plan``'s refusals name the option the user passed: a budget the given
``--resources`` would never spend is ``--resources: ...`` (it was ``prices: ...``, an option
nobody passed), and an empty ``--prices`` or ``--resources`` is refused (``--prices ''`` fell
back to the pilot's prices)."""

from __future__ import annotations

from pathlib import Path

import pytest
from planhelp import PowerLawBench

from rung import Budget, Objective, Study
from rung.cli.main import main
from rung.storage import SQLiteJournal


def _pilot(db: Path) -> None:
    """A FIFO pilot under max_cost=60 at 3600 per CPU-hour and 360 per A100-hour, one CPU
    per trial."""
    bench = PowerLawBench(max_step=3, constant=1.0)
    Study.create("mc", bench.space, Objective("loss", "min"), searcher="random",
                 scheduler="fifo", max_step=3, budget=Budget(max_cost=60.0), seed=0,
                 prices={"cpu": 3600.0, "gpu:A100": 360.0}, storage=db,
                 ).simulate(bench, n_workers=2).close()


@pytest.mark.parametrize(("args", "line"), [
    (["--resources", "gpu:T4=1"],
     "--resources: the planned budget max_cost=60 would never be spent: one trial (gpu:T4=1) "
     "costs nothing under prices {'cpu': 3600.0, 'gpu:A100': 360.0}"),
    (["--resources", "gpu:T4=1", "--prices", "gpu:A100=2"],
     "--prices: the planned budget max_cost=60 would never be spent: one trial (gpu:T4=1) "
     "costs nothing under prices {'gpu:A100': 2.0}"),
    (["--prices", ""], "--prices: expected DEVICE=NUMBER,... got ''"),
    (["--resources", ""], "--resources: expected DEVICE=NUMBER,... got ''"),
], ids=["resources", "both", "empty-prices", "empty-resources"])
def test_a_refusal_names_the_option_given(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          args: list[str], line: str) -> None:
    db = tmp_path / "m.db"
    _pilot(db)
    before = len(SQLiteJournal(db, readonly=True).read("mc"))
    capsys.readouterr()
    assert main(["plan", "mc", "--storage", str(db), *args]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines() == [f"rung: error: {line}"]
    assert captured.out == ""
    assert len(SQLiteJournal(db, readonly=True).read("mc")) == before
