"""``RayExecutor`` on a Ray instance it starts itself (``ray.init`` in the driver's process).

Each test runs its study in a fresh Python process: the module-scoped multi-node cluster of
``test_ray.py`` must not be the connection these tests see, and an executor that starts Ray
must stop it again. The processes are bounded by a timeout, so a run that would wait forever
fails the test instead of hanging it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import rung

HAVE_RAY = importlib.util.find_spec("ray") is not None
SRC = str(Path(rung.__file__).resolve().parents[1])

pytestmark = [pytest.mark.ray, pytest.mark.slow,
              pytest.mark.skipif(not HAVE_RAY, reason="Ray is not installed: pip install 'rung[ray]'")]

PRELUDE = """
import json, os, sys
import rung
from rung.errors import ConfigError

def train(ctx):
    for step in range(ctx.start_step, ctx.max_step + 1):
        ctx.report(step, loss=ctx.params["x"] / step)

def make(name, storage):
    return rung.Study.create(
        name, rung.SearchSpace({"x": rung.Float(0.0, 1.0)}), rung.Objective("loss", "min"),
        searcher="random", scheduler="fifo", max_step=2, budget=rung.Budget(n_trials=2),
        seed=0, storage=storage)

RAY_INIT = {"num_cpus": 1, "include_dashboard": False, "log_to_driver": False}
"""


def _run(code: str, tmp_path: Path, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "driver.py"
    script.write_text(PRELUDE + "\nif __name__ == '__main__':\n" + textwrap.indent(code, "    "))
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}  # no cluster to join
    env["CUDA_VISIBLE_DEVICES"] = ""  # no GPU, even on a machine that has one
    env["PYTHONPATH"] = SRC
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=tmp_path, check=False)


def test_a_gpu_request_on_its_own_cpu_only_instance_is_refused_not_waited_for(
    tmp_path: Path,
) -> None:
    """The executor started Ray (``address="local"``: a new instance even when a cluster
    runs on this machine) with one CPU and no GPU: no node will ever join that
    instance, so a trial needing a GPU is a configuration error (naming the key), raised at
    the start of the run with nothing of the session journaled, and Ray is stopped again."""
    r = _run(f"""
study = make("gpu", {str(tmp_path / "s.db")!r})
try:
    study.run(train, executor="ray", address="local",
              resources_per_trial={{"cpu": 1, "gpu": 1}}, ray_init=RAY_INIT, progress=False)
except ConfigError as e:
    import ray
    print(json.dumps({{"key": e.key, "message": e.message,
                       "records": len(study.journal.read("gpu")),
                       "ray_initialized": ray.is_initialized()}}))
""", tmp_path, timeout=60.0)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    # refused when the executor is built (rung.executors.ray.precheck), before Ray starts
    assert out["key"] == "resources_per_trial.gpu"
    assert out["message"] == (
        "a trial needs 1 GPU, but no node of the local Ray instance this executor starts can "
        "hold it: that instance has this machine's 0 GPUs (CUDA_VISIBLE_DEVICES=''), and no "
        "other node joins it; ask for fewer, or connect to a cluster that has them "
        "(address=...)")
    assert out["records"] == 0 and out["ray_initialized"] is False


def test_arguments_ray_init_refuses_are_a_config_error_naming_the_key(tmp_path: Path) -> None:
    """A misspelt ``ray_init`` argument is one ``ConfigError`` naming it, not a traceback
    from inside Ray; nothing of the session is journaled and Ray is not left running."""
    r = _run(f"""
study = make("typo", {str(tmp_path / "s.db")!r})
try:
    study.run(train, executor="ray", ray_init={{"num_cpu": 1}}, progress=False)
except ConfigError as e:
    import ray
    print(json.dumps({{"text": str(e), "records": len(study.journal.read("typo")),
                       "ray_initialized": ray.is_initialized()}}))
""", tmp_path, timeout=60.0)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out == {"text": "ray_init.num_cpu: not a keyword argument of ray.init (did you "
                           "mean 'num_cpus'?)",
                   "records": 0, "ray_initialized": False}
