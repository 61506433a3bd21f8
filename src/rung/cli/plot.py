"""``rung plot NAME --kind KIND -o FILE``: one of ``rung.plot``'s figures, as PNG, SVG or HTML.

Reads the journal read-only, once (``read_study``): it works while another process runs
the study, and draws a snapshot of what was committed when it read it.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from typing import Any

from rung.cli.output import os_reason, output_path, refuse_journal_files, replace
from rung.cli.stored import add_study_arguments, open_study

KIND_NAMES = ("history", "curves", "occupancy", "workers", "parallel", "importance", "pareto",
              "slices")  # rung.plot.KINDS (not imported here: that would load rung.plot early)


def add_parser(sub: Any) -> None:
    q = sub.add_parser(
        "plot", help="draw a figure of a study (PNG, SVG, PDF or HTML)",
        description="history: value per trial and best so far; curves: learning curves by "
                    "outcome with rung cut-offs and decisions; occupancy: trials per rung over "
                    "time; workers: Gantt of runs per worker slot; parallel: parallel "
                    "coordinates; importance: parameter importance (main-effect variance); "
                    "pareto: Pareto front (multi-objective); slices: parameter vs metric at "
                    "each rung. Needs matplotlib (pip install 'rung[plot]').")
    add_study_arguments(q)
    q.add_argument("--kind", choices=KIND_NAMES, default="curves",
                   help="which figure (default: curves)")
    q.add_argument("-o", "--output", metavar="FILE", required=True,
                   help="the file to write: .png, .svg, .pdf or .html (replaced whole; "
                        "never a journal's file: an SQLite file, its -wal/-shm, a "
                        "checkpoint directory)")
    q.set_defaults(handler=cmd_plot)


def cmd_plot(args: argparse.Namespace) -> int:
    """``rung plot``: every check first (``-o``: ``rung.cli.output``), then the journal read
    once, then the figure written whole (``replace``). A warning of the figure's (a font
    without some of its characters: ``rung.plot.save``) is one ``rung: warning:`` line."""
    from rung.cli.main import CLIError, find_storage

    if not args.output.lower().endswith((".png", ".svg", ".pdf", ".html")):
        raise CLIError(f"-o {args.output}: write a .png, .svg, .pdf or .html file", 2)
    out = output_path(args.output)
    journal = find_storage(args.name, args.storage)
    refuse_journal_files(out, args.output, journal, args.name)
    try:
        with open_study(journal, args.name) as study:
            from rung.plot import plot, save

            fig = plot(study, args.kind)
    except ImportError as e:
        raise CLIError(str(e), 2) from None
    except ValueError as e:  # e.g. a Pareto front of a single-objective study
        raise CLIError(str(e), 2) from None
    try:
        with replace(out) as tmp, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            save(fig, tmp)
    except OSError as e:  # say, a directory one may not write to
        raise CLIError(f"-o {args.output}: {os_reason(e)}", 2) from None
    except (ValueError, OverflowError) as e:  # the suffix was checked above: not -o's doing
        raise CLIError(f"drawing the {args.kind} plot of {args.name} failed: "
                       f"{type(e).__name__}: {e}", 2) from None
    for line in dict.fromkeys(str(w.message).splitlines()[0] for w in caught if str(w.message)):
        print(f"rung: warning: {line}", file=sys.stderr)
    print(f"rung: wrote the {args.kind} plot of {args.name} to {out}", file=sys.stderr,
          flush=True)
    return 0
