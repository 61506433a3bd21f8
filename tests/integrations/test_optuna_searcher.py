"""``OptunaSearcher``: Optuna's samplers (the real optuna 5.0.0) as rung searchers."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")

from rung import (  # noqa: E402
    ASHA,
    Budget,
    Categorical,
    ConfigError,
    Float,
    Int,
    Objective,
    SearchSpace,
    Study,
)
from rung.core.records import ComponentSpec, TrialStatus  # noqa: E402
from rung.core.registry import build, lookup  # noqa: E402
from rung.integrations.optuna import OptunaSearcher  # noqa: E402
from rung.storage import MemoryJournal  # noqa: E402
from rung.testing.conformance import check_searcher  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.ERROR)

SPACE = SearchSpace(
    {
        "x": Float(-2.0, 2.0),
        "y": Float(-2.0, 2.0),
        "lr": Float(1e-4, 1e-1, log=True),
        "n": Int(1, 8),
        "opt": Categorical(["adam", "sgd"]),
        "momentum": Float(0.0, 0.99, when={"opt": "sgd"}),
    }
)


class Quadratic:
    """Loss ``(x - 0.7)^2 + (y + 0.4)^2`` plus a term that falls with the step."""

    def __init__(self, max_step: int = 1) -> None:
        self.max_step = max_step

    def evaluate(self, params: Mapping[str, Any], step: int) -> tuple[dict[str, float], float]:
        loss = (params["x"] - 0.7) ** 2 + (params["y"] + 0.4) ** 2 + 1.0 / step
        return {"loss": loss, "size": float(params["n"])}, 1.0 + 0.1 * params["n"]


class TwoObjectives:
    max_step = 1

    def evaluate(self, params: Mapping[str, Any], step: int) -> tuple[dict[str, float], float]:
        return {"f1": params["x"] ** 2, "f2": (params["x"] - 1.0) ** 2 + params["y"] ** 2}, 1.0


def _study(searcher: Any, **kw: Any) -> Study:
    args: dict[str, Any] = {
        "objective": "loss", "scheduler": "fifo", "max_step": 1,
        "budget": Budget(n_trials=20), "seed": 0, "storage": MemoryJournal(check=True),
    }
    args.update(kw)
    space = args.pop("space", SPACE)
    return Study.create("opt", space, searcher=searcher, **args)


def _mirror(study: Study) -> Any:
    """The Optuna study inside the study's searcher."""
    return study.engine.searcher._study  # type: ignore[attr-defined]


# --- conformance: determinism, replay, params in the space, JSON round trip -------------------


@pytest.mark.parametrize(
    ("sampler", "kwargs"),
    [("TPESampler", {"n_startup_trials": 4}), ("RandomSampler", {}), ("QMCSampler", {}),
     ("CmaEsSampler", {"n_startup_trials": 3, "warn_independent_sampling": False})],
)
def test_conformance(sampler: str, kwargs: dict[str, Any]) -> None:
    check_searcher(lambda: OptunaSearcher(sampler, kwargs), n_trials=12)


def test_persisted_as_json_and_rebuilt_by_name() -> None:
    s = _study(OptunaSearcher(optuna.samplers.CmaEsSampler, {"n_startup_trials": 2}))
    assert s.spec.searcher == ComponentSpec(
        "optuna", {"sampler": "optuna.samplers.CmaEsSampler", "kwargs": {"n_startup_trials": 2}}
    )
    assert lookup("searcher", "optuna") is OptunaSearcher
    rebuilt = build("searcher", s.spec.searcher)
    assert rebuilt.get_params() == s.spec.searcher.params
    # the persisted form, as a YAML spec gives it
    t = _study({"name": "optuna", "params": {"sampler": "RandomSampler"}})
    t.simulate(Quadratic(), n_workers=2)
    assert len(t.trials()) == 20


@pytest.mark.parametrize(
    ("searcher", "key"),
    [
        (lambda: OptunaSearcher(optuna.samplers.TPESampler()), "searcher.params.sampler"),
        (lambda: OptunaSearcher("NoSuchSampler"), "searcher.params.sampler"),
        (lambda: OptunaSearcher("math.floor"), "searcher.params.sampler"),
        (lambda: OptunaSearcher("nosuchpackage.Sampler"), "searcher.params.sampler"),
        (lambda: OptunaSearcher("TPESampler", {"seed": 1}), "searcher.params.kwargs.seed"),
        (lambda: OptunaSearcher("TPESampler", {"gamma": math.sqrt}),
         "searcher.params.kwargs.gamma"),
        (lambda: OptunaSearcher("TPESampler", {"n_startup": 3}), "searcher.params.kwargs"),
        (lambda: OptunaSearcher(3), "searcher.params.sampler"),
        (lambda: OptunaSearcher(".x"), "searcher.params.sampler"),
        (lambda: OptunaSearcher("TPESampler", "x"), "searcher.params.kwargs"),  # type: ignore[arg-type]
    ],
)
def test_bad_input_is_one_config_error(searcher: Any, key: str) -> None:
    with pytest.raises(ConfigError) as e:
        _study(searcher())
    assert e.value.key == key


def test_an_argument_optuna_checks_late_fails_as_config_error() -> None:
    """Optuna checks ``n_startup_trials`` only when sampling: the run stops with one
    ConfigError naming the kwargs, not a TypeError from inside Optuna."""
    s = _study(OptunaSearcher("TPESampler", {"n_startup_trials": "a"}))
    with pytest.raises(ConfigError) as e:
        s.simulate(Quadratic())
    assert e.value.key == "searcher.params.kwargs" and "TPESampler" in str(e.value)


# --- the sampler sees rung's history ---------------------------------------------------------


def test_mirror_holds_params_values_and_states_under_asha() -> None:
    """ASHA stops most trials: they reach the sampler as PRUNED with their intermediate
    values; completed ones as COMPLETE with their score at max_step."""
    s = _study(OptunaSearcher("TPESampler", {"n_startup_trials": 5}),
               scheduler=ASHA(reduction_factor=3), max_step=9, budget=Budget(n_trials=30))
    s.simulate(Quadratic(max_step=9), n_workers=3)
    mirror = _mirror(s)
    # one more suggestion brings the mirror up to date with the finished study
    from rung.core.components import SuggestRequest
    from rung.core.rng import derive_rng

    h = s.engine.history
    s.engine.searcher.suggest(
        SuggestRequest(h.next_id, h.n_suggested, h, derive_rng(0, "searcher", h.next_id))
    )
    trials = mirror.get_trials(deepcopy=False)
    assert len(trials) == len(h) + 1
    states = {TrialStatus.COMPLETED: optuna.trial.TrialState.COMPLETE,
              TrialStatus.STOPPED: optuna.trial.TrialState.PRUNED}
    n_pruned = 0
    for tid in h:
        ft = trials[tid]
        assert ft.params == dict(h.params(tid))
        assert ft.state == states[h.status(tid)]
        assert ft.intermediate_values == dict(h.scores(tid))
        if h.status(tid) is TrialStatus.COMPLETED:
            assert ft.values == [h.score(tid)]
        else:
            n_pruned += 1
    assert n_pruned > 10


def test_tpe_through_the_adapter_beats_random_on_a_quadratic() -> None:
    """The sampler learns from the values it is fed: TPE's best after 40 trials is far below
    the best of random search with the same seed (one worker, so every suggestion sees every
    earlier result)."""
    best = {}
    for name, searcher in [("tpe", OptunaSearcher("TPESampler", {"n_startup_trials": 8})),
                           ("random", OptunaSearcher("RandomSampler"))]:
        s = _study(searcher, budget=Budget(n_trials=40))
        s.simulate(Quadratic(), n_workers=1)
        best[name] = s.best_trial.value
    assert best["tpe"] < 1.0 + 0.02  # 1.0 is the 1/step term at step 1
    assert best["tpe"] < best["random"]


def test_cma_es_runs_its_generations() -> None:
    """CMA-ES, not its random fallback: its optimizer and generation numbers live in the
    mirror's trial attributes, generations advance, and the mean moves to the optimum."""
    space = SearchSpace({"x": Float(-2.0, 2.0), "y": Float(-2.0, 2.0), "n": 4})
    s = _study(OptunaSearcher("CmaEsSampler", {"n_startup_trials": 1, "popsize": 6}),
               space=space, budget=Budget(n_trials=60))
    s.simulate(Quadratic(), n_workers=1)
    trials = _mirror(s).get_trials(deepcopy=False)
    generations = [t.system_attrs.get("cma:generation") for t in trials]
    assert max(g for g in generations if g is not None) >= 6
    last = [t for t in s.trials() if t.id >= 48]
    xs = np.array([[t.params["x"], t.params["y"]] for t in last])
    assert np.allclose(xs.mean(axis=0), [0.7, -0.4], atol=0.25)


def test_nsga2_multi_objective() -> None:
    """NSGA-II sees both objectives (two minimize directions) and breeds generations."""
    space = SearchSpace({"x": Float(-1.0, 2.0), "y": Float(-1.0, 1.0)})
    s = _study(OptunaSearcher("NSGAIISampler", {"population_size": 8}), space=space,
               objective=[Objective("f1"), Objective("f2")], budget=Budget(n_trials=40))
    s.simulate(TwoObjectives(), n_workers=2)
    mirror = _mirror(s)
    assert len(mirror.directions) == 2
    done = [t for t in mirror.get_trials(deepcopy=False)
            if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(done) >= 30
    assert all(len(t.values) == 2 for t in done)
    gens = {t.system_attrs.get("NSGAIISampler:generation") for t in done}
    assert max(g for g in gens if g is not None) >= 2
    # the Pareto front found lies on the segment x in [0, 1], y = 0
    front = s.pareto_front()
    assert front and all(abs(t.params["y"]) < 0.5 for t in front)


def test_conditional_parameters_follow_when() -> None:
    s = _study(OptunaSearcher("TPESampler", {"n_startup_trials": 3}))
    s.simulate(Quadratic(), n_workers=2)
    for t in s.trials():
        assert ("momentum" in t.params) == (t.params["opt"] == "sgd")
        SPACE.validate(t.params)
    mirror_params = [ft.params for ft in _mirror(s).get_trials(deepcopy=False)]
    assert mirror_params[: len(s.trials())] == [dict(t.params) for t in s.trials()]


class HalfwaySampler(optuna.samplers.BaseSampler):
    """A user's own sampler: floats at the middle of their range (``x`` shifted by
    ``offset``), ints at the low end, the last choice."""

    def __init__(self, seed: int | None = None, offset: float = 0.0) -> None:
        self.offset = offset

    def infer_relative_search_space(self, study: Any, trial: Any) -> dict[str, Any]:
        return {}

    def sample_relative(self, study: Any, trial: Any, search_space: Any) -> dict[str, Any]:
        return {}

    def sample_independent(self, study: Any, trial: Any, name: str, dist: Any) -> Any:
        if isinstance(dist, optuna.distributions.FloatDistribution):
            return (dist.low + dist.high) / 2 + (self.offset if name == "x" else 0.0)
        if isinstance(dist, optuna.distributions.IntDistribution):
            return dist.low
        return dist.choices[-1]


def test_a_users_own_sampler_by_class_and_path() -> None:
    s = _study(OptunaSearcher(HalfwaySampler, {"offset": 0.25}), budget=Budget(n_trials=3))
    assert s.spec.searcher.params["sampler"].endswith("HalfwaySampler")
    s.simulate(Quadratic(), n_workers=1)
    for t in s.trials():
        assert t.params["x"] == 0.25 and t.params["n"] == 1 and t.params["opt"] == "sgd"
        assert t.params["momentum"] == pytest.approx(0.495)


def _ask_tell(study: Study, n: int) -> None:
    bench = Quadratic()
    for _ in range(n):
        t = study.ask()
        assert t is not None
        study.tell(t.id, "completed", bench.evaluate(t.params, 1)[0])


def test_resume_rebuilds_the_mirror_from_the_journal(tmp_path: Any) -> None:
    """After a resume the journaled trials are shown to the sampler (as trials it did not
    propose): a stateless sampler proposes what it would have proposed without the resume."""
    runs = []
    for resume in (False, True):
        db = str(tmp_path / f"s{resume}.db")
        s = _study(OptunaSearcher("TPESampler", {"n_startup_trials": 4}), storage=db,
                   budget=Budget(n_trials=16))
        _ask_tell(s, 10)
        if resume:
            s.close()
            s = Study.load("opt", storage=db)
        _ask_tell(s, 6)
        runs.append([dict(t.params) for t in s.trials()])
        if resume:
            mirror = [ft.params for ft in _mirror(s).get_trials(deepcopy=False)]
            assert mirror == runs[-1]
    assert runs[0] == runs[1]
    assert len(runs[0]) == 16


def _dbr_objective(trial: Any) -> float:
    opt = trial.suggest_categorical("opt", ["adam", "sgd"])
    x = trial.suggest_float("x", -2.0, 2.0)
    if opt == "sgd":
        trial.suggest_float("m", 0.0, 1.0)
    return float((x - 0.5) ** 2 + (opt == "adam"))


def test_define_by_run(tmp_path: Any) -> None:
    """``rung.optimize``: the space is learned as trials run; the mirror shows every trial with
    the params it ran with (rebuilt when the space grows), and TPE learns from them."""
    import rung

    searcher = OptunaSearcher("TPESampler", {"n_startup_trials": 4})
    s = rung.optimize(_dbr_objective, n_trials=16, searcher=searcher, n_workers=1,
                      storage=str(tmp_path / "dbr.db"))
    trials = s.trials()
    assert len(trials) == 16
    assert all(("m" in t.params) == (t.params["opt"] == "sgd") for t in trials)
    from rung.core.components import SuggestRequest
    from rung.core.rng import derive_rng

    h = s.engine.history
    live = s.engine.searcher
    live.suggest(SuggestRequest(h.next_id, h.n_suggested, h, derive_rng(0, "searcher", h.next_id)))
    mirror = [ft.params for ft in live._study.get_trials(deepcopy=False)]  # type: ignore[attr-defined]
    assert mirror[:16] == [dict(t.params) for t in trials]
    assert s.best_trial.value < 0.05


def test_a_condition_on_a_choice_matches_by_type_as_the_space_does() -> None:
    """``True`` and ``1`` are different choices (``1 == True`` in Python): a child active when
    ``e`` is ``True`` is suggested for ``e=True`` only; with ``1`` it is left out, as the
    space's own rule says (the adapter's ``in`` test made it active for ``1`` too, and the
    study failed with "'m': given, but inactive here")."""
    space = SearchSpace({"e": Categorical([1, "x", None, True]),
                         "m": Float(0.0, 1.0, when={"e": [True]}),
                         "x": Float(-2.0, 2.0), "y": Float(-2.0, 2.0), "n": Int(1, 8)})
    s = _study(OptunaSearcher("RandomSampler"), space=space, budget=Budget(n_trials=16))
    s.simulate(Quadratic(), n_workers=2)
    trials = s.trials()
    assert len(trials) == 16
    assert {repr(t.params["e"]) for t in trials} == {"1", "'x'", "None", "True"}
    for t in trials:
        assert ("m" in t.params) == (t.params["e"] is True), t.params
        assert space.validate(t.params) == t.params


def test_the_mirror_study_is_not_announced_on_stderr() -> None:
    """At Optuna's default verbosity (INFO) each mirror logged "A new study created in memory
    with name: no-name-<uuid>" to stderr, a study the user never made; the verbosity is left
    as it was."""
    import logging

    seen: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    handler = Collect()
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.INFO)
    logging.getLogger("optuna").addHandler(handler)
    try:
        optuna.create_study()  # the collector hears what Optuna logs at INFO
        assert len(seen) == 1 and seen[0].startswith("A new study created in memory")
        s = _study(OptunaSearcher("RandomSampler"), budget=Budget(n_trials=3))
        s.simulate(Quadratic(), n_workers=1, progress=False)
        assert optuna.logging.get_verbosity() == optuna.logging.INFO
    finally:
        logging.getLogger("optuna").removeHandler(handler)
        optuna.logging.set_verbosity(before)
    assert len(s.trials()) == 3
    assert len(seen) == 1, seen
