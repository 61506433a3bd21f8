"""The cost model's pure arithmetic: price tables, per-trial resources, money per hour.

``rung.cost.Prices`` is the user-facing value built on these functions; the engine uses them
directly (``rung.core`` imports nothing above it) to enforce ``Budget.max_cost`` and
``Budget.max_gpu_hours``.

Devices are named ``"cpu"``, ``"gpu"`` and ``"gpu:<TYPE>"`` (``"gpu:A100"``), compared without
regard to case: the canonical name is in lower case but for a GPU's type, which is in capitals
(``"GPU:a100"`` is ``"gpu:A100"``, as Ray reports the type ``A100``). A price is money
per device-hour. Resources are devices held by one running trial (``{"cpu": 4, "gpu:A100":
1}``; fractions allowed). Rules, documented in docs/cost.md:

- a typed GPU without its own price is charged at the ``"gpu"`` price;
- a device with no price at all costs nothing: the table prices what you pay for (leave the CPUs
  out when they come with a GPU instance's price). Device-hours are counted all the same;
- Ray's spellings (``CPU``, ``GPU``, ``num_cpus``, ``num_gpus``) are accepted for resources;
  ``memory`` and custom Ray resources are not devices and are dropped by ``from_ray``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from rung._validate import is_number
from rung.errors import ConfigError

#: what a trial holds when neither the executor nor the study says: one CPU
DEFAULT_RESOURCES: Mapping[str, float] = {"cpu": 1.0}

_ALIASES = {"cpu": "cpu", "gpu": "gpu", "num_cpus": "cpu", "num_gpus": "gpu"}


#: the characters of a GPU type as Ray and the clouds write them (A100-80G, H100_SXM, L4)
_GPU_TYPE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")


def _gpu_type(typ: str) -> bool:
    """``typ`` names a GPU type: letters, digits, ``_ . -``, starting with a letter or digit."""
    return bool(typ) and typ[0].isascii() and typ[0].isalnum() and set(typ) <= _GPU_TYPE_CHARS


def device_key(key: str, where: str) -> str:
    """The canonical device name of ``key`` (``"CPU"`` -> ``"cpu"``, ``"gpu:a100"`` ->
    ``"gpu:A100"``: a GPU's type in capitals, so that a price matches whatever case the type is
    written or reported in): raises ``ConfigError(key=f"{where}.{key}")`` for anything that is
    not a device."""
    if isinstance(key, str):
        alias = _ALIASES.get(key.lower())
        if alias is not None:
            return alias
        kind, sep, typ = key.partition(":")
        if sep and kind.lower() == "gpu" and _gpu_type(typ):
            return f"gpu:{typ.upper()}"
    raise ConfigError(
        key=f"{where}.{key}",
        message="unknown device (use 'cpu', 'gpu' or 'gpu:<TYPE>', e.g. 'gpu:A100'; a type is "
        "letters, digits and _ . -)",
    )


def _amount(where: str, key: Any, value: Any) -> float:
    if is_number(value) and math.isfinite(float(value)) and float(value) >= 0:
        return float(value)
    raise ConfigError(key=f"{where}.{key}", message=f"must be a finite number >= 0, got {value!r}")


def check_table(value: Any, where: str) -> dict[str, float]:
    """A ``{device: amount}`` mapping, keys canonical, amounts finite and >= 0; ``where`` is the
    spec key errors are named under (``"prices"``, ``"resources_per_trial"``)."""
    if not isinstance(value, Mapping):
        raise ConfigError(
            key=where, message=f"must be a mapping of device to number, got {value!r}"
        )
    out: dict[str, float] = {}
    for k, v in value.items():
        name = device_key(k, where)
        if name in out:
            raise ConfigError(key=f"{where}.{k}", message=f"device {name!r} given twice")
        out[name] = _amount(where, k, v)
    return out


def hourly_rate(prices: Mapping[str, float], resources: Mapping[str, float]) -> float:
    """Money per hour for one trial holding ``resources`` (both canonical, see
    ``check_table``): the sum over devices of amount x price, a typed GPU falling back to the
    ``"gpu"`` price, an unpriced device costing nothing."""
    total = 0.0
    for device, amount in resources.items():
        price = prices.get(device)
        if price is None and device.startswith("gpu:"):
            price = prices.get("gpu")
        if price is not None:
            total += amount * price
    return total


def check_rate(prices: Mapping[str, float], resources: Mapping[str, float]) -> float:
    """``hourly_rate(prices, resources)`` (both canonical, see ``check_table``), refused when
    it is not a finite number: each price and amount is finite, but a product or their sum
    can overflow a float (``prices: {cpu: 1e308}`` with ``resources_per_trial: {cpu: 2}``),
    and every cost, budget and plan would then be ``inf`` or ``nan``. Called where prices
    and what a trial holds meet, before anything is written (``check_spendable``, the spec's
    cost keys, ``rung.plan``).

    Raises:
        ConfigError: keyed ``prices.<device>``, the price at which the rate stops being
            finite (``prices.gpu`` for a typed GPU charged at the ``"gpu"`` price).
    """
    total = 0.0
    for device, amount in resources.items():
        key = device if device in prices or not device.startswith("gpu:") else "gpu"
        price = prices.get(key)
        if price is None:
            continue
        total += amount * price
        if not math.isfinite(total):
            raise ConfigError(key=f"prices.{key}", message=(
                f"{price:g} per device-hour for {device}={amount:g} a trial holds"
                + (" (with the devices before it)" if math.isfinite(amount * price) else "")
                + " is not a finite hourly rate (it overflows a float): price in larger "
                "units of money, or hold fewer devices"))
    return total


def reported_resources(prices: Mapping[str, float], reported: Mapping[str, float],
                       held: Mapping[str, float]) -> dict[str, float]:
    """What a run launched after an executor's report (``CapacityChanged.resources``) holds:
    ``reported`` (canonical, see ``check_table``), unless at ``prices`` its hourly rate is not
    a finite number (``check_rate`` would refuse it: an executor reported ``cpu=1e308``
    under a price of 2), in which case ``held``, what runs held before the report, stays in
    effect, so no cost, budget check or plan becomes ``inf`` or ``nan``. The same rule for the
    engine's ``Meter``, the ledger's fold and the planner's pilot; the driver warns when it
    applies (``rung.driver.warn_unpriceable``). A session's first report is refused outright
    before anything is journaled (``rung.driver.check_reported_resources``)."""
    try:
        check_rate(prices, reported)
    except ConfigError:
        return dict(held)
    return dict(reported)


def gpus(resources: Mapping[str, float]) -> float:
    """GPUs of any type in ``resources`` (what ``Budget.max_gpu_hours`` counts)."""
    return sum(a for d, a in resources.items() if d == "gpu" or d.startswith("gpu:"))


def check_spendable(
    max_cost: float | None,
    max_gpu_hours: float | None,
    prices: Mapping[str, float],
    resources_per_trial: Mapping[str, float] | None,
    reported: bool = False,
) -> None:
    """Refuse a budget that trials would never spend where a trial holds the study's
    ``resources_per_trial`` (canonical, see ``check_table``), else one CPU: no executor says
    otherwise (``local``; ``simulated`` without its own resources), or the study says what a
    trial holds. A run bounded by the budget alone would never end.

    Raises ``ConfigError`` keyed ``prices.<device>`` when the hourly rate is not finite
    (``check_rate``, checked first, whatever the budget), ``budget.max_cost`` when
    ``prices`` (canonical, non-empty: an empty table is ``StudySpec``'s to refuse) charge
    nothing a trial holds, and
    ``budget.max_gpu_hours`` when a trial holds no GPU. Called where a study is created with
    ``resources_per_trial`` (``Study.create`` / ``from_spec``), by ``Study.run`` / ``simulate``
    for an executor that reports no devices, and by the CLI before it writes anything; never
    where a stored spec is read back (a journal written before this rule still loads).
    ``reported``: ``resources_per_trial`` is what the session's executor says a trial holds
    (``rung.driver.check_reported_resources``), and the message says so."""
    given = resources_per_trial
    resources = DEFAULT_RESOURCES if given is None else given
    check_rate(prices, resources)
    held = (f"{_listed(resources)} (as its executor reports)" if reported
            else trial_holds(given))
    if max_cost is not None and prices and hourly_rate(prices, resources) <= 0:
        raise ConfigError(key="budget.max_cost", message=f"would never be spent: a trial holds "
                          f"{held} and prices {dict(prices)} charge none of it")
    if max_gpu_hours is not None and not gpus(resources):
        raise ConfigError(key="budget.max_gpu_hours", message=f"would never be spent: a trial "
                          f"holds {held}; say what it holds, e.g. resources_per_trial: {{gpu: 1}}")


def _listed(resources: Mapping[str, float]) -> str:
    """``"cpu=2, gpu=1"`` (sorted), ``"nothing"`` for no device."""
    return ", ".join(f"{k}={v:g}" for k, v in sorted(resources.items())) or "nothing"


def trial_holds(resources_per_trial: Mapping[str, float] | None) -> str:
    """What a trial holds where no executor says, and why, for a message: ``"cpu=2
    (resources_per_trial)"``, or ``"cpu=1 (no resources_per_trial: one CPU)"`` when none is
    given. ``resources_per_trial`` is canonical (see ``check_table``)."""
    given = resources_per_trial
    resources = DEFAULT_RESOURCES if given is None else given
    held = _listed(resources)
    whose = "resources_per_trial" if given is not None else "no resources_per_trial: one CPU"
    return f"{held} ({whose})"


def from_ray(resources: Mapping[str, float]) -> dict[str, float]:
    """Devices in Ray's normalized per-trial resources (``{"CPU": 1, "GPU": 0.5, "memory":
    ...}``): ``CPU`` and ``GPU`` only; an ``accelerator_type:<T>`` resource types the GPU."""
    out: dict[str, float] = {}
    cpu = float(resources.get("CPU", 0.0))
    if cpu > 0:
        out["cpu"] = cpu
    gpu = float(resources.get("GPU", 0.0))
    if gpu > 0:
        typ = next((k.split(":", 1)[1] for k in resources
                    if k.startswith("accelerator_type:") and k.split(":", 1)[1]), None)
        out["gpu" if typ is None else f"gpu:{typ.upper()}"] = gpu
    return out


__all__ = [
    "DEFAULT_RESOURCES",
    "check_rate",
    "check_spendable",
    "check_table",
    "device_key",
    "from_ray",
    "gpus",
    "hourly_rate",
    "trial_holds",
]
