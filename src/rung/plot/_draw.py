"""What every figure of ``rung.plot`` starts from: a matplotlib ``Figure``, the study's data.

``_figure`` imports matplotlib (``ConfigError`` naming the ``plot`` extra when it is missing)
and makes an empty figure; ``_data`` gathers what the figures read of a study (its history,
journal fold, fidelity ladder); ``_nothing_yet`` marks an axes with nothing to draw; ``_value``
is a trial's metric value (NaN when its score is not finite); ``STATUS_COLORS`` colour trials
by status. Nothing here draws a figure.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rung.analysis_frames import JournalFold, has_rungs, require, spec_steps, study_fold

if TYPE_CHECKING:
    from typing import Any

    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from rung.core.history import History
    from rung.study import Study

#: colour of a trial by its status (also used for the runs of the worker timeline, by outcome)
STATUS_COLORS: Mapping[str, str] = {
    "completed": "#2ca02c",
    "stopped": "#d62728",
    "paused": "#ff7f0e",
    "running": "#1f77b4",
    "launched": "#1f77b4",
    "failed": "#111111",
    "interrupted": "#9467bd",
}


def _figure(w: float = 8.0, h: float = 5.0, **kw: Any) -> Figure:
    require("matplotlib", "plot", "rung.plot")
    from matplotlib.figure import Figure

    shows_inline()
    return Figure(figsize=(w, h), layout="constrained", **kw)


_INLINE: list[bool] = [False]  # shows_inline ran in this process


def shows_inline() -> None:
    """In a Jupyter kernel, have IPython draw a figure rung returns as an image, as
    ``%matplotlib inline`` would: rung's figures are matplotlib ``Figure`` objects made without
    pyplot, which IPython shows as text (``<Figure size 1100x550 with 1 Axes>``) until some
    pyplot figure has been drawn. A ``Figure`` display format already chosen (the user's
    ``%config InlineBackend.figure_formats``, an earlier pyplot figure) is left alone; outside
    a kernel nothing happens. Once per process."""
    if _INLINE[0]:
        return
    _INLINE[0] = True
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return
    try:
        shell = ipython.get_ipython()
        if shell is None or type(shell).__name__ != "ZMQInteractiveShell":
            return
        from functools import partial

        from IPython.core.pylabtools import print_figure
        from matplotlib.figure import Figure

        formatters = shell.display_formatter.formatters
        kinds = ("image/png", "image/svg+xml", "image/jpeg", "application/pdf")
        if any(Figure in getattr(formatters.get(k), "type_printers", {}) for k in kinds):
            return
        formatters["image/png"].for_type(Figure, partial(print_figure, fmt="png",
                                                         base64=True))
    except Exception:  # (an IPython of another shape: figures show as they did)
        return


@dataclass
class _Data:
    history: History
    fold: JournalFold
    steps: list[int]  # the fidelity ladder (``spec_steps``)
    max_step: int
    metric: str
    name: str
    rungs: bool  # the steps are the scheduler's own rungs (``has_rungs``)

    def label(self) -> str:
        """The metric's axis label; with several objectives it says this is the first
        (the one these figures draw: ``pareto_front`` draws the trade-off)."""
        o = self.history.objective
        return f"{o.metric} ({'lower' if o.mode == 'min' else 'higher'} is better{self._first()})"

    def named(self) -> str:
        """The metric's name, and with several objectives that it is the first."""
        first = self._first()
        return self.history.objective.metric + (f" ({first[2:]})" if first else "")

    def _first(self) -> str:
        n = len(self.history.objectives)
        return f", the first of {n} objectives" if n > 1 else ""


def _data(study: Study) -> _Data:
    h = study.history
    sched = study.engine.scheduler
    return _Data(h, study_fold(study), spec_steps(study.spec, sched), study.spec.max_step,
                 h.objective.metric, study.name, has_rungs(sched))


def _nothing_yet(ax: Axes, what: str = "no results yet") -> None:
    """Say so on an axes that has nothing to draw (a study with no results, no runs)."""
    ax.text(0.5, 0.5, what, transform=ax.transAxes, ha="center", va="center",
            color="#777777", gid="nothing-yet")


def _value(h: History, tid: int, step: int | None = None) -> float:
    s = h.score(tid, step)
    return h.objective.value(s) if math.isfinite(s) else math.nan


__all__ = ["STATUS_COLORS"]
