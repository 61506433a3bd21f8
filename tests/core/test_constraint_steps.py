"""Which value a constraint reads at a step (``rung.core.constraints``): the latest one the
trial reported at or before it; a metric not reported by then violates the constraint for
feasibility and is unknown (counts as holding) for ranking, unless the result is final.

Before: a constraint read only the result at the step itself, so a latency reported only at
the end made every result below it infeasible (``violation`` inf), and a trial that reported
it at step 1 only was infeasible at its end."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

import rung
from rung.core import TrialEnded
from rung.core.constraints import constraints_from
from rung.core.records import Outcome
from rung.errors import ConfigError

SRC = str(Path(rung.__file__).resolve().parents[1])


def _study(max_step: int = 3) -> rung.Study:
    return rung.Study.create("c", {"x": rung.Float(0.0, 1.0)}, objective="loss",
                             constraints=["lat <= 10", "mem >= 2"], searcher="random",
                             scheduler="fifo", max_step=max_step,
                             budget={"n_trials": 10})


def test_a_value_holds_until_reported_again() -> None:
    s = _study()
    t = s.ask()
    assert t is not None
    s.report(t.id, 1, {"loss": 1.0, "lat": 4.0, "mem": 3.0})
    s.report(t.id, 2, {"loss": 0.9, "lat": 12.5})
    s.report(t.id, 3, {"loss": 0.8})
    h = s.history
    assert h.slacks(t.id, 1) == (-6.0, -1.0)
    assert h.slacks(t.id, 2) == (2.5, -1.0)  # mem read at step 1
    assert h.slacks(t.id) == h.slacks(t.id, 3) == (2.5, -1.0)
    assert h.violation(t.id, 1) == 0.0 and h.violation(t.id) == 2.5
    s.tell(t.id, "completed")
    assert not s.feasible(t.id)


def test_a_metric_reported_only_at_the_end() -> None:
    s = _study()
    t = s.ask()
    assert t is not None
    s.report(t.id, 1, {"loss": 1.0})
    s.report(t.id, 2, {"loss": 0.9, "mem": 1.0})
    h = s.history
    # feasibility: a metric not reported by the step violates its constraint
    assert h.slacks(t.id, 1) == (math.inf, math.inf)
    assert h.violation(t.id, 1) == math.inf and h.violation(t.id, 2) == math.inf
    # ranking: unknown there, counts as holding
    s1 = h.slacks(t.id, 1, ranking=True)
    assert math.isnan(s1[0]) and math.isnan(s1[1])
    assert h.violation(t.id, 1, ranking=True) == 0.0
    s2 = h.slacks(t.id, 2, ranking=True)
    assert math.isnan(s2[0]) and s2[1] == 1.0
    assert h.violation(t.id, 2, ranking=True) == 1.0
    s.report(t.id, 3, {"loss": 0.8, "lat": 9.0, "mem": 2.5})
    s.tell(t.id, "completed")
    assert s.feasible(t.id) and h.violation(t.id, 2, ranking=True) == 1.0
    assert s.best_trial is not None and s.best_trial.id == t.id


def test_a_final_result_never_reported_is_violated_for_ranking_too() -> None:
    s = _study(max_step=5)
    t = s.ask()
    assert t is not None
    s.report(t.id, 1, {"loss": 1.0, "mem": 3.0})
    s.report(t.id, 2, {"loss": 0.9, "mem": 3.0})
    # running: its result at step 2 is not final, 'lat' is unknown there
    assert h_rank(s, t.id, 2) == (None, -1.0)
    with pytest.raises(ConfigError):  # tell refuses a completed trial without 'lat'
        s.tell(t.id, "completed")
    # an objective that returns early under Study.run: its result at step 2 is final
    s.engine.handle(TrialEnded(t.id, Outcome.COMPLETED, 10.0))
    assert h_rank(s, t.id, 2) == (math.inf, -1.0)
    assert s.history.violation(t.id, 2, ranking=True) == math.inf
    assert h_rank(s, t.id, 1) == (None, -1.0)  # step 1 is not its final result
    assert s.history.violation(t.id, 1, ranking=True) == 0.0


def h_rank(s: rung.Study, tid: int, step: int) -> tuple[float | None, ...]:
    """``slacks`` with ``ranking=True``, NaN (unknown) as ``None``."""
    return tuple(None if math.isnan(v) else v for v in s.history.slacks(tid, step, ranking=True))


def test_a_restart_that_reports_a_step_again_without_the_metric_drops_its_value() -> None:
    from rung.core import ResultReported

    s = _study()
    t = s.ask()
    assert t is not None
    s.report(t.id, 1, {"loss": 1.0, "lat": 1.0, "mem": 3.0})
    s.report(t.id, 2, {"loss": 0.9, "lat": 50.0, "mem": 3.0})
    # the engine replaces a step's result when a restarted run reports it again
    s.engine.handle(ResultReported(t.id, 2, {"loss": 0.8, "mem": 3.0}, 10.0))
    assert s.history.slacks(t.id, 2) == (-9.0, -1.0)  # lat from step 1, not the replaced 50


def test_an_exact_duplicate_constraint_is_refused() -> None:
    with pytest.raises(ConfigError) as e:
        constraints_from(["lat <= 10", "mem >= 2", {"metric": "lat", "bound": 10}])
    assert (e.value.key, e.value.message) == ("constraints[2]",
                                              "'lat <= 10' repeats constraints[0]")
    with pytest.raises(ConfigError) as e:
        rung.Study.create("d", {"x": rung.Float(0.0, 1.0)}, objective="loss",
                          constraints=["lat <= 10", "lat <= 10.0"])
    assert str(e.value) == "constraints[1]: 'lat <= 10' repeats constraints[0]"
    # bounds that meet at one value are allowed
    assert len(constraints_from(["lat <= 10", "lat >= 10"])) == 2


def test_constraints_no_value_can_meet_are_refused(tmp_path: Path) -> None:
    # before: accepted, and the whole budget was spent on a study with no feasible trial
    with pytest.raises(ConfigError) as e:
        constraints_from(["lat <= 10", "mem >= 2", "lat >= 20"])
    assert (e.value.key, e.value.message) == (
        "constraints[2]", "'lat >= 20' contradicts constraints[0] ('lat <= 10'): no value of "
        "lat meets both, so no trial could be feasible")
    with pytest.raises(ConfigError) as e:
        constraints_from([{"metric": "mem", "op": ">=", "bound": 5},
                          rung.Constraint("mem", "<=", 4.5)])
    assert e.value.key == "constraints[1]"
    assert "'mem <= 4.5' contradicts constraints[0] ('mem >= 5')" in e.value.message
    # a spec: one line, exit 2, nothing written
    spec = tmp_path / "s.yaml"
    spec.write_text("name: c\nobjective: train:fit\nmetric: loss\nmax_step: 3\n"
                    "space: {x: {type: float, low: 0, high: 1}}\n"
                    "constraints: ['lat <= 10', 'lat >= 20']\nstorage: s.db\n")
    r = subprocess.run([sys.executable, "-m", "rung", "run", str(spec)], cwd=tmp_path,
                       capture_output=True, text=True, timeout=60, check=False,
                       env={**os.environ, "PYTHONPATH": SRC})
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines() == [
        "rung: error: spec.constraints[1]: 'lat >= 20' contradicts constraints[0] "
        "('lat <= 10'): no value of lat meets both, so no trial could be feasible"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]
