"""The Syne Tune migration guide (``docs/migrate-syne-tune.md``), its scheduler rows and decision
rules: each rung object the page names stores what the page says, and where the page compares a
decision rule of rung's with Syne Tune 0.16.0's, the Syne Tune rule is written out below as
0.16.0's source has it and the page states it (each was run against 0.16.0's own scheduler on the
same sequences when this was written), and both run on the same scripted sequence: rung's side
of every comparison is rung itself. The page's blocks: ``test_migration_syne_tune.py``.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

import rung
from _docs_output import _flat
from doc_blocks import ROOT, page_path
from rung.schedulers.asha import rung_steps

PAGE = "migrate-syne-tune"
TEXT = _flat(PAGE)


def _rows(table_first_cell: str) -> str:
    """The page's table row whose first cell starts with ``table_first_cell``."""
    text = page_path(PAGE).read_text()
    found = [line for line in text.splitlines() if line.startswith(f"| {table_first_cell}")]
    assert len(found) == 1, table_first_cell
    return found[0]


# --- schedulers and searchers --------------------------------------------------------------------
def test_scheduler_and_searcher_rows_store_what_they_say() -> None:
    assert rung.ASHA(reduction_factor=3, min_step=1).get_params() == {"reduction_factor": 3,
                                                                       "min_step": 1}
    assert rung.ASHA(variant="promotion").get_params()["variant"] == "promotion"
    assert rung.ASHA(quota="ceil").get_params()["quota"] == "ceil"
    assert rung.AsyncHyperband(brackets=3).get_params()["brackets"] == 3
    assert rung.AsyncHyperband().brackets is None  # its default: every bracket
    assert rung.MOASHA(reduction_factor=3, min_step=1).get_params() == {"reduction_factor": 3,
                                                                         "min_step": 1}
    assert rung.MedianStoppingRule().get_params() == {"min_step": 1, "min_trials": 3}
    pbt = rung.PBT(population_size=4, perturbation_interval=5, quantile_fraction=0.25,
                   resample_probability=0.25).get_params()
    assert (pbt["population_size"], pbt["perturbation_interval"], pbt["quantile_fraction"],
            pbt["resample_probability"]) == (4, 5, 0.25, 0.25)
    # Syne Tune's BOHB arguments, under rung's names, with the same defaults
    bohb = rung.BOHBSearcher(min_points=None, top_n_percent=15, min_bandwidth=1e-3,
                             n_candidates=64, bandwidth_factor=3, random_fraction=0.33)
    assert bohb.get_params() == {"min_points": None, "top_n_percent": 15, "n_candidates": 64,
                                 "random_fraction": 0.33, "bandwidth_factor": 3,
                                 "min_bandwidth": 1e-3, "repeats": False}
    default = rung.BOHBSearcher().get_params()
    assert {k: default[k] for k in ("top_n_percent", "n_candidates", "bandwidth_factor",
                                    "min_bandwidth")} == {"top_n_percent": 15,
                                                          "n_candidates": 64,
                                                          "bandwidth_factor": 3,
                                                          "min_bandwidth": 1e-3}
    assert default["random_fraction"] == pytest.approx(1 / 3)
    assert rung.GPSearcher(fidelities="all").get_params()["fidelities"] == "all"
    # BOHB's kernel densities under FIFO (Syne Tune's TPE), and searcher="bohb" on auto
    study = rung.Study.create("t", {"x": rung.Float(0.0, 1.0), "y": rung.Float(0.0, 1.0)},
                              "loss", searcher=bohb, scheduler="fifo", budget={"n_trials": 12})
    for _ in range(12):
        t = study.ask()
        study.tell(t.id, "completed", {"loss": (t.params["x"] - 0.3) ** 2 + t.params["y"]})
    assert len(study.trials("completed")) == 12
    study = rung.Study.create("b", {"x": rung.Float(0.0, 1.0)}, "loss", searcher="bohb",
                              max_step=27, budget={"n_trials": 30})
    assert study.spec.scheduler.to_json() == {"name": "async_hyperband",
                                              "params": {"reduction_factor": 3,
                                                         "min_step": "auto"}}


def _syne_tune_rungs(grace_period: int, eta: int, max_t: int) -> list[int]:
    """Syne Tune 0.16's rung levels below ``max_t`` (its ``Bracket``, bracket 0)."""
    n = int(np.log(max_t / grace_period) / np.log(eta) + 1)
    return [grace_period * eta**k for k in range(n) if grace_period * eta**k < max_t]


def test_asha_has_the_same_rungs() -> None:
    assert rung_steps(1, 3, 27) == [1, 3, 9]  # "steps 1, 3 and 9 here"
    assert "the same rungs (`grace_period * eta**k` below `max_t`: steps 1, 3 and 9 here)" in TEXT
    for grace_period, eta, max_t in ((1, 3, 27), (1, 3, 100), (1, 3, 81), (2, 3, 200),
                                     (1, 4, 100), (5, 4, 100), (1, 2, 50), (3, 3, 243)):
        assert rung_steps(grace_period, eta, max_t) == _syne_tune_rungs(grace_period, eta, max_t)


def test_syne_tune_bracket_probabilities() -> None:
    """Syne Tune 0.16 draws a trial's bracket in proportion to ``e ** (number of rung levels)``,
    counting the level at ``max_t`` (``Bracket`` in ``asha.py``): 4, 3 and 2 levels for three
    brackets from step 1 to 27 at ``eta`` 3."""
    levels = [int(np.log(27 / 1) / np.log(3) - s + 1) for s in range(3)]
    assert levels == [4, 3, 2]
    p = np.exp(np.array(levels, dtype=float))
    assert [round(x, 2) for x in p / p.sum()] == [0.67, 0.24, 0.09]
    assert "0.67, 0.24 and 0.09 for 3 brackets from step 1 to 27 at `eta` 3" in TEXT


# --- ASHA's decision rule ------------------------------------------------------------------------
def _syne_tune_asha(recorded: list[float], value: float, eta: int) -> bool:
    """Syne Tune 0.16's ASHA (``Bracket.on_result`` in ``asha.py``), as the page states it: with
    ``b`` of the ``n`` results at the rung (``value`` included) strictly better, continue iff
    ``b / n <= 1 / eta``."""
    data = sorted([*recorded, value])
    b = int(np.searchsorted(data, value))  # left: the results strictly below
    return b / len(data) <= 1 / eta


def _syne_tune_hyperband_stopping(recorded: list[float], value: float, eta: int) -> bool:
    """Earlier releases' ``HyperbandScheduler(type="stopping")`` (not in 0.16), as the page
    states it: continue iff ``value`` is at most ``np.quantile`` of the rung's values at
    ``1 / eta`` (with at least two results recorded, the new one included)."""
    data = [*recorded, value]
    return len(data) < 2 or value <= float(np.quantile(data, 1 / eta))


def _rung_asha(values: list[float], metric: str = "loss", **kw: Any) -> tuple[list[bool],
                                                                                list[str]]:
    """rung's ASHA on ``values`` arriving one after another at its first rung (step 1)."""
    study = rung.Study.create("q", {"x": rung.Float(0.0, 1.0)}, metric, searcher="random",
                              scheduler=rung.ASHA(reduction_factor=3, **kw), max_step=9,
                              budget={"n_trials": len(values)})
    passes, reasons = [], []
    for v in values:
        t = study.ask()
        d = study.report(t.id, 1, {metric: v})
        passes.append(d.action is rung.Action.CONTINUE)
        reasons.append(d.reason)
        if not passes[-1]:
            study.tell(t.id, "stopped")
    return passes, reasons


def _theirs(rule: Any, values: list[float]) -> list[bool]:
    return [rule(values[:i], v, 3) for i, v in enumerate(values)]


def test_asha_decision_rules() -> None:
    # the second best of three: Syne Tune 0.16 continues it, the quantile rule and rung stop it
    three = [0.5, 0.3, 0.4]
    ours, reasons = _rung_asha(three, metric="val_loss")
    assert ours == [True, True, False]
    assert _rung_asha(three, quota="ceil")[0] == [True, True, False]
    assert _theirs(_syne_tune_asha, three) == [True, True, True]
    assert _theirs(_syne_tune_hyperband_stopping, three) == [True, True, False]
    assert reasons[2] == "rank 2/3 at rung 0 (step 1): not in the top 1/3 (cutoff val_loss=0.3)"
    assert f"(`{reasons[2]}`)" in TEXT
    # 9 tied results: rung continues the 1st, 6th and 9th; both of Syne Tune's rules all 9
    tied = [0.7] * 9
    assert [i + 1 for i, p in enumerate(_rung_asha(tied)[0]) if p] == [1, 6, 9]
    assert all(_theirs(_syne_tune_asha, tied)) and all(_theirs(_syne_tune_hyperband_stopping,
                                                                tied))
    assert "rung continues the 1st, the 6th and the 9th, where both of Syne Tune's rules " \
           "continue all 9" in TEXT
    # without ties: quota="ceil" decides as the quantile rule; the default passes a subset of
    # what Syne Tune 0.16 passes, and fewer
    for seed in range(5):
        values = list(np.random.default_rng(seed).permutation(40) / 40 + 0.01)
        ceil = _rung_asha(values, quota="ceil")[0]
        assert ceil == _theirs(_syne_tune_hyperband_stopping, values)
        ours = _rung_asha(values)[0]
        st = _theirs(_syne_tune_asha, values)
        assert all(s for o, s in zip(ours, st, strict=True) if o)
        assert sum(st) > sum(ours)


def _syne_tune_moasha_diagonal(values: list[float], eta: int = 3) -> list[bool]:
    """Syne Tune 0.16's MOASHA at one rung, as the page states it, for results ``(v, v)`` (each
    its own front, so non-dominated sorting orders them by ``v``): ``Bracket.on_result`` takes
    the indices in sorted order that ``NonDominatedPriority`` returns for the priorities, so the
    new result is stopped iff ``k / n > 1 / eta``, ``k`` the arrival position of the result
    sorted last (here the worst). True: continue."""
    out = []
    for i in range(len(values)):
        seen = values[: i + 1]
        k = max(range(len(seen)), key=lambda j: seen[j])  # the worst, sorted last
        out.append(not k / len(seen) > 1 / eta)
    return out


def _rung_moasha_diagonal(values: list[float]) -> list[bool]:
    study = rung.Study.create("mo", {"x": rung.Float(0.0, 1.0)}, ["a", "b"], searcher="random",
                              scheduler=rung.MOASHA(reduction_factor=3), max_step=9,
                              budget={"n_trials": len(values)})
    ours = []
    for v in values:
        t = study.ask()
        ours.append(study.report(t.id, 1, {"a": v, "b": v}).action is rung.Action.CONTINUE)
    return ours


def test_mo_asha_rule() -> None:
    """rung continues a result iff ``r * eta < n`` (``r`` its own place); Syne Tune 0.16 decides
    by the place of the result sorted last. A result dominating three earlier ones is stopped in
    Syne Tune when the worst arrived third; a third of four goes on in Syne Tune when the worst
    arrived first."""
    dominating = [0.5, 0.4, 0.6, 0.05]
    assert _rung_moasha_diagonal(dominating) == [True, True, False, True]
    assert _syne_tune_moasha_diagonal(dominating) == [True, True, False, False]
    third_of_four = [0.9, 0.1, 0.2, 0.3]
    assert _rung_moasha_diagonal(third_of_four) == [True, True, False, False]
    assert _syne_tune_moasha_diagonal(third_of_four) == [True, True, True, True]
    assert "After (0.5, 0.5), (0.4, 0.4) and (0.6, 0.6), a fourth result (0.05, 0.05), which " \
           "dominates them all, is stopped in Syne Tune (the worst arrived third: 2/4 > 1/3) " \
           "and goes on in rung" in TEXT
    assert "after (0.9, 0.9), (0.1, 0.1) and (0.2, 0.2), a fourth (0.3, 0.3), third of four, " \
           "goes on in Syne Tune and is stopped in rung" in TEXT
    assert "`MOASHA(config_space, metrics=[...], do_minimize=True," in TEXT  # no mode=[...]
    auto = rung.Study.create("mo2", {"x": rung.Float(0.0, 1.0)}, ["a", "b"], max_step=9,
                             budget={"n_trials": 30})
    assert auto.spec.scheduler.name == "mo_asha"


def test_constraints_row() -> None:
    """ASHA ranks feasible results first: a feasible result with the worse loss goes on past an
    infeasible one (without the constraint it is stopped)."""
    def second_passes(constraints: list[str]) -> bool:
        study = rung.Study.create("k", {"x": rung.Float(0.0, 1.0)}, "loss", searcher="random",
                                  scheduler=rung.ASHA(reduction_factor=3), max_step=9,
                                  budget={"n_trials": 2}, constraints=constraints)
        t = study.ask()
        study.report(t.id, 1, {"loss": 0.1, "latency_ms": 150.0})
        t = study.ask()
        return study.report(t.id, 1, {"loss": 0.5, "latency_ms": 50.0}).action \
            is rung.Action.CONTINUE

    assert second_passes(["latency_ms <= 100"]) and not second_passes([])


def test_median_rule_row() -> None:
    """A trial that starts badly and recovers: its best (0.3) is better than the median of the
    others' running averages (0.5), so rung goes on; its running average (0.6) is worse than
    all four others', so Syne Tune's rule, as the page states it, stops it. One that stays bad
    is stopped by both."""
    def syne_tune(averages: list[float], own_average: float, rank_cutoff: float = 0.5,
                  grace_population: int = 5) -> bool:
        """True: stop."""
        index = int(np.searchsorted(sorted(averages), own_average))
        n = len(averages) + 1
        return n >= grace_population and index / n > rank_cutoff

    study = rung.Study.create("m", {"x": rung.Float(0.0, 1.0)}, "loss", searcher="random",
                              scheduler=rung.MedianStoppingRule(min_step=2, min_trials=3),
                              max_step=5, budget={"n_trials": 6})
    for _ in range(4):
        t = study.ask()
        for step in range(1, 6):
            study.report(t.id, step, {"loss": 0.5})
        study.tell(t.id, "completed")
    decisions, averages = [], [0.5] * 4  # the running averages reported at step 2
    for curve in ((0.9, 0.3), (0.9, 0.8)):
        t = study.ask()
        study.report(t.id, 1, {"loss": curve[0]})  # min_step 2: not judged at step 1
        d = study.report(t.id, 2, {"loss": curve[1]})
        decisions.append((d.action is rung.Action.STOP, syne_tune(averages, sum(curve) / 2)))
        averages.append(sum(curve) / 2)
        study.tell(t.id, "stopped")
    assert decisions == [(False, True), (True, True)]
    assert "5, its own included: rung's `min_trials=4`" in TEXT


# --- min_step="auto" -----------------------------------------------------------------------------
def test_auto_picks_the_first_rung_from_data() -> None:
    pytest.importorskip("pandas")
    from rung.benchmarks import CurveTable

    space = {"x": rung.Float(0.0, 1.0)}

    def scheduler(**kw: Any) -> dict[str, Any]:
        study = rung.Study.create("a", space, "loss", max_step=kw.pop("max_step", 27), **kw)
        return dict(study.spec.scheduler.to_json())

    asha_auto = {"name": "asha", "params": {"reduction_factor": 3, "min_step": "auto"}}
    assert scheduler(budget={"n_trials": 9}) == asha_auto
    assert scheduler(budget={"n_trials": 8})["name"] == "fifo"
    assert scheduler(budget={"n_trials": 9}, max_step=1)["name"] == "fifo"
    assert scheduler(budget={"max_time": 60}) == asha_auto  # a budget in time alone
    table = CurveTable(ROOT / "benchmarks" / "curves" / "mlp-mnist1d.npz", metric="val_error",
                       rows=300)
    study = rung.Study.create("auto", table.space, rung.Objective("val_error", "min"),
                              searcher="random", scheduler=rung.ASHA(min_step="auto"),
                              max_step=table.max_step, budget=rung.Budget(n_trials=30), seed=0)
    study.simulate(table, n_workers=4)
    first = study.engine.scheduler.state()["first_rung"]
    assert (first["probes"], first["threshold"]) == (8, 0.7) == (2 * 3 + 2, 0.7)
    by_id = {t.id: t for t in study.trials()}
    assert all(by_id[i].status.value == "completed" and by_id[i].last_step == table.max_step
               for i in range(8))  # the probes run to max_step uncut
    # estimated at 8 uncut curves, again at ceil(1.5 x 8) = 12; on this table the first
    # estimate finds no step (no early stopping), the second step 3
    assert [e["curves"] for e in first["estimates"][:2]] == [8, 12]
    reason = re.compile(r"(first rung at step \d+: Spearman [0-9.]+ with the final value|no early "
                        r"stopping: no step below \d+ reaches Spearman 0.7 with the final "
                        r"value) over \d+ complete curves( \(.*\))?")
    for estimate in first["estimates"]:
        for s in estimate["steps"]:  # ok: Spearman >= 0.7 and at most 1 - 1/eta tied
            assert s["ok"] == (s["curves"] >= 3 and s["spearman"] >= 0.7
                               and s["tie_share"] <= 1 - 1 / 3)
        ok = [s["step"] for s in estimate["steps"] if s["ok"]]
        assert estimate["min_step"] == (min(ok) if ok else table.max_step)
        assert reason.fullmatch(estimate["reason"])
    assert first["estimates"][0]["min_step"] == table.max_step  # no trial stopped early yet
    assert first["min_step"] == first["estimates"][-1]["min_step"] < table.max_step
    quoted = re.search(r"\(`(first rung at step [^`]*)`\)", TEXT)
    assert quoted is not None and reason.fullmatch(quoted.group(1))
    # the reason of the first decision the estimate explains names it
    reasons = study.results_dataframe()["reason"].dropna().astype(str)
    assert reasons.str.contains(first["reason"], regex=False).any()
