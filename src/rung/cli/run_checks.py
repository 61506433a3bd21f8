"""What ``rung run``, ``rung resume`` and ``rung demo`` refuse before anything is written.

Each check raises ``CLIError`` with exit code 2 and one line naming the option or spec key:
``storage_arg`` (``--storage FILE|DIR``: a journal that cannot be created there),
``check_workers_option`` (``--workers`` past the bound a spec's ``n_workers`` has),
``check_executor`` (a Ray cluster that does not answer), ``check_tracking`` (a tracker that
cannot start).
``being_run`` and ``changed_keys`` read a stored study of the same name, for ``rung run``'s
message when the name is taken. ``storage_path`` is what every command's ``--storage`` means
(``rung.storage.journal_path``); ``spec_readable`` refuses a stored study whose spec was
damaged (exit code 1, as a damaged journal). ``warnings_as_lines``: what the library warns of
while the study is created (``rung.study``'s log), in the CLI's ``rung: warning:`` lines.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from rung.cli.errors import CLIError
from rung.errors import RungError

if TYPE_CHECKING:
    from rung.cli.spec import RunSpec


def storage_arg(value: str, stem: str) -> Path:
    """``--storage FILE|DIR`` of ``rung run`` / ``rung demo``: the file, or ``DIR/<stem>.db``
    for an existing directory or one written with a trailing slash (created by the journal).
    The value means what ``storage=`` means everywhere (``rung.storage.journal_path``: ``~``
    expanded, ``sqlite:///path`` read as the path; other URLs, ``:memory:`` and ``file:``
    URIs refused).

    Raises:
        CLIError: the value names no SQLite file, or the journal cannot be created there
            (exit code 2, one line naming ``--storage``).
    """
    from rung.storage.paths import inspectable, names_directory, storage_problem

    storage = storage_path(value)
    if names_directory(value) or inspectable(storage.is_dir):
        storage = storage / f"{stem}.db"
    problem = storage_problem(storage)
    if problem is not None:
        raise CLIError(f"--storage: {problem}", 2)
    return storage


def storage_path(value: str) -> Path:
    """The path a command's ``--storage FILE|DIR`` names (``rung.storage.journal_path``, a
    trailing slash allowed: a directory), for ``rung run`` and the read commands alike.

    Raises:
        CLIError: a URL rung cannot open, ``:memory:``, a ``file:`` URI, an empty value or a
            ``~user`` with no home (exit code 2, one line naming ``--storage``).
    """
    from rung.errors import ConfigError
    from rung.storage import journal_path

    try:
        return journal_path(value, directory=True)
    except ConfigError as e:
        message = e.message.removesuffix(" (None keeps the study in memory)")
        raise CLIError(f"--storage: {message}", 2) from None


def spec_readable(path: Path, name: str) -> Path:
    """``path``, once study ``name``'s stored spec in it reads back as a study spec (for the
    commands that find a stored study: ``rung.cli.main.find_storage``).

    Raises:
        CLIError: exit code 1, one line naming the file, the study and what is wrong with its
            spec (a hand edit), as for a malformed record.
    """
    from rung.errors import JournalError
    from rung.storage import SQLiteJournal
    from rung.storage.codec import study_spec

    try:
        with SQLiteJournal(path, readonly=True) as j:
            study_spec(j.load_study(name), f"{path}: study {name!r}")
    except JournalError as e:
        raise CLIError(str(e).splitlines()[0], 1) from None
    except RungError:
        pass  # a spec version or component this rung does not know: the command says so
    return path


def check_workers_option(n_workers: int | None, executor: str) -> None:
    """``--workers N`` of ``rung resume`` / ``rung demo`` is held to the bound a spec's
    ``n_workers`` is (``rung.cli.spec.check_workers``: local processes per CPU, simulated
    workers); ``rung run`` reads it as the spec's ``n_workers`` (``load_spec``).

    Raises:
        CLIError: past it (exit code 2), before anything is written or started.
    """
    from rung.cli.spec import SpecError, check_workers

    if n_workers is not None:
        try:
            check_workers(n_workers, executor, "--workers")
        except SpecError as e:
            raise CLIError(str(e), 2) from None


def check_executor(spec: RunSpec) -> None:
    """A Ray cluster the spec's ``executor_options.address`` (or ``RAY_ADDRESS``) names but
    that does not answer (``rung.executors.ray.connect.check_reachable``) is refused here, exit
    2, before the run writes anything (it was found only when the executor started, after the
    study was created: exit 1 with a resume line)."""
    if spec.executor != "ray":
        return
    from rung.executors.ray.connect import check_reachable
    from rung.executors.ray.importing import import_ray

    try:
        ray = import_ray()
    except RungError:  # Ray missing: the executor's own check says how to install it
        return
    address = spec.options.get("address")
    try:
        check_reachable(ray, address)
    except RungError as e:
        key = "spec.executor_options.address" if address is not None else "RAY_ADDRESS"
        raise CLIError(f"{key}: {e}", 2) from None


def check_tracking(spec: RunSpec) -> None:
    """A tracker of the spec's ``tracking`` that cannot start (its directory is a file, its
    server does not answer) is refused here, exit 2, before the run writes anything."""
    from rung.cli.spec_tracking import guarded_tracking_callbacks
    from rung.integrations._tracking import check_trackers

    try:
        check_trackers(guarded_tracking_callbacks(spec.tracking), spec.name)
    except RungError as e:
        raise CLIError(str(e), 2) from None


def being_run(path: Path, name: str) -> bool:
    """A driver holds study ``name`` in the journal ``path`` right now."""
    from rung.storage import SQLiteJournal

    try:
        with SQLiteJournal(path, readonly=True) as j:
            return j.is_being_written(name)
    except RungError:
        return False


def raise_budget(spec: RunSpec, resume: str) -> str:
    """How to give a study the budget of ``spec``: ``give it this spec's with: rung resume
    NAME --n-trials 200`` (``rung.Study.set_budget`` for a money or GPU-hour limit)."""
    b = spec.study.budget
    flags = "".join(f" --{k.replace('_', '-')} {v:g}" for k, v in (
        ("n_trials", b.n_trials), ("max_steps", b.max_steps), ("max_time", b.max_time))
        if v is not None)
    money = b.max_cost is not None or b.max_gpu_hours is not None
    if not flags:
        return "give it this spec's with rung.Study.set_budget(...)"
    return (f"give it this spec's with: {resume}{flags}"
            + (" (max_cost, max_gpu_hours: rung.Study.set_budget)" if money else ""))


def changed_keys(spec: RunSpec, path: Path) -> list[str]:
    """The spec keys whose values differ between ``spec`` and the study of the same name stored
    in ``path`` (``n_workers`` and ``path`` excepted: a run may change them). The stored study
    is compared as this rung reads it (``rung.study_checks.normalised``): a key added to the
    spec format after it was written, with its default, is no change."""
    from rung.cli.spec import CLI_KEY
    from rung.storage import SQLiteJournal
    from rung.study_checks import normalised

    try:
        with SQLiteJournal(path, readonly=True) as j:
            raw = j.load_study(spec.name)
    except RungError:
        return []
    given = spec.study.to_json()
    stored = normalised(raw, given) or raw  # the spec's keys (the raw ones if it is damaged)
    skip = {"written_by", "version", "name", "auto", CLI_KEY}  # auto: why, not what
    as_spec = {"objective": "metric/mode", "objectives": "metric/mode"}  # JSON key -> YAML
    keys = [as_spec.get(k, k) for k in sorted(given.keys() | stored.keys())
            if k not in skip and given.get(k) != stored.get(k)]
    cli = raw.get(CLI_KEY)
    cli = cli if isinstance(cli, dict) else {}
    keys += [k for k, v in spec.cli_json().items()
             if k not in ("n_workers", "path") and cli.get(k) != v]
    return list(dict.fromkeys(keys))


class _Lines(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        text = " ".join(record.getMessage().split())
        print(f"rung: warning: {text}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def warnings_as_lines(logger: str = "rung.study") -> Iterator[None]:
    """Each warning ``logger`` logs in the block printed once, as one ``rung: warning: ...``
    line on stderr (the CLI's format), not passed on to the root logger (whose last-resort
    handler printed it bare: ``Study.from_spec``'s warning that a scheduler ranks by the
    first objective only)."""
    log = logging.getLogger(logger)
    handler = _Lines(logging.WARNING)
    propagate = log.propagate
    log.addHandler(handler)
    log.propagate = False
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.propagate = propagate


__all__ = [
    "being_run", "changed_keys", "check_executor", "check_tracking", "check_workers_option",
    "spec_readable", "storage_arg", "storage_path", "warnings_as_lines",
]
