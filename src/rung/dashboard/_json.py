"""JSON-ready values for the dashboard's answers (JSON has no NaN or infinity)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def clean(x: Any) -> Any:
    """``x`` with non-finite floats as ``None`` (JSON has no NaN or infinity)."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, Mapping):
        return {str(k): clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [clean(v) for v in x]
    return x


def jclean(d: Mapping[str, Any]) -> dict[str, Any]:
    """``clean`` of a JSON object."""
    out: dict[str, Any] = clean(d)
    return out


__all__ = ["clean", "jclean"]
