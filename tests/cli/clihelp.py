"""Helpers shared by the CLI tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def write_spec(directory: Path, text: str, name: str = "spec.yaml") -> Path:
    path = directory / name
    path.write_text(text)
    return path


def tiny_spec(name: str = "tiny", n_trials: int = 6, max_step: int = 9, delay: float = 0.0,
              n_workers: int = 2, storage: str | None = None, extra: str = "",
              fixed: dict[str, Any] | None = None,
              scheduler: str = "{name: asha, params: {reduction_factor: 3}}") -> str:
    """A spec for ``cli_objectives:train`` on local worker processes; ``fixed`` adds fixed
    parameters to the space."""
    lines = [
        f"name: {name}",
        "objective: cli_objectives:train",
        f"path: {HERE}",
        "space:",
        "  x: {type: float, low: 0.0, high: 1.0}",
        f"  delay: {delay}",
        *[f"  {k}: {v}" for k, v in (fixed or {}).items()],
        "metric: loss",
        "mode: min",
        f"max_step: {max_step}",
        "searcher: random",
        f"scheduler: {scheduler}",
        f"budget: {{n_trials: {n_trials}}}",
        f"n_workers: {n_workers}",
        "seed: 3",
    ]
    if storage is not None:
        lines.append(f"storage: {storage}")
    return "\n".join(lines) + "\n" + extra


def sim_spec(name: str = "sim", n_trials: int = 30, extra: str = "") -> str:
    """A spec for the simulated executor (no worker processes: fast, deterministic)."""
    return (
        f"name: {name}\nexecutor: simulated\nbenchmark: {{name: mf-branin}}\n"
        f"scheduler: {{name: asha, params: {{reduction_factor: 3}}}}\n"
        f"budget: {{n_trials: {n_trials}}}\nn_workers: 4\nseed: 1\n" + extra
    )


def rung_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "rung.cli", *args]


def _default_sigint() -> None:  # pragma: no cover - runs in the child
    # a child of a shell's background job inherits SIGINT ignored; the CLI must see it
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_rung(*args: str, cwd: Path, timeout: float = 120, **kw: Any) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(rung_cmd(*args), cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env, **kw)


def popen_rung(*args: str, cwd: Path, **kw: Any) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(rung_cmd(*args), cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=_default_sigint, **kw)


def files_under(directory: Path) -> set[str]:
    return {str(p.relative_to(directory)) for p in directory.rglob("*")}
