"""``Study.stop``: end the session running now once its trials in flight end (Optuna's
``study.stop()``).

The driver (``rung.driver.drive``) asks ``_asked_to_stop`` after every turn; once it is asked,
it journals the session's capacity as 0 (``CapacityChanged``: no trial starts from then on,
in this session), lets the trials in flight run as the scheduler decides, and ends the session
when none is left. The study is not over: the next session's capacity is its own, and it goes
on where this one stopped.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rung.reporter import Reporter


class StudyStop:
    """The ``stop`` of a ``Study`` (a mixin)."""

    #: ``None`` while no session of this study runs; then whether ``stop`` was called
    _stop_asked: bool | None = None

    def stop(self) -> None:
        """End the session running now (``run`` or ``simulate``) once its trials in flight
        have ended: no trial starts from this call on, and those running go on as the
        scheduler decides (Optuna's ``study.stop()``). The study is not over: its next ``run``
        goes on. Call it from a callback (``rung.Callback.on_turn``; the study is the one
        ``on_start`` was given) or from another thread.

        Raises:
            RuntimeError: no session of this study runs now.
        """
        if self._stop_asked is None:
            raise RuntimeError(
                "study.stop() ends the session running now (study.run or study.simulate), "
                "and none runs: call it from a callback (rung.Callback.on_turn) while one does")
        self._stop_asked = True

    def _asked_to_stop(self) -> bool:
        """Whether ``stop`` was called during the session running now (the driver asks)."""
        return bool(self._stop_asked)

    def _say_stopped(self, rep: Reporter | None) -> None:
        """After a session ``stop`` ended, one line saying so."""
        engine = getattr(self, "engine", None)
        # (a stop asked once the budget had nothing left to start: the budget ended it)
        left = engine is not None and engine.summary().get("budget_left", False)
        if rep is not None and self._stop_asked and left:
            name = getattr(self, "name", "")
            rep.emit(logging.INFO, f"study {name}: stopped by study.stop(); its next run goes "
                                   "on")


__all__ = ["StudyStop"]
