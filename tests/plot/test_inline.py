"""``rung.plot``'s figures show as images in a Jupyter kernel without ``%matplotlib inline``
(``rung.plot._draw.shows_inline``), driven by a stand-in for IPython's shell."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

pytest.importorskip("matplotlib")

from matplotlib.figure import Figure

from rung.plot import _draw


class _Formatter:
    def __init__(self) -> None:
        self.type_printers: dict[type, Any] = {}

    def for_type(self, typ: type, fn: Any) -> None:
        self.type_printers[typ] = fn


class ZMQInteractiveShell:  # (the name is what rung looks at)
    def __init__(self) -> None:
        kinds = ("image/png", "image/svg+xml", "image/jpeg", "application/pdf", "text/plain")
        self.display_formatter = types.SimpleNamespace(
            formatters={k: _Formatter() for k in kinds})


def _kernel(monkeypatch: pytest.MonkeyPatch, shell: object) -> None:
    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: shell  # type: ignore[attr-defined]
    ipython.version_info = (9, 0, 0)  # type: ignore[attr-defined]
    core = types.ModuleType("IPython.core")
    pylab = types.ModuleType("IPython.core.pylabtools")
    pylab.print_figure = lambda fig, fmt="png", base64=False: f"{fmt}:{base64}"  # type: ignore[attr-defined]
    for name, mod in (("IPython", ipython), ("IPython.core", core),
                      ("IPython.core.pylabtools", pylab)):
        monkeypatch.setitem(sys.modules, name, mod)
    monkeypatch.setattr(_draw, "_INLINE", [False])


def test_a_kernel_shows_rungs_figures_as_png(monkeypatch: pytest.MonkeyPatch) -> None:
    shell = ZMQInteractiveShell()
    _kernel(monkeypatch, shell)
    _draw._figure()
    png = shell.display_formatter.formatters["image/png"].type_printers
    assert list(png) == [Figure] and png[Figure](None) == "png:True"


def test_a_format_the_user_chose_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    shell = ZMQInteractiveShell()
    shell.display_formatter.formatters["image/svg+xml"].for_type(Figure, "theirs")
    _kernel(monkeypatch, shell)
    _draw._figure()
    assert shell.display_formatter.formatters["image/png"].type_printers == {}
    assert shell.display_formatter.formatters["image/svg+xml"].type_printers == {
        Figure: "theirs"}


def test_a_terminal_ipython_or_no_ipython_is_left_alone(
        monkeypatch: pytest.MonkeyPatch) -> None:
    class TerminalInteractiveShell(ZMQInteractiveShell):
        pass

    shell = TerminalInteractiveShell()
    _kernel(monkeypatch, shell)
    _draw._figure()
    assert shell.display_formatter.formatters["image/png"].type_printers == {}
    monkeypatch.delitem(sys.modules, "IPython")
    monkeypatch.setattr(_draw, "_INLINE", [False])
    _draw._figure()  # nothing to do, nothing raised
