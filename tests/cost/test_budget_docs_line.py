"""The end-of-run budget line docs/cost.md quotes is what its stated setup prints: 4 workers,
steps of 1,800 s on an A100 at 3.2 an hour, ``max_cost=8`` and ``max_gpu_hours=3``; the
overshoot stays within one step per worker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import rung
from rung.core.budget import Usage, spend_text

DOC = Path(__file__).resolve().parents[2] / "docs" / "cost.md"


class _Bench:
    space = rung.SearchSpace({"x": rung.Float(0.0, 1.0)})
    max_step = 20

    def evaluate(self, params: dict[str, Any], step: int) -> tuple[dict[str, float], float]:
        return {"loss": params["x"] + 1.0 / step}, 1800.0


def test_the_quoted_line_is_reproduced() -> None:
    study = rung.Study.create("b4", _Bench.space, objective="loss", searcher="random",
                              scheduler="fifo", max_step=20, seed=0,
                              budget=rung.Budget(max_cost=8.0, max_gpu_hours=3.0),
                              prices={"gpu:A100": 3.2}, resources_per_trial={"gpu:A100": 1})
    study.simulate(_Bench(), n_workers=4)
    used = Usage.of(study.engine)
    line = spend_text(study.spec.budget, used)
    assert line == ("max_cost 12.8 of 8 spent (4.8 past it: steps in flight when it was "
                    "reached), max_gpu_hours 4 of 3 spent (1 past it: steps in flight when it "
                    "was reached); max_cost and max_gpu_hours reached")
    assert used.cost - 8.0 <= 4 * 1.6  # one step per worker at most
    flat = " ".join(DOC.read_text().split())
    assert ("`study b4: budget: max_cost 12.8 of 8 spent (4.8 past it: steps in flight when it "
            "was reached), max_gpu_hours 4 of 3 spent (1 past it: ...); max_cost and "
            "max_gpu_hours reached`") in flat
