"""Threads of one process may share a study: each ask / report / checkpoint / tell is one whole
turn under the study's lock. Four threads asking and telling at once used to interleave turns:
``UNIQUE constraint failed: record.seq``, ``ReplayDivergenceError``, trials left running, and a
journal that could never be loaded again."""

from __future__ import annotations

import threading
from pathlib import Path

import rung
from rung import Budget, Float, Objective, Study, TrialStatus

N = 120


def test_four_threads_asking_and_telling_leave_a_journal_that_replays(tmp_path: Path) -> None:
    study = Study.create("th", {"x": Float(0.0, 1.0)}, Objective("loss"), searcher="random",
                         scheduler="asha", max_step=3, budget=Budget(n_trials=N), seed=0,
                         storage=tmp_path / "th.db")
    errors: list[BaseException] = []

    def work() -> None:
        try:
            while (t := study.ask()) is not None:
                for step in (1, 2, 3):
                    d = study.report(t, step, {"loss": t.params["x"] + 1 / step})
                    if d.action is not rung.Action.CONTINUE:
                        break
                study.tell(t, "stopped" if d.action is rung.Action.STOP else "completed")
        except BaseException as e:  # collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    assert errors == [] and not any(th.is_alive() for th in threads)
    h = study.history
    assert len(h) == N and not h.pending()
    assert h.count(TrialStatus.COMPLETED) + h.count(TrialStatus.STOPPED) == N
    ids = [t.id for t in study.trials()]
    assert ids == list(range(N))  # every trial once
    study.close()
    again = Study.load("th", tmp_path / "th.db", readonly=True)  # the journal replays
    assert [(t.id, t.status, t.results) for t in again.trials()] == [
        (t.id, t.status, t.results) for t in study.trials()]
