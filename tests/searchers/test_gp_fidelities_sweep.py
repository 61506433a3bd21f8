"""``GPSearcher(fidelities="all")`` under every rung-based scheduler, 1 and 8 workers, a
conditional space, first rungs where every result ties, NaN results, a constraint and two
objectives: every study runs its whole budget, and with one objective the lower steps were
weighed at its suggestions (slow lane: about 2 minutes)."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable, Mapping
from typing import Any

import pytest

import rung
from rung import ASHA, Budget, Objective, Study
from rung.schedulers import AsyncHyperband, Hyperband, MedianStoppingRule, SuccessiveHalving
from rung.searchers import GPSearcher
from rung.searchers import gp as gp_module
from rung.storage import MemoryJournal

pytestmark = pytest.mark.slow

SPACE = rung.SearchSpace({
    "opt": rung.Categorical(["sgd", "adam", "rms"]),
    "lr": rung.Float(1e-4, 1.0, log=True),
    "mom": rung.Float(0.0, 0.99, when={"opt": "sgd"}),
    "layers": rung.Int(1, 4),
    "q": rung.Float(0.0, 1.0, step=0.25),
})
SCHEDULERS: dict[str, Callable[[], Any]] = {
    "asha": lambda: ASHA(3),
    "asha-promotion": lambda: ASHA(3, variant="promotion"),
    "asha-auto": lambda: ASHA(3, min_step="auto"),
    "async-hyperband": lambda: AsyncHyperband(3),
    "hyperband": lambda: Hyperband(3),
    "successive-halving": lambda: SuccessiveHalving(3),
    "median": lambda: MedianStoppingRule(min_step=3, min_trials=3),
}


class _Bench:
    """A noisy curve of five parameters; with ``rough``, every result below step 9 is the same
    value (a model stuck at the class prior) and 3% of results are NaN."""

    metric, mode, max_step = "loss", "min", 27

    def __init__(self, seed: int, rough: bool) -> None:
        self.space = SPACE
        self.rng = random.Random(seed)
        self.rough = rough

    def evaluate(self, p: Mapping[str, Any], step: int) -> tuple[dict[str, float], float]:
        x = math.log10(p["lr"]) + 2 + (p.get("mom") or 0.0) - 0.3 * p["layers"] + p["q"]
        loss = abs(x) + 1.0 / step + self.rng.gauss(0, 0.05)
        if self.rough and step < 9:
            loss = 0.5
        if self.rough and self.rng.random() < 0.03:
            loss = math.nan
        cost = 0.5 + p["layers"] * self.rng.random()
        return {"loss": loss, "acc": 1 - loss / 3, "mem": float(p["layers"])}, cost


CASES = [c for c in itertools.product(SCHEDULERS, (1, 8), (False, True),
                                      ("none", "constraint", "two"))
         if not (c[0] == "median" and c[3] == "two")]  # the median rule judges one objective


@pytest.mark.parametrize(("scheduler", "workers", "rough", "extra"), CASES)
def test_every_study_runs_its_budget(scheduler: str, workers: int, rough: bool, extra: str,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    weighed: list[int] = []
    real = gp_module.ranking_weights

    def counting(*args: Any, **kwargs: Any) -> Any:
        weighed.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(gp_module, "ranking_weights", counting)
    objective: Any = Objective("loss", "min")
    constraints = [rung.Constraint("mem", "<=", 3.0)] if extra == "constraint" else []
    if extra == "two":
        objective = [Objective("loss", "min"), Objective("acc", "max")]
    seed = CASES.index((scheduler, workers, rough, extra))
    study = Study.create("sweep", SPACE, objective, searcher=GPSearcher(fidelities="all"),
                         scheduler=SCHEDULERS[scheduler](), max_step=27,
                         budget=Budget(n_trials=60), seed=seed, storage=MemoryJournal(),
                         constraints=constraints)
    study.simulate(_Bench(seed, rough), n_workers=workers)
    assert len(study.history) == 60
    assert all(t.status.value != "running" for t in study.trials())
    if extra == "two":
        assert not weighed  # several objectives: the top step only (ParEGO)
    else:
        assert len(weighed) >= 10  # of the 60 suggestions, those after the first results
