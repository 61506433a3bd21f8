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


class _Calls(io.StringIO):
    """A stream recording each ``write`` call."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def write(self, s: str) -> int:
        self.calls.append(s)
        return super().write(s)


def test_each_line_reaches_the_stream_in_one_write() -> None:
    raw = _Calls()
    out = PrefixedStream(raw)
    try:
        set_trial(3)
        print("hello", file=out)  # (print writes "hello", then "\n")
        out.write("a\nb")
        assert raw.calls == ["[trial 3] hello\n", "[trial 3] a\n"]
        out.flush()  # the line begun is written; it goes on unprefixed
        out.write("c\n")
        assert raw.calls[2:] == ["[trial 3] b", "c\n"]
        out.write("half")
        from rung.executors.output_prefix import end_trial

        end_trial()  # (not the process's streams: nothing of this one's)
        out.flush()
        assert raw.calls[-1] == "[trial 3] half"
    finally:
        set_trial(None)


def test_a_fork_worker_takes_back_streams_rich_redirected() -> None:
    from rung.executors.pipe import _own_streams

    class Proxy:
        def __init__(self, inner: object) -> None:
            self.rich_proxied_file = inner

    saved = sys.stdout, sys.stderr
    inner_out, inner_err = io.StringIO(), io.StringIO()
    try:
        setattr(sys, "stdout", Proxy(inner_out))  # noqa: B010  (not a stream: mypy would say)
        setattr(sys, "stderr", Proxy(inner_err))  # noqa: B010
        _own_streams()
        assert (getattr(sys, "stdout"), getattr(sys, "stderr")) == (inner_out, inner_err)  # noqa: B009
    finally:
        sys.stdout, sys.stderr = saved
