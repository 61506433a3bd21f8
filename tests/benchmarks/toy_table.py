"""A three-row, four-step learning-curve table that the benchmark tests share."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rung.benchmarks.curve_table import write_curve_table

META = {
    "task": "toy",
    "max_step": 4,
    "metrics": {"val_error": "min", "val_acc": "max"},
    "space": {
        "lr": {"type": "float", "low": 1e-3, "high": 1.0, "log": True},
        "leaves": {"type": "int", "low": 2, "high": 64, "log": True},
    },
}
PARAMS = np.array([[1e-3, 2], [0.1, 8], [1.0, 64]])
ERROR = np.array([[0.5, 0.5, 0.5, 0.4], [0.5, 0.3, 0.2, 0.1], [0.2, 0.2, 0.25, 0.3]])
SECONDS = np.array([[1, 1, 1, 1], [2, 2, 2, 2], [0.5, 0.5, 0.5, 0.5]])


def write_toy_table(path: Path) -> Path:
    """Write the table (``val_error`` and ``val_acc = 1 - val_error``) to ``path``."""
    write_curve_table(path, META, PARAMS, {"val_error": ERROR, "val_acc": 1 - ERROR}, SECONDS)
    return path
