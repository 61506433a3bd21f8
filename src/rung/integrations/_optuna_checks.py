"""What a new study checks of its Optuna sampler (``searcher="optuna"``) before anything is
written (``rung.study_checks.check_first_rung``): that the sampler class takes the study's
constraints and can search its objectives. Optuna's samplers say they cannot only when first
asked (``CmaEsSampler`` in a study of two objectives), which was after the study was written:
a study that could never run, resumable forever. A stored study is not checked (it still
loads, and reads)."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Mapping
from typing import Any

from rung.errors import ConfigError
from rung.space import Float, SearchSpace

_KEY = "searcher.params"
#: Optuna's samplers that take constraints and search several objectives
_CAN = "TPESampler, NSGAIISampler, NSGAIIISampler, GPSampler) or searcher='tpe' / 'gp'"


def check_sampler(params: Mapping[str, Any], space: SearchSpace, n_objectives: int,
                  n_constraints: int) -> None:
    """Refuse a new study whose Optuna sampler (``OptunaSearcher``'s ``params``: ``sampler``,
    ``kwargs``) cannot search it: ``check_constraints``, then, for several objectives
    (``n_objectives > 1``), ``check_objectives``."""
    sampler = params.get("sampler", "TPESampler")
    if not isinstance(sampler, str):  # refused by the searcher itself
        return
    check_constraints(sampler, n_constraints)
    if n_objectives > 1:
        check_objectives(sampler, params.get("kwargs") or {}, space, n_objectives)


def check_constraints(sampler: str, n_constraints: int) -> None:
    """Refuse a new constrained study (``n_constraints > 0``) whose sampler class (as
    ``OptunaSearcher``'s ``sampler``) takes no ``constraints_func``: it would ignore the
    constraints. ``ConfigError`` keyed ``searcher.params.sampler``."""
    from rung.integrations.optuna import _resolve

    if not n_constraints:
        return
    cls = _resolve(sampler)
    if "constraints_func" not in inspect.signature(cls).parameters:
        raise ConfigError(key=f"{_KEY}.sampler", message=(
            f"{cls.__name__} takes no constraints_func, so it would ignore the study's "
            f"{n_constraints} constraint(s): use a sampler that takes it ({_CAN}"))


def check_objectives(sampler: str, kwargs: Mapping[str, Any], space: SearchSpace,
                     n_objectives: int) -> None:
    """Refuse a new study of ``n_objectives`` (several) objectives whose sampler cannot search
    them: the sampler, made with ``kwargs`` (seeded 0 when it takes a seed), is asked for the
    parameters of ``space`` (one float in ``[0, 1]`` if it has none yet: define-by-run) of one
    trial of an empty in-memory Optuna study of that many directions, as the searcher's mirror
    would ask it. A failure there that asking with one direction does not have is the
    sampler's (``ConfigError`` keyed ``searcher.params.sampler``); one it has too is the
    keyword arguments' (keyed ``searcher.params.kwargs``, as ``OptunaSearcher.suggest`` says).
    Called after the searcher's ``bind``, which refuses keyword arguments the sampler refuses
    when made."""
    from rung.integrations.optuna import _optuna, _resolve, distributions

    cls = _resolve(sampler)
    dists = distributions(space) or distributions(SearchSpace({"x": Float(0.0, 1.0)}))
    kw = dict(kwargs)
    if "seed" in inspect.signature(cls).parameters:
        kw["seed"] = 0

    def asked(directions: int) -> Exception | None:
        optuna = _optuna()
        verbosity = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(max(verbosity, optuna.logging.WARNING))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # experimental samplers, deprecations
                study = optuna.create_study(storage=optuna.storages.InMemoryStorage(),
                                            directions=["minimize"] * directions,
                                            sampler=cls(**kw))
                study.ask(fixed_distributions=dists)  # asks the sampler for each
        except (TypeError, ValueError, NotImplementedError) as e:
            return e
        finally:
            optuna.logging.set_verbosity(verbosity)
        return None

    failed = asked(n_objectives)
    if failed is None:
        return
    if asked(1) is not None:
        raise ConfigError(key=f"{_KEY}.kwargs", message=(
            f"{sampler} with {dict(kwargs)!r} failed: {failed}"))
    raise ConfigError(key=f"{_KEY}.sampler", message=(
        f"{cls.__name__} cannot search several objectives (this study has {n_objectives}): "
        f"use a sampler that can ({_CAN}"))


__all__ = ["check_constraints", "check_objectives", "check_sampler"]
