"""``rung ls``: the studies in a journal, or in every journal of a directory (``runs/`` by
default), one row each with ``rung show``'s state words; an unreadable journal or study gets a
row saying why (exit code 1 for a damaged one, the others still listed).

A large study is not replayed when the dashboard's snapshot of its pages covers every record
its journal holds (``rung.dashboard.snapshot``: written by the run beside its journal, or by the
dashboard in its cache): its row is read from the snapshot's ``study_row`` page, which the same
functions computed from the same records (``snapshot_row``). Anything else replays the journal.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

from rung.cli.errors import CLIError
from rung.cli.stored import DEFAULT_DIR, db_files
from rung.errors import RungError


def cmd_ls(args: argparse.Namespace) -> int:
    """List the studies (``--json``: ``LS_KEYS`` objects, one per row of the table, as a JSON
    array on stdout; ``[]`` for none). Exit code 1 when a journal is damaged, else 0."""
    from rung.cli.report import LS_HEADERS, entry_cells, ls_entry_of, table, unreadable_entry
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
    entries: list[dict[str, Any]] = []
    damaged = False  # a damaged journal's row is listed, and the exit code is 1 (as everywhere)
    for path in files:
        try:
            journal = SQLiteJournal(path, readonly=True)
        except RungError as e:
            if path == target:  # the file the user named
                raise CLIError(str(e).splitlines()[0],
                               1 if isinstance(e, JournalDamagedError) else 2) from None
            damaged = damaged or isinstance(e, JournalDamagedError)
            entries.append(unreadable_entry(None, str(e).splitlines()[0], str(path)))
            continue
        with journal:
            for name in journal.list_studies():
                running = journal.is_being_written(name)
                try:
                    quick = snapshot_row(journal, path, name, running)
                    if quick is not None:
                        entries.append(quick)
                        continue
                    study = Study.load(name, journal)
                except RungError as e:
                    damaged = damaged or isinstance(e, JournalDamagedError)
                    entries.append(unreadable_entry(name, str(e), str(path)))
                    continue
                except Exception as e:  # whatever else one journal holds: the others are listed
                    entries.append(unreadable_entry(
                        name, f"{path}: study {name!r}: {type(e).__name__}: {e}", str(path)))
                    continue
                entries.append(ls_entry_of(study, str(path), running))
    if args.json:
        print(json.dumps(entries, indent=1, allow_nan=False, default=str))
        return 1 if damaged else 0
    if not entries:
        hint = "" if args.storage else " (start one with `rung run spec.yaml` or `rung demo`)"
        if files == [target]:  # a file the user named: empty, a writer lock, no -wal
            from rung.storage.sqlite import no_studies_hint

            why = no_studies_hint(target)
            hint = f" ({why[2:]})" if why else hint
        print(f"no studies in {target}{hint}")
        return 0
    print(table(LS_HEADERS, [entry_cells(e) for e in entries], indent=""))
    return 1 if damaged else 0


def snapshot_row(journal: Any, path: Path, name: str, running: bool) -> dict[str, Any] | None:
    """``rung.cli.report.ls_entry_of``'s entry of study ``name`` in the SQLite journal
    ``path``, read from the dashboard's snapshot of its pages (beside the journal, or in the
    dashboard's default cache) when a usable one covers every record the journal holds for it now;
    ``None`` otherwise (no snapshot, an older one, one of a rewritten journal: replay)."""
    from rung.cli.report import ls_entry
    from rung.dashboard.snapshot import best, cache_path, default_cache_dir, view_path

    count = getattr(journal, "count", None)
    if count is None:
        return None
    n = int(count(name))
    # a snapshot that cannot be used is the dashboard's to report (it replays then): rung ls
    # replays in silence, as it does for a study without one
    quiet = logging.getLogger("rung.dashboard")
    was = quiet.disabled
    quiet.disabled = True
    try:
        view = best([view_path(path, name), cache_path(default_cache_dir(), path, name)],
                    path, name)
    finally:
        quiet.disabled = was
    if view is None:
        return None
    try:
        row = view.pages.get("study_row")
        if view.n_records != n or not isinstance(row, dict):
            return None
        state = "running" if running else row["state"]
        return ls_entry(name, state, row["trials"], row.get("by_status") or {},
                        row.get("best_value"), row["metric"], str(path))
    finally:
        view.close()
