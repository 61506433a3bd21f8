"""An int too large for a float as a constraint's metric: ``Study.tell`` refuses it where it
refuses the other values that are not real numbers (``"1"``, ``None``, ``True``); a journal
that already holds one reads it as not finite, so the constraint is violated (never
feasible), and every reader (``best_trial``, ``rung show / ls / export``, the dashboard) works."""

from __future__ import annotations

from pathlib import Path

import pytest

import rung
from rung.cli.main import main
from rung.core.constraints import Constraint
from rung.core.events import ResultReported
from rung.errors import ConfigError

HUGE = 10**400


def study(path: Path | None = None) -> rung.Study:
    return rung.Study.create("c", {"x": rung.Float(0.0, 1.0)}, "loss", searcher="random",
                             scheduler="fifo", max_step=1, budget=rung.Budget(n_trials=3),
                             constraints=["mem <= 10"], storage=path)


@pytest.mark.parametrize(("value", "shown"), [
    (HUGE, "must be a real number a float can hold (the metric of constraint 'mem <= 10'), "
           "got an int of 401 digits"),
    ("1", "must be a real number (the metric of constraint 'mem <= 10'), got '1' (str)"),
    (True, "must be a real number (the metric of constraint 'mem <= 10'), got True (bool)"),
])
def test_tell_refuses_it_with_the_other_bad_values(value: object, shown: str) -> None:
    s = study()
    t = s.ask()
    assert t is not None
    with pytest.raises(ConfigError) as e:
        s.tell(t.id, "completed", {"loss": 0.5, "mem": value})
    assert str(e.value) == f"metrics['mem']: {shown}"
    assert not s.trial(t.id).results  # nothing written


def test_its_slack_is_infinite() -> None:
    c = Constraint("mem", "<=", 10.0)
    assert c.slack_of(HUGE) == c.slack_of(-HUGE) == c.slack_of("1") == float("inf")


def test_a_journal_holding_one_reads_as_violated(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    s = study(tmp_path / "c.db")
    a, b = s.ask(), s.ask()
    assert a is not None and b is not None
    s._turn([ResultReported(a.id, 1, {"loss": 0.1, "mem": HUGE}, s._now())])  # as before
    s.tell(a.id, "completed")
    s.tell(b.id, "completed", {"loss": 0.5, "mem": 1})
    assert not s.feasible(a.id) and s.feasible(b.id)
    assert s.best_trial is not None and s.best_trial.id == b.id
    s.close()
    db = str(tmp_path / "c.db")
    for argv in (["show", "c"], ["ls"], ["export", "c", "--table", "results"],
                 ["export", "c", "--format", "json"]):
        assert main([*argv, "--storage", db]) == 0, argv
    assert "0.5 (loss)" in capsys.readouterr().out  # the feasible best, listed by ls


def test_the_dashboard_reads_it(tmp_path: Path) -> None:
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from rung.dashboard.app import create_app

    s = study(tmp_path / "c.db")
    a = s.ask()
    assert a is not None
    s._turn([ResultReported(a.id, 1, {"loss": 0.1, "mem": HUGE}, s._now())])
    s.tell(a.id, "completed")
    s.close()
    c = TestClient(create_app(tmp_path))
    got = c.get("/api/study/c")
    assert got.status_code == 200
    assert got.json()["constraints"] == ["mem <= 10"]
