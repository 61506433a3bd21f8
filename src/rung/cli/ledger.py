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
from rung.cost.ledger import Ledger


def add_parser(sub: Any) -> None:
    q = sub.add_parser(
        "ledger", help="what a study spent and saved: money, device-hours, steps, idle time",
        description="Spend by outcome (completed / stopped / paused / failed), the saving "
                    "against training every trial to max_step, utilization per worker and "
                    "idle time, checkpoint overhead, the cost of each improvement of the "
                    "incumbent, the budget and the stop rule's verdict. Measured from the "
                    "journal's times and the study's prices. Safe while another process runs "
                    "the study.")
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


def _money(x: float) -> str:
    return f"{x:,.2f}" if abs(x) >= 0.01 or x == 0 else f"{x:.4g}"


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
    lines.append(f"{'outcome':<12} {'runs':>6} {'steps':>8} {'device-h':>10} {'GPU-h':>8}"
                 + (f" {'cost':>12}" if priced else ""))
    for outcome, s in [*led.by_outcome.items(), ("total", led.total)]:
        lines.append(f"{outcome:<12} {s.runs:>6} {s.steps:>8} {s.device_hours:>10.4f} "
                     f"{s.gpu_hours:>8.4f}" + (f" {_money(s.cost):>12}" if priced else ""))
    lines.append("")
    devices = ", ".join(f"{d} {h:.4f} h" for d, h in led.devices.items()) or "none"
    lines.append(f"device-hours by device: {devices}")
    if priced:
        lines.append(f"trained to max_step ({led.max_step}) every trial would have cost "
                     f"{_money(led.full_cost)} ({led.full_device_hours:.4f} device-h): the "
                     f"scheduler saved {_money(led.saving)} ({100 * led.saved_fraction:.1f}%)")
    else:
        lines.append(f"trained to max_step ({led.max_step}) every trial would have taken "
                     f"{led.full_device_hours:.4f} device-h: the scheduler saved "
                     f"{led.saving_device_hours:.4f} device-h "
                     f"({100 * led.saved_fraction:.1f}%)")
    idle_cost = (f" (would cost {_money(led.idle_cost)}, not charged to the budget)"
                 if priced else "")
    lines.append(f"utilization {100 * led.utilization:.1f}% over {len(led.workers)} worker "
                 f"slots; idle {led.idle_hours:.4f} worker-h{idle_cost}")
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
        lines.append(f"incumbent (value at max_step) and what each improvement cost{which}:")
        for i in shown:
            if priced:
                per_unit = "first" if not math.isfinite(i.cost_per_unit) else \
                    f"{_money(i.cost_per_unit)} per unit"
                lines.append(f"  trial {i.trial_id:>5}: {i.value:.6g} after {_money(i.cost)} "
                             f"({i.device_hours:.4f} device-h), {per_unit}")
                continue
            per_unit = "first" if not math.isfinite(i.device_hours_per_unit) else \
                f"{i.device_hours_per_unit:.4g} device-h per unit"
            lines.append(f"  trial {i.trial_id:>5}: {i.value:.6g} after "
                         f"{i.device_hours:.4f} device-h, {per_unit}")
    b = led.budget
    for key, unit in (("max_cost", "cost"), ("max_gpu_hours", "gpu_hours")):
        limit = b.get(key)
        if limit is not None:
            spent = b[unit] or 0.0
            over = b[f"overshoot_{unit}"] or 0.0
            lines.append(f"budget {key}={limit:g}: spent {spent:.6g}"
                         + (f", {over:.4g} past the limit (in-flight steps)" if over else ""))
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
