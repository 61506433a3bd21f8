"""The ledger: what a study spent and what its scheduler saved, as a pure fold over its journal.

Every number comes from the journaled events' times, multiplied by what each run of a trial
held (``CapacityChanged.resources``, else the spec's ``resources_per_trial``, else one CPU) and
the spec's ``prices``. A run holds its resources from its ``Launch`` (the time of the event that
caused it) to its ``TrialEnded``; the gap between two driver sessions is not charged: a run in
flight when its session ended without ending it (its driver killed) is charged up to that
session's last event, and what its worker ran after it (up to about one step) is charged nowhere
(``Ledger.notes`` says so). These are
exactly the rules the engine charges ``Budget.max_cost`` by (``rung.core.metering``), so the
ledger's total is the engine's.

Reading the journal needs no engine, searcher or scheduler: ``ledger(spec, records)`` works on a
live run from another process and on any finished one, and the CLI (``rung ledger``) and the
dashboard call it the same way. The fold itself (``_Fold``) is ``rung.cost.ledger_fold``; this
module holds what it builds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rung.core.events import Record
from rung.core.records import StudySpec

if TYPE_CHECKING:
    import pandas as pd

    from rung.cost.ledger_fold import _Fold as _Fold

OUTCOMES = ("completed", "stopped", "stopped-by-budget", "stopped-by-rule", "paused", "failed",
            "interrupted", "running")
# trials the full baseline trains straight through to their target step
# (``rung.cost.ledger_baseline``): those the scheduler (or the objective itself, returning
# early) ended; a failed, interrupted or running one counts as it is, and so
# does one the budget or the stop rule stopped (``stopped-by-budget`` / ``stopped-by-rule``: the
# engine's decision, not the scheduler's, so no saving of the scheduler's)
_EXTRAPOLATED = frozenset({"completed", "stopped", "paused"})


@dataclass
class Spend:
    """Money, device-hours, GPU-hours, steps trained and runs, for one group of trial runs."""

    cost: float = 0.0
    device_hours: float = 0.0
    gpu_hours: float = 0.0
    steps: int = 0
    runs: int = 0

    def add(self, other: Spend) -> None:
        self.cost += other.cost
        self.device_hours += other.device_hours
        self.gpu_hours += other.gpu_hours
        self.steps += other.steps
        self.runs += other.runs


@dataclass
class Worker:
    """One worker slot (a run takes the lowest slot free at its launch and keeps it to its
    end, so a slot's hours depend on which runs happened to land there): hours busy, hours
    available, and their ratio."""

    slot: int
    busy_hours: float = 0.0
    available_hours: float = 0.0

    @property
    def utilization(self) -> float:
        """Busy over available hours, in [0, 1] up to float noise: within ``NOISE`` of 1 it
        is exactly 1 (a slot busy all along: the same seconds summed in another order)."""
        return _ratio(self.busy_hours, self.available_hours)


@dataclass
class Improvement:
    """The incumbent improved: at ``time`` (seconds, journal clock) after ``cost`` was spent,
    it became ``value`` (in the objective's own direction). ``cost_per_unit`` and
    ``device_hours_per_unit``: the money and the device-hours spent since the previous
    improvement divided by its size (``inf`` for the first; ``rung ledger`` and the dashboard
    show the second when money does not measure the study, ``Ledger.priced``)."""

    time: float
    cost: float
    device_hours: float
    value: float
    trial_id: int
    cost_per_unit: float
    device_hours_per_unit: float = math.inf


@dataclass(repr=False)
class Ledger:
    """What a study spent and saved (see the module docstring for how it is measured).

    ``str(ledger)`` (``print(study.ledger())``, and IPython's and Jupyter's display) is the
    report ``rung ledger`` prints (``rung.cli.ledger.render``, titled ``ledger`` rather than
    ``ledger of NAME``: a ledger does not know its study's name); ``repr`` one line of totals.

    Attributes:
        by_outcome: spend of the runs that ended completed / stopped / paused / failed /
            interrupted, and of those still ``running`` when the journal was read; a run the
            engine stopped because the budget was spent (``stopped-by-budget``) or the stop
            rule ended the search (``stopped-by-rule``) is not ``stopped``, which is a stop the
            scheduler decided (or the objective, or ``Study.tell``, made).
        total: the sum over outcomes.
        devices: device-hours by device (``{"cpu": 1.5, "gpu:A100": 0.5}``).
        full_cost, full_device_hours: what the same trials would have cost each trained
            once, straight through, from one start-up to the step it would have ended at,
            without checkpoints: the baseline the scheduler's ``saving`` is measured against
            (``rung.cost.ledger_baseline`` states the rule). A trial's step time ``m`` is the
            mean of its clean step times (a result's time since its run's previous start,
            result or checkpoint save; a restored run's first step is not clean), else the
            mean over the study's clean steps; its target step is ``max_step``, or the last
            step it reported when it completed by itself below it. A trial that already ran
            straight through (one run, no restore, no save, completed) counts exactly what it
            held, so FIFO without checkpoints saves exactly 0, early returns included; any
            other the scheduler (or the objective) ended counts its first run's start-up
            (``Launch`` to ``TrialStarted``) + ``m`` x its target + its last run's tail (its
            last event to its ``TrialEnded``): a trial paused and resumed to ``max_step`` has
            a baseline below what it spent, and steps trained again after a crash count once.
            A trial whose latest run failed, was interrupted or is still running counts at
            what it spent: a crash saves nothing; so does one the budget or the stop rule
            stopped: that saving is not the scheduler's (FIFO, which stops nothing, saves 0
            under ``max_cost``).
        idle_hours, idle_cost: worker-hours the executor offered and no trial held, and what
            they would have cost at the rate of what a trial held in their session (not
            charged to ``max_cost``).
        workers: utilization per worker slot.
        checkpoint_hours, checkpoint_cost: time spent saving checkpoints (a save's time after
            its trial's previous event) and restoring them (a restored run's first step, from
            its ``Launch``, beyond its trial's step time ``m``, as ``full_cost`` reads it),
            and its cost.
        incumbent: every improvement of the best final value among feasible results (every
            ``constraints`` holds), with the cost per unit of improvement. A final value is a
            result at ``max_step``, or the last result of a trial that completed below it (its
            objective returned early), as ``Study.best_trial`` reads them: each trial with its
            latest (a repeated step's result replaces the earlier one), counted when it is
            reported, or when that trial ends.
        budget: the money / GPU-hour limits and what was spent against them; ``overshoot``
            is how far past a limit the spend went (in the limit's units).
        stopped: the stop rule's reason and evidence, if it stopped the search.
        trials: trials launched.
        wall_hours: the driver sessions' span, summed: from each session's start (its
            ``CapacityChanged(new_session)``, worker start-up included; for a journal without
            one, a study driven by ask / tell, its first event) to its last event, the gap
            between sessions left out. Runs are charged, and workers offered, over this span
            (``Engine.elapsed``, which ``rung show`` prints and ``max_time`` spends, starts
            at a session's first trial start instead).
    """

    prices: dict[str, float]
    max_step: int
    by_outcome: dict[str, Spend]
    total: Spend
    devices: dict[str, float]
    full_cost: float
    full_device_hours: float
    idle_hours: float
    idle_cost: float
    workers: list[Worker]
    checkpoint_hours: float
    checkpoint_cost: float
    incumbent: list[Improvement]
    budget: dict[str, float | None]
    stopped: dict[str, Any] | None = None
    trials: int = 0
    wall_hours: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def saving(self) -> float:
        """Money the scheduler saved against training every trial to ``max_step``."""
        return _exact_zero(self.full_cost - self.total.cost, self.full_cost)

    @property
    def saving_device_hours(self) -> float:
        """Device-hours the scheduler saved against training every trial to ``max_step``."""
        return _exact_zero(self.full_device_hours - self.total.device_hours,
                           self.full_device_hours)

    @property
    def priced(self) -> bool:
        """Whether money measures this ledger: prices are given and they charge something the
        trials held (or nothing has run yet). Otherwise every amount of money is 0 and
        ``rung ledger`` and the dashboard's ledger page speak in device-hours: the saving,
        the idle time, the incumbent's improvements (one rule for both, sent as ``priced``
        in ``to_json``)."""
        return bool(self.prices) and (self.total.cost > 0 or self.total.device_hours <= 0)

    @property
    def saved_fraction(self) -> float:
        """Device-hours saved as a fraction of the full baseline (0 when nothing ran)."""
        if self.full_device_hours <= 0:
            return 0.0
        return _exact_zero(1.0 - self.total.device_hours / self.full_device_hours, 1.0)

    @property
    def utilization(self) -> float:
        """Busy worker-hours over available worker-hours, over all slots (exactly 1 within
        ``NOISE`` of it, as ``Worker.utilization``)."""
        return _ratio(sum(w.busy_hours for w in self.workers),
                      sum(w.available_hours for w in self.workers))

    def __repr__(self) -> str:
        """``Ledger(20 trials, 24 runs, 1.504 device-h, cost 3.20, saved 34.5%)``: the
        totals in ``rung ledger``'s units (the cost only when money measures the ledger,
        ``priced``); ``str`` is the whole report."""
        from rung.cli.ledger import _hours, _money, _pct

        t = self.total
        cost = f", cost {_money(t.cost)}" if self.priced else ""
        return (f"Ledger({self.trials} trial{'' if self.trials == 1 else 's'}, {t.runs} "
                f"run{'' if t.runs == 1 else 's'}, {_hours(t.device_hours)} device-h{cost}, "
                f"saved {_pct(self.saved_fraction)}%)")

    def __str__(self) -> str:
        """The report ``rung ledger`` prints (``rung.cli.ledger.render``), titled ``ledger``."""
        from rung.cli.ledger import render  # the CLI's module: not imported with rung

        return render(self)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        """IPython's and Jupyter's display: the report (``str``), not the fields."""
        p.text(repr(self) if cycle else str(self).rstrip("\n"))

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data (the CLI's ``--json`` and the dashboard): a non-finite number (the
        first improvement's ``cost_per_unit``) is ``None``, so strict JSON parsers read it."""
        out: dict[str, Any] = _finite({
            "prices": dict(self.prices),
            "trials": self.trials,
            "wall_hours": self.wall_hours,
            "by_outcome": {k: vars(v).copy() for k, v in self.by_outcome.items()},
            "total": vars(self.total).copy(),
            "devices": dict(self.devices),
            "full_cost": self.full_cost,
            "full_device_hours": self.full_device_hours,
            "saving": self.saving,
            "saving_device_hours": self.saving_device_hours,
            "saved_fraction": self.saved_fraction,
            "idle_hours": self.idle_hours,
            "idle_cost": self.idle_cost,
            "utilization": self.utilization,
            "workers": [{"slot": w.slot, "busy_hours": w.busy_hours,
                         "available_hours": w.available_hours,
                         "utilization": w.utilization} for w in self.workers],
            "checkpoint_hours": self.checkpoint_hours,
            "checkpoint_cost": self.checkpoint_cost,
            "incumbent": [vars(i).copy() for i in self.incumbent],
            "budget": dict(self.budget),
            "stopped": self.stopped,
            "notes": list(self.notes),
            "priced": self.priced,
        })
        return out

    def to_frame(self) -> pd.DataFrame:
        """Spend by outcome, one row each plus ``total`` (needs pandas:
        ``pip install 'rung[dataframe]'``)."""
        try:
            import pandas as pd
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError("Ledger.to_frame needs pandas: pip install 'rung[dataframe]'") from e
        rows = {k: vars(v) for k, v in self.by_outcome.items()} | {"total": vars(self.total)}
        frame = pd.DataFrame.from_dict(rows, orient="index")
        frame.index.name = "outcome"
        return frame


def _finite(x: Any) -> Any:
    """``x`` with every non-finite float, at any depth, replaced by ``None``."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_finite(v) for v in x]
    return x


def ledger(spec: StudySpec, records: Iterable[Record]) -> Ledger:
    """Fold a study's journaled records into its ``Ledger``."""
    from rung.cost.ledger_fold import _Fold

    fold = _Fold(spec)
    for rec in records:
        fold.feed(rec)
    return fold.result()


if not TYPE_CHECKING:  # hidden from type checkers (``_Fold`` is imported for them above)

    def __getattr__(name: str) -> Any:
        # ``_Fold`` lives in ``rung.cost.ledger_fold``, which imports this module's records
        if name == "_Fold":
            from rung.cost.ledger_fold import _Fold

            return _Fold
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: a difference within this fraction of the figures it is the difference of is float noise:
#: 0 in the ledger (a FIFO run saves exactly nothing: its total and its baseline are the same
#: sums in another order, -2e-19 apart) and in ``rung ledger``'s text (``rung.cli.ledger``)
NOISE = 1e-9


def _ratio(busy: float, available: float) -> float:
    """``busy / available`` (0 when nothing was available), exactly 1 when within ``NOISE``
    of it: float noise in two sums of the same seconds (``1.0000000000000018``)."""
    if available <= 0:
        return 0.0
    r = busy / available
    return 1.0 if abs(r - 1.0) <= NOISE else r


def _exact_zero(x: float, scale: float) -> float:
    """``x``, or 0 when it is float noise next to ``scale`` (``NOISE``)."""
    return 0.0 if abs(x) <= NOISE * abs(scale) else x


__all__ = ["OUTCOMES", "Improvement", "Ledger", "Spend", "Worker", "ledger"]

