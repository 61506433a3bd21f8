"""A ``Study``, a ``Trial`` and a ``Ledger`` read well in a notebook or a REPL (audit L1).

Before, a study showed as ``<rung.study.Study at 0x7fe43012f1d0>``, ``study.best_trial`` as the
dataclass repr of every result (10,490 characters for 100 steps of 3 metrics) and
``study.ledger()`` as one line of raw floats. Now: ``Trial(3, completed, params={...}, loss=0.1234
at step 27, 27 results)``, ``Study('name', storage='x.db', 12 trials: ...; best loss=...)`` from
the engine's history alone (no journal read), and the ledger prints (and IPython shows) the
report ``rung ledger`` prints. Equality, pickling and the fields of a ``Trial`` are unchanged.
"""

from __future__ import annotations

import dataclasses
import pickle
import re
from pathlib import Path
from typing import Any

import pytest

import rung.study_views
from rung import Budget, Float, Int, Study
from rung.benchmarks import get_benchmark
from rung.cli.ledger import render
from rung.cli.main import main
from rung.core.records import Result, Trial, TrialStatus
from rung.cost.ledger import Ledger, Spend

SPACE = {"lr": Float(1e-4, 1.0, log=True), "n": Int(1, 4)}
B = get_benchmark("mf-branin", max_step=9)


class _Printer:
    """IPython's ``RepresentationPrinter``, as far as ``_repr_pretty_`` uses it."""

    def __init__(self) -> None:
        self.out: list[str] = []

    def text(self, s: str) -> None:
        self.out.append(s)


def pretty(obj: Any) -> str:
    p = _Printer()
    obj._repr_pretty_(p, False)
    return "".join(p.out)


def scripted(name: str = "r", storage: str | None = None) -> Study:
    """Three trials by ask / tell: #0 completed at step 27, #1 failed at step 2, #2 running."""
    s = Study.create(name, SPACE, "loss", scheduler="fifo", max_step=27,
                     budget=Budget(n_trials=4), storage=storage)
    for params in ({"lr": 0.01, "n": 2}, {"lr": 0.5, "n": 1}, {"lr": 0.1, "n": 3}):
        s.enqueue(params)
    t = s.ask()
    assert t is not None
    for k in range(1, 28):
        s.report(t.id, k, {"loss": 0.1234 + (27 - k) / 100})
    s.tell(t.id, "completed")
    t = s.ask()
    assert t is not None
    s.report(t.id, 1, {"loss": 0.9})
    s.report(t.id, 2, {"loss": 0.5})
    s.tell(t.id, "failed", error="Traceback (most recent call last):\n  File 'x.py', line 3\n"
                                 "ValueError: boom\n")
    assert s.ask() is not None
    return s


SCRIPTED = ("3 trials: 1 running, 1 completed, 1 failed; best loss=0.1234 (trial #0, step 27)")


def test_trials_of_a_scripted_study() -> None:
    s = scripted()
    assert [repr(t) for t in s.trials()] == [
        "Trial(0, completed, params={'lr': 0.01, 'n': 2}, loss=0.1234 at step 27, 27 results)",
        "Trial(1, failed, params={'lr': 0.5, 'n': 1}, loss=0.5 at step 2, 2 results, "
        "error='ValueError: boom')",
        "Trial(2, running, params={'lr': 0.1, 'n': 3}, no results)",
    ]
    assert repr(s.best_trial) == repr(s.trial(0))
    assert repr(s) == f"Study('r', in memory, {SCRIPTED})"
    assert pretty(s) == repr(s)


def test_a_study_without_trials() -> None:
    s = Study.create("e", SPACE, "loss", budget=Budget(n_trials=2))
    assert repr(s) == "Study('e', in memory, 0 trials; best: none yet)"
    assert repr(s.trials()) == "[]" and s.best_trial is None


def test_a_study_in_sqlite_and_read_only(tmp_path: Path) -> None:
    db = str(tmp_path / "runs" / "x.db")
    s = scripted("q", storage=db)
    assert repr(s) == f"Study('q', storage={db!r}, {SCRIPTED})"
    s.close()
    r = Study.load("q", storage=db, readonly=True)
    try:
        assert repr(r) == f"Study('q', storage={db!r}, read-only, {SCRIPTED})"
    finally:
        r.close()


def test_multi_objective_and_constraints() -> None:
    mo = Study.create("mo", SPACE, ["loss", "acc"], mode=["min", "max"],
                      budget=Budget(n_trials=2))
    mo.enqueue({"lr": 0.01, "n": 2})
    t = mo.ask()
    assert t is not None
    mo.tell(t.id, "completed", {"acc": 0.9, "loss": 0.2, "lat": 3.0, "mem": 10})
    # the first objective's metric first (the trial's value), at most three, then "..."
    assert repr(mo.trial(0)) == ("Trial(0, completed, params={'lr': 0.01, 'n': 2}, loss=0.2, "
                                 "acc=0.9, lat=3.0, ... at step 1, 1 result)")
    assert repr(mo) == "Study('mo', in memory, 1 trial: 1 completed; best loss=0.2 (trial #0, step 1))"

    c = Study.create("c", SPACE, "acc", mode="max", constraints=["mem <= 8"],
                     budget=Budget(n_trials=2))
    c.enqueue({"lr": 0.01, "n": 2})
    t = c.ask()
    assert t is not None
    c.tell(t.id, "completed", {"loss": 0.3, "acc": 0.9, "mem": 10})
    assert repr(c.trial(0)) == ("Trial(0, completed, params={'lr': 0.01, 'n': 2}, acc=0.9, "
                                "loss=0.3, mem=10 at step 1, 1 result)")
    assert repr(c) == "Study('c', in memory, 1 trial: 1 completed; best: no feasible trial yet)"


def _long_trial() -> Trial:
    results = tuple(Result(k, {"loss": 1 / (k + 1), "acc": 0.5 + k / 300, "lat": 3.0 * k},
                           1712345678.123 + k) for k in range(1, 101))
    return Trial(3, {"lr": 0.0012345678901, "n": 2, "opt": "adam"}, TrialStatus.COMPLETED,
                 results, score=1 / 101, value=1 / 101)


def test_a_trial_of_100_results_of_3_metrics_is_one_short_line() -> None:
    t = _long_trial()
    text = repr(t)
    assert text == ("Trial(3, completed, params={'lr': 0.00123457, 'n': 2, 'opt': 'adam'}, "
                    "loss=0.00990099, acc=0.833333, lat=300.0 at step 100, 100 results)")
    assert len(text) < 200 and "\n" not in text
    assert len(repr([t, t])) < 400


def test_only_the_repr_changed() -> None:
    t = _long_trial()
    assert pickle.loads(pickle.dumps(t)) == t
    assert dataclasses.replace(t) == t and dataclasses.replace(t, id=4) != t
    assert dataclasses.asdict(t)["results"][0] == {"step": 1, "metrics": t.results[0].metrics,
                                                   "time": 1712345679.123}
    assert [f.name for f in dataclasses.fields(Trial)] == [
        "id", "params", "status", "results", "checkpoint", "parent_id", "tags", "error",
        "score", "value"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.id = 4  # type: ignore[misc]
    with pytest.raises(AttributeError, match="trial.id"):  # Optuna's name still says what to write
        t.number  # type: ignore[attr-defined]  # noqa: B018


def test_long_params_values_and_errors_are_cut() -> None:
    t = Trial(4, {f"p{i}": i / 10 for i in range(20)}, TrialStatus.FAILED, parent_id=1,
              error="x" * 200)
    assert repr(t) == (
        "Trial(4, failed, params={'p0': 0.0, 'p1': 0.1, 'p2': 0.2, 'p3': 0.3, 'p4': 0.4, "
        "'p5': 0.5, 'p6': 0.6, 'p7': 0.7, ... 12 more}, parent=1, no results, error='"
        + "x" * 77 + "...')")
    t = Trial(5, {"s": "y" * 100, "b": True, "none": None}, TrialStatus.INTERRUPTED,
              (Result(1, {"k": float("nan")}, 0.0),))
    assert repr(t) == ("Trial(5, interrupted, params={'s': '" + "y" * 36 + "..., 'b': True, "
                       "'none': None}, k=nan at step 1, 1 result)")


def test_the_objective_is_named_by_the_trials_value() -> None:
    r = (Result(9, {"loss": 0.3, "acc": 0.939}, 1.0),)
    assert repr(Trial(0, {}, TrialStatus.STOPPED, r, score=-0.939, value=0.939)) == (
        "Trial(0, stopped, params={}, acc=0.939, loss=0.3 at step 9, 1 result)")
    # two metrics equal to the value: reported order; no value (NaN, missing): reported order
    r = (Result(2, {"a": 0.5, "b": 0.5}, 1.0),)
    assert repr(Trial(1, {}, TrialStatus.COMPLETED, r, score=0.5, value=0.5)) == (
        "Trial(1, completed, params={}, a=0.5, b=0.5 at step 2, 1 result)")
    assert repr(Trial(2, {}, TrialStatus.COMPLETED, r)) == (
        "Trial(2, completed, params={}, a=0.5, b=0.5 at step 2, 1 result)")


def test_repr_reads_no_journal_and_never_reaches_getattr(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = Study.create("sim", B.space, "loss", max_step=9, budget=Budget(n_trials=6),
                     storage=str(tmp_path / "sim.db"))
    s.simulate(B, n_workers=2)
    calls: list[str] = []
    j = s.journal

    def counting(name: str) -> Any:
        method = getattr(j, name)

        def counted(*a: Any, **k: Any) -> Any:
            calls.append(name)
            return method(*a, **k)
        return counted

    for name in ("read", "load_study", "is_being_written", "list_studies"):
        monkeypatch.setattr(j, name, counting(name))

    def refused(*a: Any, **k: Any) -> Any:
        raise AssertionError("repr reached StudyViews.__getattr__ or folded the journal")

    monkeypatch.setattr(rung.study_views, "missing", refused)
    monkeypatch.setattr(Study, "_study_folds", refused)
    monkeypatch.setattr(Study, "_journal_records", refused)
    text = repr(s)
    assert re.fullmatch(r"Study\('sim', storage='.*sim\.db', 6 trials: .*; best loss=\S+ "
                        r"\(trial #\d+, step \d+\)\)", text), text
    assert repr(s.best_trial).startswith("Trial(") and repr(s.trials())
    assert calls == []
    s.journal.read("sim")  # (the counting counts)
    assert calls[0] == "read"
    s.close()


def test_a_half_built_study_shows_without_raising(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def counted(owner: Any, name: str, names: Any) -> Any:
        calls.append(name)
        raise AttributeError(name)

    monkeypatch.setattr(rung.study_views, "missing", counted)
    bare = Study.__new__(Study)
    assert re.fullmatch(r"<Study at 0x[0-9a-f]+>", repr(bare))
    assert calls == []
    s = Study.create("e", SPACE, "loss", budget=Budget(n_trials=2))
    del s.__dict__["engine"]  # a text that fails: the study's name, no exception
    assert re.fullmatch(r"<Study 'e' at 0x[0-9a-f]+>", repr(s))


def test_the_ledger_prints_what_rung_ledger_prints(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "sim.db")
    s = Study.create("sim", B.space, "loss", max_step=9, budget=Budget(n_trials=6), storage=db,
                     prices={"cpu": 0.04})
    s.simulate(B, n_workers=2)
    led = s.ledger()
    s.close()
    capsys.readouterr()
    assert main(["ledger", "sim", "--storage", db]) == 0
    cli = capsys.readouterr().out
    assert cli == render(led, "sim") and cli.startswith("ledger of sim: 6 trials, ")
    # a ledger does not know its study's name: titled "ledger"
    assert str(led) == cli.replace("ledger of sim: ", "ledger: ", 1)
    assert pretty(led) == str(led).rstrip("\n")
    assert re.fullmatch(r"Ledger\(6 trials, 6 runs, \S+ device-h, cost \S+, saved \S+%\)",
                        repr(led)), repr(led)


def _ledger(prices: dict[str, float], cost: float) -> Ledger:
    return Ledger(
        prices=prices, max_step=3, by_outcome={"completed": Spend(cost, 1.5, 0.0, 3, 1)},
        total=Spend(cost, 1.5, 0.0, 3, 1), devices={"cpu": 1.5}, full_cost=2 * cost,
        full_device_hours=3.0, idle_hours=0.0, idle_cost=0.0, workers=[],
        checkpoint_hours=0.0, checkpoint_cost=0.0, incumbent=[],
        budget={"max_cost": None, "cost": cost, "max_gpu_hours": None, "gpu_hours": 0.0,
                "overshoot_cost": None, "overshoot_gpu_hours": None}, trials=1)


def test_the_ledgers_repr_is_its_totals() -> None:
    assert repr(_ledger({"cpu": 2.0}, 3.0)) == (
        "Ledger(1 trial, 1 run, 1.500 device-h, cost 3.00, saved 50.0%)")
    assert repr(_ledger({}, 0.0)) == "Ledger(1 trial, 1 run, 1.500 device-h, saved 50.0%)"
    led = _ledger({}, 0.0)
    assert led == _ledger({}, 0.0) and dataclasses.replace(led, trials=2) != led
    assert str(led) == render(led)
