"""A rung study run inside another tool: the peer (Optuna, Ray Tune) owns its trials; each of
them is mirrored as a rung trial of an in-memory ``Study`` driven by ``ask`` / ``report`` /
``tell``, so rung's searcher proposes and rung's scheduler decides exactly as in a rung study
(the same engine, the same journal records, the same reasons).

Shared by ``rung.integrations.optuna_sampler`` and ``rung.integrations.ray_tune``; private.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from rung.core.components import Scheduler, SchedulerLike, SearcherLike
from rung.core.events import Action, Decision
from rung.core.records import ComponentSpec, Objective, Trial, TrialStatus
from rung.core.registry import lookup, to_spec
from rung.errors import ConfigError, RungError
from rung.space import SearchSpace

logger = logging.getLogger(__name__)

#: schedulers that pause or fork trials: a peer's trial cannot be paused and resumed by rung
#: (``curve`` pauses at every rung, never stops; ``pb2`` is PBT with another explore step).
#: A scheduler class that derives from one of them (``PB2(PBT)``, a user's subclass
#: registered under a name of its own) is refused as its base is (``pauses_or_forks``);
#: ``ASHA`` and ``AsyncHyperband`` pause only with ``variant="promotion"``.
PAUSING = ("successive_halving", "hyperband", "pbt", "pb2", "curve")

#: the space of a study whose trials the peer configures and does not show (``RungPruner``):
#: one fixed value, with which every trial is enqueued (``Embedded.start_configured``)
CONFIGURED_SPACE = {"_": 0}

#: the key under which a study stores which tool drove it (``Embedded(host=...)``): ``rung
#: show`` then does not suggest ``rung resume`` (the host's trials cannot be resumed by rung)
HOST_KEY = "host"


def pauses_or_forks(scheduler: SchedulerLike) -> bool:
    """Whether ``scheduler`` (a name, a spec or an instance) is one of ``PAUSING`` or an
    instance or registered class derived from one of them (PB2 is a PBT). A name that is not
    registered is no such scheduler (``to_spec`` names it as unknown)."""
    if isinstance(scheduler, Scheduler):
        cls: type = type(scheduler)
    else:
        spec = scheduler if isinstance(scheduler, ComponentSpec) else to_spec(
            "scheduler", scheduler)
        name = spec.name
        if name in PAUSING:
            return True
        try:
            cls = lookup("scheduler", name)
        except ConfigError:
            return False
    return any(vars(c).get("name") in PAUSING for c in cls.__mro__)


def check_stopping(scheduler: SchedulerLike, key: str = "scheduler") -> None:
    """Refuse a scheduler that pauses or forks trials (only stop / continue map to a peer):
    ``ConfigError`` keyed ``key``, before anything runs. Refused: ``variant="promotion"``
    (``ASHA``, ``AsyncHyperband``: "... with variant='promotion' pauses trials ..."), and the
    schedulers of ``PAUSING`` and their subclasses (``pauses_or_forks``: "'<name>' pauses or
    forks trials, which the host tool's trials cannot do: use a stopping scheduler ...")."""
    spec = to_spec("scheduler", scheduler)
    if spec.params.get("variant") == "promotion":
        raise ConfigError(
            key=key,
            message=f"{spec.name!r} with variant='promotion' pauses trials, which the host "
            f"tool's trials cannot do: use its stopping variant ({spec.name} with "
            "variant='stopping', the default)",
        )
    if pauses_or_forks(scheduler if isinstance(scheduler, Scheduler) else spec):
        raise ConfigError(
            key=key,
            message=f"{spec.name!r} pauses or forks trials, which the host tool's trials "
            f"cannot do: use a stopping scheduler (asha, async_hyperband, median, mo_asha, "
            f"fifo, ...)",
        )


class Embedded:
    """An in-memory rung study whose trials stand for a peer's trials, by the peer's key."""

    def __init__(
        self,
        space: SearchSpace,
        objectives: Sequence[Objective],
        searcher: SearcherLike,
        scheduler: SchedulerLike,
        max_step: int,
        seed: int,
        name: str = "embedded",
        storage: str | None = None,
        configured: bool = False,
        host: str | None = None,
    ) -> None:
        """``configured``: the peer configures every trial and says how
        (``start_configured(key, params)``): the study is define-by-run, its space learned
        from nothing (``space`` is ignored), each trial's params the peer's configuration, so
        the journal (``rung show``, the dashboard, ``Study.load``) says which configuration
        each decision was about. ``host``: the tool that drives the study, stored with it
        (``HOST_KEY``)."""
        from rung.storage import MemoryJournal, open_journal
        from rung.study import Study

        journal = open_journal(storage)
        if name in journal.list_studies():
            journal.close()
            raise ConfigError(key="name", message=(
                f"{name!r} is already a study in {storage}: each run journals a study of its "
                "own; give the adapter another name= (or storage=)"))
        if configured:
            space = SearchSpace.empty()
        built = Study.create(
            name, space, objective=list(objectives), searcher=searcher, scheduler=scheduler,
            max_step=max_step, seed=seed, storage=MemoryJournal() if host else journal,
            define_by_run=configured,
        )
        # the spec is validated and built by ``create``; stored with the host beside it
        self.study = built if not host else Study.from_spec(
            built.spec, storage=journal, extra={HOST_KEY: host})
        self.configured = configured
        self.space = space
        self.ids: dict[Hashable, int] = {}
        self.open: dict[Hashable, int] = {}  # keys whose rung trial is still active
        self.decided: dict[Hashable, Decision] = {}  # the last non-CONTINUE decision

    def start(self, key: Hashable, params: Mapping[str, Any] | None = None) -> Trial | None:
        """A new rung trial for the peer's trial ``key``: with ``params`` (the peer chose
        them), or proposed by rung's searcher. ``None`` if the searcher is exhausted."""
        if params is not None:
            self.study.enqueue(params)
        trial = self.study.ask()
        if trial is None:
            return None
        if trial.id in self.ids.values():
            # a resumed trial: only schedulers that pause return one (refused up front)
            raise RungError(f"rung's scheduler resumed trial {trial.id}; the host cannot")
        self.ids[key] = self.open[key] = trial.id
        return trial

    def start_configured(self, key: Hashable, params: Mapping[str, Any] | None = None) -> Trial:
        """A new rung trial for the peer's trial ``key``, configured by the peer: enqueued, so
        rung's searcher is not asked, and may not end the study (a searcher may rightly call
        a one-configuration space exhausted). In a ``configured`` study its params are
        ``params`` (JSON scalars by name: the peer's configuration); else the study's space
        is ``CONFIGURED_SPACE`` and ``params`` is ignored."""
        trial = self.start(key, dict(params or {}) if self.configured else CONFIGURED_SPACE)
        if trial is None:
            raise RungError(f"rung gave no trial for the peer's trial {key!r}: a defect of "
                            "rung, please report it")
        return trial

    def report(self, key: Hashable, step: int, metrics: Mapping[str, Any]) -> Decision:
        """Record a result of an open trial and return rung's decision."""
        tid = self.open[key]
        decision = self.study.report(tid, step, metrics)
        if decision.action is not Action.CONTINUE:
            self.decided[key] = decision
        return decision

    def end(self, key: Hashable, status: str, metrics: Mapping[str, Any] | None = None,
            step: int | None = None, error: str | None = None) -> None:
        """End the rung trial of ``key`` (once; later calls do nothing). ``error``: why a
        ``"failed"`` trial failed (the host's error text), recorded as the trial's error, as
        a failing trial's traceback is in a rung study."""
        tid = self.open.pop(key, None)
        if tid is None:
            return
        if key in self.decided and status == "completed":
            status = "stopped"  # the host ended it because rung said so
        self.study.tell(tid, status, metrics, step=step,
                        error=error if status == "failed" else None)

    def status(self, key: Hashable) -> TrialStatus | None:
        tid = self.ids.get(key)
        return None if tid is None else self.study.history.status(tid)
