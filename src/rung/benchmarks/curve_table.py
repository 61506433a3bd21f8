"""A benchmark backed by a table of learning curves recorded from real training runs.

A *curve table* holds, for ``n`` configurations drawn from a search space, the value of one or
more metrics and the measured seconds of every step ``1..max_step`` (``benchmarks/make_curves.py``
builds them from scikit-learn models on data that ships in packages). Replaying a table instead
of training is the standard way to compare multi-fidelity methods at equal compute: it is how the
tabular benchmarks of Klein and Hutter (2019, "Tabular Benchmarks for Joint Architecture and
Hyperparameter Optimization"), LCBench (Zimmer et al. 2021) and the blackbox repository of Syne
Tune are used, and it keeps what synthetic functions lack: ties at low fidelity, late bloomers and
noisy steps.

Lookup. A searcher proposes any point of the space; ``evaluate`` answers with the table row
nearest to it in the space's unit encoding (``SearchSpace.to_unit``; Euclidean distance, lowest
row index on a tie). Every method, rung's or a peer's, is therefore judged on the same finite set
of real curves, and ``rows`` lists them for methods that can sample from a list.

With ``distinct=True`` the table is sampled *without replacement*: a configuration seen for the
first time takes the nearest row no earlier configuration has taken (once every row is taken,
the nearest row). Nearest-row lookup gives every configuration near a row that row's exact
curve, so a method that refines around its incumbent re-trains rows it has already seen, which
real training never does (a new configuration is a new run); restricting a searcher to distinct
table rows is how Syne Tune replays its tabular blackboxes (``restrict_configurations`` without
duplicates). Such a table is stateful: the rows a configuration gets depend on the order
configurations arrive, so an instance serves one study run (the order is deterministic in a
simulation, so a run is still reproducible).

File format (``.npz``, no pickle): ``params`` ``(n, d)`` float64 in the order of the space's
parameters; one ``(n, max_step)`` float32 array per metric; ``seconds`` ``(n, max_step)``
float32, the cost of going from step ``s - 1`` to ``s``; ``meta``, a JSON string with ``task``,
``max_step``, ``metrics`` (name -> ``"min"`` / ``"max"``) and ``space`` (name -> ``{"type":
"float" | "int", "low", "high", "log"}``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from rung.benchmarks.base import check_step, read_floats
from rung.errors import ConfigError
from rung.space import Float, Int, Param, SearchSpace


def write_curve_table(
    path: str | Path,
    meta: Mapping[str, Any],
    params: np.ndarray,
    metrics: Mapping[str, np.ndarray],
    seconds: np.ndarray,
) -> None:
    """Write a table in the format above, atomically (a temporary file, then a rename).

    Args:
        meta: ``task``, ``max_step``, ``metrics`` (name -> mode) and ``space``; any other keys
            (machine, generator) are kept as they are.
        params: ``(n, d)`` values in the order of ``meta["space"]``.
        metrics: name -> ``(n, max_step)`` values, one entry per name in ``meta["metrics"]``.
        seconds: ``(n, max_step)`` step costs.
    """
    path = Path(path)
    n, steps = len(params), int(meta["max_step"])
    arrays: dict[str, np.ndarray] = {
        m: np.asarray(metrics[m], dtype=np.float32).reshape(n, steps) for m in meta["metrics"]
    }
    arrays["params"] = np.asarray(params, dtype=np.float64).reshape(n, len(meta["space"]))
    arrays["seconds"] = np.asarray(seconds, dtype=np.float32).reshape(n, steps)
    arrays["meta"] = np.asarray(json.dumps(dict(meta)))
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez_compressed(tmp, allow_pickle=False, **arrays)
    tmp.replace(path)


def _space_from_meta(path: str, space: Mapping[str, Any]) -> SearchSpace:
    params: dict[str, Param] = {}
    for name, d in space.items():
        kind = d.get("type")
        if kind == "float":
            params[name] = Float(float(d["low"]), float(d["high"]), log=bool(d.get("log", False)))
        elif kind == "int":
            params[name] = Int(int(d["low"]), int(d["high"]), log=bool(d.get("log", False)))
        else:
            raise ConfigError(f"curve-table {path}: space.{name}.type must be float or int")
    return SearchSpace(params)


class CurveTable:
    """Replay recorded learning curves as a ``Benchmark`` (see the module docstring).

    Args:
        path: The ``.npz`` table.
        metric: The metric to optimize; one of the table's metrics (default: its first).
        max_step: Use only steps ``1..max_step`` of the table (default: all of them).
        rows: Use only the first ``rows`` configurations (default: all).

    Attributes:
        optimum: The best value of ``metric`` at ``max_step`` over the rows used, so regret is
            measured against the best configuration a method could have found in the table.
        values: ``(n, max_step)`` array of ``metric``; ``seconds`` likewise, the step costs.
    """

    name = "curve-table"

    def __init__(
        self,
        path: str | Path,
        metric: str | None = None,
        max_step: int | None = None,
        rows: int | None = None,
        distinct: bool = False,
    ) -> None:
        self.path = str(path)
        self.distinct = bool(distinct)
        try:
            with np.load(self.path, allow_pickle=False) as z:
                data = {k: z[k] for k in z.files}
        except (OSError, ValueError) as e:
            raise ConfigError(f"curve-table: cannot read {self.path!r}: {e}") from None
        meta = json.loads(str(data["meta"]))
        metrics: dict[str, str] = dict(meta["metrics"])
        self.metric: str = next(iter(metrics)) if metric is None else metric
        if self.metric not in metrics:
            raise ConfigError(
                f"curve-table {self.path}: metric {self.metric!r} is not one of {list(metrics)}"
            )
        self.mode: str = metrics[self.metric]
        self.task: str = str(meta.get("task", Path(self.path).stem))
        self.space: SearchSpace = _space_from_meta(self.path, meta["space"])
        full = int(meta["max_step"])
        self.max_step: int = full if max_step is None else int(max_step)
        if not 1 <= self.max_step <= full:
            raise ConfigError(f"curve-table {self.path}: max_step must be in 1..{full}")
        n = len(data["params"]) if rows is None else int(rows)
        if not 1 <= n <= len(data["params"]):
            raise ConfigError(f"curve-table {self.path}: rows must be in 1..{len(data['params'])}")
        self._rows_arg, self._max_step_arg, self._metric_arg = rows, max_step, metric
        self.params: np.ndarray = data["params"][:n]
        self._metric_names = list(metrics)
        self._tables = {m: data[m][:n, : self.max_step].astype(np.float64) for m in metrics}
        self.values: np.ndarray = self._tables[self.metric]
        self.seconds: np.ndarray = np.maximum(data["seconds"][:n, : self.max_step], 1e-6).astype(
            np.float64
        )
        final = self.values[:, -1]
        self.optimum: float | None = float(final.min() if self.mode == "min" else final.max())
        self._keys = tuple(self.space)
        self._unit = np.stack([self.space.to_unit(r) for r in self.rows])
        self._lookup: dict[tuple[float, ...], int] = {}
        self._taken = np.zeros(n, dtype=bool)

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The table's configurations, as parameter dictionaries of ``space``."""
        out = []
        for r in self.params:
            d: dict[str, Any] = {}
            for k, v in zip(self._keys, r, strict=True):
                d[k] = round(v) if isinstance(self.space[k], Int) else float(v)
            out.append(d)
        return out

    def row_of(self, params: Mapping[str, Any]) -> int:
        """Index of the table row nearest to ``params`` (memoized; with ``distinct``, the nearest
        row not taken by an earlier configuration; see the module docstring)."""
        key = read_floats(self.name, params, self._keys)
        row = self._lookup.get(key)
        if row is None:
            u = self.space.to_unit(dict(zip(self._keys, key, strict=True)))
            dist = ((self._unit - u) ** 2).sum(axis=1)
            if self.distinct and not self._taken.all():
                dist[self._taken] = np.inf
            row = int(np.argmin(dist))
            self._taken[row] = True
            self._lookup[key] = row
        return row

    def evaluate(self, params: Mapping[str, Any], step: int) -> tuple[dict[str, float], float]:
        """Every metric of the nearest row at ``step`` and the step's recorded seconds."""
        if type(step) is not int or not 1 <= step <= self.max_step:
            step = check_step(self.name, step, self.max_step)
        row = self.row_of(params)
        metrics = {m: float(t[row, step - 1]) for m, t in self._tables.items()}
        return metrics, float(self.seconds[row, step - 1])

    def final_value(self, params: Mapping[str, Any]) -> float:
        """The objective of ``params``'s row at ``max_step`` (what regret is measured on)."""
        return float(self.values[self.row_of(params), -1])

    def to_json(self) -> dict[str, Any]:
        """``{"name", "params"}``: ``get_benchmark(d["name"], **d["params"])`` rebuilds it."""
        return {
            "name": self.name,
            "params": {
                "path": self.path,
                "metric": self._metric_arg,
                "max_step": self._max_step_arg,
                "rows": self._rows_arg,
                "distinct": self.distinct,
            },
        }

    def __repr__(self) -> str:
        return (
            f"CurveTable({self.task!r}, metric={self.metric!r}, rows={len(self.params)}, "
            f"max_step={self.max_step}{', distinct=True' if self.distinct else ''})"
        )
