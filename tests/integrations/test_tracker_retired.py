"""Trackers log the engine's record of a paused trial its scheduler retired (a ``Cancel`` of
the paused trial, with the scheduler's reason: rank and quota) as a ``stop``, as the trial's
frames and the dashboard read it, and any other ``Cancel`` as a ``cancel``."""

from __future__ import annotations

import rung
from rung.core.events import Cancel, ResultReported, TrialEnded
from rung.core.records import Outcome
from rung.integrations._journal_view import journal_decisions


def test_a_cancel_of_a_paused_trial_is_its_stop() -> None:
    h = rung.Study.create("t", {"x": rung.Float(0, 1)}, "loss", max_step=9).history
    records = [
        ResultReported(0, 1, {"loss": 0.5}, 1.0),
        TrialEnded(0, Outcome.PAUSED, 1.5, None),
        Cancel(0, "bracket 0 rung 0 (step 1): rank 5/9, not in the top 3"),
        ResultReported(1, 1, {"loss": 0.4}, 2.0),
        Cancel(1, "timeout: trial_timeout of 2 s reached"),  # a running trial's run ended
        ResultReported(2, 1, {"loss": 0.3}, 3.0),
        TrialEnded(2, Outcome.PAUSED, 3.5, None),
        TrialEnded(2, Outcome.INTERRUPTED, 4.0, "its worker died"),  # a later run's end
        Cancel(2, "stopped"),
    ]
    got = journal_decisions(records, h)
    assert [(e.step, e.action, e.reason) for e in got[0]] == [
        (1, "stop", "bracket 0 rung 0 (step 1): rank 5/9, not in the top 3")]
    assert [e.action for e in got[1]] == ["cancel"]
    assert [e.action for e in got[2] if e.action in ("stop", "cancel")] == ["cancel"]
