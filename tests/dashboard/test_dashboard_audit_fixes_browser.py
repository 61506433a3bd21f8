"""In headless Chromium, what a browser audit found: an address that answers 404 or 500 is
not asked for again at every refresh; the trials page of an unreadable study says why where
the table would be; the Pareto page draws each front point once; a study two journals name
alike is headed with its file, and the tab names the study; a chart's zoom survives a refresh
of its data; Back returns to the trial or ledger study chosen before; the workers note writes
its numbers alike."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dashhelp import needs_browser, start_dashboard, wait_for

import rung

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("selenium.webdriver")
pytestmark = needs_browser


def _wait(fn: Any, what: str, timeout: float = 20) -> Any:
    return wait_for(fn, what, timeout, poll=0.1)


def _mo(db: Path) -> None:
    s = rung.Study.create("mo", {"x": rung.Float(0, 1)}, objective=["f1", "f2"],
                          searcher="random", scheduler="fifo", max_step=3,
                          budget=rung.Budget(n_trials=16), seed=0, storage=db)
    while (t := s.ask()) is not None:
        x = t.params["x"]
        for step in (1, 2, 3):
            s.report(t.id, step, {"f1": x + 1 / step, "f2": (1 - x) ** 2 + 1 / step})
        s.tell(t.id, "completed")
    s.close()


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("fixes")
    _mo(root / "a.db")
    _mo(root / "b.db")
    s = rung.Study.create("bad", {"x": rung.Float(0, 1)}, searcher="random", scheduler="fifo",
                          budget=rung.Budget(n_trials=3), storage=root / "bad.db")
    while (t := s.ask()) is not None:
        s.tell(t.id, "completed", {"loss": t.params["x"]})
    s.close()
    with sqlite3.connect(root / "bad.db") as c:
        c.execute("UPDATE record SET body = '{not json' WHERE seq = (SELECT max(seq) FROM "
                  "record WHERE kind = 'Launch')")
    dash, url = start_dashboard(root, interval=0.3)
    try:
        _wait(lambda: _up(url), "the dashboard")
        yield url
    finally:
        dash.terminate()
        dash.wait(10)


def _up(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url + "/api/studies", timeout=2):
            return True
    except OSError:
        return False


def _asked(d: Any, part: str) -> int:
    return int(d.execute_script(
        "return performance.getEntriesByType('resource').filter("
        "(e) => e.name.includes(arguments[0])).length", part))


@pytest.mark.slow  # waits out several refreshes in a browser (9 s)
def test_a_failing_address_is_not_asked_for_at_every_refresh(base: str, browser: Any) -> None:
    for page, part in [("/#/study/nope", "/api/study/nope"),
                       ("/#/study/bad/trials", "/api/study/bad/trials"),
                       ("/#/study/mo@a.db/trials/999", "/api/study/mo%40a.db/trial/999"),
                       ("/ledger?study=nope", "/api/study/nope/ledger")]:
        browser.get("about:blank")
        browser.get(base + page)
        _wait(lambda part=part: _asked(browser, part) >= 1, f"{page} to ask")
        time.sleep(2.0)  # about 7 refreshes at 0.3 s
        assert _asked(browser, part) == 1, page


def test_the_trials_page_of_an_unreadable_study_says_why_in_place(base: str,
                                                                  browser: Any) -> None:
    browser.get("about:blank")
    browser.get(base + "/#/study/bad/trials")
    msg = _wait(lambda: browser.execute_script(
        "const e = document.getElementById('page-error'); return e && e.textContent"),
        "the error in place")
    assert "record" in msg and "unreadable" in msg
    assert browser.execute_script("return document.getElementById('trials-table')") is None
    assert browser.execute_script("return document.getElementById('prev')") is None


def test_same_named_studies_are_headed_by_file_and_the_front_is_drawn_once(
        base: str, browser: Any) -> None:
    browser.get(base + "/#/study/mo%40a.db")
    _wait(lambda: browser.execute_script(
        "const e = document.getElementById('study-title'); return e && e.textContent.trim()"),
        "the heading")
    assert browser.execute_script(
        "return document.getElementById('study-title').textContent.trim()") == "mo (a.db)"
    assert browser.title == "mo (a.db) · rung dashboard"
    browser.get(base + "/#/study/mo%40a.db/pareto")
    _wait(lambda: browser.execute_script(
        "const e = document.getElementById('pareto'); return e && e.data && e.data.length"),
        "the Pareto chart")
    traces = browser.execute_script(
        "return document.getElementById('pareto').data.map((t) => [t.name, t.customdata])")
    grey = set(traces[0][1] or [])
    front = set(traces[3][1] or [])
    assert front and not grey & front
    assert browser.title == "mo (a.db) · rung dashboard"


def test_a_zoom_survives_a_refresh_of_the_data(base: str, browser: Any) -> None:
    for page, chart in [("curves", "curves"), ("parallel", "parallel")]:
        browser.get(base + f"/#/study/mo%40a.db/{page}")
        _wait(lambda chart=chart: browser.execute_script(
            f"return document.querySelector('#{chart} .main-svg') !== null"), page)
        browser.execute_script(f"return Plotly.relayout('{chart}', {{'yaxis.range': [0.2, 0.4]}})")
        # the next refresh draws the chart from its data again (as new records would)
        browser.execute_script("for (const k in lastChart) delete lastChart[k]")
        before = browser.execute_script(f"return document.getElementById('{chart}').data")
        _wait(lambda chart=chart, before=before: browser.execute_script(
            f"return document.getElementById('{chart}').data !== arguments[0]", before) or
            _redrawn(browser, chart), f"{page} redrawn")
        time.sleep(0.8)
        rng = browser.execute_script(
            f"return document.getElementById('{chart}').layout.yaxis.range")
        assert rng == pytest.approx([0.2, 0.4]), page


def _click(browser: Any, css: str) -> None:
    """A real click on ``css`` (again if a refresh replaced the element meanwhile)."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    for _ in range(20):
        try:
            browser.find_element(By.CSS_SELECTOR, css).click()
            return
        except StaleElementReferenceException:
            time.sleep(0.1)
    raise AssertionError(f"could not click {css}")


def _redrawn(browser: Any, chart: str) -> bool:
    return bool(browser.execute_script("return Object.keys(lastChart).length > 0"))


def test_back_returns_to_the_trial_and_the_study_chosen_before(base: str, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(base + "/#/study/mo%40a.db/trials")
    _wait(lambda: browser.execute_script(
        "return document.querySelectorAll('#trials-table tbody tr').length >= 3"), "rows")
    # real clicks: Chromium's Back skips the entries a page added without a user's gesture
    _click(browser, '#trials-table tbody tr[data-id="1"]')
    _wait(lambda: browser.execute_script("return location.hash.endsWith('/trials/1')"), "1")
    _click(browser, '#trials-table tbody tr[data-id="2"]')
    _wait(lambda: browser.execute_script("return location.hash.endsWith('/trials/2')"), "2")
    browser.back()
    _wait(lambda: browser.execute_script("return location.hash.endsWith('/trials/1')"), "back")
    _wait(lambda: browser.execute_script(
        "const t = document.getElementById('trial-title'); return t && t.textContent.startsWith('trial 1:')"),
        "trial 1's detail")
    browser.get(base + "/ledger?study=mo%40a.db")
    _wait(lambda: browser.execute_script(
        "return document.querySelectorAll('#ledger-study option').length >= 3"), "the list")
    # the keyboard, not Select(): Chromium's Back skips an entry added without a user's
    # gesture, and Selenium may choose an option by script
    chooser = browser.find_element(By.ID, "ledger-study")
    for _ in range(5):
        if chooser.get_attribute("value") == "mo@b.db":
            break
        chooser.send_keys(Keys.ARROW_DOWN)
    _wait(lambda: "mo%40b.db" in browser.current_url, "the ledger's address")
    browser.back()
    _wait(lambda: "mo%40a.db" in browser.current_url and browser.execute_script(
        "return document.getElementById('ledger-study').value") == "mo@a.db", "back")


def test_the_workers_note_writes_its_numbers_alike(base: str, browser: Any) -> None:
    browser.get(base + "/#/study/mo%40a.db/workers")
    _wait(lambda: browser.execute_script(
        "return document.querySelector('#workers .main-svg') !== null"), "the timeline")
    # the latest MAX_RUNS of a longer history: the page's own note, from a stand-in answer
    note = browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const runs = Array.from({length: 1234}, (_, i) => ({trial_id: i, slot: 0, start: i,
          end: i + 1, outcome: "completed"}));
        window.chartData = async () => ({runs, total_runs: 5000, slots: 1, utilization: null,
                                         unchanged: false, now: 1235});
        pageWorkers("mo@a.db").then(() => done(
          document.getElementById("workers-note").textContent));
    """)
    assert note.startswith("the latest 1,234 of 5,000 runs")
