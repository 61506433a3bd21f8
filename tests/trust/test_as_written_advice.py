"""What rung says about a study it reads as written (its replay diverged: this rung's scheduler
decides otherwise than the build that wrote the journal) is what works: no ``rung resume`` or
``Study.load(...).tell`` advice that then fails, the code that can resume it named so that a
user can find it (a build of the same release by its component versions, a journal from before
version records by the date), the advice first and the changelog cut short; ``rung run`` of
the same spec again says so too. Also: a spec file run again on a study an older rung wrote
from it is no change, and a record from a newer rung is called that, not malformed.

The divergence here is ASHA one algorithm version newer with another lease (every ``Launch``
differs from the first), as ``tests/cli/test_show_versions.py`` makes it. Before: ``rung
show`` advised ``rung resume`` / ``tell``, ``rung run`` advised ``rung resume``, the error led
with every quoted change and named "rung 0.1.0, the release that wrote it" to rung 0.1.0."""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

import rung
from rung.cli.main import main
from rung.cli.run_checks import changed_keys
from rung.cli.spec import load_spec
from rung.core import registry
from rung.core.components import NextTrial, ResultRequest, Scheduler, StartNew
from rung.core.events import Decision, is_event
from rung.core.history import History
from rung.core.versions import RUNG_VERSION, Versions
from rung.dashboard.data import Catalog, study_row
from rung.errors import JournalError
from rung.schedulers.asha import ASHA
from rung.searchers.random import RandomSearcher
from rung.storage import MemoryJournal, SQLiteJournal
from rung.storage.codec import from_body

SPACE = rung.SearchSpace({"x": rung.Float(0.0, 1.0), "y": rung.Float(0.0, 1.0)})
V = ASHA.version


class Bench:
    max_step = 9

    def evaluate(self, params: Any, step: int) -> tuple[dict[str, float], float]:
        return {"loss": float(params["x"]) + float(params["y"]) / step}, 0.5


def _cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def _diverge(monkeypatch: pytest.MonkeyPatch, changes: str = "a test") -> None:
    """ASHA one version newer, leasing to ``max_step``: every journal of an older ASHA diverges
    at its first Launch."""
    monkeypatch.setattr(ASHA, "version", V + 1)
    monkeypatch.setattr(ASHA, "changes", {**ASHA.changes, V + 1: changes})
    monkeypatch.setattr(ASHA, "lease", lambda self, start_step: self.max_step)


def _crashed(path: Path, name: str = "c") -> int:
    """A simulated ASHA study in ``path`` whose driver stopped mid-run (the records up to an event
    in its middle): some trials still running. Returns how many."""
    full = MemoryJournal()
    s = rung.Study.create(name, SPACE, objective="loss", searcher="random", scheduler="asha",
                          max_step=9, budget=rung.Budget(n_trials=12), seed=3, storage=full)
    s.simulate(Bench(), n_workers=3, progress=False)
    records = full.read(name)
    events = [i for i, r in enumerate(records) if is_event(r)]
    with SQLiteJournal(path) as j:
        j.create_study(name, full.load_study(name))
        j.append(name, records[:events[len(events) // 2]])
    with SQLiteJournal(path, readonly=True) as j:
        running = len(rung.Study.load(name, j).trials("running"))
    assert running
    return running


BUILD = f"a build of rung 0.1.0 with scheduler ASHA version {V} (this one has {V + 1})"


# --- finding 1: the notes on unfinished trials ---------------------------------------------------
def test_show_does_not_advise_resuming_trials_it_cannot_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.db"
    running = _crashed(path)
    code, out, _ = _cli("show", "c", "--storage", str(path))
    assert code == 0 and "ends them as interrupted and resumes them" not in out  # it replays
    _diverge(monkeypatch)
    code, out, _ = _cli("show", "c", "--storage", str(path))
    assert code == 0
    notes = [s for s in out.splitlines() if s.startswith("  note: ")]
    assert notes == [
        f"  note: {running} trial(s) were running when the driver stopped; this rung shows the "
        f"study as written and cannot end or resume them; resuming it needs {BUILD}"]
    # ... as it cannot (the advice it gave before)
    with pytest.raises(rung.ReplayDivergenceError):
        rung.Study.load("c", path).run(lambda ctx: None)


def test_show_does_not_advise_telling_asked_trials_it_cannot_tell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "at.db"
    s = rung.Study.create("at", SPACE, objective="loss", searcher="random", scheduler="asha",
                          max_step=9, budget=rung.Budget(n_trials=10), seed=2, storage=path)
    asked = [s.ask() for _ in range(2)]
    for t in asked:
        assert t is not None
        s.report(t.id, 1, {"loss": 0.5})
    s.close()
    _diverge(monkeypatch)
    code, out, _ = _cli("show", "at", "--storage", str(path))
    assert code == 0
    notes = [s for s in out.splitlines() if s.startswith("  note: ")]
    assert notes == [
        "  note: 2 trial(s) asked (Study.ask) and never told: #0, #1; this rung shows the study "
        f"as written and cannot report or tell them; resuming it needs {BUILD}"]
    with pytest.raises(rung.ReplayDivergenceError):
        rung.Study.load("at", path).tell(0, "interrupted")


# --- finding 2: which code can resume it, the advice first, the changelog cut short ----------
def test_the_code_that_can_resume_it_is_named_so_that_it_can_be_found() -> None:
    from rung.core.versions import writer

    same = Versions(RUNG_VERSION, RandomSearcher.version, V - 1)
    assert writer(same, RandomSearcher, ASHA) == (
        f"a build of rung {RUNG_VERSION} with scheduler ASHA version {V - 1} (this one has {V})")
    other = Versions("0.0.9", RandomSearcher.version - 1, V)
    assert writer(other, RandomSearcher, ASHA) == (
        f"rung 0.0.9 with searcher RandomSearcher version {RandomSearcher.version - 1} (this "
        f"one has {RandomSearcher.version})")
    newer = Versions(RUNG_VERSION, RandomSearcher.version, V + 2)
    assert writer(newer, RandomSearcher, ASHA).endswith(
        f"scheduler ASHA version {V + 2} (this one has {V}: upgrade rung)")
    legacy = Versions.from_json(None)
    assert writer(legacy, RandomSearcher, ASHA) == (
        "a build of rung from before journals recorded versions (before commit 521ca32, "
        "2026-12-02; the one that wrote it, if you know it): this rung reads its components as "
        f"searcher RandomSearcher version 1 (this one has {RandomSearcher.version}) and "
        f"scheduler ASHA version 1 (this one has {V})")


def test_the_error_leads_with_what_to_do_and_cuts_the_changelog_short(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.db"
    _crashed(path)
    long = "; ".join(f"change number {i} of many, each told at length" for i in range(60))
    _diverge(monkeypatch, changes=long)
    with pytest.raises(rung.ReplayDivergenceError) as err:
        rung.Study.load("c", path)
    msg = str(err.value)
    assert msg.startswith(
        f"This rung cannot continue study 'c': resume it with {BUILD}. This rung can still read "
        "it as written: `rung show`, `rung ls`, `rung export`, `rung plot`, `rung ledger`, the "
        "dashboard and Study.load(..., readonly=True) work. What differs: journal was written "
        f"by rung 0.1.0; this is rung {RUNG_VERSION}: scheduler ASHA algorithm version {V} -> "
        f"{V + 1} (v{V + 1}: change number 0 of many")
    assert long not in msg and "... (rung show lists them)). replay diverged at event #0 " in msg
    quoted = msg.split("What differs: ")[1].split(". replay diverged")[0]
    assert len(quoted) < 500
    # `rung show` leads with the point, then lists every change
    code, out, _ = _cli("show", "c", "--storage", str(path))
    assert code == 0
    lines = out.splitlines()
    (k,) = [k for k, s in enumerate(lines) if s.startswith("  versions   ")]
    assert lines[k] == ("  versions   shown as written: this rung decides differently from "
                        f"event #0; resuming it needs {BUILD}")
    assert lines[k + 1].startswith("             (journal was written by rung 0.1.0; ")
    assert long in lines[k + 1]


def test_a_journal_from_before_version_records_says_which_build_can_resume_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.db"
    _crashed(path)
    with sqlite3.connect(path) as db:  # as a rung from before version records wrote it
        (text,) = db.execute("select spec from study where name = 'c'").fetchone()
        spec = json.loads(text)
        del spec["written_by"]
        db.execute("update study set spec = ? where name = 'c'", (json.dumps(spec),))
    db.close()
    _diverge(monkeypatch)
    legacy = ("a build of rung from before journals recorded versions (before commit 521ca32, "
              "2026-12-02; the one that wrote it, if you know it): this rung reads its "
              f"components as searcher RandomSearcher version 1 (this one has "
              f"{RandomSearcher.version}) and scheduler ASHA version 1 (this one has {V + 1})")
    with pytest.raises(rung.ReplayDivergenceError) as err:
        rung.Study.load("c", path)
    assert str(err.value).startswith(f"This rung cannot continue study 'c': resume it with "
                                     f"{legacy}. ")
    code, out, _ = _cli("show", "c", "--storage", str(path))
    assert code == 0 and "the release that wrote it" not in out
    assert (f"  versions   shown as written: this rung decides differently from event #0; "
            f"resuming it needs {legacy}") in out.splitlines()


# --- finding 3: `rung run` of the same spec again -----------------------------------------------
SPEC = ("name: cli\nexecutor: simulated\nbenchmark: {name: mf-branin}\nscheduler: {name: asha}\n"
        "max_step: 9\nbudget: {n_trials: 6}\nn_workers: 2\nseed: 1\n")


@pytest.fixture
def ran(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``spec.yaml`` run to its end in ``tmp_path`` (journal ``runs/cli.db``)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.yaml").write_text(SPEC)
    assert _cli("run", "spec.yaml", "--no-live")[0] == 0
    yield tmp_path / "runs" / "cli.db"


def test_running_the_spec_again_on_a_study_read_as_written_says_who_can_resume_it(
    ran: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SQLiteJournal(ran, readonly=True) as j:
        n = len(j.read("cli"))
    _diverge(monkeypatch)
    code, out, err = _cli("run", "spec.yaml", "--no-live")
    assert code == 2 and out == ""
    (line,) = err.splitlines()
    assert line.startswith(
        f"rung: error: spec.name: study 'cli' already exists in {Path('runs/cli.db')}, and this "
        "rung cannot continue it: this rung decides differently from event #0 of its journal; "
        f"resuming it needs {BUILD}; `rung show cli")
    assert line.endswith("shows it as written, or give this spec another name")
    assert "rung resume" not in line
    with SQLiteJournal(ran, readonly=True) as j:  # nothing was written
        assert len(j.read("cli")) == n


def test_the_same_spec_file_on_a_study_an_older_rung_wrote_from_it_is_no_change(
    ran: Path,
) -> None:
    """The stored spec as a rung from before ``Objective.nan`` (and with the budget's keys of
    its day) wrote it: the same spec file names the same study."""
    with sqlite3.connect(ran) as db:
        (text,) = db.execute("select spec from study where name = 'cli'").fetchone()
        spec = json.loads(text)
        del spec["objective"]["nan"]
        spec["budget"] = {"n_trials": 6, "max_time": None, "max_steps": None}
        db.execute("update study set spec = ? where name = 'cli'", (json.dumps(spec),))
    db.close()
    run_spec, _ = load_spec(Path("spec.yaml"), import_objective=False)
    assert changed_keys(run_spec, ran) == []
    code, _, err = _cli("run", "spec.yaml", "--no-live")
    assert code == 2
    assert "already exists" in err and "(continue it with: rung resume cli" in err
    assert "other metric/mode" not in err
    # a real change still counts
    (Path("spec.yaml")).write_text(SPEC + "mode: max\n")
    code, _, err = _cli("run", "spec.yaml", "--no-live")
    assert code == 2 and "with other metric/mode than this spec's" in err


# --- finding 4: paused trials a scheduler may have retired without a record ------------------
class Holder(Scheduler):
    """Pauses every odd trial at step 2 and never resumes it (as PBT before version 10 left a
    member it retired: no Cancel, no checkpoint)."""

    name = "holder"
    version = 1
    changes: dict[int, str] = {}

    def lease(self, start_step: int) -> int:
        return 2 if start_step <= 2 else self.max_step

    def next_trial(self, history: History) -> NextTrial | None:
        return StartNew(self.lease(1))

    def on_result(self, request: ResultRequest) -> Decision:
        if request.result.step == 2 and request.trial_id % 2:
            return Decision.pause("held")
        return Decision.proceed()


def test_show_marks_the_paused_trials_of_a_study_read_as_written_that_is_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(registry._REGISTRY["scheduler"], Holder.name, Holder)
    path = tmp_path / "h.db"
    s = rung.Study.create("h", SPACE, objective="loss", searcher="random", scheduler="holder",
                          max_step=4, budget=rung.Budget(n_trials=4), seed=1, storage=path)
    s.simulate(Bench(), n_workers=2, progress=False)
    s.close()
    code, out, _ = _cli("show", "h", "--storage", str(path))
    assert "paused 2," in out and "paused as written" not in out  # replays: they are paused
    monkeypatch.setattr(Holder, "version", 2)
    monkeypatch.setattr(Holder, "changes", {2: "leases to the end"})
    monkeypatch.setattr(Holder, "lease", lambda self, start_step: self.max_step)
    code, out, _ = _cli("show", "h", "--storage", str(path))
    assert code == 0 and "paused 2," in out
    assert ("  note: 2 trial(s) paused as written (#1, #3): their scheduler may have retired "
            "them past the divergence without a record of it (PBT before its version 10 did), "
            "and the rung that wrote the journal may show them stopped") in out.splitlines()


# --- finding 5: a record from a newer rung ------------------------------------------------------
def test_a_record_with_a_field_this_rung_does_not_know_is_from_a_newer_rung(
    tmp_path: Path,
) -> None:
    body = {"v": 1, "capacity": 2, "time": 0.0, "new_session": True, "gpu_model": "A100"}
    newer = "probably written by a newer rung; upgrade rung to read it"
    with pytest.raises(JournalError) as err:
        from_body("CapacityChanged", body)
    assert str(err.value) == ("CapacityChanged record has fields this rung does not know "
                              f"(gpu_model): {newer}")
    with pytest.raises(JournalError, match=f"^unknown journal record kind 'GpuSwapped': {newer}$"):
        from_body("GpuSwapped", {"v": 1})
    with pytest.raises(JournalError, match=f"format version 2, expected 1: {newer}$"):
        from_body("CapacityChanged", {**body, "v": 2})
    path = tmp_path / "c.db"
    _crashed(path)
    with sqlite3.connect(path) as db:
        seq, text = db.execute("select seq, body from record where kind = 'CapacityChanged' "
                               "order by seq limit 1").fetchone()
        db.execute("update record set body = ? where seq = ?",
                   (json.dumps({**json.loads(text), "gpu_model": "A100"}), seq))
    db.close()
    for cmd in (["show", "c"], ["export", "c"], ["ledger", "c"]):
        code, _, err = _cli(*cmd, "--storage", str(path))
        assert code == 1, cmd
        (line,) = err.splitlines()
        assert line.startswith(f"rung: error: {path}: study 'c', record ")
        assert line.endswith(f": CapacityChanged record has fields this rung does not know "
                             f"(gpu_model): {newer}")
        assert "malformed" not in line


# --- finding 6 ---------------------------------------------------------------------------------
def test_the_study_list_of_the_dashboard_marks_a_study_read_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.db"
    _crashed(path)
    assert Catalog(path, snapshots=False).view("c", study_row)["read_as_written"] is None
    _diverge(monkeypatch)
    row = Catalog(path, snapshots=False).view("c", study_row)
    assert row["read_as_written"].startswith("this rung decides differently from event #0 (")


def test_show_of_a_study_that_replays_says_it_replays_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not "replays as written", easily read as "shown as written", the opposite."""
    path = tmp_path / "c.db"
    _crashed(path)
    monkeypatch.setattr(ASHA, "version", V + 1)  # the same decisions: it replays exactly
    code, out, _ = _cli("show", "c", "--storage", str(path))
    assert code == 0
    assert ("             (replays exactly with this rung; `rung resume` goes on with this "
            "rung's algorithms)") in out.splitlines()
    assert "shown as written" not in out and "replays as written" not in out
