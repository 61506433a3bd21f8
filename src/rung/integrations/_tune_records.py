"""What ``rung.integrations.ray_tune`` journals about a Tune trial: its params (Tune's trial id
and config, ``tune_params``) and a failed trial's error (``tune_error``). Needs no Ray: private.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

#: a failed trial's error as ``RungSearcher`` records it: Tune's ``Searcher`` hook is told
#: only that the trial errored
SEARCHER_ERROR = ("the Tune trial errored (Ray Tune tells a searcher no more: its error is in "
                  "the trial's error.txt)")


#: the param under which ``RungScheduler`` journals a trial's Tune trial id
TUNE_TRIAL_ID = "tune.trial_id"


def tune_params(trial: Any) -> dict[str, Any]:
    """What ``RungScheduler`` journals as a Tune trial's params: ``tune.trial_id`` (Tune's
    id, as in its results and directories), then its config flattened as Tune's result
    tables flatten it (``{"model": {"depth": 3}}`` -> ``model/depth``); a value that is not
    a JSON scalar (a list, an object) as its JSON text, else its ``repr``."""
    out: dict[str, Any] = {TUNE_TRIAL_ID: str(trial.trial_id)}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping) and value:
            for k, v in value.items():
                walk(f"{prefix}/{k}" if prefix else str(k), v)
        elif value is None or isinstance(value, str | bool | int) or (
                isinstance(value, float) and math.isfinite(value)):
            out.setdefault(prefix, value)
        else:
            try:
                out.setdefault(prefix, json.dumps(value, allow_nan=False))
            except (TypeError, ValueError):
                out.setdefault(prefix, repr(value))

    config = getattr(trial, "config", None)
    if isinstance(config, Mapping):
        walk("", config)
    return out


#: terminal control sequences (Ray colours the task name in its traceback text)
_CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")


def tune_error(trial: Any) -> str:
    """The last failure Tune wrote to ``trial``'s error file, as a local run records a
    failure: ``"Traceback (most recent call last):"``, the frames, then the exception
    (``"ValueError: boom"``), so ``rung show`` groups Tune's failures by exception as it does
    local ones. Tune's header (``"Failure # 1 (occurred at <time>)"``), the Ray task line
    (``"ray::ImplicitFunc.train() (pid=..., ...)"``) and terminal colour codes are left out;
    an error with no traceback is kept as Tune wrote it, without them. A line says so when
    there is no error file."""
    path = getattr(trial, "error_file", None)
    text = ""
    if path:
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError as e:
            return f"the Tune trial errored; its error file {path} cannot be read: {e}"
    last = text.rfind("Failure # ")
    lines = _CONTROL.sub("", text[last:] if last >= 0 else text).strip().splitlines()
    if lines and lines[0].startswith("Failure # "):
        lines = lines[1:]
    return _as_traceback(lines) or "the Tune trial errored (Tune wrote no error file)"


def _as_traceback(lines: list[str]) -> str:
    """``lines`` (Ray's text of a task's error) as Python prints a traceback; as they are
    when they hold no frame followed by an exception line."""
    frames = [i for i, ln in enumerate(lines) if ln.startswith("  File ")]
    if frames:
        for j in range(frames[-1] + 1, len(lines)):
            if lines[j] and not lines[j][0].isspace():  # the exception, to the end
                return "\n".join(["Traceback (most recent call last):",
                                  *lines[frames[0]:j], *lines[j:]]).rstrip()
    return "\n".join(lines).strip()


__all__ = ["SEARCHER_ERROR", "TUNE_TRIAL_ID", "tune_error", "tune_params"]
