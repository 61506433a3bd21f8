"""`rung` as a program takes SIGINT and SIGTERM from its first line of ``main``: the first one
stops the command with exit code 130 and one line (naming the resume command once the study is
in its journal), and later ones, while it shuts down and exits, are ignored: no traceback, no
death by signal. Each test runs the real command in a subprocess, with one function of the
command replaced so that the signal arrives at an exact point."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from clihelp import tiny_spec, write_spec


def run_patched(tmp_path: Path, patch: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``rung ARGS`` in ``tmp_path`` (the console script's ``main()``), after ``patch`` (Python
    lines run first, with ``os``, ``signal``, ``time`` and ``atexit`` imported)."""
    code = ("import atexit, os, signal, sys, time\n" + patch
            + "\nfrom rung.cli.main import main\nsys.exit(main())\n")
    return subprocess.run([sys.executable, "-c", code, *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)


def test_sigterm_before_the_run_starts_exits_130_with_its_line(tmp_path: Path) -> None:
    write_spec(tmp_path, tiny_spec("early"))
    patch = ("import rung.cli.spec as spec\n"
             "def load_spec(*a, **k):\n"
             "    os.kill(os.getpid(), signal.SIGTERM)\n"
             "    time.sleep(30)\n"
             "spec.load_spec = load_spec")
    r = run_patched(tmp_path, patch, "run", "spec.yaml")
    assert (r.returncode, r.stderr) == (130, "rung: interrupted\n")
    assert not (tmp_path / "runs").exists()


def test_an_interrupt_once_the_journal_exists_names_the_resume_command(tmp_path: Path) -> None:
    write_spec(tmp_path, tiny_spec("made", storage="j/made.db"))
    patch = ("import rung.cli.drive as drive\n"
             "def patched(*a, **k):\n"
             "    os.kill(os.getpid(), signal.SIGINT)\n"
             "    time.sleep(30)\n"
             "drive.drive = patched")
    r = run_patched(tmp_path, patch, "run", "spec.yaml")
    assert r.returncode == 130
    assert r.stderr == ("rung: interrupted; study made is in the journal j/made.db. Resume "
                        "with: rung resume made --storage j/made.db\n")


def test_signals_while_the_interrupted_command_exits_are_ignored(tmp_path: Path) -> None:
    write_spec(tmp_path, tiny_spec("twice"))
    patch = ("import rung.cli.drive as drive\n"
             "def patched(*a, **k):\n"
             "    os.kill(os.getpid(), signal.SIGINT)\n"
             "    time.sleep(30)\n"
             "drive.drive = patched\n"
             "def again():\n"  # a second Ctrl-C, then a SIGTERM, as the interpreter exits
             "    os.kill(os.getpid(), signal.SIGINT)\n"
             "    os.kill(os.getpid(), signal.SIGTERM)\n"
             "    time.sleep(0.2)\n"
             "atexit.register(again)")
    r = run_patched(tmp_path, patch, "run", "spec.yaml")
    assert r.returncode == 130
    assert r.stderr == ("rung: interrupted; study twice is in the journal runs/twice.db. "
                        "Resume with: rung resume twice\n")

