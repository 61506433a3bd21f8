"""The batch-placement report of ``bench_searchers.py --merge ... --section batch``.

Three criteria (issue 14, item 6), each over the rows a merge holds:

1. *Equal information*: with 8 workers, regret at ``k`` trials within 1.5x of sequential at
   ``k - 7`` (the 8-worker run's trial ``k`` is decided knowing ``k - 8`` results, as the
   sequential trial ``k - 7`` is).
2. *Against Optuna with 8 in flight*: rung's gp and tpe with 8 workers against Optuna's
   GPSampler and TPESampler driven with 8 trials in flight on the same schedule.
3. *Large batches*: with 64 and 256 workers, gp and tpe against random search at equal trials.

Each line compares medians over seeds and gives the one-sided Mann-Whitney U p-value that the
left side's regrets exceed the bound (small: worse beyond seed noise).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

LAG = 7
PWorse = Callable[[list[float], list[float], float], float]


def _cell(v: Mapping[str, Any], k: int) -> str:
    q = v.get(str(k))
    return "-" if q is None else f"{q['median']:.3g} [{q['q25']:.3g}, {q['q75']:.3g}]"


def _compare(
    a: Mapping[str, Any] | None, ka: int, b: Mapping[str, Any] | None, kb: int, factor: float,
    p_worse: PWorse,
) -> tuple[bool, float, float, float] | None:
    """(met, median a, median b, p) for "median of a at ka <= factor x median of b at kb"."""
    if a is None or b is None or str(ka) not in a or str(kb) not in b:
        return None
    ma, mb = a[str(ka)]["median"], b[str(kb)]["median"]
    p = float("nan")
    ra, rb = a.get("regrets", {}), b.get("regrets", {})
    if str(ka) in ra and str(kb) in rb:
        p = p_worse(ra[str(ka)], rb[str(kb)], factor)
    return ma <= factor * mb, ma, mb, p


def _verdict(r: tuple[bool, float, float, float]) -> str:
    met, ma, mb, p = r
    return f"{'yes' if met else 'NO'} ({ma:.3g} vs {mb:.3g}; p(worse) = {p:.2g})"


def batch_report(qual: Mapping[str, Any], p_worse: PWorse) -> str:
    """Markdown for the three criteria from rebased rows ``problem/method/wN`` (per-seed
    ``regrets`` where kept)."""
    rows: dict[tuple[str, str, int], Mapping[str, Any]] = {}
    for key, v in qual.items():
        p, m, w = key.split("/")
        rows[(p, m, int(w[1:]))] = v
    problems = sorted({p for p, _, _ in rows})
    out: list[str] = []
    tally: dict[str, list[int]] = {}

    def count(name: str, r: tuple[bool, float, float, float]) -> None:
        t = tally.setdefault(name, [0, 0, 0])
        t[0] += int(r[0])
        t[1] += int(r[0] or not r[3] < 0.05)
        t[2] += 1

    out.append("**1. 8 workers at k within 1.5x of sequential at k - 7** (equal information):\n")
    for m in ("rung-gp", "rung-tpe", "optuna-gp", "optuna-tpe"):
        for p in problems:
            for k in (25, 50, 100):
                r = _compare(rows.get((p, m, 8)), k, rows.get((p, m, 1)), k - LAG, 1.5, p_worse)
                if r is not None:
                    out.append(f"- {m} on {p} at {k} vs {k - LAG}: {_verdict(r)}")
                    count(f"1. {m}", r)
    out.append("\n**2. rung with 8 workers <= Optuna with 8 trials in flight** (same schedule):\n")
    for ours, theirs in (("rung-gp", "optuna-gp"), ("rung-tpe", "optuna-tpe")):
        for p in problems:
            for k in (25, 50, 100):
                r = _compare(rows.get((p, ours, 8)), k, rows.get((p, theirs, 8)), k, 1.0,
                             p_worse)
                if r is not None:
                    out.append(f"- {ours} <= {theirs} on {p} at {k}: {_verdict(r)}")
                    count(f"2. {ours} vs {theirs}", r)
    large = sorted({w for _, _, w in rows if w > 8})
    if large:
        out.append("\n**3. Large batches: gp and tpe <= random at equal trials** (simple regret, "
                   "median [IQR] over seeds; the first wave is every method's initial design):\n")
        for w in large:
            ks = sorted({int(k) for (p, m, ww), v in rows.items() if ww == w
                         for k in v if k.isdigit()})
            out.append(f"\n{w} workers:\n")
            out.append("| problem | method | " + " | ".join(str(k) for k in ks) + " | run time |")
            out.append("|---|---|" + "---|" * (len(ks) + 1))
            for p in problems:
                for m in ("rung-random", "rung-tpe", "rung-gp"):
                    v = rows.get((p, m, w))
                    if v is not None:
                        sec = f"{v['seconds']:.0f} s" if "seconds" in v else "-"
                        out.append(f"| {p} | {m} | " + " | ".join(_cell(v, k) for k in ks)
                                   + f" | {sec} |")
            out.append("")
            for m in ("rung-gp", "rung-tpe"):
                for p in problems:
                    for k in ks:
                        r = _compare(rows.get((p, m, w)), k, rows.get((p, "rung-random", w)), k,
                                     1.0, p_worse)
                        if r is not None:
                            out.append(f"- {m} <= rung-random, {w} workers, on {p} at {k}: "
                                       f"{_verdict(r)}")
                            count(f"3. {m} vs random, {w} workers", r)
    out.append("\nTally (met by the medians / not worse beyond seed noise, p(worse) >= 0.05 or "
               "met / lines):\n")
    out.extend(f"- {name}: {a} / {b} / {n}" for name, (a, b, n) in tally.items())
    return "\n".join(out) + "\n"
