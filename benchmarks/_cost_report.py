"""The report of ``bench_cost.py`` part (a): each stopping rule's compute saved against the
regret it adds, per table, and the text of its RESULTS.md sections.

``report(cells, n_trials)`` reads the cells ``bench_cost.run_cell`` builds (one per table and
seed: the whole budget's outcome under ``"full"``, each rule's under its method name, with
``saving``, ``regret`` and ``trials``) and returns the Markdown table and the goal lines (>= 40%
compute saved for <= 10% more regret); ``describe`` and ``notes`` head and close the section
(``SECTION``, or ``HELD_OUT_SECTION`` for the held-out tables). Nothing here runs a search.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
from _results import table


def replay_note(cs: list[dict[str, Any]]) -> str:
    """How the cells' trajectories used the table: distinct rows per search and, for a fresh
    replay, how far the rows taken lie from the configurations proposed (unit cube; each cell
    keeps its search's median distance to the row taken and to the nearest row)."""
    if not cs or "distinct_rows" not in cs[0]:
        return ""
    rows = [c["distinct_rows"] for c in cs]
    text = f"; {min(rows)} to {max(rows)} distinct rows per search of {len(cs[0]['traj_rows'])}"
    d = np.array([c["distance"] for c in cs if c.get("distance")])
    if len(d):
        text += (f"; the row taken lies a median {np.median(d[:, 0]):.2f} from the "
                 f"configuration (its nearest row {np.median(d[:, 1]):.2f}; medians of the "
                 "searches' medians)")
    return text


METHODS = ("rung", "rung-measured", "optuna", "optuna-se", "ray", "ray-final", "hindsight")


def report(cells: list[dict[str, Any]], n_trials: int) -> str:
    from scipy.stats import mannwhitneyu

    rows: list[list[object]] = []
    notes: list[str] = []
    scaled = sorted({k for c in cells for k in c
                     if k.startswith("rung@") and not k.endswith("_evidence")},
                    key=lambda k: -float(k[5:]))
    methods = (*METHODS[:2], *scaled, *METHODS[2:])
    summary: dict[str, list[tuple[float, float, float]]] = {m: [] for m in methods}
    for task in dict.fromkeys(c["task"] for c in cells):
        cs = [c for c in cells if c["task"] == task]
        n = cs[0]["n_val"]
        full_r = [c["full"]["regret"] for c in cs]
        med_full = float(np.median(full_r))
        q1, q3 = (float(x) * n for x in np.percentile(full_r, [25, 75]))
        notes.append(
            f"- {task}: {n} validation examples; the whole budget's incumbent has a binomial "
            f"error of {np.median([c['se_full'] for c in cs]) * n:.1f} examples (median); its "
            f"regret is {med_full * n:.1f} examples (median; quartiles {q1:.1f} to {q3:.1f}, "
            f"range {min(full_r) * n:.0f} to {max(full_r) * n:.0f} over seeds), so 10% more "
            f"regret is {0.1 * med_full * n:.2f} examples" + replay_note(cs))
        for m in methods:
            got = [(c[m], c["full"]) for c in cs if m in c]
            if not got:
                continue
            sav = float(np.median([g["saving"] for g, _ in got]))
            reg = [g["regret"] for g, _ in got]
            med = float(np.median(reg))
            # the measure: the median regret against the whole budget's median regret
            # (when that is 0, any regret is infinitely more, none is 0% more)
            if med_full > 0:
                more = (med - med_full) / med_full
            else:
                more = 0.0 if med == 0 else float("inf")
            # per seed, what stopping cost against the same seed's whole budget (>= 0: the
            # rule's trials are the whole run's first ones), in validation examples
            extra = [(g["regret"] - f["regret"]) * n for g, f in got]
            stops = sum(1 for g, _ in got if g["saving"] > 0)
            try:
                p = float(mannwhitneyu(reg, full_r, alternative="two-sided").pvalue)
            except ValueError:
                p = float("nan")
            trials = float(np.median([g["trials"] for g, _ in got]))
            rows.append([task, m, f"{stops}/{len(got)}", f"{100 * sav:.0f}%", trials,
                         f"{med_full:.4f} ({med_full * n:.1f})", f"{med:.4f} ({med * n:.1f})",
                         f"{100 * more:+.0f}%" if np.isfinite(more) else "inf",
                         f"{np.median(extra):.1f} / {np.mean(extra):.1f} / {max(extra):.0f}",
                         f"{p:.2f}"])
            summary[m].append((sav, more, float(np.median(extra))))
    head = ["table", "rule", "stopped early (seeds)", "compute saved (median)",
            "trials run (median)", "regret, whole budget (examples)", "regret, rule (examples)",
            "more regret", "extra regret per seed, examples (median / mean / max)",
            "Mann-Whitney p"]
    lines = [*notes, "", table(head, rows), ""]
    for m, xs in summary.items():
        if xs and m != "hindsight":
            ok = sum(1 for s, r, _ in xs if s >= 0.4 and np.isfinite(r) and r <= 0.10)
            lines.append(f"- {m}: goal (>= 40% saved for <= 10% more regret) met on {ok} of "
                         f"{len(xs)} tables; >= 40% saved on "
                         f"{sum(1 for s, _, _ in xs if s >= 0.4)}")
    return "\n".join(lines)


SECTION = "Cost: stop-searching rule (bench_cost part a)"
HELD_OUT_SECTION = "Cost: stop-searching rule on the held-out tables (bench_cost part a)"
REPLAYS = {
    "fresh": "the table replayed without replacement (`--replay fresh`: a configuration takes "
             "the nearest row no earlier trial of the search took, so every trial is a new row)",
    "nearest": "the table replayed by nearest row, repeats allowed (`--replay nearest`)",
}


def notes(args: argparse.Namespace) -> str:
    return "\n\n" + args.notes.read_text().strip() if args.notes else ""


def describe(cells: list[dict[str, Any]], args: argparse.Namespace, wall: str) -> str:
    return (
            f"Part (a) of issue 17: each rule stops a TPE search of {args.trials} trials (FIFO, "
            "one worker, every trial trained to max_step) on the same trajectory per seed; "
            + REPLAYS[cells[0].get("replay", "nearest")] + "; "
            "compute = the tables' recorded seconds; regret = best final val_error found - "
            "the table's best, also in validation examples (x n: the tables' error rates are "
            "counts on the last third of each data set, make_curves.py). Rows per table: "
            + ", ".join(f"{t} {next(c['rows'] for c in cells if c['task'] == t)}"
                        for t in dict.fromkeys(c["task"] for c in cells))
            + f". Seeds: {args.seeds}. Rules: `rung` = `Budget(stop=\"auto\")`, the "
            "regret bound of Makarova et al. 2022 (its GP fitted afresh at every check) against "
            "the binomial error sqrt(p(1-p)/n) of the incumbent's rate p, n read off the values' "
            "grid (the rule's default); `rung-measured` = `StopRule(lattice=False)`, the same bound against "
            "the noise measured from the history (GP noise, curve jitter: the previous "
            "default). Optuna 5.0's Terminator: RegretBoundEvaluator against its "
            "MedianErrorEvaluator (`optuna`) or against the same binomial error (`optuna-se`), "
            "min_n_trials=20. Ray Tune's ExperimentPlateauStopper is re-implemented "
            "(it stopped at the same trial and step as Ray 2.60's own class on 12 trajectories "
            "checked): std=0.001, top=10, patience=0 (its defaults); `ray` feeds "
            "every step's result as Ray does, `ray-final` only each trial's final one. "
            "Extra regret per seed = the rule's regret - the whole budget's on the same seed "
            f"(never negative). Wall time {wall}.\n\n")
