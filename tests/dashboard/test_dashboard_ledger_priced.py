"""The ledger page's data says whether money measures the study (``priced``) by the rule
``rung ledger`` follows (``Ledger.priced``): prices that charge none of what the trials held
(prices for GPUs, trials on CPUs) make every amount 0, and both then speak in device-hours.
The page decided by the prices alone and showed a saving of 0 money."""

from __future__ import annotations

import json
import re
import shutil
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from dashhelp import start_dashboard

import rung
from rung.cli.ledger import render
from rung.dashboard import ledger as L


class _Bench:
    max_step = 9

    def evaluate(self, params: dict[str, float], step: int) -> tuple[dict[str, float], float]:
        return {"loss": params["x"] + 1.0 / step}, 30.0


def _study(path: Path, name: str, run: bool = True, **cost: object) -> rung.Study:
    study = rung.Study.create(name, {"x": rung.Float(0.0, 1.0)}, objective="loss",
                              searcher="random", scheduler=rung.ASHA(reduction_factor=3),
                              max_step=9, budget=rung.Budget(n_trials=9), storage=path, seed=3,
                              **cost)  # type: ignore[arg-type]
    if run:
        study.simulate(_Bench(), n_workers=3)
    return study


@pytest.mark.parametrize(("name", "cost", "run", "priced"), [
    ("gpu_prices_cpu_trials", {"prices": {"gpu": 2.0}, "resources_per_trial": {"cpu": 2}},
     True, False),
    ("no_prices", {}, True, False),
    ("gpu_prices_gpu_trials", {"prices": {"gpu": 2.0},
                               "resources_per_trial": {"cpu": 2, "gpu": 1}}, True, True),
    ("nothing_ran_yet", {"prices": {"cpu": 0.5}}, False, True),
])
def test_the_page_data_says_priced_as_rung_ledger_decides(
    tmp_path: Path, name: str, cost: dict[str, object], run: bool, priced: bool
) -> None:
    db = tmp_path / "cost.db"
    study = _study(db, name, run, **cost)
    led = study.ledger()
    study.close()
    L._CACHE.clear()
    got = L.ledger_view(db, name)
    assert got["priced"] is priced
    assert led.priced is priced and led.to_json()["priced"] is priced
    text = render(led, name)
    saving = next(ln for ln in text.splitlines() if ln.startswith("trained to max_step"))
    if priced:
        assert " would have cost " in saving
    else:
        assert " would have taken " in saving and saving.count("device-h") == 2


def test_prices_that_charge_nothing_held_leave_money_at_0_and_say_so(tmp_path: Path) -> None:
    db = tmp_path / "cost.db"
    _study(db, "cpu", prices={"gpu": 2.0}, resources_per_trial={"cpu": 2}).close()
    L._CACHE.clear()
    got = L.ledger_view(db, "cpu")
    assert got["prices"] == {"gpu": 2.0}
    assert got["total"]["cost"] == 0.0 and got["total"]["device_hours"] > 0.0
    assert got["full_cost"] == 0.0 and got["saving"] == 0.0  # what the page showed as money
    assert got["priced"] is False
    assert got["notes"] == ["prices {'gpu': 2.0} charge none of what the trials held (cpu): "
                            "money is 0 (device-hours are measured)"]


# rung ledger's lines in device-hours (money does not measure the study) and in money
_SAVED_DH = re.compile(r"would have taken ([\d.]+) device-h: the scheduler saved ([\d.]+) "
                       r"device-h \(([\d.]+)%\)$")
_SAVED_MONEY = re.compile(r"would have cost ([\d.,]+) \([\d.]+ device-h\): the scheduler saved "
                          r"([\d.,]+) \(([\d.]+)%\)$")
_IMPROVED = re.compile(r"^  trial +(\d+): \S+ after .*, (?:first|([\d.e+-]+) (device-h )?per "
                       r"unit)$")


def _cli_per_unit(text: str) -> list[tuple[int, float | None]]:
    """(trial, cost or device-hours per unit; None for the first) of rung ledger's incumbent."""
    out = []
    for ln in text.splitlines():
        m = _IMPROVED.match(ln)
        if m:
            out.append((int(m[1]), None if m[2] is None else float(m[2])))
    return out


def test_the_page_data_carries_rung_ledgers_device_hour_figures(tmp_path: Path) -> None:
    db = tmp_path / "cost.db"
    study = _study(db, "cpu", prices={"gpu": 2.0}, resources_per_trial={"cpu": 2})
    text = render(study.ledger(), "cpu")
    study.close()
    L._CACHE.clear()
    got = L.ledger_view(db, "cpu")
    saving = next(ln for ln in text.splitlines() if ln.startswith("trained to max_step"))
    m = _SAVED_DH.search(saving)
    assert m is not None, saving
    assert got["saving_device_hours"] == pytest.approx(float(m[2]), abs=5e-5)
    assert got["saving_device_hours"] == pytest.approx(
        got["full_device_hours"] - got["total"]["device_hours"])
    cli = _cli_per_unit(text)
    assert len(cli) == len(got["incumbent"]) >= 2
    assert cli[0][1] is None and got["incumbent"][0]["device_hours_per_unit"] is None
    for (tid, per), i in zip(cli, got["incumbent"], strict=True):
        assert i["trial_id"] == tid
        if per is not None:
            assert i["device_hours_per_unit"] == pytest.approx(per, rel=1e-3)


def _page(driver: Any, base: str, name: str) -> dict[str, Any]:
    """The ledger page of study ``name`` once its table is drawn: its texts and the incumbent's
    trace."""
    driver.get(base + f"/ledger?study={name}")
    deadline = time.monotonic() + 30
    while True:
        page: dict[str, Any] = driver.execute_script(
            "const t = (id) => document.getElementById(id).textContent;"
            "const chart = document.getElementById('ledger-incumbent');"
            "return {head: [...document.querySelectorAll('#ledger-outcomes thead th')]"
            "  .map(e => e.textContent),"
            " rows: [...document.querySelectorAll('#ledger-outcomes tbody tr')]"
            "  .map(r => [...r.querySelectorAll('td')].map(e => e.textContent)),"
            " summary: t('ledger-summary'), saving: t('ledger-saving'),"
            " axis: chart.layout ? chart.layout.xaxis.title.text : null,"
            " x: chart.data ? chart.data[0].x : null, text: chart.data ? chart.data[0].text : null}")
        if any(r and r[0] == "total" for r in page["rows"]) and page["text"] is not None:
            return page
        assert time.monotonic() < deadline, f"the ledger page of {name} never filled"
        time.sleep(0.2)


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.mark.slow  # a browser and a dashboard server
@pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                    reason="needs Debian's chromium and chromium-driver")
def test_the_page_speaks_in_device_hours_unless_priced(tmp_path: Path, browser: Any) -> None:
    """GPU prices, CPU trials: the page shows rung ledger's device-hour figures and no money
    (it showed a cost of 0 everywhere); GPU prices, GPU trials: it shows money as before."""
    pytest.importorskip("starlette")
    pytest.importorskip("uvicorn")
    db = tmp_path / "cost.db"
    texts = {}
    for name, resources in (("cpu", {"cpu": 2}), ("gpu", {"cpu": 2, "gpu": 1})):
        study = _study(db, name, prices={"gpu": 2.0}, resources_per_trial=resources)
        texts[name] = render(study.ledger(), name)
        study.close()
    dash, base = start_dashboard(db)
    try:
        deadline = time.monotonic() + 30
        data = {}
        for name in texts:
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/api/study/{name}/ledger",
                                                timeout=2) as r:
                        data[name] = json.load(r)
                    break
                except OSError:
                    assert time.monotonic() < deadline, "the dashboard never answered"
                    time.sleep(0.2)
        assert data["cpu"]["priced"] is False and data["gpu"]["priced"] is True

        # not priced: device-hours where the page showed money, rung ledger's figures
        page = _page(browser, base, "cpu")
        cli = texts["cpu"].splitlines()
        assert page["head"] == ["outcome", "runs", "steps", "device-hours", "GPU-hours"]
        assert all(len(r) == 5 for r in page["rows"])
        cli_rows = {ln.split()[0]: ln.split() for ln in cli[3:] if ln.split()
                    and ln.split()[0] in ("completed", "stopped", "total")}
        assert {r[0] for r in page["rows"]} == set(cli_rows)
        for r in page["rows"]:  # runs, steps and device-hours as rung ledger's table
            assert r[1:3] == cli_rows[r[0]][1:3]
            assert float(r[3]) == pytest.approx(float(cli_rows[r[0]][3]), abs=5e-5)
        total_dh = float(cli_rows["total"][3])
        assert "cost" not in page["summary"] and " device-hours; prices: gpu 2/h" in \
            page["summary"]
        assert float(page["summary"].split("runs; total ")[1].split()[0]) == pytest.approx(
            total_dh, abs=5e-5)
        m = _SAVED_DH.search(next(ln for ln in cli if ln.startswith("trained to max_step")))
        assert m is not None
        got = re.search(r"^Trained to max_step, the same trials would have taken ([\d.]+) "
                        r"device-hours: the scheduler saved ([\d.]+) device-hours \(([\d.]+)%\)"
                        r"\. Utilization [\d.]+%, idle [\d.]+ worker-hours; checkpoints took "
                        r"[\d.]+ s\.$", page["saving"])
        assert got is not None, page["saving"]
        assert float(got[1]) == pytest.approx(float(m[1]), abs=5e-5)
        assert float(got[2]) == pytest.approx(float(m[2]), abs=5e-5)
        assert got[3] == m[3]
        assert "cost" not in page["saving"]
        assert page["axis"] == "device-hours spent"
        incumbent = data["cpu"]["incumbent"]
        assert page["x"] == [i["device_hours"] for i in incumbent] + [
            data["cpu"]["total"]["device_hours"]]
        per_unit = _cli_per_unit(texts["cpu"])
        assert len(per_unit) == len(incumbent) >= 2 and page["text"][-1] == "spent so far"
        for (tid, per), shown in zip(per_unit, page["text"][:-1], strict=True):
            if per is None:
                assert shown == f"trial {tid}, first"
            else:
                head, _, tail = shown.partition(", ")
                assert head == f"trial {tid}" and tail.endswith(" device-hours per unit")
                assert float(tail.split()[0]) == pytest.approx(per, rel=1e-3)

        # priced: money, as before, with rung ledger's figures
        page = _page(browser, base, "gpu")
        cli = texts["gpu"].splitlines()
        assert page["head"] == ["outcome", "runs", "steps", "device-hours", "GPU-hours", "cost"]
        total = next(r for r in page["rows"] if r[0] == "total")
        assert float(total[5]) == pytest.approx(data["gpu"]["total"]["cost"], rel=1e-3) and \
            float(total[5]) > 0
        assert page["summary"].startswith(f"9 trials, 9 runs; total cost {total[5]} (")
        m = _SAVED_MONEY.search(next(ln for ln in cli if ln.startswith("trained to max_step")))
        assert m is not None
        got = re.search(r"^Trained to max_step, the same trials would have cost ([\d.]+): the "
                        r"scheduler saved ([\d.]+) \(([\d.]+)% of the device-hours\)\..* "
                        r"checkpoints took [\d.]+ s \(cost [\d.]+\)\.$", page["saving"])
        assert got is not None, page["saving"]
        assert float(got[1]) == pytest.approx(float(m[1]), abs=0.005)
        assert float(got[2]) == pytest.approx(float(m[2]), abs=0.005)
        assert got[3] == m[3]
        assert page["axis"] == "cost spent"
        per_unit = _cli_per_unit(texts["gpu"])
        for (tid, per), shown in zip(per_unit, page["text"][:-1], strict=True):
            if per is None:
                assert shown == f"trial {tid}, first"
            else:
                assert shown.startswith(f"trial {tid}, ") and shown.endswith(" per unit")
                assert "device-hours" not in shown
                assert float(shown.split(", ")[1].split()[0]) == pytest.approx(per, abs=0.005)
        severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert severe == []
    finally:
        dash.terminate()
        dash.wait(10)
