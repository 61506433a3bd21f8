"""``rung``: run, resume, list and inspect studies.

    rung run spec.yaml            validate the spec, create the study, run it with a live view
    rung resume NAME              continue a study after Ctrl-C or a crash, from its journal
    rung ls                       the studies under runs/ (or --storage FILE|DIR)
    rung show NAME                summary, best trials, rung occupancy, diagnostics
    rung demo                     a real search: an MLP on scikit-learn's digits, with ASHA

Exit codes: 0 done, 1 a run failed (or its journal is damaged), 2 a bad spec or command line
(nothing was written) or standard output could not be written (``rung: error: standard output:
No space left on device``; see ``main``), 130 interrupted (Ctrl-C or SIGTERM; the study can be
resumed).

As a program (``main()`` without ``argv``), the first SIGINT or SIGTERM stops the command
(exit code 130, a line saying so and, once the study is in its journal, how to resume it); later
ones are ignored while it shuts down and exits, so they cannot cut that short. (One that
arrives while Python imports ``rung``, before ``main`` runs, gets Python's own treatment.)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sqlite3
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

from rung.cli.argtypes import max_step as _max_step
from rung.cli.argtypes import positive_int as _positive_int
from rung.cli.argtypes import seconds
from rung.cli.argtypes import seed as _seed
from rung.cli.errors import CLIError as CLIError  # re-exported: the commands raise it
from rung.cli.ls import cmd_ls
from rung.cli.stored import DEFAULT_DIR as DEFAULT_DIR
from rung.cli.stored import add_study_arguments, storage_flag, studies_in
from rung.cli.stored import find_storage as find_storage  # re-exported: the commands use it
from rung.errors import ConfigError, JournalError, RungError

if TYPE_CHECKING:
    from rung.cli.spec import RunSpec



# --- argument parsing -------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    """argparse with rung's rule for bad input: one line naming the option and what is wrong,
    and where the usage is (``rung: error: --interval: must be a number of seconds >= 0.1,
    got 0.05 (rung dashboard --help)``), exit code 2. argparse printed its usage block first.
    Sub-commands' parsers are of this class too (``add_subparsers`` makes its own kind).

    No parser accepts an abbreviated long option (``allow_abbrev=False``, whatever the caller
    passes): ``rung show x --to 2`` is refused rather than read as ``--top 2``, so a script
    that abbreviates does not change meaning once another option shares the prefix."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        text = " ".join(message.split()).removeprefix("argument ")
        _error(f"{text} ({self.prog} --help)")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="rung",
        description="rung: hyperparameter search that spends compute where it pays.",
        epilog="`rung COMMAND --help` describes each command.",
    )
    from rung.core.versions import RUNG_VERSION

    p.add_argument("--version", action="version", version=f"rung {RUNG_VERSION}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    def view_options(q: argparse.ArgumentParser,
                     workers: str = ", in place of the spec's n_workers (default: it, else "
                                    "locally the CPUs over resources_per_trial's cpu, 1 "
                                    "simulated, the cluster's CPUs on ray)") -> None:
        q.add_argument("--workers", type=_positive_int, metavar="N",
                       help=f"workers, trials at once{workers}")
        q.add_argument("--log-every", type=seconds(0.0, inclusive=False), default=5.0,
                       metavar="SECONDS",
                       help="seconds between progress lines when output is not a terminal "
                            "(default 5; doubling while nothing changes, up to 300)")
        q.add_argument("--no-live", action="store_true",
                       help="plain progress lines even on a terminal")

    q = sub.add_parser("run", help="create a study from a YAML spec and run it",
                       description="Validate SPEC completely, create the study, run it.")
    q.add_argument("spec", help="the YAML study spec (every key: docs/spec.md)")
    q.add_argument("--storage", metavar="FILE|DIR",
                   help="SQLite file, or a directory for <name>.db (overrides the spec's storage)")
    view_options(q)

    q = sub.add_parser("resume", help="continue a study from its journal",
                       description="Continue a study after Ctrl-C, a crash or a kill.")
    add_study_arguments(q)
    q.add_argument("--retry-failed", action="store_true",
                   help="resume the trials that failed for too many interruptions too")
    q.add_argument("--n-trials", type=_positive_int, metavar="N",
                   help="the study's n_trials from now on (its other limits stay): a study "
                        "whose budget is spent goes on (rung.Study.set_budget)")
    q.add_argument("--max-steps", type=_positive_int, metavar="N",
                   help="the study's max_steps from now on, likewise")
    q.add_argument("--max-time", type=seconds(0.0, False), metavar="SECONDS",
                   help="the study's max_time from now on (driver time over every session), "
                        "likewise")
    view_options(q, ", in place of the stored study's n_workers (default: it, else locally the "
                    "CPUs over resources_per_trial's cpu, 1 simulated, the cluster's CPUs on ray)")

    q = sub.add_parser("ls", help="list studies", description="List studies and their state.")
    q.add_argument("--storage", metavar="FILE|DIR",
                   help="SQLite file or directory of .db files (default: runs/)")
    q.add_argument("--json", action="store_true",
                   help="print the list as a JSON array, an object per study (default: a table)")

    q = sub.add_parser("show", help="show one study",
                       description="Summary, best trials, rung occupancy and diagnostics.")
    add_study_arguments(q)
    q.add_argument("--top", type=_positive_int, default=10, metavar="K",
                   help="how many of the best trials to list (default 10)")
    q.add_argument("--json", action="store_true",
                   help="print the summary and the best trials as a JSON object (default: text)")

    q = sub.add_parser("demo", help="run a real search (MLP on digits, ASHA, one worker per CPU)",
                       description="Tune a scikit-learn MLP on the digits data set with ASHA, "
                                   "epochs as the step, on local worker processes.")
    q.add_argument("--trials", type=_positive_int, default=None, metavar="N",
                   help="configurations to try (default 200)")
    q.add_argument("--max-step", type=_max_step, default=None, metavar="EPOCHS",
                   help="epochs for a configuration that is never stopped (default 27)")
    q.add_argument("--name", default=None, help="study name (default: demo-<date>-<time>)")
    q.add_argument("--storage", metavar="FILE|DIR", default=None,
                   help="SQLite file, or a directory for demo.db (default: runs/demo.db)")
    q.add_argument("--seed", type=_seed, default=0, help="random seed (default 0)")
    view_options(q, " (default: one per CPU this process may use)")
    from rung.cli import dashboard, delete, export, ledger, plan, plot  # each adds its own
    export.add_parser(sub)
    ledger.add_parser(sub)
    plan.add_parser(sub)
    plot.add_parser(sub)
    dashboard.add_parser(sub)
    delete.add_parser(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """The ``rung`` command on ``argv`` (``None``: the process's own arguments, and its
    SIGINT and SIGTERM, as the module docstring says); returns the exit code.

    Standard output is written through ``rung.cli.stdout_guard`` and flushed here, before the
    code is returned: a write that fails never raises in a command (a run goes on) and ends
    the command in one way, whatever the size of the output: the reader gone (``| head``,
    ``| true``), quietly, with the command's own exit code; another error (a full disk), one
    line ``rung: error: standard output: <reason>`` on stderr and exit code 2 (or the
    command's, when that is not 0). argparse's exits (``--help``, ``--version``, a bad command
    line) are ``SystemExit`` as before, with the same mapping."""
    from rung.cli.stdout_guard import guard_stdout

    entry = argv is None and threading.current_thread() is threading.main_thread()
    if entry:
        _set_interrupts(_interrupt)  # the process's own command line (module docstring)
    parsed: list[argparse.Namespace] = []  # the parsed arguments, once they are
    try:
        with guard_stdout() as out:
            try:
                code = _command(argv, parsed)
            except SystemExit as e:  # argparse: --help, --version, a bad command line
                if e.code is not None and not isinstance(e.code, int):
                    raise
                mapped = out.finish(e.code or 0)
                if mapped != (e.code or 0):
                    raise SystemExit(mapped) from None
                raise
            except KeyboardInterrupt:  # before a command's own handling (while it imports)
                print(_interrupted(parsed[0] if parsed else None), file=sys.stderr, flush=True)
                code = 130
            return out.finish(code)
    except KeyboardInterrupt:  # while the output was flushed (a reader that does not read)
        print("rung: interrupted", file=sys.stderr, flush=True)
        return 130
    finally:
        if entry:  # the process exits now: nothing may cut that short
            _set_interrupts(signal.SIG_IGN)


def _command(argv: Sequence[str] | None, parsed: list[argparse.Namespace]) -> int:
    """Parse ``argv`` (appending the result to ``parsed``) and run its command; the exit
    code."""
    parser = build_parser()
    given = list(sys.argv[1:] if argv is None else argv)
    if not given:  # bare `rung`: what it can do
        parser.print_help(sys.stderr)
        return 2
    if given[0].startswith("-") and given[0] not in ("-h", "--help", "--version"):
        parser.error(f"unrecognized arguments: {given[0]}")  # not "COMMAND is required"
    args, extra = parser.parse_known_args(argv)
    parsed.append(args)
    if extra:  # name the command whose help lists what it takes
        _error(f"unrecognized arguments: {' '.join(extra)} (rung {args.command} --help)")
        return 2
    return _dispatch(args)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """The first SIGINT or SIGTERM: stop the command; ignore the next ones (it is ending)."""
    _set_interrupts(signal.SIG_IGN)
    raise KeyboardInterrupt


def _set_interrupts(handler: Any) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)


def _interrupted(args: argparse.Namespace | None) -> str:
    """The line of a command interrupted before its own handling: with the command to resume
    the study once it is in its journal (``args.study_at``: set by ``run``, ``demo`` and
    ``resume`` before they open the journal)."""
    at = getattr(args, "study_at", None)
    if at is not None:
        path, name = at
        with contextlib.suppress(Exception):
            if name in studies_in(path):
                return (f"rung: interrupted; study {name} is in the journal {path}. Resume "
                        f"with: rung resume {name}{storage_flag(path, name)}")
    return "rung: interrupted"


def _dispatch(args: argparse.Namespace) -> int:
    """Run the command ``args`` names; its errors as their exit codes."""
    handlers: dict[str, Callable[[argparse.Namespace], int]] = {
        "run": cmd_run, "resume": cmd_resume, "ls": cmd_ls, "show": cmd_show, "demo": cmd_demo,
    }
    try:
        if getattr(args, "storage", None) == "":  # every command, before its `if storage`
            raise CLIError("--storage: is empty: give the path of an SQLite file", 2)
        return (handlers.get(args.command) or args.handler)(args)  # export, plot, dashboard
    except BrokenPipeError:  # a reader gone where main's stdout guard is not installed (a
        # command run from another thread): nothing to complain about
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except CLIError as e:
        _error(str(e), one_line=e.code == 2)
        return e.code
    except ConfigError as e:
        _error(str(e))
        return 2
    except RungError as e:
        _error(str(e), one_line=False)
        return 1


def _error(message: str, one_line: bool = True) -> None:
    """Print an error. Usage errors are one line; a failed run keeps its lines (a worker's
    traceback, say)."""
    text = " ".join(message.split()) if one_line else message.strip()
    print(f"rung: error: {text}", file=sys.stderr, flush=True)


# --- run / resume / demo (their checks: run_checks.py; the run itself: drive.py) -------------
def cmd_run(args: argparse.Namespace) -> int:
    from rung.cli.run_checks import storage_arg
    from rung.cli.spec import load_spec

    # validates everything, --workers standing for the spec's n_workers (its bound, auto's
    # choice); nothing written yet
    spec, fn = load_spec(args.spec, n_workers=args.workers)
    if args.storage:
        spec = _with(spec, storage=storage_arg(args.storage, spec.name))
    return _create_and_run(spec, fn, args)


def cmd_demo(args: argparse.Namespace) -> int:
    from rung.cli.run_checks import check_workers_option, storage_arg

    check_workers_option(args.workers, "local")
    storage = None if args.storage is None else storage_arg(args.storage, "demo")
    if args.name is not None:
        from rung.cli.spec import SpecError, check_name

        try:
            check_name(args.name)
        except SpecError as e:
            raise CLIError(f"--name: {e.message}", 2) from None
    try:
        import sklearn  # noqa: F401

        from rung.cli.demo import demo_spec, describe_best
    except ImportError as e:
        raise CLIError(f"the demo needs scikit-learn ({e.name or e}): "
                       "pip install 'rung[examples]'", 2) from None
    spec = demo_spec(name=args.name, storage=storage, n_trials=args.trials,
                     max_step=args.max_step, n_workers=args.workers, seed=args.seed)
    from rung.cli.spec import resolve_objective

    fn = resolve_objective(spec)
    from rung.executors.local import usable_cpus

    n = spec.n_workers or usable_cpus()
    intro = (f"rung demo: tuning a scikit-learn MLP on the digits data set with ASHA: "
             f"{spec.study.budget.n_trials} configurations, up to {spec.study.max_step} epochs "
             f"each, {n} worker process{'es' if n > 1 else ''}; journal {spec.storage}")
    return _create_and_run(spec, fn, args, describe=describe_best, intro=intro)


def _with(spec: Any, **changes: Any) -> Any:
    import dataclasses

    return dataclasses.replace(spec, **changes)


def _create_and_run(spec: RunSpec, fn: Any, args: argparse.Namespace,
                    describe: Callable[[Any], str] | None = None, intro: str = "") -> int:
    """Create ``spec``'s study and run it; every refusal (exit 2) comes before anything is
    printed on stdout or written; ``intro`` is printed once the journal exists."""
    from rung.cli.drive import drive
    from rung.cli.run_checks import (
        being_run,
        changed_keys,
        check_executor,
        check_tracking,
        raise_budget,
        warnings_as_lines,
    )
    from rung.cli.spec import CLI_KEY
    from rung.study import Study

    path = spec.storage
    key = "--storage" if args.storage else "spec.storage"  # what named the file
    if path.is_file():  # a rung journal, or nothing: never add tables to another's database
        try:
            studies_in(path, strict=True)
        except CLIError as e:
            if e.code == 1:  # a damaged journal
                raise CLIError(f"{key}: {e}", 1) from None
            raise CLIError(f"{key}: {e}; name a new file, or a rung journal", 2) from None
    if path.exists() and spec.name in studies_in(path):
        flag = storage_flag(path, spec.name)
        resume = f"rung resume {spec.name}{flag}"
        if being_run(path, spec.name):
            raise CLIError(f"spec.name: study {spec.name!r} already exists in {path}, and "
                           f"another process is running it now (watch it with: rung show "
                           f"{spec.name}{flag})", 2)
        diverged = _read_as_written(path, spec.name)
        if diverged is not None:
            raise CLIError(f"spec.name: study {spec.name!r} already exists in {path}, and this "
                           f"rung cannot continue it: {diverged}; `rung show {spec.name}{flag}` "
                           "shows it as written, or give this spec another name", 2)
        changed = changed_keys(spec, path)
        if not changed:
            raise CLIError(f"spec.name: study {spec.name!r} already exists in {path} "
                           f"(continue it with: {resume})", 2)
        if changed == ["budget"]:  # a budget can be raised: say how
            raise CLIError(f"spec.name: study {spec.name!r} already exists in {path} with "
                           f"another budget than this spec's; {raise_budget(spec, resume)}, "
                           "or give this spec another name", 2)
        raise CLIError(
            f"spec.name: study {spec.name!r} already exists in {path} with other "
            f"{', '.join(changed)} than this spec's; a study's settings are fixed when it is "
            f"created: `{resume}` continues it as stored, or give this spec another name", 2
        )
    check_tracking(spec)
    check_executor(spec)
    args.study_at = (path, spec.name)  # an interrupt from here on names the resume command
    try:
        with warnings_as_lines():
            study = Study.from_spec(spec.study, path, extra={CLI_KEY: spec.cli_json()},
                                    auto=spec.auto)
    except sqlite3.DatabaseError as e:
        raise CLIError(f"{key}: {path} is not an SQLite journal ({e})", 2) from None
    except JournalError as e:  # the file cannot be created or is not a journal
        raise CLIError(f"{key}: {e}", 2) from None
    if intro:
        print(intro, flush=True)
    if spec.auto is not None:
        from rung.reporter import study_line

        print(f"rung: {study_line(spec.name, spec.auto)}", flush=True)
    return drive(study, spec, fn, args, describe)


def _read_as_written(path: Path, name: str) -> str | None:
    """Why this rung cannot continue study ``name`` of the journal ``path``, which it reads as
    written (its replay diverged): ``this rung decides differently from event #41 of its
    journal; resuming it needs ...`` (``rung.cli.report.resume_needs``), for ``rung run`` to say
    instead of suggesting ``rung resume``; ``None`` when the study replays, or cannot be read
    (the run's own checks say so). A damaged journal is a ``CLIError`` (exit 1), as every
    command that meets one says."""
    from rung.cli.report import resume_needs
    from rung.storage import SQLiteJournal
    from rung.storage.sqlite import JournalDamagedError
    from rung.study import Study

    try:
        with SQLiteJournal(path, readonly=True) as j:
            study = Study.load(name, j)
            marker = study.engine.read_as_written
            if marker is None:
                return None
            where = marker.split(" (", 1)[0]  # this rung decides differently from event #i
            return f"{where} of its journal; {resume_needs(study)}"
    except JournalDamagedError as e:
        raise CLIError(str(e), 1) from None
    except RungError:
        return None


def cmd_resume(args: argparse.Namespace) -> int:
    from rung.cli.drive import drive
    from rung.cli.report import resume_note
    from rung.cli.run_checks import check_executor, check_tracking, check_workers_option
    from rung.cli.spec import SpecError, resolve_objective, spec_from_journal
    from rung.cli.spec_objective import add_spec_paths, check_named_imports
    from rung.storage import open_journal
    from rung.study import Study

    path = find_storage(args.name, args.storage)
    args.study_at = (path, args.name)  # an interrupt from here on names the resume command
    try:
        journal = open_journal(path)
    except JournalError as e:  # cannot write there (read-only): refused, nothing written
        from rung.storage.sqlite import JournalDamagedError

        raise CLIError(str(e), 1 if isinstance(e, JournalDamagedError) else 2) from None
    if journal.is_being_written(args.name):
        journal.close()
        # refused before anything is written: exit 2, as `rung run` refuses it
        raise CLIError(f"study {args.name!r} in {path} is being run by another process (watch "
                       f"it with: rung show {args.name}{storage_flag(path, args.name)})", 2)
    spec = spec_from_journal(journal.load_study(args.name), path)
    try:
        check_workers_option(args.workers, spec.executor)
    except CLIError:
        journal.close()
        raise
    if args.workers:
        spec = _with(spec, n_workers=args.workers)
    try:
        if spec.executor != "simulated":
            fn = resolve_objective(spec)
        else:
            fn = None
            add_spec_paths(spec.path)
    except SpecError as e:  # there is no spec file to point at: name what the journal holds
        journal.close()
        raise CLIError(f"study {args.name!r} runs the objective {spec.objective!r} (recorded "
                       f"when it was created): {e.message}", 2) from None
    try:
        check_named_imports(spec)
    except SpecError as e:
        journal.close()
        raise CLIError(f"study {args.name!r}: its scheduler's explore (recorded when it was "
                       f"created): {e.message}", 2) from None
    try:
        check_tracking(spec)
        check_executor(spec)
    except CLIError:
        journal.close()
        raise
    study = Study.load(args.name, journal)
    raised = {k: v for k in ("n_trials", "max_steps", "max_time")
              if (v := getattr(args, k)) is not None}
    if raised:
        try:
            study.set_budget(**raised)
        except ConfigError as e:  # nothing journaled
            journal.close()
            raise CLIError(f"--{'/--'.join(k.replace('_', '-') for k in raised)}: {e}",
                           2) from None
    note = resume_note(study)  # another rung or algorithm version wrote the journal
    if note is not None:
        print(note, file=sys.stderr, flush=True)
    return drive(study, spec, fn, args)


# --- show ----------------------------------------------------------------------------------------
def cmd_show(args: argparse.Namespace) -> int:
    if args.json:
        import json

        from rung.cli.show_json import show_json

        print(json.dumps(show_json(args.name, args.storage, top=args.top), indent=1,
                         allow_nan=False, default=str))
        return 0
    from rung.cli.report import show_study

    print(show_study(args.name, args.storage, top=args.top))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
