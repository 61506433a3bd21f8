"""An objective whose call returns without training (``async def``, a generator function, an
instance with an ``async`` ``__call__``) is refused with the spec, before anything is written;
a plain function with extra defaulted parameters, or an instance with a plain ``__call__``, is
accepted. An objective whose module imports a package one of rung's extras installs, which is
not installed, is refused naming the extra."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rung.cli.spec import RunSpec, SpecError, parse_spec, resolve_objective

SOURCE = '''
def plain(ctx, extra=1):
    pass
async def coro(ctx):
    pass
def gen(ctx):
    yield 1
async def agen(ctx):
    yield 1
class Async:
    async def __call__(self, ctx):
        pass
class Plain:
    def __call__(self, ctx):
        pass
instance = Async()
plain_instance = Plain()
'''


@pytest.fixture
def module(isolated: Path) -> Iterator[str]:
    (isolated / "kinds_objective.py").write_text(SOURCE)
    yield "kinds_objective"
    sys.modules.pop("kinds_objective", None)


def _spec(isolated: Path, ref: str) -> RunSpec:
    return parse_spec({"name": "k", "objective": ref, "metric": "loss", "space": {"x": [1, 2]},
                       "budget": {"n_trials": 2}}, base_dir=isolated)


ASYNC = ("is an async function: rung calls the objective and never awaits it; write it as a "
         "plain def (asyncio.run(...) inside it runs async code)")


@pytest.mark.parametrize(("attr", "message"), [
    ("coro", ASYNC),
    ("agen", ASYNC),
    ("instance", ASYNC),
    ("gen", "is a generator function (it yields): rung calls it once; report each step with "
            "ctx.report(step, metric=value) instead of yielding"),
])
def test_an_objective_that_returns_without_training_is_refused(
    isolated: Path, module: str, attr: str, message: str
) -> None:
    with pytest.raises(SpecError) as info:
        resolve_objective(_spec(isolated, f"{module}:{attr}"))
    assert str(info.value) == f"spec.objective: {module}:{attr} {message}"


@pytest.mark.parametrize("attr", ["plain", "plain_instance"])
def test_a_plain_callable_is_accepted(isolated: Path, module: str, attr: str) -> None:
    fn = resolve_objective(_spec(isolated, f"{module}:{attr}"))
    assert fn is getattr(sys.modules[module], attr)


@pytest.mark.parametrize(("imported", "hint"), [
    ("sklearn", " (pip install 'rung[examples]' or 'rung[sklearn]')"),  # examples/boosting.py
    ("pandas", " (pip install 'rung[dataframe]' or 'rung[dashboard]')"),
    ("lightgbm", " (pip install 'rung[lightgbm]')"),
    ("no_such_package_of_any_extra", ""),  # unknown: as before
])
def test_an_objective_importing_a_missing_extra_names_it(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    imported: str, hint: str,
) -> None:
    """``rung run examples/spec.yaml`` with only rung[cli]: "No module named 'sklearn'" did not
    say that one of rung's extras installs it."""
    from rung.cli.main import main

    if hint:
        monkeypatch.setitem(sys.modules, imported, None)  # as if it were not installed
    (isolated / "needs_extra.py").write_text(f"import {imported}\ndef train(ctx):\n    pass\n")
    monkeypatch.setitem(sys.modules, "needs_extra", None)
    monkeypatch.delitem(sys.modules, "needs_extra")  # imported afresh, and forgotten after
    (isolated / "spec.yaml").write_text(
        "name: k\nobjective: needs_extra:train\nmetric: loss\nspace: {x: [1, 2]}\n"
        "budget: {n_trials: 2}\n")
    assert main(["run", "spec.yaml", "--no-live"]) == 2
    why = (f"import of {imported} halted; None in sys.modules" if hint
           else f"No module named '{imported}'")
    assert capsys.readouterr().err == (
        f"rung: error: spec.objective: importing 'needs_extra' failed: {why}{hint}\n")
    assert sorted(p.name for p in isolated.iterdir()) == ["needs_extra.py", "spec.yaml"]
