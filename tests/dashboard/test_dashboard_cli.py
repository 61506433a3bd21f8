"""`rung dashboard`'s command line: bad flag values and a port it cannot have are one error
naming the flag, exit code 2, before anything is served; ``--port 0`` serves on a free port
and prints it."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import rung
from rung.cli.main import main

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "s.db"
    s = rung.Study.create("s", {"x": rung.Float(0, 1)}, searcher="random", scheduler="fifo",
                          budget=rung.Budget(n_trials=3), storage=path)
    while (t := s.ask()) is not None:
        s.tell(t.id, "completed", {"loss": t.params["x"]})
    s.close()
    return path


@pytest.mark.parametrize(("flag", "value", "message"), [
    ("--interval", "nan", "--interval: must be a number of seconds >= 0.1, got nan"),
    ("--interval", "inf", "--interval: must be a number of seconds >= 0.1, got inf"),
    ("--interval", "0", "--interval: must be a number of seconds >= 0.1, got 0"),
    ("--interval", "-2", "--interval: must be a number of seconds >= 0.1, got -2"),
    ("--interval", "soon", "--interval: not a number: 'soon'"),
    ("--port", "99999", "--port: must be 0 to 65535, got 99999"),
    ("--port", "-5", "--port: must be 0 to 65535, got -5"),
    ("--port", "http", "--port: not an integer: 'http'"),
])
def test_bad_flag_values(db: Path, capsys: pytest.CaptureFixture[str], flag: str, value: str,
                         message: str) -> None:
    with pytest.raises(SystemExit) as e:
        main(["dashboard", "--storage", str(db), flag, value])
    assert e.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"rung: error: {message} (rung dashboard --help)\n"


def test_a_port_in_use_is_one_line_exit_2(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["dashboard", "--storage", str(db), "--port", str(port)]) == 2
    out, err = capsys.readouterr()
    assert out == ""  # no "dashboard at http://..." line for a server that never ran
    assert err == (f"rung: error: --port {port}: cannot listen on it at 127.0.0.1: "
                   "address already in use\n")


def test_port_zero_serves_on_the_free_port_it_prints(db: Path) -> None:
    dash = subprocess.Popen([sys.executable, "-m", "rung.cli", "dashboard", "--storage",
                             str(db), "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert dash.stdout is not None
        line = dash.stdout.readline()
        m = re.fullmatch(r"rung: dashboard of the studies in \S+ at "
                         r"http://127\.0\.0\.1:(\d+)/ \(Ctrl-C to stop\)\n", line)
        assert m is not None, line
        port = int(m.group(1))
        assert port != 0
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies",
                                            timeout=10) as r:
                    body = json.loads(r.read())
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert [s["name"] for s in body["studies"]] == ["s"]
    finally:
        dash.terminate()
        dash.communicate(timeout=10)


def test_a_storage_file_that_is_not_a_journal(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """It served an empty list of studies, as if the journal had none."""
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database\n")
    assert main(["dashboard", "--storage", str(notes)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"rung: error: --storage {notes}: ") and err.count("\n") == 1
    assert "is not a rung journal" in err
    assert notes.read_text() == "not a database\n"
