"""Figures of values spanning +-1.7e308 are drawn: every linear axis stays within
``AXIS_LIMIT`` (values beyond are off the axis, and a note says so), the parallel
coordinates' colours are computed without overflow, and ``rung plot`` blames an error while
drawing on the drawing, not on ``-o``."""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import pytest

import rung
from rung.cli.main import main

pytest.importorskip("matplotlib")

VALUES = [1e308, -1e308, 0.5, 1.7e308, -1.7e308]
KINDS = ["history", "parallel", "slices", "curves", "importance"]


def study(path: Path | None = None) -> rung.Study:
    st = rung.Study.create("p", {"x": rung.Float(0, 1)}, "loss", searcher="random",
                           scheduler="fifo", max_step=1,
                           budget=rung.Budget(n_trials=len(VALUES)), storage=path, seed=0)
    for v in VALUES:
        t = st.ask()
        assert t is not None
        st.tell(t.id, "completed", {"loss": v})
    return st


@pytest.mark.parametrize("kind", KINDS)
def test_every_figure_is_drawn(kind: str) -> None:
    from rung.plot import plot
    from rung.plot._finite_axes import AXIS_LIMIT

    fig = plot(study(), kind)
    fig.savefig(io.BytesIO(), format="png")
    for ax in fig.axes:
        for lo, hi in (ax.get_xlim(), ax.get_ylim()):
            assert math.isfinite(lo) and math.isfinite(hi)
            assert max(abs(lo), abs(hi)) <= AXIS_LIMIT * 1.1


def test_values_off_the_axis_are_said_so() -> None:
    from rung.plot import plot

    fig = plot(study(), "history")
    (ax,) = fig.axes
    notes = [t.get_text() for t in ax.texts if t.get_gid() == "clipped"]
    assert notes == ["values beyond ±1.12e+307 are off the y axis"]


def test_ordinary_values_keep_their_axes() -> None:
    import matplotlib.figure

    from rung.plot._finite_axes import finite_axes

    fig = matplotlib.figure.Figure()
    ax = fig.add_subplot()
    ax.scatter([0, 1], [0.25, 0.75])
    before = ax.get_ylim()
    finite_axes(fig)
    assert ax.get_ylim() == before and not ax.texts


def test_the_cli_writes_it(tmp_path: Path) -> None:
    study(tmp_path / "p.db").close()
    for kind in ("history", "parallel", "curves"):
        out = tmp_path / f"{kind}.png"
        assert main(["plot", "p", "--storage", str(tmp_path / "p.db"), "--kind", kind,
                     "-o", str(out)]) == 0
        assert out.stat().st_size > 0


def test_a_drawing_error_is_not_blamed_on_the_output(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    study(tmp_path / "p.db").close()
    import rung.plot

    def broken(fig: Any, path: Any) -> None:
        raise ValueError("arange: cannot compute length")

    monkeypatch.setattr(rung.plot, "save", broken)
    code = main(["plot", "p", "--storage", str(tmp_path / "p.db"), "--kind", "history",
                 "-o", str(tmp_path / "p.png")])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["rung: error: drawing the history plot of p failed: ValueError: arange: "
                   "cannot compute length"]
