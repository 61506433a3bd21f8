"""What ``Study.create`` checks and coerces before anything is written: the objective, the
budget, the name, the resources against the budget, and a stored study's settings against the
given ones (``load_if_exists``); and what it warns about: a scheduler that ranks a
multi-objective study by its first objective only, or ignores its constraints
(``ranking_warnings``)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rung._validate import check_choice, close_hint
from rung.core.constraints import Constraint
from rung.core.pricing import check_spendable
from rung.core.records import Budget, ComponentSpec, Objective, StudySpec
from rung.errors import ConfigError, RungError

log = logging.getLogger("rung.study")

_OBJECTIVE_KEYS = ("metric", "mode", "nan")
_MODES = ("min", "max")
#: the built-in schedulers that rank (or compare) trials by one objective: with several, by
#: the first one only (``mo_asha`` ranks by all; ``fifo`` ranks nothing)
_FIRST_OBJECTIVE_ONLY = frozenset({"asha", "async_hyperband", "successive_halving", "hyperband",
                                   "median", "curve", "pbt", "pb2"})
#: the built-in schedulers that stop, pause or exploit trials by the objective alone, whatever
#: the study's constraints (the reasons: ``docs/api/schedulers.md``, "Constraints")
_IGNORE_CONSTRAINTS = frozenset({"median", "curve", "pbt", "pb2"})
#: words of a metric's name that read higher-is-better, and words that read lower-is-better
#: (``direction_hint``)
_HIGHER = frozenset({"accuracy", "acc", "auc", "auroc", "f1", "precision", "recall", "r2",
                     "ndcg", "iou", "bleu", "reward"})
_LOWER = frozenset({"loss", "error", "err", "rmse", "mse", "mae", "cost", "time", "regret",
                    "perplexity", "ppl", "nll", "wer", "cer", "fpr", "fnr"})


def direction_hint(objectives: Iterable[Objective]) -> str | None:
    """A warning for the first objective that is minimized although its metric's name reads
    higher-is-better (a word of ``_HIGHER`` and none of ``_LOWER``: ``val_accuracy``,
    ``roc_auc``; not ``accuracy_error``), else ``None``. ``mode`` defaults to ``'min'``, as in
    Optuna, so ``objective="val_accuracy"`` alone searches for the worst model."""
    for o in objectives:
        words = set(re.split(r"[^a-z0-9]+", o.metric.lower()))
        if o.mode == "min" and words & _HIGHER and not words & _LOWER:
            return (f"objective {o.metric!r} is minimized, but its name reads "
                    f"higher-is-better: give mode='max' if higher is better")
    return None


def as_objective(
    objective: Objective | str | Mapping[str, Any] | None, mode: str | None
) -> Objective:
    """One objective of ``Study.create``: an ``Objective`` (which keeps its own mode), a
    metric name (minimized unless ``mode`` says) or a ``{metric, mode, nan}`` mapping (``mode``
    is the mode it does not give). A mapping's unknown key is refused (``direction`` was
    ignored: the objective was minimized)."""
    if mode is not None and not isinstance(mode, str):
        raise ConfigError(key="mode", message=f"one objective takes one mode, 'min' or "
                          f"'max', got {mode!r}")
    if isinstance(objective, Objective):
        return objective
    if isinstance(objective, str):
        return Objective(objective, mode or "min")
    if isinstance(objective, Mapping):
        for k in objective:
            if k not in _OBJECTIVE_KEYS:
                hint = (" (Optuna's direction is rung's mode: 'min' or 'max')"
                        if k == "direction" else close_hint(k, _OBJECTIVE_KEYS, given=objective))
                raise ConfigError(key=f"objective.{k}", message=(
                    f"unknown key{hint} (known: {', '.join(_OBJECTIVE_KEYS)})"))
        if mode is not None and "mode" not in objective:
            objective = {**objective, "mode": mode}
        return Objective.from_json(objective)
    raise ConfigError(
        f"objective: expected rung.Objective(metric, mode) or a metric name, got {objective!r}"
    )


def as_objectives(
    objective: Any, mode: str | Sequence[str] | None
) -> tuple[Objective, tuple[Objective, ...]]:
    """``Study.create``'s ``objective`` and ``mode`` as ``(the scalar objective, every
    objective)``, the second ``()`` for one objective. A list (or tuple) of objectives takes
    one mode (for the items that give none: metric names, mappings without one) or a list of
    one mode per objective (which must agree with an item's own); an item ``'min'`` /
    ``'max'`` (a ``("loss", "max")`` pair) is a mode, not a metric. Errors are keyed by the item
    (``objective[1]``, ``objective[1].mode``) or as the modes were given (``mode``,
    ``mode[1]``); a mode that is a ``str`` subclass (NumPy's ``np.str_``) is the string it is."""
    mode = _checked_modes(mode)
    if not isinstance(objective, list | tuple):
        one = as_objective(objective, _one_mode(mode))
        _agree(one, mode, "mode")
        return one, ()
    items = list(objective)
    if not items:
        raise ConfigError("objective: the list of objectives is empty")
    if mode is None or isinstance(mode, str):  # the mode of the items that give none
        modes: list[str | None] = [
            None if isinstance(o, Objective) or (isinstance(o, Mapping) and "mode" in o)
            else mode for o in items]
    elif isinstance(mode, list | tuple) and len(mode) == len(items):
        modes = list(mode)
    elif isinstance(mode, list | tuple):
        raise ConfigError(key="mode", message=(
            f"a list of modes needs one per objective ({len(items)}), got {len(mode)}: "
            f"{list(mode)!r}; or give one string, 'min' or 'max', for all of them"))
    else:
        raise ConfigError(key="mode", message=(
            f"one string, 'min' or 'max', for all objectives, or a list of one per objective "
            f"({len(items)}); got {mode!r}"))
    out: list[Objective] = []
    for i, (o, m) in enumerate(zip(items, modes, strict=True)):
        if isinstance(o, str) and o in ("min", "max") and i > 0:
            raise ConfigError(key=f"objective[{i}]", message=(
                f"{o!r} is a mode, not a metric: give rung.Objective({items[0]!r}, {o!r}) "
                f"(or mode={o!r})"))
        try:
            out.append(as_objective(o, m))
            if not isinstance(mode, str):  # one mode per objective: the item's must agree
                _agree(out[-1], m, f"mode[{i}]")
        except ConfigError as e:
            key = e.key or "objective"
            if key.startswith("objective"):
                where = f"objective[{i}]" + key[len("objective"):]
            elif key == "mode" and not (mode is None or isinstance(mode, str)):
                where = f"mode[{i}]"  # the item's of one mode per objective
            else:
                where = key
            message = e.message if e.key else e.message.removeprefix("objective: ")
            raise ConfigError(key=where, message=message) from None
    return out[0], (tuple(out) if len(out) > 1 else ())


def _checked_modes(mode: Any) -> Any:
    """``Study.create``'s ``mode`` with each mode it gives checked, keyed as the caller wrote
    it (``mode``, ``mode[1]``: not the objective it is for, ``objective[1].mode``), and a
    ``str`` subclass made the plain string; anything else is left to ``as_objectives``."""
    if isinstance(mode, str):
        return check_choice("mode", str(mode), _MODES)
    if isinstance(mode, list | tuple):
        return [check_choice(f"mode[{i}]", str(m), _MODES) if isinstance(m, str) else m
                for i, m in enumerate(mode)]
    return mode


def _agree(objective: Objective, mode: object, key: str) -> None:
    """A mode given beside an objective that has its own must be the same."""
    if mode is not None and mode != objective.mode:
        raise ConfigError(key=key, message=f"{mode!r} contradicts the objective's own mode "
                          f"{objective.mode!r} (rung.Objective({objective.metric!r}, "
                          f"{objective.mode!r})): give one of them")


def _one_mode(mode: str | Sequence[str] | None) -> str | None:
    if mode is None or isinstance(mode, str):
        return mode
    raise ConfigError(key="mode", message=f"one objective takes one mode, 'min' or 'max', got "
                      f"{mode!r}")


def check_given_resources(spec: StudySpec) -> None:
    """Refuse a new study whose ``resources_per_trial`` would never spend its ``max_cost`` /
    ``max_gpu_hours`` (``rung.core.pricing.check_spendable``), before its journal is opened.
    Not checked when a stored spec is read back (``load``); ``run`` / ``simulate`` check
    again for an executor that does not say what a trial holds."""
    if spec.resources_per_trial is not None:
        check_spendable(spec.budget.max_cost, spec.budget.max_gpu_hours, spec.prices,
                        spec.resources_per_trial)


def check_name(name: object) -> None:
    """A new study's name is shown, stored and addressed in the dashboard's URLs: not ``.`` or
    ``..`` (a URL cannot address them) and no NUL or other control character (a journal
    written before this check still loads whatever its name)."""
    if isinstance(name, str) and (name in (".", "..") or not name.isprintable()):
        raise ConfigError(key="name", message=f"must not be '.' or '..' nor hold a control "
                          f"character, got {name!r}")


def check_same_spec(stored: Mapping[str, Any], given: Mapping[str, Any],
                     auto: tuple[bool, bool]) -> None:
    """``Study.create(load_if_exists=True)`` of a stored study: refuse settings that differ
    from the stored ones (they would be silently ignored), naming the first; a component left
    to ``"auto"`` accepts what was stored. Every setting of either side is compared, a stored
    one the caller left at its default too (two stored objectives, or constraints, against
    one objective and none given: ``objectives``, ``constraints``); the stored spec is read as
    this rung writes it (``normalised``), so a key added to the format after it was written,
    at its default, is no difference."""
    skip = {"written_by", "version", "name"}
    skip |= {k for k, a in zip(("searcher", "scheduler"), auto, strict=True) if a}
    ours: Mapping[str, Any] = normalised(stored, given)
    if ours:
        keys = [*given, *(k for k in ours if k not in given)]
    else:  # a damaged stored spec (Study.load says what is wrong): the given keys only
        ours, keys = stored, list(given)
    for key in keys:
        if key in skip or ours.get(key) == given.get(key):
            continue
        what = ("Study.load continues it with the budget it has, and its set_budget(...) "
                "gives it another" if key == "budget"
                else "Study.load continues it as stored (its settings are fixed when it is "
                "created)")
        raise ConfigError(key=key, message=(
            f"study {given.get('name')!r} exists {_setting(key, ours)}, not "
            f"{_setting(key, given, again=True)}: {what}, or create it under another name"))


def _setting(key: str, spec: Mapping[str, Any], again: bool = False) -> str:
    """``key``'s setting in the spec JSON ``spec``, as ``check_same_spec`` names it: the
    objectives by metric and mode (``with objective 'a' (min)``, ``with objectives 'a' (min),
    'b' (max)``), the constraints as written (``with constraints 'c <= 1'``, ``without
    constraints``), any other key as ``with <key> <its JSON value>`` (``again``: as its JSON
    value alone, the key being named already)."""
    if key in ("objective", "objectives"):
        objectives = spec.get("objectives") or [spec.get("objective")]
        try:
            named = [f"{o['metric']!r} ({o.get('mode', 'min')}"
                     + (f", nan {o['nan']!r})" if o.get("nan", "fail") != "fail" else ")")
                     for o in objectives]
        except (TypeError, KeyError, AttributeError):  # a damaged spec: its JSON
            return f"with {key} {spec.get(key)!r}"
        return f"with objective{'s' if len(named) > 1 else ''} {', '.join(named)}"
    if key == "constraints":
        try:
            texts = [Constraint.from_json(c).text() for c in spec.get(key) or ()]
        except (RungError, TypeError, KeyError, AttributeError, ValueError):
            return f"with {key} {spec.get(key)!r}"
        return f"with constraints {', '.join(map(repr, texts))}" if texts else \
            "without constraints"
    return repr(spec.get(key)) if again else f"with {key} {spec.get(key)!r}"


def normalised(stored: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """The study spec JSON ``stored`` (a journal's, maybe written by an older rung) as this
    rung writes it (``StudySpec.from_json(...).to_json()``: keys added later with their
    defaults, keys of other parties dropped); ``{}`` if it does not read. An objective stored
    without a ``nan`` policy (a journal from before it) reads as ``"worst"``, the old scoring;
    a spec file cannot name the policy, so such an objective takes ``given``'s (the default):
    the same file is the same objective. ``check_same_spec`` and ``rung run``'s changed keys
    (``rung.cli.run_checks.changed_keys``) compare this with the given spec."""
    try:
        out = StudySpec.from_json(stored).to_json()
    except (RungError, KeyError, TypeError, ValueError, AttributeError):  # a damaged spec
        return {}

    def policy(raw: Any, now: Any, mine: Any) -> Any:
        if isinstance(raw, dict) and "nan" not in raw and isinstance(mine, dict):
            return {**now, "nan": mine.get("nan")}
        return now

    if "objective" in out:
        out["objective"] = policy(stored.get("objective"), out["objective"],
                                  given.get("objective"))
    raws, mine = stored.get("objectives"), given.get("objectives")
    if "objectives" in out and isinstance(raws, list) and isinstance(mine, list) \
            and len(raws) == len(mine) == len(out["objectives"]):
        out["objectives"] = [policy(r, n, m) for r, n, m in zip(raws, out["objectives"], mine,
                                                                 strict=True)]
    return out


def as_budget(budget: Budget | Mapping[str, Any] | None) -> Budget:
    if budget is None:
        return Budget()
    if isinstance(budget, Budget):
        return budget
    if isinstance(budget, Mapping):
        return Budget.from_json(budget)
    raise ConfigError(f"budget: expected rung.Budget(...) or a mapping, got {budget!r}")


def ranking_warnings(spec: StudySpec) -> list[str]:
    """What a new study's scheduler does not rank by, one line each (no line for a scheduler
    that is not built in):

    - several objectives with a scheduler that ranks by one (``asha``, ``async_hyperband``,
      ``successive_halving``, ``hyperband``, ``median``, ``curve``, ``pbt``, ``pb2``): it
      ranks by the first objective only; ``mo_asha`` ranks by all of them;
    - constraints with a scheduler that decides by the objective alone (``median``, ``curve``,
      ``pbt``, ``pb2``): an infeasible trial with a better objective goes on; ``asha``,
      ``async_hyperband``, ``successive_halving``, ``hyperband`` and ``mo_asha`` rank feasible
      results first."""
    name = spec.scheduler.name
    first = spec.objective.metric
    out: list[str] = []
    if spec.objectives and name in _FIRST_OBJECTIVE_ONLY:
        others = ", ".join(repr(o.metric) for o in spec.objectives[1:])
        out.append(f"scheduler {name!r} ranks trials by the first objective {first!r} only, "
                   f"not by {others}: scheduler='mo_asha' ranks by every objective")
    if spec.constraints and name in _IGNORE_CONSTRAINTS:
        out.append(f"scheduler {name!r} ignores the constraints: it decides by {first!r} "
                   "alone, so an infeasible trial with a better value goes on; "
                   "scheduler='asha' (or 'mo_asha') ranks feasible results first")
    return out


def check_first_rung(spec: StudySpec, warn: bool = True) -> None:
    """Log ``ranking_warnings`` (``Study.create`` and ``Study.from_spec`` call this for every
    new study, and only then; ``warn=False``: not, for ``rung run``'s check of a spec before it
    creates the study, which warns then), and refuse a study whose Optuna sampler
    (``searcher="optuna"``) would ignore its constraints or cannot search its several
    objectives (``rung.integrations._optuna_checks.check_sampler``). Refuse a new study whose
    scheduler could never stop a trial because its first decision step is at or past
    ``max_step``, where a trial ends and no decision is made (the engine sends none there):

    - ``min_step`` (an integer) of ASHA, async Hyperband, MO-ASHA and the curve scheduler, the
      first rung: rungs are ``min_step * eta**k`` *below* ``max_step``, so ``min_step >=
      max_step`` leaves none and the scheduler would silently run as FIFO;
    - ``min_step`` of the median rule (either ``rule``), its grace period: it decides from that
      step on, so at ``max_step`` or past it, never (``median_pruner(n_warmup_steps=4)`` with 5
      steps).

    Synchronous successive halving and Hyperband: only ``min_step`` above ``max_step`` is
    refused. Their rungs are ``max_step / eta**s`` with ``s = floor(log_eta(max_step /
    min_step))``, so ``min_step * reduction_factor > max_step`` (``s = 0``) is one rung at
    ``max_step``, a bracket that halves nothing, accepted as such. A one-step study
    (``max_step=1``) has nothing to stop early: the defaults (``min_step`` and
    ``min_step`` 1) are accepted there. Only for new studies: a stored one still loads."""
    check_first_step(spec.scheduler, spec.max_step)
    if (spec.constraints or spec.objectives) and spec.searcher.name == "optuna":
        # an Optuna sampler that takes no constraints_func would ignore them; one that cannot
        # search several objectives says so only when first asked, after the study is written
        from rung.integrations._optuna_checks import check_sampler

        check_sampler(spec.searcher.params, spec.space, len(spec.objectives) or 1,
                      len(spec.constraints))
    for line in ranking_warnings(spec) if warn else ():
        log.warning("study %s: %s", spec.name, line)


def check_first_step(scheduler: ComponentSpec, max_step: int) -> None:
    """``check_first_rung`` for a scheduler's spec and the study's ``max_step`` (for the
    adapters that make a study later: ``RungPruner`` checks its scheduler when made)."""
    m = max_step
    params = scheduler.params
    synchronous = scheduler.name in ("successive_halving", "hyperband")
    never = ("the rule would never stop a trial" if scheduler.name == "median"
             else "no rung would ever decide")
    r = params.get("min_step")
    if not isinstance(r, int) or isinstance(r, bool):
        return
    if scheduler.name == "median" and params.get("rule") == "optuna":
        # name the argument an Optuna user gave (rung.integrations.optuna.median_pruner)
        never += (f" (with median_pruner(n_warmup_steps=n, first_step=f), min_step is "
                  f"n - f + 1: give n_warmup_steps at most {max(m - 1, 1) - 1} + first_step)")
    if r > m:
        raise ConfigError(key="scheduler.params.min_step", message=(
            f"{r} is above max_step ({m}): {never}"))
    if r == m > 1 and not synchronous:
        raise ConfigError(key="scheduler.params.min_step", message=(
            f"{r} is max_step, the step a trial ends at: {never}"))


__all__ = ["as_budget", "as_objective", "as_objectives", "check_first_rung",
           "check_first_step", "check_given_resources", "check_name", "check_same_spec",
           "normalised", "ranking_warnings"]
