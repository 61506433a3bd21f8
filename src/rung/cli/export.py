"""``rung export NAME``: a study's trials (or results) as CSV, Parquet or JSON.

Reads the journal read-only, once (``open_study``), so it works while another process runs
the study: a snapshot of what was committed when it read it; the records are folded once
(``--table results`` marks the metrics reported NaN from the rows the frame was built from).

The trials table's ``run_time`` is the time a trial's runs took, each from its worker's
``TrialStarted`` to its ``TrialEnded``, summed: it leaves out each run's start-up (from its
``Launch`` to its ``TrialStarted``), which ``rung ledger`` and ``Budget.max_cost`` charge (a
run holds its resources from its launch), so the two do not match (docs/cost.md).
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import sys
from pathlib import Path
from typing import Any

from rung._extras import install_hint
from rung.cli.output import (
    check_suffix,
    os_reason,
    output_path,
    refuse_journal_files,
    replace,
    suffix_of,
)
from rung.cli.stored import add_study_arguments, open_study

FORMATS = ("csv", "parquet", "json")
_SUFFIX = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".json": "json"}


def add_parser(sub: Any) -> None:
    q = sub.add_parser(
        "export", help="write a study's trials or results as CSV, Parquet or JSON",
        description="One row per trial (--table trials, the default) or per reported result "
                    "(--table results), with params, status, value, decisions and their reasons, "
                    "times (seconds: Unix time, virtual seconds from 0 for a simulated study) and "
                    "checkpoints. run_time is the time a trial's runs took from their "
                    "workers' start, summed: it leaves out start-up, which rung ledger charges from"
                    " each launch, so the two differ. Safe while another process runs the study. "
                    "CSV: a header row, numbers written with every digit (they read back exactly), "
                    "missing values empty; a metric reported as NaN is nan, as infinity is inf "
                    "(score and value are empty where a result has no value). JSON: an array "
                    "of objects, one per row, keyed by column;"
                    " missing values and numbers JSON cannot write (NaN, infinity) are null "
                    "(read it back with json.load, or pandas.read_json(f, dtype=False, "
                    "precise_float=True): by default pandas rounds floats and turns *_time "
                    "columns into dates); a "
                    "study without trials (or results) is [], which names no columns (CSV keeps its"
                    " header row, Parquet its schema). -o never names a journal's files: the "
                    "journal read, any SQLite file, their -wal/-shm files, checkpoint directories. "
                    "Needs pandas, and pyarrow for Parquet (pip install 'rung[dataframe]').")
    add_study_arguments(q)
    q.add_argument("--format", choices=FORMATS, default=None,
                   help="csv, parquet or json (default: from -o's suffix, else csv; "
                        "a suffix that names another format is refused)")
    q.add_argument("--table", choices=("trials", "results"), default="trials",
                   help="trials: one row per trial (default); results: one per reported result")
    q.add_argument("-o", "--output", metavar="FILE",
                   help="where to write, replacing the file if it exists (default, or "
                        "'-': standard output; Parquet needs a file)")
    q.set_defaults(handler=cmd_export)


def format_of(out: Path | None) -> str:
    """The format ``-o FILE`` names by its suffix (``.csv``, ``.json``, ``.parquet``, ``.pq``;
    a name that is only one, ``.json``, included); CSV for standard output or a file without
    a suffix.

    Raises:
        CLIError: another suffix (``trials.xlsx``), which would otherwise receive CSV under a
            name that says otherwise (exit code 2).
    """
    from rung.cli.main import CLIError

    if out is None:
        return "csv"
    fmt = _SUFFIX.get(suffix_of(out))  # ".json" too, a name pathlib sees no suffix in
    if fmt is None and not out.suffix:  # "trials", ".trials"
        return "csv"
    if fmt is None:
        raise CLIError(f"-o {out}: cannot tell the format from {suffix_of(out)!r} (name a "
                       f"{', '.join(_SUFFIX)} file, or give --format {'|'.join(FORMATS)})", 2)
    return fmt


def cmd_export(args: argparse.Namespace) -> int:
    """``rung export``: every check first (``-o``: ``rung.cli.output``; the format), then
    the journal read once, then the file written whole (``replace``) or standard output."""
    from rung.cli.main import CLIError, find_storage

    fmt = args.format
    if args.output == "":
        raise CLIError("-o: is empty: give a file, or - for standard output", 2)
    out = output_path(args.output) if args.output and args.output != "-" else None
    if fmt is None:
        fmt = format_of(out)
    if fmt == "parquet" and out is None:
        raise CLIError("--format parquet needs -o FILE (Parquet is binary)", 2)
    journal = find_storage(args.name, args.storage)
    if out is not None:
        refuse_journal_files(out, args.output, journal, args.name)  # first: the worst case
        if args.format is not None:
            check_suffix(out, args.output, fmt, _SUFFIX)
    if fmt == "parquet":
        check_parquet_engine()
    try:
        with open_study(journal, args.name) as study:
            if args.table == "trials":
                df = study.trials_dataframe()
            else:  # the frame and its rows from one fold of the records
                df, rows = study._results()
                if fmt == "csv":
                    df = reported_nan_as_text(df, rows)
    except ImportError as e:
        raise CLIError(str(e), 2) from None
    try:
        text = _write(df, fmt, out)
    except ImportError as e:  # an engine check_parquet_engine found, that pandas refuses
        why = " ".join(str(e).split()).split(". ")[0]  # pandas' text runs to 600 characters
        raise CLIError(f"--format parquet: pandas cannot write Parquet ({why}): "
                       f"{install_hint('pyarrow')}", 2) from None
    except OSError as e:  # say, a directory one may not write to, a full disk
        raise CLIError(f"-o {args.output}: {os_reason(e)}", 2) from None
    if text is not None:
        sys.stdout.write(text)
    else:
        n = len(df)
        what = ("trial" if args.table == "trials" else "result") + ("" if n == 1 else "s")
        print(f"rung: wrote {n} {what} of {args.name} to {out}", file=sys.stderr, flush=True)
    return 0


def reported_nan_as_text(df: Any, rows: list[dict[str, Any]]) -> Any:
    """``df`` (``study.results_dataframe()``) with each metric a result reported as NaN
    written ``nan`` in its cell, as an infinity is written ``inf``: a CSV cell left empty is
    a metric the result did not report. The derived columns (``score``, ``value``) stay empty
    where a result has no value, as the trials table's ``value`` and ``score`` do. ``rows``:
    the ``result_rows`` ``df`` was built from (``StudyViews._results``: the journal folded
    once for both)."""
    fixed = {"trial_id", "step", "run", "time", "score", "value", "decision", "reason"}
    cols = [c for c in df.columns if c not in fixed]
    marks = {c: [i for i, r in enumerate(rows) if isinstance(r.get(c), float)
                 and math.isnan(r[c])] for c in cols}
    marks = {c: at for c, at in marks.items() if at}
    if not marks or len(rows) != len(df):
        return df
    df = df.copy()
    for c, at in marks.items():
        col = df[c].astype(object)
        col.iloc[at] = "nan"
        df[c] = col
    return df


def check_parquet_engine() -> None:
    """Refuse ``--format parquet`` before anything is read or written when neither of the
    engines pandas writes Parquet with (pyarrow, fastparquet) can be imported.

    Raises:
        CLIError: ``--format parquet needs pyarrow, which is not installed: pip install
            'rung[dataframe]'`` (exit code 2).
    """
    from rung.cli.main import CLIError

    for engine in ("pyarrow", "fastparquet"):
        try:
            importlib.import_module(engine)
            return
        except ImportError:
            continue
    raise CLIError("--format parquet needs pyarrow, which is not installed: "
                   f"{install_hint('pyarrow')}", 2)


def _write(df: Any, fmt: str, out: Path | None) -> str | None:
    """``df`` as ``fmt``: the text, for standard output (``out`` ``None``), else ``None`` once
    written to ``out`` (see ``replace``).

    Raises:
        OSError: the write failed (the file is as it was); ``os_reason`` gives the
            system's reason (pyarrow's messages name the temporary file, which is why it is
            created here first).
    """
    if fmt == "parquet":
        assert out is not None
        ready = parquet_ready(df)
        with replace(out) as tmp:
            tmp.open("wb").close()  # created here: pyarrow's own error would name ``tmp``
            ready.to_parquet(tmp, index=False)
        return None
    text: str = df.to_csv(index=False) if fmt == "csv" else json_records(df) + "\n"
    if out is None:
        return text
    with replace(out) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return None


def json_records(df: Any) -> str:
    """``df`` as a JSON array of row objects, numbers as Python writes them (every digit
    that tells two floats apart: pandas' ``to_json`` keeps 10 significant digits by default
    and at most 15), missing values (``NaN``, ``<NA>``, ``None``) and infinities (which JSON
    has no number for) as ``null``."""
    rows = [{str(k): _plain(v) for k, v in r.items()} for r in df.to_dict(orient="records")]
    return json.dumps(rows, indent=1, allow_nan=False)


def _plain(v: Any) -> Any:
    if hasattr(v, "item") and not isinstance(v, str | bytes):  # a NumPy scalar
        v = v.item()
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return None
    if isinstance(v, bool | int | float | str):
        return v
    try:  # pandas' NA and NaT
        import pandas as pd

        if pd.isna(v):
            return None
    except (ImportError, TypeError, ValueError):
        pass
    return str(v)


def parquet_ready(df: Any) -> Any:
    """``df`` with every column Parquet can store: a column holds one type there, so a
    parameter whose values are of several Python types (``Categorical([32, "auto"])``,
    ``[1, "relu", True]``) is written as text (``"32"``, ``"auto"``; missing values stay
    missing); every other column is left as it is."""
    mixed = [c for c in df.columns if df[c].dtype == object
             and len({type(v) for v in df[c] if v is not None and v == v}) > 1]
    if not mixed:
        return df
    out = df.copy()
    for c in mixed:
        out[c] = [None if v is None or v != v else str(v) for v in df[c]]
    return out
