"""The CLI's progress view: ``rung.progress.Progress``, shared with ``Study.run(progress=True)``
(kept importable from here)."""

from rung.progress import Progress

__all__ = ["Progress"]
