"""What Ray refuses only once it runs, refused when ``RayExecutor`` is built (``precheck``).

Audit finding F1: with ``executor: ray``, a misspelt ``ray_init`` key, an actor option Ray does
not know and a GPU request on a GPU-less Ray instance that rung starts itself were refused
only after ``rung run`` had created the study (exit 2, but the study, its journal, its lock
and its checkpoint folder written), so the fixed spec was then refused as "already exists
with other executor_options" and ``rung resume`` failed the same way every time. The spec
check and ``Study.run`` build the executor before anything is written, so the constructor
refuses them now: a ``ConfigError`` keyed ``ray_init.<key>``, ``actor_options.<key>`` or
``resources_per_trial.gpu``. None of these tests starts Ray (``RayExecutor.start`` fails the
test if a run gets that far).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import rung
from rung.errors import ConfigError

HAVE_RAY = importlib.util.find_spec("ray") is not None
pytestmark = pytest.mark.skipif(not HAVE_RAY, reason="Ray is not installed: pip install "
                                                     "'rung[ray]'")
SRC = str(Path(rung.__file__).resolve().parents[1])

#: what a trial needing one GPU is told on a local instance of this machine, which (for the
#: test: ``CUDA_VISIBLE_DEVICES=""``) has none
NO_GPU = ("a trial needs 1 GPU, but no node of the local Ray instance this executor starts "
          "can hold it: that instance has this machine's 0 GPUs (CUDA_VISIBLE_DEVICES=''), "
          "and no other node joins it; ask for fewer, or connect to a cluster that has them "
          "(address=...)")
RAY_TAKES = ("(Ray takes label_selector, fallback_strategy, accelerator_type, name, "
             "object_store_memory, placement_group")


def _refused(**kwargs: Any) -> ConfigError:
    from rung.executors.ray import RayExecutor

    with pytest.raises(ConfigError) as e:
        RayExecutor(**kwargs)
    return e.value


@pytest.fixture
def no_gpu(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """This machine shows no GPU (``CUDA_VISIBLE_DEVICES=""``, and Ray's own count 0), no
    ``RAY_ADDRESS``; yields an empty Ray temp dir (``ray_init={"_temp_dir": ...}``: no
    cluster recorded there), and makes sure this process is not connected to Ray."""
    import ray

    from rung.executors.ray import precheck

    if ray.is_initialized():
        pytest.skip("this process is connected to Ray: the executor would not start one")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setattr(precheck, "_ray_gpu_count", lambda: 0)
    temp = tmp_path / "ray-temp"
    temp.mkdir()
    yield temp


# --- ray_init ------------------------------------------------------------------------------
def test_a_ray_init_key_ray_init_does_not_take_is_refused_with_a_close_match() -> None:
    e = _refused(ray_init={"num_cpu": 1, "include_dashboard": False})
    assert (e.key, e.message) == ("ray_init.num_cpu", "not a keyword argument of ray.init "
                                                      "(did you mean 'num_cpus'?)")
    e = _refused(address="local", ray_init={"bogus": 1})
    assert str(e) == "ray_init.bogus: not a keyword argument of ray.init"


def test_every_argument_ray_init_declares_and_its_private_ones_are_taken() -> None:
    import ray

    from rung.executors.ray import RayExecutor
    from rung.executors.ray.precheck import init_keywords

    known = init_keywords(ray)
    assert known is not None and {"num_cpus", "runtime_env", "address"} <= set(known)
    RayExecutor(address="auto", ray_init={k: None for k in known})
    RayExecutor(address="auto", ray_init={"_temp_dir": "/tmp/x", "_system_config": {}})


def test_allow_multiple_is_taken_with_a_ray_client_address_only(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from rung.executors.ray import RayExecutor

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    RayExecutor(address="ray://10.0.0.8:10001", ray_init={"allow_multiple": True})
    e = _refused(address="auto", ray_init={"allow_multiple": True})
    assert str(e) == ("ray_init.allow_multiple: an argument of Ray Client's: ray.init takes "
                      "it only with a ray:// address")
    monkeypatch.setenv("RAY_ADDRESS", "ray://10.0.0.8:10001")  # stands for address=None
    RayExecutor(ray_init={"allow_multiple": True})


def test_when_ray_init_hides_its_signature_ray_decides_as_before(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from rung.executors.ray import RayExecutor, precheck

    monkeypatch.setattr(precheck, "init_keywords", lambda ray: None)
    RayExecutor(address="auto", ray_init={"num_cpu": 1})  # ray.init refuses it when it runs


# --- actor_options -------------------------------------------------------------------------
def test_an_actor_option_ray_does_not_know_is_refused_naming_it() -> None:
    e = _refused(actor_options={"bogus_opt": 1})
    assert e.key == "actor_options.bogus_opt"
    assert e.message.startswith("not an option of Ray actors " + RAY_TAKES)
    assert "num_cpus" not in e.message  # rung's own are not offered
    e = _refused(actor_options={"scheduling_stratgy": "SPREAD"})
    assert e.message.startswith("not an option of Ray actors (did you mean "
                                "'scheduling_strategy'?) (Ray takes ")
    # the close match is one rung sets itself: say where it goes instead
    e = _refused(actor_options={"num_cpu": 1})
    assert e.message.startswith("not an option of Ray actors (did you mean 'num_cpus'? not an "
                                "option here: set it in resources_per_trial ('cpu')) (Ray "
                                "takes ")


def test_a_value_or_combination_ray_refuses_is_refused() -> None:
    e = _refused(actor_options={"lifetime": "forever"})
    assert str(e) == ("actor_options.lifetime: Ray refuses 'forever': actor `lifetime` "
                      "argument must be one of 'detached', 'non_detached' and 'None'.")
    e = _refused(actor_options={"get_if_exists": True})
    assert str(e) == ("actor_options: The actor name must be specified to use "
                      "`get_if_exists`.")


def test_actor_options_ray_takes_are_taken() -> None:
    from rung.executors.ray import RayExecutor

    ex = RayExecutor(actor_options={"scheduling_strategy": "SPREAD", "runtime_env": {},
                                    "max_pending_calls": -1})
    assert ex.actor_options["scheduling_strategy"] == "SPREAD"


def test_when_rays_option_table_moved_ray_decides_as_before(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from rung.executors.ray import RayExecutor, precheck

    monkeypatch.setattr(precheck, "_OPTION_MODULES", ("ray._no_such_module",))
    RayExecutor(actor_options={"bogus_opt": 1})  # Ray refuses it when the actors are built


# --- GPUs on a local instance --------------------------------------------------------------
def test_a_gpu_request_on_a_local_instance_without_gpus_is_refused(no_gpu: Path) -> None:
    from rung.executors.ray import RayExecutor

    temp = {"_temp_dir": str(no_gpu)}
    for kwargs in ({"address": "local"}, {"ray_init": temp},  # no cluster recorded: local
                   {"address": "local", "ray_init": {"num_cpus": 1}}):
        e = _refused(resources_per_trial={"cpu": 1, "gpu": 1}, **kwargs)
        assert (e.key, e.message) == ("resources_per_trial.gpu", NO_GPU)
    e = _refused(address="local", resources_per_trial={"gpu": 0.25})
    assert e.message.startswith("a trial needs 0.25 GPU, but no node of the local Ray ")
    # the study's resources (Study.run with a RayExecutor instance): checked as they arrive
    ex = RayExecutor(address="local")
    with pytest.raises(ConfigError) as err:
        ex.use_study_resources({"cpu": 1.0, "gpu": 1.0})
    assert (err.value.key, err.value.message) == ("resources_per_trial.gpu", NO_GPU)


def test_ray_init_num_gpus_is_what_the_local_instance_has(no_gpu: Path) -> None:
    from rung.executors.ray import RayExecutor

    RayExecutor(address="local", resources_per_trial={"gpu": 1}, ray_init={"num_gpus": 1})
    RayExecutor(address="local", resources_per_trial={"gpu": 0.5}, ray_init={"num_gpus": 1})
    e = _refused(address="local", resources_per_trial={"gpu": 2}, ray_init={"num_gpus": 1})
    assert str(e) == (
        "resources_per_trial.gpu: a trial needs 2 GPUs, but no node of the local Ray instance "
        "this executor starts can hold it: that instance has ray_init's num_gpus=1, and no "
        "other node joins it; ask for fewer, or connect to a cluster that has them "
        "(address=...)")


def test_gpus_this_machine_or_ray_sees_are_enough(
        no_gpu: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rung.executors.ray import RayExecutor, precheck

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    RayExecutor(address="local", resources_per_trial={"gpu": 2})
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    monkeypatch.setattr(precheck, "_ray_gpu_count", lambda: 1)  # a GPU /proc does not list
    RayExecutor(address="local", resources_per_trial={"gpu": 1})


def test_a_cluster_to_join_is_not_checked_here(
        no_gpu: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its nodes are read when the run starts (and a run waits for one that has a GPU)."""
    from rung.executors.ray import RayExecutor

    gpu: dict[str, Any] = {"resources_per_trial": {"gpu": 1}}
    for address in ("auto", "10.0.0.8:6379", "ray://10.0.0.8:10001"):
        RayExecutor(address=address, **gpu)
    (no_gpu / "ray_current_cluster").write_text("127.0.0.1:6379")  # `ray start` ran here
    RayExecutor(ray_init={"_temp_dir": str(no_gpu)}, **gpu)
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.8:6379")
    RayExecutor(**gpu)
    monkeypatch.setenv("RAY_ADDRESS", "local")
    assert _refused(**gpu).message == NO_GPU


def test_a_connection_this_process_has_is_not_checked_here(
        no_gpu: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``ray.init`` is not called then: the instance is the user's, checked at the start of
    the run (``_refuse_if_never_room``)."""
    import ray

    from rung.executors.ray import RayExecutor

    monkeypatch.setattr(ray, "is_initialized", lambda: True)
    RayExecutor(address="local", resources_per_trial={"gpu": 1})


def test_building_the_executor_imports_no_ray_when_nothing_needs_it() -> None:
    code = textwrap.dedent("""
        import os, sys
        os.environ.pop("RAY_ADDRESS", None)
        from rung.executors.ray import RayExecutor
        RayExecutor()
        RayExecutor(resources_per_trial={"cpu": 2}, max_concurrent=2, transport="ray")
        RayExecutor(address="auto", resources_per_trial={"gpu": 1})
        print("ray" in sys.modules)
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=60, env={**os.environ, "PYTHONPATH": SRC}, check=False)
    assert (r.returncode, r.stdout.strip()) == (0, "False"), r.stderr[-2000:]


# --- Study.run: refused before anything of the session is journaled ------------------------
def _train(ctx: Any) -> None:  # pragma: no cover - never runs: the executor is refused
    ctx.report(1, loss=ctx.params["x"])


@pytest.mark.parametrize(("options", "resources", "key"), [
    ({"ray_init": {"num_cpu": 1}}, None, "ray_init.num_cpu"),
    ({"actor_options": {"bogus_opt": 1}}, None, "actor_options.bogus_opt"),
    ({"address": "local"}, {"cpu": 1, "gpu": 1}, "resources_per_trial.gpu"),
])
def test_study_run_refuses_them_before_the_session_is_journaled(
        no_gpu: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        options: dict[str, Any], resources: dict[str, float] | None, key: str) -> None:
    from rung.executors.ray import RayExecutor

    def never(self: Any, ctx: Any) -> Any:
        raise AssertionError("RayExecutor.start: the run got as far as starting Ray")

    monkeypatch.setattr(RayExecutor, "start", never)
    study = rung.Study.create("s", rung.SearchSpace({"x": rung.Float(0.0, 1.0)}),
                              rung.Objective("loss", "min"), searcher="random",
                              scheduler="fifo", budget=rung.Budget(n_trials=2), seed=0,
                              storage=str(tmp_path / "s.db"), resources_per_trial=resources)
    before = study.journal.read("s")
    with pytest.raises(ConfigError) as e:
        study.run(_train, executor="ray", progress=False, **options)
    assert e.value.key == key
    assert study.journal.read("s") == before  # no session record, nothing else
    assert study.trials() == []


# --- rung run: one line, exit 2, nothing written --------------------------------------------
SPEC = """\
name: r
objective: train:fit
path: {code}
space: {{lr: {{type: float, low: 0.001, high: 0.1, log: true}}}}
metric: val_loss
budget: {{n_trials: 2}}
executor: ray
n_workers: 1
{extra}
"""


@pytest.mark.parametrize(("extra", "line"), [
    ("executor_options:\n  address: local\n  ray_init: {num_cpu: 1, include_dashboard: false}",
     "spec.executor_options.ray_init.num_cpu: not a keyword argument of ray.init (did you "
     "mean 'num_cpus'?)"),
    ("executor_options:\n  address: local\n  actor_options: {bogus_opt: 1}",
     "spec.executor_options.actor_options.bogus_opt: not an option of Ray actors " + RAY_TAKES),
    ("resources_per_trial: {gpu: 1}\nexecutor_options:\n  address: local\n"
     "  ray_init: {num_cpus: 1, include_dashboard: false}",
     # the key is rooted by rung.cli.spec_extras: under executor_options, where the executor's
     # resources_per_trial errors go, or (when the CLI roots it where the spec gave it) at
     # the spec's own resources_per_trial
     "resources_per_trial.gpu: " + NO_GPU),
], ids=["ray_init", "actor_options", "gpu"])
def test_rung_run_refuses_them_with_one_line_and_writes_nothing(
        tmp_path: Path, extra: str, line: str) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "train.py").write_text("def fit(ctx):\n    ctx.report(1, val_loss=1.0)\n")
    run = tmp_path / "run"
    run.mkdir()
    (run / "spec.yaml").write_text(SPEC.format(code=code, extra=extra))
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env.update(PYTHONPATH=SRC, CUDA_VISIBLE_DEVICES="", HIP_VISIBLE_DEVICES="",
               ROCR_VISIBLE_DEVICES="")
    r = subprocess.run([sys.executable, "-m", "rung", "run", "spec.yaml", "--no-live"],
                       cwd=run, env=env, capture_output=True, text=True, timeout=120,
                       check=False)
    assert (r.returncode, r.stdout) == (2, ""), r.stderr[-2000:]
    err = r.stderr.strip()
    assert err.count("\n") == 0, err
    if line.startswith("spec."):
        assert err.startswith("rung: error: " + line), err
    else:
        assert err in (f"rung: error: spec.executor_options.{line}",
                       f"rung: error: spec.{line}"), err
    assert sorted(p.name for p in run.iterdir()) == ["spec.yaml"]  # no study, no runs/
