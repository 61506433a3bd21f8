"""The report of ``bench_plan.py``: predicted against actual wall-clock and cost per cell, the
error statistics behind it, and the reading of the last full run.

``report(records, write, held_out)`` reads the per-pilot records ``bench_plan.run_cell`` writes
(``results/plan/*.jsonl``: ``pred_*`` and ``act_*`` values, the actual runs' ``act_walls``) and
returns the Markdown of the ``bench_plan`` section (or, with ``held_out``, of its held-out
section), written into RESULTS.md when ``write``. The error of a prediction is
``|predicted - actual| / actual``; ``median_noise`` and ``sampling_floor`` are the floors any
comparison with the actual median, or with a pilot's sample, has. Nothing here runs a study.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from _results import table, write_section

from rung.benchmarks import CurveTable

HERE = Path(__file__).resolve().parent
CURVES = HERE / "curves"
WORKERS = (1, 8, 64)


def sampling_floor(task: str, rows: int, n: int, draws: int = 2000) -> float:
    """Median relative error of the mean full-curve cost of ``n`` random rows against the mean
    of all ``rows``: what a planner that knew the ``n`` pilot configurations' costs exactly
    would still miss on one worker without early stopping (the pilot is a sample)."""
    full = CurveTable(CURVES / f"{task}.npz", metric="val_error", rows=rows).seconds.sum(axis=1)
    rng = np.random.default_rng(0)
    means = np.array([full[rng.choice(len(full), n, replace=False)].mean()
                      for _ in range(draws)])
    return float(np.median(np.abs(means / full.mean() - 1.0)))


def _err(r: dict[str, Any], key: str) -> float:
    return abs(r[f"pred_{key}"] - r[f"act_{key}"]) / r[f"act_{key}"]


def median_noise(walls: list[float], draws: int = 2000) -> float:
    """Relative standard deviation of the median of ``walls`` under a bootstrap of the runs:
    how far the actual median itself is from the median of infinitely many runs."""
    w = np.asarray(walls)
    rng = np.random.default_rng(0)
    meds = np.median(w[rng.integers(0, len(w), (draws, len(w)))], axis=1)
    return float(np.std(meds) / np.median(w))


def _plan_noise(records: list[dict[str, Any]]) -> str:
    """The same bootstrap spread for the plan's own median over its simulated runs, by worker
    count (records that kept them)."""
    by_w = {w: [median_noise(r["pred_walls"]) for r in records
                if r["workers"] == w and r.get("pred_walls")] for w in WORKERS}
    if not any(by_w.values()):
        return ""
    ws = [w for w, v in by_w.items() if v]
    return (" The plan's own median, over its simulated runs, has a median spread of "
            + " / ".join(_pct(float(np.median(by_w[w]))) for w in ws) + " at "
            + " / ".join(str(w) for w in ws)
            + " workers: the Monte Carlo part of a prediction's error.")


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def tail_lines(records: list[dict[str, Any]]) -> list[str]:
    """Error and coverage of the predictions whose wall-clock the plan finds set by one trial
    run (``PlanRow.longest_share >= TAIL_BOUND``: what ``rung plan`` warns of) against the
    others (records that kept the share)."""
    from rung.planning.planner import TAIL_BOUND

    kept = [r for r in records if "pred_longest_share" in r]
    if not kept:
        return []
    parts = []
    for name, sel in (("set by one trial run", [r for r in kept
                                               if r["pred_longest_share"] >= TAIL_BOUND]),
                      ("the others", [r for r in kept if r["pred_longest_share"] < TAIL_BOUND])):
        if not sel:
            parts.append(f"{name}: none")
            continue
        err = [_err(r, "wall") for r in sel]
        cov = np.mean([r["pred_low"] <= a <= r["pred_high"] for r in sel for a in r["act_walls"]])
        ws = sorted({r["workers"] for r in sel})
        parts.append(f"{name} ({len(sel)} predictions, at {'/'.join(map(str, ws))} workers): "
                     f"median error {_pct(float(np.median(err)))}, within 15% "
                     f"{100 * np.mean(np.array(err) <= 0.15):.0f}%, the 80% interval holds "
                     f"{100 * cov:.0f}% of the actual runs")
    agree = np.mean([(r["pred_longest_share"] >= TAIL_BOUND) == (r["act_longest_share"]
                                                                  >= TAIL_BOUND) for r in kept])
    return ["Wall-clock set by one trial run (the plan's median share of its wall-clock that "
            f"its longest trial run takes, >= {TAIL_BOUND:g}: `rung plan` prints a warning for "
            "such rows): " + "; ".join(parts) + f". The plan's flag agrees with the actual "
            f"runs' (their median share, same bound) in {100 * agree:.0f}% of the predictions."]


def report(records: list[dict[str, Any]], write: bool, held_out: bool = False) -> str:
    cells: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for r in records:
        cells.setdefault((r["task"], r["method"], r["workers"]), []).append(r)
    rows = []
    for (task, method, w), rs in sorted(cells.items()):
        inside = [r["pred_low"] <= a <= r["pred_high"] for r in rs for a in r["act_walls"]]
        med_in = [r["pred_low"] <= r["act_wall"] <= r["pred_high"] for r in rs]
        rows.append([
            task, method, w, len(rs), float(np.median([r["pred_wall"] for r in rs])),
            rs[0]["act_wall"], _pct(median_noise(rs[0]["act_walls"])),
            _pct(float(np.median([_err(r, "wall") for r in rs]))),
            _pct(float(np.median([_err(r, "busy_cost") for r in rs]))),
            f"{100 * np.mean(inside):.0f}% / {100 * np.mean(med_in):.0f}%",
            f"{np.median([r['pred_util'] for r in rs]):.2f} / {rs[0]['act_util']:.2f}",
            f"{np.median([r['pred_regret'] for r in rs]):.3g} / {rs[0]['act_regret']:.3g}",
        ])
    headers = ["task", "method", "workers", "pilots", "predicted wall-clock (s)",
               "actual (s)", "noise of the actual median", "wall-clock & cost error",
               "busy-cost error", "in the 80% interval: runs / actual median",
               "utilization pred / act", "regret pred / act"]
    by_w = {w: [_err(r, "wall") for r in records if r["workers"] == w] for w in WORKERS}
    all_err = [_err(r, "wall") for r in records]
    busy_err = [_err(r, "busy_cost") for r in records]
    r0 = records[0]
    methods = sorted({r["method"] for r in records})
    by_m = {m: {w: [_err(r, "wall") for r in records if r["method"] == m and r["workers"] == w]
                for w in WORKERS} for m in methods}
    inside_all = [r["pred_low"] <= a <= r["pred_high"] for r in records for a in r["act_walls"]]
    med_in_all = [r["pred_low"] <= r["act_wall"] <= r["pred_high"] for r in records]
    cov_w = {w: np.mean([r["pred_low"] <= a <= r["pred_high"] for r in records
                         if r["workers"] == w for a in r["act_walls"]]) for w in WORKERS}
    met = np.median(all_err) <= 0.15
    noise = [median_noise(rs[0]["act_walls"]) for rs in cells.values()]
    seed_counts = sorted({len(r["act_walls"]) for r in records})
    lo, hi = seed_counts[0], seed_counts[-1]
    n_seeds = f"{lo}" if lo == hi else f"{lo}-{hi}"
    lines = [
        "Median absolute error of the predicted wall-clock (and of the cost, which counts "
        f"reserved workers: the same relative error) over all {len(records)} predictions: "
        f"**{_pct(float(np.median(all_err)))}** (goal <= 15%: **{'met' if met else 'not met'}**)"
        "; by workers: " + ", ".join(f"{w}: {_pct(float(np.median(e)))}"
                                     for w, e in by_w.items() if e)
        + f". Busy cost (busy seconds x rate): {_pct(float(np.median(busy_err)))}. Share of "
        f"predictions within 15%: {100 * np.mean(np.array(all_err) <= 0.15):.0f}%.",
        "By method (median error at 1 / 8 / 64 workers): " + "; ".join(
            f"{m}: " + " / ".join(f"{100 * np.median(e):.0f}%" for e in by_m[m].values() if e)
            for m in methods) + ".",
        f"Interval: the plan's 80% interval holds {100 * np.mean(inside_all):.0f}% of the "
        f"actual runs (goal 80%; by workers: " + ", ".join(
            f"{w}: {100 * c:.0f}%" for w, c in cov_w.items()) + ") and the actual median in "
        f"{100 * np.mean(med_in_all):.0f}% of the predictions.",
        f"Noise of the actual median ({n_seeds} study seeds; bootstrap relative "
        f"standard deviation): median {_pct(float(np.median(noise)))} over the cells, up to "
        f"{_pct(float(np.max(noise)))}." + _plan_noise(records),
        *tail_lines(records),
    ]
    floors = {t: sampling_floor(t, rows_, n) for t, rows_, n in sorted(
        {(r["task"], r["rows"], r["pilot_trials"]) for r in records})}
    lines.append(
        f"Sampling floor: the mean full-curve cost of {r0['pilot_trials']} random rows misses "
        "the table's mean by a median of " + ", ".join(
            f"{100 * f:.0f}% ({t})" for t, f in floors.items())
        + f": even exact knowledge of a {r0['pilot_trials']}-trial pilot's costs leaves about "
        "that error on the total work (random+fifo on one worker is that case).")
    lines.extend(HELD_OUT_READING if held_out else READING)
    cpu = (np.median([r["plan_cpu"] for r in records]),
           np.median([r["actual_cpu"] for r in records]))
    lines.append(
        "CPU: a pilot and its plan (3 worker counts x "
        + " or ".join(str(k) for k in sorted({r.get("plan_seeds", 5) for r in records}))
        + f" simulated runs) take a median {cpu[0]:.1f} s; the {3 * len(r0['act_walls'])} actual runs of a "
        f"cell {cpu[1]:.1f} s.")
    share = 100 * r0["pilot_trials"] / r0["trials"]
    runs = "; ".join(
        f"{m}: {len({r['pilot'] for r in records if r['method'] == m})} pilots, "
        f"{next(r.get('plan_seeds', 5) for r in records if r['method'] == m)} simulated runs "
        f"per worker count, "
        f"{next(len(r['act_walls']) for r in records if r['method'] == m)} actual study seeds"
        for m in methods)
    setup = (
        f"Setup: pilot = the study with {r0['pilot_trials']} trials ({share:.0f}% of the "
        "planned study) on 4 simulated workers (pilot seeds 1000+); plan = `rung.plan(pilot, "
        f"workers=[1, 8, 64], seeds=K, budget=Budget(n_trials={r0['trials']}), "
        "prices={'cpu': 0.04})` (only the pilot's journal is read); actual = the same spec "
        f"with {r0['trials']} trials on the table, per worker count. Runs per method: {runs} "
        "(fewer pilots for the two costlier methods to keep the CPU modest on a shared "
        "machine). "
        "Both sides measure the same things: wall-clock = the simulated clock when the last "
        "trial ended (start 0), cost = workers x wall-clock x rate, busy = the executor's "
        "busy worker-seconds, the same budget, no start-up (the table has none; the plan "
        "measures it from the pilot's resumed runs: none here, so 0). Tables: first "
        f"{r0['rows']} rows, metric "
        "val_error. Error per prediction: |predicted median - actual median| / actual median; "
        "a cell shows the median over pilots. Regret columns are not the same quantity: the "
        "plan's is against the best pilot curve (fitted, at max_step), the actual one "
        "against the table's best row."
    )
    bigger = [] if held_out else pilot_size_lines(records)
    body = "\n\n".join([setup, *lines, *bigger, table(headers, rows)])
    if write:
        write_section(HELD_OUT_SECTION if held_out else "bench_plan", body)
    return body


def pilot_size_lines(records: list[dict[str, Any]], other: Path | None = None) -> list[str]:
    """The same cells with a larger pilot (``results/plan-pilot60``, written by ``--pilot-trials
    60 --out``), paired with ``records`` by (task, method, workers, pilot seed): the median
    error of each, by workers, and a Wilcoxon signed-rank p on the paired absolute errors."""
    other = other or HERE / "results" / "plan-pilot60"
    big = [json.loads(ln) for f in sorted(other.glob("*.jsonl"))
           for ln in f.read_text().splitlines() if ln] if other.is_dir() else []
    if not big:
        return []
    from scipy.stats import wilcoxon

    mine = {(r["task"], r["method"], r["workers"], r["pilot"]): r for r in records}
    pairs = [(mine[k], r) for r in big
             if (k := (r["task"], r["method"], r["workers"], r["pilot"])) in mine
             and mine[k]["act_walls"] == r["act_walls"]]  # the same actual runs
    if not pairs:
        return []
    n_small, n_big = pairs[0][0]["pilot_trials"], pairs[0][1]["pilot_trials"]
    cells = sorted({(a["task"], a["method"]) for a, _ in pairs})

    def part(sel: list[tuple[dict[str, Any], dict[str, Any]]]) -> str:
        a = [_err(x, "wall") for x, _ in sel]
        b = [_err(y, "wall") for _, y in sel]
        differ = any(x != y for x, y in zip(a, b, strict=True))
        p = wilcoxon(a, b).pvalue if len(sel) > 1 and differ else 1.0
        return (f"{_pct(float(np.median(a)))} -> {_pct(float(np.median(b)))} "
                f"(p = {p:.2g}, {len(sel)} pairs)")

    by_w = "; ".join(f"{w} worker{'s' if w > 1 else ''} " + part([q for q in pairs if q[0]["workers"] == w])
                     for w in WORKERS if any(q[0]["workers"] == w for q in pairs))
    by_m = "; ".join(f"{m} " + part([q for q in pairs if q[0]["method"] == m])
                     for m in sorted({a["method"] for a, _ in pairs}))
    within = 100 * np.mean([_err(y, "wall") <= 0.15 for _, y in pairs])
    return [
        f"Pilot size: the same cells planned from a {n_big}-trial pilot "
        f"({100 * n_big / pairs[0][1]['trials']:.0f}% of the study; `--pilot-trials {n_big} "
        f"--out results/plan-pilot{n_big}`) instead of {n_small}, paired by pilot seed (the "
        f"same actual runs; {len(cells)} (task, method) cells: "
        + ", ".join(f"{t} {m}" for t, m in cells) + "). Median error of the predicted "
        f"wall-clock, {n_small} -> {n_big} trials (Wilcoxon signed-rank p): overall "
        + part(pairs) + f"; {by_w}; by method: {by_m}. Share within 15% with the larger "
        f"pilot: {within:.0f}%."
    ]


#: the reading of the last full run (written after it; the numbers above are recomputed)
READING: list[str] = [
    "Reading. Against the previous planner, paired by pilot (the same pilots and actual runs; "
    "Wilcoxon signed-rank on the absolute errors): 20.0% -> 18.2% overall (p = 0.35, not "
    "significant); 1 worker 14.7% -> 14.8%, 8: 16.2% -> 15.6%, 64: 32.3% -> 32.7%. By method "
    "(1 / 8 / 64 workers): random+asha 16.7 / 15.2 / 39.5% -> 14.8 / 16.6 / 39.1% (overall "
    "21.7% -> 19.2%); random+fifo unchanged to the digit (11.9 / 14.4 / 22.7%: FIFO runs "
    "every trial to max_step, so neither the curves nor the extrapolated late steps matter); "
    "tpe+asha 19.7 / 25.6 / 37.1% -> 28.9 / 23.7 / 45.3% (worse at one worker, p = 0.065 over "
    "4 pilots x 4 tables: TPE learns from the simulated curves, so the curve model changes "
    "which configurations it tries). What did change is the interval: it held 67% of the "
    "actual runs, now 86% (random+asha 65% -> 85%, random+fifo 74% -> 88%, tpe+asha 64% -> "
    "85%). What changed in the planner: (i) an 80% prediction interval from the simulated "
    "runs' order statistics (Wilks 1941) instead of their 10%-90% quantiles, which hold a new "
    "exchangeable run only about 65% of the time with 10 runs, 72% with 20; (ii) the "
    "simulated runs alternate two curve models, the fitted power law and a donor "
    "continuation (a configuration keeps its pilot trial's measured scores and goes on like "
    "one of the three nearest pilot trials measured further, by a ratio towards the metric's "
    "floor: the plateau-then-drop shape is kept and no value leaves the metric's range), so "
    "the interval carries the curve model's uncertainty; (iii) bootstrap replicates refit the "
    "step profile on their resample, so it carries the uncertainty of late steps measured by "
    "one to three trials; (iv) power-law curves clipped to the metric's range.",
    "Ablations (random+asha, 8 pilots x 4 tables, 10 simulated runs unless said; median error "
    "over the 96 predictions; the same pilots): previous planner 21.7%; power law only (with "
    "(iii), (iv)) 22.2%; donor continuation only 20.5% (8 workers 18.8%, 64: 43.8%); both "
    "alternating 18.8%; both without (iii) 19.2%; with 20 runs, power law only 22.1% and both "
    "19.2% (paired p = 0.76). No variant differs significantly from another (every paired "
    "p >= 0.2): the curve model is not what decides the error here. The alternation is kept "
    "for the interval (and the lowest median). Later-step costs (idea (a)): the step profile "
    "was already a per-step multiplier pooled over every pilot trial timed there (a two-way "
    "model of log times). Against the table's own step times of the same configurations "
    "(32 pilots), the predicted cost of the steps a pilot trial did not run is 0.90 times the "
    "truth (geometric mean; 10%-90% of pilots 0.66-1.42); by block of steps 10-27: 0.97, "
    "28-81: 0.93, 82-243: 0.85 (0.53-1.37). No bias a smooth function of the step would "
    "remove (the table's step time keeps falling more and more slowly, so a curve fitted to "
    "the early steps over-extrapolates the fall); the spread comes from the one to three "
    "pilot trials that ran the late steps, and (iii) puts it in the interval.",
    "The 15% goal is not met. What limits it, measured: (1) the pilot is a sample: the mean "
    "full-curve cost of 30 random rows misses the table's mean by 12-22% (floor above); the "
    "one-worker error (14.8%) and the busy-cost error (14.4%, the total work) sit at that "
    "floor. (2) At 64 workers each pilot gives a different prediction: for random+asha the "
    "standard deviation of log predicted wall-clock over the 8 pilots of a table is 0.31 "
    "(hgb-magic) to 0.77 (mlp-mnist1d), a factor 1.4-2.2, of which the plan's own Monte Carlo "
    "spread (20 runs) is 0.23 there; the actual median is itself uncertain by 12% "
    "there. The wall-clock of 64 workers is decided by whether and when ASHA carries one or "
    "two trials to max_step: on hgb-german 15 of the 20 actual runs end at 0.22-0.30 s and "
    "5 at 0.46-2.0 s. `--diagnose 64` (random+asha, 4 pilots, 10 runs) with this planner: "
    "hgb-german (actual 0.272 s) per-pilot medians 0.16-0.75 s, 0.46-0.56 s with the table's "
    "own step costs, 0.23-0.44 s with its own curves; hgb-ring (1.09 s) 1.06-2.22 s, "
    "0.89-1.11 s and 0.92-1.22 s: either true half alone fixes ring, so the error is in how "
    "the plan's curves and costs combine on the few promoted trials. (3) The planned search "
    "is itself uncertain: TPE on mlp-mnist1d takes 102 s to 2,421 s on one worker over the "
    "20 study seeds (its median is uncertain by 44%); the four pilots predict 82-253 s against "
    "a 422 s median, and the cell's median prediction is below the actual at every worker "
    "count (errors 53-85%). With random search and FIFO the error is 12% / 14% / 23%.",
    "Tried and not adopted: (a) templates continued by an additive shift of the nearest "
    "well-observed pilot trial (earlier run): the same median for random+asha (21.6% against "
    "21.7%), negative error rates on hgb-ring (the donor continuation above replaces the "
    "shift by a ratio towards the floor). (b) Plug-in point estimate: the median over runs on "
    "the pilot as measured (no bootstrap) instead of over the bootstrap replicates "
    "(`--plug-in`, random+asha, 20 runs): 19.2% -> 18.7% overall, 64 workers 39.1% -> 34.9% "
    "(mean 58.9% -> 45.5%, p = 0.087), 8 workers 16.6% -> 19.7%; not significant, and it "
    "doubles the simulated runs (the interval still needs the bootstrap ones). (c) A "
    "configuration keeping its curve template's cost residual (curve and cost paired): "
    "`--diagnose 64` on hgb-ring gave 1.82-2.48 s against 1.09 s (no better than 1.06-2.22 s)."
    " (d) A configuration's curve drawn among its 3 nearest pilot trials instead of the "
    "nearest (`--curve-neighbours 3`): about 7 planned configurations share each pilot "
    "trial's curve, a cluster ASHA ranks together; at 64 workers the plan carried a mean of "
    "4.8 (power law) and 7.0 (donor) trials to max_step on hgb-ring against 3.3 on the table "
    "(2.1 / 2.4 against 2.2 on hgb-german, 4.0 / 2.8 against 2.8 on hgb-magic; 4 pilots x 10 "
    "runs, 10 actual seeds), 5.2 / 5.3 with the draw. random+asha (8 pilots, 20 runs): mean "
    "error 35.7% -> 31.2% (better in 60% of predictions, p = 0.019), 64 workers 39.1% -> "
    "27.5% (p = 0.034), but median 19.2% -> 20.6% (8 workers 16.6% -> 20.8%); tpe+asha (4 "
    "pilots): 28.6% -> 35.0% (p = 0.47); both ASHA methods together 22.6% -> 23.3% (mean "
    "35.3% -> 33.5%, p = 0.16): not adopted. (e) Pilot size: 30 trials, 15% of the planned 200, kept. A pilot twice "
    "as large (60 trials, the Pilot size paragraph below: 4 pilots x 4 tables, random+fifo "
    "and random+asha) helps where floor (1) is the error, random+fifo (13.6% -> 8.9%), and "
    "not where the plan's model of the scheduler is: random+asha 16.5% -> 22.6% (p = 0.14), "
    "64 workers 28.5% -> 35.8%. So the error left with ASHA is not the pilot's sample but how "
    "the plan's curves and costs decide promotions ((2) above); a bigger pilot is no remedy "
    "for it, and the 15% goal is not a matter of pilot size.",
    "Runs (`--no-write` into results/plan, then `--report`): `OMP_NUM_THREADS=1 nice -n 10 "
    "python benchmarks/bench_plan.py --tasks hgb-german hgb-magic hgb-ring mlp-mnist1d "
    "--methods M --pilots P --plan-seeds R --seeds 20` with (M, P, R) = (random+asha, 8, 20), "
    "(random+fifo, 4, 10), (tpe+asha, 4, 10): fewer pilots and runs for the two costlier "
    "methods, other benchmarks sharing the 2 cores. The ablations: the same command for "
    "random+asha with `--out DIR` and `--curve-models`, `--no-refit-costs`, `--plug-in`, "
    "`--curve-neighbours`.",
    "Reading (2026-12-04). Run again with the same pilots and seeds to record each run's "
    "longest trial run (every prediction and actual median reproduced to the last digit): "
    "where the plan's own runs spend most of their wall-clock in one trial run (107 "
    "predictions, all at 8 and 64 workers) the median error is 27%; elsewhere (85 at 1 and 8 "
    "workers) 15%. The held-out tables split the same way, more sharply (45% against 13%).",
]


HELD_OUT_SECTION = "bench_plan: held-out tables"
HELD_OUT_READING: list[str] = [
    "The planner was built and its defaults chosen on the tables of the section `bench_plan`; "
    "these tables (`make_curves.HELD_OUT`) were built afterwards and check it out of sample "
    "(`--held-out`: results in `results/plan-heldout/`).",
    "Reading (2026-12-03, session 17). Out of sample the planner is worse than on the tables "
    "it was built on: median error 26% over 228 predictions against 18% over 192 there, and "
    "its 80% interval holds 76% of the actual runs against 86%. Random search with FIFO stays "
    "accurate (7% / 5% / 19% at 1 / 8 / 64 workers, against 12% / 14% / 23% there): with every "
    "trial run to max_step, the error is the pilot's sample of step costs, and these tables' "
    "sampling floors (11-20%) are no worse. The ASHA methods are where it fails: random+asha "
    "22% / 25% / 63% (15% / 17% / 39% there) and tpe+asha 26% / 63% / 52%. The direction "
    "differs by table, so it is not a bias a constant would fix: on the two late bloomers "
    "(hgb-pima, hgb-contraceptive; most rows tie at the first rounds) the plan over-predicts "
    "the wall-clock of 8 and 64 workers (hgb-pima random+asha at 64 workers: 0.42 s against "
    "0.17 s, every pilot above the actual: `--diagnose 64` gives 0.24-0.57 s per pilot, and "
    "0.27-0.52 s with the table's own step costs, 0.15-0.48 s with its own curves), on "
    "hgb-segment it under-predicts it (5.1 s against 15.3 s at 64 workers). As on the tuned "
    "tables, the wall-clock of many workers under ASHA is decided by which few trials are "
    "carried to max_step and what they cost, and the plan's curves and costs, each fitted from "
    "30 pilot trials, do not reproduce that; a bigger pilot did not help there (section "
    "`bench_plan`). Not run: hgb-contraceptive with random+fifo (cut for time; 14 of the 15 "
    "cells are here).",
    "Reading (2026-12-04). Run again with the same pilots and seeds to record each run's "
    "longest trial run (every prediction and actual median reproduced to the last digit): the "
    "error splits on it. Where the plan's own runs spend most of their wall-clock in one trial "
    "run (133 predictions, all at 8 and 64 workers), the median error is 45% and the interval "
    "holds 74% of the actual runs; everywhere else (95 predictions at 1 and 8 workers) the "
    "median error is 13%, within the goal, and the interval holds 80%. The plan's flag agrees "
    "with the actual runs' in 95% of the predictions, so the plan itself tells which of its "
    "figures is a rough one: `rung plan` prints a warning for those rows. There the "
    "wall-clock is the duration of the costliest configuration ASHA carries to max_step, an "
    "extreme of the cost and curve distributions that 30 pilot trials sample least well.",
]
