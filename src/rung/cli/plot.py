"""``rung plot NAME --kind KIND -o FILE``: one of ``rung.plot``'s figures, as PNG, SVG or HTML.

Reads the journal read-only, once (``read_study``): it works while another process runs
the study, and draws a snapshot of what was committed when it read it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rung.cli.export import output_path, replace
from rung.cli.stored import add_study_arguments, read_study

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
                   help="the file to write: .png, .svg, .pdf or .html")
    q.set_defaults(handler=cmd_plot)


def cmd_plot(args: argparse.Namespace) -> int:
    from rung.cli.main import CLIError

    if not args.output.lower().endswith((".png", ".svg", ".pdf", ".html")):
        raise CLIError(f"-o {args.output}: write a .png, .svg, .pdf or .html file", 2)
    output_path(args.output)
    try:
        with read_study(args.name, args.storage) as study:
            from rung.plot import plot, save

            fig = plot(study, args.kind)
    except ImportError as e:
        raise CLIError(str(e), 2) from None
    except ValueError as e:  # e.g. a Pareto front of a single-objective study
        raise CLIError(str(e), 2) from None
    out = Path(args.output)
    try:
        with replace(out) as tmp:  # a failed write leaves the file that was there
            save(fig, tmp)
    except OSError as e:  # say, a directory one may not write to
        raise CLIError(f"-o {args.output}: {e.strerror or e}", 2) from None
    except ValueError as e:  # a name matplotlib cannot tell the format of
        raise CLIError(f"-o {args.output}: {e}", 2) from None
    print(f"rung: wrote the {args.kind} plot of {args.name} to {out}", file=sys.stderr,
          flush=True)
    return 0
