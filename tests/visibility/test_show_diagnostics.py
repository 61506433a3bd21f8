"""``rung show``'s diagnostics in words: the rank correlation of each pair of adjacent steps,
a flag on a low one and its warning, not the JSON's ``warnings: []`` / ``low: False`` /
``guard: -``."""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from pathlib import Path

import rung
from rung.cli.main import main


def test_diagnostics_say_what_they_found(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    s = rung.Study.create("d", {"x": rung.Float(0, 1)}, searcher="random", scheduler="fifo",
                          max_step=3, budget=rung.Budget(n_trials=12), seed=0, storage=db)
    while (t := s.ask()) is not None:
        x = t.params["x"]
        s.report(t.id, 1, {"loss": x})  # step 1 ranks the trials against step 3
        s.report(t.id, 2, {"loss": 1 - x})
        s.tell(t.id, "completed", {"loss": 1 - x})
    warning = s.diagnostics(emit=False).warnings[0]
    s.close()
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["show", "d", "--storage", str(db)]) == 0
    text = out.getvalue()
    tail = text[text.index("\ndiagnostics\n"):].splitlines()[2:]
    assert tail == [
        "  rank correlation (Spearman) of the scores at adjacent steps:",
        "    steps   trials  spearman",
        "    1 -> 3  12      -1        low: early results predict late ones poorly",
        f"  warning: {warning}",
    ]
