"""``rung.testing.run_population``: the exact calls it makes for scripted decisions, forks and
resumes from copies of the stored state, stop, and a real PBT study's forks continuing their
donors' states."""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import pytest

from rung import Budget, Decision, Float, SearchSpace, Study
from rung.storage.memory import MemoryJournal
from rung.testing import PopulationRun, run_population


class FakeStudy:
    """Hands out ``asks`` in order (then ``None``), answers each ``(trial, step)`` with
    ``decisions`` (default: continue) and records every call."""

    def __init__(self, asks: list[Any], decisions: dict[tuple[int, int], Decision],
                 max_step: int) -> None:
        self.asks = list(asks)
        self.decisions = decisions
        self.spec = SimpleNamespace(max_step=max_step)
        self.calls: list[tuple[Any, ...]] = []

    def ask(self) -> Any:
        t = self.asks.pop(0) if self.asks else None
        self.calls.append(("ask", None if t is None else t.id))
        return t

    def report(self, tid: int, step: int, metrics: Mapping[str, Any]) -> Decision:
        self.calls.append(("report", tid, step, dict(metrics)))
        return self.decisions.get((tid, step), Decision())

    def checkpoint(self, tid: int, step: int, path: str) -> None:
        self.calls.append(("checkpoint", tid, step, path))

    def tell(self, tid: int, status: str) -> None:
        self.calls.append(("tell", tid, status))


def trial(tid: int, ckpt: tuple[str, int] | None = None) -> Any:
    cp = None if ckpt is None else SimpleNamespace(path=ckpt[0], step=ckpt[1])
    return SimpleNamespace(id=tid, params={"x": float(tid)}, checkpoint=cp)


def lineage_init(tid: int, params: Mapping[str, Any]) -> list[str]:
    return [f"init{tid}"]


def lineage_train(state: list[str], tid: int, params: Mapping[str, Any],
                  step: int) -> tuple[list[str], dict[str, float]]:
    state.append(f"{tid}@{step}")  # in place: the stored checkpoints must be copies
    return state, {"loss": float(len(state)), "x": params["x"]}


def test_the_exact_calls_for_a_scripted_stop_fork_pause_and_resume() -> None:
    study = FakeStudy(
        [trial(0), trial(1), trial(2, ("1/1", 1)), trial(1, ("1/2", 2))],
        {(1, 1): Decision(checkpoint=True), (0, 2): Decision.stop("worst"),
         (1, 2): Decision.pause("wait")},
        max_step=3,
    )
    run = run_population(study, 2, lineage_init, lineage_train)  # type: ignore[arg-type]
    assert [c[:4] if c[0] != "report" else c[:3] for c in study.calls] == [
        ("ask", 0), ("ask", 1),
        ("report", 0, 1), ("report", 1, 1), ("checkpoint", 1, 1, "1/1"),
        ("report", 0, 2), ("tell", 0, "stopped"),
        ("ask", 2),  # the fork of 1 at step 1
        ("report", 1, 2), ("checkpoint", 1, 2, "1/2"), ("tell", 1, "paused"),
        ("ask", 1),  # 1 resumes from step 2
        ("report", 2, 2),  # the least advanced trial first (2 and 1 at step 1 and 2)
        ("report", 1, 3), ("tell", 1, "completed"),
        ("ask", None),
        ("report", 2, 3), ("tell", 2, "completed"),
        ("ask", None),
    ]
    assert isinstance(run, PopulationRun) and run.steps == 7
    # the fork starts from the donor's state at step 1, not from its later, in-place state
    assert run.last[2].state == ["init1", "1@1", "2@2", "2@3"]
    assert run.last[1].state == ["init1", "1@1", "1@2", "1@3"]
    assert run.last[0].state == ["init0", "0@1", "0@2"]
    assert {t: (r.step, r.metrics["loss"]) for t, r in run.last.items()} == {
        0: (2, 3.0), 1: (3, 4.0), 2: (3, 4.0)}
    # each trial trains with its own params, a fork with its own too
    reports = [c for c in study.calls if c[0] == "report"]
    assert all(c[3]["x"] == float(c[1]) for c in reports)


def test_a_paused_trial_never_resumed_keeps_its_state_at_the_pause() -> None:
    study = FakeStudy([trial(0)], {(0, 2): Decision.pause("wait")}, max_step=5)
    run = run_population(study, 3, lineage_init, lineage_train)  # type: ignore[arg-type]
    assert run.steps == 2 and run.last[0].state == ["init0", "0@1", "0@2"]
    assert study.calls[-3:] == [("checkpoint", 0, 2, "0/2"), ("tell", 0, "paused"),
                                ("ask", None)]


def test_max_step_overrides_the_study_and_workers_are_checked() -> None:
    study = FakeStudy([trial(0)], {}, max_step=9)
    run = run_population(study, 1, lineage_init, lineage_train,  # type: ignore[arg-type]
                         max_step=2)
    assert run.steps == 2 and study.calls[-2:] == [("tell", 0, "completed"), ("ask", None)]
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="workers must be a positive integer"):
            run_population(study, bad, lineage_init, lineage_train)  # type: ignore[arg-type]


def test_a_checkpoint_this_run_did_not_store_is_a_key_error() -> None:
    study = FakeStudy([trial(3, ("0/1", 1))], {}, max_step=2)
    with pytest.raises(KeyError, match="0/1"):
        run_population(study, 1, lineage_init, lineage_train)  # type: ignore[arg-type]


def test_pbt_forks_continue_their_donors_state_in_a_real_study() -> None:
    space = SearchSpace({"lr": Float(1e-3, 1.0, log=True)})
    study = Study.create("pop", space, "loss", searcher="random",
                         scheduler={"name": "pbt", "params": {"population_size": 4,
                                                              "perturbation_interval": 2}},
                         max_step=8, budget=Budget(max_steps=32), seed=1,
                         storage=MemoryJournal())

    def train(state: tuple[tuple[int, int], ...], tid: int, params: Mapping[str, Any],
              step: int) -> tuple[tuple[tuple[int, int], ...], dict[str, float]]:
        state = (*state, (tid, step))
        return state, {"loss": abs(params["lr"] - 0.1) * 10 - step}

    run = run_population(study, 2, lambda tid, p: (), train, copy=lambda s: s)
    forks = [t for t in study.trials() if t.parent_id is not None]
    assert forks and run.steps >= 32
    for t in forks:
        lineage = run.last[t.id].state
        own = [i for i, (tid, _) in enumerate(lineage) if tid == t.id]
        start = own[0]
        # the steps before its own are its donor's, up to the checkpoint it forked from
        assert start > 0 and lineage[start - 1][0] == t.parent_id
        assert lineage[start][1] == lineage[start - 1][1] + 1
        donor = run.last[t.parent_id].state
        assert donor[:start] == lineage[:start]
        assert [s for _, s in lineage] == list(range(1, len(lineage) + 1))
