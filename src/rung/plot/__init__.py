"""Static figures of a study (matplotlib, an optional extra: ``pip install 'rung[plot]'``).

Every function takes a ``Study`` (a finished one, or one loaded read-only while another process
runs it) and returns a ``matplotlib.figure.Figure``; ``save(fig, "x.png" | "x.svg" | "x.html")``
writes it. ``rung plot NAME --kind KIND -o FILE`` does the same from the command line.

=====================  ========================  ==============================================
kind                   function                  shows
=====================  ========================  ==============================================
``history``            ``optimization_history``  value per trial, best final value so far
``curves``             ``learning_curves``       curves by outcome, rung cut-offs, stops/pauses
``occupancy``          ``rung_occupancy``        trials that reached each rung, over time
``workers``            ``worker_timeline``       Gantt of runs per worker slot, idle gaps
``parallel``           ``parallel_coordinates``  params -> value, one line per trial
``importance``         ``param_importance``      main-effect variance share per parameter
``pareto``             ``pareto_front``          first two objectives, non-dominated trials
``slices``             ``intermediate_slices``   param vs metric at each rung step
=====================  ========================  ==============================================

Importing ``rung.plot`` does not import matplotlib; drawing a figure does, and says which
extra to install if it is missing.
"""

from __future__ import annotations

from rung.plot._figures import (
    KINDS,
    STATUS_COLORS,
    intermediate_slices,
    learning_curves,
    optimization_history,
    parallel_coordinates,
    param_importance,
    pareto_front,
    plot,
    rung_occupancy,
    save,
    worker_timeline,
)

__all__ = [
    "KINDS",
    "STATUS_COLORS",
    "intermediate_slices",
    "learning_curves",
    "optimization_history",
    "parallel_coordinates",
    "param_importance",
    "pareto_front",
    "plot",
    "rung_occupancy",
    "save",
    "worker_timeline",
]
