"""The dashboard's ledger page: the JSON API equals ``rung ledger``'s fold (TestClient), and the
page renders in headless Chromium without console errors, with the study's numbers."""

from __future__ import annotations

import json
import math
import shutil
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from dashhelp import start_dashboard

import rung

pytest.importorskip("starlette")


class _Bench:
    max_step = 9

    def evaluate(self, params: dict[str, float], step: int) -> tuple[dict[str, float], float]:
        return {"loss": params["x"] + 1.0 / step}, 30.0


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ledger") / "cost.db"
    study = rung.Study.create(
        "cost", {"x": rung.Float(0.0, 1.0)}, objective="loss", searcher="random",
        scheduler=rung.ASHA(reduction_factor=3), max_step=9,
        budget=rung.Budget(max_cost=2.0), prices={"gpu": 2.0},
        resources_per_trial={"cpu": 2, "gpu": 1}, storage=path, seed=3,
    )
    study.simulate(_Bench(), n_workers=3)
    study.close()
    # a second study that the stop rule ended: a flat objective, told one trial at a time
    flat = rung.Study.create(
        "flat", {"x": rung.Float(0.0, 1.0)}, objective="loss", searcher="random",
        scheduler="fifo", budget=rung.Budget(n_trials=200, stop=rung.StopRule()),
        storage=path, seed=3,
    )
    i = 0
    while (t := flat.ask()) is not None:
        flat.tell(t.id, "completed", {"loss": 1.0 + 0.01 * math.sin(1006.3 * i)})
        i += 1
    assert flat.engine.stopped is not None
    flat.close()
    return path


def test_api_equals_the_fold(db: Path) -> None:
    from starlette.testclient import TestClient

    from rung.dashboard.app import create_app

    client = TestClient(create_app(db))
    got = client.get("/api/study/cost/ledger").json()
    led = rung.Study.load("cost", str(db), readonly=True).ledger()
    assert got["total"]["cost"] == pytest.approx(led.total.cost)
    assert got["total"]["steps"] == led.total.steps
    assert got["budget"]["max_cost"] == 2.0 and got["budget"]["cost"] >= 2.0
    assert got["incumbent"][0]["cost_per_unit"] is None  # inf is sent as null
    assert set(got["by_outcome"]) == set(led.by_outcome)
    assert client.get("/api/study/nope/ledger").status_code == 404
    page = client.get("/ledger")
    assert page.status_code == 200 and 'id="ledger-outcomes"' in page.text
    assert '/ledger' in client.get("/").text  # the link from the main page
    assert client.get("/static/ledger.js").status_code == 200


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                    reason="needs Debian's chromium and chromium-driver")
def test_ledger_page_in_a_browser(db: Path, tmp_path: Path, browser: Any) -> None:
    pytest.importorskip("uvicorn")

    dash, base = start_dashboard(db)
    driver = browser  # tests/dashboard/conftest.py
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(base + "/api/study/cost/ledger", timeout=2) as r:
                    expected = json.load(r)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        driver.get(base + "/ledger?study=cost")

        def rows() -> list[str]:
            return list(driver.execute_script(
                "return [...document.querySelectorAll('#ledger-outcomes tbody tr')]"
                ".map(e => e.textContent)"))

        deadline = time.monotonic() + 30
        while not any(r.startswith("total") for r in rows()):
            assert time.monotonic() < deadline, "the ledger table never filled"
            time.sleep(0.2)
        total = next(r for r in rows() if r.startswith("total"))
        assert str(expected["total"]["steps"]) in total
        summary = driver.execute_script(
            "return document.getElementById('ledger-summary').textContent")
        assert f"{expected['trials']} trials" in summary and "gpu 2/h" in summary
        budget = driver.execute_script(
            "return document.getElementById('ledger-budget').textContent")
        assert "max_cost 2.000" in budget
        assert driver.execute_script(
            "return document.querySelectorAll('#ledger-incumbent .main-svg').length") > 0
        driver.save_screenshot(str(tmp_path / "ledger.png"))
        # the stop rule's verdict is shown with its reason and every number of its evidence
        driver.get(base + "/ledger?study=flat")
        deadline = time.monotonic() + 30
        stopped = ""
        while "evidence: " not in stopped:
            assert time.monotonic() < deadline, f"no stop-rule evidence shown: {stopped!r}"
            time.sleep(0.2)
            stopped = str(driver.execute_script(
                "return document.getElementById('ledger-stopped').textContent"))
        assert stopped.startswith("Stopped by the stop rule: regret bound ")
        assert "regret_bound=" in stopped and "threshold=" in stopped
        severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert severe == []
    finally:
        dash.terminate()
        dash.wait(10)
