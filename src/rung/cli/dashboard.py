"""``rung dashboard [NAME]``: serve the live, read-only web dashboard over study journals."""

from __future__ import annotations

import argparse
import errno
import socket
import sys
from typing import Any

from rung.cli.argtypes import seconds


def add_parser(sub: Any) -> None:
    q = sub.add_parser(
        "dashboard", help="a live web dashboard over studies (read-only)",
        description="Serve a read-only web app over the journals: studies, overview, trials "
                    "(with every decision's reason), learning curves with rungs, parallel "
                    "coordinates, Pareto front, worker timeline, and the cost ledger (money, "
                    "device-hours, the scheduler's saving, idle workers). It refreshes while a "
                    "run goes on and never blocks the driver. A large study opens from a "
                    "snapshot of its pages, written by the run beside its journal or by the "
                    "dashboard into $RUNG_DASHBOARD_CACHE (default ~/.cache/rung/dashboard); "
                    "the journal stays the truth. Needs pip install 'rung[dashboard]'.")
    q.add_argument("name", nargs="?", default=None, help="show only this study")
    q.add_argument("--storage", metavar="FILE|DIR",
                   help="SQLite file or directory of .db files (default: runs/)")
    q.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1: this machine only)")
    q.add_argument("--port", type=_port, default=8080,
                   help="port (default 8080; 0: any free port, printed at start)")
    q.add_argument("--interval", type=_interval, default=2.0, metavar="SECONDS",
                   help="seconds between page refreshes (default 2; 0.1 to 3600)")
    q.set_defaults(handler=cmd_dashboard)


def _interval(s: str) -> float:
    """``--interval``: a number of seconds from ``MIN_INTERVAL`` to ``MAX_INTERVAL`` (a page
    cannot wait longer between refreshes: a browser runs a longer timer at once)."""
    from rung.dashboard.app import MAX_INTERVAL, MIN_INTERVAL

    v = seconds(MIN_INTERVAL, inclusive=True)(s)
    if v > MAX_INTERVAL:
        raise argparse.ArgumentTypeError(
            f"must be at most {MAX_INTERVAL:g} seconds (an hour), got {s}")
    return v


def _port(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {s!r}") from None
    if not 0 <= v <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0 to 65535, got {v}")
    return v


def cmd_dashboard(args: argparse.Namespace) -> int:
    """Check the storage, listen on ``--host``/``--port`` (a port that cannot be had is a
    bad command line: one line, exit 2), then serve until interrupted."""
    from rung.analysis_frames import require
    from rung.cli.main import DEFAULT_DIR, CLIError, find_storage  # (re-exported there)
    from rung.cli.run_checks import storage_path
    from rung.storage.paths import inspectable

    storage = storage_path(args.storage) if args.storage else DEFAULT_DIR
    if args.name is not None:
        storage = find_storage(args.name, args.storage)
    elif not inspectable(storage.exists):
        raise CLIError(f"no journal at {storage} (use --storage FILE|DIR)", 2)
    elif storage.is_file():  # a directory may hold other files; a file must be a journal
        from rung.errors import RungError
        from rung.storage import SQLiteJournal

        try:
            SQLiteJournal(storage, readonly=True).close()
        except RungError as e:
            raise CLIError(f"--storage {storage}: {e}", 2) from None
    try:
        require("starlette", "dashboard", "rung dashboard")
        require("uvicorn", "dashboard", "rung dashboard")
    except ImportError as e:
        raise CLIError(str(e), 2) from None
    try:
        sock = listen(args.host, args.port)
    except OSError as e:
        why = (e.strerror or str(e)).lower()
        if e.errno in (errno.EADDRINUSE, errno.EACCES):
            raise CLIError(f"--port {args.port}: cannot listen on it at {args.host}: {why}",
                           2) from None
        host = args.host or "''"  # an empty --host '' is named as given
        raise CLIError(f"--host {host}: cannot listen there: {why}", 2) from None
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"rung: warning: serving on {args.host}: anyone who can reach this address can "
              "read the studies (there is no authentication)", file=sys.stderr, flush=True)
    try:
        from rung.dashboard import serve

        shown = args.name or f"the studies in {storage}"
        host = f"[{args.host}]" if ":" in args.host else args.host
        port = sock.getsockname()[1]
        print(f"rung: dashboard of {shown} at http://{host}:{port}/ (Ctrl-C to stop)",
              flush=True)
        serve(storage, args.name, interval=args.interval, sock=sock)
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    return 0


def listen(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host``:``port`` (``0``: a free port), as uvicorn binds it.

    Raises:
        OSError: the address is in use, not this machine's, or not an address.
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, addr = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)
    except OSError:
        sock.close()
        raise
    return sock
