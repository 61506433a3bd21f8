"""Chaos (issue 15 item 7): SIGKILL the driver at 20 seeded random moments across resumes,
with workers that ``os._exit``, are SIGKILLed or hang mixed in; the scenario and its checks
live in ``benchmarks/chaos.py`` (which records the same counts in RESULTS.md)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
chaos = importlib.import_module("chaos")

pytestmark = [
    pytest.mark.slow,  # about a minute: 21 driver sessions
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc"),
]


def test_driver_kills_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    counts = chaos.run(tmp_path, kills=20, seed=0)  # raises at the first violated property
    assert counts["kills"] == 20
    assert counts["kills mid-trial"] >= 10
    assert counts["duplicates found"] == 0
    assert counts["leftover workers"] == 0
    assert counts["results checked"] > 0
    assert counts["trials"] == chaos.N_TRIALS
    assert sum(counts["by status"].values()) == chaos.N_TRIALS
    assert set(counts["by status"]) <= {"completed", "stopped", "failed"}
    # the mischief happened, and restarted trials did repeat steps (replaced, not duplicated)
    assert counts["worker exits"] + counts["worker kills"] + counts["worker hangs"] > 0
    assert counts["interruptions"] >= counts["kills mid-trial"]
