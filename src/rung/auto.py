"""``searcher="auto"`` and ``scheduler="auto"``: the default components, chosen from the study.

The choice is a pure function of what is known when a study is created: the search space
(dimension, share of categorical parameters, conditions), ``max_step``, the number of workers the
study expects, the objectives and the budget. It is made once, stored in the journal with its
reason (the spec holds the chosen components, ``auto`` the reason), and never revisited, so a
resumed study keeps what it started with.

The rules and the evidence behind them (``benchmarks/RESULTS.md``):

Searcher
  * a finite space (every tunable parameter an integer, a stepped float or a categorical) with
    no more configurations than the trial budget (and at most ``rung.space.grid.MAX_GRID``, a
    million, the largest grid built): ``grid`` over every configuration, in a seeded
    random order. Every configuration runs once and the search then ends (the searcher is
    exhausted). The other built-in searchers end there too (``random``, ``sobol``, ``tpe``,
    ``gp`` and ``bohb`` propose no configuration a trial already has and return ``None`` once
    every one was tried, unless built with ``repeats=True``, for a noisy objective): with a
    budget that covers the space every configuration runs whichever searcher proposes it, so
    a model's order buys little and ``grid`` spends no time on one;
  * several objectives follow the rules below as one does (MOTPE where they say ``tpe``, the
    GP's ParEGO-style multi-objective mode where they say ``gp``): ``bench_multiobjective``
    (ZDT1, ZDT2, DTLZ2, constrained OSY; 10-20 seeds) has ``gp`` ahead of ``tpe`` at 60 and 100
    trials on every problem (6-12% more hypervolume, 2.4-2.7x on OSY, p <= 2e-4) for 1.6-1.8
    CPU s more per 100 trials (12 s with OSY's six constraints);
  * 64 workers or more: ``random``; model-based placement of a batch that large has not been
    shown better than random at equal trials (issue 14 item 6 is open), and random suggestions
    cost nothing;
  * a define-by-run study (``rung.optimize``: its space is learned from its trials): ``tpe``;
  * a conditional space, more than 12 tunable dimensions, more than half of them categorical, or
    a trial budget above 300: ``tpe`` (it models conditional and categorical parameters
    natively, and costs less per suggestion than the GP's ~60 ms there: its cost grows with
    the observations, about 2 ms at 1,000 trials and 25 ms at 10,000, measured in-memory on 2
    cores, so a study of tens of thousands of cheap trials spends most of its driver time in
    TPE: ``random`` is then the cheaper choice);
  * otherwise (few continuous or integer dimensions, a modest budget): ``gp``, which is ahead of
    TPE and of Optuna's GPSampler at 25-100 trials on the ``bench_searchers`` functions. With a
    trial budget of at most its ``n_initial`` (10) trials only its Sobol' initial design runs;
    the reason says so (the choice is kept: a Sobol' design covers the space more evenly than
    random draws).

Scheduler
  * ``max_step == 1`` (nothing to stop early): ``fifo``;
  * several objectives: ``mo_asha``;
  * the searcher is ``bohb`` (named by the user; ``auto`` never picks it): ``async_hyperband``
    (eta 3) with ``min_step="auto"``: BOHB's model on Hyperband's brackets (Falkner, Klein and
    Hutter 2018), asynchronous, the lowest bracket's first rung chosen from data as below.
    Measured (``bench_allocation``, tables sampled without replacement, 10 seeds, 1 and 8
    workers): ahead of Syne Tune 0.16's BOHB on hgb-magic and hgb-ring (Mann-Whitney p 0.008-0.025)
    and by the medians on hgb-german, level on mlp-mnist1d, behind on hgb-satimage by half a
    validation example (p <= 0.003); BOHB on synchronous Hyperband from step 1, the paper's
    schedule, is behind Syne Tune's on the four boosting tables;
  * a trial budget of at most 8 trials (``n_trials``; a budget in time, steps or cost alone
    does not count): ``fifo``. ``asha`` with ``min_step="auto"`` runs its first 8 trials (its
    probes) to ``max_step`` uncut, so with that budget every trial is a probe and nothing can
    be stopped early: its run is FIFO's, decision for decision (``tests/test_auto.py``);
  * otherwise ``asha`` (stopping variant, eta 3) with ``min_step="auto"``: the first 8 trials
    run to ``max_step`` uncut, and the first rung is the lowest rung step whose values rank
    their complete curves like their final values (Spearman >= 0.7, ties leaving the 1/3
    quota meaningful; ``FirstRung`` in ``rung.schedulers._guard``); if no step does, no trial
    is stopped early. A fixed first rung cannot serve both kinds of learning curves rung has
    measured (``bench_allocation``, 10 seeds, 1 and 8 workers): on the HGB tables the first boosting
    rounds rank configurations hardly better than chance (Spearman with the final value
    0.0-0.1 at steps 1-9 of 243, most values tied) and ASHA from step 1 or 9 ends behind
    random+FIFO, while on the MLP table (Spearman 0.8 at epoch 1) ASHA from step 1 is far
    ahead. The data-driven first rung is not behind random+FIFO on any table (one-sided
    Mann-Whitney p > 0.05 for "FIFO is better") and ahead on the MLP table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rung.core.records import Budget, ComponentSpec
from rung.space import Categorical, SearchSpace
from rung.space.grid import MAX_GRID

AUTO = "auto"
MANY_WORKERS = 64
MANY_DIMS = 12
MANY_TRIALS = 300
ETA = 3
#: The probes of ``min_step="auto"`` at eta 3 (``2 * eta + 2``, ``rung.schedulers._ladder``).
PROBES = 2 * ETA + 2
#: The GP searcher's default ``n_initial`` (its Sobol' initial design).
GP_INITIAL = 10


@dataclass(frozen=True)
class AutoChoice:
    """The components ``auto`` stands for, and one sentence a person can check."""

    searcher: ComponentSpec
    scheduler: ComponentSpec
    reason: str

    def to_json(self) -> dict[str, object]:
        return {
            "searcher": self.searcher.to_json(),
            "scheduler": self.scheduler.to_json(),
            "reason": self.reason,
        }


def is_auto(value: object) -> bool:
    """``value`` asks for the automatic choice: the string ``"auto"``, or ``{"name": "auto"}``
    / ``ComponentSpec("auto")`` without parameters."""
    if isinstance(value, str):
        return value == AUTO
    if isinstance(value, ComponentSpec):
        return value.name == AUTO and not value.params
    if isinstance(value, Mapping):
        return value.get("name") == AUTO and not value.get("params")
    return False


def choose_searcher(
    space: SearchSpace, n_objectives: int, n_workers: int, budget: Budget
) -> tuple[ComponentSpec, str]:
    """The searcher ``auto`` picks, and why (see the module docstring)."""
    tunable = [space[n] for n in space if space[n].tunable]
    d = len(tunable)
    categorical = sum(isinstance(p, Categorical) for p in tunable)
    conditional = any(p.when for p in tunable)
    n = budget.n_trials
    values = space.values_per_param() if d and n is not None else None
    size = space.size() if values is not None else None
    if values and size is not None and n is not None and size <= min(n, MAX_GRID):
        return (ComponentSpec("grid", {"points": max(values.values()), "shuffle": True}),
                f"a finite space of {size} configuration{'s' if size != 1 else ''}, no more "
                f"than the {n} trials of the budget: grid (each configuration once, in a "
                f"seeded random order; the search ends when every one has run)")
    lead = f"{n_objectives} objectives, " if n_objectives > 1 else ""
    if n_workers >= MANY_WORKERS:
        return (ComponentSpec("random", {}),
                f"{lead}{n_workers} workers (>= {MANY_WORKERS}): random")
    if d == 0:
        return ComponentSpec("random", {}), "nothing to tune: random"
    why = []
    if conditional:
        why.append("a conditional space")
    if d > MANY_DIMS:
        why.append(f"{d} dimensions (> {MANY_DIMS})")
    if categorical * 2 > d:
        why.append(f"{categorical} of {d} parameters categorical")
    if budget.n_trials is not None and budget.n_trials > MANY_TRIALS:
        why.append(f"{budget.n_trials} trials (> {MANY_TRIALS})")
    if why:
        return ComponentSpec("tpe", {}), lead + " and ".join(why) + ": tpe"
    size_text = f"{d} dimension{'s' if d != 1 else ''}"
    why_gp = f"{lead}{size_text}, {categorical} categorical, unconditional: gp"
    if n is not None and n <= GP_INITIAL:
        why_gp += f", with {n} trial{'s' if n != 1 else ''} only its Sobol' initial design runs"
    return ComponentSpec("gp", {}), why_gp


def choose_scheduler(
    max_step: int, n_objectives: int, searcher: str | None = None, n_trials: int | None = None
) -> tuple[ComponentSpec, str]:
    """The scheduler ``auto`` picks for ``searcher`` (its name) under a budget of ``n_trials``
    trials (``None``: no trial budget), and why (see the module docstring)."""
    if max_step == 1:
        return ComponentSpec("fifo", {}), "max_step 1 (one fidelity): fifo"
    if n_objectives > 1:
        return ComponentSpec("mo_asha", {}), f"max_step {max_step}, several objectives: mo_asha"
    if n_trials is not None and n_trials <= PROBES:
        other = "async_hyperband" if searcher == "bohb" else "asha"
        return (
            ComponentSpec("fifo", {}),
            f"max_step {max_step}, {n_trials} trial{'s' if n_trials != 1 else ''} (<= {PROBES}): "
            f"fifo ({other} with its first rung chosen from data runs its first {PROBES} trials "
            "to max_step as probes: every trial would be a probe, nothing can be stopped early)",
        )
    if searcher == "bohb":
        return (
            ComponentSpec("async_hyperband", {"reduction_factor": 3, "min_step": "auto"}),
            f"max_step {max_step}, searcher bohb: async_hyperband (BOHB's Hyperband brackets, "
            "asynchronous, eta 3, the lowest bracket's first rung chosen from data: 8 trials "
            "run to max_step, then the lowest rung with Spearman >= 0.7 with the final value)",
        )
    return (
        ComponentSpec("asha", {"reduction_factor": 3, "min_step": "auto"}),
        f"max_step {max_step}: asha (stopping, eta 3, first rung chosen from data: 8 trials "
        "run to max_step, then the lowest rung with Spearman >= 0.7 with the final value)",
    )


def choose(
    space: SearchSpace,
    *,
    searcher: ComponentSpec | None,
    scheduler: ComponentSpec | None,
    max_step: int,
    n_objectives: int,
    n_workers: int,
    budget: Budget,
    define_by_run: bool = False,
) -> AutoChoice:
    """Fill in whichever of ``searcher`` / ``scheduler`` is ``None`` (asked for as ``auto``).

    The reason names every automatic pick and the facts it rests on; a component the user named
    is kept as it is and not mentioned. A define-by-run study's space is learned from its
    trials, so nothing is known of it when the searcher is chosen: ``tpe`` (it models the
    conditional and categorical parameters such objectives declare natively; MOTPE for several
    objectives).
    """
    parts = []
    if searcher is None and define_by_run:
        searcher = ComponentSpec("tpe", {})
        parts.append("searcher tpe (define-by-run: the space is learned from the trials; tpe "
                     "models conditional and categorical parameters natively"
                     + (", MOTPE for several objectives)" if n_objectives > 1 else ")"))
    elif searcher is None:
        searcher, why = choose_searcher(space, n_objectives, n_workers, budget)
        parts.append(f"searcher {searcher.name} ({why})")
    if scheduler is None:
        scheduler, why = choose_scheduler(max_step, n_objectives, searcher.name,
                                       budget.n_trials)
        parts.append(f"scheduler {scheduler.name} ({why})")
    return AutoChoice(searcher, scheduler, "auto: " + "; ".join(parts))
