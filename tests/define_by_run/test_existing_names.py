"""A name already in ``storage``: ``rung.optimize`` continues that study, ``rung.run`` refuses
it with the call that continues it (Study.create's own error names ``load_if_exists``, an
option ``rung.run`` does not have)."""

from __future__ import annotations

from pathlib import Path

import pytest

import rung
from rung.errors import ConfigError


def fit(ctx: rung.TrialContext) -> None:
    ctx.report(1, loss=float(ctx.params["x"]))


def test_rung_run_on_an_existing_name_says_how_to_continue(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    args = dict(n_trials=2, storage=db, n_workers=1, progress=False)
    first = rung.run(fit, {"x": rung.Float(0.0, 1.0)}, **args)  # type: ignore[arg-type]
    first.close()
    n = len(rung.Study.load("rung", storage=db).journal.read("rung"))
    with pytest.raises(ConfigError) as e:
        rung.run(fit, {"x": rung.Float(0.0, 1.0)}, **args)  # type: ignore[arg-type]
    assert str(e.value) == (
        f"name: study 'rung' already exists in {db}: continue it with rung.Study.load('rung', "
        f"storage='{db}').run(objective), or give another name=")
    again = rung.Study.load("rung", storage=db)
    assert len(again.journal.read("rung")) == n  # nothing written
    again.close()
