"""``rung ledger NAME``: what a study spent (money, device-hours, steps) and what it saved.

Folds the journal read-only (``rung.cost.ledger``), so it works while another process runs the
study and on any finished one; no searcher or scheduler is rebuilt.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from rung.cli.stored import add_study_arguments
from rung.cost.ledger import NOISE as LEDGER_NOISE
from rung.cost.ledger import OUTCOMES, Ledger


def add_parser(sub: Any) -> None:
    q = sub.add_parser(
        "ledger", help="what a study spent and saved: money, device-hours, steps, idle time",
        description="Spend by outcome, a row for each outcome that has runs ("
                    + ", ".join(OUTCOMES) + "; stopped-by-budget / stopped-by-rule: runs "
                    "the engine stopped because the budget was spent / the stop rule ended "
                    "the search), the saving against training every trial to max_step, "
                    "utilization per worker slot and idle time, checkpoint overhead, the cost "
                    "of each improvement of the incumbent (the best final value), the budget "
                    "and the stop rule's verdict. Measured from the journal's times and the "
                    "study's prices. Safe while another process runs the study.")
    add_study_arguments(q)
    q.add_argument("--json", action="store_true", help="print the ledger as JSON")
    q.set_defaults(handler=cmd_ledger)


def cmd_ledger(args: argparse.Namespace) -> int:
    from rung.cli.main import find_storage
    from rung.core.records import StudySpec
    from rung.cost.ledger import ledger
    from rung.storage import SQLiteJournal

    path = find_storage(args.name, args.storage)
    with SQLiteJournal(path, readonly=True) as journal:
        spec = StudySpec.from_json(journal.load_study(args.name))
        led = ledger(spec, journal.read(args.name))
    if args.json:
        sys.stdout.write(json.dumps(led.to_json(), indent=1, allow_nan=False, default=str)
                         + "\n")
    else:
        sys.stdout.write(render(led, args.name))
    return 0


#: an amount within this fraction of the figure it is the difference of is float noise (a
#: saving of 8.9e-16 out of 9.51 is none): shown as 0, as the ledger itself counts it
NOISE = LEDGER_NOISE


def _money(x: float, ref: float = 0.0) -> str:
    """Money: two decimals from 0.1 up (``1,234.50``, ``0.19``); below, three significant
    digits in fixed notation (``0.0118``, ``0.00231``) down to 1e-6, then in scientific
    notation; ``0.00`` for 0, and for an ``x`` within ``NOISE`` of ``ref`` (float noise in
    a difference whose terms are about ``ref``); ``inf`` / ``nan`` as such (never raises)."""
    if not math.isfinite(x):
        return str(x)
    a = abs(x)
    if a == 0 or a <= NOISE * abs(ref):
        return "0.00"
    if a >= 0.1:
        return f"{x:,.2f}"
    if a < 1e-6:
        return f"{x:.3g}"
    return f"{x:.{2 - math.floor(math.log10(a))}f}"


def _pct(fraction: float) -> str:
    """A fraction as a percentage with one decimal, float noise and -0.0 shown as 0.0."""
    return f"{round(100 * fraction, 1) + 0.0:.1f}"


def _gpu_hours(x: float, ref: float = 0.0) -> str:
    """GPU-hours of a budget line: four significant digits."""
    return f"{x:.4g}"


def _hours(x: float, ref: float = 0.0) -> str:
    """Hours (device-, GPU- or worker-hours) to four significant digits, like money's
    three: in fixed notation from 1e-6 up (``47.46``, ``0.7691``, ``0.0003352``; ``1,234``
    from 1,000 on), below it in scientific notation (``3.11e-07``); ``0`` for 0 and for an
    ``x`` within ``NOISE`` of ``ref`` (float noise); ``inf`` / ``nan`` as such."""
    if not math.isfinite(x):
        return str(x)
    a = abs(x)
    if a == 0 or a <= NOISE * abs(ref):
        return "0"
    if a >= 1000:
        return f"{x:,.0f}"
    if a < 1e-6:
        return f"{x:.3g}"
    exp = math.floor(math.log10(a))
    if round(a, 3 - exp) >= 10.0 ** (exp + 1):  # 0.99996 rounds to 1.000, not 1.0000
        exp += 1
    return f"{x:,.{max(0, 3 - exp)}f}"


def render(led: Ledger, name: str = "") -> str:
    """The ledger as a plain-text report (what ``rung ledger`` prints)."""
    from rung.cli.report import fmt_duration  # imports the Study: not at the CLI's start

    lines: list[str] = []
    title = f"ledger of {name}" if name else "ledger"
    prices = ", ".join(f"{k} {v:g}/h" for k, v in led.prices.items()) or "none"
    lines.append(f"{title}: {led.trials} trials, {led.total.runs} runs, "
                 f"{fmt_duration(led.wall_hours * 3600)} of sessions (start-up included); "
                 f"prices: {prices}")
    # money is 0 everywhere without prices, or with prices for none of what the trials held:
    # then speak in device-hours (the dashboard's ledger page follows the same rule)
    priced = led.priced
    lines.append("")
    width = max([12, *(len(k) for k in led.by_outcome)])
    lines.append(f"{'outcome':<{width}} {'runs':>6} {'steps':>8} {'device-h':>10} {'GPU-h':>8}"
                 + (f" {'cost':>12}" if priced else ""))
    for outcome, s in [*led.by_outcome.items(), ("total", led.total)]:
        lines.append(f"{outcome:<{width}} {s.runs:>6} {s.steps:>8} {_hours(s.device_hours):>10} "
                     f"{_hours(s.gpu_hours):>8}" + (f" {_money(s.cost):>12}" if priced else ""))
    lines.append("")
    devices = ", ".join(f"{d} {_hours(h)} h" for d, h in led.devices.items()) or "none"
    lines.append(f"device-hours by device: {devices}")
    if priced:
        lines.append(f"trained to max_step ({led.max_step}) every trial would have cost "
                     f"{_money(led.full_cost)} ({_hours(led.full_device_hours)} device-h): the "
                     f"scheduler saved {_money(led.saving, led.full_cost)} "
                     f"({_pct(led.saved_fraction)}%)")
    else:
        lines.append(f"trained to max_step ({led.max_step}) every trial would have taken "
                     f"{_hours(led.full_device_hours)} device-h: the scheduler saved "
                     f"{_hours(led.saving_device_hours, led.full_device_hours)} device-h "
                     f"({_pct(led.saved_fraction)}%)")
    engine_stops = [f"{led.by_outcome[k].runs} by {why}" for k, why in
                    (("stopped-by-budget", "the budget"), ("stopped-by-rule", "the stop rule"))
                    if k in led.by_outcome]
    if engine_stops:
        first, *others = engine_stops
        lines.append(f"  the {first.replace(' by ', ' run(s) stopped by ', 1)}"
                     + "".join(f" and the {m}" for m in others)
                     + " count at what they spent: the engine stopped them, not the scheduler")
    idle_cost = (f" (would cost {_money(led.idle_cost)}, not charged to the budget)"
                 if priced else "")
    lines.append(f"utilization {100 * led.utilization:.1f}% over {len(led.workers)} worker "
                 f"slots; idle {_hours(led.idle_hours)} worker-h{idle_cost}")
    if led.workers:
        per = " ".join(f"{100 * w.utilization:.0f}%" for w in led.workers[:16])
        more = " ..." if len(led.workers) > 16 else ""
        lines.append(f"  per worker: {per}{more}")
    lines.append(f"checkpoints: {led.checkpoint_hours * 3600:.1f} s saving and restoring"
                 + (f" (cost {_money(led.checkpoint_cost)})" if priced else ""))
    if led.incumbent:
        shown = led.incumbent[-8:]
        which = f" (the last {len(shown)} of {len(led.incumbent)})" \
            if len(shown) < len(led.incumbent) else ""
        lines.append(f"incumbent (best final value) and what each improvement cost{which}:")
        for i in shown:
            if priced:
                per_unit = "first" if not math.isfinite(i.cost_per_unit) else \
                    f"{_money(i.cost_per_unit)} per unit"
                lines.append(f"  trial {i.trial_id:>5}: {i.value:.6g} after {_money(i.cost)} "
                             f"({_hours(i.device_hours)} device-h), {per_unit}")
                continue
            per_unit = "first" if not math.isfinite(i.device_hours_per_unit) else \
                f"{_hours(i.device_hours_per_unit)} device-h per unit"
            lines.append(f"  trial {i.trial_id:>5}: {i.value:.6g} after "
                         f"{_hours(i.device_hours)} device-h, {per_unit}")
    b = led.budget
    for key, unit in (("max_cost", "cost"), ("max_gpu_hours", "gpu_hours")):
        limit = b.get(key)
        if limit is not None:
            spent = b[unit] or 0.0
            over = b[f"overshoot_{unit}"] or 0.0
            amount = _money if unit == "cost" else _gpu_hours
            lines.append(f"budget {key}={limit:g}: spent {amount(spent)}"
                         + (f", {amount(over)} past the limit (steps in flight when it was "
                            "reached)" if over else ""))
    if led.stopped is not None:
        lines.append(f"stopped by the stop rule: {led.stopped['reason']}")
        evidence = led.stopped.get("evidence") or {}
        if evidence:
            lines.append("  evidence: " + ", ".join(
                f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                for k, v in evidence.items()))
    lines.extend(f"note: {n}" for n in led.notes)
    return "\n".join(lines) + "\n"


__all__ = ["add_parser", "cmd_ledger", "render"]
