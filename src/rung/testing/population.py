"""An in-process population: ``run_population(study, workers, init, train)``.

It drives a ``Study`` through ``ask / report / checkpoint / tell`` with ``workers`` slots and
no executor, for tests and benchmarks of population schedulers (PBT, PB2) and any other:

- fill the free slots with ``ask`` (a trial handed a checkpoint starts from a copy of the state
  saved there: a paused trial resumes, a PBT fork continues its donor's state; any other starts
  from ``init``);
- the least advanced running trial (lowest step, then lowest id) trains one step and
  ``report``s its metrics;
- when the decision asks for a checkpoint, or pauses the trial, a copy of the state is stored
  under the path ``"<trial>/<step>"`` and ``checkpoint``-ed;
- a STOP tells ``"stopped"``, a PAUSE ``"paused"``, reaching ``max_step`` ``"completed"``;
- it returns when ``ask`` starts nothing and no trial is running.

States are opaque: ``train`` returns the next one (it may update the old one in place and
return it), ``copy`` makes a checkpoint independent of later training (the identity is enough
for immutable states). Everything runs in the calling thread, in a fixed order: given a
deterministic study and deterministic callables the run is reproducible.
"""

from __future__ import annotations

import copy as _copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from rung.core.events import Action

if TYPE_CHECKING:
    from rung.ask_tell import AskTell

S = TypeVar("S")

#: ``init(trial_id, params) -> state``: a fresh trial's state before its first step
Init = Callable[[int, Mapping[str, Any]], S]
#: ``train(state, trial_id, params, step) -> (state, metrics)``: train ``step`` (1-based)
Train = Callable[[S, int, Mapping[str, Any], int], tuple[S, Mapping[str, Any]]]


@dataclass(frozen=True)
class LastReport(Generic[S]):
    """A trial's last reported step, its metrics and its state after that step."""

    step: int
    metrics: Mapping[str, Any]
    state: S


@dataclass
class PopulationRun(Generic[S]):
    """What ``run_population`` did: ``steps`` trained in all (one ``train`` call each), and
    each trial's last report (a paused trial never resumed keeps its state at the pause)."""

    steps: int = 0
    last: dict[int, LastReport[S]] = field(default_factory=dict)


def run_population(
    study: AskTell,
    workers: int,
    init: Init[S],
    train: Train[S],
    copy: Callable[[S], S] = _copy.deepcopy,
    max_step: int | None = None,
) -> PopulationRun[S]:
    """Run ``study`` to its end with ``workers`` in-process slots (the module docstring gives
    the order of calls). ``max_step`` defaults to the study's.

    Raises:
        ValueError: ``workers`` is not a positive integer.
        KeyError: ``ask`` hands back a checkpoint path this run did not store.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    if max_step is None:
        max_step = int(study.spec.max_step)
    store: dict[str, S] = {}
    running: dict[int, tuple[S, int, Mapping[str, Any]]] = {}
    out: PopulationRun[S] = PopulationRun()
    while True:
        while len(running) < workers:
            t = study.ask()
            if t is None:
                break
            params: Mapping[str, Any] = dict(t.params)
            if t.checkpoint is not None:
                state, start = copy(store[t.checkpoint.path]), t.checkpoint.step
            else:
                state, start = init(t.id, params), 0
            running[t.id] = (state, start, params)
        if not running:
            return out
        tid = min(running, key=lambda i: (running[i][1], i))
        state, step, params = running[tid]
        step += 1
        state, metrics = train(state, tid, params, step)
        out.steps += 1
        out.last[tid] = LastReport(step, metrics, state)
        d = study.report(tid, step, metrics)
        if d.checkpoint or d.action is Action.PAUSE:
            path = f"{tid}/{step}"
            store[path] = copy(state)
            study.checkpoint(tid, step, path)
        if d.action is Action.STOP:
            study.tell(tid, "stopped")
            del running[tid]
        elif d.action is Action.PAUSE:
            study.tell(tid, "paused")
            del running[tid]
        elif step >= max_step:
            study.tell(tid, "completed")
            del running[tid]
        else:
            running[tid] = (state, step, params)
