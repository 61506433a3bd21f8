"""A failed write to standard output ends every command in one defined way, whatever the size
of the output (``rung.cli.stdout_guard``; audit findings H1 and M1):

- the reader of the pipe gone (its read end closed before rung writes): no word on stderr (no
  "Exception ignored", no traceback), the command's own exit code, as ``rung ls | head -1``;
- a write error (``/dev/full``: ENOSPC): one line ``rung: error: standard output: No space
  left on device`` and exit code 2, as ``-o FILE`` reports it (or the command's own code when
  that is not 0);
- ``rung run`` / ``rung demo`` run the study to its end either way (the journal is the product,
  stdout only a view), where before a closed pipe left a created study with nothing run and
  exit 0, and a full disk a traceback and exit 120.

The processes run without ``PYTHONUNBUFFERED`` (a user's shell has none): with it, every write
reaches the descriptor at once and the failures at exit are hidden.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

import pytest
from clihelp import rung_cmd, sim_spec, write_spec

import rung
from _damaged import PAGE, checkpointed_journal
from rung.benchmarks import get_benchmark

FULL = "rung: error: standard output: No space left on device\n"

needs_dev_full = pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}


def _rung(args: list[str], cwd: Path, stdout: Any) -> tuple[int, str]:
    """``rung ARGS`` with ``stdout`` as its standard output: (exit code, stderr)."""
    r = subprocess.run(rung_cmd(*args), cwd=cwd, stdout=stdout, stderr=subprocess.PIPE,
                       text=True, env=_env(), timeout=300)
    return r.returncode, r.stderr


def _to_closed_pipe(args: list[str], cwd: Path) -> tuple[int, str]:
    """``rung ARGS`` writing to a pipe whose reader is gone before it starts."""
    r, w = os.pipe()
    os.close(r)
    try:
        return _rung(args, cwd, w)
    finally:
        os.close(w)


def _to_full_disk(args: list[str], cwd: Path) -> tuple[int, str]:
    with open("/dev/full", "w") as full:
        return _rung(args, cwd, full)


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with ``j.db``: study ``big``, 150 simulated ASHA trials (its exports run
    far past any buffer), and ``dir/``: a good journal beside a damaged one."""
    d = tmp_path_factory.mktemp("stdout")
    b = get_benchmark("mf-branin", max_step=9)
    s = rung.Study.create("big", b.space, objective="loss", searcher="random",
                          scheduler=rung.ASHA(reduction_factor=3), max_step=9,
                          budget=rung.Budget(n_trials=150), seed=0, storage=d / "j.db")
    s.simulate(b, n_workers=4, progress=False)
    s.close()
    (d / "dir").mkdir()
    shutil.copy(d / "j.db", d / "dir" / "good.db")
    bad = checkpointed_journal(d / "dir")  # its last page overwritten: damaged
    with open(bad, "r+b") as f:
        f.seek(bad.stat().st_size - PAGE)
        f.write(bytes(range(256)) * (PAGE // 256))
    return d


#: commands whose output fits in a buffer (written at exit) and ones whose output does not
#: (written, and failing, inside the command); the last two are argparse's own exits
SMALL = [["ls", "--storage", "j.db"], ["show", "big", "--storage", "j.db", "--top", "1"],
         ["ledger", "big", "--storage", "j.db"], ["ledger", "big", "--storage", "j.db", "--json"],
         ["--version"], ["ls", "--help"]]
LARGE = [["export", "big", "--storage", "j.db", "--table", "results"],
         ["export", "big", "--storage", "j.db", "--format", "json"],
         ["show", "big", "--storage", "j.db", "--top", "150"]]


def test_the_large_outputs_are_larger_than_any_buffer(big: Path) -> None:
    for args in LARGE:
        with open(big / "out.txt", "w") as f:
            assert _rung(args, big, f) == (0, "")
        assert (big / "out.txt").stat().st_size > 8 * 1024, args  # io's buffer: 8 KiB


@pytest.mark.parametrize("args", SMALL + LARGE, ids=" ".join)
def test_a_reader_gone_is_a_quiet_exit_with_the_commands_code(big: Path,
                                                              args: list[str]) -> None:
    assert _to_closed_pipe(args, big) == (0, "")


@needs_dev_full
@pytest.mark.parametrize("args", SMALL + LARGE, ids=" ".join)
def test_a_full_disk_is_one_line_and_exit_code_2(big: Path, args: list[str]) -> None:
    assert _to_full_disk(args, big) == (2, FULL)


def _close_stdout() -> None:  # pragma: no cover - runs in the child
    os.close(1)


def test_a_closed_stdout_is_a_write_error(big: Path, tmp_path: Path) -> None:
    """``rung ls >&-``: as writing to a closed descriptor (a traceback before, and a run's
    progress lines took a run down); the run still runs to its end."""
    bad = "rung: error: standard output: Bad file descriptor\n"
    for args in (["ls", "--storage", "j.db"], LARGE[0], ["--version"]):
        r = subprocess.run(rung_cmd(*args), cwd=big, stderr=subprocess.PIPE, text=True,
                           env=_env(), timeout=120, preexec_fn=_close_stdout)
        assert (r.returncode, r.stderr) == (2, bad), args
    write_spec(tmp_path, sim_spec("c", n_trials=12), "c.yaml")
    r = subprocess.run(rung_cmd("run", "c.yaml", "--storage", "c.db"), cwd=tmp_path,
                       stderr=subprocess.PIPE, text=True, env=_env(), timeout=120,
                       preexec_fn=_close_stdout)
    assert r.returncode == 2 and r.stderr.startswith("rung: study c: 12 trials: ")
    assert r.stderr.endswith(bad) and len(r.stderr.splitlines()) == 2
    done = _outcome(tmp_path / "c.db", "c")
    assert (done["trials"], done["budget_left"]) == (12, False)


@needs_dev_full
def test_a_commands_own_failure_keeps_its_exit_code(big: Path) -> None:
    """``rung ls`` of a directory with a damaged journal exits 1: still 1 when its output is
    lost, with the error line when it could not be written."""
    args = ["ls", "--storage", "dir"]
    assert _rung(args, big, subprocess.DEVNULL) == (1, "")
    assert _to_closed_pipe(args, big) == (1, "")
    assert _to_full_disk(args, big) == (1, FULL)


# --- rung run / rung demo: the run goes on ------------------------------------------------------
def _outcome(db: Path, name: str) -> dict[str, Any]:
    """What the journal ``db`` holds of study ``name``: its trials by status, its best value,
    whether its budget is left."""
    study = rung.Study.load(name, storage=db, readonly=True)
    try:
        s = study.summary()
        return {k: s[k] for k in ("trials", "by_status", "best_value", "budget_left")}
    finally:
        study.close()


def _run_as(tmp_path: Path, name: str, stdout: IO[str] | int) -> tuple[int, str]:
    """``rung run`` of a simulated spec (its components chosen by ``auto``, whose line is the
    first thing written to stdout, once the study is in its journal) named ``name``; its
    stderr with the name written ``NAME``."""
    write_spec(tmp_path, sim_spec(name, n_trials=24), f"{name}.yaml")
    code, err = _rung(["run", f"{name}.yaml", "--storage", f"{name}.db"], tmp_path, stdout)
    return code, err.replace(name, "NAME")


@needs_dev_full
def test_rung_run_runs_to_its_end_when_stdout_fails(tmp_path: Path) -> None:
    code, err = _run_as(tmp_path, "seen", subprocess.DEVNULL)
    assert code == 0 and err.startswith("rung: study NAME: 24 trials: ")
    done = _outcome(tmp_path / "seen.db", "seen")
    assert (done["trials"], done["budget_left"]) == (24, False)
    # the reader gone at once: the same run, the same lines on stderr, exit code 0
    r, w = os.pipe()
    os.close(r)
    try:
        assert _run_as(tmp_path, "gone", w) == (0, err)
    finally:
        os.close(w)
    assert _outcome(tmp_path / "gone.db", "gone") == done
    # a full disk: the same run, then the error line, exit code 2
    with open("/dev/full", "w") as full:
        assert _run_as(tmp_path, "full", full) == (2, err + FULL)
    assert _outcome(tmp_path / "full.db", "full") == done


@pytest.mark.slow  # (a real run in a subprocess; the slow lane runs it)
def test_rung_demo_runs_to_its_end_when_its_reader_is_gone(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    args = ["demo", "--trials", "2", "--max-step", "1", "--workers", "1", "--name", "d",
            "--storage", "d.db"]
    code, err = _to_closed_pipe(args, tmp_path)
    assert (code, err) == (0, "rung: study d: 2 trials: 2 completed\n")
    done = _outcome(tmp_path / "d.db", "d")
    assert (done["by_status"], done["budget_left"]) == ({"completed": 2}, False)


def test_rung_run_through_head_still_exits_0(tmp_path: Path) -> None:
    """The first line read, the reader gone (``rung run x.yaml | head -1``): as before, the
    run completes and exits 0."""
    write_spec(tmp_path, sim_spec("h", n_trials=12), "h.yaml")
    head = subprocess.Popen(["head", "-1"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert head.stdin is not None and head.stdout is not None
    try:
        code, err = _rung(["run", "h.yaml", "--storage", "h.db"], tmp_path, head.stdin)
    finally:
        head.stdin.close()
        out = head.stdout.read()
        head.stdout.close()
        head.wait(timeout=60)
    assert code == 0 and "Traceback" not in err and "Exception ignored" not in err
    assert out.startswith(b"rung: ")
    done = _outcome(tmp_path / "h.db", "h")
    assert (done["trials"], done["budget_left"]) == (12, False)


if sys.platform != "linux":  # pragma: no cover
    pytestmark = pytest.mark.skip("Linux: /dev/full, pipes")
