"""What Ray refuses only once it runs, refused when a ``RayExecutor`` is built.

Ray checks ``ray.init``'s keyword arguments when ``ray.init`` runs, an actor's options when
the actor class is built, and a Ray instance started on this machine without GPUs never holds
a trial that needs one: all three came after ``rung run`` had created the study (and after
``Study.run`` had claimed it), so the spec that was then fixed was refused as another
study's. The checks here run in ``RayExecutor.__init__`` (and ``use_study_resources``), which
the spec check and ``Study.run`` call before anything is written; each raises a
``ConfigError`` keyed relative to the executor's options (``ray_init.<key>``,
``actor_options.<key>``, ``resources_per_trial.gpu``). Nothing starts.

They read what Ray itself checks against (``ray.init``'s signature, the actor options Ray
validates, Ray's count of this machine's GPUs) and import Ray only when there is something to
check (a ``ray_init`` or ``actor_options`` given, a GPU this machine seems not to have). When
what they read has moved in another Ray version, the check is skipped and Ray refuses the
argument when it runs, as before.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import os
import warnings
from collections.abc import Mapping
from typing import Any

from rung._validate import close_hint
from rung.errors import ConfigError
from rung.executors.ray.resources import trials_per_node
from rung.executors.ray.transport import first_line

#: ``ray.init`` arguments Ray Client's builder takes besides ``ray.init``'s own (with a
#: ``ray://`` address; without one, ``ray.init`` refuses them)
_CLIENT_ONLY = ("allow_multiple",)
#: where Ray keeps the actor options it validates (``actor_options``, ``validate_actor_options``)
_OPTION_MODULES = ("ray._common.ray_option_utils", "ray._private.ray_option_utils")


def _import(name: str) -> Any:
    """The module ``name``, or ``None`` when it cannot be imported (not installed, moved)."""
    try:
        return importlib.import_module(name)
    except Exception:
        return None


def init_keywords(ray: Any) -> list[str] | None:
    """The keyword arguments ``ray.init`` declares, in its order (``address`` included), or
    ``None`` when its signature does not say (a wrapper that hides it)."""
    try:
        params = inspect.signature(ray.init).parameters.values()
    except (TypeError, ValueError):
        return None
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    names = [p.name for p in params if p.kind in kinds]
    return names or None


def _client_address(address: str | None, ray_init: Mapping[str, Any]) -> bool:
    """Whether ``ray.init`` would go through Ray Client (a ``scheme://`` address: the
    executor's, else ``ray_init``'s, else ``RAY_ADDRESS`` in place of ``None`` / ``"auto"``)."""
    addr = address if address is not None else ray_init.get("address")
    if addr is None or addr == "auto":
        addr = os.environ.get("RAY_ADDRESS") or addr
    return isinstance(addr, str) and "://" in addr


def check_ray_init(ray_init: Mapping[str, Any], address: str | None) -> None:
    """Refuse a key of ``ray_init`` that ``ray.init`` does not take: ``ConfigError`` keyed
    ``ray_init.<key>``, ``"not a keyword argument of ray.init (did you mean 'num_cpus'?)"``.

    Taken: every argument ``ray.init``'s signature names, every key that starts with ``_``
    (Ray's private arguments, which it reads from ``**kwargs``: Ray checks them) and, with a
    Ray Client address, ``allow_multiple``. Nothing is refused when Ray cannot be imported or
    its signature does not say (``ray.init`` refuses the key when it runs, as before)."""
    if not ray_init:
        return
    ray = _import("ray")
    known = None if ray is None else init_keywords(ray)
    if known is None:
        return
    client = _client_address(address, ray_init)
    for key in ray_init:
        name = str(key)
        if name in known or (name.startswith("_") and isinstance(key, str)):
            continue
        if name in _CLIENT_ONLY:
            if client:
                continue
            raise ConfigError(key=f"ray_init.{name}", message=(
                "an argument of Ray Client's: ray.init takes it only with a ray:// address"))
        hint = close_hint(name, [k for k in known if k != "address"], given=ray_init)
        raise ConfigError(key=f"ray_init.{name}",
                          message=f"not a keyword argument of ray.init{hint}")


def _ray_actor_options() -> tuple[Mapping[str, Any], Any] | None:
    """Ray's table of actor options (name -> its ``Option``, whose ``validate(name, value)``
    checks a value) and the module it is in, or ``None`` when Ray does not have it where
    rung looks (``_OPTION_MODULES``)."""
    for path in _OPTION_MODULES:
        mod = _import(path)
        table = getattr(mod, "actor_options", None)
        if isinstance(table, Mapping) and table:
            return table, mod
    return None


def check_actor_options(actor_options: Mapping[str, Any], own: Mapping[str, str]) -> None:
    """Refuse an actor option Ray does not know, or a value Ray refuses for it: ``ConfigError``
    keyed ``actor_options.<key>`` (``"not an option of Ray actors (did you mean ...?) (Ray
    takes ...)"``, the close match one of ``own`` when no other is close: ``num_cpu``;
    ``"Ray refuses 'x': <Ray's reason>"``), or ``actor_options`` for a
    combination Ray refuses (``get_if_exists`` without ``name``; ``concurrency_groups``,
    which ``.options()`` does not take). ``own``: the options the executor sets itself
    (refused before this is called), left out of the list of what Ray takes.

    Checked against the table Ray validates actor options with (``_OPTION_MODULES``); when
    it is not there (another Ray version), nothing is refused here and Ray refuses the option
    when the actors are built, as before."""
    if not actor_options:
        return
    found = _ray_actor_options()
    if found is None:
        return
    table, mod = found
    for key, value in actor_options.items():
        where = f"actor_options.{key}"
        option = table.get(key) if isinstance(key, str) else None
        if option is None:
            takes = [k for k in table if not k.startswith("_") and k not in own]
            hint = close_hint(str(key), takes, given=actor_options)
            near = next((n for n in own if close_hint(str(key), [n])), None)
            if not hint and near is not None:  # num_cpu: rung sets num_cpus itself
                hint = f" (did you mean {near!r}? not an option here: {own[near]})"
            raise ConfigError(key=where, message=(
                f"not an option of Ray actors{hint} (Ray takes {', '.join(takes)})"))
        validate = getattr(option, "validate", None)
        if callable(validate):
            try:
                validate(key, value)
            except (TypeError, ValueError) as e:
                raise ConfigError(key=where, message=(
                    f"Ray refuses {value!r}: {first_line(str(e))}")) from None
    validate_all = getattr(mod, "validate_actor_options", None)
    if callable(validate_all):
        try:
            with warnings.catch_warnings():  # Ray's deprecation warnings: once, when it runs
                warnings.simplefilter("ignore")
                validate_all(dict(actor_options), in_options=True)
        except (TypeError, ValueError) as e:
            raise ConfigError(key="actor_options", message=first_line(str(e))) from None


def _ray_gpu_count() -> int | None:
    """The GPUs Ray gives a Ray instance it starts on this machine without ``num_gpus``
    (its accelerator manager's count, capped by the devices this process may see), or
    ``None`` when Ray cannot say."""
    accelerators = _import("ray._private.accelerators")
    with contextlib.suppress(Exception):
        manager = accelerators.get_accelerator_manager_for_resource("GPU")
        n = int(manager.get_current_node_num_accelerators())
        visible = manager.get_current_process_visible_accelerator_ids()
        if visible is not None:
            n = min(n, len(visible))
        return n
    return None


def check_local_gpus(
    resources: Mapping[str, float], address: str | None, ray_init: Mapping[str, Any]
) -> None:
    """Refuse a trial needing more GPUs (``resources["GPU"]``, normalized) than the Ray
    instance the executor would start on this machine has: ``ConfigError`` keyed
    ``resources_per_trial.gpu``, saying that no node of that local instance can hold it (no
    other node ever joins it).

    The instance has ``ray_init``'s ``num_gpus`` when given, else the GPUs of this machine:
    ``rung.executors.local_devices.visible_gpus()`` (``CUDA_VISIBLE_DEVICES``, else the
    NVIDIA driver's list), or Ray's own count when it finds more (a GPU the driver's list
    does not show), so that nothing Ray would place is refused. Only a local instance the
    executor starts is checked (``connect.starts_local_instance``); a cluster to join, or a
    connection this process has already, is read when the run starts."""
    from rung.executors.local_devices import visible_gpus
    from rung.executors.ray.connect import starts_local_instance

    need = float(resources.get("GPU", 0.0))
    if need <= 0:
        return
    given: Any = ray_init.get("num_gpus")
    machine = not isinstance(given, int | float) or isinstance(given, bool)
    if not machine:
        have, has = float(given), f"ray_init's num_gpus={given!r}"
    else:
        have = float(len(visible_gpus()))
        has = f"this machine's {have:g} GPUs"
        if "CUDA_VISIBLE_DEVICES" in os.environ:
            has += f" (CUDA_VISIBLE_DEVICES={os.environ['CUDA_VISIBLE_DEVICES']!r})"
    if trials_per_node({"GPU": have}, {"GPU": need}) != 0:
        return
    if not starts_local_instance(address, ray_init):
        return
    if machine and trials_per_node({"GPU": float(_ray_gpu_count() or 0)},
                                         {"GPU": need}) != 0:
        return  # Ray finds GPUs the NVIDIA driver's list does not show
    raise ConfigError(key="resources_per_trial.gpu", message=(
        f"a trial needs {need:g} GPU{'s' if need > 1 else ''}, but no node of the local Ray "
        f"instance this executor starts can hold it: that instance has {has}, and no other "
        f"node joins it; ask for fewer, or connect to a cluster that has them (address=...)"))

__all__ = ["check_actor_options", "check_local_gpus", "check_ray_init", "init_keywords"]
