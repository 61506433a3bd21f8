"""The words of synchronous successive halving's decisions at a completed rung
(``rung.schedulers.successive_halving``): where a result was judged, its rank, and the quota it
made or missed."""

from __future__ import annotations

import math
from collections.abc import Sequence

from rung.core.events import Decision
from rung.core.history import History
from rung.schedulers._brackets import _Bracket
from rung.schedulers._ladder import NOT_FINITE
from rung.schedulers._rung_table import infeasible_note, key_score


def here(br: _Bracket, i: int, step: int) -> str:
    """``"bracket 0 rung 1 (step 3)"``, naming the step reported at when past the rung."""
    r = br.rungs[i].step
    at = f"step {step}" if step == r else f"step {r}, reported at step {step}"
    return f"bracket {br.index} rung {i} ({at})"


def verdict(br: _Bracket, i: int, tid: int, step: int, promoted: Sequence[int],
            passed: Sequence[tuple[int, str]] = (), history: History | None = None) -> Decision:
    """The decision on ``tid``'s result (reported at ``step``) at rung ``i`` of ``br``,
    completed with ``promoted`` going on: continue to the next rung, or stop; its reason names
    the rank and the quota, and the members ranked above the cut that were ``passed`` over
    because they had ended for good (``(trial, status)``): the quota is then the top of those
    that can go on."""
    rung = br.rungs[i]
    n, k = len(rung.table), len(rung.promoted or ())
    at = f"{here(br, i, step)}: rank {rung.rank(tid) + 1}/{n}"
    key = rung.scores[tid]
    why = f" ({NOT_FINITE})" if key_score(key) == math.inf else ""
    # an infeasible member's stop says so (rung.schedulers._rung_table, "The rank key")
    bad = "" if history is None else infeasible_note(history, tid, step, key)
    if passed:
        note = "passed over: " + ", ".join(f"trial {t}, {status}" for t, status in passed)
        if tid in promoted:
            return Decision.proceed(br.rungs[i + 1].step,
                                    f"{at}, promoted (top {k} of those that can go on; {note})")
        return Decision.stop(f"{at}, {bad}not in the top {k} of those that can go on "
                             f"({note}){why}")
    if tid in promoted:
        return Decision.proceed(br.rungs[i + 1].step, f"{at}, promoted (top {k})")
    return Decision.stop(f"{at}, {bad}not in the top {k}{why}")


__all__ = ["here", "verdict"]
