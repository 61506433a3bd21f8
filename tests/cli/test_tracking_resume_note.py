"""``rung show``'s note on trials left running suggests ``rung resume`` only for a study that
``rung run`` created (the objective is on record): for a study driven by another tool (Ray
Tune's ``RungScheduler``) or created from Python, ``rung resume`` answered "objective: study
... has none on record"."""

from __future__ import annotations

from pathlib import Path

import pytest

from rung import Budget, Float, Objective, Study
from rung.cli.main import main
from rung.cli.report import show_study
from rung.integrations._embedded import Embedded
from rung.space import SearchSpace


def _notes(name: str, db: Path) -> list[str]:
    return [line for line in show_study(name, str(db)).splitlines() if "note:" in line]


def test_a_study_created_from_python_is_told_to_resume_from_python(tmp_path: Path) -> None:
    db = tmp_path / "py.db"
    study = Study.create("py", {"x": Float(0, 1)}, objective="loss", max_step=3, storage=db)
    trial = study.ask()
    assert trial is not None
    study.report(trial.id, 1, {"loss": 0.5})
    study.close()  # its process died with the trial running
    # an asked trial goes on by report / tell (before: the advice was to run the study)
    assert _notes("py", db) == [
        "  note: 1 trial(s) asked (Study.ask) and never told: #0; go on with them from "
        f"Python, Study.load('py', storage={str(db)!r}), then report / tell them by id "
        "(tell(id) ends one as its scheduler decided, else completed; tell(id, "
        "'interrupted') one that cannot go on)"]


def tool_study(db: Path) -> None:
    """Study ``tool`` in ``db``, driven by "Some Tool", its one trial left running."""
    emb = Embedded(SearchSpace.empty(), [Objective("loss", "min")], "random", "asha", 9, 0,
                   "tool", str(db), configured=True, host="Some Tool")
    emb.start_configured("a", {"id": "a", "lr": 0.1})
    emb.report("a", 1, {"loss": 1.0})
    emb.study.close()

def test_a_study_a_tool_drove_suggests_no_resume(tmp_path: Path) -> None:
    db = tmp_path / "tool.db"
    tool_study(db)
    assert _notes("tool", db) == [
        "  note: 1 trial(s) were running when the driver stopped; Some Tool drove this study "
        "and ran its trials: rung cannot resume them (a new run of the tool journals a new "
        "study)"]
    assert main(["resume", "tool", "--storage", str(db)]) == 2  # what the note no longer says


def test_rung_ls_and_resume_call_a_tool_driven_study_ended(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A study whose budget is not spent but whose trials a tool ran (``RungSearchCV``,
    Optuna, Ray Tune) is ``ended`` in ``rung ls``, not ``resumable``, and ``rung resume``
    names the tool instead of suggesting ``Study.load(...).run(objective)``."""
    db = tmp_path / "tool.db"
    tool_study(db)
    Study.create("py", {"x": Float(0, 1)}, objective="loss", max_step=3, storage=db,
                 budget=Budget(n_trials=5)).close()
    capsys.readouterr()
    assert main(["ls", "--storage", str(db)]) == 0
    states = {line.split()[0]: line.split()[1] for line in capsys.readouterr().out.splitlines()[1:]}
    assert states == {"tool": "ended", "py": "resumable"}
    assert main(["resume", "tool", "--storage", str(db)]) == 2
    assert capsys.readouterr().err.strip() == (
        "rung: error: objective: study 'tool' was driven by Some Tool, which ran its trials: "
        "rung cannot resume it (run the tool again: it journals a new study)")
