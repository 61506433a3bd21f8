"""Per-trial resources in Ray's spelling, and how many trials a cluster holds at once."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from rung.errors import ConfigError

# Accelerator resources that Ray splits per device: a fraction must fit on one device.
_UNIT_RESOURCES = frozenset({"GPU", "TPU", "NPU", "HPU", "neuron_cores"})
_EPS = 1e-6
_ALIASES = {"cpu": "CPU", "gpu": "GPU", "num_cpus": "CPU", "num_gpus": "GPU"}
# What a trial asks of ``accelerator_type:<TYPE>`` (a node with that GPU type has 1 of it):
# enough to be placed only there, too little to limit how many trials the node holds.
_TYPE_SLIVER = 0.001


def normalize_resources(resources: Mapping[str, Any] | None) -> dict[str, float]:
    """Per-trial resources in Ray's spelling.

    ``cpu`` / ``gpu`` (any case) become ``CPU`` / ``GPU``; ``memory`` is in bytes; any other
    key is a custom Ray resource. ``CPU`` defaults to 1 when not given (as in Ray Tune); pass
    ``{"cpu": 0, ...}`` for trials that need none. Raises ``ConfigError`` for negative or
    non-numeric amounts and for GPU requests above 1 that are not whole numbers (Ray's rule).
    """
    if resources is not None and not isinstance(resources, Mapping):
        raise ConfigError(key="resources_per_trial", message=(
            f"must be a mapping of resource to amount (e.g. {{'cpu': 1, 'gpu': 0.5}}), "
            f"got {resources!r}"))
    out: dict[str, float] = {}
    given: dict[str, str] = {}  # Ray's name -> the key as the user spelt it, for errors
    for key, value in (resources or {}).items():
        name = _ALIASES.get(str(key).lower(), str(key))
        where = f"resources_per_trial.{key}"
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(key=where, message=f"expected a number, got {value!r}")
        amount = float(value)
        if not math.isfinite(amount) or amount < 0:
            raise ConfigError(key=where, message=f"must be >= 0, got {value!r}")
        if name in out:
            raise ConfigError(key=where, message=f"{name} given twice (as {given[name]!r} too)")
        out[name] = amount
        given[name] = str(key)
    out.setdefault("CPU", 1.0)
    for name in _UNIT_RESOURCES:
        amount = out.get(name, 0.0)
        if amount > 1 and not float(amount).is_integer():
            raise ConfigError(key=f"resources_per_trial.{given[name]}", message=(
                f"a request above 1 must be a whole number (Ray splits one device at most), "
                f"got {amount!r}"))
    return out


def from_devices(
    devices: Mapping[str, float], key: str = "resources_per_trial"
) -> dict[str, float]:
    """Ray's per-trial resources for a study's ``resources_per_trial`` (cost-model devices,
    canonical: ``{"cpu": 2, "gpu:A100": 1}``): exactly the devices listed, nothing added (no
    default CPU: ``{"gpu": 1}`` reserves one GPU and no CPU, as the ledger charges it). A typed
    GPU becomes ``GPU`` plus a sliver of Ray's ``accelerator_type:<TYPE>`` resource, which
    places the actor on a node with that type (and types the GPU back for the ledger:
    ``rung.core.pricing.from_ray``). ``ConfigError`` naming ``key`` for GPUs of several
    types, which one actor cannot hold."""
    out: dict[str, float] = {"CPU": float(devices.get("cpu", 0.0))}
    gpu_keys = sorted(d for d, a in devices.items() if d.startswith("gpu") and a > 0)
    if len(gpu_keys) > 1:
        raise ConfigError(key=key, message=(
            f"a Ray actor holds GPUs of one type, got {', '.join(gpu_keys)} in {dict(devices)}"))
    for device in gpu_keys:
        out["GPU"] = float(devices[device])
        if ":" in device:
            out[f"accelerator_type:{device.split(':', 1)[1]}"] = _TYPE_SLIVER
    return out


def actor_resource_options(resources: Mapping[str, float]) -> dict[str, Any]:
    """Ray actor options (``num_cpus``, ``num_gpus``, ``memory``, ``resources``) for
    normalized per-trial resources."""
    opts: dict[str, Any] = {"num_cpus": resources.get("CPU", 0.0),
                            "num_gpus": resources.get("GPU", 0.0)}
    if resources.get("memory", 0.0) > 0:
        opts["memory"] = resources["memory"]
    custom = {k: v for k, v in resources.items() if k not in ("CPU", "GPU", "memory") and v > 0}
    if custom:
        opts["resources"] = custom
    return opts


def trials_per_node(node: Mapping[str, float], resources: Mapping[str, float]) -> int | None:
    """How many trials needing ``resources`` a node with total resources ``node`` holds at once
    (``None``: the request is empty, so no limit). A fraction of a per-device resource (a GPU)
    must fit on one device, so a node with 2 GPUs holds 6 trials of 0.3 GPU, not 6.67."""
    n: int | None = None
    for name, need in resources.items():
        if need <= 0:
            continue
        have = float(node.get(name, 0.0))
        if name in _UNIT_RESOURCES and need < 1:
            fit = math.floor(have + _EPS) * math.floor(1.0 / need + _EPS)
        else:
            fit = math.floor(have / need + _EPS)
        n = fit if n is None else min(n, fit)
    return n


def cluster_capacity(
    nodes: Sequence[Mapping[str, Any]], resources: Mapping[str, float]
) -> int | None:
    """Trials the alive nodes of ``ray.nodes()`` hold at once (``None``: no limit)."""
    total: int | None = None
    for node in nodes:
        if not node.get("Alive", False):
            continue
        fit = trials_per_node(node.get("Resources", {}) or {}, resources)
        if fit is None:
            return None
        total = fit if total is None else total + fit
    return total if total is not None else 0


__all__ = [
    "actor_resource_options",
    "cluster_capacity",
    "from_devices",
    "normalize_resources",
    "trials_per_node",
]
