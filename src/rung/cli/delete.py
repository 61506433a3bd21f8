"""``rung delete NAME --yes``: delete a study, its checkpoints and the files rung keeps beside
its journal (``rung.study_delete``). Refused while a driver runs it, and without ``--yes``
(it cannot be undone): exit code 2, nothing deleted."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rung.cli.stored import add_study_arguments


def add_parser(sub: Any) -> None:
    q = sub.add_parser(
        "delete", help="delete a study, its checkpoints and its files (cannot be undone)",
        description="Delete a study from its journal (its records, in one transaction), its "
                    "checkpoint directory, its dashboard snapshot and its lock file. Other "
                    "studies of the journal are left as they are. Refused while a driver runs "
                    "the study. Without --yes nothing is deleted.")
    add_study_arguments(q)
    q.add_argument("--yes", action="store_true", help="delete it (required: no undo)")
    q.set_defaults(handler=cmd_delete)


def cmd_delete(args: argparse.Namespace) -> int:
    from rung.cli.main import CLIError, find_storage
    from rung.cli.stored import storage_flag
    from rung.storage.sqlite import StudyBusyError
    from rung.study_delete import delete_study

    path = find_storage(args.name, args.storage)
    if not args.yes:
        raise CLIError(f"--yes: deleting study {args.name!r} of {path} cannot be undone: run "
                       f"rung delete {args.name}{storage_flag(path, args.name)} --yes", 2)
    try:
        gone = delete_study(args.name, path)
    except StudyBusyError as e:
        raise CLIError(f"{e}: stop it first", 2) from None
    files = f", and {len(gone.files)} file(s) beside it" if gone.files else ""
    sys.stdout.write(f"deleted study {args.name} from {path} ({gone.records} records{files})\n")
    return 0
