"""In headless Chromium: an unreadable study says why where its page would be (overview and
ledger), an unreadable journal has its row, the ledger page says a study does not exist rather
than show another one and keeps the dashboard's header and status line, an empty study says
it has no result yet instead of drawing empty axes, the log step axis has no stray digit
labels, and parallel coordinates of many parameters keep their axes apart."""

from __future__ import annotations

import sqlite3
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from dashhelp import needs_browser, run_to_the_end, start_dashboard, wait_for

import rung

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("selenium.webdriver")
pytestmark = needs_browser


def _wait(fn: Any, what: str, timeout: float = 30) -> Any:
    return wait_for(fn, what, timeout, poll=0.2)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("audit")
    s = rung.Study.create("bad", {"x": rung.Float(0, 1)}, searcher="random", scheduler="fifo",
                          budget=rung.Budget(n_trials=3), storage=root / "bad.db")
    while (t := s.ask()) is not None:
        s.tell(t.id, "completed", {"loss": t.params["x"]})
    s.close()
    with sqlite3.connect(root / "bad.db") as c:
        c.execute("UPDATE record SET body = '{not json' WHERE seq = (SELECT max(seq) FROM "
                  "record WHERE kind = 'Launch')")
    (root / "garbage.db").write_bytes(b"not a database" * 200)
    rung.Study.create("empty", {"x": rung.Float(0, 1)}, max_step=9,
                      storage=root / "empty.db").close()
    space = {f"a_rather_long_parameter_name_{i}": rung.Categorical(
        [f"choice_with_a_long_name_{k}" for k in range(4)]) for i in range(14)}
    w = rung.Study.create("wide", space, searcher="random", scheduler="asha", max_step=9,
                          budget=rung.Budget(n_trials=12), seed=0, storage=root / "wide.db")
    run_to_the_end(w, 9, lambda t, step: {"loss": (t.id % 5) + 1 / step})
    w.close()
    dash, url = start_dashboard(root)

    def up() -> bool:
        try:
            with urllib.request.urlopen(url + "/api/studies", timeout=2):
                return True
        except OSError:
            return False

    try:
        _wait(up, "the dashboard")
        yield url
    finally:
        dash.terminate()
        dash.wait(10)


def _js(d: Any, script: str) -> Any:
    return d.execute_script(script)


def test_an_unreadable_study_says_why_where_the_page_would_be(base: str, browser: Any) -> None:
    d = browser
    d.get(base + "/#/study/bad")
    err = _wait(lambda: _js(d, "const e = document.getElementById('page-error');"
                               "return e ? e.textContent : null"), "the page's error")
    # before: 'Unexpected token 'I', "Internal S"... is not valid JSON'
    assert ": study 'bad', record " in err
    assert "unreadable Launch record: Expecting property name" in err
    assert _js(d, "return document.getElementById('status').textContent") == (
        "could not refresh: " + err)
    d.get(base + "/#/")
    rows = _wait(lambda: _js(d, "return [...document.querySelectorAll('#studies-table tbody "
                                "tr')].map(r => r.innerText)"), "the studies")
    assert any("garbage.db is not a rung journal: file is not a database" in r for r in rows)
    assert any(r.startswith("bad") and ": study 'bad', record " in r for r in rows)
    d.get(base + "/ledger?study=bad")
    err = _wait(lambda: _js(d, "const e = document.getElementById('page-error');"
                               "return e && !e.hidden ? e.textContent : null"), "the ledger error")
    assert ": study 'bad', record " in err  # before: "loading…" forever
    assert _js(d, "return document.getElementById('ledger-body').hidden") is True


def test_the_ledger_says_a_study_does_not_exist(base: str, browser: Any) -> None:
    d = browser
    d.get(base + "/ledger?study=nope")
    err = _wait(lambda: _js(d, "const e = document.getElementById('page-error');"
                               "return e && !e.hidden ? e.textContent : null"), "the error")
    assert err == "no study named 'nope'"  # before: another study's ledger, silently
    assert _js(d, "return document.getElementById('status').textContent") == (
        "could not refresh: no study named 'nope'")
    assert _js(d, "return document.getElementById('ledger-study').value") == ""
    link = _js(d, "return document.getElementById('ledger-link').getAttribute('aria-current')")
    assert link == "page"
    d.get(base + "/ledger?study=wide")
    _wait(lambda: _js(d, "return document.getElementById('status').textContent"
                         ".startsWith('updated ')"), "the status line")
    assert _js(d, "return document.getElementById('page-error').hidden") is True
    nav = _js(d, "return [...document.querySelectorAll('#nav a')].map(a => a.textContent)")
    assert nav == ["studies", "overview", "trials", "learning curves", "parallel coordinates",
                   "Pareto front", "workers"]
    assert [e for e in d.get_log("browser") if e["level"] == "SEVERE"
            and "/api/study/" not in e["message"]] == []


def test_an_empty_study_says_it_has_no_result(base: str, browser: Any) -> None:
    d = browser
    d.get(base + "/#/study/empty")
    text = _wait(lambda: _js(d, "const e = document.getElementById('overview');"
                                "return e ? e.innerText : null"), "the overview")
    assert "no trial has a result yet" in text and "no worker has run yet" in text
    assert "null" not in text and "0 worker slots" not in text
    for page, note in (("curves", "curves-note"), ("parallel", "par-note"),
                       ("workers", "workers-note")):
        d.get(f"{base}/#/study/empty/{page}")
        got = _wait(lambda note=note: _js(d, f"const e = document.getElementById('{note}');"
                                             "return e ? e.textContent : null"), note)
        assert got in ("no trial has a result yet", "no run yet: no worker has run a trial")
        assert _js(d, f"return document.querySelectorAll('#{page} .main-svg').length") == 0
    d.get(base + "/ledger?study=empty")
    note = _wait(lambda: _js(d, "const e = document.getElementById('ledger-incumbent-note');"
                                "return e.hidden ? null : e.textContent"), "the ledger's note")
    assert note.startswith("no trial has a final result yet")
    assert _js(d, "return document.querySelectorAll('#ledger-incumbent .main-svg, "
                  "#ledger-workers .main-svg').length") == 0


def test_log_steps_and_many_parameters_are_readable(base: str, browser: Any) -> None:
    d = browser
    d.get(base + "/#/study/wide/curves")
    ticks = _wait(lambda: _js(d, "return [...document.querySelectorAll('#curves .xtick text')]"
                                 ".map(t => t.textContent)"), "the step axis")
    assert ticks == ["1", "3", "9"]  # before: a "9" for 0.9 beside the "1", and "2", "5"...
    d.get(base + "/#/study/wide/parallel")
    _wait(lambda: _js(d, "return document.querySelector('#parallel .main-svg') !== null"),
          "the chart")
    # 15 axes, at least 110 px apart: wider than the window, scrolled sideways
    width = _js(d, "return document.getElementById('parallel').getBoundingClientRect().width")
    assert width >= 15 * 110
    box = _js(d, "return document.getElementById('par-scroll').clientWidth")
    assert box < width
    titles = _js(d, "return [...document.querySelectorAll('#parallel .annotation-text')]"
                    ".map(t => t.textContent).filter(t => t.startsWith('a_rather'))")
    assert len(titles) == 14 and all(t.endswith("…") and len(t) <= 14 for t in titles)
