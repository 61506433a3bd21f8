"""The journal records the stop-searching rule's algorithm version; a resumed study whose rule
changed says so (replay itself never diverges on it: verdicts are read from the journal)."""

from __future__ import annotations

import pytest

import rung
from rung.core.versions import RUNG_VERSION, Versions, explain
from rung.cost.stop_rule import StopRule
from rung.schedulers.fifo import FIFOScheduler as FIFO
from rung.searchers.random import RandomSearcher
from rung.storage import MemoryJournal

SPACE = {"x": rung.Float(0.0, 1.0)}


def _study(journal: MemoryJournal, stop: object) -> rung.Study:
    study = rung.Study.create(
        "s", SPACE, objective="loss", searcher="random", scheduler="fifo",
        budget=rung.Budget(n_trials=6, stop=stop), storage=journal,
    )
    while (t := study.ask()) is not None:
        study.tell(t.id, "completed", {"loss": float(t.params["x"])})
    return study


def test_the_spec_records_the_stop_rules_version() -> None:
    journal = MemoryJournal()
    _study(journal, rung.StopRule(min_trials=20))
    stored = journal.load_study("s")["written_by"]
    assert stored == {"rung": RUNG_VERSION, "searcher": RandomSearcher.version,
                      "scheduler": FIFO.version, "stop_rule": StopRule.version}
    assert rung.Study.load("s", journal).engine.version_note is None


def test_a_study_without_a_rule_records_none() -> None:
    journal = MemoryJournal()
    _study(journal, None)
    assert "stop_rule" not in journal.load_study("s")["written_by"]
    assert Versions.from_json(journal.load_study("s")["written_by"]).stop_rule is None


def test_a_journal_from_before_the_record_loads_without_a_note() -> None:
    journal = MemoryJournal()
    _study(journal, "auto")
    del journal._specs["s"]["written_by"]["stop_rule"]
    loaded = rung.Study.load("s", journal)
    assert loaded.engine.version_note is None
    assert len(loaded.trials()) == 6


def test_an_older_rule_version_is_named_on_resume(monkeypatch: pytest.MonkeyPatch) -> None:
    journal = MemoryJournal()
    _study(journal, "auto")
    journal._specs["s"]["written_by"]["stop_rule"] = StopRule.version - 1
    loaded = rung.Study.load("s", journal)  # replays: the rule's verdicts come from the journal
    note = loaded.engine.version_note
    assert note is not None
    v = StopRule.version
    assert (f"stop rule StopRule algorithm version {v - 1} -> {v} "
            f"(v{v}: {StopRule.changes[v]})") in note


def test_explain_names_a_newer_rule_than_this_rung_has() -> None:
    written = Versions(RUNG_VERSION, RandomSearcher.version, FIFO.version, StopRule.version + 1)
    note = explain(written, RandomSearcher, FIFO, StopRule)
    assert note is not None
    assert (f"stop rule StopRule has algorithm version {StopRule.version + 1} in the journal, "
            f"newer than this rung's version {StopRule.version}") in note
    # the rule's version does not matter to a study without a rule
    assert explain(Versions(RUNG_VERSION, RandomSearcher.version, FIFO.version, None),
                   RandomSearcher, FIFO) is None
