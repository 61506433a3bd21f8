"""``min_step="auto"`` (``FirstRung``): probes run to the top uncut, the first rung is the lowest
rung step whose values rank the complete curves like their final values, and every decision is
reproduced by replay (scripted, exact decisions)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

import pytest
from random_world import SmallBench
from sched_script import Script, summary

from rung import ASHA, Action, AsyncHyperband, Budget, ConfigError, Study
from rung.core.components import Scheduler
from rung.schedulers._guard import FirstRung
from rung.testing import check_scheduler

# max_step 9, eta 3: candidate first rungs at steps 1 and 3; 5 probes, threshold 0.5
AUTO = {"min_step": "auto", "probes": 5, "min_correlation": 0.5}


def finals(n: int) -> list[float]:
    return [0.1 * (i + 1) for i in range(n)]  # trial i ends with loss 0.1 (i + 1)


def run_probes(s: Script, at1: Callable[[float], float], at3: Callable[[float], float]) -> None:
    """Five probes report at every step 1..9: ``at1(final)`` at steps 1-2, ``at3(final)`` at
    3-8, their final loss at 9. Their leases end at max_step: no reply, no decision."""
    assert summary(s.capacity(5)) == [(t, 1, 9, None) for t in range(5)]
    s.start(*range(5))
    for tid, f in enumerate(finals(5)):
        for step in range(1, 10):
            v = at1(f) if step < 3 else at3(f) if step < 9 else f
            assert s.report(tid, step, v) is None  # streaming: a probe never waits
    for tid in range(5):  # the estimate is made before any new trial starts
        s.end(tid)


def test_probes_run_uncut_and_informative_low_steps_keep_the_first_rung_at_1() -> None:
    s = Script(ASHA(3, **AUTO), max_step=9)
    state = s.scheduler.state()["first_rung"]
    assert state["min_step"] == 9 and state["probes"] == 5  # no rung decides before the data
    run_probes(s, at1=lambda f: f, at3=lambda f: f)
    state = s.scheduler.state()["first_rung"]
    assert state["min_step"] == 1
    assert state["reason"] == (
        "first rung at step 1: Spearman 1.00 with the final value over 5 complete curves"
    )
    # the next trials wait at rung 1 and are judged there: the quota of 1/3 of 6 results
    new = [c for c in s.commands if getattr(c, "trial_id", -1) == 5]
    assert summary([c for c in new if type(c).__name__ == "Launch"]) == [(5, 1, 1, None)]
    s.start(5)
    d = s.report(5, 1, 0.05)  # best at rung 1: goes on, and carries the estimate's reason
    assert d is not None and d.action is Action.CONTINUE and d.until_step == 3
    assert d.reason == ("rank 1/6 at rung 0 (step 1); first rung at step 1: Spearman 1.00 "
                        "with the final value over 5 complete curves")
    s.end(5)
    s.start(6)
    d = s.report(6, 1, 0.9)  # worst of 7: outside the top max(1, floor(7/3)) = 2
    assert d is not None and d.action is Action.STOP
    assert "first rung" not in d.reason  # the reason is attached once
    s.assert_replay_matches()


def test_reversed_first_step_moves_the_first_rung_up() -> None:
    s = Script(ASHA(3, **AUTO), max_step=9)
    run_probes(s, at1=lambda f: 1.0 - f, at3=lambda f: f)  # step 1 ranks backwards
    state = s.scheduler.state()["first_rung"]
    assert state["min_step"] == 3
    assert state["reason"] == (
        "first rung at step 3: Spearman 1.00 with the final value over 5 complete curves "
        "(step 1: -1.00)"
    )
    s.start(5)
    # trial 5's lease ends at rung 3: rung 1 makes no decision, even for the worst value
    assert s.report(5, 1, 0.99) is None
    d = s.report(5, 3, 0.99)
    assert d is not None and d.action is Action.STOP
    assert d.reason.startswith("rank 6/6 at rung 1 (step 3): not in the top 1/3")
    assert d.reason.endswith("first rung at step 3: Spearman 1.00 with the final value over "
                             "5 complete curves (step 1: -1.00)")
    s.assert_replay_matches()


def test_uninformative_low_steps_mean_no_early_stopping() -> None:
    s = Script(ASHA(3, **AUTO), max_step=9)
    run_probes(s, at1=lambda f: 0.5, at3=lambda f: 1.0 - f)  # all tied, then reversed
    state = s.scheduler.state()["first_rung"]
    assert state["min_step"] == 9
    assert state["reason"] == (
        "no early stopping: no step below 9 reaches Spearman 0.5 with the final value over 5 "
        "complete curves (step 1: n/a, 100% tied; step 3: -1.00)"
    )
    launched = [c for c in s.commands if type(c).__name__ == "Launch" and c.trial_id == 5]
    assert summary(launched) == [(5, 1, 9, None)]  # runs to the top like FIFO
    json.dumps(s.scheduler.state())
    s.assert_replay_matches()


def test_trials_started_before_the_estimate_are_judged_late_at_their_highest_passed_rung(
) -> None:
    """Seven workers, five probes: trials 5 and 6 start beside the probes, while no rung
    decides, and stream uncut. Once the estimate makes rungs 1 and 3 deciding, each is judged
    at its next report on its score at the highest deciding rung it passed (step 3), among
    every result recorded there: the better goes on, the worse is stopped."""
    # ASHA's rung 1 (step 3) gets the probes' 0.1 .. 0.5 and trials 5 and 6: 7 results, top
    # 2; async Hyperband's lowest bracket gets 4 of the 7 trials (5 and 6 among them): top 1
    for sched, n, cutoff in ((ASHA(3, **AUTO), 7, 0.1), (AsyncHyperband(3, **AUTO), 4, 0.05)):
        s = Script(sched, max_step=9)
        assert summary(s.capacity(7)) == [(t, 1, 9, None) for t in range(7)]
        s.start(*range(7))
        for tid, v in ((5, 0.05), (6, 0.95)):
            for step in range(1, 5):
                assert s.report(tid, step, v) is None  # no rung decides yet
        for tid, f in enumerate(finals(5)):
            for step in range(1, 10):
                assert s.report(tid, step, f) is None
            s.end(tid)
        assert s.scheduler.state()["first_rung"]["min_step"] == 1
        assert s.report(5, 5, 0.05) is None  # judged late and kept: streams on, no reply
        assert s.report(5, 6, 0.05) is None  # judged once
        d = s.report(6, 5, 0.95)
        assert d is not None and d.action is Action.STOP
        assert d.reason == (
            f"rank {n}/{n} at rung 1 (step 3), judged late: it passed the rung before the "
            f"rung decided; not in the top 1/3 (cutoff loss={cutoff:g})"
        )
        # its complete curve would be a selected one: it no longer counts as unselected
        assert s.scheduler.state()["first_rung"]["complete_curves"] == 5
        s.end(6, "stopped")
        s.assert_replay_matches()


def test_promotion_variant_does_not_judge_late() -> None:
    s = Script(ASHA(3, variant="promotion", **AUTO), max_step=9)
    s.capacity(6)
    s.start(*range(6))
    for step in range(1, 5):
        assert s.report(5, step, 0.95) is None
    for tid, f in enumerate(finals(5)):
        for step in range(1, 10):
            s.report(tid, step, f)
        s.end(tid)
    assert s.report(5, 5, 0.95) is None  # a pause needs a checkpoint at a rung: runs on
    s.assert_replay_matches()


def test_promotion_variant_and_async_hyperband_follow_the_estimate() -> None:
    for sched in (ASHA(3, variant="promotion", **AUTO),
                  AsyncHyperband(3, **AUTO)):
        s = Script(sched, max_step=9)
        run_probes(s, at1=lambda f: 1.0 - f, at3=lambda f: f)
        assert s.scheduler.state()["first_rung"]["min_step"] == 3
        s.assert_replay_matches()


class _History:
    def __init__(self) -> None:
        self.table: dict[int, dict[int, float]] = {}

    def scores(self, tid: int) -> Mapping[int, float]:
        return self.table[tid]


def feed(first: FirstRung, h: _History, tid: int, curve: dict[int, float]) -> str | None:
    h.table[tid] = curve
    return first.observe(tid, 9, curve[9], h)  # type: ignore[arg-type]


def test_re_estimated_at_fixed_counts_raised_freely_never_lowered_after_decisions() -> None:
    first = FirstRung([1, 3], 9, 3, probes=3, threshold=0.5)
    h = _History()
    good = [{1: f, 3: f, 9: f} for f in (0.1, 0.2, 0.3, 0.4, 0.5)]
    assert feed(first, h, 0, good[0]) is None and feed(first, h, 1, good[1]) is None
    assert feed(first, h, 2, good[2]) is not None and first.min_step == 1  # count 3
    first.judge(7)  # a deciding rung judged a trial: its curve will not count
    assert feed(first, h, 7, {1: 0.9, 3: 0.1, 9: 0.0}) is None
    # more unselected curves: step 1 now reversed on most of them -> raised to step 3 at
    # count ceil(1.5 * 3) = 5
    assert feed(first, h, 3, {1: 0.9, 3: 0.05, 9: 0.05}) is None
    why = feed(first, h, 4, {1: 0.95, 3: 0.01, 9: 0.01})
    assert why is not None and first.min_step == 3
    # the data swing back (step 1 fine again), but step 3 has judged trials: not lowered
    for tid in range(10, 32):
        f = 0.5 + tid / 100
        why = feed(first, h, tid, {1: f, 3: f, 9: f}) or why
    assert first.min_step == 3
    assert [e["curves"] for e in first.estimates] == [3, 5, 8, 12, 18, 27]
    assert "kept at step 3" in first.estimates[-1]["reason"]
    json.dumps(first.state())


def test_lowered_while_nothing_was_judged() -> None:
    first = FirstRung([1, 3], 9, 3, probes=3, threshold=0.5)
    h = _History()
    for tid, f in enumerate((0.3, 0.2, 0.1)):  # step 1 and 3 reversed: no rung decides
        feed(first, h, tid, {1: f, 3: f, 9: 0.4 - f})
    assert first.min_step == 9
    for tid, f in zip(range(3, 5), (0.5, 0.6), strict=True):  # no decision yet: may go down
        feed(first, h, tid, {1: 0.0, 3: f, 9: f})
    assert first.min_step == 3


def test_params_persist_only_when_set_and_bad_values_name_the_key() -> None:
    assert ASHA(3).get_params() == {"reduction_factor": 3, "min_step": 1}
    assert ASHA(3, min_step="auto", probes=8).get_params() == {
        "reduction_factor": 3, "min_step": "auto", "probes": 8}
    assert "probes" not in AsyncHyperband(3).get_params()
    for bad, key in (({"min_step": "soon"}, "min_step"), ({"min_step": "auto", "probes": 1},
                     "probes"), ({"min_step": "auto", "min_correlation": 2.0},
                     "min_correlation")):
        with pytest.raises(ConfigError, match=key):
            Script(ASHA(3, **bad))  # type: ignore[arg-type]


VARIANTS: dict[str, Callable[[], Scheduler]] = {
    "asha-auto": lambda: ASHA(3, **AUTO),
    "asha-auto-promotion-guard": lambda: ASHA(3, min_step="auto", variant="promotion",
                                              guard=True),
    "asha-auto-probes-3": lambda: ASHA(2, min_step="auto", probes=3, min_correlation=0.2),
    "async-hyperband-auto": lambda: AsyncHyperband(3, **AUTO),
    "async-hyperband-auto-promotion": lambda: AsyncHyperband(3, min_step="auto",
                                                             variant="promotion"),
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_conformance(name: str) -> None:
    check_scheduler(VARIANTS[name])


def test_simulated_study_with_auto_first_rung_is_reproducible() -> None:
    out = []
    for _ in range(2):
        study = Study.create("a", SmallBench(27).space, "loss",
                             scheduler=ASHA(3, **AUTO), max_step=27,
                             budget=Budget(n_trials=60), seed=4)
        study.simulate(SmallBench(27), n_workers=4)
        out.append(json.dumps(study.engine.scheduler.state(), sort_keys=True))
    assert out[0] == out[1]
    assert json.loads(out[0])["first_rung"]["estimates"]


class Crossing:
    """A simulated benchmark: ``x`` ranks the configurations in reverse below step
    ``cross`` and in order from it on (``cross=1``: every step is informative)."""

    def __init__(self, cross: int) -> None:
        self.cross = cross
        self.space = SmallBench(27).space

    def evaluate(self, params: Mapping[str, float], step: int) -> tuple[dict[str, float], float]:
        x = float(params["x"])
        loss = x if step >= self.cross else 2.0 - x
        return {"loss": loss + 1.0 / step}, 1.0


@pytest.mark.parametrize(("cross", "first"), [(1, 1), (3, 3), (9, 9)])
@pytest.mark.parametrize("workers", [1, 4])
def test_simulated_study_finds_where_the_ranking_starts(cross: int, first: int,
                                                        workers: int) -> None:
    """Default ``ASHA(3, min_step="auto")``: 8 probes run to 27 uncut, then the first rung is
    the step from which values rank like the final ones."""
    bench = Crossing(cross)
    study = Study.create("c", bench.space, "loss", scheduler=ASHA(3, min_step="auto"),
                         max_step=27, budget=Budget(n_trials=40), seed=2)
    study.simulate(bench, n_workers=workers)
    state = study.engine.scheduler.state()["first_rung"]
    assert state["min_step"] == first
    assert state["reason"].startswith(f"first rung at step {first}: Spearman 1.00")
    probes = [study.history.last_step(t) for t in range(8)]
    assert probes == [27] * 8  # never stopped
    stopped_below = [t for t in range(8, len(study.history))
                     if study.history.last_step(t) < first]
    assert stopped_below == []  # no trial ends below the chosen first rung
