"""The validated spec the ``rung`` command runs (``RunSpec``), and its record in the journal.

``rung.cli.spec.parse_spec`` builds a ``RunSpec``: the ``StudySpec`` plus how the CLI runs it
(objective, executor, workers, storage...). ``RunSpec.cli_json`` is what ``rung run`` stores
beside the study spec, under ``CLI_KEY``, so that ``rung resume NAME`` needs nothing but the
journal: ``spec_from_journal`` rebuilds the ``RunSpec`` from it. ``load_benchmark`` builds the
benchmark of a simulated run. ``rung.cli.spec`` re-exports all four.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rung.cli.spec_error import SpecError
from rung.core.records import StudySpec
from rung.errors import ConfigError

#: Key under which the CLI stores how to run a study (objective, executor...) in its spec JSON,
#: so that ``rung resume NAME`` needs nothing but the journal.
CLI_KEY = "cli"


@dataclass(frozen=True)
class RunSpec:
    """A validated spec: the ``StudySpec`` plus how the CLI runs it.

    Attributes:
        study: what is stored in the journal and replayed.
        objective: ``"module:function"`` (``None`` for a simulated benchmark run).
        path: absolute directories prepended to ``sys.path`` before importing ``objective``.
        executor: ``"local"``, ``"ray"`` or ``"simulated"``.
        n_workers: worker count (``None``: the executor's default, e.g. the local executor's
            ``rung.executors.local_devices.default_workers``).
        storage: the SQLite journal file.
        benchmark: ``{"name", "params"}`` of a ``rung.benchmarks`` problem (simulated only).
        checkpoint_every: local and Ray executors: save a checkpoint every that many steps
            (through the report's ``save`` callback) besides those the scheduler asks for.
        options: the spec's ``executor_options`` (``rung.cli.spec_extras``), checked.
        auto: why ``searcher`` / ``scheduler`` ``auto`` (the default) chose what they chose;
            ``None`` when the spec names both.
    """

    study: StudySpec
    objective: str | None
    path: tuple[str, ...] = ()
    executor: str = "local"
    n_workers: int | None = None
    storage: Path = field(default_factory=lambda: Path("runs/study.db"))
    benchmark: dict[str, Any] | None = None
    checkpoint_every: int | None = None
    auto: str | None = None
    tracking: dict[str, dict[str, Any]] | None = None  # spec_tracking: trackers to mirror into
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.study.name

    def cli_json(self) -> dict[str, Any]:
        """How to run the study, stored beside the study spec in the journal."""
        return {
            "objective": self.objective,
            "path": list(self.path),
            "executor": self.executor,
            "n_workers": self.n_workers,
            "benchmark": self.benchmark,
            "checkpoint_every": self.checkpoint_every,
            "tracking": self.tracking,
            # only when given: a journal written before the key compares equal (rung run)
            **({"executor_options": self.options} if self.options else {}),
        }

    def executor_options(self) -> dict[str, Any]:
        """Keyword arguments for the executor's constructor (``Study.run``'s options)."""
        options = dict(self.options)
        if self.executor in ("local", "ray") and self.checkpoint_every is not None:
            options["checkpoint_every"] = self.checkpoint_every
        return options


def spec_from_journal(data: Mapping[str, Any], storage: Path) -> RunSpec:
    """Rebuild a ``RunSpec`` from a study spec stored by ``rung run`` (for ``rung resume``)."""
    study = StudySpec.from_json(data)
    from rung.integrations._embedded import HOST_KEY

    cli = data.get(CLI_KEY)
    host = data.get(HOST_KEY)
    if not isinstance(cli, Mapping) and isinstance(host, str):
        raise ConfigError(
            key="objective",
            message=f"study {study.name!r} was driven by {host}, which ran its trials: rung "
            "cannot resume it (run the tool again: it journals a new study)",
        )
    if not isinstance(cli, Mapping):
        raise ConfigError(
            key="objective",
            message=f"study {study.name!r} has none on record (it was not created by "
            "`rung run`); resume it from Python with Study.load(...).run(objective)",
        )
    return RunSpec(
        study=study,
        objective=cli.get("objective"),
        path=tuple(cli.get("path") or ()),
        executor=str(cli.get("executor", "local")),
        n_workers=cli.get("n_workers"),
        storage=storage,
        benchmark=cli.get("benchmark"),
        checkpoint_every=cli.get("checkpoint_every"),
        tracking=cli.get("tracking"),
        options=dict(cli.get("executor_options") or {}),
    )


def load_benchmark(spec: RunSpec) -> Any:
    """Build the spec's benchmark (simulated executor)."""
    from rung.benchmarks import benchmark_from_json

    if spec.benchmark is None:
        raise SpecError("spec.benchmark", "missing (the simulated executor needs a benchmark)")
    return benchmark_from_json(spec.benchmark)


__all__ = ["CLI_KEY", "RunSpec", "load_benchmark", "spec_from_journal"]
