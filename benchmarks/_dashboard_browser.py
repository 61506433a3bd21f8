"""The browser half of ``bench_dashboard.py``: a page's time to draw in headless Chromium.

``browser`` starts Chromium through Selenium (Debian's ``chromium`` and ``chromedriver``);
``time_browser`` times each page from navigation (a fresh document) until its readiness test
holds, ``TIMEOUT`` seconds at most (``inf`` then, and the browser is replaced);
``rung_browser_pages`` and ``optuna_browser_pages`` name each dashboard's pages and what shows
them drawn (``css``: an element matching a selector, holding a text).
"""

from __future__ import annotations

import math
import shutil
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: seconds a browser page gets to draw (a page that takes longer is reported as "> TIMEOUT")
TIMEOUT = 60.0


def browser() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1500,1000"):
        opts.add_argument(a)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
    driver.set_page_load_timeout(TIMEOUT)
    driver.set_script_timeout(5)
    return driver


def time_browser(make: Callable[[], Any], base: str,
                 pages: dict[str, tuple[str, Callable[[Any], bool]]], repeats: int,
                 shots: Path | None) -> dict[str, Any]:
    """Seconds from navigation (a fresh document) until ``ready(driver)``. A page not drawn
    within ``TIMEOUT`` is timed once and its browser replaced (a renderer busy parsing 100 MB
    of JSON answers nothing, not even a script)."""
    out: dict[str, Any] = {}
    driver = make()
    try:
        for page, (url, ready) in pages.items():
            runs = []
            for k in range(repeats):
                driver.get("about:blank")
                t = time.perf_counter()
                drawn = False
                try:
                    driver.get(base + url)
                    while time.perf_counter() < t + TIMEOUT:
                        if ready(driver):
                            drawn = True
                            break
                        time.sleep(0.01)
                except Exception:  # a page load or a script timing out: not drawn
                    pass
                runs.append(time.perf_counter() - t if drawn else math.inf)
                if not drawn:
                    driver.quit()
                    driver = make()
                    break
                if k == 0 and shots is not None:
                    driver.save_screenshot(str(shots / f"{page.split()[0]}.png"))
            out[page] = {"median": statistics.median(runs), "max": max(runs)}
    finally:
        driver.quit()
    return out


def css(sel: str, text: str | None = None) -> Callable[[Any], bool]:
    """Ready once an element matches ``sel`` (and, if given, some such element's text holds
    ``text``)."""
    def ready(driver: Any) -> bool:
        return bool(driver.execute_script(
            "const els = [...document.querySelectorAll(arguments[0])];"
            "return els.length > 0 && (arguments[1] === null || "
            "els.some(e => e.textContent.includes(arguments[1])));", sel, text))
    return ready


def rung_browser_pages(name: str) -> dict[str, tuple[str, Callable[[Any], bool]]]:
    """rung dashboard's pages of study ``name``, each with what shows it drawn."""
    s = f"/#/study/{name}"
    return {
        "studies": ("/#/", css("#studies-table a")),
        "overview": (s, css("#n-trials")),
        "trials": (s + "/trials", css("#trials-table tbody tr")),
        "curves": (s + "/curves", css("#curves .main-svg")),
        "parallel": (s + "/parallel", css("#parallel .main-svg")),
        "workers": (s + "/workers", css("#workers .main-svg")),
    }


def optuna_browser_pages(n_trials: int) -> dict[str, tuple[str, Callable[[Any], bool]]]:
    """optuna-dashboard's pages of its first study (``n_trials`` trials), each with what
    shows it drawn."""
    s = "/dashboard/studies/0"
    return {
        "studies": ("/dashboard", css("a[href*='/dashboard/studies/0']")),
        "study (history)": (s, css(".js-plotly-plot .main-svg .scatterlayer .trace")),
        "analytics": (s + "/analytics", css(".js-plotly-plot .main-svg .scatterlayer .trace")),
        "trial list": (s + "/trials", css("body", f"{n_trials} Trials")),
        "trial table": (s + "/trialTable", css("table tbody tr td")),
    }


__all__ = [
    "TIMEOUT", "browser", "css", "optuna_browser_pages", "rung_browser_pages", "time_browser",
]
