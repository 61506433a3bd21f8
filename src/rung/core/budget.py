"""``Budget``: when a study stops launching work (trials, time, steps, money, GPU-hours, a
stop-searching rule)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rung._validate import check_int, check_positive, close_hint
from rung.core.frozen import record
from rung.errors import ConfigError

if TYPE_CHECKING:  # records imports this module
    from rung.core.engine import Engine
    from rung.core.records import ComponentSpec


def _optional_positive(name: str, v: Any, integral: bool) -> None:
    """A budget limit: ``None`` (unlimited), or a positive integer (a positive number for a
    time)."""
    if v is None:
        return
    if integral:
        check_int(f"budget.{name}", v, 1)
    else:
        check_positive(f"budget.{name}", v)


# the keys of a budget mapping (``Budget.from_json``), in the order of ``Budget``'s fields
BUDGET_KEYS = ("n_trials", "max_time", "max_steps", "max_cost", "max_gpu_hours", "stop")


@record
class Budget:
    """When a study stops launching work. Any limit may be ``None`` (unlimited).

    - ``n_trials``: configurations proposed by the searcher (PBT forks do not count);
    - ``max_time``: seconds of driver time, summed over sessions (a resumed study does not
      count the time it was down);
    - ``max_steps``: resource units consumed across all trials, one unit per step trained
      (re-training steps after a restart counts again, because it costs again);
    - ``max_cost``: money spent by trials, measured from the journal's times: each run of a
      trial costs (its end - its launch) x its resources' hourly rate under the study's
      ``prices`` (start-up, steps, checkpoint saves and restores included; idle workers are
      not a trial's and are reported by the ledger instead);
    - ``max_gpu_hours``: the same measure in GPU-hours (GPUs of any type);
    - ``stop``: a stop-searching rule (``"auto"``, a ``{"name", "params"}`` mapping or a
      ``rung.StopRule``), asked after every trial ends whether more search is worth its cost.

    Once a limit is reached (or the rule stops the search) no trial is launched or resumed,
    and running trials are stopped at their next report. With ``max_steps``, ``max_cost`` or
    ``max_gpu_hours`` each lease is capped at its trial's share of what is left, so the
    overshoot is at most about one step per worker (``Study.ledger()`` reports it).
    """

    n_trials: int | None = None
    max_time: float | None = None
    max_steps: int | None = None
    max_cost: float | None = None
    max_gpu_hours: float | None = None
    stop: Any = None

    def __post_init__(self) -> None:
        _optional_positive("n_trials", self.n_trials, True)
        _optional_positive("max_time", self.max_time, False)
        _optional_positive("max_steps", self.max_steps, True)
        _optional_positive("max_cost", self.max_cost, False)
        _optional_positive("max_gpu_hours", self.max_gpu_hours, False)
        object.__setattr__(self, "stop", _stop_spec(self.stop))

    @property
    def unlimited(self) -> bool:
        return (self.n_trials is None and self.max_time is None and self.max_steps is None
                and self.max_cost is None and self.max_gpu_hours is None)

    def to_json(self) -> dict[str, Any]:
        """The three original limits always; the others only when set (older specs read back
        and write out unchanged)."""
        out: dict[str, Any] = {
            "n_trials": self.n_trials, "max_time": self.max_time, "max_steps": self.max_steps
        }
        for key in ("max_cost", "max_gpu_hours"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.stop is not None:
            out["stop"] = self.stop.to_json()
        return out

    @classmethod
    def from_json(cls, d: Mapping[str, Any] | None) -> Budget:
        """A budget from its mapping (``to_json``'s keys, any of them; ``None``: unlimited).

        Raises:
            ConfigError: ``d`` is not a mapping, or has a key that is none of
                ``BUDGET_KEYS`` (the first in sorted order is named, with the key it may be a
                typo of: ``budget.n_trial: unknown key (did you mean 'n_trials'?) (known:
                ...)``), or a limit is invalid.
        """
        if d is None:
            return cls()
        known = ", ".join(BUDGET_KEYS)
        if not isinstance(d, Mapping):
            raise ConfigError(key="budget", message=f"must be a mapping of {known}, "
                              f"got {type(d).__name__} {d!r}")
        unknown = sorted((k for k in d if k not in BUDGET_KEYS), key=str)
        if unknown:
            first = str(unknown[0])
            raise ConfigError(key=f"budget.{first}", message=(
                f"unknown key{close_hint(first, BUDGET_KEYS, given=d)} (known: {known})"))
        return cls(*(d.get(k) for k in BUDGET_KEYS))


def _stop_spec(value: Any) -> ComponentSpec | None:
    """``Budget.stop`` as a ``ComponentSpec``: a name, a ``{"name", "params"}`` mapping, a
    ``ComponentSpec`` or a component (anything with ``to_spec()``). Whether the name is known
    is checked when the engine builds the rule."""
    from rung.core.records import ComponentSpec
    if value is None or isinstance(value, ComponentSpec):
        return value
    if isinstance(value, str) and value:
        return ComponentSpec(value, {})
    if isinstance(value, Mapping) and isinstance(value.get("name"), str) and value["name"] \
            and set(value) <= {"name", "params"} and isinstance(value.get("params", {}), Mapping):
        return ComponentSpec.from_json(value)
    to_spec = getattr(value, "to_spec", None)
    if callable(to_spec):
        spec = to_spec()
        if isinstance(spec, ComponentSpec):
            return spec
    raise ConfigError(key="budget.stop", message="must be 'auto', a stop rule's name, a "
                      f"{{'name', 'params'}} mapping or a rung.StopRule, got {value!r}")


@record
class Usage:
    """What a study has used of its budget, as its engine accounts it.

    Attributes:
        trials: configurations proposed (what ``n_trials`` counts).
        elapsed: seconds of driver time (what ``max_time`` counts).
        steps: steps consumed (``max_steps``).
        cost: money spent by trials (``max_cost``; the ledger's total): the runs in flight
            charged up to the engine's last event, as docs/cost.md says and the ledger
            counts them (``Meter.upto``).
        gpu_hours: GPU-hours held by trials (``max_gpu_hours``), counted the same way.
        stopped: the stop rule ended the search (``stop``).
    """

    trials: int
    elapsed: float
    steps: int
    cost: float
    gpu_hours: float
    stopped: bool = False

    @classmethod
    def of(cls, engine: Engine) -> Usage:
        """The usage ``engine`` accounts now (read only): the runs in flight are charged up
        to its last event (``engine.now``), as the ledger charges them."""
        h = engine.history
        cost, gpu_hours = engine.meter.upto((lease.meter for lease in engine.active.values()),
                                            engine.now)
        return cls(h.n_suggested, engine.elapsed, h.steps_consumed, cost, gpu_hours,
                   engine.stopped is not None)


def limits_reached(budget: Budget, used: Usage) -> list[str]:
    """The keys of ``budget``'s limits that ``used`` reached, in ``BUDGET_KEYS`` order
    (``stop`` when its rule ended the search): what ended a run that stopped on its budget."""
    reached = [key for key, limit, value in (
        ("n_trials", budget.n_trials, used.trials), ("max_time", budget.max_time, used.elapsed),
        ("max_steps", budget.max_steps, used.steps), ("max_cost", budget.max_cost, used.cost),
        ("max_gpu_hours", budget.max_gpu_hours, used.gpu_hours),
    ) if limit is not None and value >= limit]
    return reached + (["stop"] if used.stopped else [])


def spend_text(budget: Budget, used: Usage, ends: bool = True) -> str | None:
    """What was spent of ``budget``'s money and GPU-hour limits, with the overshoot and the
    limits reached (and the stop rule, when it ended the search): ``max_cost 12.8 of 8 spent
    (4.8 past it: steps in flight when it was reached), max_gpu_hours 2.463 of 3 spent;
    max_cost reached``. ``None`` for a budget with
    neither limit (its trials and steps are counted where they are shown). The overshoot is at
    most about one step per worker (``Meter.cap``). ``ends=False``: without what ended it."""
    parts = []
    for key, limit, value in (("max_cost", budget.max_cost, used.cost),
                              ("max_gpu_hours", budget.max_gpu_hours, used.gpu_hours)):
        if limit is None:
            continue
        over = value - limit
        parts.append(f"{key} {value:.4g} of {limit:g} spent" + (
            f" ({over:.4g} past it: steps in flight when it was reached)" if over > 0 else ""))
    if not parts:
        return None
    if not ends:
        return ", ".join(parts)
    reached = [k for k in limits_reached(budget, used) if k != "stop"]
    why = ([f"{' and '.join(reached)} reached"] if reached else []) + (
        ["the stop rule ended the search"] if used.stopped else [])
    return "; ".join([", ".join(parts), *why])


__all__ = ["Budget", "Usage", "limits_reached", "spend_text"]
