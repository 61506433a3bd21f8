"""The journal records which code wrote it; replay across a version change is exact or says why
it is not."""

from __future__ import annotations

import pytest

import rung
from rung import ASHA, Budget, Objective, ReplayDivergenceError, Study
from rung.core import StudySpec
from rung.core.versions import LEGACY, RUNG_VERSION, Versions, explain
from rung.schedulers.asha import ASHA as ASHAClass
from rung.searchers.random import RandomSearcher
from rung.storage import MemoryJournal
from rung.testing import ToyBenchmark, default_space

BENCH = ToyBenchmark(max_step=9)
V = ASHAClass.version  # the running code's ASHA version; tests bump it to V + 1


def _run(journal: MemoryJournal, name: str = "v") -> Study:
    study = Study.create(
        name, default_space(), Objective("loss"), searcher="random", scheduler=ASHA(3),
        max_step=9, budget=Budget(n_trials=20), seed=0, storage=journal,
    )
    return study.simulate(BENCH, n_workers=3)


def _strip_versions(journal: MemoryJournal, name: str) -> None:
    """Make ``name`` look like a journal written before version records existed."""
    del journal._specs[name]["written_by"]


def _bump_asha(monkeypatch: pytest.MonkeyPatch, diverge: bool) -> None:
    monkeypatch.setattr(ASHAClass, "version", V + 1)
    monkeypatch.setattr(
        ASHAClass, "changes", {**ASHAClass.changes, V + 1: "ties at a rung's cutoff now fill the quota"}
    )
    if diverge:  # a different first lease: the very first Launch differs
        monkeypatch.setattr(ASHAClass, "lease", lambda self, start_step: self.max_step)


def test_the_spec_records_the_rung_release_and_component_versions() -> None:
    journal = MemoryJournal()
    _run(journal)
    stored = journal.load_study("v")["written_by"]
    assert stored == {"rung": RUNG_VERSION, "searcher": RandomSearcher.version, "scheduler": V}
    assert rung.__version__ == RUNG_VERSION
    spec = StudySpec.from_json(journal.load_study("v"))
    assert spec.written_by == Versions(RUNG_VERSION, RandomSearcher.version, V)
    assert spec.to_json()["written_by"] == stored  # a loaded spec keeps the journal's versions


def test_same_versions_replay_without_a_note() -> None:
    journal = MemoryJournal()
    _run(journal)
    loaded = Study.load("v", journal)
    assert loaded.engine.version_note is None
    assert len(loaded.trials()) == 20


def test_a_version_change_that_does_not_touch_the_journal_replays_with_a_note(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    journal = MemoryJournal()
    _run(journal)
    _bump_asha(monkeypatch, diverge=False)
    loaded = Study.load("v", journal)
    assert len(loaded.trials()) == 20
    note = loaded.engine.version_note
    assert note is not None
    assert f"journal was written by rung {RUNG_VERSION}" in note
    assert f"scheduler ASHA algorithm version {V} -> {V + 1}" in note
    assert "ties at a rung's cutoff now fill the quota" in note


def test_a_divergence_after_a_version_change_names_the_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    journal = MemoryJournal()
    _run(journal)
    _bump_asha(monkeypatch, diverge=True)
    with pytest.raises(ReplayDivergenceError) as err:
        Study.load("v", journal)
    msg = str(err.value)
    assert msg.startswith(f"This rung cannot continue study 'v': resume it with a build of "
                          f"rung {RUNG_VERSION} with scheduler ASHA version {V} (this one has "
                          f"{V + 1}).")
    assert f"What differs: journal was written by rung {RUNG_VERSION}; this is rung" in msg
    assert f"ASHA algorithm version {V} -> {V + 1} (v{V + 1}: ties at a rung's cutoff" in msg
    assert "replay diverged at event #" in msg


def test_a_journal_without_versions_reads_as_version_1() -> None:
    journal = MemoryJournal()
    _run(journal)
    _strip_versions(journal, "v")
    spec = StudySpec.from_json(journal.load_study("v"))
    assert spec.written_by == LEGACY and spec.written_by.legacy
    loaded = Study.load("v", journal)  # same algorithms: replays exactly
    assert len(loaded.trials()) == 20
    assert loaded.engine.version_note is not None
    assert "predates version records" in loaded.engine.version_note


def test_a_divergence_of_a_journal_without_versions_says_it_predates_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    journal = MemoryJournal()
    _run(journal)
    _strip_versions(journal, "v")
    _bump_asha(monkeypatch, diverge=True)
    with pytest.raises(ReplayDivergenceError, match="journal predates version records") as err:
        Study.load("v", journal)
    assert f"ASHA algorithm version 1 -> {V + 1}" in str(err.value)


def test_a_same_version_divergence_is_reported_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    journal = MemoryJournal()
    _run(journal)
    monkeypatch.setattr(ASHAClass, "lease", lambda self, start_step: self.max_step)
    with pytest.raises(ReplayDivergenceError) as err:
        Study.load("v", journal)
    assert str(err.value).startswith("replay diverged at event #")


def test_explain_names_a_journal_newer_than_the_code() -> None:
    note = explain(Versions("9.0.0", 1, V + 3), RandomSearcher, ASHAClass)
    assert note is not None
    assert "journal was written by rung 9.0.0" in note
    assert f"scheduler ASHA has algorithm version {V + 3} in the journal, newer than" in note
    assert "upgrade rung" in note


def test_explain_lists_every_change_between_two_versions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ASHAClass, "version", 3)
    monkeypatch.setattr(ASHAClass, "changes", {2: "ties fill the quota", 3: "rungs from 0"})
    note = explain(Versions(RUNG_VERSION, RandomSearcher.version, 1), RandomSearcher, ASHAClass)
    assert note is not None
    assert "version 1 -> 3 (v2: ties fill the quota; v3: rungs from 0)" in note
    assert "searcher" not in note.split(":", 1)[1]  # the searcher did not change


def test_explain_is_silent_for_the_same_code() -> None:
    assert explain(Versions(RUNG_VERSION, RandomSearcher.version, V), RandomSearcher, ASHAClass) is None
    release_only = explain(Versions("0.0.1", RandomSearcher.version, V), RandomSearcher, ASHAClass)
    assert release_only is not None and "algorithm versions unchanged" in release_only
