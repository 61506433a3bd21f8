"""``rung run`` / ``rung resume``'s run of a study: the live view, then how it ended.

``drive`` runs (or simulates) the study with the CLI's progress view and the spec's trackers,
SIGTERM stopping it as Ctrl-C does, and prints the best trial (or the demo's account of it) and
how to inspect the study. It returns the exit code: 0 done, 130 interrupted (with the resume
command on stderr); a failed run is a ``CLIError`` (exit 1, the journal intact), a budget refused
before anything ran a ``SpecError`` (exit 2).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

from rung.cli.errors import CLIError
from rung.cli.stored import storage_flag
from rung.errors import ConfigError, RunFailed, RungError


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM stops a run as cleanly as Ctrl-C does (workers shut down, journal intact)."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        old = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def drive(study: Any, spec: Any, fn: Any, args: argparse.Namespace,
           describe: Callable[[Any], str] | None = None) -> int:
    """Run ``study`` with the CLI's progress view, then print how it ended: the best trial
    and its parameters, or ``describe(study)`` in their place (``rung demo``'s own account
    of its best configuration: the parameters are printed once), and how to inspect it."""
    from rung.cli.progress import Progress
    from rung.cli.report import best_line, ended, fmt_params, pareto_line
    from rung.cli.spec import load_benchmark
    from rung.cli.spec_error import as_spec_error
    from rung.cli.spec_tracking import guarded_tracking_callbacks
    from rung.reporter import study_line

    callbacks = guarded_tracking_callbacks(spec.tracking)  # the spec's `tracking` (may be None)
    live = False if args.no_live else None
    resume_cmd = f"rung resume {spec.name}{storage_flag(spec.storage, spec.name)}"
    written = _records(study)
    try:
        with _sigterm_as_interrupt(), Progress(study, live=live, interval=args.log_every,
                                                      final_best=False) as prog:
            if spec.executor == "simulated":
                study.simulate(load_benchmark(spec), n_workers=spec.n_workers or 1,
                               reporter=prog, callbacks=callbacks)
            else:
                study.run(fn, executor=spec.executor, n_workers=spec.n_workers,
                          reporter=prog, callbacks=callbacks, **spec.executor_options(),
                          retry_failed=getattr(args, "retry_failed", False))
    except KeyboardInterrupt:
        study.close()
        print(f"rung: interrupted; {len(study.history)} trials are in the journal. "
              f"Resume with: {resume_cmd}", file=sys.stderr, flush=True)
        return 130
    except RunFailed as e:
        study.close()
        raise CLIError(study_line(spec.name, str(e)), 1) from None
    except ConfigError as e:
        if _records(study) == written:  # refused before the session wrote anything: bad input
            study.close()
            raise as_spec_error(e) from None
        # raised by something the spec names, once the run was under way (an explore function
        # that returns an invalid configuration): the run failed, its journal is intact
        study.close()
        raise CLIError(f"{as_spec_error(e)}\n(the run stopped; the journal is intact; resume "
                       f"with: {resume_cmd})", 1) from None
    except RungError as e:
        from rung.storage.sqlite import JournalDeletedError, StudyBusyError

        untouched = isinstance(e, StudyBusyError) and _records(study) == written
        study.close()
        if isinstance(e, JournalDeletedError):  # no journal left to resume from
            raise CLIError(str(e), 1) from None
        if untouched:
            # another driver took the study first (two `rung resume` at once): refused
            # before anything ran or was written, as a later second resume is
            raise CLIError(f"{e} (watch it with: rung show {spec.name}"
                           f"{storage_flag(spec.storage, spec.name)})", 2) from None
        raise CLIError(f"{e}\n(the journal is intact; resume with: {resume_cmd})", 1) from None
    best = study.best_trial
    if describe is not None:
        print(describe(study), flush=True)
    else:
        print(f"rung: study {spec.name} {ended(study)}: {best_line(study)}", flush=True)
        if best is not None:
            print(f"rung: best params: {fmt_params(best.params)}", flush=True)
        if len(study.history.objectives) > 1:  # the result is the front, not one trial
            print(f"rung: {pareto_line(study, limit=5)}", flush=True)
    print(f"rung: inspect it with: rung show {spec.name}{storage_flag(spec.storage, spec.name)}",
          flush=True)
    study.close()
    return 0


def _records(study: Any) -> int | None:
    """How many records the study's journal holds (``None`` when it cannot say)."""
    count = getattr(study.journal, "count", None)
    return count(study.name) if count is not None else None


__all__ = ["drive"]
