"""``Meter``: the engine's running account of what trials held, in money, GPU-hours and
device-hours, and the lease caps that keep ``Budget.max_cost`` / ``max_gpu_hours`` within about
one step per worker.

A run of a trial holds its resources from its ``Launch`` (the time of the event that caused it)
to its ``TrialEnded``: start-up, steps, checkpoint saves and restores all count. It is charged at
each of its events, so the account always covers every run up to its last event. The gap
between two driver sessions is never charged: a run a killed driver left in flight is charged
up to its session's last event, and the step its worker may have gone on with is not counted
(at most about one step per worker per crash, outside ``max_cost`` too). Pure: time comes from
the events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rung.core.budget import Budget
from rung.core.pricing import check_table, gpus, hourly_rate, reported_resources


class RunMeter:
    """What one run of a trial holds and how far it has been charged."""

    __slots__ = ("devices", "gpus", "last", "rate", "since", "step_time")

    def __init__(self, now: float, rate: float, gpus: float, devices: float) -> None:
        self.rate, self.gpus, self.devices = rate, gpus, devices
        self.since = now  # charged up to here
        self.last = now  # time of the launch or of the last result (a step's duration)
        self.step_time = 0.0  # longest step of this run so far, in seconds (0: none yet)

    def on_result(self, time: float, consumed: int) -> None:
        """A result ``consumed`` steps after the previous one (or the launch: the first step
        includes start-up and restore)."""
        if consumed > 0:
            self.step_time = max(self.step_time, (time - self.last) / consumed)
        self.last = time


class Meter:
    """Totals over every run of a study: ``cost`` (money), ``gpu_hours``, ``device_hours``."""

    def __init__(self, prices: Mapping[str, float], resources: Mapping[str, float]) -> None:
        self.prices = prices
        self.cost = 0.0
        self.gpu_hours = 0.0
        self.device_hours = 0.0
        self._hold(check_table(resources, "resources_per_trial"))

    def set_resources(self, resources: Mapping[str, float]) -> None:
        """What each run launched from now on holds (``CapacityChanged.resources``; a report
        whose hourly rate is not finite leaves the resources as they were:
        ``rung.core.pricing.reported_resources``)."""
        self._hold(reported_resources(
            self.prices, check_table(resources, "resources_per_trial"), self.resources))

    def _hold(self, res: dict[str, float]) -> None:
        self.resources = res
        self._rate = hourly_rate(self.prices, res)
        self._gpus = gpus(res)
        self._devices = float(sum(res.values()))

    def start_run(self, now: float) -> RunMeter:
        """A run launched at ``now`` with the current resources."""
        return RunMeter(now, self._rate, self._gpus, self._devices)

    def charge(self, run: RunMeter, t: float) -> None:
        """Charge what ``run`` held from its last charge up to ``t``."""
        dt = t - run.since
        if dt > 0:
            hours = dt / 3600.0
            self.cost += hours * run.rate
            self.gpu_hours += hours * run.gpus
            self.device_hours += hours * run.devices
            run.since = t

    def upto(self, runs: Iterable[RunMeter], t: float) -> tuple[float, float]:
        """``(cost, gpu_hours)`` with ``runs`` (those in flight) charged up to ``t`` as well,
        without charging them: what the ledger counts for a journal read at time ``t`` (its
        last event), a run in flight charged up to it. ``cost`` alone covers each run up to
        its own last event only."""
        cost, gpu_hours = self.cost, self.gpu_hours
        for run in runs:
            dt = t - run.since
            if dt > 0:
                cost += dt / 3600.0 * run.rate
                gpu_hours += dt / 3600.0 * run.gpus
        return cost, gpu_hours

    def spent(self, budget: Budget) -> bool:
        """``budget.max_cost`` or ``budget.max_gpu_hours`` is reached."""
        return (budget.max_cost is not None and self.cost >= budget.max_cost) or (
            budget.max_gpu_hours is not None and self.gpu_hours >= budget.max_gpu_hours)

    def cap(self, budget: Budget, run: RunMeter | None, position: int, until: int,
            workers: int) -> int:
        """``until`` capped so that the run's lease spends at most its share (1 / ``workers``)
        of the money and GPU-hours left, in steps of its longest step so far (at least one
        step; exactly one while it has no step yet, so a new run asks again after its first).
        The overshoot is then one step per worker, unless a step takes longer than every
        earlier step of its run."""
        if budget.max_cost is None and budget.max_gpu_hours is None:
            return until
        if run is None or run.step_time <= 0:
            return min(until, position + 1)
        for limit, spent, per_hour in ((budget.max_cost, self.cost, run.rate),
                                       (budget.max_gpu_hours, self.gpu_hours, run.gpus)):
            per_step = run.step_time / 3600.0 * per_hour
            if limit is not None and per_step > 0:
                share = max(1, int((limit - spent) / workers // per_step))
                until = min(until, position + share)
        return until


__all__ = ["Meter", "RunMeter"]
