"""What a study's time measures: real seconds or a simulated clock.

``Engine.elapsed`` (``max_time``, ``rung show``'s work line, the dashboard's overview) sums the
time of the study's driver sessions, and a session on the simulated executor runs on a virtual
clock. Each session's ``CapacityChanged(new_session=True)`` record names its executor
(``CapacityChanged.executor``), so the journal says which: ``session_clock`` reads one record,
``time_kind`` combines them. One rule for ``rung show`` and the dashboard.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rung.core.events import CapacityChanged, Record


def is_prelude(rec: CapacityChanged) -> bool:
    """A ``new_session`` event the driver writes when it resumes a study, before its executor
    starts (capacity 0, no resources reported): not a session of its own."""
    return rec.capacity == 0 and rec.resources is None


def session_clock(rec: Record) -> str | None:
    """``"simulated"`` or ``"real"`` for a record that opens a driver session, else ``None``.
    A session whose executor is not recorded (journals written before it was, or an executor
    that does not say) counts as real."""
    if type(rec) is not CapacityChanged or not rec.new_session or is_prelude(rec):
        return None
    name = rec.executor.get("name") if isinstance(rec.executor, Mapping) else None
    return "simulated" if name == "simulated" else "real"


def label(clocks: Iterable[str]) -> str:
    """``"simulated"`` when every session ran on the simulated clock, ``"driver"`` (real
    seconds) when none did (also with no session: a study driven by ask / tell), ``"driver and
    simulated"`` when both did."""
    kinds = set(clocks)
    if kinds == {"simulated"}:
        return "simulated"
    return "driver and simulated" if "simulated" in kinds else "driver"


def time_kind(records: Iterable[Record]) -> str:
    """``label`` of the sessions among ``records`` (a study's journal, in order)."""
    return label(c for rec in records if (c := session_clock(rec)) is not None)


__all__ = ["is_prelude", "label", "session_clock", "time_kind"]
