"""``rung show`` says which executor ran a study and what each driver session had: its
slots and what a trial held (the Ray executor reports what each actor reserves)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from clihelp import HERE, write_spec

import rung
from rung.cli.main import main
from rung.cli.report import fmt_num

HAVE_RAY = importlib.util.find_spec("ray") is not None
SRC = str(Path(rung.__file__).resolve().parents[1])
#: Ray on 127.0.0.1 only: Ray replaces a loopback node address with the machine's unless it
#: runs as on a laptop (no cluster), which this variable asks for
LOOPBACK = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}


def section(out: str) -> list[str]:
    """The lines of ``rung show``'s executor section (from its ``executor`` line on)."""
    lines = out.rstrip("\n").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("executor "))
    return lines[start:]


def test_show_names_the_spec_executor_and_its_session(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_spec(isolated, "name: sim\nbenchmark: mf-branin\nbudget: {n_trials: 6}\n"
                         "n_workers: 2\nresources_per_trial: {cpu: 2}\n")
    assert main(["run", "spec.yaml", "--no-live"]) == 0
    capsys.readouterr()
    assert main(["show", "sim"]) == 0
    assert section(capsys.readouterr().out) == [
        "executor simulated  (n_workers=2)",
        "  session  started (UTC)  executor   slots  per trial             launches",
        "  1        t=0s           simulated  2      cpu=2 (not reported)  6",
    ]


def test_show_lists_every_session_of_a_study_run_from_python(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A resumed study has one row per session; the capacity-0 event the driver writes when
    it resumes (before its executor starts) is not a session."""
    from rung.benchmarks import benchmark_from_json

    bench = benchmark_from_json({"name": "mf-branin", "params": {}})
    study = rung.Study.create("py", bench.space, rung.Objective("loss"), searcher="random",
                              scheduler="fifo", max_step=bench.max_step,
                              budget=rung.Budget(n_trials=4), storage="py.db")

    def interrupt(engine: rung.core.engine.Engine) -> None:
        if engine.history.n_results >= 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        study.simulate(bench, n_workers=2, on_turn=interrupt)
    study.close()
    again = rung.Study.load("py", "py.db")
    resumed_at = again.engine.now  # where the second session's virtual clock starts
    again.simulate(bench, n_workers=1)
    again.close()
    assert main(["show", "py", "--storage", "py.db"]) == 0
    rows = section(capsys.readouterr().out)
    assert rows[0] == ("executor as each session ran it (the study was not created by `rung run`: "
        "no spec's executor settings on record)")
    assert rows[1].split() == ["session", "started", "(UTC)", "executor", "slots", "per",
                               "trial", "launches"]
    assert [r.split()[0] for r in rows[2:]] == ["1", "2"]
    first, second = (r.split() for r in rows[2:])
    assert first[1:] == ["t=0s", "simulated", "2", "cpu=1", "(not", "reported)", "2"]
    assert resumed_at > 0 and second[1] == f"t={fmt_num(resumed_at)}s"
    assert second[2:6] == ["simulated", "1", "cpu=1", "(not"] and second[-1] in ("2", "3", "4")


@pytest.mark.ray
@pytest.mark.slow
@pytest.mark.skipif(not HAVE_RAY, reason="Ray is not installed: pip install 'rung[ray]'")
def test_rung_run_on_ray_reserves_the_spec_resources_and_show_says_so(tmp_path: Path) -> None:
    """``rung run`` of an ``executor: ray`` spec with ``resources_per_trial: {cpu: 2}`` on a
    2-CPU Ray instance on loopback: one trial at a time, each actor reserving 2 CPUs, and
    ``rung show`` says so."""
    write_spec(tmp_path, textwrap.dedent(f"""\
        name: onray
        objective: cli_objectives:train
        path: {HERE}
        space: {{x: {{type: float, low: 0.0, high: 1.0}}}}
        metric: loss
        max_step: 2
        searcher: random
        scheduler: fifo
        budget: {{n_trials: 2}}
        executor: ray
        resources_per_trial: {{cpu: 2}}
        """))
    driver = textwrap.dedent("""\
        import sys
        import ray
        from rung.cli.main import main

        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            code = main(["run", "spec.yaml", "--no-live"]) or main(["show", "onray"])
        finally:
            ray.shutdown()
        sys.exit(code)
        """)
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env.update(LOOPBACK)
    env["PYTHONPATH"] = os.pathsep.join([SRC, str(HERE)])  # the actors import the objective
    r = subprocess.run([sys.executable, "-c", driver], capture_output=True, text=True,
                       env=env, cwd=tmp_path, timeout=180, check=False)
    assert r.returncode == 0, r.stderr[-3000:]
    rows = section(r.stdout)
    assert rows[0] == "executor ray"
    # the instance was started before `rung run`: the executor connected to it (address None)
    assert rows[2].split()[0] == "1" and rows[2].split()[3] == "ray"
    assert rows[2].split()[4].startswith("(cluster=127.0.0.1:")  # loopback
    assert rows[2].split()[5:] == ["transport=socket)", "1", "cpu=2", "2"]
    assert len(rows) == 3


def test_a_journal_written_before_sessions_named_their_executor_shows_a_dash(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A ``CapacityChanged`` body without ``executor`` (what rung wrote before) reads back as
    ``None`` and its session's executor is shown as ``-``."""
    from rung.core.events import CapacityChanged
    from rung.storage.codec import RECORD_VERSION, from_body

    old = from_body("CapacityChanged", {"v": RECORD_VERSION, "capacity": 3, "time": 5.0,
                                        "new_session": True, "resources": None})
    assert old == CapacityChanged(3, 5.0, new_session=True)
    study = rung.Study.create("old", {"x": rung.Float(0.0, 1.0)}, rung.Objective("loss"),
                              searcher="random", scheduler="fifo",
                              budget=rung.Budget(n_trials=1), storage="old.db")
    study.journal.append("old", [old])
    study.close()
    assert main(["show", "old", "--storage", "old.db"]) == 0
    assert section(capsys.readouterr().out)[1:] == [
        "  session  started (UTC)  executor  slots  per trial             launches",
        "  1        t=5s           -         3      cpu=1 (not reported)  0",
    ]
