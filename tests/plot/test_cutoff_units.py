"""The thresholds read back from decisions' reasons (``rung.plot._cutoffs``,
``rung.analysis_frames.rung_cutoffs``) are the values the scheduler compared against, in the
objective's own units, whether the reasons quote the metric (``"cutoff accuracy=0.912"``) or,
in journals written before, the lower-is-better score (``"cutoff score -0.912"``).

The expected thresholds are recomputed from the journal's results alone (ASHA: the
``max(1, floor(n / 3))``-th best accuracy at the rung when the decision was taken; the median
rule: the median of the other trials' running-average accuracies), never from the reasons."""

from __future__ import annotations

import json
import math
import statistics
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import rung
from rung.analysis_frames import rung_cutoffs, study_fold
from rung.core import Reply, ResultReported
from rung.core.components import Scheduler
from rung.core.records import Objective
from rung.plot._cutoffs import decision_cutoffs, threshold_value
from rung.storage import MemoryJournal
from rung.storage.codec import from_body

#: journals written by rung before reasons quoted the metric (studies "asha", "median",
#: "curve"; ``Objective("accuracy", "max")``)
OLD = Path(__file__).parents[1] / "core" / "journal_old_reasons.json"


class Accuracy:
    """accuracy rises with the step towards ``1 - (x - 0.3)^2`` (maximized); the benchmark the
    old journals were simulated on."""

    def __init__(self, max_step: int) -> None:
        self.max_step = max_step

    def evaluate(self, params: Mapping[str, Any], step: int) -> tuple[dict[str, float], float]:
        x = params["x"]
        acc = 1.0 - (x - 0.3) ** 2 - 0.5 / step + 0.02 * math.sin(9 * x + step)
        return {"accuracy": round(acc, 4)}, 1.0 + x


SPACE = rung.SearchSpace({"x": rung.Float(0.0, 1.0)})
ACC = Objective("accuracy", "max")


def old_study(name: str) -> rung.Study:
    st = json.loads(OLD.read_text())[name]
    j = MemoryJournal()
    j.create_study(name, st["spec"])
    j.append(name, [from_body(k, b) for k, b in st["records"]])
    return rung.Study.load(name, j)


def new_study(name: str, scheduler: Scheduler, max_step: int, n: int) -> rung.Study:
    s = rung.Study.create(name, SPACE, ACC, searcher="random", scheduler=scheduler,
                          max_step=max_step, budget=rung.Budget(n_trials=n), seed=1,
                          storage=MemoryJournal())
    return s.simulate(Accuracy(max_step), n_workers=3)


def stops(study: rung.Study) -> list[tuple[int, int, str, dict[int, dict[int, float]]]]:
    """Each stop decision: ``(trial, step, reason, accuracies so far by trial and step)``."""
    seen: dict[int, dict[int, float]] = defaultdict(dict)
    out = []
    for r in study.journal.read(study.name):
        if isinstance(r, ResultReported):
            seen[r.trial_id][r.step] = float(r.metrics["accuracy"])
        elif isinstance(r, Reply) and r.decision.action.value == "stop":
            out.append((r.trial_id, r.step, r.decision.reason,
                        {t: dict(v) for t, v in seen.items()}))
    return out


def asha_thresholds(study: rung.Study) -> dict[int, list[float]]:
    """The cutoff each ASHA stop compared against, per rung step, in decision order."""
    out: dict[int, list[float]] = defaultdict(list)
    for _, step, _, acc in stops(study):
        at = sorted((v[step] for v in acc.values() if step in v), reverse=True)
        out[step].append(at[max(1, len(at) // 3) - 1])
    return out


def median_thresholds(study: rung.Study) -> dict[int, list[float]]:
    """The median each stop of the median rule (Vizier's) compared against."""
    out: dict[int, list[float]] = defaultdict(list)
    for tid, step, _, acc in stops(study):
        avgs = [statistics.fmean(a for s, a in v.items() if s <= step)
                for t, v in acc.items() if t != tid and step in v]
        out[step].append(statistics.median(avgs))
    return out


def assert_read_back(study: rung.Study, expected: dict[int, list[float]]) -> None:
    assert expected, "the scheduler stopped trials"
    h, jf = study.history, study_fold(study)
    cut = decision_cutoffs(h, jf)
    assert set(cut) == set(expected)
    for step, values in expected.items():
        c = cut[step]
        assert c.latest == pytest.approx(values[-1], abs=1e-6)  # 6 significant digits
        assert c.low == pytest.approx(min(values), abs=1e-6)
        assert c.high == pytest.approx(max(values), abs=1e-6)
        assert c.n == len(values)
    steps = sorted({*expected, h.max_step})
    assert rung_cutoffs(h, jf, steps) == {s: cut[s].latest for s in expected}


def test_new_reasons_quote_accuracies_and_read_back_as_the_applied_cutoffs() -> None:
    s = new_study("asha", rung.ASHA(3), 9, 14)
    reasons = [r for _, _, r, _ in stops(s)]
    assert all("(cutoff accuracy=0." in r for r in reasons), reasons
    assert_read_back(s, asha_thresholds(s))
    assert all(0 < v < 1 for c in decision_cutoffs(s.history, study_fold(s)).values()
               for v in (c.low, c.high))


def test_old_reasons_in_scores_read_back_as_accuracies() -> None:
    s = old_study("asha")
    reasons = [r for _, _, r, _ in stops(s)]
    assert reasons and all("(cutoff score -0." in r for r in reasons), reasons
    assert_read_back(s, asha_thresholds(s))


def test_median_rule_thresholds_new_and_old() -> None:
    new = new_study("median", rung.MedianStoppingRule(min_trials=2), 6, 10)
    assert all(r.startswith("best accuracy=") for _, _, r, _ in stops(new))
    assert_read_back(new, median_thresholds(new))
    old = old_study("median")
    assert all(r.startswith("best score -") for _, _, r, _ in stops(old))
    assert_read_back(old, median_thresholds(old))


def test_the_old_and_new_journal_of_one_run_give_the_same_cutoffs() -> None:
    """The fixture's run, simulated again: the same decisions, other words, same cutoffs."""
    for name, sched, max_step, n in (("asha", rung.ASHA(3), 9, 14),
                                     ("median", rung.MedianStoppingRule(min_trials=2), 6, 10)):
        old, new = old_study(name), new_study(name, sched, max_step, n)
        assert [(t, s) for t, s, _, _ in stops(old)] == [(t, s) for t, s, _, _ in stops(new)]
        assert [r for _, _, r, _ in stops(old)] != [r for _, _, r, _ in stops(new)]
        assert decision_cutoffs(old.history, study_fold(old)) == \
            decision_cutoffs(new.history, study_fold(new))


def test_learning_curve_bars_of_a_maximized_study_old_and_new() -> None:
    pytest.importorskip("matplotlib")
    from rung import plot as P

    for s in (new_study("asha", rung.ASHA(3), 9, 14), old_study("asha")):
        expected = asha_thresholds(s)
        ax = P.learning_curves(s).axes[0]
        bars: dict[int, list[float]] = {}
        for line in ax.lines:
            gid = line.get_gid() or ""
            if gid.startswith("cutoff-") and gid[len("cutoff-"):].isdigit():
                bars[int(gid[len("cutoff-"):])] = np.asarray(line.get_ydata()).tolist()
        assert set(bars) == set(expected)
        for step, ys in bars.items():
            assert ys == pytest.approx([expected[step][-1]] * 2, abs=1e-6)


@pytest.mark.parametrize(
    ("reason", "objective", "value"),
    [
        # today's reasons: the metric's value, as it is
        ("rank 5/9 at rung 1 (step 3): not in the top 1/3 (cutoff accuracy=0.912)", ACC, 0.912),
        ("rank 5/9 at rung 1 (step 3): not in the top 1/3 (cutoff loss=0.52)",
         Objective("loss"), 0.52),
        ("rank 2/2 at rung 0 (step 1): not in the top 1/2 (cutoff loss=-1.5e-05); the places "
         "of its tied value are taken", Objective("loss"), -1.5e-05),
        ("best accuracy=0.5 by step 4 is worse than the median accuracy=0.61 of 7 other "
         "trials' running averages at step 4", ACC, 0.61),
        ("best acc(val)=0.5 by step 4 is worse than the median acc(val)=0.61 of 2 completed "
         "trials at step 4 (Optuna's MedianPruner)", Objective("acc(val)", "max"), 0.61),
        ("rank 2/2 at rung 0 (step 1): not in the top 1/3 (cutoff val loss=0.3)",
         Objective("val loss"), 0.3),
        # a metric called "score": the new form has "=", the old one a space
        ("rank 2/2 at rung 0 (step 1): not in the top 1/3 (cutoff score=0.9)",
         Objective("score", "max"), 0.9),
        # journals written before: lower-is-better scores, mapped back through the objective
        ("rank 2/2 at rung 0 (step 1): not in the top 1/3 (cutoff score -0.9)",
         Objective("score", "max"), 0.9),
        ("rank 5/9 at rung 1 (step 3): not in the top 1/3 (cutoff score -0.912)", ACC, 0.912),
        ("rank 5/9 at rung 1 (step 3): not in the top 1/3 (cutoff score 0.52)",
         Objective("loss"), 0.52),
        ("best score -0.5 by step 4 is worse than the median -0.61 of 7 other trials' "
         "running averages at step 4", ACC, 0.61),
        ("best score 0.9 by step 4 is worse than the median 0.61 of 7 other trials' running "
         "averages at step 4", Objective("loss"), 0.61),
        # no threshold, or none that is a number
        ("no longer in its bracket (not promoted)", ACC, None),
        ("not in the top 1/3 (cutoff score nan)", ACC, None),
        ("not in the top 1/3 (cutoff accuracy=nan)", ACC, None),
        ("rank 1/3 at rung 0 (step 1), predicted final accuracy=0.7: paused (top 1 of 3, "
         "places used)", ACC, None),
    ],
)
def test_threshold_value(reason: str, objective: Objective, value: float | None) -> None:
    assert threshold_value(reason, objective) == value
