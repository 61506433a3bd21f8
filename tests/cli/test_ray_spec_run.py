"""A spec's ``executor_options`` reach the executor through ``rung run`` and ``rung resume``
(``RunSpec.executor_options``), and are checked before anything is written."""

from __future__ import annotations

import importlib.util
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from clihelp import HERE, write_spec

import rung
from rung.cli.main import main
from rung.cli.spec import CLI_KEY, SpecError, parse_spec, spec_from_journal

HAVE_RAY = importlib.util.find_spec("ray") is not None
needs_ray = pytest.mark.skipif(not HAVE_RAY, reason="Ray is not installed: pip install 'rung[ray]'")
SRC = str(Path(rung.__file__).resolve().parents[1])

SPEC = f"""\
name: opts
objective: cli_objectives:train
path: {HERE}
space: {{x: {{type: float, low: 0.0, high: 1.0}}}}
metric: loss
max_step: 2
searcher: random
scheduler: fifo
budget: {{n_trials: 2}}
"""


def top(**extra: object) -> dict[str, object]:
    return {"name": "opts", "objective": "cli_objectives:train", "path": str(HERE),
            "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}}, "metric": "loss",
            "searcher": "random", "scheduler": "fifo", "budget": {"n_trials": 2}, **extra}


@needs_ray
def test_executor_options_and_checkpoint_every_reach_study_run_and_resume(
    tmp_path: Path,
) -> None:
    options = {"address": "auto", "transport": "ray", "ray_init": {"num_cpus": 2}}
    spec = parse_spec(top(executor="ray", executor_options=options, checkpoint_every=3))
    assert spec.executor_options() == {**options, "checkpoint_every": 3}
    assert spec.cli_json()["executor_options"] == options
    # what rung resume rebuilds from the journal
    again = spec_from_journal({**spec.study.to_json(), CLI_KEY: spec.cli_json()}, tmp_path)
    assert again.executor_options() == spec.executor_options()
    # a journal written before executor_options existed reads back without them
    old = {k: v for k, v in spec.cli_json().items() if k != "executor_options"}
    assert spec_from_journal({**spec.study.to_json(), CLI_KEY: old},
                             tmp_path).executor_options() == {"checkpoint_every": 3}
    local = parse_spec(top(executor_options={"threads_per_worker": 2}))
    assert local.executor_options() == {"threads_per_worker": 2}
    assert "executor_options" not in parse_spec(top()).cli_json()  # as before: equal to old


def test_checkpoint_every_is_refused_where_no_executor_reads_it() -> None:
    with pytest.raises(SpecError) as e:
        parse_spec({"name": "sim", "benchmark": "mf-branin", "budget": {"n_trials": 2},
                    "checkpoint_every": 2})
    assert str(e.value) == "spec.checkpoint_every: only used with executor: local or ray"


@needs_ray
def test_rung_run_with_a_bad_executor_option_writes_nothing(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_spec(isolated, SPEC + "executor: ray\nexecutor_options: {transport: grpc}\n")
    assert main(["run", "spec.yaml", "--no-live"]) == 2
    assert capsys.readouterr().err == (
        "rung: error: spec.executor_options.transport: must be one of ('auto', 'socket', "
        "'ray'), got 'grpc'\n")
    assert sorted(p.name for p in isolated.iterdir()) == ["spec.yaml"]


@pytest.mark.ray
@pytest.mark.slow
@needs_ray
def test_rung_run_on_ray_from_a_spec_alone(tmp_path: Path) -> None:
    """Everything from the spec: a new Ray instance on loopback with 2 CPUs (address: local,
    ray_init), one trial at a time (resources_per_trial: {cpu: 2}), a checkpoint at every step
    (checkpoint_every: 1); rung show says so. The executor started Ray, so it stopped it."""
    write_spec(tmp_path, SPEC + textwrap.dedent("""\
        executor: ray
        checkpoint_every: 1
        resources_per_trial: {cpu: 2}
        executor_options:
          address: local
          transport: socket
          ray_init: {num_cpus: 2, include_dashboard: false, log_to_driver: false}
        """))
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # Ray on 127.0.0.1 only (as on a laptop)
    env["PYTHONPATH"] = SRC  # the spec's path reaches the instance rung run starts
    r = subprocess.run(
        [sys.executable, "-c", "import sys\nfrom rung.cli.main import main\n"
         "sys.exit(main(['run', 'spec.yaml', '--no-live']) or main(['show', 'opts']))"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=180, check=False)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = r.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("executor "))
    assert lines[start] == (
        "executor ray  (checkpoint_every=1 address=local transport=socket ray_init={'num_cpus': "
        "2, 'include_dashboard': False, 'log_to_driver': False})")
    assert lines[start + 2].split()[-3:] == ["1", "cpu=2", "2"]  # slots, per trial, launches
    with sqlite3.connect(tmp_path / "runs" / "opts.db") as db:
        saved = db.execute("SELECT count(*) FROM record WHERE kind = 'CheckpointSaved'")
        assert saved.fetchone()[0] == 4  # 2 trials x 2 steps: checkpoint_every: 1
