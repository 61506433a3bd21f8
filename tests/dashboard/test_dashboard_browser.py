"""`rung dashboard` in a real headless Chromium (Debian's chromium + chromedriver, driven by
Selenium) against a study that a second process is running: every page loads without console
errors, the trials table grows, a trial's decision reasons are visible, and a screenshot of
each page is written (the folder is printed; set RUNG_SCREENSHOTS to choose it)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

import rung

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
webdriver = pytest.importorskip("selenium.webdriver")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="needs Debian's chromium and chromium-driver (apt-get install -y chromium "
           "chromium-driver)")

LIVE = textwrap.dedent("""
    import sys, time
    import rung
    s = rung.Study.create("live", {"lr": rung.Float(1e-4, 1e-1, log=True),
                                   "opt": rung.Categorical(["adam", "sgd"])},
                          objective="loss", searcher="random",
                          scheduler=rung.ASHA(reduction_factor=2), max_step=4,
                          budget=rung.Budget(n_trials=5000), seed=0, storage=sys.argv[1])
    print("ready", flush=True)
    while (t := s.ask()) is not None:
        x = t.params["lr"] * (2 if t.params["opt"] == "sgd" else 1)
        for step in range(1, 5):
            d = s.report(t.id, step, {"loss": x + 1 / step})
            time.sleep(0.04)
            if d.action.value != "continue":
                s.tell(t.id, "stopped")
                break
        else:
            s.tell(t.id, "completed")
""")


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(cond, timeout: float = 30.0, what: str = "") -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def shots() -> Path:
    d = Path(os.environ.get("RUNG_SCREENSHOTS")
             or Path(tempfile.gettempdir()) / "rung-dashboard-screenshots")
    d.mkdir(parents=True, exist_ok=True)
    return d


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("dash")
    mo = rung.Study.create("pareto", {"x": rung.Float(0, 1), "y": rung.Float(0, 1)},
                           objective=["a", "b"], searcher="random", scheduler="fifo",
                           budget=rung.Budget(n_trials=40), seed=2, storage=root / "mo.db")
    while (t := mo.ask()) is not None:
        mo.tell(t.id, "completed", {"a": t.params["x"], "b": (1 - t.params["x"]) ** 2 + t.params["y"]})
    mo.close()
    run = subprocess.Popen([sys.executable, "-c", LIVE, str(root / "live.db")],
                           stdout=subprocess.PIPE, text=True)
    port = _port()
    dash = subprocess.Popen([sys.executable, "-m", "rung.cli", "dashboard", "--storage",
                             str(root), "--port", str(port), "--interval", "0.5"])
    base = f"http://127.0.0.1:{port}/"
    try:
        assert run.stdout is not None and run.stdout.readline().strip() == "ready"

        def up() -> bool:
            try:
                with urllib.request.urlopen(base + "api/studies", timeout=2) as r:
                    return len(json.load(r)["studies"]) == 2
            except OSError:
                return False

        _wait(up, 30, "the dashboard to serve")
        yield base
        assert run.poll() is None, "the study ended before the browser tests did"
    finally:
        dash.terminate()
        run.kill()
        dash.wait(10)
        run.wait(10)


def _errors(driver) -> list:  # type: ignore[no-untyped-def]
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def _css(driver, sel: str) -> list:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, sel)


def _text(driver, sel: str) -> str:  # type: ignore[no-untyped-def]
    """The rendered text of the first element ``sel`` matches, read in one script: the pages
    redraw while the run goes on, so an element handle found first may be stale when read."""
    text = driver.execute_script(
        "const e = document.querySelector(arguments[0]); return e ? e.innerText : null", sel)
    assert text is not None, f"no {sel} on the page"
    return str(text)


def _visit(driver, url: str, ready: str, shots: Path, name: str,  # type: ignore[no-untyped-def]
           capsys: pytest.CaptureFixture[str]) -> None:
    driver.get(url)
    _wait(lambda: len(_css(driver, ready)) > 0, 30, f"{ready} on {url}")
    time.sleep(0.8)  # a refresh or two
    out = shots / f"{name}.png"
    driver.save_screenshot(str(out))
    with capsys.disabled():
        print(f"\n[dashboard screenshot] {out}")
    assert _errors(driver) == [], f"console errors on {url}"


def test_every_page_renders_without_console_errors(
    server: str, browser, shots: Path, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    d = browser
    _visit(d, server + "#/", "#studies-table a[href*='live']", shots, "studies", capsys)
    assert "live" in _text(d, "#studies-table")
    pages = [("overview", "live", "", "#n-trials"),
             ("trials", "live", "/trials", "#trials-table tbody tr"),
             ("curves", "live", "/curves", "#curves .main-svg"),
             ("parallel", "live", "/parallel", "#parallel .main-svg"),
             ("pareto", "pareto", "/pareto", "#pareto .main-svg"),
             ("workers", "live", "/workers", "#workers .main-svg")]
    for name, study, page, ready in pages:
        _visit(d, f"{server}#/study/{study}{page}", ready, shots, name, capsys)
        if name == "pareto":
            assert "non-dominated" in _text(d, "#pareto-note")
        if name == "workers":
            assert "on 1 worker slot, " in _text(d, "#workers-note")
        if name == "curves":  # what the chart draws of the trials, in words
            assert "showing all" in _text(d, "#curves-note")
        if name == "parallel":
            assert "showing all" in _text(d, "#par-note")
            assert _css(d, "#parallel .scatterlayer .trace")  # SVG polylines, no WebGL
    with capsys.disabled():
        print(f"[dashboard screenshots] written under {shots}")


def test_trials_table_grows_and_shows_reasons(
    server: str, browser, shots: Path, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    d = browser
    _visit(d, server + "#/study/live/trials", "#trials-table tbody tr", shots, "trials-live",
           capsys)
    # read and click through JavaScript: the table is re-rendered while the run goes on, so a
    # Selenium element handle may go stale between finding it and using it
    def texts(sel: str) -> list[str]:
        return list(d.execute_script(
            "return [...document.querySelectorAll(arguments[0])].map(e => e.textContent)", sel))

    def total() -> int:  # "1-200 of 431 trials" (an en dash): the table is paged by the server
        count = texts("#count")[0]
        return int(count.split(" of ")[1].split()[0].replace(",", ""))

    first = total()
    _wait(lambda: total() > first, 30, "the table to grow")
    # the table takes the page's width while no trial is selected
    widths = d.execute_script("return [document.querySelector('#trials-table')"
                              ".getBoundingClientRect().width, document.querySelector('main')"
                              ".clientWidth]")
    assert widths[0] >= 0.9 * widths[1] - 40, widths
    # the reasons are in the table, and in a trial's decision history
    cells = texts("#trials-table td.reason")
    assert any("not in the top" in c for c in cells), cells[:5]
    _css(d, "#filter")[0].send_keys("stopped")
    _wait(lambda: all("stopped" in r for r in texts("#trials-table tbody tr")), 10, "the filter")
    d.execute_script("document.querySelector('#trials-table tbody tr').click()")
    _wait(lambda: any("not in the top" in c for c in texts("#decisions td.reason")), 10,
          "the decision history")
    assert _css(d, "#trial-curve .main-svg")
    # sorting by a column header
    d.execute_script("document.querySelector('#trials-table th[data-col=value]').click()")
    _wait(lambda: bool(d.execute_script(
        "return document.querySelector('#trials-table th[data-col=value]')"
        ".classList.contains('sorted')")), 10, "the sort")
    time.sleep(0.8)
    d.save_screenshot(str(shots / "trial-detail.png"))
    with capsys.disabled():
        print(f"[dashboard screenshot] {shots / 'trial-detail.png'}")
    assert _errors(d) == []
