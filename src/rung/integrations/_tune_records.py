"""What ``rung.integrations.ray_tune`` journals about a Tune trial: its params (Tune's trial id
and config, ``tune_params``) and a failed trial's error (``tune_error``). Needs no Ray: private.
"""

from __future__ import annotations

import json
import math
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


def tune_error(trial: Any) -> str:
    """The last failure Tune wrote to ``trial``'s error file (``"Failure # n (occurred at
    ...)"`` and the error), or a line saying there is none."""
    path = getattr(trial, "error_file", None)
    text = ""
    if path:
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError as e:
            return f"the Tune trial errored; its error file {path} cannot be read: {e}"
    last = text.rfind("Failure # ")
    text = (text[last:] if last >= 0 else text).strip()
    return text or "the Tune trial errored (Tune wrote no error file)"


__all__ = ["SEARCHER_ERROR", "TUNE_TRIAL_ID", "tune_error", "tune_params"]
