"""``rung ledger NAME`` and the spec's cost keys (prices, resources_per_trial, budget.max_cost,
budget.stop): the numbers, and bad inputs (one line naming the key, exit 2, nothing written)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from clihelp import sim_spec, write_spec

from rung.cli.main import main
from rung.core.events import StopSearch
from rung.core.records import StudySpec
from rung.cost.ledger import ledger
from rung.storage import SQLiteJournal

COST = "prices: {cpu: 0.04, 'gpu:A100': 3.2}\nresources_per_trial: {cpu: 1, 'gpu:A100': 1}\n"


def test_ledger_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    write_spec(tmp_path, sim_spec(n_trials=20, extra=COST))
    assert main(["run", "spec.yaml", "--no-live"]) == 0
    capsys.readouterr()
    assert main(["ledger", "sim"]) == 0
    text = capsys.readouterr().out
    db = tmp_path / "runs" / "sim.db"
    with SQLiteJournal(db, readonly=True) as j:
        led = ledger(StudySpec.from_json(j.load_study("sim")), j.read("sim"))
    assert led.total.cost > 0
    assert f"{led.total.cost:,.2f}" in text.splitlines()[3 + len(led.by_outcome)]
    assert "cpu 0.04/h, gpu:A100 3.2/h" in text
    assert "the scheduler saved" in text and "utilization" in text
    assert main(["ledger", "sim", "--storage", str(db), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total"]["cost"] == pytest.approx(led.total.cost)
    assert data["total"]["steps"] == led.total.steps
    # 3.24 per hour: the A100 and the CPU
    assert data["total"]["cost"] == pytest.approx(3.24 * data["total"]["gpu_hours"])


@pytest.mark.slow  # a real local run from a spec (9 s)
def test_budget_max_cost_and_stop_from_a_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    spec = sim_spec(n_trials=1000, extra=COST).replace(
        "budget: {n_trials: 1000}", "budget: {max_cost: 0.5, stop: auto}")
    write_spec(tmp_path, spec)
    assert main(["run", "spec.yaml", "--no-live"]) == 0
    capsys.readouterr()
    assert main(["ledger", "sim", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["budget"]["max_cost"] == 0.5
    assert data["budget"]["cost"] >= 0.5 or data["stopped"] is not None


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ("prices: {cpu: -1}\n", "spec.prices.cpu"),
        ("prices: {tpu: 1}\n", "spec.prices.tpu"),
        ("prices: 3\n", "spec.prices"),
        ("resources_per_trial: {fpga: 1}\n", "spec.resources_per_trial.fpga"),
    ],
)
def test_bad_cost_keys_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str], extra: str, key: str) -> None:
    monkeypatch.chdir(tmp_path)
    write_spec(tmp_path, sim_spec(extra=extra))
    assert main(["run", "spec.yaml", "--no-live"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and key in err[0], err
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("budget", "key"),
    [("{max_cost: 0}", "spec.budget.max_cost"), ("{max_cost: -2}", "spec.budget.max_cost"),
     ("{max_cost: 5}", "spec.budget.max_cost"),  # no prices
     ("{n_trials: 5, stop: 7}", "spec.budget.stop"),
     ("{n_trials: 5, max_gpu_hours: 0}", "spec.budget.max_gpu_hours")],
)
def test_bad_budget_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                           capsys: pytest.CaptureFixture[str], budget: str, key: str) -> None:
    monkeypatch.chdir(tmp_path)
    write_spec(tmp_path, sim_spec().replace("budget: {n_trials: 30}", f"budget: {budget}"))
    assert main(["run", "spec.yaml", "--no-live"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and key in err[0], err
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("stop", "line"),
    [("sometimes", "rung: error: spec.budget.stop: unknown stop_rule 'sometimes' (known: auto)"),
     ("{name: auto, params: {bogus: 1}}",
      "rung: error: spec.budget.stop.params.bogus: 'auto' takes no parameter 'bogus' (accepted: "
      "delta, every, lattice, max_points, min_trials, n_candidates, n_val, noise, noise_metric, "
      "noise_scale, tail, threshold, value)")],
)
def test_a_bad_stop_rule_names_spec_budget_stop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    stop: str, line: str
) -> None:
    monkeypatch.chdir(tmp_path)
    write_spec(tmp_path, sim_spec().replace("budget: {n_trials: 30}",
                                            f"budget: {{n_trials: 30, stop: {stop}}}"))
    assert main(["run", "spec.yaml", "--no-live"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [line]
    assert not (tmp_path / "runs").exists()


def test_ledger_of_an_unknown_study_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["ledger", "nope"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_ledger_json_is_strict_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    """The first improvement's cost per unit is infinite: ``--json`` writes ``null``, not
    ``Infinity`` (which jq and JavaScript's JSON.parse refuse)."""
    monkeypatch.chdir(tmp_path)
    write_spec(tmp_path, sim_spec(n_trials=12, extra=COST))
    assert main(["run", "spec.yaml", "--no-live"]) == 0
    capsys.readouterr()
    assert main(["ledger", "sim", "--json"]) == 0
    out = capsys.readouterr().out

    def refuse(constant: str) -> None:
        raise ValueError(f"not JSON: {constant}")

    data = json.loads(out, parse_constant=refuse)
    assert data["incumbent"][0]["cost_per_unit"] is None
    assert all(i["cost_per_unit"] > 0 for i in data["incumbent"][1:])
    with SQLiteJournal(tmp_path / "runs" / "sim.db", readonly=True) as j:
        led = ledger(StudySpec.from_json(j.load_study("sim")), j.read("sim"))
    assert led.incumbent[0].cost_per_unit == float("inf")  # the dataclass keeps the number
    assert led.to_json()["incumbent"][0]["cost_per_unit"] is None


@pytest.mark.parametrize(
    ("budget", "extra", "line"),
    [
        ("{max_cost: 1, max_time: 600}", "prices: {gpu: 1}\n",
         "rung: error: spec.budget.max_cost: would never be spent: a trial holds cpu=1 (no "
         "resources_per_trial: one CPU) and prices {'gpu': 1.0} charge none of it"),
        ("{max_cost: 1, n_trials: 5}", "prices: {'gpu:A100': 3}\nresources_per_trial: {cpu: 2}\n",
         "rung: error: spec.budget.max_cost: would never be spent: a trial holds cpu=2 "
         "(resources_per_trial) and prices {'gpu:A100': 3.0} charge none of it"),
        ("{max_gpu_hours: 1, max_time: 600}", "",
         "rung: error: spec.budget.max_gpu_hours: would never be spent: a trial holds cpu=1 "
         "(no resources_per_trial: one CPU); say what it holds, e.g. resources_per_trial: "
         "{gpu: 1}"),
    ],
)
def test_a_budget_that_is_never_spent_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    budget: str, extra: str, line: str
) -> None:
    """The simulated executor reports no devices: a trial holds resources_per_trial, else one
    CPU. A money budget nothing of that is priced for, or a GPU-hour budget without a GPU,
    would never be spent (as the only limit it ran until interrupted; max_time here keeps this
    test finite should the check go)."""
    monkeypatch.chdir(tmp_path)
    write_spec(tmp_path, sim_spec(extra=extra).replace("budget: {n_trials: 30}",
                                                       f"budget: {budget}"))
    assert main(["run", "spec.yaml", "--no-live"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [line]
    assert not (tmp_path / "runs").exists()


def test_a_spendable_budget_without_resources_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """One CPU priced, no resources_per_trial: the budget is spent and the run ends."""
    monkeypatch.chdir(tmp_path)
    write_spec(tmp_path, sim_spec(extra="prices: {cpu: 3600}\n").replace(
        "budget: {n_trials: 30}", "budget: {max_cost: 20}"))
    assert main(["run", "spec.yaml", "--no-live"]) == 0
    capsys.readouterr()
    assert main(["ledger", "sim", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["budget"]["cost"] >= 20.0 and data["budget"]["overshoot_cost"] >= 0.0
    assert data["devices"].keys() == {"cpu"}


@pytest.mark.parametrize("extra", ["", "prices: {gpu: 2}\n"])
def test_a_value_stop_rule_that_can_never_stop_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    extra: str
) -> None:
    """StopRule(value=...) stops when the expected improvement is worth less than a trial
    costs: with nothing a trial holds priced, a trial costs 0 and the rule never stops."""
    monkeypatch.chdir(tmp_path)
    write_spec(tmp_path, sim_spec(extra=extra).replace(
        "budget: {n_trials: 30}", "budget: {n_trials: 30, stop: {name: auto, params: "
        "{value: 100}}}"))
    assert main(["run", "spec.yaml", "--no-live"]) == 2
    prices = "{'gpu': 2.0}" if extra else "{}"
    assert capsys.readouterr().err.strip().splitlines() == [
        "rung: error: spec.budget.stop.params.value: the rule would never stop: it weighs the "
        "improvement's worth against the mean cost of a trial, and a trial holding cpu=1 (no "
        f"resources_per_trial: one CPU) costs nothing under prices {prices}"]
    assert not (tmp_path / "runs").exists()


def test_a_search_the_stop_rule_ended_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``rung run`` ends with the rule's journaled reason, not a plain 'done', and ``rung
    show`` gives it on the budget line instead of '(spent)'. (A threshold far above branin's
    range stops at min_trials.)"""
    monkeypatch.chdir(tmp_path)
    write_spec(tmp_path, sim_spec().replace(
        "budget: {n_trials: 30}",
        "budget: {n_trials: 30, stop: {name: auto, params: {min_trials: 12, "
        "threshold: 1000000}}}"))
    assert main(["run", "spec.yaml", "--no-live"]) == 0
    out = capsys.readouterr().out.splitlines()
    with SQLiteJournal(tmp_path / "runs" / "sim.db", readonly=True) as j:
        notes = [r for r in j.read("sim") if isinstance(r, StopSearch)]
    assert len(notes) == 1
    reason = notes[0].reason
    assert reason.startswith("regret bound ") and " <= threshold 1e+06 after " in reason
    done = next(ln for ln in out if ln.startswith("rung: study sim "))
    assert done.startswith(f"rung: study sim stopped by the stop rule ({reason}): best loss=")
    assert main(["show", "sim"]) == 0
    budget = next(ln for ln in capsys.readouterr().out.splitlines()
                  if ln.startswith("  budget "))
    assert budget.endswith(f"   (stopped by the stop rule: {reason})")


def test_a_search_its_budget_ended_is_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    write_spec(tmp_path, sim_spec(n_trials=5))
    assert main(["run", "spec.yaml", "--no-live"]) == 0
    assert next(ln for ln in capsys.readouterr().out.splitlines()
                if ln.startswith("rung: study sim ")).startswith(
                    "rung: study sim done: best loss=")
    assert main(["show", "sim"]) == 0
    budget = next(ln for ln in capsys.readouterr().out.splitlines()
                  if ln.startswith("  budget "))
    assert budget == "  budget     n_trials=5   (spent: n_trials reached)"


def test_ledger_help_lists_every_outcome_the_ledger_shows(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """``rung ledger --help`` names the outcomes as the ledger's rows and ``--json``'s
    ``by_outcome`` keys spell them (``rung.cost.ledger.OUTCOMES``), in that order."""
    from rung.cost.ledger import OUTCOMES

    monkeypatch.setenv("COLUMNS", "1000")  # one line: argparse wraps at hyphens too
    with pytest.raises(SystemExit) as e:
        main(["ledger", "--help"])
    assert e.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert OUTCOMES == ("completed", "stopped", "stopped-by-budget", "stopped-by-rule",
                        "paused", "failed", "interrupted", "running")
    assert ("Spend by outcome, a row for each outcome that has runs (completed, stopped, "
            "stopped-by-budget, stopped-by-rule, paused, failed, interrupted, running; "
            "stopped-by-budget / stopped-by-rule: runs the engine stopped because the budget "
            "was spent / the stop rule ended the search)") in text
    assert "the incumbent (the best final value)" in text
