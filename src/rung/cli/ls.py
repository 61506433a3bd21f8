"""``rung ls``: the studies in a journal, or in every journal of a directory (``runs/`` by
default), one row each with ``rung show``'s state words; an unreadable journal or study gets a
row saying why (exit code 1 for a damaged one, the others still listed)."""

from __future__ import annotations

import argparse

from rung.cli.errors import CLIError
from rung.cli.stored import DEFAULT_DIR, db_files
from rung.errors import RungError


def cmd_ls(args: argparse.Namespace) -> int:
    from rung.cli.report import LS_HEADERS, ls_row, table
    from rung.cli.run_checks import storage_path
    from rung.storage import SQLiteJournal
    from rung.storage.paths import inspectable
    from rung.storage.sqlite import JournalDamagedError
    from rung.study import Study

    target = storage_path(args.storage) if args.storage else DEFAULT_DIR
    if inspectable(target.is_dir):
        files = db_files(target)
    elif inspectable(target.exists):
        files = [target]
    elif args.storage:
        raise CLIError(f"no journal at {target}", 2)
    else:
        files = []
    rows = []
    damaged = False  # a damaged journal's row is listed, and the exit code is 1 (as everywhere)
    for path in files:
        try:
            journal = SQLiteJournal(path, readonly=True)
        except RungError as e:
            if path == target:  # the file the user named
                raise CLIError(str(e).splitlines()[0],
                               1 if isinstance(e, JournalDamagedError) else 2) from None
            damaged = damaged or isinstance(e, JournalDamagedError)
            rows.append(["-", f"unreadable: {str(e).splitlines()[0]}", *[""] * 7, str(path)])
            continue
        with journal:
            for name in journal.list_studies():
                try:
                    study = Study.load(name, journal)
                except RungError as e:
                    damaged = damaged or isinstance(e, JournalDamagedError)
                    rows.append([name, f"unreadable: {e}", *[""] * 7, str(path)])
                    continue
                except Exception as e:  # whatever else one journal holds: the others are listed
                    rows.append([name, f"unreadable: {path}: study {name!r}: "
                                 f"{type(e).__name__}: {e}", *[""] * 7, str(path)])
                    continue
                rows.append(ls_row(study, str(path), journal.is_being_written(name)))
    if not rows:
        hint = "" if args.storage else " (start one with `rung run spec.yaml` or `rung demo`)"
        if files == [target]:  # a file the user named: empty, a writer lock, no -wal
            from rung.storage.sqlite import no_studies_hint

            why = no_studies_hint(target)
            hint = f" ({why[2:]})" if why else hint
        print(f"no studies in {target}{hint}")
        return 0
    print(table(LS_HEADERS, rows, indent=""))
    return 1 if damaged else 0
