"""``Prices``: what one device-hour costs, per kind of device."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rung.core.pricing import check_table, gpus, hourly_rate


class Prices:
    """A price table: money per device-hour, keyed ``"cpu"``, ``"gpu"`` or ``"gpu:<TYPE>"``.

    ``Prices({"cpu": 0.04, "gpu": 2.0, "gpu:A100": 3.2})``. The currency is whatever the
    numbers are in; rung never converts. Rules (see docs/cost.md):

    - device names are compared without regard to case: ``"gpu:a100"`` prices the GPU Ray
      reports as ``A100``. The table keeps canonical names (``"cpu"``, ``"gpu"``, a GPU's type
      in capitals: ``"gpu:A100"``), and one device given twice (``"gpu:a100"`` and
      ``"gpu:A100"``) is refused;

    - a typed GPU without its own price (``"gpu:T4"`` above) is charged at the ``"gpu"`` price;
    - a device with no price at all costs nothing (``Prices({"gpu:A100": 3.2})`` charges a
      trial's CPUs nothing: price only what you pay for separately); its device-hours are still
      counted by the ledger.

    Raises:
        ConfigError: a key that is not a device (``key="prices.tpu"``) or a price that is
            negative or not a finite number (``key="prices.gpu"``).
    """

    __slots__ = ("_table",)

    def __init__(self, table: Mapping[str, float] | None = None) -> None:
        self._table = check_table({} if table is None else table, "prices")

    @property
    def table(self) -> dict[str, float]:
        """The prices by canonical device name (a copy)."""
        return dict(self._table)

    def rate(self, resources: Mapping[str, float]) -> float:
        """Money per hour for one trial holding ``resources`` (``{"cpu": 1, "gpu:A100": 1}``;
        keys are checked like the table's, under ``resources_per_trial``)."""
        return hourly_rate(self._table, check_table(resources, "resources_per_trial"))

    @staticmethod
    def gpus(resources: Mapping[str, float]) -> float:
        """GPUs of any type in ``resources`` (what ``Budget.max_gpu_hours`` counts)."""
        return gpus(check_table(resources, "resources_per_trial"))

    def __bool__(self) -> bool:
        return bool(self._table)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Prices) and other._table == self._table

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._table.items())))

    def __repr__(self) -> str:
        return f"Prices({self._table!r})"

    def to_json(self) -> dict[str, float]:
        return dict(self._table)

    @classmethod
    def from_json(cls, d: Mapping[str, Any] | None) -> Prices:
        """``None`` reads as the empty table (nothing costs money)."""
        return cls(d)


__all__ = ["Prices"]
