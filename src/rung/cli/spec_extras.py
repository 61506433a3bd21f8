"""Spec keys of issue 18: ``fidelity`` (a ``rung.Fidelity``: ``{name, values}`` or ``{name,
low, high, eta}``; it sets ``max_step`` unless the spec gives the same one) and
``points_to_evaluate`` (a list of configurations, possibly partial, run first, in order); and
``executor_options``, the options of the executor the spec names (``spec_executor_options``).

::

    fidelity: {name: samples, values: [1000, 3000, 9000, 27000]}
    points_to_evaluate:
      - {lr: 0.01, width: 64}
      - {opt: sgd}
    executor: ray
    executor_options:             # what Study.run(executor="ray", ...) takes, but n_workers
      address: auto               # and checkpoint_every, which are keys of their own
      transport: socket
      ray_init: {runtime_env: {pip: [scikit-learn]}}
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from rung.cli.spec_error import SpecError, close_hint, kind_of, wrap
from rung.core.records import StudySpec
from rung.errors import ConfigError
from rung.space import Fidelity

#: the top-level keys this module reads
EXTRA_KEYS = ("fidelity", "points_to_evaluate")
#: the top-level key of the executor's options (``spec_executor_options``)
EXECUTOR_KEYS = ("executor_options",)
#: executor options that are top-level keys of a spec: the spec key to use instead
_OWN_KEYS = {"checkpoint_every": "spec.checkpoint_every", "n_workers": "spec.n_workers",
             "max_concurrent": "spec.n_workers", "objective": "spec.objective"}


def spec_fidelity(top: Mapping[str, Any]) -> Fidelity | None:
    """The spec's ``fidelity``, or ``None``; ``SpecError`` naming ``spec.fidelity.<key>``."""
    value = top.get("fidelity")
    if value is None:
        return None
    fidelity: Fidelity = wrap(lambda: Fidelity.from_json(value))
    return fidelity


def with_extras(top: Mapping[str, Any], study: StudySpec, fidelity: Fidelity | None) -> StudySpec:
    """``study`` with the spec's fidelity and points to evaluate (validated against the space:
    ``spec.points_to_evaluate[i].<name>``). A spec for an executor that is not installed
    (``executor: ray`` without Ray) is refused here too (``check_installed``), and so is a
    budget Ray trials would never spend (``check_ray_budget``)."""
    check_installed(top.get("executor"))
    check_ray_budget(top, study)
    points = top.get("points_to_evaluate") or ()
    if not isinstance(points, list | tuple):
        raise SpecError("spec.points_to_evaluate", f"must be a list of configurations, got "
                        f"{type(points).__name__}")
    if fidelity is None and not points:
        return study
    replaced: StudySpec = wrap(lambda: dataclasses.replace(
        study, fidelity=fidelity, points_to_evaluate=tuple(points)))
    return replaced


def check_installed(executor: Any) -> None:
    """``SpecError`` naming ``spec.executor`` when the executor needs a package that is not
    installed (``ray``: ``pip install 'rung[ray]'``), checked without importing it."""
    if executor != "ray":
        return
    from rung.executors.ray.importing import check_ray_installed

    wrap(check_ray_installed)


def check_ray_budget(top: Mapping[str, Any], study: StudySpec) -> None:
    """With ``executor: ray``, refuse a ``budget.max_cost`` / ``budget.max_gpu_hours`` that
    what each actor reserves would never spend (``rung.executors.options.check_ray_budget``:
    the spec's ``resources_per_trial``, else ``executor_options.resources_per_trial``, else
    one CPU), keyed ``spec.budget...``: the run would be refused once Ray started, after the
    study was written. A malformed ``executor_options`` is left to
    ``spec_executor_options``."""
    from rung.executors import options as executor_options

    if top.get("executor") != "ray":
        return
    given = top.get("executor_options")
    given = given.get("resources_per_trial") if isinstance(given, Mapping) else None
    try:
        reserved = executor_options.ray_resources(study.resources_per_trial, given)
    except ConfigError:
        return  # named by spec_executor_options
    wrap(lambda: executor_options.check_ray_budget(study.budget, study.prices, reserved))


def spec_executor_options(
    top: Mapping[str, Any], executor: str, study: StudySpec, n_workers: int | None
) -> dict[str, Any]:
    """The spec's ``executor_options`` (``{}`` when none), checked as the executor checks them
    (by building it: nothing starts), for ``Study.run(executor=..., **options)``.

    Options are those of ``rung.executors.options.executor_option_names`` but for the ones
    the spec has keys of its own for (``n_workers``, ``checkpoint_every``). With ``executor:
    ray``, the spec's ``resources_per_trial`` (``study.resources_per_trial``: devices) is what
    each actor reserves; ``executor_options.resources_per_trial`` (Ray's spelling: ``memory``,
    custom resources) must hold the same devices. ``n_workers`` is the executor's limit
    (``max_concurrent`` for Ray).

    Raises:
        SpecError: one line naming ``spec.executor_options.<option>[.<key>]`` (or
            ``spec.executor`` for an executor that is not installed).
    """
    from rung.executors.options import executor_option_names, ray_resources

    check_installed(executor)
    value = top.get("executor_options")
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        raise SpecError("spec.executor_options", f"must be a mapping of option to value, "
                        f"got {kind_of(value)}")
    if value and executor == "simulated":
        raise SpecError("spec.executor_options", "not used by the simulated executor")
    names = [n for n in executor_option_names(executor) if n not in _OWN_KEYS]
    for key in value:
        where = f"spec.executor_options.{key}"
        if key in _OWN_KEYS:
            raise SpecError(where, f"give it as {_OWN_KEYS[key]}")
        if key not in names:
            raise SpecError(where, f"not an option of the {executor} executor"
                            f"{close_hint(key, names, given=value)} "
                            f"(it takes {', '.join(names)})")
    options = dict(value)
    if executor == "ray":
        try:
            chosen = ray_resources(study.resources_per_trial, options.get("resources_per_trial"),
                                   key="executor_options.resources_per_trial",
                                   study_key="spec.resources_per_trial")
        except ConfigError as e:
            raise SpecError(_rooted(e), e.message) from None
        _check_built(executor, {**options, "resources_per_trial": chosen}, n_workers,
                     spec_resources="resources_per_trial" not in options
                     and study.resources_per_trial is not None)
    elif executor == "local":  # laid out for the spec's resources_per_trial, on this machine
        _check_built(executor, {**options, "resources_per_trial": study.resources_per_trial},
                     n_workers)
    return options


def _check_built(executor: str, options: Mapping[str, Any], n_workers: int | None,
                 spec_resources: bool = False) -> None:
    """Build the executor with ``options`` (nothing starts) to check their values.
    ``spec_resources``: the executor's ``resources_per_trial`` is the spec's own (top-level
    key), so an error about it names ``spec.resources_per_trial``."""
    try:
        if executor == "ray":
            from rung.executors.ray.executor import RayExecutor

            RayExecutor(max_concurrent=n_workers, **options)
        else:
            from rung.executors.local import LocalExecutor

            LocalExecutor(n_workers=n_workers, **options)
    except ConfigError as e:
        message = e.message
        if e.key is None:  # "start_method: must be one of ...": the option leads the text
            head, sep, rest = message.partition(": ")
            if sep and head in options:
                e = ConfigError(key=head, message=rest)
        raise SpecError(_rooted(e, local=executor == "local" or spec_resources), e.message) \
            from None


def _rooted(e: ConfigError, local: bool = False) -> str:
    """The spec key of an executor's error: its key under ``spec.executor_options``, but for
    the spec's own keys the local executor's layout names (``local``: ``n_workers``,
    ``resources_per_trial``)."""
    if not e.key:
        return "spec.executor_options"
    if local and (e.key == "n_workers" or e.key.startswith("resources_per_trial")):
        return f"spec.{e.key}"
    if e.key.startswith("executor_options."):
        return f"spec.{e.key}"
    return f"spec.executor_options.{e.key}"


__all__ = [
    "EXECUTOR_KEYS",
    "EXTRA_KEYS",
    "check_installed",
    "spec_executor_options",
    "spec_fidelity",
    "with_extras",
]
