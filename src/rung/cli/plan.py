"""``rung plan NAME``: predict wall-clock, cost, utilization and regret of a whole study for
several worker counts, from a running or finished pilot study (``rung.plan``).

Reads the journal read-only, so it works while another process runs the pilot.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import TYPE_CHECKING, Any

from rung.errors import ConfigError

if TYPE_CHECKING:
    from rung.planning import Plan


def add_parser(sub: Any) -> None:
    q = sub.add_parser(
        "plan", help="predict a study's wall-clock and cost on 1, 8, 64 ... workers",
        description="Fit the pilot study's learning curves and step costs, then simulate the "
                    "study's own searcher and scheduler on the simulated executor for each "
                    "worker count and seed. Prints, per worker count, the median predicted "
                    "wall-clock, cost, utilization and regret over the simulated runs, which "
                    "resample the pilot's trials, with an 80% prediction interval for one "
                    "run ([10%-90%]: order statistics of the simulated runs). The planned "
                    "study has the pilot's budget unless --trials, --max-steps or "
                    "--max-time give another, which replaces it whole (the pilot's stop "
                    "rule, max_cost and max_gpu_hours included).")
    q.add_argument("name", help="the pilot study's name")
    q.add_argument("--storage", metavar="FILE|DIR",
                   help="SQLite file or directory to search (default: runs/)")
    q.add_argument("--workers", default="1,8,64", metavar="N,N,...",
                   help="worker counts to plan for (default 1,8,64)")
    q.add_argument("--seeds", default="20", metavar="K",
                   help="simulated runs per worker count, the first on the pilot as measured, "
                        "the others on bootstrap resamples of its trials (default 20)")
    q.add_argument("--prices", metavar="DEVICE=PRICE,...",
                   help="money per device-hour, e.g. cpu=0.04,gpu=2 (default: the study's "
                        "prices, else none: costs 0, worker-hours still shown)")
    q.add_argument("--resources", metavar="DEVICE=N,...",
                   help="devices one trial holds, e.g. cpu=4,gpu:A100=1 (default: what "
                        "the pilot's executor reported, else the study's resources_per_trial, "
                        "else cpu=1)")
    q.add_argument("--trials", metavar="N", help="plan a study of N trials")
    q.add_argument("--max-steps", metavar="N", help="plan a study of N steps in all")
    q.add_argument("--max-time", metavar="SECONDS", help="plan a study of this many seconds")
    q.add_argument("--json", action="store_true",
                   help="print the plan as JSON (every row, and every simulated run's "
                        "wall-clock)")
    q.set_defaults(handler=cmd_plan)


def parse_table(text: str, key: str, table: str = "prices") -> dict[str, float]:
    """``"cpu=0.04,gpu:A100=3.2"`` -> ``{"cpu": 0.04, "gpu:A100": 3.2}``, device names
    canonical (checked as the ``table`` of a spec is: ``prices`` or ``resources_per_trial``);
    ``ConfigError`` naming ``key`` (``--prices``) for anything else, with the table's key for
    a device that is not one or an amount below 0 (``--prices: prices.tpu: unknown device``)."""
    from rung.core.pricing import check_table

    out: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        name = name.strip()
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not sep or not name or not math.isfinite(number):
            raise ConfigError(key=key, message=f"expected DEVICE=NUMBER,... got {part!r}")
        if name in out:
            raise ConfigError(key=key, message=f"{name} given twice in {text!r}")
        out[name] = number
    try:
        return check_table(out, table)
    except ConfigError as e:
        raise ConfigError(key=key, message=str(e)) from None


def _ints(text: str, key: str) -> list[int]:
    try:
        values = [int(p) for p in text.split(",")]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise ConfigError(key=key, message=f"expected positive integers, got {text!r}")
    twice = next((v for i, v in enumerate(values) if v in values[:i]), None)
    if twice is not None:
        raise ConfigError(key=key, message=f"{twice} given twice in {text!r}")
    return values


def _budget(args: argparse.Namespace) -> dict[str, Any] | None:
    budget: dict[str, Any] = {}
    for flag, key, kind in (("trials", "n_trials", int), ("max_steps", "max_steps", int),
                            ("max_time", "max_time", float)):
        text = getattr(args, flag)
        if text is None:
            continue
        option = f"--{flag.replace('_', '-')}"
        what = "an integer" if kind is int else "a number of seconds"
        try:
            budget[key] = kind(text)
        except ValueError:
            raise ConfigError(key=option, message=f"expected {what} > 0, got {text!r}") from None
        if not math.isfinite(budget[key]) or budget[key] <= 0:
            raise ConfigError(key=option, message=f"expected {what} > 0, got {text!r}")
    return budget or None


#: the keys of ``rung.plan``'s errors that an option of ``rung plan`` sets
_OPTIONS = {"workers": "--workers", "seeds": "--seeds", "budget.n_trials": "--trials",
            "budget.max_steps": "--max-steps", "budget.max_time": "--max-time"}


def _option(key: str | None, args: argparse.Namespace) -> str | None:
    """The option behind ``rung.plan``'s error key ``key``, when the command line gave it
    (a budget key of the pilot's own budget stays as it is: no option set it). A budget
    the prices and resources would never spend (``prices`` / ``resources_per_trial``) is
    named by the option given that set what it is refused on: ``--resources`` for a GPU-hour
    limit with no GPU held, ``--prices`` (else ``--resources``) for a money limit that
    nothing held is priced for, and for an hourly rate that overflows a float
    (``prices.<device>``)."""
    if key in ("prices", "resources_per_trial") or (key or "").startswith("prices."):
        options = (("--resources",) if key == "resources_per_trial"
                   else ("--prices", "--resources"))
        given = [o for o in options if getattr(args, o[2:]) is not None]
        return given[0] if given else key
    option = _OPTIONS.get(key or "")
    if key is None or option is None:
        return key
    if key.startswith("budget.") and getattr(args, option[2:].replace("-", "_")) is None:
        return f"{key} (the pilot's; plan another with {option})"
    return option


def cmd_plan(args: argparse.Namespace) -> int:
    from rung.cli.main import find_storage
    from rung.planning import plan
    from rung.planning.planner import MAX_SEEDS
    from rung.storage import SQLiteJournal
    from rung.study import Study

    workers = _ints(args.workers, "--workers")
    try:
        seeds = int(args.seeds)
    except ValueError:
        seeds = 0
    if not 1 <= seeds <= MAX_SEEDS:
        raise ConfigError(key="--seeds", message=f"expected one integer in 1..{MAX_SEEDS}, "
                          f"got {args.seeds!r}")
    # an empty table is refused as any bad one is (it is no way to say "the pilot's")
    prices = parse_table(args.prices, "--prices") if args.prices is not None else None
    resources = parse_table(args.resources, "--resources", "resources_per_trial") \
        if args.resources is not None else None
    budget = _budget(args)
    path = find_storage(args.name, args.storage)
    with SQLiteJournal(path, readonly=True) as journal:
        study = Study.load(args.name, journal, readonly=True)
        try:
            result = plan(study, workers=workers, seeds=seeds, prices=prices, budget=budget,
                          resources=resources)
        except ConfigError as e:  # a limit of the plan: named as the option that set it
            key = _option(e.key, args)
            # a price the rate overflows at keeps its own key after the option's
            message = f"{e.key}: {e.message}" if key != e.key and (e.key or "").startswith(
                "prices.") else e.message
            raise ConfigError(key=key, message=message) from None
    if args.json:
        print(json.dumps(result.to_json(), indent=1, allow_nan=False))
    else:
        print(plan_text(result))
    return 0


# --- output -----------------------------------------------------------------------------------
def _secs(x: float) -> str:
    from rung.cli.report import fmt_duration

    if not math.isfinite(x):
        return "-"
    return f"{x:.3g}s" if x < 60 else fmt_duration(x)


def _num(x: float) -> str:
    return "-" if not math.isfinite(x) else f"{x:.3g}"


def plan_text(p: Plan) -> str:
    """The plan as the CLI prints it: what was planned, the table, and the evidence."""
    from rung.cli.report import table

    limits = ", ".join(f"{k}={v:g}" for k, v in p.budget.to_json().items()
                       if isinstance(v, int | float) and not isinstance(v, bool))
    if p.budget.stop is not None:  # the simulated runs ask the study's stop rule too
        params = ", ".join(f"{k}={v}" for k, v in sorted(p.budget.stop.params.items()))
        limits = ", ".join(x for x in (limits, f"stop={p.budget.stop.name}"
                                       + (f"({params})" if params else "")) if x)
    rate = (f"{p.rate:g} per worker-hour" if p.priced
            else "no prices (cost 0; pass --prices cpu=0.04,gpu=2)")
    head = [
        f"plan for {p.study}: budget {limits or 'none'}; {p.seeds} simulated run(s) per row, "
        "median [10%-90%]",
        f"cost: {rate}; one trial holds "
        + (", ".join(f"{k}={v:g}" for k, v in sorted(p.resources.items())) or "nothing"),
    ]
    rows = [[
        r.workers,
        f"{_secs(r.wall_clock)} [{_secs(r.wall_clock_low)}-{_secs(r.wall_clock_high)}]",
        f"{r.cost:.4g} [{r.cost_low:.4g}-{r.cost_high:.4g}]",
        f"{r.worker_hours:.3g}",
        f"{100 * r.utilization:.0f}%",
        f"{_num(r.regret)} [{_num(r.regret_low)}-{_num(r.regret_high)}]",
        f"{r.trials:.0f}",
    ] for r in p.rows]
    body = table(["workers", "wall-clock", "cost", "worker-hours", "utilization",
                  "regret", "trials"], rows, indent="")
    prior = p.prior
    tail = [
        f"from {_fitted(p)}: power-law curves (c + a*step^-alpha; median "
        f"alpha {math.exp(prior.log_alpha):.3g}, noise sd {prior.noise:.3g}, "
        f"{prior.n_trials} trial(s) with >= 4 points), start-up {_secs(p.startup)} per launch, "
        f"checkpoint {_secs(p.checkpoint_seconds)}; step costs from the parameters "
        f"(log-normal spread {p.cost_spread:.2g})"
        + (f"; values rounded to multiples of 1/{p.grid}, the pilot's grid, which the stop "
           "rule reads its statistical error off" if p.grid is not None else ""),
        "regret: final value of the planned study's best trial minus the best pilot curve's "
        "(fitted, at max_step); cost counts idle workers",
    ]
    if any(r.failed for r in p.rows):
        tail.append("failed trial runs per simulated run (median): " + ", ".join(
            f"{r.failed:g} with {r.workers} worker(s)" for r in p.rows)
            + "; the pilot's trial_timeout applies to the planned study")
    if any(r.cut for r in p.rows):
        tail.append("trial runs cut by the planned max_time per simulated run (median): "
                    + ", ".join(f"{r.cut:g} with {r.workers} worker(s)" for r in p.rows)
                    + "; still running when the budget ran out, they did not fail "
                    "(trial_timeout did not end them)")
    tail += _tail_bound(p)
    tail += [f"note: {n}" for n in p.notes]
    return "\n".join([*head, "", body, "", *tail])


def _fitted(p: Plan) -> str:
    """The pilot trials the plan fitted: ``"8 pilot trials"``, or, for a pilot sampled down
    to ``MAX_FIT_TRIALS`` curves, how many of how many and how they were chosen."""
    if p.scored_trials <= p.pilot_trials:
        return f"{p.pilot_trials} pilot trials"
    return (f"{p.pilot_trials} of {p.scored_trials} pilot trials (at most {p.pilot_trials:,} "
            "curves are fitted: a uniform sample seeded by the study's seed, the best curve "
            "kept)")


def _tail_bound(p: Plan) -> list[str]:
    """The warning for rows whose wall-clock is mostly one trial run (``TAIL_BOUND``); not
    for rows whose runs the planned ``max_time`` cut (their wall-clock is that budget)."""
    from rung.planning.planner import TAIL_BOUND

    bound = [r for r in p.rows if r.longest_share >= TAIL_BOUND and not r.cut]
    if not bound:
        return []
    which = ", ".join(f"{r.workers} worker(s): {100 * r.longest_share:.0f}%" for r in bound)
    return [f"wall-clock set by one trial run ({which} of it, median): the costliest few "
            f"configurations carried to max_step decide it, and {p.pilot_trials} pilot trials "
            "sample those least well; expect a larger error there than elsewhere"]
