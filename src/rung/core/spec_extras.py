"""The study spec's keys of issue 18, kept beside ``StudySpec`` (``rung.core.records``):
``fidelity`` (a ``rung.Fidelity``), ``define_by_run`` and ``points_to_evaluate`` (enqueued
configurations). All three are written to JSON only when set, so older specs read back
unchanged; ``check_point`` validates one enqueued configuration (``Study.enqueue`` too).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rung._validate import is_int, is_number
from rung.errors import ConfigError
from rung.space import Fidelity, Float, Int, SearchSpace

if TYPE_CHECKING:
    from rung.core.records import StudySpec


def check_extensions(spec: StudySpec) -> None:
    if spec.fidelity is not None:
        if not isinstance(spec.fidelity, Fidelity):
            object.__setattr__(spec, "fidelity", Fidelity.from_json(spec.fidelity))
        assert spec.fidelity is not None
        if spec.max_step != spec.fidelity.max_step:
            raise ConfigError(key="max_step", message=f"is {spec.max_step}, but the fidelity "
                              f"{spec.fidelity!r} ends at step {spec.fidelity.max_step}")
    if not isinstance(spec.define_by_run, bool):
        raise ConfigError(key="define_by_run", message=f"must be a boolean, got "
                          f"{spec.define_by_run!r}")
    pts = spec.points_to_evaluate
    if isinstance(pts, Mapping) or not isinstance(pts, Sequence) or isinstance(pts, str):
        raise ConfigError(key="points_to_evaluate", message=f"must be a list of "
                          f"configurations (mappings), got {pts!r}")
    checked = []
    for i, p in enumerate(pts):
        checked.append(check_point(spec.space, p, f"points_to_evaluate[{i}]",
                                   spec.define_by_run))
    object.__setattr__(spec, "points_to_evaluate", tuple(checked))


def check_point(
    space: SearchSpace, params: Any, key: str, define_by_run: bool = False
) -> dict[str, Any]:
    """An enqueued configuration checked against ``space`` (``ConfigError`` keyed
    ``<key>.<name>``). A define-by-run study accepts names its space does not know yet, and
    numbers outside the range it learned so far for a known integer or real parameter (that
    range spans only the calls trials have made: ``suggest_int("units", 1, depth)`` with
    ``depth = 8`` may not have run yet); the trial's ``suggest_*`` checks them against the
    distribution it declares, and a value that does not fit fails that trial."""
    if not isinstance(params, Mapping):
        raise ConfigError(key=key, message=f"must be a mapping of names to values, got "
                          f"{params!r}")
    if define_by_run:
        known = {k: v for k, v in params.items() if k in space}
        out = dict(params)
        for k, v in known.items():
            p = space[k]
            if isinstance(p, Int) and is_int(v):
                out[k] = int(v)
                continue
            if isinstance(p, Float) and is_number(v) and math.isfinite(v):
                out[k] = float(v)
                continue
            try:
                out[k] = p.validate(v)
            except ConfigError as e:
                raise ConfigError(key=f"{key}.{k}", message=e.message) from None
        for k, v in out.items():
            if not isinstance(k, str) or (not isinstance(v, str | int | float | bool) \
                    and v is not None):
                raise ConfigError(key=f"{key}.{k}", message=f"must be a JSON scalar, got {v!r}")
        return out
    try:
        return space.check_partial(params)
    except ConfigError as e:
        raise ConfigError(key=f"{key}.{e.key}" if e.key else key, message=e.message) from None


def extensions_json(spec: StudySpec) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if spec.fidelity is not None:
        out["fidelity"] = spec.fidelity.to_json()
    if spec.define_by_run:
        out["define_by_run"] = True
    if spec.points_to_evaluate:
        out["points_to_evaluate"] = [dict(p) for p in spec.points_to_evaluate]
    return out


def extensions_from_json(d: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if d.get("fidelity") is not None:
        out["fidelity"] = Fidelity.from_json(d["fidelity"], stored=True)
    if d.get("define_by_run"):
        out["define_by_run"] = True
    if d.get("points_to_evaluate"):
        out["points_to_evaluate"] = tuple(d["points_to_evaluate"])
    return out


__all__ = ["check_extensions", "check_point", "extensions_from_json", "extensions_json"]
