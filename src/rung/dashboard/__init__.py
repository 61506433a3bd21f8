"""``rung dashboard``: a live, read-only web app over study journals (the ``dashboard`` extra:
Starlette, uvicorn, pandas; charts drawn by plotly.js's basic bundle, vendored in ``static/``).

``create_app(storage, name=None)`` is the ASGI app, ``serve(...)`` runs it with uvicorn. It
opens journals read-only (SQLite WAL readers never block the driver), opens a large study from
a snapshot of its pages (``rung.dashboard.snapshot``), and follows a live run by replaying only
the records appended since its last look (``rung.dashboard.data``).
"""

from __future__ import annotations

from rung.dashboard.app import create_app, serve

__all__ = ["create_app", "serve"]
