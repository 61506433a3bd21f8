"""searcher="auto" / scheduler="auto": the rules, the default of Study.create and rung.run, and
the reason stored in the journal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import rung
from rung.auto import GP_INITIAL, PROBES, choose, is_auto
from rung.core.events import Record
from rung.core.records import Budget, ComponentSpec
from rung.space import Categorical, Float, Int, SearchSpace

SMALL = SearchSpace({"x": Float(0.0, 1.0), "n": Int(1, 10)})


def pick(space: SearchSpace, max_step: int = 1, workers: int = 2, objectives: int = 1,
         n_trials: int | None = 50) -> tuple[str, str, str]:
    c = choose(space, searcher=None, scheduler=None, max_step=max_step,
               n_objectives=objectives, n_workers=workers, budget=Budget(n_trials=n_trials))
    return c.searcher.name, c.scheduler.name, c.reason


def test_small_continuous_space_gets_gp_and_one_fidelity_gets_fifo() -> None:
    s, sch, why = pick(SMALL)
    assert (s, sch) == ("gp", "fifo")
    assert why == ("auto: searcher gp (2 dimensions, 0 categorical, unconditional: gp); "
                   "scheduler fifo (max_step 1 (one fidelity): fifo)")


def test_multi_fidelity_gets_asha_with_eta_3_and_its_first_rung_from_data() -> None:
    for max_step in (27, 243):
        c = choose(SMALL, searcher=None, scheduler=None, max_step=max_step, n_objectives=1,
                   n_workers=4, budget=Budget(n_trials=50))
        assert c.scheduler == ComponentSpec("asha", {"reduction_factor": 3, "min_step": "auto"})
        assert (f"scheduler asha (max_step {max_step}: asha (stopping, eta 3, first rung chosen "
                "from data: 8 trials run to max_step, then the lowest rung with Spearman >= "
                "0.7 with the final value))") in c.reason
    built = rung.ASHA(**c.scheduler.params)
    assert built.get_params() == {"reduction_factor": 3, "min_step": "auto"}


@pytest.mark.parametrize(
    ("space", "trials", "words"),
    [
        (SearchSpace({"opt": Categorical(["a", "b"]), "m": Float(0, 1, when={"opt": "b"})}),
         50, "a conditional space"),
        (SearchSpace({f"x{i}": Float(0, 1) for i in range(13)}), 50, "13 dimensions (> 12)"),
        (SearchSpace({"a": Categorical([1, 2]), "b": Categorical([1, 2]), "x": Float(0, 1)}),
         50, "2 of 3 parameters categorical"),
        (SMALL, 301, "301 trials (> 300)"),
    ],
)
def test_tpe_where_gp_does_not_fit(space: SearchSpace, trials: int, words: str) -> None:
    s, _, why = pick(space, n_trials=trials)
    assert s == "tpe"
    assert words in why


def test_many_workers_random_several_objectives_as_one_and_mo_asha() -> None:
    assert pick(SMALL, workers=64)[0] == "random"
    assert pick(SMALL, workers=63)[0] == "gp"
    s, sch, why = pick(SMALL, max_step=9, objectives=2)  # the rules of one objective
    assert (s, sch) == ("gp", "mo_asha")
    assert "searcher gp (2 objectives, 2 dimensions, 0 categorical, unconditional: gp)" in why
    assert pick(SMALL, objectives=2, workers=64)[0] == "random"
    assert pick(SMALL, objectives=2, n_trials=400)[0] == "tpe"


def test_a_named_component_is_kept_and_not_mentioned() -> None:
    c = choose(SMALL, searcher=ComponentSpec("random", {}), scheduler=None, max_step=9,
               n_objectives=1, n_workers=2, budget=Budget(n_trials=10))
    assert c.searcher.name == "random"
    assert "searcher" not in c.reason and "scheduler asha" in c.reason


def test_is_auto() -> None:
    assert is_auto("auto") and is_auto({"name": "auto"})
    assert not is_auto("tpe") and not is_auto({"name": "auto", "params": {"x": 1}})
    assert not is_auto(rung.RandomSearcher())


def test_study_create_defaults_to_auto_and_journals_the_reason(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    study = rung.Study.create("a", SMALL, max_step=9, budget={"n_trials": 20}, storage=db,
                              n_workers=2)
    assert (study.spec.searcher.name, study.spec.scheduler.name) == ("gp", "asha")
    assert study.auto_reason is not None and study.auto_reason.startswith("auto: searcher gp")
    study.close()
    again = rung.Study.load("a", db)
    assert again.auto_reason == study.auto_reason
    assert again.spec == study.spec
    again.close()


def test_named_components_leave_no_reason() -> None:
    study = rung.Study.create("b", SMALL, searcher="random", scheduler="fifo",
                              budget={"n_trials": 3})
    assert study.auto_reason is None


def test_the_expected_worker_count_steers_the_choice() -> None:
    study = rung.Study.create("c", SMALL, budget={"n_trials": 3}, n_workers=128)
    assert study.spec.searcher.name == "random"
    assert "128 workers" in (study.auto_reason or "")


def test_bohb_gets_asynchronous_hyperband_brackets_with_the_first_rung_from_data() -> None:
    c = choose(SMALL, searcher=ComponentSpec("bohb", {}), scheduler=None, max_step=81,
               n_objectives=1, n_workers=4, budget=Budget(n_trials=50))
    assert c.scheduler == ComponentSpec("async_hyperband",
                                        {"reduction_factor": 3, "min_step": "auto"})
    assert c.reason.startswith("auto: scheduler async_hyperband (max_step 81, searcher bohb: ")
    built = rung.AsyncHyperband(**c.scheduler.params)
    assert (built.reduction_factor, built.min_step) == (3, "auto")
    # one fidelity or several objectives decide before the searcher does
    assert choose(SMALL, searcher=ComponentSpec("bohb", {}), scheduler=None, max_step=1,
                  n_objectives=1, n_workers=4, budget=Budget(n_trials=5)).scheduler.name == "fifo"
    # the same through Study.create with a searcher instance
    study = rung.Study.create("bohb", SMALL, searcher=rung.BOHBSearcher(), max_step=27,
                              budget={"n_trials": 9}, n_workers=2)
    assert study.spec.scheduler.name == "async_hyperband"
    assert study.spec.scheduler.params["min_step"] == "auto"
    # a budget of at most 8 trials: every trial would be a probe, so fifo, and it says so
    study = rung.Study.create("bohb8", SMALL, searcher=rung.BOHBSearcher(), max_step=27,
                              budget={"n_trials": 8}, n_workers=2)
    assert study.spec.scheduler.name == "fifo"
    assert ("fifo (async_hyperband with its first rung chosen from data runs its first 8 "
            "trials to max_step as probes") in (study.auto_reason or "")
    # any other named searcher keeps ASHA
    other = choose(SMALL, searcher=ComponentSpec("tpe", {}), scheduler=None, max_step=81,
                   n_objectives=1, n_workers=4, budget=Budget(n_trials=50))
    assert other.scheduler.name == "asha"


ASHA_AUTO: dict[str, object] = {"name": "asha", "params": {"reduction_factor": 3, "min_step": "auto"}}
FIFO_REASON = ("scheduler fifo (max_step 27, {n} trial{s} (<= 8): fifo (asha with its first "
               "rung chosen from data runs its first 8 trials to max_step as probes: every "
               "trial would be a probe, nothing can be stopped early))")


def test_the_thresholds_are_the_components_own_defaults() -> None:
    study = rung.Study.create("t", SMALL, searcher="random", scheduler=ASHA_AUTO, max_step=27,
                              budget={"n_trials": 50})
    assert study.engine.scheduler.state()["first_rung"]["probes"] == PROBES == 8
    assert rung.GPSearcher().n_initial == GP_INITIAL == 10


@pytest.mark.parametrize("n", [1, 2, 8])
def test_a_trial_budget_within_the_probes_gets_fifo_and_says_why(n: int) -> None:
    _, sch, why = pick(SMALL, max_step=27, n_trials=n)
    assert sch == "fifo"
    assert why.endswith("; " + FIFO_REASON.format(n=n, s="s" if n != 1 else ""))


def test_a_trial_budget_past_the_probes_or_a_budget_of_time_steps_or_cost_keeps_asha() -> None:
    assert pick(SMALL, max_step=27, n_trials=9)[1] == "asha"
    for budget in (Budget(max_time=60.0), Budget(max_steps=500), Budget(max_cost=5.0)):
        c = choose(SMALL, searcher=None, scheduler=None, max_step=27, n_objectives=1,
                   n_workers=2, budget=budget)
        assert c.scheduler == ComponentSpec("asha", {"reduction_factor": 3, "min_step": "auto"})
        assert "Sobol'" not in c.reason
    # a trial budget together with a time budget: still at most n_trials trials
    c = choose(SMALL, searcher=None, scheduler=None, max_step=27, n_objectives=1, n_workers=2,
               budget=Budget(n_trials=4, max_time=60.0))
    assert c.scheduler.name == "fifo"
    # one fidelity, several objectives and a named bohb decide before the trial budget does
    assert "max_step 1 (one fidelity)" in pick(SMALL, max_step=1, n_trials=4)[2]
    assert pick(SMALL, max_step=27, objectives=2, n_trials=4)[1] == "mo_asha"


@pytest.mark.parametrize(("n", "said"), [
    (1, "with 1 trial only its Sobol' initial design runs"),
    (10, "with 10 trials only its Sobol' initial design runs"),
    (11, None), (None, None)])
def test_gp_within_its_initial_design_is_kept_and_the_reason_says_so(
    n: int | None, said: str | None
) -> None:
    s, _, why = pick(SMALL, max_step=27, n_trials=n)
    assert s == "gp"
    head = "auto: searcher gp (2 dimensions, 0 categorical, unconditional: gp"
    assert why.startswith(head + (f", {said})" if said else ")"))
    assert ("Sobol'" in why) == (said is not None)


class Crossing:
    """Losses whose order at the early steps is the final order (``sign`` 1) or its reverse
    (``sign`` -1); trials with larger ``x`` take longer per step (asynchronous finishes)."""

    max_step = 27

    def __init__(self, sign: int) -> None:
        self.sign = sign

    def evaluate(self, params: dict[str, float], step: int) -> tuple[dict[str, float], float]:
        x = float(params["x"])
        return {"loss": x + self.sign * (1 - 2 * x) / step}, 0.5 + x


def journal(scheduler: str | dict[str, object], n: int, workers: int, sign: int) -> list[Record]:
    study = rung.Study.create("d", {"x": Float(0.0, 1.0)}, "loss", searcher="random",
                              scheduler=scheduler, max_step=27, budget={"n_trials": n}, seed=3)
    study.simulate(Crossing(sign), n_workers=workers)
    return study.journal.read("d")


@pytest.mark.parametrize("sign", [1, -1])
@pytest.mark.parametrize("workers", [1, 3])
def test_asha_with_its_first_rung_from_data_is_fifo_within_the_probes(
    sign: int, workers: int
) -> None:
    """The premise of the rule: with n_trials <= 8, ASHA(min_step="auto") writes FIFO's
    journal, record for record (every launch, lease, result and end)."""
    for n in (1, 5, PROBES):
        assert journal(ASHA_AUTO, n, workers, sign) == journal("fifo", n, workers, sign)
    if workers == 1:  # one trial more and ASHA judges it: the journals differ
        assert journal(ASHA_AUTO, PROBES + 1, 1, sign) != journal("fifo", PROBES + 1, 1, sign)


@pytest.mark.parametrize(("space", "n_trials", "searcher"), [
    (SearchSpace({"a": Int(0, 4)}), 5, "grid"),
    (SearchSpace({"a": Int(0, 4)}), 100, "grid"),
    (SearchSpace({"a": Int(0, 4)}), 4, "gp"),  # more configurations than trials
    (SearchSpace({"o": Categorical(["a", "b"]), "m": Int(0, 9, when={"o": "a"})}), 11, "grid"),
    (SearchSpace({"o": Categorical(["a", "b"]), "m": Int(0, 9, when={"o": "a"})}), 10, "tpe"),
    (SearchSpace({"x": Float(0.0, 1.0, step=0.25), "c": Categorical([1, 2])}), 10, "grid"),
    (SMALL, 10_000, "tpe"),  # a continuous parameter: infinite
])
def test_a_finite_space_within_the_trial_budget_gets_a_grid(
    space: SearchSpace, n_trials: int, searcher: str
) -> None:
    """Any other searcher would spend the rest of the budget repeating configurations
    (``Int(0, 4)`` with 100 trials ran 95 repeats)."""
    s, _, why = pick(space, n_trials=n_trials)
    assert s == searcher
    if searcher == "grid":
        size = space.size()
        assert why.startswith(f"auto: searcher grid (a finite space of {size} configurations, "
                              f"no more than the {n_trials} trials of the budget: grid")


def test_the_grid_runs_every_configuration_once_and_ends(tmp_path: Path) -> None:
    from rung.testing import ToyBenchmark

    space = SearchSpace({"o": Categorical(["a", "b"]), "m": Int(0, 3, when={"o": "a"})})
    study = rung.Study.create("g", space, "loss", budget=Budget(n_trials=50))
    study.simulate(ToyBenchmark(1, space), n_workers=2)
    configs = sorted(str(sorted(t.params.items())) for t in study.trials())
    assert len(configs) == 5 == len(set(configs))
    assert study.engine.over and study.engine.exhausted


def test_auto_never_picks_a_grid_it_cannot_build() -> None:
    """A finite space of over a million configurations within the trial budget: auto chose a
    grid, which then refused to be built with an error on spec.searcher.params.points, a key
    the spec never wrote. Found by an audit."""
    from rung.auto import choose_searcher

    space = rung.SearchSpace({"k": rung.Int(0, 1_000_000)})
    chosen, why = choose_searcher(space, 1, 1, rung.Budget(n_trials=2_000_000))
    assert chosen.name == "tpe" and why == "2000000 trials (> 300): tpe"
    s = rung.Study.create("big", space, budget=rung.Budget(n_trials=2_000_000))
    assert s.spec.searcher.name == "tpe"


def _dbr_objective(trial: Any) -> float:
    return float(trial.suggest_float("x", 0.0, 1.0))


def test_a_define_by_run_study_names_its_automatic_searcher() -> None:
    """``rung.optimize`` with searcher 'auto' or {'name': 'auto'}: tpe, and the reason says so
    (the mapping ran random search, 'nothing to tune'; the string's reason named only the
    scheduler). Found by an audit."""
    for searcher in ("auto", {"name": "auto"}):
        s = rung.optimize(_dbr_objective, n_trials=2, metric="loss", searcher=searcher,
                          n_workers=1, progress=False)
        assert s.spec.searcher.name == "tpe"
        assert s.auto_reason is not None and s.auto_reason.startswith(
            "auto: searcher tpe (define-by-run: the space is learned from the trials; tpe "
            "models conditional and categorical parameters natively); scheduler fifo")
