"""The dashboard and plot blocks of ``docs/dashboard.md`` run as written, and the output they
show is what ``rung dashboard`` and the plot functions print (``test_docs_blocks.py`` lists
which blocks of each page are covered, and how).
"""

from __future__ import annotations

import re
import select
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import rung
from _docs_output import _cli, _flat
from doc_blocks import ROOT, blocks, fences


# --- the dashboard and plots ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def branin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory whose ``runs/branin.db`` holds the README's simulated study."""
    where = tmp_path_factory.mktemp("branin")
    (where / "branin.yaml").write_text(textwrap.dedent("""\
        name: branin
        executor: simulated
        benchmark: {name: mf-branin}
        searcher: tpe
        scheduler: {name: asha, params: {reduction_factor: 3}}
        budget: {n_trials: 200}
        n_workers: 8
    """))
    run = _cli("run", "branin.yaml", "--no-live", cwd=where)
    assert run.returncode == 0, run.stderr
    return where


@pytest.mark.slow
def test_dashboard_plot_blocks(branin: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from matplotlib.figure import Figure

    monkeypatch.chdir(branin)
    ns: dict[str, Any] = {}
    exec(blocks("dashboard")[0], ns)
    assert isinstance(ns["fig"], Figure)
    assert (branin / "curves.svg").read_text().lstrip().startswith("<?xml")
    assert (branin / "workers.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the `rung plot` block, and the mistakes the text names
    commands = [line.split("#")[0].split()[1:] for line in fences("dashboard")[3][1].splitlines()
                if line.startswith("rung plot")]
    assert len(commands) == 2
    for args in commands:
        r = _cli(*args, cwd=branin)
        assert r.returncode == 0, r.stderr
        out = branin / args[args.index("-o") + 1]
        assert out.stat().st_size > 1000
    text = _flat("dashboard")
    for args, message in (
        (["plot", "branin", "-o", "plot.jpg"],
         "rung: error: -o plot.jpg: write a .png, .svg, .pdf or .html file"),
        (["plot", "branin", "--kind", "pareto", "-o", "p.png"],
         "rung: error: study 'branin' has one objective: a Pareto front needs two or more "
         "(a spec's metric: [a, b], or rung.Study.create(objective=[...]))"),
    ):
        r = _cli(*args, cwd=branin)
        assert (r.returncode, r.stderr.strip()) == (2, message)
        assert f"`{message}`" in text, message
    # the two tables: every kind `rung plot` takes, and the function that draws each
    import rung.plot as rp

    page = (ROOT / "docs" / "dashboard.md").read_text()
    kinds = re.findall(r"^\| `([a-z]+)` \| ", page, re.M)
    functions = dict(re.findall(r"^\| `(\w+)\(study\)` \| `([a-z]+)` \|$", page, re.M))
    assert sorted(kinds) == sorted(rp.KINDS)
    assert {kind: f for f, kind in functions.items()} == {
        kind: f.__name__ for kind, f in rp.KINDS.items()}
    with pytest.raises(ValueError, match="^unknown plot kind 'nope': one of " +
                       ", ".join(rp.KINDS) + "$"):
        rp.plot(ns["study"], "nope")
    # .html: the figure as inline SVG, no scripts
    rp.save(ns["fig"], "curves.html")
    html = (branin / "curves.html").read_text()
    assert "<svg" in html and "<script" not in html


@pytest.mark.slow
def test_dashboard_from_python(branin: Path) -> None:
    """"From Python": the app over a directory serves the JSON addresses the page lists; the
    ledger's JSON says ``priced`` (false: the study has no prices), the overview's time is
    simulated time (every session ran on the simulated executor)."""
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from rung.dashboard import create_app

    text = _flat("dashboard")
    listed = re.findall(r"`((?:/api/|\.\.\./)[^`]+)`", text.split("### From Python")[1])
    assert listed[:2] == ["/api/studies", "/api/study/NAME"] and len(listed) == 9
    client = TestClient(create_app(branin / "runs"))
    for address in listed:
        address = address.replace(".../", "/api/study/NAME/").replace("NAME", "branin")
        address = address.replace("/ID", "/3").replace("=&", "=value&", 1)
        assert client.get(address).status_code == 200, address
    assert client.get("/api/study/branin/ledger").json()["priced"] is False
    assert client.get("/api/study/branin").json()["time_kind"] == "simulated"
    assert client.get("/ledger?study=branin").status_code == 200
    # the trials table: the reason in the page's form; the filter keeps the rows holding every
    # word ("`completed` keeps the completed trials")
    shape = (r"rank \d+/\d+ at rung \d+ \(step \d+\): not in the top 1/3 "
             r"\(cutoff loss=[\d.]+\)")
    assert re.search(f"`{shape}`", text)
    rows = client.get("/api/study/branin/trials?limit=200").json()["rows"]
    reasons = [r["reason"] for r in rows if r["status"] == "stopped"]
    assert reasons and all(re.fullmatch(shape, r) for r in reasons)
    for q in ("completed", "stopped"):
        found = client.get(f"/api/study/branin/trials?q={q}").json()
        assert found["matched"] == sum(r["status"] == q for r in rows) > 0
        assert found["total"] == 200


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[list[subprocess.Popen[str]]]:
    """The dashboards a test starts, interrupted (as Ctrl-C does) when it ends."""
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


@pytest.mark.slow
def test_dashboard_serves(tmp_path: Path, served: list[subprocess.Popen[str]]) -> None:
    """Each command of the first block (with ``--port 0``: any free port) prints the address
    to open, in the form the page shows."""
    study = rung.Study.create("mlp", {"x": rung.Float(0.0, 1.0)}, "loss",
                              storage=str(tmp_path / "runs" / "mlp.db"))
    t = study.ask()
    assert t is not None
    study.tell(t.id, "completed", {"loss": 0.5})
    study.close()
    shown = fences("dashboard")[1][1].strip()
    assert shown == ("rung: dashboard of the studies in runs at http://127.0.0.1:8080/ "
                     "(Ctrl-C to stop)")
    commands = [line.split("#")[0].split()[1:] for line in fences("dashboard")[0][1].splitlines()
                if line.startswith("rung dashboard")]
    assert commands == [["dashboard"], ["dashboard", "--storage", "runs/mlp.db"],
                        ["dashboard", "mlp", "--storage", "runs"]]
    for args in commands:
        p = subprocess.Popen([sys.executable, "-m", "rung", *args, "--port", "0"], cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        served.append(p)
        assert p.stdout is not None
        ready, _, _ = select.select([p.stdout], [], [], 120)
        assert ready, f"rung {' '.join(args)} printed nothing in 2 minutes"
        line = p.stdout.readline().strip()
        port = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert port is not None and port.group(1) != "0", line
        if args == ["dashboard"]:
            assert line == shown.replace(":8080/", f":{port.group(1)}/")
        else:
            assert line.startswith("rung: dashboard of ") and line.endswith(
                f" at http://127.0.0.1:{port.group(1)}/ (Ctrl-C to stop)")


@pytest.mark.slow
def test_dashboard_mistakes(tmp_path: Path) -> None:
    (tmp_path / "runs").mkdir()
    rung.Study.create("mlp", {"x": rung.Float(0.0, 1.0)}, "loss",
                      storage=str(tmp_path / "runs" / "mlp.db")).close()
    lines = fences("dashboard")[2][1].splitlines()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        for command, error in zip(lines[::2], lines[1::2], strict=True):
            assert command.startswith("$ rung dashboard")
            args = command[2:].split("#")[0].split()[1:]
            if "--port" in args:  # "while another server has it": this test's socket
                args[args.index("--port") + 1] = port
                error = error.replace("8080", port)
            r = _cli(*args, cwd=tmp_path, timeout=60)
            assert (r.returncode, r.stdout, r.stderr.strip()) == (2, "", error)
