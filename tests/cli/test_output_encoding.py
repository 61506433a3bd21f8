"""An output encoding that cannot express a character of a study (``PYTHONIOENCODING=ascii``, a
Latin-1 locale) neither crashes a command nor drops a line: the character is written as a
backslash escape (audit finding M2: ``rung ls`` / ``show`` / ``export`` exited 1 with a
``UnicodeEncodeError``, a run that worked ended with a traceback and exit 1, and its progress
lines holding the character were left out without a word).

``rung export NAME > f.csv`` still writes CSV in the output's encoding (a Latin-1 locale gives a
Latin-1 file; ``-o f.csv`` is UTF-8): only what that encoding cannot express is escaped.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
from pathlib import Path

import pytest
from clihelp import rung_cmd, write_spec

import rung
from rung.cli.report import best_line, fmt_params
from rung.progress import Progress
from rung.reporter import Reporter

OBJECTIVE = '''\
def train(ctx):
    for step in range(ctx.start_step, ctx.max_step + 1):
        ctx.report(step, **{"loss\\u2264": float(ctx.params["x"]) / step})
'''

SPEC = """\
name: u
objective: uobj:train
path: .
space:
  x: {type: float, low: 0.0, high: 1.0}
  unit: ["\u22643", "\u22644"]
metric: "loss\u2264"
mode: min
max_step: 3
searcher: random
scheduler: fifo
budget: {n_trials: 2}
n_workers: 1
seed: 0
storage: u.db
"""


def _ascii(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    env["PYTHONIOENCODING"] = "ascii"
    return subprocess.run(rung_cmd(*args), cwd=cwd, capture_output=True, env=env, timeout=300,
                          text=True, encoding="ascii")


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """``rung run`` of a study whose metric and a parameter's values are not ASCII, with an
    ASCII output encoding: its directory and the finished process."""
    d = tmp_path_factory.mktemp("ascii")
    (d / "uobj.py").write_text(OBJECTIVE)
    write_spec(d, SPEC)
    return d, _ascii("run", "spec.yaml", "--no-live", "--log-every", "0.01", cwd=d)


def test_rung_run_escapes_what_the_encoding_cannot_express(
        ran: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    d, r = ran
    study = rung.Study.load("u", storage=d / "u.db", readonly=True)
    best = study.best_trial
    assert best is not None
    closing = [f"rung: study u done: {best_line(study)}",
               f"rung: best params: {fmt_params(best.params)}",
               "rung: inspect it with: rung show u --storage u.db"]
    study.close()
    assert (r.returncode, r.stderr) == (0, "rung: study u: 2 trials: 2 completed\n")
    lines = r.stdout.splitlines()
    assert all("\u2264" in line for line in closing[:2])  # (what is escaped)
    assert lines[-3:] == [line.encode("ascii", "backslashreplace").decode() for line in closing]
    # the progress lines that name the best are there too (they were left out before)
    progress = [ln for ln in lines if re.match(r"rung: \[ *[\d.]+s\] study u: ", ln)]
    assert any("| best loss\\u2264=" in ln for ln in progress), lines


@pytest.mark.parametrize("args", [["ls"], ["show", "u"], ["export", "u"],
                                  ["export", "u", "--table", "results"], ["ledger", "u"]],
                         ids=" ".join)
def test_the_read_commands_escape_it_too(ran: tuple[Path, subprocess.CompletedProcess[str]],
                                         args: list[str]) -> None:
    d, _ = ran
    r = _ascii(*args, "--storage", "u.db", cwd=d)
    assert (r.returncode, r.stderr) == (0, "")
    if args[0] != "ledger":  # (the ledger names no metric or parameter)
        assert "\\u2264" in r.stdout


def test_a_progress_line_is_escaped_not_dropped(isolated: Path) -> None:
    """``Progress`` on a stream whose encoding cannot express a character: the line is
    written with a backslash escape (it was dropped: ``UnicodeEncodeError`` is a
    ``ValueError``, which a closed stream raises)."""
    study = rung.Study.create("p", {"x": rung.Float(0.0, 1.0)}, objective="loss\u2264",
                              max_step=1, budget=rung.Budget(n_trials=1),
                              storage=isolated / "p.db")
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii", errors="strict", write_through=True)
    Progress(study, stream=stream, live=False)._print("best loss\u2264=1")
    assert raw.getvalue() == b"best loss\\u2264=1\n"


def test_a_failure_line_is_escaped_not_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = io.BytesIO()
    err = io.TextIOWrapper(raw, encoding="ascii", errors="strict", write_through=True)
    monkeypatch.setattr("sys.stderr", err)
    Reporter().write("rung: trial 0 failed: ValueError: \u2264")
    assert raw.getvalue() == b"rung: trial 0 failed: ValueError: \\u2264\n"
