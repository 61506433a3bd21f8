"""``import rung`` is cheap: public names are exported lazily, and neither the driver nor a
local worker of a random-search / ASHA study imports SciPy."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import rung

TESTS = Path(__file__).resolve().parent


def _python(code: str) -> str:
    """Run ``code`` in a fresh interpreter (with this directory importable); its stdout."""
    env_path = str(TESTS)
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, timeout=300,
        env={**__import__("os").environ, "PYTHONPATH": env_path},
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_import_rung_imports_no_scipy_and_no_component() -> None:
    out = _python("""
        import json, sys
        import rung
        print(json.dumps(sorted(m for m in sys.modules if m.startswith(("rung", "scipy")))))
    """)
    loaded = json.loads(out)
    assert not [m for m in loaded if m.startswith("scipy")]
    components = [m for m in loaded if m.startswith(("rung.searchers.", "rung.schedulers."))]
    assert components == []
    assert "rung.study" not in loaded and "rung.executors.local" not in loaded


def test_every_public_name_resolves_and_dir_lists_it() -> None:
    assert "__version__" in rung.__all__
    assert set(rung.__all__) <= set(dir(rung))
    for name in rung.__all__:
        assert getattr(rung, name) is not None, name
    assert rung.__version__ == "0.1.0"
    from rung.executors.local import LocalExecutor
    from rung.executors.ray import RayExecutor
    from rung.executors.simulated import SimulatedExecutor

    # every executor class is a top-level name, as the spec's three executor names are
    assert (rung.LocalExecutor, rung.RayExecutor, rung.SimulatedExecutor) == (
        LocalExecutor, RayExecutor, SimulatedExecutor)
    from rung import schedulers, searchers

    for pkg in (searchers, schedulers):
        assert set(pkg.__all__) <= set(dir(pkg))
        for name in pkg.__all__:
            assert getattr(pkg, name) is not None, (pkg.__name__, name)


def test_an_unknown_name_is_an_attribute_error() -> None:
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        rung.Nope  # noqa: B018


def test_a_local_random_asha_study_imports_no_scipy_in_driver_or_workers(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = _python(f"""
        import json, sys
        import rung
        import lazy_objectives

        if __name__ == "__main__":
            study = rung.Study.create(
                "lazy", {{"x": rung.Float(0.0, 1.0)}}, rung.Objective("loss", "min"),
                searcher="random", scheduler=rung.ASHA(reduction_factor=3), max_step=9,
                budget=rung.Budget(n_trials=6), seed=0, storage={str(tmp_path / "j.db")!r},
            )
            study.run(lazy_objectives.reports_heavy_imports, n_workers=2)
            seen = [r.metrics["scipy"] for t in study.trials() for r in t.results]
            print(json.dumps({{"driver": "scipy" in sys.modules, "workers": seen}}))
    """)
    got = json.loads(out.strip().splitlines()[-1])
    assert got["workers"] and set(got["workers"]) == {0.0}, got
    assert got["driver"] is False, got
