"""A spec that reaches a defect of a component while binding it is refused in one line (exit 2,
nothing written), not with a traceback; a component whose extra is not installed is no defect:
one line naming the extra."""

from __future__ import annotations

import sys

import pytest

from rung._extras import missing_package
from rung.cli.spec import SpecError, parse_spec


def test_a_spec_a_component_cannot_bind_is_one_line_not_a_traceback() -> None:
    """An integer range no searcher's encoding holds (gp's overflowed at bind): whether the
    space refuses it or the binding does, the answer is one ``SpecError`` line."""
    with pytest.raises(SpecError) as info:
        parse_spec({"name": "b", "objective": "m:f", "path": ".", "metric": "loss",
                    "space": {"x": {"type": "int", "low": 0, "high": 10**23}},
                    "budget": {"n_trials": 2}, "searcher": "gp", "scheduler": "fifo"})
    assert "\n" not in str(info.value) and str(info.value).startswith("spec")


def test_a_component_whose_extra_is_missing_is_named_with_the_extra_not_as_a_defect(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With only rung[cli], ``searcher: optuna`` was "a defect of rung: please report it"."""
    monkeypatch.setitem(sys.modules, "optuna", None)  # as if Optuna were not installed
    with pytest.raises(SpecError) as info:
        parse_spec({"name": "b", "objective": "m:f", "path": ".", "metric": "loss",
                    "space": {"x": {"type": "float", "low": -1, "high": 1}},
                    "budget": {"n_trials": 2}, "scheduler": "fifo",
                    "searcher": {"name": "optuna",
                                 "params": {"sampler": "optuna.samplers.TPESampler"}}})
    assert str(info.value) == (
        "spec: binding the searcher 'optuna' and scheduler 'fifo' to this spec failed: "
        "rung.integrations.optuna needs optuna, which is not installed (import of optuna "
        "halted; None in sys.modules): pip install 'rung[optuna]'")


@pytest.mark.parametrize(("error", "message"), [
    (ModuleNotFoundError("No module named 'sklearn'", name="sklearn"),
     "No module named 'sklearn' (pip install 'rung[examples]' or 'rung[sklearn]')"),
    (ImportError("rung.x needs optuna, which is not installed: pip install 'rung[optuna]'"),
     "rung.x needs optuna, which is not installed: pip install 'rung[optuna]'"),
    (ModuleNotFoundError("No module named 'nowhere'", name="nowhere"),
     "No module named 'nowhere'"),
    (ModuleNotFoundError("No module named 'rung.gone'", name="rung.gone"), None),  # a defect
])
def test_missing_package_names_the_extra(error: ImportError, message: str | None) -> None:
    assert missing_package(error) == message
