"""The worker timeline of a study whose driver died: the runs it left behind end when the
journal last heard from it, not when the next session started (nothing ran in between)."""

from __future__ import annotations

from rung.analysis_frames import fold
from rung.core.events import CapacityChanged, ResultReported, TrialEnded, TrialStarted
from rung.core.records import Outcome


def test_runs_of_a_dead_session_end_at_its_last_record() -> None:
    records = [
        CapacityChanged(2, 0.0, new_session=True),
        TrialStarted(0, 1.0),
        TrialStarted(1, 1.5),
        ResultReported(0, 1, {"loss": 0.5}, 2.0),
        ResultReported(1, 1, {"loss": 0.7}, 3.0),
        # the driver is killed here; it is resumed 100 s later
        CapacityChanged(0, 103.0, new_session=True),
        TrialEnded(0, Outcome.INTERRUPTED, 103.0, "the driver stopped while it ran"),
        TrialEnded(1, Outcome.INTERRUPTED, 103.0, "the driver stopped while it ran"),
        CapacityChanged(2, 103.1, new_session=True),
        TrialStarted(1, 104.0),
        TrialStarted(0, 104.5),
        TrialEnded(1, Outcome.COMPLETED, 110.0),
        TrialEnded(0, Outcome.COMPLETED, 111.0),
    ]
    jf = fold(records)
    runs = [(r.trial_id, r.slot, r.start, r.end, r.outcome) for r in jf.runs]
    assert runs == [
        (0, 0, 1.0, 3.0, "interrupted"),
        (1, 1, 1.5, 3.0, "interrupted"),
        (1, 0, 104.0, 110.0, "completed"),
        (0, 1, 104.5, 111.0, "completed"),
    ]
    assert jf.n_slots == 2
    assert jf.last_end == {0: 111.0, 1: 110.0}
    busy = sum(r.end - r.start for r in jf.runs if r.end is not None)
    assert busy == (2.0 + 1.5) + (6.0 + 6.5)


def test_a_clean_session_end_is_unchanged() -> None:
    records = [
        CapacityChanged(1, 0.0, new_session=True),
        TrialStarted(0, 1.0),
        TrialEnded(0, Outcome.PAUSED, 2.0),
        CapacityChanged(1, 50.0, new_session=True),
        TrialStarted(0, 51.0),
        TrialEnded(0, Outcome.COMPLETED, 52.0),
    ]
    runs = [(r.trial_id, r.slot, r.start, r.end, r.outcome) for r in fold(records).runs]
    assert runs == [(0, 0, 1.0, 2.0, "paused"), (0, 0, 51.0, 52.0, "completed")]
