"""A journal whose replay diverges (this rung's scheduler decides otherwise than the one that
wrote it) is still read as written by every read-only view, and still refused by every writer,
with what to do.

The scheduler here decides by a module-level switch: a study is written with it one way (trials
stopped, paused, retired while paused, failed, a crash and a resume), then the switch is flipped
and the scheduler's ``version`` bumped, as a release that changes a decision does. Before: every
read-only view failed with ``ReplayDivergenceError``."""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest

import rung
from rung.analysis_frames import study_fold
from rung.cli.main import main
from rung.core import registry
from rung.core.components import EndRequest, NextTrial, ResultRequest, Scheduler, StartNew
from rung.core.events import Cancel, Decision, TrialEnded, is_event
from rung.core.history import History
from rung.core.versions import RUNG_VERSION
from rung.dashboard.data import Catalog, overview, study_row, trial_detail, trials
from rung.storage import SQLiteJournal

#: how the scheduler decides: "old" when the journal is written, "new" once flipped
RULE = {"now": "old"}


class Switchy(Scheduler):
    """At step 2, by trial id: stop one in four, pause one in four (and retire every other
    paused trial when the next one completes, with a reason), let the rest run to the end.
    The "new" rule shifts which trial gets which decision, from trial 6 on."""

    name = "switchy"  # registered by `_registered`, for this module's tests only
    version = 1
    changes: dict[int, str] = {}

    def __init__(self) -> None:
        self._paused: list[int] = []
        self._retire: list[int] = []
        self._why: dict[int, Decision] = {}

    def lease(self, start_step: int) -> int:
        return 2 if start_step <= 2 else self.max_step

    def next_trial(self, history: History) -> NextTrial | None:
        resume = self.resume_interrupted(history)
        return resume if resume is not None else StartNew(self.lease(1))

    def on_result(self, request: ResultRequest) -> Decision:
        if request.result.step != 2:
            return Decision.proceed()
        tid = request.trial_id
        k = (tid if RULE["now"] == "old" or tid < 6 else tid + 1) % 4
        if k == 0:
            return Decision.stop(f"{RULE['now']} rule: stop trial {tid}")
        if k == 1:
            self._paused.append(tid)
            return Decision.pause(f"{RULE['now']} rule: pause trial {tid}")
        return Decision.proceed(None)

    def on_trial_end(self, request: EndRequest) -> None:
        if request.outcome is rung.Outcome.COMPLETED and self._paused:
            tid = self._paused.pop(0)
            if tid % 8 == 1:
                self._retire.append(tid)
                self._why[tid] = Decision.stop(f"retired paused trial {tid}")

    def retired(self) -> list[int]:
        out, self._retire = self._retire, []
        return out

    def paused_decision(self, trial_id: int) -> Decision | None:
        return self._why.pop(trial_id, None)


@pytest.fixture(autouse=True)
def _registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """The scheduler, by its name, for this module's tests only."""
    monkeypatch.setitem(registry._REGISTRY["scheduler"], Switchy.name, Switchy)


SPACE = rung.SearchSpace({"x": rung.Float(0.0, 1.0), "y": rung.Float(0.0, 1.0)})


class Bench:
    """Fails (a NaN loss) the trials with ``x > 0.6`` at step 3."""

    max_step = 6

    def evaluate(self, params: Any, step: int) -> tuple[dict[str, float], float]:
        x = float(params["x"])
        if x > 0.6 and step == 3:
            return {"loss": math.nan}, 1.0
        return {"loss": x + float(params["y"]) / step}, 0.5 + x


def _write(path: Path) -> None:
    """Study ``old`` in ``path``: a first session cut short (a crash: the records up to an
    event in its middle), then resumed to the end, under the "old" rule."""
    full = path.with_name("full.db")
    s = rung.Study.create("old", SPACE, objective="loss", searcher="random",
                          scheduler="switchy", max_step=6,
                          budget=rung.Budget(n_trials=16), seed=4, storage=full)
    s.simulate(Bench(), n_workers=3, progress=False)
    s.close()
    with SQLiteJournal(full, readonly=True) as j:
        stored, records = j.load_study("old"), j.read("old")
    events = [i for i, r in enumerate(records) if is_event(r)]
    with SQLiteJournal(path) as j:
        j.create_study("old", stored)
        j.append("old", records[:events[len(events) // 2]])
    s = rung.Study.load("old", path)
    s.simulate(Bench(), n_workers=3, progress=False)
    s.close()


def _trials(study: rung.Study) -> list[tuple[Any, ...]]:
    return [(t.id, t.status, dict(t.params), t.results, t.error, t.checkpoint, t.parent_id,
             t.value) for t in study.trials()]


def _cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(list(args))
    return code, out.getvalue()


@pytest.fixture
def written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The study written under the old rule, what it held then, and the rule flipped."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "old.db"
    _write(path)
    with SQLiteJournal(path, readonly=True) as j:
        study = rung.Study.load("old", j)
        before = {
            "trials": _trials(study),
            "summary": {k: v for k, v in study.summary().items() if k != "scheduler"},
            "best": study.best_trial.id if study.best_trial else None,
            "results": study.results_dataframe().to_json(),
            "ledger": study.ledger().to_json(),
            "decisions": [(d.trial_id, d.step, d.action, d.reason)
                          for d in study_fold_decisions(study)],
        }
        before["n_records"] = len(j.read("old"))
    before["export"] = _cli("export", "old", "--storage", str(path), "--format", "json")[1]
    before["ls"] = _cli("ls", "--storage", str(path))[1]
    RULE["now"] = "new"
    monkeypatch.setattr(Switchy, "version", 2)
    monkeypatch.setattr(Switchy, "changes", {2: "the decisions shift by one trial"})
    yield {"path": path, **before}
    RULE["now"] = "old"


def study_fold_decisions(study: rung.Study) -> list[Any]:
    """Every decision the journal holds, with its reason (what ``rung show``, the frames and
    the dashboard read)."""
    return list(study_fold(study).decisions)


def test_a_read_only_load_shows_the_study_as_written(written: dict[str, Any]) -> None:
    statuses = {t[1].value for t in written["trials"]}
    assert {"completed", "stopped", "paused", "failed"} <= statuses
    with SQLiteJournal(written["path"]) as j, pytest.raises(rung.ReplayDivergenceError):
        rung.Study.load("old", j)  # writable: diverges, as before
    study = rung.Study.load("old", written["path"], readonly=True)
    marker = study.engine.read_as_written
    assert marker is not None and marker.startswith("this rung decides differently from "
                                                    "event #")
    assert marker.endswith("scheduler Switchy algorithm version 1 -> 2 (v2: the decisions "
                           "shift by one trial))")
    # replayed exactly up to a divergence in the first session; followed from there on,
    # through a crash, a resume and a paused trial retired
    i = int(marker.split("#")[1].split(" ")[0])
    with SQLiteJournal(written["path"], readonly=True) as j:
        records = j.read("old")
    events = [r for r in records if is_event(r)]
    ends = [r for r in events[i:] if type(r) is TrialEnded]
    assert i > 10 and {e.outcome.value for e in ends} >= {"interrupted", "paused", "stopped"}
    assert any(type(r) is Cancel for r in records[records.index(events[i]):])
    assert _trials(study) == written["trials"]
    assert {k: v for k, v in study.summary().items() if k != "scheduler"} == written["summary"]
    assert (study.best_trial.id if study.best_trial else None) == written["best"]
    assert study.results_dataframe().to_json() == written["results"]
    assert [(d.trial_id, d.step, d.action, d.reason)
            for d in study_fold_decisions(study)] == written["decisions"]
    assert study.ledger().to_json() == written["ledger"]


def test_rung_show_says_it_is_shown_as_written(written: dict[str, Any]) -> None:
    code, out = _cli("show", "old", "--storage", str(written["path"]))
    assert code == 0
    lines = out.splitlines()
    (k,) = [k for k, s in enumerate(lines) if s.startswith("  versions   ")]
    study = rung.Study.load("old", written["path"], readonly=True)
    i = study.engine.read_as_written.split("#")[1].split(" ")[0]  # type: ignore[union-attr]
    # what it means first (the release is this one's: the build is named by its versions),
    # then what differs
    assert lines[k:k + 2] == [
        f"  versions   shown as written: this rung decides differently from event #{i}; "
        "resuming it needs a build of rung 0.1.0 with scheduler Switchy version 1 (this one "
        "has 2)",
        f"             (journal was written by rung 0.1.0; this is rung {RUNG_VERSION}: "
        "scheduler Switchy algorithm version 1 -> 2 (v2: the decisions shift by one trial))"]
    assert "rung resume` goes on" not in out


def test_export_and_ls_read_it(written: dict[str, Any]) -> None:
    code, out = _cli("export", "old", "--storage", str(written["path"]), "--format", "json")
    assert code == 0 and out == written["export"]
    code, out = _cli("ls", "--storage", str(written["path"]))
    assert code == 0
    (row,) = [s for s in out.splitlines() if s.startswith("old ")]
    (old_row,) = [s for s in written["ls"].splitlines() if s.startswith("old ")]
    assert row.split()[1:3] == ["done", "(as"] and old_row.split()[1] == "done"
    assert row.split()[4:-1] == old_row.split()[2:-1]  # trials, counts, best


def test_the_dashboard_shows_it(written: dict[str, Any]) -> None:
    cat = Catalog(written["path"], snapshots=False)
    row = cat.view("old", study_row)
    assert row["error"] is None and row["trials"] == len(written["trials"])
    by_status: dict[str, int] = {}
    for t in written["trials"]:
        by_status[t[1].value] = by_status.get(t[1].value, 0) + 1
    assert row["by_status"] == by_status
    over = cat.view("old", overview)
    assert over["version_note"] is not None and over["records"] == written["n_records"]
    json.dumps(over)
    marker = cat.view("old", lambda s: s.engine.read_as_written)
    assert marker is not None and over["read_as_written"] == marker
    page = cat.view("old", lambda s: trials(s, {}))
    assert page["total"] == len(written["trials"])
    detail = cat.view("old", lambda s: trial_detail(s, 0))
    assert detail["status"] == written["trials"][0][1].value


def test_the_dashboard_reads_it_in_chunks(written: dict[str, Any],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A divergence in a later chunk of an incremental replay: read again as written."""
    import rung.dashboard.data as data

    monkeypatch.setattr(data, "CHUNK", 7)
    cat = Catalog(written["path"], snapshots=False)
    row = cat.view("old", study_row)
    assert row["error"] is None and row["trials"] == len(written["trials"])
    study = rung.Study.load("old", written["path"], readonly=True)
    assert cat.view("old", lambda s: [(t.id, t.status, t.results) for t in
                                      s.history.trials()]) == [
        (t.id, t.status, t.results) for t in study.trials()]


def test_writers_refuse_with_what_to_do(written: dict[str, Any]) -> None:
    with pytest.raises(rung.ReplayDivergenceError) as err:
        rung.Study.load("old", written["path"])
    msg = str(err.value)
    assert msg.startswith(
        "This rung cannot continue study 'old': resume it with a build of rung 0.1.0 with "
        "scheduler Switchy version 1 (this one has 2). This rung can still read it as written: "
        "`rung show`, `rung ls`, `rung export`, `rung plot`, `rung ledger`, the dashboard and "
        "Study.load(..., readonly=True) work. What differs: journal was written by rung 0.1.0; "
        f"this is rung {RUNG_VERSION}: scheduler Switchy algorithm version 1 -> 2 (v2: the "
        "decisions shift by one trial). replay diverged at event #")
    study = rung.Study.load("old", written["path"], readonly=True)
    study.simulate(Bench(), n_workers=2, progress=False)  # over: it has nothing to run
    study.close()
    with SQLiteJournal(written["path"], readonly=True) as j:  # nothing was written
        assert len(j.read("old")) == written["n_records"]


def test_ask_and_tell_refuse_with_what_to_do(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A study driven by ask / report / tell, with a trial still running and budget left:
    read as written, it answers nothing new."""
    path = tmp_path / "at.db"
    s = rung.Study.create("at", SPACE, objective="loss", searcher="random",
                          scheduler="switchy", max_step=6,
                          budget=rung.Budget(n_trials=20), seed=2, storage=path)
    for _ in range(8):
        t = s.ask()
        assert t is not None
        for step in (1, 2):
            d = s.report(t.id, step, {"loss": float(t.params["x"]) / step})
        if d.action is not rung.Action.CONTINUE:
            s.tell(t.id, "stopped" if d.action is rung.Action.STOP else "paused")
    running = s.trials("running")
    assert running and any(x.status.value == "paused" for x in s.trials())
    n_records = len(s.journal.read("at"))
    s.close()
    RULE["now"] = "new"
    monkeypatch.setattr(Switchy, "version", 2)
    try:
        with pytest.raises(rung.ReplayDivergenceError, match="This rung cannot continue"):
            rung.Study.load("at", path)
        study = rung.Study.load("at", path, readonly=True)
        assert study.engine.read_as_written is not None
        assert [t.id for t in study.trials("running")] == [t.id for t in running]
        tid = running[0].id
        for call in (study.ask, lambda: study.report(tid, 3, {"loss": 0.1}),
                     lambda: study.tell(tid, "completed", {"loss": 0.1}),
                     lambda: study.simulate(Bench(), n_workers=2, progress=False)):
            with pytest.raises(rung.ReplayDivergenceError, match="This rung cannot continue"):
                call()
        study.close()
        with SQLiteJournal(path, readonly=True) as j:  # nothing was written
            assert len(j.read("at")) == n_records
    finally:
        RULE["now"] = "old"


def test_rung_resume_refuses_with_what_to_do(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.yaml").write_text(
        "name: cli\nexecutor: simulated\nbenchmark: {name: mf-branin}\n"
        "scheduler: {name: switchy}\nmax_step: 6\nbudget: {n_trials: 9}\nn_workers: 2\n"
        "seed: 1\n")
    try:
        assert main(["run", "spec.yaml", "--no-live"]) == 0
        RULE["now"] = "new"
        monkeypatch.setattr(Switchy, "version", 2)
        capsys.readouterr()
        assert main(["resume", "cli", "--no-live"]) == 1
        err = " ".join(capsys.readouterr().err.split())
        assert "replay diverged at event #" in err
        assert err.startswith("rung: error: This rung cannot continue study 'cli': resume it "
                              "with a build of rung 0.1.0 with scheduler Switchy version 1 "
                              "(this one has 2).")
        assert main(["show", "cli"]) == 0
        assert "shown as written" in capsys.readouterr().out
    finally:
        RULE["now"] = "old"
