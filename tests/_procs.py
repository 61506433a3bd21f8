"""Process helpers the test suite shares (importable from any test module: ``tests/`` is on
``sys.path`` through ``tests/conftest.py``).

``alive`` tells a live process from a gone or zombie one (Linux: it reads ``/proc``).
"""

from __future__ import annotations


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


__all__ = ["alive"]
