"""Spec keys of issue 18: ``fidelity`` (a ``rung.Fidelity``: ``{name, values}`` or ``{name,
low, high, eta}``; it sets ``max_step`` unless the spec gives the same one) and
``points_to_evaluate`` (a list of configurations, possibly partial, run first, in order).

::

    fidelity: {name: samples, values: [1000, 3000, 9000, 27000]}
    points_to_evaluate:
      - {lr: 0.01, width: 64}
      - {opt: sgd}
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from rung.cli.spec_error import SpecError, wrap
from rung.core.records import StudySpec
from rung.space import Fidelity

#: the top-level keys this module reads
EXTRA_KEYS = ("fidelity", "points_to_evaluate")


def spec_fidelity(top: Mapping[str, Any]) -> Fidelity | None:
    """The spec's ``fidelity``, or ``None``; ``SpecError`` naming ``spec.fidelity.<key>``."""
    value = top.get("fidelity")
    if value is None:
        return None
    fidelity: Fidelity = wrap(lambda: Fidelity.from_json(value))
    return fidelity


def with_extras(top: Mapping[str, Any], study: StudySpec, fidelity: Fidelity | None) -> StudySpec:
    """``study`` with the spec's fidelity and points to evaluate (validated against the space:
    ``spec.points_to_evaluate[i].<name>``)."""
    points = top.get("points_to_evaluate") or ()
    if not isinstance(points, list | tuple):
        raise SpecError("spec.points_to_evaluate", f"must be a list of configurations, got "
                        f"{type(points).__name__}")
    if fidelity is None and not points:
        return study
    replaced: StudySpec = wrap(lambda: dataclasses.replace(
        study, fidelity=fidelity, points_to_evaluate=tuple(points)))
    return replaced


__all__ = ["EXTRA_KEYS", "spec_fidelity", "with_extras"]
