"""What the local executor's workers hold: a study's ``resources_per_trial`` laid out on this
machine (Ray's placement, on one node).

- **GPUs seen**: the entries of ``CUDA_VISIBLE_DEVICES`` when it is set (indices, ``GPU-``
  or ``MIG-`` UUIDs, as CUDA takes them; set but empty, or starting with ``-1``: none), else
  one index per GPU the NVIDIA driver lists under ``/proc/driver/nvidia/gpus`` (``"0"``,
  ``"1"``, ...), else none. No CUDA library is loaded to find out.
- **GPU slots**: a trial holding ``g`` GPUs (any type: ``gpu`` and ``gpu:<type>`` summed) gets
  ``g`` of them to itself when ``g`` is a whole number, or shares one GPU with
  ``floor(1 / g) - 1`` others when ``0 < g < 1``; a worker runs with ``CUDA_VISIBLE_DEVICES``
  set to its slot, so the trials on it see only their GPUs (a replacement worker takes the
  slot of the one it replaces). Other fractions (``1.5``) are refused, as Ray refuses them.
- **Worker count** (when none is given): the GPU slots, and no more than one worker per
  ``cpu`` a trial holds (``floor(usable CPUs / cpu)``, at least 1, at most
  ``LOCAL_WORKERS_PER_CPU`` per CPU); a given count beyond the
  GPU slots is refused, since the extra trials would share a GPU nobody planned to share.
- **Threads** (``threads_per_worker="auto"``): the CPUs a trial holds, rounded down, at least 1.
- **No GPU seen** while a trial asks for some: the trials run on the CPU (nothing is pinned),
  ``gpu_warning`` says so, and the ledger still charges what ``resources_per_trial`` says.

A trial that asks for no GPU runs with the environment as it is (``CUDA_VISIBLE_DEVICES``
untouched), as before this layout existed.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from rung.core.pricing import gpus
from rung.errors import ConfigError
from rung.executors.processes import LOCAL_WORKERS_PER_CPU

#: where the NVIDIA driver lists the GPUs it drives (one directory per GPU, by PCI address)
NVIDIA_PROC = Path("/proc/driver/nvidia/gpus")


def visible_gpus(environ: Mapping[str, str] | None = None,
                 proc: Path = NVIDIA_PROC) -> list[str]:
    """The GPUs this process may use, as ``CUDA_VISIBLE_DEVICES`` entries (see the module
    docstring); ``environ`` defaults to ``os.environ``."""
    env = os.environ if environ is None else environ
    given = env.get("CUDA_VISIBLE_DEVICES")
    if given is not None:
        ids = [s.strip() for s in given.split(",")]
        out: list[str] = []
        for i in ids:
            if not i or i.startswith("-"):  # CUDA stops at the first invalid entry
                break
            out.append(i)
        return out
    try:
        n = sum(1 for p in proc.iterdir() if p.is_dir())
    except OSError:  # no NVIDIA driver (or no /proc)
        return []
    return [str(i) for i in range(n)]


def _where(environ: Mapping[str, str] | None) -> str:
    env = os.environ if environ is None else environ
    given = env.get("CUDA_VISIBLE_DEVICES")
    if given is not None:
        return f"CUDA_VISIBLE_DEVICES={given!r}"
    return f"CUDA_VISIBLE_DEVICES unset, GPUs listed by the NVIDIA driver in {NVIDIA_PROC}"


@dataclass(frozen=True, slots=True)
class Layout:
    """How local workers hold ``resources_per_trial``: ``n_workers`` processes, worker slot
    ``i`` running with ``CUDA_VISIBLE_DEVICES=slots[i]`` (``slots`` empty: nothing pinned),
    ``threads`` BLAS/OpenMP threads each (``None``: left alone); ``warning``: one line for
    the user when trials ask for GPUs this process does not see, else ``None``."""

    n_workers: int
    slots: tuple[str, ...]
    threads: int | None
    warning: str | None = None


def trial_gpus(resources: Mapping[str, float] | None) -> float:
    """GPUs a trial holds (any type); ``ConfigError`` naming ``resources_per_trial.gpu`` for a
    fraction above one, which no layout can give."""
    g = 0.0 if resources is None else gpus(resources)
    if g > 1 and not math.isclose(g, round(g)):
        raise ConfigError(key="resources_per_trial.gpu", message=(
            f"{g:g} GPUs per trial: the local executor gives a trial whole GPUs, or a share of "
            f"one (a fraction below 1)"))
    return g


def _slots(g: float, ids: list[str]) -> list[str]:
    """Each worker slot's ``CUDA_VISIBLE_DEVICES``: whole GPUs in groups of ``g``; for a share
    (``g < 1``) each GPU ``floor(1 / g)`` times, interleaved so fewer workers spread out."""
    if g >= 1:
        k = round(g)
        return [",".join(ids[i:i + k]) for i in range(0, len(ids) - k + 1, k)]
    per = math.floor(1 / g + 1e-9)
    return [i for _ in range(per) for i in ids]


def layout(
    resources: Mapping[str, float] | None,
    n_workers: int | None,
    threads_per_worker: int | str | None,
    cpus: int,
    environ: Mapping[str, str] | None = None,
    proc: Path = NVIDIA_PROC,
) -> Layout:
    """The local workers' layout for trials holding ``resources`` (canonical devices, as
    ``rung.core.pricing.check_table`` gives them; ``None``: one CPU) on ``cpus`` usable CPUs,
    ``n_workers`` and ``threads_per_worker`` as given (``None`` / ``"auto"``: chosen, see the
    module docstring).

    Raises:
        ConfigError: a GPU fraction above one (``resources_per_trial.gpu``), or ``n_workers``
            beyond the GPU slots this process sees (key ``n_workers``)."""
    held = dict(resources or {})
    cpu = held.get("cpu", 0.0) if resources is not None else 1.0
    threads = (max(1, math.floor(cpu)) if threads_per_worker == "auto"
               else threads_per_worker if isinstance(threads_per_worker, int) else None)
    by_cpu = (max(1, min(math.floor(cpus / cpu), LOCAL_WORKERS_PER_CPU * cpus)) if cpu > 0
              else cpus)
    g = trial_gpus(resources)
    if g <= 0:
        return Layout(n_workers if n_workers is not None else by_cpu, (), threads)
    ids = visible_gpus(environ, proc)
    slots = _slots(g, ids)
    if not slots:
        where = _where(environ)
        what = (f"{g:g} GPU{'s' if g != 1 else ''} per trial" if g >= 1
                else f"{g:g} of a GPU per trial")
        seen = (f"this process sees {len(ids)} ({where})" if ids
                else f"this process sees none ({where})")
        warning = (f"resources_per_trial asks for {what}, but {seen}: trials run on the "
                   f"CPU, and the ledger charges them the GPU-hours resources_per_trial says")
        return Layout(n_workers if n_workers is not None else by_cpu, (), threads, warning)
    if n_workers is None:
        return Layout(max(1, min(len(slots), by_cpu)), tuple(slots), threads)
    if n_workers > len(slots):
        raise ConfigError(key="n_workers", message=(
            f"{n_workers} trials at once holding {g:g} GPU{'s' if g != 1 else ''} each need "
            f"{math.ceil(n_workers * g)} GPU{'s' if n_workers * g > 1 else ''}, and this process "
            f"sees {len(ids)} ({_where(environ)}): at most {len(slots)} workers; lower "
            f"n_workers or resources_per_trial.gpu"))
    return Layout(n_workers, tuple(slots), threads)


def default_workers(resources: object, cpus: int | None = None) -> int:
    """The local executor's worker count when none is given, for trials holding
    ``resources`` (a study's ``resources_per_trial`` as given: ``None`` is one CPU) on
    ``cpus`` usable CPUs (default: ``usable_cpus()``): ``layout``'s, which is what ``auto``
    plans for too. Resources that cannot be laid out (malformed, a GPU fraction above one)
    count the CPUs alone: their error comes where they are checked."""
    from rung.core.pricing import check_table
    from rung.executors.processes import usable_cpus

    n = usable_cpus() if cpus is None else cpus
    try:
        held = None if resources is None else check_table(resources, "resources_per_trial")
        return layout(held, None, None, n).n_workers
    except ConfigError:
        return n


__all__ = ["NVIDIA_PROC", "Layout", "default_workers", "layout", "trial_gpus", "visible_gpus"]
