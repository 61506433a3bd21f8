"""The dashboard's web app: Starlette routes over ``rung.dashboard.data`` (read-only).

A study is addressed by its name, or by ``NAME@FILE`` where several journals of the directory
hold that name (``data.Catalog.entries``; ``/api/studies`` gives each study's ``key``).

``GET /`` is the single page (``static/index.html``: studies, overview, trials, curves,
parallel coordinates, Pareto front, workers; it polls the JSON API every few seconds).
``/api/studies``, ``/api/study/{name}``, ``.../trials``, ``.../trial/{id}``, ``.../curves``,
``.../workers``, ``.../pareto``, ``.../parallel`` return JSON (``.../trials`` one page of
the table: ``?sort=&desc=&q=&offset=&limit=``). ``/static/*`` serves the files of ``static/``,
among them ``plotly-basic.min.js``: plotly.js's partial ``basic`` bundle (scatter, bar, pie;
1.2 MB against the full bundle's 4.8 MB, which a cold headless Chromium took 1.5-2 s to compile:
``benchmarks/RESULTS.md``, ``bench_dashboard``), vendored with its license
(``static/VENDORED.md`` has its version and checksum). Nothing comes from a CDN: the dashboard
works offline.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from rung.analysis_frames import require
from rung.dashboard import charts, data
from rung.dashboard.workers import workers_page

STATIC = Path(__file__).with_name("static")


#: the vendored chart library (``static/VENDORED.md``)
PLOTLY_JS = "plotly-basic.min.js"

#: the refresh interval's bounds, in seconds (``--interval``): a browser's ``setInterval``
#: takes at most 2**31 - 1 ms and runs a longer delay at once, so a huge interval polled
#: hundreds of times a second
MIN_INTERVAL = 0.1
MAX_INTERVAL = 3600.0

#: a study's pages under ``/api/study/NAME/``: the view that answers each, and whether it
#: reads the query string (``ledger`` is answered by ``rung.dashboard.ledger``)
VIEWS: dict[str, tuple[Callable[..., dict[str, Any]], bool]] = {
    "": (data.overview, False),
    "trials": (data.trials, True),
    "trial": (data.trial_detail, False),
    "curves": (charts.curves, False),
    "parallel": (charts.parallel, False),
    "pareto": (charts.pareto, False),
    "workers": (workers_page, False),
}
PAGES = frozenset(VIEWS) - {"", "trial"} | {"ledger"}

_PREFIX = "/api/study/"


def address(rest: str, raw_path: bytes | None,
            known: Callable[[str], bool]) -> tuple[str, str, str] | str:
    """The study, page and trial id (``""`` but for ``trial``) that ``/api/study/<rest>``
    names, ``rest`` decoded (a name's ``%2F`` is a "/" here); or, when it names no known
    study, the name to say is missing.

    Tried in order, the first whose study is ``known`` wins: the undecoded ``raw_path`` (the
    page encodes a name with ``encodeURIComponent``, so its first segment is the whole name and
    the rest the page: exact, whatever the names); the whole of ``rest`` as a name (a study
    named ``resnet/workers`` has an overview, typed with a literal "/" too); then ``rest`` with
    a page's suffix split off (``resnet/workers``: the workers page of ``resnet``)."""
    tries: list[tuple[str, str, str]] = []
    if raw_path is not None:
        raw = raw_path.decode("latin-1")
        at = raw.find(_PREFIX)
        if at >= 0:
            found = _split_segments([unquote(x) for x in raw[at + len(_PREFIX):].split("/")])
            if found is not None:
                tries.append(found)
    tries.append((rest, "", ""))
    for page in sorted(PAGES):
        if rest.endswith("/" + page):
            tries.append((rest[:-len(page) - 1], page, ""))
    name, sep, tid = rest.rpartition("/trial/")
    if sep and "/" not in tid:
        tries.append((name, "trial", tid))
    for t in tries:
        if known(t[0]):
            return t
    # the study the address meant: the first try with a page (the page's own split first),
    # else all of it
    meant = [t for t in tries if t[1]]
    return meant[0][0] if meant else rest


def _split_segments(parts: list[str]) -> tuple[str, str, str] | None:
    """``[name]``, ``[name, page]`` or ``[name, "trial", id]`` as a try of ``address``."""
    if len(parts) == 1:
        return parts[0], "", ""
    if len(parts) == 2 and parts[1] in PAGES:
        return parts[0], parts[1], ""
    if len(parts) == 3 and parts[1] == "trial":
        return parts[0], "trial", parts[2]
    return None


def unreadable(e: BaseException, path: Path | None, name: str) -> str:
    """Why the study ``name`` (in the journal ``path``) cannot be shown, in one line, as
    ``rung show`` says it (``bad.db: study 'mo', record 51: unreadable Launch record: ...``):
    the error's first line, led by the journal and the study when it names neither."""
    from rung.errors import RungError

    text = str(e).splitlines()[0].strip() if str(e).strip() else ""
    if not isinstance(e, RungError):
        text = f"{type(e).__name__}: {text}" if text else type(e).__name__
    if path is not None and str(path) not in text:
        text = f"{path}: study {name!r}: {text}"
    return text


#: the header of a study's answer while its journal is being read (``Snapshot.loading``)
LOADING_HEADER = "X-Rung-Loading"


def loading_header(loading: dict[str, Any] | None) -> dict[str, str]:
    """The headers that say how far the study of an answer has been read: none when its pages
    are up to date, else ``X-Rung-Loading`` with ``Snapshot.loading`` as compact JSON. Every
    ``/api/study/...`` answer carries it (the overview, the trials table and the studies list
    say it in their JSON too), so a page can show the status above any of them, a chart's
    answer included, without its body changing while only the progress does."""
    if loading is None:
        return {}
    return {LOADING_HEADER: json.dumps(loading, separators=(",", ":"))}


def create_app(storage: str | Path, name: str | None = None, interval: float = 2.0) -> Any:
    """The ASGI app over the journal(s) at ``storage`` (a file or a directory of ``*.db``),
    showing every study there or only ``name``. ``interval``: seconds between page refreshes."""
    require("starlette", "dashboard", "rung dashboard")
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import FileResponse, JSONResponse, Response
    from starlette.routing import Route

    if not MIN_INTERVAL <= interval <= MAX_INTERVAL:  # also NaN
        raise ValueError(f"interval: must be {MIN_INTERVAL:g} to {MAX_INTERVAL:g} seconds, "
                         f"got {interval!r}")
    catalog = data.Catalog(storage, name)
    index = (STATIC / "index.html").read_text().replace("__INTERVAL_MS__",
                                                        str(int(interval * 1000)))
    ledger_page = (STATIC / "ledger.html").read_text().replace("__INTERVAL_MS__",
                                                               str(int(interval * 1000)))

    def page(request: Request) -> Response:
        return Response(index, media_type="text/html")

    def studies(request: Request) -> Response:
        rows = []
        for key, name, path in catalog.listing():
            if key is None:  # a journal that cannot be read: its own row, no study named
                rows.append({"name": None, "key": None, "path": str(path), "error": name})
                continue
            # ``key`` addresses the study in the pages' links and the API (its name, unless
            # several journals hold that name)
            try:
                rows.append({**catalog.view(key, data.study_row), "key": key})
            except Exception as e:  # one unreadable study does not hide the others
                rows.append({"name": name, "key": key, "path": str(path),
                             "error": unreadable(e, path, name)})
        return JSONResponse({"studies": rows, "storage": str(catalog.storage)})

    def _missing(key: str) -> str:
        """Why no study is ``key``: none has that name, or several journals hold one by that
        name, each with its own key (``NAME@FILE``, ``Catalog.entries``)."""
        keys = [k for k, n, _ in catalog.entries() if n == key]
        if keys:
            return (f"study name {key!r} is in several journals: ask for one of "
                    f"{', '.join(keys)}")
        return f"no study named {key!r}"

    def _known(name: str) -> bool:
        try:
            catalog.locate(name)
        except KeyError:
            return False
        return True

    def _failed(key: str, e: Exception) -> Response:
        """A study that cannot be read: its one-line reason as JSON (status 500), as ``rung
        show`` says it."""
        try:
            path: Path | None = catalog.locate(key)
        except KeyError:
            path = None
        return JSONResponse({"error": unreadable(e, path, key)}, status_code=500)

    def study_api(request: Request) -> Response:
        """Every ``/api/study/...`` address: the study it names (``address``), then its page;
        a study that cannot be read is one line of JSON saying why."""
        found = address(request.path_params["rest"], request.scope.get("raw_path"), _known)
        if isinstance(found, str):
            return JSONResponse({"error": _missing(found)}, status_code=404)
        key, page, tid = found
        if page == "ledger":
            return ledger_api(key)
        if page == "trial" and not (tid.isascii() and tid.isdigit()):
            return JSONResponse({"error": f"no such trial: {tid!r} is not a trial id "
                                          "(a whole number)"}, status_code=404)
        view, query = VIEWS[page]
        args: list[Any] = [int(tid)] if page == "trial" else []
        if query:  # the trials table's sort, filter and page
            args.append(dict(request.query_params))
        if page == "workers":  # the ledger's fold of the journal: outside the catalog's lock
            _warm_ledger(key)
        try:
            out, loading = catalog.view(key, lambda snap: (view(snap, *args), snap.loading))
            return JSONResponse(out, headers=loading_header(loading))
        except KeyError as e:
            if page == "trial" and e.args == (int(tid),):
                return JSONResponse({"error": "no such trial"}, status_code=404)
            return _failed(key, e)
        except Exception as e:  # an unreadable journal: say why where the page would be
            return _failed(key, e)

    def _warm_ledger(key: str) -> None:
        """Fold the journal into the ledger (``rung.dashboard.ledger``, which the workers page
        reads for its busy share) before the catalog's lock is taken: the first fold of a
        large journal takes seconds (2.2 s for 222,849 records), which every other request
        waited for when it was folded under that lock. Errors are the page's to report."""
        from rung.dashboard.ledger import ledger_view

        try:
            n, path = catalog.resolve(key)
            ledger_view(path, n)
        except Exception:
            pass

    def ledger_html(request: Request) -> Response:
        return Response(ledger_page, media_type="text/html")

    def ledger_api(key: str) -> Response:
        from rung.dashboard.ledger import ledger_view

        n, path = catalog.resolve(key)
        try:
            # why the search ended with its budget not spent: the overview's line
            return JSONResponse({**ledger_view(path, n),
                                 "budget_state": catalog.view(key, data.ended_early)})
        except Exception as e:
            return _failed(key, e)

    def static(request: Request) -> Response:
        f = request.path_params["file"]
        p = STATIC / f
        if f not in {x.name for x in STATIC.iterdir()} or not p.is_file():
            return Response("not found", status_code=404)
        return FileResponse(p)

    routes = [
        Route("/", page),
        Route("/api/studies", studies),
        Route("/ledger", ledger_html),  # rung.dashboard.ledger: what the study spent and saved
        # a study's name may hold a "/" (sent as %2F): one route, ``address`` says which page
        Route("/api/study/{rest:path}", study_api),
        Route("/static/{file}", static),
    ]
    return Starlette(routes=routes)


def serve(storage: str | Path, name: str | None = None, host: str = "127.0.0.1",
          port: int = 8080, interval: float = 2.0, sock: socket.socket | None = None) -> None:
    """Run the dashboard with uvicorn until interrupted, on ``host``:``port``, or on ``sock``
    (a bound socket: ``rung dashboard`` binds it first, so a port it cannot have is an error
    before anything is served)."""
    require("uvicorn", "dashboard", "rung dashboard")
    import uvicorn

    app = create_app(storage, name, interval)
    if sock is None:
        uvicorn.run(app, host=host, port=port, log_level="warning")
        return
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
