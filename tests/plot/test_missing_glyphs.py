"""Characters the figure's font has no glyphs for (a CJK study or parameter name in DejaVu
Sans): drawn with an installed font that has them (a fallback), else told in one line, not in
matplotlib's multi-line warning per character (7-15 of them per `rung plot`)."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import rung
import rung.plot as rp
from rung.plot import _figures

pytest.importorskip("matplotlib")

NAME = "études_λ 模型"


def _study(storage: Path | None = None) -> rung.Study:
    """Ten completed trials of a study whose name, parameters and metric are partly CJK."""
    s = rung.Study.create(NAME, {"学习率": rung.Float(1e-4, 1e-1, log=True),
                                 "层": rung.Categorical(["小", "大"])},
                          objective="损失", searcher="random", scheduler="fifo", max_step=1,
                          budget=rung.Budget(n_trials=10), seed=0, storage=storage)
    for i in range(10):
        t = s.ask()
        assert t is not None
        s.tell(t.id, "completed", {"损失": 1.0 / (i + 1)})
    return s


def _saved(fig: object, path: Path) -> list[str]:
    """The warnings ``rp.save(fig, path)`` gives (a ``ResourceWarning`` the garbage collector
    raises meanwhile for an earlier test's leftovers is not one)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rp.save(fig, path)  # type: ignore[arg-type]
    return [str(w.message) for w in caught if not issubclass(w.category, ResourceWarning)]


def test_without_a_font_for_them_one_warning_names_the_script_and_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # as on a machine without one
    monkeypatch.setattr(_figures, "_fallback_families", list, raising=False)
    s = _study()
    for kind, suffix in [("parallel", ".png"), ("slices", ".svg"), ("history", ".html")]:
        got = _saved(rp.plot(s, kind), tmp_path / f"{kind}{suffix}")
        assert len(got) == 1, (kind, got)
        line = got[0]
        assert "\n" not in line
        assert line.startswith("no glyphs in the font(s) DejaVu Sans for "), line
        assert " CJK character(s) (" in line and "模" in line and "型" in line
        assert "apt install fonts-noto-cjk" in line and "font.family" in line
        assert "Glyph" not in line


def test_an_installed_font_that_has_them_is_the_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No CJK font here, so the same path with Greek: a figure made in cmr10 (no Greek)
    with DejaVu Sans (Greek) standing as the installed fallback."""
    import matplotlib as mpl
    from matplotlib.text import Text

    s = rung.Study.create("λόγος", {"δ": rung.Float(0, 1)}, objective="loss",
                          searcher="random", scheduler="fifo", max_step=1,
                          budget=rung.Budget(n_trials=4), seed=0)
    for i in range(4):
        t = s.ask()
        assert t is not None
        s.tell(t.id, "completed", {"loss": float(i)})
    with mpl.rc_context({"font.family": ["cmr10"]}), warnings.catch_warnings():
        warnings.filterwarnings("ignore", "cmr10 font should ideally be used with mathtext")
        fig = rp.plot(s, "history")
    monkeypatch.setattr(_figures, "_fallback_families", list, raising=False)
    got = _saved(fig, tmp_path / "none.png")
    assert len(got) == 1 and "Greek character(s) (λόγ" in got[0], got
    monkeypatch.setattr(_figures, "_fallback_families", lambda: ["DejaVu Sans"])
    assert _saved(fig, tmp_path / "fallback.png") == []
    assert _saved(fig, tmp_path / "fallback.svg") == []
    titled = [t for t in fig.findobj(Text) if "λ" in t.get_text()]
    assert titled and all(t.get_fontfamily()[-1] == "DejaVu Sans" for t in titled)


def test_rung_plot_says_it_in_one_line(tmp_path: Path) -> None:
    """The audit's repro, as a user runs it (matplotlib's warnings reach stderr only in a
    process of its own: pytest records them)."""
    db = tmp_path / "uni.db"
    _study(db).close()
    fallback: list[str] = getattr(_figures, "_fallback_families", list)()
    p = subprocess.run([sys.executable, "-m", "rung.cli", "plot", NAME, "--storage", str(db),
                        "--kind", "parallel", "-o", str(tmp_path / "cjk.png")],
                       capture_output=True, text=True, timeout=300, check=False)
    assert p.returncode == 0, p.stderr
    lines = p.stderr.splitlines()
    assert lines[-1] == f"rung: wrote the parallel plot of {NAME} to {tmp_path / 'cjk.png'}"
    warned = lines[:-1]
    assert len(warned) <= 1 and "UserWarning" not in p.stderr, p.stderr
    if not fallback:  # no CJK font on this machine: said once
        assert len(warned) == 1 and warned[0].startswith("rung: warning: no glyphs in "), warned
    assert (tmp_path / "cjk.png").read_bytes().startswith(b"\x89PNG")
