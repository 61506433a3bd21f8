"""Asynchronous Hyperband: deterministic bracket draws, per-bracket ASHA ladders."""

from __future__ import annotations

import pytest
from sched_script import Script

from rung import Action, ConfigError, Decision
from rung.core.rng import derive_rng
from rung.schedulers import AsyncHyperband


def test_brackets_weights_and_ladders() -> None:
    s = Script(AsyncHyperband(3), max_step=27)
    sched = s.scheduler
    # Hyperband's n for s = 3, 2, 1, 0 with s_max = 3: 27, 12, 6, 4
    assert sched.weights == pytest.approx([27 / 49, 12 / 49, 6 / 49, 4 / 49])  # type: ignore
    assert [lad.rungs for lad in sched._ladders] == [[1, 3, 9], [3, 9], [9], []]  # type: ignore


def test_bracket_draws_come_from_derive_rng_keyed_by_trial_id() -> None:
    s = Script(AsyncHyperband(3), max_step=27, seed=7)
    sched = s.scheduler
    launches = s.capacity(40)
    for c in launches:
        b = sched.bracket_of(c.trial_id)  # type: ignore[attr-defined]
        assert s.engine.history.tags(c.trial_id) == {"bracket": b}
        u = derive_rng(7, "bracket", c.trial_id).random()
        assert b == next(i for i, cdf in enumerate(sched._cdf) if u < cdf)  # type: ignore
        assert c.until_step == {0: 1, 1: 3, 2: 9, 3: 27}[b]
    # the same ids give the same brackets in another instance (replay, another process)
    other = Script(AsyncHyperband(3), max_step=27, seed=7).scheduler
    assert [other.bracket_of(t) for t in range(40)] == [  # type: ignore[attr-defined]
        sched.bracket_of(t) for t in range(40)  # type: ignore[attr-defined]
    ]
    # and the mix follows the weights
    counts = [0, 0, 0, 0]
    for t in range(4000):
        counts[sched.bracket_of(t)] += 1  # type: ignore[attr-defined]
    assert [c / 4000 for c in counts] == pytest.approx(sched.weights, abs=0.03)  # type: ignore


def test_each_bracket_decides_on_its_own_rungs() -> None:
    s = Script(AsyncHyperband(3, brackets=2), max_step=9, seed=0)  # brackets: rungs [1,3], [3]
    launches = s.capacity(30)
    by_bracket: dict[int, list[int]] = {0: [], 1: []}
    for c in launches:
        by_bracket[s.engine.history.tags(c.trial_id)["bracket"]].append(c.trial_id)
    a, b = by_bracket[0][:2], by_bracket[1][:2]
    assert s.report(a[0], 1, 0.5) == Decision(
        Action.CONTINUE, 3, False, "rank 1/1 at rung 0 (step 1)"
    )
    assert s.report(a[1], 1, 0.9).action is Action.STOP  # type: ignore[union-attr]
    # bracket 1 makes no decision at step 1: its first rung is step 3
    assert s.report(b[0], 1, 0.9) is None
    assert s.report(b[0], 2, 0.9) is None
    assert s.report(b[0], 3, 0.9) == Decision(
        Action.CONTINUE, 9, False, "rank 1/1 at rung 0 (step 3)"
    )
    s.assert_replay_matches()


def test_promotion_variant_resumes_paused_trials() -> None:
    s = Script(AsyncHyperband(2, brackets=1, variant="promotion"), max_step=4)
    s.capacity(1)
    assert s.report(0, 1, 0.5).action is Action.PAUSE  # type: ignore[union-attr]
    (nxt,) = s.pause(0, 1)
    assert nxt.trial_id == 1 and nxt.start_step == 1
    s.report(1, 1, 0.9)
    (resumed,) = s.pause(1, 1)
    assert (resumed.trial_id, resumed.start_step, resumed.checkpoint) == (0, 2, "c/0/1")


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [({"brackets": 9}, "brackets"), ({"brackets": 0}, "brackets"),
     ({"variant": "x"}, "variant"), ({"reduction_factor": 1}, "reduction_factor")],
)
def test_bad_params(kwargs: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=rf"scheduler\.params\.{key}"):
        Script(AsyncHyperband(**kwargs), max_step=27)
