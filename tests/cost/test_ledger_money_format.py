"""``rung ledger`` prints money with at least two significant digits, every amount of a line
alike, and float noise as 0: ``saved 8.882e-16 (0.0%)``, ``saved 0.00 (-0.0%)`` and ``would have
cost 0.01 (0.0118 device-h) ... saved 0.002311`` before."""

from __future__ import annotations

import pytest

from rung.cli.ledger import _money, render
from rung.cost.ledger import Ledger, Spend


def _ledger(total: float, full: float, hours: float, full_hours: float) -> Ledger:
    return Ledger(
        prices={"cpu": 1.0}, max_step=3, by_outcome={"completed": Spend(total, hours, 0, 3, 1)},
        total=Spend(total, hours, 0.0, 3, 1), devices={"cpu": hours}, full_cost=full,
        full_device_hours=full_hours, idle_hours=0.0, idle_cost=0.0, workers=[],
        checkpoint_hours=0.0, checkpoint_cost=0.0, incumbent=[],
        budget={"max_cost": None, "cost": total, "max_gpu_hours": None, "gpu_hours": 0.0,
                "overshoot_cost": None, "overshoot_gpu_hours": None})


def _saving_line(led: Ledger) -> str:
    return next(ln for ln in render(led).splitlines() if ln.startswith("trained to max_step"))


@pytest.mark.parametrize(("total", "full"), [(9.51, 9.51 + 8.881784197001252e-16),
                                             (0.3, 0.1 + 0.2), (0.1 + 0.2, 0.3)])
def test_float_noise_in_the_saving_is_zero(total: float, full: float) -> None:
    led = _ledger(total, full, total, full)
    assert _saving_line(led).endswith("the scheduler saved 0.00 (0.0%)")


def test_small_amounts_keep_three_significant_digits() -> None:
    led = _ledger(0.0118 - 0.002311, 0.0118, 0.0118 - 0.002311, 0.0118)
    assert _saving_line(led) == ("trained to max_step (3) every trial would have cost 0.0118 "
                                 "(0.01180 device-h): the scheduler saved 0.00231 (19.6%)")
    assert [_money(x) for x in (1234.5, 0.19, 0.0118, 0.002311, 3.753e-06, 4e-7, 0.0)] == [
        "1,234.50", "0.19", "0.0118", "0.00231", "0.00000375", "4e-07", "0.00"]
    table = render(led).splitlines()[3]
    assert table.endswith(" 0.00949")
