"""The ``StudySpec`` that ``Study.create`` builds from its arguments, before anything is written:
the objectives coerced (with a warning for a metric whose name suggests the other direction),
the space, the fidelity, the name and the budget checked, the ``"auto"`` components chosen
(``rung.auto``: the choice and its reason are logged), and the stop rule's objectives checked.
Each check raises ``ConfigError`` (or ``SpaceError``) naming the key; ``Study.create`` then
binds the components and opens the journal."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rung.auto import AUTO, AutoChoice, choose, is_auto
from rung.core.records import Budget, Constraint, Objective, StudySpec, constraints_from
from rung.core.registry import to_spec
from rung.cost.prices import Prices
from rung.cost.stop_rule import check_objectives
from rung.space import Fidelity, SearchSpace
from rung.study_checks import as_budget, as_objectives, check_name, direction_hint

if TYPE_CHECKING:
    from rung.core.components import SchedulerLike, SearcherLike
    from rung.space.search_space import ParamLike

log = logging.getLogger("rung.study")


def spec_from_arguments(
    *,
    name: str,
    space: SearchSpace | Mapping[str, ParamLike],
    objective: Objective | str | Sequence[Objective | str | Mapping[str, Any]],
    searcher: SearcherLike,
    scheduler: SchedulerLike,
    max_step: int,
    budget: Budget | Mapping[str, Any] | None,
    seed: int,
    mode: str | Sequence[str] | None,
    constraints: Sequence[Constraint | Mapping[str, Any] | str],
    keep_checkpoints: int,
    n_workers: int | None,
    max_failures: int | float | None,
    trial_timeout: float | None,
    prices: Prices | Mapping[str, float] | None,
    resources_per_trial: Mapping[str, float] | None,
    fidelity: Fidelity | Mapping[str, Any] | None,
    points_to_evaluate: Sequence[Mapping[str, Any]],
    define_by_run: bool,
) -> tuple[StudySpec, AutoChoice | None]:
    """The spec of ``Study.create(...)``'s arguments (each as ``Study.create`` documents it),
    and the automatic choice of components (``None`` when the user named both).

    Raises:
        ConfigError, SpaceError: an invalid argument, naming the offending key."""
    the_objective, objectives = as_objectives(objective, mode)
    if (hint := direction_hint(objectives or (the_objective,))) is not None:
        log.warning("study %s: %s", name, hint)
    space = SearchSpace.empty() if define_by_run and not space else SearchSpace.coerce(space)
    if fidelity is not None:
        fidelity = Fidelity.from_json(fidelity)
        max_step = fidelity.max_step if max_step == 1 else max_step
    check_name(name)
    the_budget = as_budget(budget)
    if n_workers is not None:  # what auto chooses from: an integer, or a ConfigError
        from rung._validate import check_int

        check_int("n_workers", n_workers, 1)
    auto = None
    if is_auto(searcher) or is_auto(scheduler):
        from rung.executors.local_devices import default_workers

        auto = choose(
            space,
            searcher=None if is_auto(searcher) else to_spec("searcher", searcher, (AUTO,)),
            scheduler=None if is_auto(scheduler)
            else to_spec("scheduler", scheduler, (AUTO,)),
            max_step=max_step,
            n_objectives=max(1, len(objectives)),
            n_workers=(n_workers if n_workers is not None
                       else default_workers(resources_per_trial)),
            budget=the_budget,
            define_by_run=define_by_run and not space,
        )
        searcher, scheduler = auto.searcher, auto.scheduler
        log.info("study %s: %s", name, auto.reason)
    spec = StudySpec(
        name=name,
        space=space,
        objective=the_objective,
        objectives=objectives,
        constraints=constraints_from(constraints),
        searcher=to_spec("searcher", searcher, (AUTO,)),
        scheduler=to_spec("scheduler", scheduler, (AUTO,)),
        max_step=max_step,
        budget=the_budget,
        seed=seed,
        keep_checkpoints=keep_checkpoints,
        max_failures=max_failures,
        trial_timeout=trial_timeout,
        prices=Prices(prices).table if not isinstance(prices, Prices) else prices.table,
        resources_per_trial=resources_per_trial,
    )
    if fidelity is not None or points_to_evaluate or define_by_run:  # issue 18
        spec = dataclasses.replace(spec, fidelity=fidelity, define_by_run=define_by_run,
                                   points_to_evaluate=tuple(points_to_evaluate))
    if spec.budget.stop is not None:
        check_objectives([o.metric for o in (spec.objectives or (spec.objective,))])
    return spec, auto
