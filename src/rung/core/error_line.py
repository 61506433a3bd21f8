"""The one line rung shows for a trial's error (a run's failure lines, ``rung show``, the
dashboard, ``trials_dataframe``'s ``error_line``, ``Trial``'s repr)."""

from __future__ import annotations


def error_summary(error: str | None) -> str:
    """One line out of a trial's error: the exception line of a traceback
    (``ValueError: boom``: the first line after its last frame, with `` ...`` when the
    message goes on over more lines), else the first line of the text."""
    if not error:
        return "no reason given"
    lines = [ln.rstrip() for ln in error.strip().splitlines() if ln.strip()]
    if lines and lines[0].startswith("Traceback"):
        frames = [i for i, ln in enumerate(lines) if ln.startswith((" ", "\t"))]
        after = lines[frames[-1] + 1:] if frames else lines[1:]
        if after:
            return after[0] + (" ..." if len(after) > 1 else "")
    return lines[0] if lines else "no reason given"


__all__ = ["error_summary"]
