"""The checkpoint a trial names is one the study still keeps: a trial whose checkpoint the
engine released (``DeleteCheckpoint``: a stopped trial's, the losers of a rung) names none, in
``Trial.checkpoint`` itself, ``trials_dataframe`` / ``rung export`` and the dashboard's trial
detail."""

from __future__ import annotations

from pathlib import Path

import pytest

import rung
from rung.benchmarks import MFBranin
from rung.core.events import DeleteCheckpoint

pd = pytest.importorskip("pandas")


def test_a_released_checkpoint_is_not_named(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    s = rung.Study.create("sh", {"x1": rung.Float(-5, 10), "x2": rung.Float(0, 15)},
                          objective="loss", searcher="random", scheduler="successive_halving",
                          max_step=27, budget=rung.Budget(n_trials=27), seed=0, storage=db)
    s.simulate(MFBranin(max_step=27), n_workers=4)
    records = s.journal.read(s.name)
    deleted = {r.path for r in records if isinstance(r, DeleteCheckpoint)}
    saved = {r.trial_id: r.path for r in records if isinstance(r, rung.core.CheckpointSaved)}
    assert set(saved.values()) & deleted, "no checkpoint was released"
    had = {t.id: t.checkpoint.path for t in s.trials() if t.checkpoint is not None}
    assert had and not set(had.values()) & deleted  # Trial.checkpoint: kept ones only
    assert {t for t, p in saved.items() if p in deleted} & {t.id for t in s.trials()
                                                           if t.checkpoint is None}
    df = s.trials_dataframe().set_index("trial_id")
    shown = {t: df.loc[t, "checkpoint"] for t in df.index}
    assert {t: p for t, p in shown.items() if isinstance(p, str)} == had
    assert len(s.engine.checkpoints) == sum(isinstance(p, str) for p in shown.values())
    s.close()

    pytest.importorskip("starlette")
    pytest.importorskip("httpx")
    from starlette.testclient import TestClient

    from rung.dashboard import create_app

    c = TestClient(create_app(db))
    for t in saved:
        assert c.get(f"/api/study/sh/trial/{t}").json()["checkpoint"] == had.get(t)
