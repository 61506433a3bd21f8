"""Helpers shared by the searcher tests: small studies driven through the public facade."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

import rung
from rung.storage import MemoryJournal


def branin(p: Mapping[str, Any]) -> float:
    x1, x2 = float(p["x1"]), float(p["x2"])
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


BRANIN_SPACE = {"x1": rung.Float(-5.0, 10.0), "x2": rung.Float(0.0, 15.0)}
BRANIN_OPT = 0.397887

MIXED_SPACE = {
    "lr": rung.Float(1e-5, 1e-1, log=True),
    "width": rung.Int(16, 512, log=True),
    "depth": rung.Int(1, 6),
    "drop": rung.Float(0.0, 0.5, step=0.05),
    "opt": rung.Categorical(["adam", "sgd", "rmsprop"]),
    "momentum": rung.Float(0.0, 0.99, when={"opt": "sgd"}),
    "nesterov": rung.Categorical([True, False], when={"opt": "sgd"}),
    "act": rung.Categorical(["relu", "tanh"], ordered=True),
    "tag": rung.Fixed("v1"),
}


def mixed_loss(p: Mapping[str, Any]) -> float:
    loss = (math.log10(p["lr"]) + 3) ** 2 + (math.log2(p["width"]) - 7) ** 2 / 4
    loss += abs(p["depth"] - 3) + p["drop"] + (0.0 if p["opt"] == "sgd" else 0.5)
    if p["opt"] == "sgd":
        loss += (p["momentum"] - 0.9) ** 2 + (0.0 if p["nesterov"] else 0.2)
    return loss + (0.1 if p["act"] == "tanh" else 0.0)


def make_study(
    searcher: Any,
    space: Mapping[str, Any] = BRANIN_SPACE,
    seed: int = 0,
    n_trials: int = 1000,
    **kw: Any,
) -> rung.Study:
    return rung.Study.create(
        "t", space, rung.Objective("loss", "min"), searcher=searcher,
        budget=rung.Budget(n_trials=n_trials), seed=seed, storage=MemoryJournal(), **kw,
    )


def run_sequential(
    study: rung.Study, f: Callable[[Mapping[str, Any]], float], n: int
) -> list[dict[str, Any]]:
    out = []
    for _ in range(n):
        t = study.ask()
        assert t is not None
        out.append(dict(t.params))
        study.tell(t.id, "completed", {"loss": f(t.params)})
    return out


def best(study: rung.Study) -> float:
    v = study.best_value()
    assert v is not None
    return v


def unit(study: rung.Study, params: Mapping[str, Any]) -> np.ndarray:
    return study.spec.space.to_unit(params)


def wave(study: rung.Study, n: int) -> list[dict[str, Any]]:
    """The params of ``n`` suggestions asked one after another with no results in between (a
    wave of ``n`` workers starting); the trials stay pending."""
    out = []
    for _ in range(n):
        t = study.ask()
        assert t is not None
        out.append(dict(t.params))
    return out


def pending_batch(study: rung.Study, n: int) -> np.ndarray:
    """``wave(study, n)`` as unit vectors: shape ``(n, d)``."""
    return np.array([unit(study, p) for p in wave(study, n)])
