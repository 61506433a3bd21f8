"""The one rule every report of a run follows: its steps never go backwards.

A result at a step below one the run already reached would be recorded after the later one,
and the trial scored on it, so it is refused wherever a report enters rung: the worker's
``TrialContext.report`` (``ValueError``, failing the trial), define-by-run ``trial.report``
and ``Study.report`` / ``tell`` (``ConfigError`` with key ``step``). Each caller raises its own
error type with the message given here, so the rule and its wording live in one place.

A run restored from a checkpoint starts after the checkpoint's step without having reported
it: a caller that knows its ``last`` is that step, not a report of this run, says so
(``resumed=True``) and the message names the checkpoint instead of a report.
"""

from __future__ import annotations


def step_back(step: int, last: int, resumed: bool = False) -> str | None:
    """Why a report at ``step`` is refused after the run reached ``last``, or ``None`` if it
    is not.

    Args:
        step: the step being reported (an integer already checked to be in ``[1, max_step]``).
        last: the step the run reported last (0 before its first report), or for a resumed
            ask/tell run the step it resumed after.
        resumed: ``last`` is the step of the checkpoint this run was restored from (it has
            reported nothing yet), not a step it reported.

    Returns:
        ``None`` when ``step >= last`` (the same step again is allowed: the later result
        replaces the earlier); else one line naming both steps (and, ``resumed``, the
        checkpoint).
    """
    if step >= last:
        return None
    if resumed:
        return (f"report(step={step}) after resuming from step {last}'s checkpoint: steps "
                f"never go backwards (the run continues after step {last}; report steps in "
                f"increasing order from there)")
    return (f"report(step={step}) after report(step={last}): steps never go backwards "
            f"(report them in increasing order; the same step again replaces its result)")
