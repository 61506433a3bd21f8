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

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rung.analysis_frames import require
from rung.dashboard import charts, data

STATIC = Path(__file__).with_name("static")


#: the vendored chart library (``static/VENDORED.md``)
PLOTLY_JS = "plotly-basic.min.js"


def create_app(storage: str | Path, name: str | None = None, interval: float = 2.0) -> Any:
    """The ASGI app over the journal(s) at ``storage`` (a file or a directory of ``*.db``),
    showing every study there or only ``name``. ``interval``: seconds between page refreshes."""
    require("starlette", "dashboard", "rung dashboard")
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import FileResponse, JSONResponse, Response
    from starlette.routing import Route

    catalog = data.Catalog(storage, name)
    index = (STATIC / "index.html").read_text().replace("__INTERVAL_MS__",
                                                        str(int(interval * 1000)))
    ledger_page = (STATIC / "ledger.html").read_text().replace("__INTERVAL_MS__",
                                                               str(int(interval * 1000)))

    def page(request: Request) -> Response:
        return Response(index, media_type="text/html")

    def studies(request: Request) -> Response:
        rows = []
        for key, name, _ in catalog.entries():
            # ``key`` addresses the study in the pages' links and the API (its name, unless
            # several journals hold that name)
            try:
                rows.append({**catalog.view(key, data.study_row), "key": key})
            except Exception as e:  # one unreadable study does not hide the others
                rows.append({"name": name, "key": key, "error": str(e)})
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

    def on_study(view: Callable[..., dict[str, Any]],
                 query: bool = False) -> Callable[[Request], Response]:
        def endpoint(request: Request) -> Response:
            n = request.path_params["name"]
            tid = request.path_params.get("tid")
            if tid is not None and not (tid.isascii() and tid.isdigit()):
                whole = f"{n}/trial/{tid}"  # a study named so (its %2F decoded before routing)
                if _known(whole):
                    return JSONResponse(catalog.view(whole, data.overview))
                if _known(n):
                    return JSONResponse({"error": f"no such trial: {tid!r} is not a trial id "
                                                  "(a whole number)"}, status_code=404)
            if not _known(n):
                return JSONResponse({"error": _missing(n)}, status_code=404)
            args: list[Any] = [int(tid)] if tid is not None else []
            if query:  # the trials table's sort, filter and page
                args.append(dict(request.query_params))
            try:
                return JSONResponse(catalog.view(n, lambda snap: view(snap, *args)))
            except KeyError:
                return JSONResponse({"error": "no such trial"}, status_code=404)
        return endpoint

    def ledger_html(request: Request) -> Response:
        return Response(ledger_page, media_type="text/html")

    def ledger_api(request: Request) -> Response:
        from rung.dashboard.ledger import ledger_view

        key = request.path_params["name"]
        try:
            n, path = catalog.resolve(key)
        except KeyError:
            return JSONResponse({"error": _missing(key)}, status_code=404)
        return JSONResponse(ledger_view(path, n))

    def static(request: Request) -> Response:
        f = request.path_params["file"]
        p = STATIC / f
        if f not in {x.name for x in STATIC.iterdir()} or not p.is_file():
            return Response("not found", status_code=404)
        return FileResponse(p)

    # a study's name may hold a "/" (sent as %2F, which the server decodes before routing):
    # {name:path}, the routes with a suffix first, the overview last
    routes = [
        Route("/", page),
        Route("/api/studies", studies),
        Route("/api/study/{name:path}/trials", on_study(data.trials, query=True)),
        Route("/api/study/{name:path}/parallel", on_study(charts.parallel)),
        Route("/api/study/{name:path}/trial/{tid}", on_study(data.trial_detail)),
        Route("/api/study/{name:path}/curves", on_study(charts.curves)),
        Route("/api/study/{name:path}/workers", on_study(charts.workers)),
        Route("/api/study/{name:path}/pareto", on_study(charts.pareto)),
        Route("/ledger", ledger_html),  # rung.dashboard.ledger: what the study spent and saved
        Route("/api/study/{name:path}/ledger", ledger_api),
        Route("/api/study/{name:path}", on_study(data.overview)),
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
