"""``rung export NAME``: a study's trials (or results) as CSV, Parquet or JSON.

Reads the journal read-only, once (``read_study``), so it works while another process runs
the study: a snapshot of what was committed when it read it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rung.cli.stored import add_study_arguments, read_study

FORMATS = ("csv", "parquet", "json")
_SUFFIX = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".json": "json"}


def add_parser(sub: Any) -> None:
    q = sub.add_parser(
        "export", help="write a study's trials or results as CSV, Parquet or JSON",
        description="One row per trial (--table trials, the default) or per reported result "
                    "(--table results), with params, status, value, decisions and their "
                    "reasons, times and checkpoints. Safe while another process runs the "
                    "study. CSV: a header row, numbers written with every digit (they read "
                    "back exactly), missing values empty. JSON: an array of objects, one per "
                    "row, keyed by column; missing values and numbers JSON cannot write "
                    "(NaN, infinity) are null. Needs pandas, and pyarrow for Parquet (pip "
                    "install 'rung[dataframe]').")
    add_study_arguments(q)
    q.add_argument("--format", choices=FORMATS, default=None,
                   help="csv, parquet or json (default: from -o's suffix, else csv)")
    q.add_argument("--table", choices=("trials", "results"), default="trials",
                   help="trials: one row per trial (default); results: one per reported result")
    q.add_argument("-o", "--output", metavar="FILE",
                   help="where to write, replacing the file if it exists (default, or "
                        "'-': standard output; Parquet needs a file)")
    q.set_defaults(handler=cmd_export)


def output_path(value: str) -> Path:
    """``-o FILE`` of ``rung export`` and ``rung plot``, checked before the study is read: a
    file that can be written where it is named (its directory exists; it is not itself a
    directory).

    Raises:
        CLIError: naming ``-o`` and what is wrong (exit code 2).
    """
    from rung.cli.main import CLIError

    out = Path(value)
    try:
        is_dir = out.is_dir()
    except OSError as e:  # a name too long for the file system, ...
        raise CLIError(f"-o {value}: {e.strerror or e}", 2) from None
    if is_dir:
        raise CLIError(f"-o {value}: is a directory (name a file)", 2)
    parent = out.parent
    if not parent.is_dir():
        raise CLIError(f"-o {value}: no such directory: {parent}", 2)
    return out


def format_of(out: Path | None) -> str:
    """The format ``-o FILE`` names by its suffix (``.csv``, ``.json``, ``.parquet``, ``.pq``);
    CSV for standard output or a file without a suffix.

    Raises:
        CLIError: another suffix (``trials.xlsx``), which would otherwise receive CSV under a
            name that says otherwise (exit code 2).
    """
    from rung.cli.main import CLIError

    if out is None or not out.suffix:
        return "csv"
    fmt = _SUFFIX.get(out.suffix.lower())
    if fmt is None:
        raise CLIError(f"-o {out}: cannot tell the format from {out.suffix!r} (name a "
                       f"{', '.join(_SUFFIX)} file, or give --format {'|'.join(FORMATS)})", 2)
    return fmt


def cmd_export(args: argparse.Namespace) -> int:
    from rung.cli.main import CLIError

    fmt = args.format
    out = output_path(args.output) if args.output and args.output != "-" else None
    if fmt is None:
        fmt = format_of(out)
    if fmt == "parquet" and out is None:
        raise CLIError("--format parquet needs -o FILE (Parquet is binary)", 2)
    try:
        with read_study(args.name, args.storage) as study:
            df = study.trials_dataframe() if args.table == "trials" else study.results_dataframe()
    except ImportError as e:
        raise CLIError(str(e), 2) from None
    try:
        text = _write(df, fmt, out)
    except ImportError as e:  # parquet without pyarrow
        raise CLIError(f"--format parquet needs pyarrow ({e}): pip install "
                       "'rung[dataframe]'", 2) from None
    except OSError as e:  # say, a directory one may not write to
        raise CLIError(f"-o {args.output}: {e.strerror or e}", 2) from None
    if text is not None:
        sys.stdout.write(text)
    else:
        n = len(df)
        what = ("trial" if args.table == "trials" else "result") + ("" if n == 1 else "s")
        print(f"rung: wrote {n} {what} of {args.name} to {out}", file=sys.stderr, flush=True)
    return 0


def _write(df: Any, fmt: str, out: Path | None) -> str | None:
    """``df`` as ``fmt``: the text, for standard output (``out`` ``None``), else ``None`` once
    written to ``out`` (see ``replace``)."""
    if fmt == "parquet":
        assert out is not None
        with replace(out) as tmp:
            parquet_ready(df).to_parquet(tmp, index=False)
        return None
    text: str = df.to_csv(index=False) if fmt == "csv" else json_records(df) + "\n"
    if out is None:
        return text
    with replace(out) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return None


@contextlib.contextmanager
def replace(out: Path) -> Iterator[Path]:
    """A path to write ``out``'s new content to: a temporary file beside it that replaces it
    once written, so that a write that fails (a full disk, a value Parquet refuses) leaves
    what was there before; a device or pipe (``/dev/stdout``) is written in place, and a
    symbolic link's target is what is replaced (the link stays)."""
    if out.exists() and not out.is_file():
        yield out
        return
    out = out.resolve() if out.is_symlink() else out
    # the same suffix: matplotlib and pandas tell a format by it (a name that is only a
    # suffix, ".svg", has none for pathlib)
    dot = out.name.rfind(".")
    stem, suffix = (out.name[:dot], out.name[dot:]) if dot >= 0 else (out.name, "")
    tmp = out.with_name(f".{stem}.{os.getpid()}.tmp{suffix}")
    try:
        yield tmp
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


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
