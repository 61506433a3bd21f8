"""A study whose stored spec was edited by hand (ASHA's reduction factor) diverges on replay:
the error and ``rung show`` name that cause beside a bug in rung. Before: both blamed only "a
bug in rung"."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

import rung
from rung.benchmarks import get_benchmark
from rung.cli.main import main
from rung.errors import ReplayDivergenceError


def test_a_hand_edited_spec_is_named_as_a_cause_of_divergence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    b = get_benchmark("mf-branin", max_step=27)
    s = rung.Study.create("s", b.space, objective="loss", searcher="random",
                          scheduler=rung.ASHA(reduction_factor=3), max_step=27,
                          budget=rung.Budget(n_trials=12), storage="j.db")
    s.simulate(b, n_workers=2, progress=False)
    s.close()
    with sqlite3.connect("j.db") as c:
        spec = json.loads(c.execute("SELECT spec FROM study").fetchone()[0])
        spec["scheduler"]["params"]["reduction_factor"] = 4
        c.execute("UPDATE study SET spec = ?", (json.dumps(spec),))
    c.close()
    with pytest.raises(ReplayDivergenceError) as e:
        rung.Study.load("s", storage="j.db")
    assert ("The journal was written by this very code, so either the study's spec was "
            "changed after it was written (a hand edit of the journal) or this is a bug in "
            "rung: please report it. This rung can still read the study as written") \
        in str(e.value)
    capsys.readouterr()
    assert main(["show", "s", "--storage", "j.db"]) == 0
    versions = [line for line in capsys.readouterr().out.splitlines()
                if line.startswith("  versions")]
    assert len(versions) == 1
    assert versions[0].endswith("this rung cannot resume it (the journal records this very "
                                "code: a bug, or the study's spec was changed after it was "
                                "written)")
