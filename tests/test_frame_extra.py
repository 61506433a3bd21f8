"""The extra that ``Study.trials_dataframe`` / ``results_dataframe`` name, in their docstrings
and in the ``ImportError`` without pandas, is the one ``pyproject.toml`` defines for data:
``rung[dataframe]``. Before, ``trials_dataframe``'s docstring named ``rung[dashboard]`` (the
web app's extra) while its error named ``rung[dataframe]``."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import pytest

import rung

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_the_dataframe_methods_name_the_dataframe_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    extras = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]
    assert any(d.startswith("pandas") for d in extras["dataframe"])
    doc = rung.Study.trials_dataframe.__doc__ or ""
    assert re.findall(r"rung\[(\w+)\]", doc) == ["dataframe"]
    assert "``trials_dataframe`` does" in (rung.Study.results_dataframe.__doc__ or "")
    s = rung.Study.create("np", {"x": rung.Float(0, 1)}, searcher="random", scheduler="fifo",
                          budget=rung.Budget(n_trials=1))
    monkeypatch.setitem(sys.modules, "pandas", None)
    for frame in (s.trials_dataframe, s.results_dataframe):
        with pytest.raises(ImportError) as e:
            frame()
        assert re.findall(r"rung\[(\w+)\]", str(e.value)) == ["dataframe"]
