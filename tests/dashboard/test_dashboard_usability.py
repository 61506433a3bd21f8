"""`rung dashboard` in headless Chromium as a demanding user meets it: a parameter's name never
becomes markup (in the table's attributes or the charts' texts), a log parameter's axis is
labelled in its own values, a trial's decisions have an address and are one click from every
chart and from the keyboard, one study's table state does not leak into another's, and the
ledger's charts name their axes (in device-hours when the study has no prices).

Slow (a browser and a server): ``python -m pytest -m slow tests/dashboard``."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from dashhelp import run_to_the_end

import rung

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
webdriver = pytest.importorskip("selenium.webdriver")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                       reason="needs Debian's chromium and chromium-driver"),
]

#: a parameter name that is markup if written into an attribute unescaped
HOSTILE = 'p"><img src=x onerror="window.__pwned=1">'
#: a categorical choice and a parameter name Plotly would show as "&quot;" if HTML-escaped
QUOTED = "say \"hi\" & 'bye'"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("usable")
    space = {HOSTILE: rung.Float(0, 1), QUOTED: rung.Categorical(["<b>x</b>", 'a"b']),
             "lr": rung.Float(1e-4, 1e-1, log=True)}
    s = rung.Study.create("hostile", space, objective=rung.Objective("acc", "max"),
                          searcher="random", scheduler=rung.ASHA(reduction_factor=2),
                          max_step=4, budget=rung.Budget(n_trials=24), seed=0,
                          storage=root / "a.db")
    run_to_the_end(s, 4, lambda t, step: {"acc": t.params[HOSTILE] * t.params["lr"] * step})
    s.close()
    other = rung.Study.create("small", {"x": rung.Float(0, 1)}, searcher="random",
                              scheduler="fifo", budget=rung.Budget(n_trials=3), seed=0,
                              storage=root / "b.db")
    while (t := other.ask()) is not None:
        other.tell(t.id, "completed", {"loss": t.params["x"]})
    other.close()
    tri = rung.Study.create("tri", {"x": rung.Float(0, 1), "y": rung.Float(0, 1)},
                            objective=["a", "b", "c"], searcher="random", scheduler="fifo",
                            budget=rung.Budget(n_trials=10), seed=0, storage=root / "c.db")
    while (t := tri.ask()) is not None:
        tri.tell(t.id, "completed", {"a": t.params["x"], "b": 1 - t.params["x"],
                                     "c": t.params["y"]})
    tri.close()
    from rung.benchmarks import get_benchmark

    b = get_benchmark("mf-hartmann3")
    pbt = rung.Study.create("pbt", b.space, objective=rung.Objective(b.metric, b.mode),
                            searcher="random", scheduler="pbt", max_step=b.max_step,
                            budget=rung.Budget(n_trials=40), seed=0, storage=root / "d.db")
    pbt.simulate(b, n_workers=8)
    pbt.close()
    div = rung.Study.create("diverged", {"x": rung.Float(0, 1)}, searcher="random",
                            scheduler="fifo", max_step=3, budget=rung.Budget(n_trials=20),
                            seed=0, storage=root / "e.db")
    while (t := div.ask()) is not None:  # trial 5 diverges: its loss is 1e6 at every step
        for step in (1, 2, 3):
            div.report(t.id, step, {"loss": 1e6 if t.id == 5 else t.params["x"] + 1 / step})
        div.tell(t.id, "completed")
    div.close()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    dash = subprocess.Popen([sys.executable, "-m", "rung.cli", "dashboard", "--storage",
                             str(root), "--port", str(port), "--interval", "0.5"],
                            env={**os.environ,
                                 "RUNG_DASHBOARD_CACHE": str(root / "cache")})
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "api/studies", timeout=2) as r:
                    if len(json.load(r)["studies"]) == 5:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the dashboard did not start"
            time.sleep(0.2)
        yield url
    finally:
        dash.terminate()
        dash.wait(10)


def _open(driver: Any, url: str) -> None:
    """Load ``url`` as a fresh page: a URL that differs from the open one only in its hash
    would keep the page (and, for a moment, what the last test left on it)."""
    driver.get("about:blank")
    driver.get(url)


def _until(driver: Any, js: str, what: str, timeout: float = 20.0) -> Any:
    """The first truthy value of ``js`` (a script's ``return``), polled."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = driver.execute_script(js)
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_user_strings_stay_text(base: str, browser: Any) -> None:
    d = browser
    _open(d, base + "#/study/hostile/trials")
    cols = _until(d, "const t = document.querySelectorAll('#trials-table th');"
                     "return t.length && [...t].map((th) => th.dataset.col)", "the table")
    assert f"params_{HOSTILE}" in cols and f"params_{QUOTED}" in cols
    heads = d.execute_script("return [...document.querySelectorAll('#trials-table th')]"
                             ".map((th) => th.textContent)")
    assert HOSTILE in heads
    assert d.execute_script("return document.querySelectorAll('main img').length") == 0
    assert d.execute_script("return window.__pwned === undefined")
    # the parallel-coordinates axes: the names as they are, no entity shown
    _open(d, base + "#/study/hostile/parallel")
    labels = _until(d, "const a = document.querySelectorAll('#parallel .annotation-text');"
                       "return a.length && [...a].map((e) => e.textContent)", "the axes")
    # (a long name is cut with an ellipsis, its whole text on hover)
    def shown(name: str) -> bool:
        return any(x == name or (x.endswith("…") and name.startswith(x[:-1])) for x in labels)

    assert shown(HOSTILE) and shown(QUOTED) and 'a"b' in labels and "<b>x</b>" in labels
    assert not any("&quot;" in x or "&#" in x for x in labels), labels
    assert d.execute_script("return window.__pwned === undefined")


def test_log_parameter_axis_is_labelled_in_its_values(base: str, browser: Any) -> None:
    d = browser
    _open(d, base + "#/study/hostile/parallel")
    labels = _until(d, "const a = document.querySelectorAll('#parallel .annotation-text');"
                       "return a.length && [...a].map((e) => e.textContent)", "the axes")
    assert "lr (log scale)" in labels
    with urllib.request.urlopen(base + "api/study/hostile/parallel") as r:
        lrs = json.load(r)["columns"]["lr"]
    i = labels.index("lr (log scale)")
    ticks = [float(x) for x in labels[i + 1:i + 4]]  # its three tick labels follow its name
    assert ticks[0] == pytest.approx(min(lrs), rel=1e-3)
    assert ticks[2] == pytest.approx(max(lrs), rel=1e-3)
    assert ticks[1] == pytest.approx((min(lrs) * max(lrs)) ** 0.5, rel=1e-3)  # log midpoint


def test_a_trials_decisions_have_an_address_and_a_keyboard_path(base: str,
                                                                browser: Any) -> None:
    d = browser
    _open(d, base + "#/study/hostile/trials/5")
    _until(d, "const h = document.querySelector('#trial-title');"
              "return h && h.textContent.startsWith('trial 5:')", "trial 5's detail")
    assert _until(d, "return document.querySelectorAll('#decisions tbody tr').length",
                  "its decisions") >= 1
    assert d.execute_script("return document.querySelector('#trials-table tr.sel').dataset.id")\
        == "5"
    # the keyboard: a header sorts on Enter, a row opens its trial on Enter
    d.execute_script("const th = document.querySelector('#trials-table th[data-col=value]');"
                     "th.focus(); th.dispatchEvent(new KeyboardEvent('keydown',"
                     "{key: 'Enter', bubbles: true}))")
    _until(d, "return document.querySelector('#trials-table th[data-col=value]')"
              ".getAttribute('aria-sort') === 'ascending'", "the sort")
    assert d.execute_script("return document.activeElement.dataset.col") == "value"
    assert d.execute_script("return [...document.querySelectorAll('#trials-table tbody tr')]"
                            ".every((tr) => tr.tabIndex === 0)")
    first = d.execute_script("const tr = document.querySelector('#trials-table tbody tr');"
                             "tr.focus(); tr.dispatchEvent(new KeyboardEvent('keydown',"
                             "{key: 'Enter', bubbles: true})); return tr.dataset.id")
    _until(d, f"return location.hash === '#/study/hostile/trials/{first}'", "the address")
    _until(d, f"const h = document.querySelector('#trial-title');"
              f"return h && h.textContent.startsWith('trial {first}:')", "the row's detail")
    # another study's table starts afresh: no trial of the first one selected there
    d.get(base + "#/study/small/trials")  # the same page: only the address's hash changes
    _until(d, "return document.querySelectorAll('#trials-table tbody tr').length === 3",
           "the other study's table")
    time.sleep(1.2)  # two refreshes
    assert d.execute_script("return document.querySelector('#trial-title')") is None
    assert d.execute_script("return document.querySelector('#trials-table th.sorted')"
                            ".dataset.col") == "trial_id"
    assert not d.execute_script("return document.querySelector('#status').textContent"
                                ".startsWith('could not')")


def test_a_click_on_a_chart_opens_the_trial(base: str, browser: Any) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    d = browser
    for page in ("curves", "parallel", "workers"):
        _open(d, f"{base}#/study/hostile/{page}")
        _until(d, f"const g = document.getElementById('{page}');"
                  "return g && g._fullData && g._fullData.length", f"the {page} chart")
        # the pixel of the first trace's first point, relative to the chart's centre
        x, y, tid = d.execute_script(f"""
            const gd = document.getElementById('{page}'), fl = gd._fullLayout;
            const tr = gd._fullData[0];
            const i = tr.x.findIndex((v, k) => v !== null && tr.y[k] !== null);
            const r = gd.getBoundingClientRect();
            const X = fl.xaxis.l2p(fl.xaxis.d2l(tr.x[i])) + fl.xaxis._offset;
            const Y = fl.yaxis.l2p(fl.yaxis.d2l(tr.y[i])) + fl.yaxis._offset;
            return [X - r.width / 2, Y - r.height / 2, tr.customdata[i]];""")
        chart = d.find_element(By.ID, page)
        ActionChains(d).move_to_element_with_offset(chart, int(x), int(y)).pause(0.3)\
            .click().perform()
        # the trial under the pointer: that one, or one whose point lies as near (the
        # curves of several trials start close together)
        got = _until(d, "const m = location.hash.match(/^#\\/study\\/hostile\\/trials\\/(\\d+)$/);"
                        "return m && m[1]", f"a click on the {page} chart to open a trial")
        assert isinstance(tid, int) and got.isdigit()
        _until(d, f"const h = document.querySelector('#trial-title');"
                  f"return h && h.textContent.startsWith('trial {got}:')", "its detail")


def test_ledger_axes_say_what_they_measure(base: str, browser: Any) -> None:
    d = browser
    _open(d, base + "#/study/hostile")
    link = _until(d, "return document.getElementById('ledger-link').getAttribute('href')",
                  "the ledger link")
    assert link == "/ledger?study=hostile"
    _open(d, base.rstrip("/") + link)
    titles = _until(d, "const t = document.querySelectorAll('#ledger-incumbent .g-xtitle,"
                       " #ledger-incumbent .g-ytitle, #ledger-workers .g-ytitle');"
                       "return t.length === 3 && [...t].map((e) => e.textContent)",
                    "the ledger's axis titles", timeout=30)
    assert sorted(titles) == ["% busy", "device-hours spent",
                              "incumbent acc (higher is better)"]
    # a bar per worker slot, named as the worker timeline names its rows
    with urllib.request.urlopen(base + "api/study/hostile/ledger") as r:
        n_slots = len(json.load(r)["workers"])
    bars = d.execute_script("return document.getElementById('ledger-workers').data[0].x")
    assert n_slots >= 1 and bars == [f"slot {i}" for i in range(n_slots)]
    saving = d.execute_script("return document.getElementById('ledger-saving').textContent")
    assert "device-hours: the scheduler saved" in saving


def test_an_unknown_study_says_so_on_the_page(base: str, browser: Any) -> None:
    d = browser
    _open(d, base + "#/study/nope/curves")
    text = _until(d, "const e = document.getElementById('page-error');"
                     "return e && e.textContent", "the error")
    assert text == "no study named 'nope'"


def test_the_overview_links_the_best_trial(base: str, browser: Any) -> None:
    d = browser
    _open(d, base + "#/study/hostile")
    with urllib.request.urlopen(base + "api/study/hostile") as r:
        best = json.load(r)["best_trial"]
    href = _until(d, "const a = document.querySelector('#overview .card a');"
                     "return a && a.getAttribute('href')", "the best trial's link")
    assert href == f"#/study/hostile/trials/{best}"


def test_an_idle_page_is_left_alone_and_numbers_read_plainly(base: str, browser: Any) -> None:
    d = browser
    _open(d, base + "#/study/hostile")
    _until(d, "return document.getElementById('best-value')", "the overview")
    d.execute_script("document.getElementById('best-value').dataset.mark = 'kept'")
    time.sleep(1.5)  # three refreshes of a study that does not change
    assert d.execute_script("const b = document.getElementById('best-value');"
                            "return b && b.dataset.mark") == "kept"
    assert d.execute_script("return [fmt(12345.6), fmt(-12345.6), fmt(1234.56), fmt(123456.7),"
                            " fmt(0.5)]") == ["12346", "-12346", "1235", "1.235e+5", "0.5000"]


def test_pareto_note_says_the_front_is_over_every_objective(base: str, browser: Any) -> None:
    d = browser
    _open(d, base + "#/study/tri/pareto")
    note = _until(d, "const n = document.getElementById('pareto-note');"
                     "return n && n.textContent.includes('non-dominated') && n.textContent",
                  "the note")
    assert "; the front is over all 3 objectives (a, b, c), drawn in the first two; red: " in note


def test_a_fork_links_its_parent_whose_decisions_say_why(base: str, browser: Any) -> None:
    with urllib.request.urlopen(base + "api/study/pbt/trials?limit=1000") as r:
        rows = json.load(r)["rows"]
    child = parent = None
    for row in rows:
        with urllib.request.urlopen(f"{base}api/study/pbt/trial/{row['trial_id']}") as r:
            t = json.load(r)
        if t["parent_id"] is not None:
            child, parent = t["trial_id"], t["parent_id"]
            break
    assert child is not None, "PBT forked no trial"
    d = browser
    _open(d, f"{base}#/study/pbt/trials/{child}")
    href = _until(d, "const a = document.querySelector('#trial-parent a');"
                     "return a && a.getAttribute('href')", "the parent's link")
    assert href == f"#/study/pbt/trials/{parent}"
    d.execute_script("document.querySelector('#trial-parent a').click()")
    _until(d, f"const h = document.querySelector('#trial-title');"
              f"return h && h.textContent.startsWith('trial {parent}:')", "the parent's detail")
    reasons = _until(d, "const r = document.querySelectorAll('#decisions td.reason');"
                        "return r.length && [...r].map((e) => e.textContent)", "its decisions")
    assert all(reasons)


def test_a_finished_trial_without_decisions_is_not_waiting_for_one(base: str,
                                                                  browser: Any) -> None:
    d = browser
    _open(d, base + "#/study/small/trials/0")  # FIFO decides nothing on a told trial
    text = _until(d, "const c = document.querySelector('#decisions tbody td');"
                     "return c && c.textContent", "the decisions table")
    assert text == "none: no decision was made on its results"


@pytest.mark.parametrize("page", ["curves", "parallel", "workers", "pareto"])
def test_an_unchanged_chart_is_not_redrawn(base: str, browser: Any, page: str) -> None:
    d = browser
    study = "tri" if page == "pareto" else "hostile"
    _open(d, f"{base}#/study/{study}/{page}")
    _until(d, f"return document.querySelector('#{page} .main-svg')", f"the {page} chart")
    time.sleep(0.6)  # the first refresh after the first draw
    d.execute_script("window.__reacts = 0; const react = Plotly.react;"
                     "Plotly.react = function (...a) { window.__reacts++;"
                     " return react.apply(this, a); }")
    time.sleep(1.6)  # three refreshes of a finished study
    assert d.execute_script("return window.__reacts") == 0
    # another page and back: drawn again
    d.execute_script(f"location.hash = '#/study/{study}'")
    _until(d, "return document.getElementById('n-trials')", "the overview")
    d.execute_script(f"location.hash = '#/study/{study}/{page}'")
    _until(d, f"return document.querySelector('#{page} .main-svg')", f"the {page} chart again")
    assert d.execute_script("return window.__reacts") == 1


def test_curves_draw_completed_trials_last(base: str, browser: Any) -> None:
    d = browser
    _open(d, base + "#/study/hostile/curves")
    names = _until(d, "const g = document.getElementById('curves');"
                      "return g && g._fullData && g._fullData.map((t) => t.name)", "the chart")
    with urllib.request.urlopen(base + "api/study/hostile/curves") as r:
        first = json.load(r)["trials"][0]["status"]
    assert first == "completed"  # the first trial's status no longer decides the order
    assert names[:2] == ["stopped", "completed"], names


def test_curves_leave_a_diverged_trial_off_the_value_axis(base: str, browser: Any) -> None:
    """The page draws the range the API gives (``rung.bulk_range``) and says what it left out."""
    d = browser
    _open(d, base + "#/study/diverged/curves")
    y = _until(d, "const g = document.getElementById('curves');"
                  "return g && g.layout && g.layout.yaxis && g.layout.yaxis.range", "the chart")
    with urllib.request.urlopen(base + "api/study/diverged/curves") as r:
        vr = json.load(r)["value_range"]
    assert y == [vr["low"], vr["high"]] and vr["high"] < 10
    note = d.execute_script("return document.getElementById('curves-note').textContent")
    assert "; 3 results above the axis (worse than " in note


def test_the_open_page_is_marked_for_screen_readers(base: str, browser: Any) -> None:
    d = browser
    _open(d, base + "#/study/hostile/curves")
    current = _until(d, "const a = document.querySelectorAll('#nav [aria-current=page]');"
                        "return a.length && [...a].map((e) => e.textContent)", "the nav")
    assert current == ["learning curves"]


def test_a_multi_objective_best_says_which_objective(base: str, browser: Any) -> None:
    d = browser
    _open(d, base + "#/study/tri")
    card = _until(d, "const b = document.getElementById('best-value');"
                     "return b && b.parentElement.textContent", "the overview")
    assert card.startswith("best a (min), the first of 3 objectives (see the Pareto front)")


def test_no_console_errors(base: str, browser: Any) -> None:
    # after every page above: the console holds no error but the 404 of the unknown study
    errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert all("/api/study/nope" in m or "/trial/" in m for m in errors), errors


def test_worker_slots_are_listed_in_order(base: str, browser: Any) -> None:
    """The timeline's rows are slot 0, 1, 2, ... top to bottom, whatever order the runs of
    each outcome first use them in (they read 0, 3, 4, 5, 6, 1, 7, 2 on an 8-worker run)."""
    d = browser
    _open(d, base + "#/study/pbt/workers")
    cats = _until(d, "const g = document.getElementById('workers');"
                     "return g && g._fullLayout && g._fullLayout.yaxis._categories", "the chart")
    with urllib.request.urlopen(base + "api/study/pbt/workers") as r:
        slots = json.load(r)["slots"]
    assert slots == 8
    assert cats == [f"slot {i}" for i in range(slots)]
