"""Define-by-run search (``rung.optimize``): the objective declares its parameters as it uses
them (``trial.suggest_float`` ...), and the study's space is learned from what trials used.

- ``rung.dbr.trial``: ``Trial``, the worker-side object the objective gets;
- ``rung.dbr.objective``: the picklable wrappers that turn a ``Trial`` objective (and a study's
  ``Fidelity``) into the ``objective(ctx)`` every executor runs;
- ``rung.dbr.optimize``: ``optimize``, the one-call shorthand;
- ``rung.dbr.fixed``: ``FixedTrial``, a trial with given params, to test an objective without
  a study (Optuna's ``FixedTrial``);
- ``rung.dbr.metrics``: the one rule for what an objective returns or reports.
- ``rung.dbr.unused``: ``UnusedParams``, the driver's warning about an enqueued name the
  objective never asked for.

The space itself is learned in the driver, by the engine, from the journaled ``ParamsUsed``
events (``rung.space.learned``).
"""

from rung.dbr.fixed import FixedTrial
from rung.dbr.objective import DefineByRun, WithFidelity, wrap_objective
from rung.dbr.optimize import optimize
from rung.dbr.trial import Trial

__all__ = ["DefineByRun", "FixedTrial", "Trial", "WithFidelity", "optimize", "wrap_objective"]
