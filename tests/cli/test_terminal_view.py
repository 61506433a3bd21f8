"""``rung run`` on a terminal (a pty): which view it shows, and where its lines go.

- ``TERM=dumb`` (Emacs' shell, some CI ptys): the plain progress lines every ``--log-every``
  seconds, not rich's live view, which draws only its last frame there (audit finding M3: no
  output at all until the run ended);
- ``rung run spec.yaml 2> errors.log`` on a terminal: the failure lines and the summary go to
  stderr, the file, as without the live view (audit finding M4: rich's live view took stderr
  over and drew them on the terminal, leaving the file empty).
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time
from pathlib import Path
from typing import Any

import pytest
from clihelp import rung_cmd, tiny_spec, write_spec

import rung
from rung.reporter import failure_line, outcome_line

pytest.importorskip("rich")

#: a plain progress line
PROGRESS = re.compile(r"^rung: \[ *[\d.]+s\] study \w+: trials ", re.M)


def _env(term: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONUNBUFFERED", "FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR",
                        "COLUMNS", "LINES")}
    env["TERM"] = term
    return env


def _on_pty(args: list[str], cwd: Path, term: str, stderr: Any) -> tuple[int, str]:
    """``rung ARGS`` with a pty (120 x 40) as stdout and ``stderr`` as stderr: its exit code
    and what it wrote on the terminal."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen(rung_cmd(*args), cwd=cwd, env=_env(term), stdin=subprocess.DEVNULL,
                            stdout=slave, stderr=stderr)
    os.close(slave)
    out = bytearray()
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the last writer closed the terminal
                break
            if not data:
                break
            out += data
    finally:
        os.close(master)
    return proc.wait(timeout=60), out.decode("utf-8", "replace").replace("\r\n", "\n")


def test_a_dumb_terminal_gets_plain_progress_lines(isolated: Path) -> None:
    write_spec(isolated, tiny_spec("d", n_trials=2, max_step=3, delay=0.25, n_workers=2,
                                   scheduler="fifo"))
    code, out = _on_pty(["run", "spec.yaml", "--log-every", "0.1"], isolated, "dumb",
                        subprocess.DEVNULL)
    assert code == 0
    assert "\x1b[" not in out  # no live view: no cursor movement, no colour
    # lines while it runs, not only the last: the first before any trial has finished
    lines = PROGRESS.findall(out)
    assert len(lines) >= 2, out
    assert re.search(r"^rung: \[ *[\d.]+s\] study d: trials \d/2 \| running [12] ", out, re.M)
    assert out.rstrip().endswith("rung: inspect it with: rung show d")


def test_an_xterm_gets_the_live_view(isolated: Path) -> None:
    """(The control: the same run on a capable terminal draws the live view.)"""
    write_spec(isolated, tiny_spec("x", n_trials=2, max_step=2, n_workers=2, scheduler="fifo"))
    code, out = _on_pty(["run", "spec.yaml", "--log-every", "0.1"], isolated, "xterm-256color",
                        subprocess.DEVNULL)
    assert code == 0
    assert "\x1b[" in out and not PROGRESS.search(out)


def test_stderr_sent_to_a_file_keeps_the_failures_and_the_summary(isolated: Path) -> None:
    write_spec(isolated, tiny_spec("f", n_trials=8, max_step=3, n_workers=2, scheduler="fifo",
                                   fixed={"fail_at": 1}))
    with open(isolated / "err.log", "w") as err:
        code, out = _on_pty(["run", "spec.yaml"], isolated, "xterm-256color", err)
    assert code == 0
    assert "\x1b[" in out  # the live view ran on the terminal
    study = rung.Study.load("f", storage=isolated / "runs" / "f.db", readonly=True)
    failed = study.trials("failed")
    expected = [f"rung: {failure_line(t.id, t.last_step, t.error)}" for t in failed]
    summary = f"rung: study f: {outcome_line(study.engine)}"
    study.close()
    assert failed and len(failed) < 8  # some trials failed, not all (exit code 0)
    lines = (isolated / "err.log").read_text().splitlines()
    assert sorted(lines) == sorted([*expected, summary])
    assert lines[-1] == summary
    for line in lines:  # and not on the terminal
        assert line.removeprefix("rung: ") not in out
