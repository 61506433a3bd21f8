"""A study's views keep their folds of its journal and read only what is new (``rung.study_folds``).

Before, every call of ``trials_dataframe``, ``results_dataframe``, ``ledger`` and the figures on a
writable study read the whole journal and folded it from its first record (3.4 s a call at 30,000
trials). Now the folds are kept, a later call reads the records after the last ones folded and
continues them; what it gives is what a fold from scratch gives, at every point of the study's
growth, whoever appends (this study, another object of it), and whatever the caller does to what
it was given. A journal that no longer starts with what was folded (a study deleted and created
again under its name, a journal cut or rewritten) is folded again from its first record.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rung
from rung.analysis_frames import (
    replaced_by,
    results_dataframe,
    study_fold,
    trials_dataframe,
)
from rung.benchmarks import get_benchmark
from rung.core.engine import Engine
from rung.core.events import Record, StopSearch
from rung.cost.ledger import ledger
from rung.journal_fold import DecisionMade, JournalFold, fold
from rung.storage import MemoryJournal
from rung.storage.codec import dumps, loads
from rung.study_folds import TAIL

pd = pytest.importorskip("pandas")
pdt = pytest.importorskip("pandas.testing")

B = get_benchmark("mf-branin", max_step=9)
VIEWS = ("trials", "results", "ledger", "fold")


def scheduler_of(kind: str) -> Any:
    return {"asha": rung.ASHA(reduction_factor=3), "fifo": "fifo",
            "pbt": rung.PBT(population_size=4, perturbation_interval=3)}[kind]


def simulated(storage: Any, kind: str = "asha", seed: int = 0, n_trials: int = 10,
              name: str = "g") -> rung.Study:
    return rung.Study.create(name, B.space, objective="loss", searcher="random",
                             scheduler=scheduler_of(kind), max_step=9,
                             budget=rung.Budget(n_trials=n_trials), seed=seed, storage=storage)


def asked(storage: Any, name: str = "a", seed: int = 0, **kw: Any) -> rung.Study:
    return rung.Study.create(name, {"x": rung.Float(0.0, 1.0)}, objective="loss",
                             searcher="random", scheduler="fifo", max_step=3,
                             budget=rung.Budget(n_trials=50), seed=seed, storage=storage, **kw)


def trial(s: rung.Study, loss: float, end: bool = True) -> None:
    t = s.ask()
    assert t is not None
    s.report(t.id, 1, {"loss": loss + 0.5})
    if end:
        s.tell(t.id, "completed", {"loss": loss}, step=3)


def matches_a_fresh_fold(s: rung.Study, views: Any = VIEWS) -> None:
    """Each of ``views`` of ``s`` is what a fold of its whole journal from scratch gives."""
    records = s.journal.read(s.name)
    h = s.history
    if "trials" in views:
        pdt.assert_frame_equal(s.trials_dataframe(), trials_dataframe(h, fold(records)))
    if "results" in views:
        pdt.assert_frame_equal(s.results_dataframe(), results_dataframe(h, fold(records)))
    if "ledger" in views:
        assert s.ledger() == ledger(s.spec, records)
    if "fold" in views:
        got, want = study_fold(s), fold(records)
        replaced_by(h, want)  # (what it keeps of the history's tags: read by both)
        replaced_by(h, got)
        assert got == want


class Pause(Exception):
    """Raised from ``on_turn``: the session ends there, as a killed driver's would."""


@st.composite
def growths(draw: st.DrawFn) -> dict[str, Any]:
    """A study and how it grows: after ``gap`` more turns, look at some views, and maybe end
    the session there (the next one resumes it: new sessions, runs left open)."""
    return {
        "kind": draw(st.sampled_from(["asha", "fifo", "pbt"])),
        "seed": draw(st.integers(0, 2**16)),
        "n_trials": draw(st.integers(2, 14)),
        "n_workers": draw(st.integers(1, 4)),
        "storage": draw(st.sampled_from(["memory", "sqlite"])),
        "looks": draw(st.lists(st.tuples(st.integers(1, 9),
                                          st.sets(st.sampled_from(VIEWS), min_size=1),
                                          st.booleans()), max_size=10)),
    }


@settings(max_examples=30, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(growths())
def test_views_of_a_growing_study_are_a_fresh_fold_of_it(g: dict[str, Any]) -> None:
    """Views looked at between random chunks of a run (within a session, and across sessions
    the run was stopped and resumed at) equal a fold of the whole journal then; so do those of
    another writable object of the study, loaded at the first stop, whose journal this one
    appends to."""
    with tempfile.TemporaryDirectory() as tmp:
        storage: Any = MemoryJournal() if g["storage"] == "memory" else Path(tmp) / "g.db"
        s = simulated(storage, g["kind"], g["seed"], g["n_trials"])
        others: list[rung.Study] = []
        looks = iter(g["looks"])
        due = [next(looks, None)]
        turns = [0, 0]  # turns so far, turns at the last look

        def hook(engine: Engine) -> None:
            turns[0] += 1
            look = due[0]
            if look is None or turns[0] - turns[1] < look[0]:
                return
            turns[1] = turns[0]
            due[0] = next(looks, None)
            matches_a_fresh_fold(s, look[1])
            for o in others:
                matches_a_fresh_fold(o, look[1])
            if look[2]:
                raise Pause

        while True:
            try:
                s.simulate(B, n_workers=g["n_workers"], on_turn=hook)
                break
            except Pause:
                if not others:
                    others.append(rung.Study.load(
                        "g", s.journal if g["storage"] == "memory" else storage))
        for v in (s, *others):
            matches_a_fresh_fold(v)
        for v in (s, *others):
            v.close()


@pytest.fixture
def fed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many records each ``JournalFold.update`` was given."""
    calls: list[int] = []
    update = JournalFold.update

    def counting(self: JournalFold, records: Any) -> JournalFold:
        records = list(records)
        calls.append(len(records))
        return update(self, records)

    monkeypatch.setattr(JournalFold, "update", counting)
    return calls


def test_a_second_call_reads_and_folds_only_the_new_records(
        tmp_path: Path, reads: list[tuple[str, int, int]], fed: list[int]) -> None:
    s = asked(tmp_path / "a.db")
    for loss in (0.3, 0.2):
        trial(s, loss)
    trial(s, 0.1, end=False)  # a run open across the calls
    n = len(s.journal.read("a"))
    reads.clear()
    s.trials_dataframe()
    assert (reads, fed) == ([("a", 0, n)], [n])  # the first call: everything
    reads.clear(), fed.clear()
    s.trials_dataframe()
    s.results_dataframe()
    study_fold(s)
    # nothing new: the last TAIL records read again (to check them), none folded
    assert reads == [("a", n - TAIL, TAIL)] * 3 and fed == [0, 0, 0]
    trial(s, 0.05)
    m = len(s.journal.read("a"))
    reads.clear(), fed.clear()
    s.results_dataframe()
    assert (reads, fed) == ([("a", n - TAIL, TAIL + m - n)], [m - n])
    reads.clear(), fed.clear()
    s.ledger()  # a fold not kept yet: made from every record, the others fold on from theirs
    s.ledger()
    s.trials_dataframe()
    assert reads == [("a", 0, m), ("a", m - TAIL, TAIL), ("a", m - TAIL, TAIL)]
    assert fed == [0, 0, 0]  # the JournalFold: nothing new at each of the three
    matches_a_fresh_fold(s)
    s.close()


def test_a_read_only_study_folds_the_records_it_replayed_once(
        tmp_path: Path, reads: list[tuple[str, int, int]], fed: list[int]) -> None:
    s = asked(tmp_path / "a.db")
    for loss in (0.3, 0.2):
        trial(s, loss)
    s.close()
    snap = rung.Study.load("a", tmp_path / "a.db", readonly=True)
    records = snap._journal_records()
    want = trials_dataframe(snap.history, JournalFold().update(records))
    reads.clear(), fed.clear()
    for _ in range(2):
        pdt.assert_frame_equal(snap.trials_dataframe(), want)
        assert snap.ledger() == ledger(snap.spec, records)
        snap.results_dataframe()
        study_fold(snap)
    assert reads == []  # the journal: not read again
    assert [n for n in fed if n] == [len(records)]  # folded once, then nothing new
    snap.close()


def _delete(path: Path, name: str, where: str = "", *args: Any) -> None:
    with sqlite3.connect(path) as c:
        c.execute(f"DELETE FROM record WHERE study = ? {where}", (name, *args))
        if not where:
            c.execute("DELETE FROM study WHERE name = ?", (name,))


def _rewrite_last_timed(path: Path, name: str) -> None:
    """Give the last record that has a time, among the last ``TAIL``, another time."""
    with sqlite3.connect(path) as c:
        rows = c.execute("SELECT seq, kind, body FROM record WHERE study = ? ORDER BY seq DESC "
                         f"LIMIT {TAIL}", (name,)).fetchall()
        for seq, kind, body in rows:
            r: Any = loads(kind, body)
            if hasattr(r, "time"):
                c.execute("UPDATE record SET body = ? WHERE study = ? AND seq = ?",
                          (dumps(dataclasses.replace(r, time=r.time + 1.0))[1], name, seq))
                return
    raise AssertionError("no timed record")


@pytest.mark.parametrize("change", ["created again, longer", "created again, shorter",
                                    "created again, other spec", "cut",
                                    "last records rewritten"])
def test_a_journal_that_no_longer_starts_with_what_was_folded_is_folded_again(
        tmp_path: Path, change: str) -> None:
    """What a cache of the study's folds can meet: the study deleted and created again under
    its name (docs/spec.md, "Deleting a study"), the journal cut, its last records rewritten.
    The views of a writable object of it, which folded it before, then equal a fresh fold."""
    path = tmp_path / "a.db"
    w = asked(path)
    for loss in (0.3, 0.2, 0.1):
        trial(w, loss)
    w.close()
    seen = rung.Study.load("a", path)
    matches_a_fresh_fold(seen)
    n = seen._study_folds().n_records
    if change.startswith("created again"):
        _delete(path, "a")
        w = asked(path, seed=1 if change.endswith("other spec") else 0)
        for loss in (0.9, 0.8, 0.7, 0.6)[: 1 if change.endswith("shorter") else 4]:
            trial(w, loss)
        w.close()
    elif change == "cut":
        _delete(path, "a", "AND seq > ?", n - 3)
    else:
        _rewrite_last_timed(path, "a")
    matches_a_fresh_fold(seen)
    assert seen._study_folds().n_records == len(seen.journal.read("a"))
    seen.close()


def test_forget_folds_again_what_no_check_can_see(tmp_path: Path) -> None:
    """An early record rewritten, the spec and the last records as they were: the contract's
    limit (``rung.study_folds``); ``forget`` folds the journal again from its start."""
    path = tmp_path / "a.db"
    s = asked(path)
    for loss in (0.3, 0.2, 0.1):
        trial(s, loss)
    matches_a_fresh_fold(s)
    with sqlite3.connect(path) as c:
        seq, kind, body = c.execute("SELECT seq, kind, body FROM record WHERE study = 'a' AND "
                                    "kind = 'TrialStarted' ORDER BY seq").fetchone()
        r: Any = loads(kind, body)
        c.execute("UPDATE record SET body = ? WHERE study = 'a' AND seq = ?",
                  (dumps(dataclasses.replace(r, time=r.time - 5.0))[1], seq))
    s._study_folds().forget()
    matches_a_fresh_fold(s)
    s.close()


def test_what_a_caller_changes_in_what_it_was_given_changes_nothing_kept() -> None:
    j = MemoryJournal()
    s = asked(j, prices={"cpu": 2.0})
    for loss in (0.3, 0.2):
        trial(s, loss)
    trial(s, 0.1, end=False)  # an open run: its Run is the fold's to close later
    j.append("a", [StopSearch("the rule stopped it", {"p": 0.5})])
    df, res, led, jf = s.trials_dataframe(), s.results_dataframe(), s.ledger(), study_fold(s)
    df.loc[:, "reason"] = "changed"
    df.pop("status")
    res.iloc[0, 0] = 99
    res.loc[:, "loss"] = 0.0
    led.by_outcome["completed"].cost = 1e9
    led.total.cost = -1.0
    led.workers[0].busy_hours = -1.0
    led.devices["cpu"] = 7.0
    led.incumbent.clear()
    led.budget["cost"] = 5.0
    led.notes.append("changed")
    led.prices["cpu"] = 0.0
    assert led.stopped is not None
    led.stopped["evidence"]["p"] = 9.0
    led.stopped["reason"] = "changed"
    jf.runs[0].end = -1.0
    next(iter(jf._open.values())).outcome = "changed"
    jf.decisions.clear()
    jf.deleted.add("changed")
    jf.last_step[0] = 99
    jf.capacity.append((0.0, 99))
    jf.update(j.read("a"))  # every record once more
    jf.drop_results()
    with pytest.raises(dataclasses.FrozenInstanceError):
        study_fold(s).results[0].step = 99  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        DecisionMade(0, 1, "stop", "why", 0.0).reason = "changed"  # type: ignore[misc]
    matches_a_fresh_fold(s)
    trial(s, 0.05)  # and the folds go on from where they were
    matches_a_fresh_fold(s)


def test_a_copy_of_a_fold_is_a_fold_of_its_own() -> None:
    """``JournalFold.copy`` at every record of a study stopped and resumed (runs open at the
    copy, closed by the next session's records): the copy and the original, each updated
    with the rest, are the fold of all, and neither sees the other's changes."""
    j = MemoryJournal()
    s = simulated(j, "asha", 3, 6)
    turns = [0]

    def hook(engine: Engine) -> None:
        turns[0] += 1
        if turns[0] == 6:
            raise Pause

    with pytest.raises(Pause):
        s.simulate(B, n_workers=3, on_turn=hook)
    s.simulate(B, n_workers=3)
    records: list[Record] = j.read("g")
    whole = fold(records)
    containers = [f.name for f in dataclasses.fields(JournalFold)
                  if isinstance(getattr(whole, f.name), list | dict | set)]
    opened = 0
    for k in range(len(records) + 1):
        a = fold(records[:k])
        c = a.copy()
        assert c == a
        assert all(getattr(c, n) is not getattr(a, n) for n in containers)
        assert not {id(r) for r in c.runs} & {id(r) for r in a.runs}
        assert all(c._open[t] in c.runs for t in c._open)
        opened += bool(a._open)
        a.update(records[k:])
        assert c == fold(records[:k])
        c.update(records[k:])
        assert c == a == whole
    assert opened > 0


def test_a_study_whose_spec_changed_has_its_ledger_folded_again() -> None:
    s = asked(MemoryJournal(), prices={"cpu": 2.0})
    trial(s, 0.3)
    before = s.ledger()
    s.spec = dataclasses.replace(s.spec, prices={"cpu": 3.0})
    trial(s, 0.2)
    matches_a_fresh_fold(s, ["ledger"])
    assert s.ledger().prices == {"cpu": 3.0} != before.prices


def test_a_new_engine_has_the_fold_read_its_history_again() -> None:
    """A study whose engine was replayed anew (``AskTell._reload``, after a refused append):
    the lineage the fold keeps of the old history's tags is read from the new one."""
    j = MemoryJournal()
    s = simulated(j, "pbt", 1, 12)
    turns = [0]

    def hook(engine: Engine) -> None:
        turns[0] += 1
        if turns[0] == 40:
            raise Pause

    with pytest.raises(Pause):
        s.simulate(B, n_workers=2, on_turn=hook)
    matches_a_fresh_fold(s)
    assert replaced_by(s.history, study_fold(s))  # members were replaced already
    s.engine = Engine.replay(s.spec, j.read("g"))
    matches_a_fresh_fold(s)
    s.simulate(B, n_workers=2)
    matches_a_fresh_fold(s)
    assert s.trials_dataframe()["replaces"].notna().any()
    with s._study_folds().fold(s) as jf:  # as the rows of a trial retired unnoted read it
        assert replaced_by(s.history, jf)
    replayed = s.engine
    s.engine = Engine.from_spec(s.spec)  # a history with no trial: no lineage either
    matches_a_fresh_fold(s)
    s.engine = replayed
    matches_a_fresh_fold(s)


def test_a_stored_spec_that_changed_has_the_journal_folded_again(
        tmp_path: Path, reads: list[tuple[str, int, int]]) -> None:
    """The study's stored settings are the other check: a study created again with other
    settings is folded from its first record, whatever its last records."""
    path = tmp_path / "a.db"
    s = asked(path)
    trial(s, 0.3)
    s.trials_dataframe()
    n = s._study_folds().n_records
    with sqlite3.connect(path) as c:
        c.execute("UPDATE study SET spec = json_set(spec, '$.seed', 7) WHERE name = 'a'")
    reads.clear()
    s.trials_dataframe()
    assert reads == [("a", 0, n)]
    s.close()


def test_same_record_tells_records_apart_and_reads_nan_as_itself() -> None:
    from rung.core.events import ResultReported
    from rung.study_folds import same_record

    nan = ResultReported(0, 1, {"loss": float("nan")}, 1.0)
    assert nan != loads(*dumps(nan))  # NaN is not equal to itself ...
    assert same_record(nan, loads(*dumps(nan)))  # ... but it is the same record
    assert not same_record(nan, ResultReported(0, 1, {"loss": float("nan")}, 2.0))
    odd = ResultReported(0, 1, {"loss": object()}, 1.0)  # neither equal nor JSON
    assert same_record(odd, odd)
    assert not same_record(odd, ResultReported(0, 1, {"loss": object()}, 1.0))
