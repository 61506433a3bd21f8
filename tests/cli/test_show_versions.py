"""``rung show`` says when the study's journal was written by another rung or another
algorithm version of its components (the note ``Study.load`` leaves in
``engine.version_note``), and says nothing of versions when this code wrote it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import rung
from rung.cli.main import main
from rung.cli.report import resume_note
from rung.core.versions import RUNG_VERSION
from rung.schedulers.asha import ASHA
from rung.searchers.random import RandomSearcher
from rung.storage import SQLiteJournal
from rung.storage.codec import from_body

FIXTURE = Path(__file__).parents[1] / "core" / "journal_old_reasons.json"


def old_journal(name: str, **written_by: Any) -> Path:
    """The fixture's ASHA study (written by rung 0.1.0, RandomSearcher v1, ASHA v7) in an
    SQLite journal, with the versions it records updated by ``written_by``."""
    st: dict[str, Any] = json.loads(FIXTURE.read_text())["asha"]
    assert st["spec"]["written_by"] == {"rung": "0.1.0", "searcher": 1, "scheduler": 7}
    spec = {**st["spec"], "name": name,
            "written_by": {**st["spec"]["written_by"], **written_by}}
    path = Path(f"{name}.db")
    with SQLiteJournal(path) as j:
        j.create_study(name, spec)
        j.append(name, [from_body(k, b) for k, b in st["records"]])
    return path


def test_show_names_the_algorithm_versions_that_changed(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: nothing in `rung show` said the journal was written by RandomSearcher v1."""
    assert RandomSearcher.version == 3  # the fixture's v1 differs from the running code
    path = old_journal("asha", scheduler=ASHA.version)
    assert main(["show", "asha", "--storage", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    (i,) = [i for i, line in enumerate(lines) if line.startswith("  versions   ")]
    assert lines[i - 1].split()[:2] == ["scheduler", "asha"]
    assert lines[i] == (
        f"  versions   journal was written by rung 0.1.0; this is rung {RUNG_VERSION}: "
        "searcher RandomSearcher algorithm version 1 -> 3 (v2: "
        f"{RandomSearcher.changes[2]}; v3: {RandomSearcher.changes[3]})")
    assert lines[i + 1] == ("             (replays exactly with this rung; `rung resume` "
                            "goes on with this rung's algorithms)")
    with SQLiteJournal(path, readonly=True) as j:
        study = rung.Study.load("asha", j)
        assert resume_note(study) == (
            "rung: study asha: journal was written by rung 0.1.0; this is rung "
            f"{RUNG_VERSION}: searcher RandomSearcher algorithm version 1 -> 3 (v2: "
            f"{RandomSearcher.changes[2]}; v3: {RandomSearcher.changes[3]}); this run goes on "
            "with this rung's algorithms")


def test_show_of_a_journal_this_code_wrote_has_no_versions_line(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = old_journal("same", rung=RUNG_VERSION, searcher=RandomSearcher.version,
                       scheduler=ASHA.version)
    assert main(["show", "same", "--storage", str(path)]) == 0
    out = capsys.readouterr().out
    assert "versions" not in out and "rung resume` goes on" not in out
    with SQLiteJournal(path, readonly=True) as j:
        assert resume_note(rung.Study.load("same", j)) is None


def test_resume_prints_the_note_before_it_runs(
    isolated: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A study written by this code, resumed by a rung whose random searcher is one version
    newer: `rung resume` says so on stderr before anything else."""
    from clihelp import sim_spec, write_spec

    write_spec(isolated, sim_spec("old", 3, "searcher: random\n"))
    assert main(["run", "spec.yaml", "--no-live"]) == 0
    capsys.readouterr()
    newer = RandomSearcher.version + 1
    monkeypatch.setattr(RandomSearcher, "version", newer)
    monkeypatch.setattr(RandomSearcher, "changes", {**RandomSearcher.changes, newer: "a test"})
    assert main(["resume", "old", "--no-live"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0] == (
        f"rung: study old: journal was written by rung {RUNG_VERSION}; this is rung {RUNG_VERSION}: "
        f"searcher RandomSearcher algorithm version {newer - 1} -> {newer} (v{newer}: a test); "
        "this run goes on with this rung's algorithms")


def test_show_of_a_journal_this_rung_decides_differently_shows_it_as_written(
    isolated: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An ASHA one version newer that leases otherwise: the fixture's journal diverges from its
    first event. Before: `rung show` failed with ReplayDivergenceError; now it shows the study
    as its journal holds it, and says so in one line."""
    path = old_journal("asha", scheduler=ASHA.version)
    assert main(["show", "asha", "--storage", str(path)]) == 0
    before = capsys.readouterr().out.splitlines()
    newer = ASHA.version + 1
    monkeypatch.setattr(ASHA, "version", newer)
    monkeypatch.setattr(ASHA, "changes", {**ASHA.changes, newer: "a test"})
    monkeypatch.setattr(ASHA, "lease", lambda self, start_step: self.max_step)
    assert main(["show", "asha", "--storage", str(path)]) == 0
    after = capsys.readouterr().out.splitlines()
    (k,) = [k for k, s in enumerate(after) if s.startswith("  versions   ")]
    assert after[k:k + 2] == [
        "  versions   shown as written: this rung decides differently from event #0; resuming "
        f"it needs a build of rung 0.1.0 with searcher RandomSearcher version 1 (this one has "
        f"{RandomSearcher.version}) and scheduler ASHA version {newer - 1} (this one has "
        f"{newer})",
        f"             (journal was written by rung 0.1.0; this is rung {RUNG_VERSION}: searcher "
        f"RandomSearcher algorithm version 1 -> 3 (v2: {RandomSearcher.changes[2]}; v3: "
        f"{RandomSearcher.changes[3]}); scheduler ASHA algorithm version {newer - 1} -> {newer} "
        f"(v{newer}: a test))"]
    assert not any("rung resume` goes on" in s for s in after)
    # every other line is the same, up to the rung occupancy (the scheduler's state is not
    # rebuilt past the divergence)
    cut = before.index("rung occupancy (asha)")
    kept = [s for s in before[:cut] if not s.startswith(("  versions", "             ("))]
    assert [s for s in after if not s.startswith(("  versions", "             ("))][
        :len(kept)] == kept
    assert "rung occupancy (asha)" not in after
