"""Executors turn the engine's commands into actions and actions into events.

``base.py`` holds the ``Executor`` protocol and ``RunContext``; ``protocol.py`` the wire
messages between a driver and its workers; ``worker.py`` the worker side (``TrialContext`` and
the worker loop); ``pool.py`` what every real executor shares; ``local.py`` (worker processes,
over ``pipe.py``), ``ray/`` (a Ray cluster) and ``simulated.py`` (a virtual clock) the
executors themselves. Importing this package imports none of them.
"""

from __future__ import annotations

from rung.executors.base import Executor, RunContext

__all__ = ["Executor", "RunContext"]
