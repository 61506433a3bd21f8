"""``rung.Fidelity``: the user's resource values behind the integer step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import rung
from rung.errors import ConfigError
from rung.schedulers.asha import rung_steps


def test_explicit_values_sit_at_asha_rungs() -> None:
    f = rung.Fidelity("samples", [1000, 3000, 9000, 27000])
    assert f.steps == (1, 3, 9, 27)
    assert f.max_step == 27
    assert [f.value(s) for s in f.steps] == [1000, 3000, 9000, 27000]
    # the steps between rungs interpolate, as integers when the values are
    assert [f.value(s) for s in (2, 4, 26)] == [2000, 4000, 26000]
    assert all(type(f.value(s)) is int for s in range(1, 28))
    # ASHA's rungs for reduction_factor=3 are exactly the user's values
    assert list(rung_steps(1, 3, 27)) == [1, 3, 9]


def test_mapping_round_trips() -> None:
    for f in (rung.Fidelity("samples", [1000, 3000, 9000, 27000]),
              rung.Fidelity("n", [10, 25, 100, 101]),
              rung.Fidelity("fraction", low=0.1, high=1.0, reduction_factor=3),
              rung.Fidelity("resolution", low=32, high=224, reduction_factor=2)):
        for s in range(1, f.max_step + 1):
            assert f.step(f.value(s)) == s, (f, s)
        for s, v in zip(f.steps, f.values, strict=True):
            assert f.value(f.step(v)) == v
            assert f.step(v) == s
        assert rung.Fidelity.from_json(f.to_json()) == f


def test_uneven_values_get_increasing_steps() -> None:
    f = rung.Fidelity("n", [10, 25, 100, 101])
    assert f.steps == (1, 2, 10, 11)  # round(2.5) = 2, and 101 / 10 rounds to 10: bumped
    assert f.value(6) == 62  # 25 + (100 - 25) * 4 / 8 = 62.5, rounded to an integer


def test_continuous_range_builds_a_geometric_ladder() -> None:
    f = rung.Fidelity("fraction", low=0.1, high=1.0, reduction_factor=3)
    assert f.values == (0.1, 0.3, 0.9, 1.0)
    assert f.steps == (1, 3, 9, 10)
    assert [f.value(s) for s in range(1, 11)] == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9,
                                                  1.0]
    assert f.to_json() == {"name": "fraction", "low": 0.1, "high": 1.0,
                         "reduction_factor": 3}
    assert list(f.ladder(4)) == [(9, 0.9), (10, 1.0)]
    assert f.next_step(3) == 9
    assert f.next_step(10) is None
    assert f.step(0.25) == 3  # the first step whose value reaches 0.25


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"values": []}, "fidelity.values: must be a non-empty list of numbers, got []"),
    ({"values": [3, 2]}, "fidelity.values[1]: must be greater than values[0] (3), got 2"),
    ({"values": [0, 2]}, "fidelity.values[0]: must be a finite number > 0, got 0"),
    ({"values": ["a"]}, "fidelity.values[0]: must be a finite number > 0, got 'a'"),
    ({"low": 1.0, "high": 0.5}, "fidelity.high: must be greater than low (1.0), got 0.5"),
    ({"low": 0.1, "high": 1.0, "reduction_factor": 1},
     "fidelity.reduction_factor: must be a finite number > 1, got 1"),
    ({}, "fidelity.values: give explicit values, or low= and high="),
    ({"values": [1, 2], "low": 1}, "fidelity.values: give explicit values or low/high, not both"),
    ({"values": [1, 10**7]}, "fidelity.values: spans more than 1,000,000 steps (values[-1] / "
                             "values[0] = 1e+07)"),
    ({"values": [1, 10**37]}, "fidelity.values: spans more than 1,000,000 steps (values[-1] / "
                              "values[0] = 1e+37)"),
    ({"values": [1, 10**400]}, "fidelity.values[1]: must be a finite number > 0, got an integer "
                               "of 401 digits"),
    ({"low": 1, "high": 4, "reduction_factor": 10**400},
     "fidelity.reduction_factor: must be a finite number > 1, got an integer of 401 digits"),
    ({"low": 1e-9, "high": 1.0}, "fidelity.low: spans 1000000000 steps (high / low); at most "
                                 "1000000: raise low to at least 1e-06"),
])
def test_bad_arguments_are_one_line_config_errors(kwargs: dict[str, Any], message: str) -> None:
    values = kwargs.pop("values", None)
    with pytest.raises(ConfigError) as e:
        rung.Fidelity("x", values, **kwargs)
    assert str(e.value) == message


def test_value_outside_the_steps_is_refused() -> None:
    f = rung.Fidelity("samples", [1000, 3000])
    with pytest.raises(ConfigError, match=r"^fidelity.step: must be an integer in \[1, 3\], "):
        f.value(4)
    with pytest.raises(ConfigError, match="^fidelity.value: 4000 is above the highest value"):
        f.step(4000)


def test_study_create_takes_max_step_from_the_fidelity_and_journals_it(tmp_path: Path) -> None:
    f = rung.Fidelity("samples", [1000, 3000, 9000])
    study = rung.Study.create("s", {"x": rung.Float(0, 1)}, fidelity=f, budget={"n_trials": 3},
                              storage=tmp_path / "j.db")
    assert study.spec.max_step == 9
    assert study.spec.fidelity == f
    again = rung.Study.load("s", tmp_path / "j.db")
    assert again.spec.fidelity == f
    assert again.spec.to_json()["fidelity"] == {"name": "samples", "values": [1000, 3000, 9000]}
    with pytest.raises(ConfigError, match=r"^max_step: is 5, but the fidelity .* ends at step 9"):
        rung.Study.create("t", {"x": rung.Float(0, 1)}, fidelity=f, max_step=5)


def test_a_spec_without_the_new_keys_reads_back_unchanged() -> None:
    study = rung.Study.create("s", {"x": rung.Float(0, 1)}, budget={"n_trials": 3})
    d = study.spec.to_json()
    assert "fidelity" not in d and "define_by_run" not in d and "points_to_evaluate" not in d


def stateless(ctx: rung.TrialContext) -> None:
    """Trains from scratch at each rung's sample count; saves nothing."""
    for step, n in ctx.fidelities():
        ctx.report(step, loss=float(ctx.params["x"]) + 1000.0 / n, n=n, fid=ctx.fidelity,
                   start=ctx.start_step, fresh=float(ctx.checkpoint is None))


def test_a_stateless_trial_promoted_by_asha_restarts_at_the_rung(tmp_path: Path) -> None:
    from rung.core.events import Launch, ResultReported, TrialEnded

    f = rung.Fidelity("samples", [1000, 3000, 9000, 27000])
    study = rung.Study.create(
        "s", {"x": rung.Float(0, 1)}, searcher="random",
        scheduler=rung.ASHA(reduction_factor=3, variant="promotion"), fidelity=f,
        budget={"n_trials": 27}, storage=tmp_path / "j.db", seed=2)
    study.run(stateless, n_workers=2, start_method="fork", progress=False)
    records = list(study.journal.read("s"))
    last: dict[int, int] = {}  # the last step each trial reported
    run_start: dict[int, int] = {}
    position: dict[int, int] = {}  # the step each run trained up to
    restarts = 0
    expected_steps = 0
    for r in records:
        if isinstance(r, Launch):
            before = last.get(r.trial_id, 0)
            # no checkpoint was ever saved: every launch starts at the next rung, afresh
            assert r.checkpoint is None
            assert r.start_step == f.next_step(before)
            restarts += before > 0
            run_start[r.trial_id] = r.start_step
            position[r.trial_id] = 0
        elif isinstance(r, ResultReported):
            assert r.step in f.steps
            assert r.metrics["n"] == r.metrics["fid"] == f.value(r.step)
            assert r.metrics["start"] == run_start[r.trial_id]
            assert r.metrics["fresh"] == 1.0
            # a run without a checkpoint trains from step 0, whatever the trial did before
            expected_steps += r.step - position[r.trial_id]
            position[r.trial_id] = r.step
            last[r.trial_id] = r.step
        elif isinstance(r, TrialEnded):
            assert r.error is None
    assert restarts >= 3, "some trials were promoted"
    assert max(last.values()) == 27
    assert study.history.steps_consumed == expected_steps
    assert study.best_trial is not None and study.best_trial.last_step == 27

    # the user's values are shown beside the steps: dataframes and `rung show`
    from rung.cli.report import show_text

    df = study.results_dataframe()
    assert list(df.columns[:3]) == ["trial_id", "step", "samples"]
    assert [int(v) for v in df["samples"]] == [f.value(int(s)) for s in df["step"]]
    text = show_text(study, "j.db")
    assert "step (samples)" in text
    assert "27 (27000)" in text
    assert ("  fidelity   samples: 1000 (step 1), 3000 (step 3), 9000 (step 9), 27000 (step 27)"
            in text.splitlines())
