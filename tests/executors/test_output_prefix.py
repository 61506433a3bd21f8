"""Which trial printed a line: ``rung.executors.output_prefix`` and the local executor's
``prefix_output``."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from rung.executors.output_prefix import PrefixedStream, set_trial

HERE = Path(__file__).resolve().parent
SRC = str(Path(__file__).resolve().parents[2] / "src")


@pytest.fixture
def stream() -> Iterator[tuple[io.StringIO, PrefixedStream]]:
    raw = io.StringIO()
    yield raw, PrefixedStream(raw)
    set_trial(None)


def test_lines_of_a_trial_start_with_its_id_and_others_are_left_alone(
        stream: tuple[io.StringIO, PrefixedStream]) -> None:
    raw, out = stream
    out.write("loading\n")
    set_trial(7)
    assert out.write("a\nb\n") == 4
    out.write("par")
    out.write("tial\n")
    out.write("bar 1%\rbar 2%\r\n")
    out.write("\n")
    out.writelines(["x\n", "y"])
    set_trial(8)
    out.write("\nz\n")
    set_trial(None)
    out.write("idle\n")
    assert raw.getvalue() == (
        "loading\n"
        "[trial 7] a\n[trial 7] b\n"
        "[trial 7] partial\n"
        "[trial 7] bar 1%\r[trial 7] bar 2%\r\n"
        "\n"
        "[trial 7] x\n[trial 7] y"
        "\n[trial 8] z\n"
        "idle\n")


def test_the_wrapped_stream_answers_for_everything_else(
        stream: tuple[io.StringIO, PrefixedStream]) -> None:
    _raw, out = stream
    assert out.getvalue() == ""  # (a StringIO's own method, through the wrapper)
    assert out.closed is False and out.write("") == 0


def _run(tmp_path: Path, prefix: bool) -> list[str]:
    script = textwrap.dedent(f"""
        import sys
        sys.path[:0] = [{str(HERE)!r}]
        import objectives
        import rung
        from rung import Budget, Float, Objective, Study
        if __name__ == "__main__":
            study = Study.create("p", {{"x": Float(0.0, 1.0)}}, Objective("loss", "min"),
                                 searcher="random", scheduler="fifo", max_step=1,
                                 budget=Budget(n_trials=2), storage={str(tmp_path / 'p.db')!r})
            study.run(objectives.chatty, n_workers=1, progress=False,
                      prefix_output={prefix!r})
    """)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    env["PYTHONPATH"] = SRC
    r = subprocess.run([sys.executable, "-c", script], capture_output=True,
                       cwd=tmp_path, env=env, timeout=120, check=True)
    return (r.stdout + r.stderr).decode().split("\n")  # ("\r" is inside a line here)


def test_a_spawned_worker_s_lines_say_which_trial_printed_them(tmp_path: Path) -> None:
    lines = _run(tmp_path, True)
    for tid in (0, 1):
        for want in (f"[trial {tid}] hello from {tid}", f"[trial {tid}] two writes",
                     f"[trial {tid}] on stderr", f"[trial {tid}] bar 10%\r[trial {tid}] bar 100%"):
            assert want in lines, (want, lines)
    assert lines.count("from a child") == 2  # a child writing to the descriptor: as written


def test_prefix_output_false_writes_lines_as_printed(tmp_path: Path) -> None:
    lines = _run(tmp_path, False)
    assert "hello from 0" in lines and "two writes" in lines
    assert not any(line.startswith("[trial") for line in lines)
