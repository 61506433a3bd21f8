"""rung's warnings without a logging configuration read ``rung: <message>`` on stderr
(``rung._last_resort``), and leave the application's configuration alone when there is one."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest


def _stderr(code: str) -> str:
    """stderr of ``code`` run in a fresh interpreter (no pytest logging handlers there)."""
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stderr


def test_a_warning_without_logging_configured_reads_rung_colon_line_by_line() -> None:
    err = _stderr("""
        import logging, rung
        logging.getLogger("rung.local").warning("first %s", "line\\nsecond line")
        logging.getLogger("rung.run").info("an info line: not shown, as by Python's own")
        logging.getLogger("other").warning("not rung's")
    """)
    assert err.splitlines() == ["rung: first line", "rung: second line", "not rung's"]


@pytest.mark.parametrize("setup, expected", [
    # the application's handler shows it, in the application's format, once
    ("logging.basicConfig(format='APP %(name)s: %(message)s')", ["APP rung.local: careful"]),
    # configured after import rung: the same
    ("pass", None),
    # a level on rung's logger silences it
    ("logging.getLogger('rung').setLevel(logging.ERROR)", []),
    ("logging.disable(logging.WARNING)", []),
])
def test_the_applications_configuration_decides_when_it_has_one(
        setup: str, expected: list[str] | None) -> None:
    if expected is None:  # basicConfig called after rung was imported
        err = _stderr("""
            import logging, rung
            logging.basicConfig(format="APP %(name)s: %(message)s")
            logging.getLogger("rung.local").warning("careful")
        """)
        assert err.splitlines() == ["APP rung.local: careful"]
        return
    err = _stderr(f"""
        import logging
        {setup}
        import rung
        logging.getLogger("rung.local").warning("careful")
    """)
    assert err.splitlines() == expected


def test_installed_once_so_a_warning_shows_once() -> None:
    err = _stderr("""
        import logging, rung, rung._last_resort as lr
        lr.install()
        lr.install()
        logging.getLogger("rung.study").warning("once")
    """)
    assert err.splitlines() == ["rung: once"]
