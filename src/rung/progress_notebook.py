"""The live view in a Jupyter notebook: the view's rich renderable drawn as HTML into one
display of the cell (``IPython.display.display(..., display_id=True)``), replaced in place at
each redraw.

Why not rich's ``Live`` there: it draws through an ipywidgets ``Output`` (nothing at all without
ipywidgets, which no extra installs) and refreshes it by capturing the cell's output into the
widget: lines the trials print meanwhile (fork workers write to the kernel's streams) land in
the widget and are wiped at the next redraw (2-4 of 40 lines lost, measured). A display updated
in place captures nothing: what the trials print goes to the cell as it would without the view.
"""

from __future__ import annotations

import io
from typing import Any

#: the width the view is laid out at (a notebook cell has no terminal width to follow)
WIDTH = 110


def _html(renderable: Any) -> dict[str, str]:
    """``renderable`` as the ``text/html`` (inline styles) and ``text/plain`` of a display."""
    from rich.console import Console

    console = Console(file=io.StringIO(), record=True, width=WIDTH, force_jupyter=False,
                      color_system="truecolor")
    console.print(renderable)
    text = console.export_text(clear=False)
    html = console.export_html(inline_styles=True, code_format="<pre style=\"font-family:"
                               "monospace;line-height:1.25\">{code}</pre>")
    return {"text/html": html, "text/plain": text}


class NotebookLive:
    """Draws a rich renderable into one display of the running cell, and again in its place
    at each ``update`` (the ``rich.live.Live`` calls ``Progress`` makes: ``__enter__``,
    ``update(renderable, refresh=...)``, ``__exit__``)."""

    def __init__(self, renderable: Any) -> None:
        self._renderable = renderable
        self._handle: Any = None

    def __enter__(self) -> NotebookLive:
        from IPython.display import display

        self._handle = display(_html(self._renderable), raw=True, display_id=True)
        return self

    def update(self, renderable: Any, refresh: bool = False) -> None:
        self._renderable = renderable
        if self._handle is not None:
            self._handle.update(_html(renderable), raw=True)

    def __exit__(self, *exc: object) -> None:
        self._handle = None


def notebook_display() -> bool:
    """Whether IPython's display machinery can be imported (it can in a kernel)."""
    try:
        from IPython.display import display  # noqa: F401
    except ImportError:
        return False
    return True


__all__ = ["NotebookLive", "notebook_display"]
