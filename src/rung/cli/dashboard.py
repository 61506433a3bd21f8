"""``rung dashboard [NAME]``: serve the live, read-only web dashboard over study journals."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    q = sub.add_parser(
        "dashboard", help="a live web dashboard over studies (read-only)",
        description="Serve a read-only web app over the journals: studies, overview, trials "
                    "(with every decision's reason), learning curves with rungs, parallel "
                    "coordinates, Pareto front, worker timeline. It refreshes while a run goes "
                    "on and never blocks the driver. A large study opens from a snapshot of "
                    "its pages, written by the run beside its journal or by the dashboard "
                    "into $RUNG_DASHBOARD_CACHE (default ~/.cache/rung/dashboard); the "
                    "journal stays the truth. Needs pip install 'rung[dashboard]'.")
    q.add_argument("name", nargs="?", default=None, help="show only this study")
    q.add_argument("--storage", metavar="FILE|DIR",
                   help="SQLite file or directory of .db files (default: runs/)")
    q.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1: this machine only)")
    q.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    q.add_argument("--interval", type=float, default=2.0, metavar="SECONDS",
                   help="seconds between page refreshes (default 2)")
    q.set_defaults(handler=cmd_dashboard)


def cmd_dashboard(args: argparse.Namespace) -> int:
    from rung.cli.main import DEFAULT_DIR, CLIError, find_storage

    storage = Path(args.storage) if args.storage else DEFAULT_DIR
    if args.name is not None:
        storage = find_storage(args.name, args.storage)
    elif not storage.exists():
        raise CLIError(f"no journal at {storage} (use --storage FILE|DIR)", 2)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"rung: warning: serving on {args.host}: anyone who can reach this address can "
              "read the studies (there is no authentication)", file=sys.stderr, flush=True)
    try:
        from rung.dashboard import serve

        shown = args.name or f"the studies in {storage}"
        host = f"[{args.host}]" if ":" in args.host else args.host
        print(f"rung: dashboard of {shown} at http://{host}:{args.port}/ (Ctrl-C to stop)",
              flush=True)
        serve(storage, args.name, host=args.host, port=args.port, interval=args.interval)
    except ImportError as e:
        raise CLIError(str(e), 2) from None
    except KeyboardInterrupt:
        pass
    return 0
