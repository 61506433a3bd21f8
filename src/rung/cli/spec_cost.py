"""The cost model's keys of a YAML spec: ``prices`` and ``resources_per_trial``.

```yaml
prices: {cpu: 0.04, gpu: 2.0, "gpu:A100": 3.2}   # money per device-hour
resources_per_trial: {cpu: 4, "gpu:A100": 1}     # what one trial holds (default: one CPU)
budget: {max_cost: 40, stop: auto}               # budget.max_cost / max_gpu_hours / stop
```

Both are checked by ``StudySpec`` (``rung.core.pricing``); errors name the key under ``spec.``
(``spec.prices.tpu: unknown device ...``). A spec whose trials run on an executor that reports
no devices (``local``, ``simulated``: a trial holds ``resources_per_trial``, else one CPU) is
refused when its ``budget.max_cost`` or ``budget.max_gpu_hours`` could never be spent (nothing
a trial holds is priced; no trial holds a GPU: ``rung.core.pricing.check_spendable``, the check
``Study.run`` makes): such a run would never end by its budget; so is a stop rule with ``value``
(money per unit of improvement) when a trial costs nothing: it would never stop; and so is a
stop rule for several objectives (``metric: [a, b]``: the rule models one). All before
anything is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rung.cli.spec_error import SpecError, kind_of, wrap
from rung.core.pricing import DEFAULT_RESOURCES, check_rate, check_spendable, check_table
from rung.errors import ConfigError

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
                            f"(cpu, gpu, gpu:<TYPE>), got {kind_of(value)}")
        out[key] = dict(value)
    _check_rate(out)
    # Ray reports what a trial holds (what its actor reserves: resources_per_trial when given,
    # which Study.from_spec checks too); the other executors report nothing
    if top.get("executor") != "ray" or out.get("resources_per_trial") is not None:
        _check_spendable(top.get("budget"), out)
    budget, metric = top.get("budget"), top.get("metric")
    if isinstance(budget, Mapping) and budget.get("stop") is not None \
            and isinstance(metric, list):
        from rung.cost.stop_rule import check_objectives

        wrap(lambda: check_objectives([str(m) for m in metric]))
    return out


def _check_rate(fields: Mapping[str, Any]) -> None:
    """Refuse prices and ``resources_per_trial`` whose hourly rate overflows a float
    (``rung.core.pricing.check_rate``, keyed ``spec.prices.<device>``), whatever the budget:
    every cost and the ledger would be ``inf`` or ``nan``. A malformed table is left to
    ``StudySpec``, which names its key."""
    try:
        prices = check_table(fields.get("prices", {}), "prices")
        given = check_table(fields.get("resources_per_trial", DEFAULT_RESOURCES),
                            "resources_per_trial")
    except ConfigError:
        return
    wrap(lambda: check_rate(prices, given))


def _check_spendable(budget: Any, fields: Mapping[str, Any]) -> None:
    """Refuse a ``max_cost`` or ``max_gpu_hours`` that what a trial holds never spends
    (``rung.core.pricing.check_spendable``, keyed ``spec.budget...``), and a stop rule with
    ``value`` that a trial costing nothing never fires. A malformed table or budget is left to
    ``StudySpec`` and ``Budget``, which name its key."""
    if not isinstance(budget, Mapping):
        return
    try:
        prices = check_table(fields.get("prices", {}), "prices")
        given = fields.get("resources_per_trial")
        given = None if given is None else check_table(given, "resources_per_trial")
    except ConfigError:
        return
    wrap(lambda: check_spendable(budget.get("max_cost"), budget.get("max_gpu_hours"), prices,
                                 given))
    if budget.get("stop") is not None:
        from rung.cost.stop_rule import check_value_priced

        wrap(lambda: check_value_priced(budget.get("stop"), prices, given))


__all__ = ["COST_KEYS", "cost_fields"]
