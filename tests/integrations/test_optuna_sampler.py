"""rung inside Optuna (the real optuna 5.0.0): ``RungPruner`` (a rung scheduler decides
``should_prune``) and ``RungSampler`` (a rung searcher proposes)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")

from rung import ASHA, Action, Categorical, ConfigError, Float, SearchSpace  # noqa: E402
from rung.core.records import TrialStatus  # noqa: E402
from rung.integrations.optuna import median_pruner  # noqa: E402
from rung.integrations.optuna_sampler import RungPruner, RungSampler  # noqa: E402
from rung.schedulers import MedianStoppingRule  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.ERROR)

MAX_STEP = 9


def _curves(n: int, seed: int) -> list[list[float]]:
    """Falling curves; trials 3k and 3k+1 tie at step 0 (the same early plateau)."""
    rng = np.random.default_rng(seed)
    out: list[list[float]] = []
    for i in range(n):
        floor, rate = rng.uniform(0.1, 1.0), rng.uniform(0.2, 0.8)
        curve = [round(floor + np.exp(-rate * (s + 1)), 4) for s in range(MAX_STEP)]
        if i % 3 == 1:
            curve[0] = out[-1][0]
        out.append(curve)
    return out


def _optimize(pruner: Any, curves: list[list[float]],
              first_step: int = 0) -> list[tuple[int, int | None]]:
    """Run ``curves`` through study.optimize, reporting from Optuna step ``first_step``;
    ``(trial, step it was pruned at or None)``."""
    study = optuna.create_study(pruner=pruner, sampler=optuna.samplers.RandomSampler(seed=0))

    def objective(trial: Any) -> float:
        curve = curves[trial.number]
        for step, value in enumerate(curve):
            trial.report(value, step + first_step)
            if step < MAX_STEP - 1 and trial.should_prune():
                raise optuna.TrialPruned()
        return float(curve[-1])

    study.optimize(objective, n_trials=len(curves))
    out = []
    for t in study.trials:
        pruned = t.state == optuna.trial.TrialState.PRUNED
        out.append((t.number, max(t.intermediate_values) - first_step if pruned else None))
    return out


def _asha_by_hand(curves: list[list[float]], eta: int) -> list[tuple[int, int | None]]:
    """rung's ASHA (stopping variant, floor quota, ties fill the quota) applied by hand to
    trials that run one after another: rungs at steps 1, 3 (rung numbering), 0 and 2 in
    Optuna's."""
    rungs: dict[int, list[float]] = {1: [], 3: []}
    passed: dict[int, dict[float, int]] = {1: {}, 3: {}}  # passes per score at each rung
    out: list[tuple[int, int | None]] = []
    for i, curve in enumerate(curves):
        stopped = None
        for r in (1, 3):
            value = curve[r - 1]
            table = rungs[r]
            table.append(value)
            keeps = max(1, len(table) // eta)
            better = sum(v < value for v in table)
            tied_passed = passed[r].get(value, 0)
            if better < keeps and tied_passed < keeps - better:
                passed[r][value] = tied_passed + 1
            else:
                stopped = r - 1
                break
        out.append((i, stopped))
    return out


def test_rung_pruner_asha_prunes_where_rungs_asha_rule_says() -> None:
    curves = _curves(24, seed=1)
    pruner = RungPruner(ASHA(reduction_factor=3), max_step=MAX_STEP)
    got = _optimize(pruner, curves)
    assert got == _asha_by_hand(curves, 3)
    assert sum(step is not None for _, step in got) >= 12
    # the rung study behind it recorded every decision with its reason
    (emb,) = [r[0] for r in pruner._runs.values()]
    trials = emb.study.trials()
    assert len(trials) == 24
    pruned = {i for i, s in got if s is not None}
    assert set(emb.decided) == pruned
    # a trial's end reaches rung at the next prune call: all but the last one have ended
    stopped = {t.id for t in trials if t.status is TrialStatus.STOPPED}
    assert stopped == pruned - {23}
    assert all(t.status.final for t in trials[:23])


def test_rung_pruner_ties_fill_the_quota() -> None:
    """Nine trials with one value at step 0: exactly max(1, floor(n/3)) of the first n pass
    rung 1 at every n (rung's tie rule), where Optuna's own SuccessiveHalvingPruner keeps
    only strictly better ones."""
    curves = [[0.5] * MAX_STEP for _ in range(9)]
    got = _optimize(RungPruner(ASHA(reduction_factor=3), max_step=MAX_STEP), curves)
    through = [s is None or s > 0 for _, s in got]
    assert [sum(through[: n + 1]) for n in range(9)] == [max(1, (n + 1) // 3) for n in range(9)]


@pytest.mark.parametrize("seed", range(3))
def test_rung_pruner_median_optuna_rule_equals_optunas_median_pruner(seed: int) -> None:
    """``study.optimize`` with Optuna's MedianPruner and with rung's median rule in Optuna's
    mode behind RungPruner prune the same trials at the same steps (Optuna's steps count from
    0, rung's from 1: n_warmup_steps=w is min_step=w+1)."""
    curves = _curves(20, seed=seed + 10)
    theirs = _optimize(
        optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1, interval_steps=2),
        curves,
    )
    rule = median_pruner(n_startup_trials=3, n_warmup_steps=1, interval_steps=2)
    assert rule.get_params() == MedianStoppingRule(
        rule="optuna", startup_trials=3, min_step=2, interval_steps=2, min_trials=1
    ).get_params()
    ours = _optimize(RungPruner(rule, max_step=MAX_STEP), curves)
    assert ours == theirs
    assert any(s is not None for _, s in ours)


@pytest.mark.parametrize("first_step", [1, 2, 3])
def test_median_pruner_when_the_loop_reports_from_a_later_step(first_step: int) -> None:
    """An objective whose first report is Optuna step ``first_step``: ``n_warmup_steps=0`` is
    over before it, and the intervals keep Optuna's phase (steps 0, 2, 4, ...). Before,
    ``first_step`` 2 and 3 were refused ("0 is before first_step 2")."""
    curves = _curves(20, seed=first_step)
    theirs = _optimize(optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0,
                                                   interval_steps=2), curves, first_step)
    rule = median_pruner(n_startup_trials=3, n_warmup_steps=0, interval_steps=2,
                         first_step=first_step)
    ours = _optimize(RungPruner(rule, max_step=MAX_STEP, first_step=first_step), curves,
                     first_step)
    assert ours == theirs
    assert any(s is not None for _, s in ours)


@pytest.mark.parametrize("kwargs, key", [
    ({"n_warmup_steps": -1}, "n_warmup_steps"), ({"n_startup_trials": -1}, "n_startup_trials"),
    ({"interval_steps": 0}, "interval_steps"), ({"n_min_trials": 0}, "n_min_trials"),
    ({"first_step": -1}, "first_step"),
])
def test_median_pruner_refuses_what_optuna_refuses(kwargs: dict[str, Any], key: str) -> None:
    """Optuna's MedianPruner raises for these; median_pruner said nothing of n_warmup_steps=-1
    and named rung's keys (scheduler.params.startup_trials) for the others."""
    with pytest.raises(ConfigError) as e:
        median_pruner(**kwargs)
    assert e.value.key == key


@pytest.mark.parametrize(
    "scheduler", ["hyperband", "successive_halving", "pbt", "curve", ASHA(variant="promotion")]
)
def test_rung_pruner_refuses_schedulers_that_pause(scheduler: Any) -> None:
    with pytest.raises(ConfigError) as e:
        RungPruner(scheduler, max_step=9)
    assert e.value.key == "scheduler"
    if isinstance(scheduler, ASHA):  # it said "use a stopping scheduler (asha, ...)"
        assert str(e.value) == (
            "scheduler: 'asha' with variant='promotion' pauses trials, which the host tool's "
            "trials cannot do: use its stopping variant (asha with variant='stopping', the "
            "default)")


@pytest.mark.parametrize(("searcher", "key"), [("nope", "searcher"),
                                               ({"name": "tpe", "params": {"bogus": 1}},
                                                "searcher.params.bogus")])
def test_rung_sampler_refuses_a_bad_searcher_when_made(searcher: Any, key: str) -> None:
    # it was accepted, and failed with a traceback inside study.optimize at the first trial
    with pytest.raises(ConfigError) as e:
        RungSampler(searcher)
    assert e.value.key == key


def test_rung_pruner_step_outside_max_step() -> None:
    study = optuna.create_study(pruner=RungPruner("asha", max_step=3))
    trial = study.ask()
    trial.report(0.5, 5)
    with pytest.raises(ConfigError) as e:
        trial.should_prune()
    assert e.value.key == "step"


# --- RungSampler -------------------------------------------------------------------------------


def _quadratic(trial: Any) -> float:
    x = trial.suggest_float("x", -2.0, 2.0)
    y = trial.suggest_float("y", -2.0, 2.0)
    return float((x - 0.7) ** 2 + (y + 0.4) ** 2)


def test_rung_sampler_tpe_learns_and_is_deterministic() -> None:
    runs = []
    for _ in range(2):
        study = optuna.create_study(sampler=RungSampler("tpe", seed=3))
        study.optimize(_quadratic, n_trials=40)
        runs.append(study)
    a, b = runs
    assert [t.params for t in a.trials] == [t.params for t in b.trials]
    rnd = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    rnd.optimize(_quadratic, n_trials=40)
    assert a.best_value < 0.05
    assert a.best_value < rnd.best_value
    # the rung study behind it holds the trials rung proposed, with Optuna's values
    sampler = a.sampler
    assert isinstance(sampler, RungSampler)
    (emb, _fed) = sampler._runs[a.study_name]
    rung_trials = {t.id: t for t in emb.study.trials()}
    assert len(rung_trials) >= 38  # the first trial (space unknown) is drawn independently
    for optuna_number, tid in emb.ids.items():
        ot, rt = a.trials[int(optuna_number)], rung_trials[tid]  # type: ignore[call-overload]
        assert {k: rt.params[k] for k in ("x", "y")} == ot.params
        if optuna_number in emb.open:  # the last trial: its end reaches rung at the next ask
            assert optuna_number == 39
        else:
            assert rt.value == pytest.approx(ot.value)


def test_rung_sampler_with_a_conditional_space() -> None:
    space = SearchSpace({
        "opt": Categorical(["adam", "sgd"]),
        "lr": Float(1e-4, 1e-1, log=True),
        "momentum": Float(0.0, 0.99, when={"opt": "sgd"}),
    })

    def objective(trial: Any) -> float:
        opt = trial.suggest_categorical("opt", ["adam", "sgd"])
        lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        m = trial.suggest_float("momentum", 0.0, 0.99) if opt == "sgd" else 0.0
        return float((np.log10(lr) + 2) ** 2 + (m - 0.9) ** 2 + (opt == "adam"))

    study = optuna.create_study(sampler=RungSampler("tpe", space=space, seed=0))
    study.optimize(objective, n_trials=30)
    sampler = study.sampler
    assert isinstance(sampler, RungSampler)
    emb = sampler._runs[study.study_name][0]
    # every trial's relative params came from rung (conditional momentum included)
    assert len(emb.ids) == 30
    for number, tid in emb.ids.items():
        params = emb.study.history.params(tid)
        assert study.trials[int(number)].params == dict(params)  # type: ignore[call-overload]
    assert study.best_value < 0.2


def test_rung_sampler_multi_objective() -> None:
    def objective(trial: Any) -> tuple[float, float]:
        x = trial.suggest_float("x", -1.0, 2.0)
        return x**2, (x - 1.0) ** 2

    study = optuna.create_study(directions=["minimize", "minimize"],
                                sampler=RungSampler("tpe", seed=0))
    study.optimize(objective, n_trials=25)
    sampler = study.sampler
    assert isinstance(sampler, RungSampler)
    emb = sampler._runs[study.study_name][0]
    assert [o.metric for o in emb.study.spec.objectives] == ["value0", "value1"]
    front = [t.params["x"] for t in study.best_trials]
    assert len(front) >= 5 and all(-0.1 <= x <= 1.1 for x in front)


def test_rung_pruner_decisions_are_rungs() -> None:
    """The pruner's STOP comes with rung's reason (the embedded study keeps it)."""
    curves = _curves(6, seed=5)
    pruner = RungPruner(ASHA(reduction_factor=3), max_step=MAX_STEP)
    _optimize(pruner, curves)
    emb = next(iter(pruner._runs.values()))[0]
    reasons = [d.reason for d in emb.decided.values() if d.action is Action.STOP]
    assert reasons and all("not in the top 1/3" in r for r in reasons)


def test_sampler_and_pruner_under_optunas_threads() -> None:
    """``study.optimize(n_jobs=4)`` calls both from four threads at once: every Optuna trial
    gets its own rung trial, rung proposed the params of each, and the trials Optuna pruned
    are exactly those rung stopped (the rung study is single-threaded: before the lock, two
    threads' ``ask`` raced and the run died on an engine assertion)."""
    import time

    def objective(trial: Any) -> float:
        x = float(trial.suggest_float("x", -2.0, 2.0))
        for step in range(MAX_STEP):
            trial.report((x - 0.7) ** 2 + 1.0 / (step + 1), step)
            time.sleep(0.0005)  # lets the threads interleave inside the hooks
            if trial.should_prune():
                raise optuna.TrialPruned()
        return (x - 0.7) ** 2

    sampler = RungSampler("tpe", space=SearchSpace({"x": Float(-2.0, 2.0)}), seed=0)
    pruner = RungPruner(ASHA(reduction_factor=3), max_step=MAX_STEP)
    study = optuna.create_study(sampler=sampler, pruner=pruner)
    study.optimize(objective, n_trials=40, n_jobs=4)
    state = optuna.trial.TrialState
    assert {t.state for t in study.trials} <= {state.COMPLETE, state.PRUNED}
    emb = sampler._runs[study.study_name][0]
    assert sorted(int(n) for n in emb.ids) == list(range(40))  # type: ignore[call-overload]
    assert len(set(emb.ids.values())) == 40
    for number, tid in emb.ids.items():
        assert study.trials[int(number)].params == dict(emb.study.history.params(tid))  # type: ignore[call-overload]
    stopped = {n for n, d in pruner.embedded(study).decided.items() if d.action is Action.STOP}
    assert stopped == {t.number for t in study.trials if t.state == state.PRUNED}
    assert stopped  # ASHA pruned some


def test_sampler_and_pruner_copies_have_locks_of_their_own() -> None:
    import pickle

    for hook in (RungPruner(ASHA(), max_step=3), RungSampler("tpe")):
        copy = pickle.loads(pickle.dumps(hook))
        assert copy._lock is not hook._lock
        with copy._lock:
            pass


def test_rung_sampler_learns_from_pruned_trials() -> None:
    """A pruned trial reaches rung with its last intermediate value: the searcher must not
    send the next trials where the pruner has just stopped the last ones. Before, pruned
    trials reached rung with no value at all, so TPE modelled the few trials the pruner let
    finish (all near the optimum) and proposed the pruned region again and again: the last
    20 of 60 trials were at mean |x - 0.8| = 0.76 (Optuna's own TPE: 0.21)."""
    def objective(trial: Any) -> float:
        x = float(trial.suggest_float("x", 0.0, 1.0))
        acc = 1.0 - (x - 0.8) ** 2
        for step in range(MAX_STEP):
            trial.report(acc * (1.0 - 0.5 / (step + 1)), step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return acc

    sampler = RungSampler("tpe", seed=0)
    study = optuna.create_study(direction="maximize", sampler=sampler,
                                pruner=optuna.pruners.SuccessiveHalvingPruner())
    study.optimize(objective, n_trials=60)
    xs = np.array([t.params["x"] for t in study.trials])
    assert np.mean(np.abs(xs[-20:] - 0.8)) < 0.4
    emb = sampler._runs[study.study_name][0]
    state = optuna.trial.TrialState
    pruned = [t for t in study.trials[:-1] if t.state == state.PRUNED]
    assert len(pruned) > 30
    for t in pruned:  # in rung: stopped at step 1 with the last intermediate value
        rt = emb.study.history.trial(emb.ids[t.number])
        assert rt.status is TrialStatus.STOPPED
        assert [(r.step, r.metrics) for r in rt.results] == [
            (1, {"value": t.intermediate_values[max(t.intermediate_values)]})]
    for t in study.trials[:-1]:
        if t.state == state.COMPLETE:
            rt = emb.study.history.trial(emb.ids[t.number])
            assert [(r.step, r.metrics) for r in rt.results] == [
                (1, {"value": t.value}), (2, {"value": t.value})]



def test_rung_pruner_embedded_study_has_every_end() -> None:
    """After study.optimize, embedded(study) has told rung how every trial ended; before,
    the last trial stayed 'running' (its end reached rung only at a later should_prune)."""
    curves = _curves(6, seed=5)
    pruner = RungPruner(ASHA(reduction_factor=3), max_step=MAX_STEP)
    study = optuna.create_study(pruner=pruner, sampler=optuna.samplers.RandomSampler(seed=0))

    def objective(trial: Any) -> float:
        for step, value in enumerate(curves[trial.number]):
            trial.report(value, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return float(curves[trial.number][-1])

    study.optimize(objective, n_trials=len(curves))
    trials = pruner.embedded(study).study.trials()
    state = optuna.trial.TrialState
    assert [t.status for t in trials] == [
        TrialStatus.STOPPED if ot.state == state.PRUNED else TrialStatus.COMPLETED
        for ot in study.trials]


def test_rung_sampler_records_the_values_a_trial_ran_with(caplog: pytest.LogCaptureFixture) -> None:
    """``space=`` wider than the objective's ``suggest_float`` range: Optuna draws another
    value when rung's proposal is outside the declared range. Before, rung told its searcher
    the result under the proposal, which never ran (x=7.4 learned from a trial that ran
    x=0.3); now every rung trial with a result has the params its Optuna trial ran with,
    and a warning says why. A value outside rung's space (0.2 < 0.5) is not shown to rung."""
    space = SearchSpace({"x": Float(0.5, 10.0)})
    study = optuna.create_study(sampler=RungSampler("random", space=space, seed=0))
    with caplog.at_level("WARNING", logger="rung.integrations.optuna_sampler"):
        study.optimize(lambda t: (t.suggest_float("x", 0.0, 1.0) - 0.7) ** 2, n_trials=12)
    sampler = study.sampler
    assert isinstance(sampler, RungSampler)
    emb = sampler._runs[study.study_name][0]
    ran = {t.number: t.params["x"] for t in study.trials}
    scored = [t for t in emb.study.trials() if t.value is not None]
    assert scored
    by_id = {tid: n for n, tid in emb.ids.items()}
    for t in scored:
        assert t.params["x"] == ran[by_id[t.id]]
        assert 0.5 <= t.params["x"] <= 1.0
    others = [r for r in caplog.records if "not rung's proposal" in r.getMessage()]
    assert len(others) == 1 and "Give space= the objective's ranges" in others[0].getMessage()


def test_rung_pruner_records_the_value_optuna_completed_a_trial_with() -> None:
    """The objective returns a value other than its last intermediate one (a test metric):
    rung's trial kept the last intermediate value, so rung's best trial was not Optuna's.
    A completed trial's rung value is the value Optuna completed it with, at its last step."""
    pruner = RungPruner("fifo", max_step=3)
    study = optuna.create_study(pruner=pruner, sampler=optuna.samplers.RandomSampler(seed=0))

    def objective(trial: Any) -> float:
        x = trial.suggest_float("x", -5, 5)
        for s in range(3):
            trial.report((x - 1) ** 2 + 1.0 / (s + 1), s)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return (x + 2) ** 2

    study.optimize(objective, n_trials=5)
    emb = pruner.embedded(study)
    by_number = {n: emb.study.history.trial(tid) for n, tid in emb.ids.items()}
    assert {n: (t.status, t.value, t.last_step) for n, t in by_number.items()} == {
        t.number: (TrialStatus.COMPLETED, t.value, 3) for t in study.trials}
    best = emb.study.best_trial
    assert best is not None and best.id == emb.ids[study.best_trial.number]
