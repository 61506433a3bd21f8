"""The cost model's keys of a YAML spec: ``prices`` and ``resources_per_trial``.

```yaml
prices: {cpu: 0.04, gpu: 2.0, "gpu:A100": 3.2}   # money per device-hour
resources_per_trial: {cpu: 4, "gpu:A100": 1}     # what one trial holds (default: one CPU)
budget: {max_cost: 40, stop: auto}               # budget.max_cost / max_gpu_hours / stop
```

Both are checked by ``StudySpec`` (``rung.core.pricing``); errors name the key under ``spec.``
(``spec.prices.tpu: unknown device ...``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rung.cli.spec_error import SpecError

COST_KEYS = ("prices", "resources_per_trial")


def cost_fields(top: Mapping[str, Any]) -> dict[str, Any]:
    """``StudySpec`` keyword arguments for the spec's cost keys (only those given)."""
    out: dict[str, Any] = {}
    for key in COST_KEYS:
        value = top.get(key)
        if value is None:
            continue
        if not isinstance(value, Mapping):
            raise SpecError(f"spec.{key}", "must be a mapping of device to number "
                            f"(cpu, gpu, gpu:<TYPE>), got {type(value).__name__}")
        out[key] = dict(value)
    return out


__all__ = ["COST_KEYS", "cost_fields"]
