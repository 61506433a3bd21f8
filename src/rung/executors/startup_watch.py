"""Bounding worker start-up: a run whose workers never load the objective ends.

Worker start-up (importing the objective's module, loading what it loads at import) is not a
trial's time: ``trial_timeout`` and the session's ``max_time`` count from a trial's dispatch to
a ready worker. A start-up that never ends (an import that waits on a dead network mount, a
lock, a download that stalls) would therefore hold a run forever with its trials queued.
``StartupWatch`` bounds it while launches wait and no worker of the session is ready:

- after ``WARN_AFTER`` seconds it says so once (``rung: no worker process has loaded the
  objective after 60 s; ...``), on the run reporter's path;
- after the session's own bound it raises ``RungError``, which ends the run (the journal
  intact; the trials queued were never started): ``trial_timeout`` when the study has one
  (one trial may take no longer, its start-up included), else the session's ``max_time``
  plus ``MAX_TIME_GRACE``; without either there is no bound, as for a trial that hangs (the
  warning is then what the user sees).
"""

from __future__ import annotations

import logging
import time

from rung.errors import RungError

#: Seconds without a ready worker, launches waiting, before the run says so.
WARN_AFTER = 60.0


class StartupWatch:
    """Tracks how long launches have waited for a first ready worker of a session.

    Args:
        what: the objective's name, for the messages.
        trial_timeout, max_time: the session's bounds (``RunContext``); ``grace``: seconds
            added to ``max_time`` (``MAX_TIME_GRACE``).
        warn_after: seconds before the warning.
    """

    def __init__(self, what: str, trial_timeout: float | None, max_time: float | None,
                 grace: float, warn_after: float = WARN_AFTER) -> None:
        self.what = what
        self.warn_after = warn_after
        self.limit: float | None = None
        self.key = ""
        if trial_timeout is not None:
            self.limit, self.key = trial_timeout, f"trial_timeout ({trial_timeout:g} s)"
        elif max_time is not None:
            self.limit, self.key = max_time + grace, f"max_time ({max_time:g} s)"
        self.lines: list[str] = []  # what the watch said
        self._since: float | None = time.monotonic()  # None: a worker is ready
        self._warned = False

    def check(self, waiting: bool, any_ready: bool, timeout: float | None) -> float | None:
        """Called at each poll with whether launches wait and whether any worker is ready;
        warns or raises (see the module docstring) and returns ``timeout`` shortened to the
        next moment the watch has something to do."""
        now = time.monotonic()
        if any_ready or not waiting:
            self._since = None if any_ready else self._since
            if any_ready:
                self._warned = False
            return timeout
        if self._since is None:
            self._since = now
        waited = now - self._since
        if self.limit is not None and waited >= self.limit:
            raise RungError(
                f"no worker process loaded the objective {self.what} within {self.key}: "
                f"importing its module (or what it loads at import) does not end; the trials "
                f"that waited were never started")
        if not self._warned and waited >= self.warn_after:
            self._warned = True
            bound = (f"the run ends at {self.key}" if self.limit is not None
                     else "nothing bounds this wait (set trial_timeout or Budget(max_time=...))")
            self._say(f"no worker process has loaded the objective {self.what} after "
                      f"{waited:.0f} s; is its import stuck? {bound}")
        nxt = [t for t in (self.limit, None if self._warned else self.warn_after)
               if t is not None]
        if not nxt:
            return timeout
        wait = max(0.0, min(nxt) - waited)
        return wait if timeout is None else min(timeout, wait)

    def _say(self, text: str) -> None:
        from rung.reporter import Reporter

        self.lines.append(text)
        Reporter().emit(logging.WARNING, text)


__all__ = ["WARN_AFTER", "StartupWatch"]
