"""The executor's options in a YAML spec (``executor_options``), and a spec for Ray on a
machine without Ray.

``spec_executor_options`` is what ``parse_spec`` calls for the key; it is called here directly
on a spec ``parse_spec`` validated, with the same arguments. No test here starts Ray: options
are checked by building the executor, which starts nothing.
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from clihelp import HERE

import rung
from rung.cli.spec import SpecError, parse_spec
from rung.cli.spec_extras import spec_executor_options

HAVE_RAY = importlib.util.find_spec("ray") is not None
needs_ray = pytest.mark.skipif(not HAVE_RAY, reason="Ray is not installed: pip install 'rung[ray]'")
SRC = str(Path(rung.__file__).resolve().parents[1])


def base(**extra: Any) -> dict[str, Any]:
    return {
        "name": "rayspec", "objective": "cli_objectives:train", "path": str(HERE),
        "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
        "metric": "loss", "scheduler": "fifo", "searcher": "random",
        "budget": {"n_trials": 2}, **extra,
    }


def options_of(options: Any, executor: str = "ray", n_workers: int | None = None,
               **extra: Any) -> dict[str, Any]:
    """``spec_executor_options`` as ``parse_spec`` calls it, for a spec with ``options``."""
    top = base(executor=executor, **extra)
    spec = parse_spec(top)
    return spec_executor_options({**top, "executor_options": options}, executor, spec.study,
                                 n_workers)


@needs_ray
def test_ray_options_are_returned_for_study_run() -> None:
    options = {"address": "auto", "transport": "ray", "driver_port": 0,
               "ray_init": {"runtime_env": {"env_vars": {"A": "1"}}},
               "actor_options": {"scheduling_strategy": "SPREAD"},
               "resources_per_trial": {"cpu": 2, "memory": 1e9}}
    assert options_of(options, resources_per_trial={"cpu": 2}) == options
    assert options_of(None) == {}
    # the spec's resources_per_trial alone reaches Study.run's executor (Study.run adds it)
    # (a cluster to join: a local instance of this machine may have no GPU)
    auto = {"address": "auto"}
    assert options_of(auto, resources_per_trial={"gpu": 1}, executor_options=auto) == auto


@needs_ray
@pytest.mark.parametrize(("options", "extra", "message"), [
    (["auto"], {},
     "spec.executor_options: must be a mapping of option to value, got a list"),
    ({"adress": "auto"}, {},
     "spec.executor_options.adress: not an option of the ray executor (did you mean "
     "'address'?) (it takes address, resources_per_trial, transport, driver_port, "
     "no_room_timeout, ray_init, actor_options)"),
    ({"checkpoint_every": 2}, {},
     "spec.executor_options.checkpoint_every: give it as spec.checkpoint_every"),
    ({"max_concurrent": 2}, {}, "spec.executor_options.max_concurrent: give it as spec.n_workers"),
    ({"address": 6379}, {}, "spec.executor_options.address: expected a string or None, got 6379"),
    ({"transport": "grpc"}, {},
     "spec.executor_options.transport: must be one of ('auto', 'socket', 'ray'), got 'grpc'"),
    ({"driver_port": 70000}, {},
     "spec.executor_options.driver_port: must be an integer in [0, 65535], got 70000"),
    ({"ray_init": "local"}, {},
     "spec.executor_options.ray_init: expected a mapping, got 'local'"),
    ({"actor_options": {"num_cpus": 2}}, {},
     "spec.executor_options.actor_options.num_cpus: not an option here: set it in "
     "resources_per_trial ('cpu')"),
    ({"resources_per_trial": {"gpu": 1.5}}, {},
     "spec.executor_options.resources_per_trial.gpu: a request above 1 must be a whole "
     "number (Ray splits one device at most), got 1.5"),
    ({"resources_per_trial": {"cpu": 0}}, {},
     "spec.executor_options.resources_per_trial: requests no resource, so the cluster sets "
     "no limit; pass max_concurrent (n_workers with executor='ray')"),
    ({"resources_per_trial": {"cpu": 1}}, {"resources_per_trial": {"cpu": 2}},
     "spec.executor_options.resources_per_trial: the Ray executor's {'cpu': 1} reserves "
     "{'cpu': 1.0} per trial, but spec.resources_per_trial is {'cpu': 2.0}: give it once "
     "(the study's reaches the executor), or the same devices in both"),
    ({}, {"resources_per_trial": {"gpu:A100": 1, "gpu:V100": 1}},
     "spec.executor_options.resources_per_trial: a Ray actor holds GPUs of one type, got "
     "gpu:A100, gpu:V100 in {'gpu:A100': 1.0, 'gpu:V100': 1.0}"),
])
def test_bad_ray_options_are_one_line_naming_the_key(options: Any, extra: dict[str, Any],
                                                      message: str) -> None:
    with pytest.raises(SpecError) as e:
        options_of(options, **extra)
    assert str(e.value) == message


def test_local_and_simulated_options() -> None:
    assert options_of({"start_method": "fork", "threads_per_worker": 2}, "local") == \
        {"start_method": "fork", "threads_per_worker": 2}
    for options, executor, message in (
        ({"address": "auto"}, "local", "spec.executor_options.address: not an option of the "
         "local executor (it takes start_method, threads_per_worker, max_trials_per_worker, prefix_output, max_memory_per_worker)"),
        ({"start_method": "bogus"}, "local", f"spec.executor_options.start_method: must be "
         f"one of {['auto', *multiprocessing.get_all_start_methods()]}, got 'bogus'"),
        ({"threads_per_worker": 0}, "local",
         "spec.executor_options.threads_per_worker: must be an integer >= 1, got 0"),
    ):
        with pytest.raises(SpecError) as e:
            options_of(options, executor)
        assert str(e.value) == message
    top = {"name": "sim", "benchmark": "mf-branin", "budget": {"n_trials": 2},
           "executor": "simulated"}
    spec = parse_spec(top)
    with pytest.raises(SpecError) as e:
        spec_executor_options({**top, "executor_options": {"address": "auto"}}, "simulated",
                              spec.study, None)
    assert str(e.value) == "spec.executor_options: not used by the simulated executor"


def test_rung_run_of_a_ray_spec_without_ray_says_how_to_install_it(tmp_path: Path) -> None:
    """Exit code 2, one line naming spec.executor and the install command, nothing written."""
    (tmp_path / "spec.yaml").write_text(
        f"name: noray\nobjective: cli_objectives:train\npath: {HERE}\n"
        "space: {x: {type: float, low: 0, high: 1}}\nmetric: loss\nbudget: {n_trials: 2}\n"
        "executor: ray\n")
    code = ("import sys\nsys.modules['ray'] = None  # as if Ray were not installed\n"
            "from rung.cli.main import main\nsys.exit(main(['run', 'spec.yaml', '--no-live']))\n")
    env = {**os.environ, "PYTHONPATH": SRC}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       cwd=tmp_path, timeout=120, check=False)
    assert r.returncode == 2, r.stderr
    assert r.stderr == ("rung: error: spec.executor: the ray executor needs Ray, which is not "
                        "installed: pip install 'rung[ray]'\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spec.yaml"]


def test_rung_resume_of_a_ray_study_without_ray_says_how_to_install_it(tmp_path: Path) -> None:
    """A study created for Ray (as `rung run` creates it), resumed where Ray is missing: exit
    code 2 and the install command, nothing of a session journaled (no 'resume with' advice:
    resuming cannot help)."""
    from rung.cli.spec import CLI_KEY

    spec = parse_spec(base(name="noray2", executor="ray", storage=str(tmp_path / "s.db")))
    rung.Study.from_spec(spec.study, spec.storage, extra={CLI_KEY: spec.cli_json()}).close()
    code = ("import sys\nsys.modules['ray'] = None  # as if Ray were not installed\n"
            "from rung.cli.main import main\n"
            "sys.exit(main(['resume', 'noray2', '--storage', 's.db', '--no-live']))\n")
    env = {**os.environ, "PYTHONPATH": SRC}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       cwd=tmp_path, timeout=120, check=False)
    assert r.returncode == 2, r.stderr
    assert r.stderr.splitlines()[-1] == (
        "rung: error: spec.executor: the ray executor needs Ray, which is not installed: "
        "pip install 'rung[ray]'")
    study = rung.Study.load("noray2", tmp_path / "s.db", readonly=True)
    assert study.journal.read("noray2") == []
    study.close()


@needs_ray
def test_a_ray_spec_whose_budget_ray_trials_would_never_spend_is_refused() -> None:
    """Each actor reserves the spec's resources_per_trial, else one CPU: known when the spec
    is read, so a max_cost that prices none of it is refused then, not once Ray started."""
    cost = {"prices": {"gpu": 2.0}, "budget": {"n_trials": 2, "max_cost": 10.0}}
    with pytest.raises(SpecError) as e:
        parse_spec(base(executor="ray", **cost))
    assert str(e.value) == ("spec.budget.max_cost: would never be spent: a trial holds cpu=1 "
                            "(as its executor reports) and prices {'gpu': 2.0} charge none of it")
    spec = parse_spec(base(executor="ray", resources_per_trial={"gpu": 1},
                           executor_options={"address": "auto"}, **cost))
    assert spec.study.resources_per_trial == {"gpu": 1.0}
