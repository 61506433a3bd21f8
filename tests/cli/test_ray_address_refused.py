"""``rung run`` with ``executor: ray`` and an address where no Ray head answers: one line naming
the key, exit 2, nothing written (the study was created first and the run ended with exit 1
and a resume line)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from clihelp import HERE, write_spec

from rung.cli.main import main

pytestmark = pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                                reason="Ray is not installed: pip install 'rung[ray]'")


def test_an_unreachable_address_is_refused_before_anything_is_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = write_spec(tmp_path, f"""\
name: far
objective: cli_objectives:train
path: {HERE}
space: {{x: {{type: float, low: 0.0, high: 1.0}}}}
metric: loss
searcher: random
scheduler: fifo
budget: {{n_trials: 2}}
executor: ray
executor_options: {{address: "127.0.0.1:1"}}
storage: {tmp_path / 'far.db'}
""")
    assert main(["run", str(spec)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("rung: error: spec.executor_options.address: cannot connect to "
                             "the Ray cluster at 127.0.0.1:1: nothing answers there")
    assert not (tmp_path / "far.db").exists()
