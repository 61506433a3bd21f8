"""`rung dashboard --host` that cannot be listened on: one line naming the value, exit 2,
nothing served."""

from __future__ import annotations

from pathlib import Path

import pytest

import rung
from rung.cli.main import main

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    s = rung.Study.create("s", {"x": rung.Float(0, 1)}, searcher="random", scheduler="fifo",
                          budget=rung.Budget(n_trials=1), storage=tmp_path / "a.db")
    s.close()
    return tmp_path / "a.db"


@pytest.mark.parametrize(("host", "shown", "why"), [
    ("192.0.2.1", "192.0.2.1", "cannot assign requested address"),  # TEST-NET: not ours
    ("", "''", None),
    ("no-such-host.invalid", "no-such-host.invalid", None),
])
def test_a_host_that_cannot_be_listened_on(db: Path, capsys: pytest.CaptureFixture[str],
                                           host: str, shown: str, why: str | None) -> None:
    assert main(["dashboard", "--storage", str(db), "--host", host, "--port", "0"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"rung: error: --host {shown}: cannot listen there: ")
    if why is not None:
        assert err == f"rung: error: --host {shown}: cannot listen there: {why}\n"
