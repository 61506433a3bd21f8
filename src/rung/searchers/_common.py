"""Shared machinery of the model-based searchers (Sobol initial design, unit-space snapping,
observation gathering). Private: the public names live in the searcher modules.

Everything here is a pure function of the space, the seed and the ``History`` it is given; the
caches only memoize such functions (a trial's params never change while a searcher is bound: a
define-by-run study rebinds its searcher when they do), so a searcher that uses them still
returns what a fresh instance would, as replay requires.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rung.core.history import History
from rung.core.records import TrialStatus
from rung.core.rng import derive_rng
from rung.space import Categorical, Float, Int, SearchSpace
from rung.space.learned import LearnedSpace

# dimension kinds in the unit encoding
CONT, DISC, CAT = 0, 1, 2


class SobolDesign:
    """The points of one scrambled Sobol sequence (Owen scrambling, scipy.stats.qmc), seeded
    from the study seed. ``point(i)`` is the ``i``-th point whatever was asked before: points
    are generated in power-of-two blocks and kept, so asking is O(1) amortized. The sequence's
    engine is built at the first point asked (a study read from its journal, whose searcher
    is bound but never asked, imports no ``scipy.stats``); its points depend on the seed only,
    not on when it is built."""

    def __init__(self, d: int, seed: int, key: str = "sobol") -> None:
        self.d = d
        # an integer seed: scipy re-seeds from a Generator's seed sequence in a way that loses
        # the derived entropy, so hand it a plain 63-bit seed drawn from the derived stream
        self._seed = int(derive_rng(seed, key).integers(2**63))
        self._engine: Any = None
        self._points = np.empty((0, max(d, 1)))

    def points(self, n: int) -> np.ndarray:
        """The first ``n`` points, shape ``(n, d)``."""
        have = self._points.shape[0]
        if have < n:
            if self._engine is None:
                # scipy.stats takes about a second to import: only when a Sobol sequence is
                # needed, not in every worker process that imports rung
                from scipy.stats import qmc

                self._engine = qmc.Sobol(max(self.d, 1), scramble=True,
                                         rng=np.random.default_rng(self._seed))
            # grow to the next power of two: Sobol' balance holds for prefixes of length 2**m
            target = 1 << max(4, (n - 1).bit_length())
            block = self._engine.random(target - have)
            self._points = np.vstack([self._points, block])
        return np.asarray(self._points[:n, : self.d])

    def point(self, i: int) -> np.ndarray:
        return np.array(self.points(i + 1)[i], dtype=float)


@dataclass(frozen=True, slots=True)
class Dims:
    """Per-dimension facts of the unit encoding, as arrays aligned with ``space.dims``.

    ``kind``: CONT (float, log int), DISC (an integer or stepped float: ``size`` equal bins),
    CAT (unordered categorical with ``size`` choices; an ``ordered=True`` categorical is DISC).
    """

    kind: np.ndarray
    size: np.ndarray
    log_int: tuple[tuple[int, float, float, int, int], ...]  # (dim, lo, hi, low, high)
    conditional: bool

    @property
    def d(self) -> int:
        return int(self.kind.shape[0])


def dims_of(space: SearchSpace) -> Dims:
    kind = np.zeros(space.n_dims, dtype=int)
    size = np.zeros(space.n_dims, dtype=int)
    log_int: list[tuple[int, float, float, int, int]] = []
    for j, name in enumerate(space.dims):
        p = space[name]
        if isinstance(p, Categorical):
            kind[j] = DISC if p.ordered else CAT
            size[j] = len(p.choices)
        elif isinstance(p, Int):
            if p.log:
                lo, hi = math.log(p.low - 0.5), math.log(p.high + 0.5)
                log_int.append((j, lo, hi, p.low, p.high))
            else:
                kind[j], size[j] = DISC, p._n
        elif isinstance(p, Float) and p.step is not None:
            kind[j], size[j] = DISC, p._n
    return Dims(kind, size, tuple(log_int), space.conditional)


def snap(space: SearchSpace, dims: Dims, U: np.ndarray, conditions: bool = True) -> np.ndarray:
    """Map raw unit points (rows of ``U``) to the encoding of the configurations they decode to:
    bin centres for discrete and categorical dimensions, exact codes for log integers and NaN for
    the dimensions the decoded values make inactive. Equal to
    ``space.to_unit(space.from_unit(u))`` row by row, vectorized when the space is not
    conditional. ``conditions=False`` snaps every coordinate as if all were active."""
    U = np.clip(np.asarray(U, dtype=float), 0.0, 1.0)
    if dims.conditional and conditions:
        return np.array([space.to_unit(space.from_unit(np.nan_to_num(u, nan=0.5))) for u in U])
    out = U.copy()
    binned = dims.kind != CONT
    if binned.any():
        n = dims.size[binned].astype(float)
        k = np.minimum(np.floor(U[:, binned] * n), n - 1)
        out[:, binned] = (k + 0.5) / n
    for j, lo, hi, low, high in dims.log_int:
        x = np.clip(np.round(np.exp(lo + U[:, j] * (hi - lo))), low, high)
        out[:, j] = (np.log(x) - lo) / (hi - lo)
    return out


def decode(space: SearchSpace, u: np.ndarray) -> dict[str, Any]:
    return space.from_unit(np.nan_to_num(np.asarray(u, dtype=float), nan=0.5))


#: the trials of a define-by-run study whose configuration may be a prefix of what they would
#: have asked for: they ended before their objective returned
_ENDED_EARLY = (TrialStatus.STOPPED, TrialStatus.FAILED)

#: what ``random``, ``sobol``, ``tpe``, ``gp`` and ``bohb`` record as their version's change
#: when ``UnitCache.tried`` learned the rule of define-by-run studies
DEFINE_BY_RUN_TRIED = (
    "in a define-by-run study a configuration counts as tried (not proposed again, and toward "
    "a finite space's exhaustion) only where it is known complete: its trial completed, is "
    "pending, paused or interrupted, or stopped or failed having asked for the same "
    "parameters under the same categorical choices as a completed trial; declared spaces "
    "are unchanged; was: one failure on branch 'a' before its next suggest call kept 'a' "
    "from being proposed again (random ended after 4 of 20 trials, every configuration "
    "'tried'); with it, a define-by-run trial's params merge over its runs and keep the "
    "searcher's proposals until it ends (rung.space.learned rule 3: relaunches carry them)")


class UnitCache:
    """Unit encodings of trials' params, by trial id (params never change while it is bound),
    and the keys (``_pending.config_key``) of the configurations tried."""

    def __init__(self, space: SearchSpace) -> None:
        self.space = space
        self._owner: History | None = None
        self._rows: dict[int, np.ndarray] = {}
        self._keys: set[bytes] = set()
        self._n_keyed = 0
        self._partial = isinstance(space, LearnedSpace)
        self._shapes: dict[int, frozenset[tuple[str, Any]]] = {}
        self._trial_keys: dict[int, bytes] = {}

    def _own(self, history: History) -> None:
        if self._owner is not history:
            self._owner, self._rows, self._keys, self._n_keyed = history, {}, set(), 0
            self._shapes, self._trial_keys = {}, {}

    def tried(self, history: History) -> set[bytes]:
        """Keys of the configurations tried in ``history``: every trial's, whatever its state
        (trial ids are dense and only grow: the set is extended, not rebuilt). The caller
        must not change it.

        In a define-by-run study (a ``LearnedSpace``) a trial's params are what it asked for,
        so one that ended early (stopped, failed) may hold only a prefix of its configuration
        (its branch's later parameters missing), which would look like a complete one of
        another branch. There a configuration counts as tried only where the study knows it
        is complete: its trial completed (the objective returned), or is pending, paused or
        interrupted (its params hold the searcher's proposals for what it has not asked), or
        ended early having asked for the same parameters, with the same categorical values,
        as a trial that completed (``_shape``). O(trials) per call."""
        self._own(history)
        if self._partial:
            return self._complete(history)
        n = len(history)
        if self._n_keyed < n:
            from rung.searchers._pending import config_key

            new = list(range(self._n_keyed, n))
            self._keys.update(config_key(u) for u in self.get(history, new))
            self._n_keyed = n
        return self._keys

    def _complete(self, history: History) -> set[bytes]:
        from rung.searchers._pending import config_key

        done = {self._shape(history, t) for t in history.ids(TrialStatus.COMPLETED)}
        keys = self._trial_keys
        out: set[bytes] = set()
        for t in history.ids():
            if history.status(t) in _ENDED_EARLY and self._shape(history, t) not in done:
                continue
            key = keys.get(t)
            if key is None:
                key = keys[t] = config_key(self.get(history, [t])[0])
            out.add(key)
        return out

    def _shape(self, history: History, tid: int) -> frozenset[tuple[str, Any]]:
        """What a trial asked for: its parameters' names, with the values of the categorical
        ones (typed: ``1`` is not ``True``), which decide the branches of the rest."""
        shape = self._shapes.get(tid)
        if shape is None:
            params = self.space.params
            shape = self._shapes[tid] = frozenset(
                (n, (type(v), v) if isinstance(params.get(n), Categorical) else None)
                for n, v in history.params(tid).items())
        return shape

    def get(self, history: History, ids: Sequence[int]) -> np.ndarray:
        self._own(history)
        rows = self._rows
        out = np.empty((len(ids), self.space.n_dims))
        for i, tid in enumerate(ids):
            r = rows.get(tid)
            if r is None:
                r = rows[tid] = self.space.to_unit(history.params(tid))
            out[i] = r
        return out


@dataclass(frozen=True, slots=True)
class Observations:
    """What a model is fit on: trials observed at ``step`` and the rest.

    Attributes:
        step: the fidelity modelled.
        ids: trials with a result at ``step``, and trials that failed by themselves
            (``History.counts_for_best`` false: they raised, reported an invalid metric, or
            were interrupted too often) without one, in id order; ``y`` their lower-is-better
            scores (``inf`` when the metric was missing or not finite, and for those failed
            trials: a configuration that crashes is as bad as the worst result, else a model
            never sees the failures and keeps proposing where every trial fails).
        pending: launched or running trials without a result at ``step`` (in id order).
        dropped: trials that ended (stopped or completed) below ``step``: a scheduler judged them
            worse than those it let reach ``step``.
    """

    step: int
    ids: list[int]
    y: np.ndarray
    pending: list[int]
    dropped: list[int]


def model_step(history: History, min_points: int) -> int | None:
    """The largest step with at least ``min_points`` results (BOHB's rule); ``None`` if none."""
    for s in reversed(history.steps()):
        if history.n_at_step(s) >= min_points:
            return s
    return None


def gather(history: History, step: int) -> Observations:
    table = history.at_step(step)
    by_id = [(tid, score) for score, tid in table]
    if history.count(TrialStatus.FAILED):
        at = {tid for _, tid in table}
        by_id += [(tid, math.inf) for tid in history.ids(TrialStatus.FAILED)
                  if tid not in at and not history.counts_for_best(tid)]
    by_id.sort()
    ids = [t for t, _ in by_id]
    y = np.array([s for _, s in by_id], dtype=float)
    seen = set(ids)
    pending = sorted(t for t in history.pending() if t not in seen)
    dropped: list[int] = []
    if history.steps() and step > history.steps()[0]:
        for tid in history.ids((TrialStatus.STOPPED, TrialStatus.COMPLETED)):
            if tid not in seen and 0 < history.last_step(tid) < step:
                dropped.append(tid)
    return Observations(step, ids, y, pending, dropped)


#: The most configurations a finite space may have for its searchers to be exhausted by it
#: (counted as the product of the parameters' numbers of values, conditions ignored). Above,
#: no study is expected to try them all, and the searchers never report exhaustion.
EXHAUSTIBLE = 10_000

class FiniteConfigs:
    """The configurations of a finite space (``SearchSpace.grid`` of all its values), with
    their keys (``_pending.config_key`` of the unit encoding, as ``UnitCache.tried`` keys a
    trial's), built on first use; none for an infinite space or one above ``EXHAUSTIBLE``.

    A searcher asks ``exhausted(tried)`` (every configuration was tried) and ``untried(tried,
    rng)`` (a uniform pick among those no trial has, for when random draws keep meeting tried
    ones near the end of a finite space)."""

    def __init__(self, space: SearchSpace) -> None:
        self.space = space
        self._built = False
        self._configs: list[dict[str, Any]] = []
        self._keys: list[bytes] = []

    def _build(self) -> None:
        if self._built:
            return
        self._built = True
        values = self.space.values_per_param()
        if values is None or math.prod(values.values()) > EXHAUSTIBLE:
            return
        from rung.searchers._pending import config_key

        space = self.space
        self._configs = space.grid({n: values.get(n, 1) for n in space.order})
        self._keys = [config_key(space.to_unit(c)) for c in self._configs]

    @property
    def size(self) -> int | None:
        """How many configurations the space has, or ``None`` (infinite, or above
        ``EXHAUSTIBLE``)."""
        self._build()
        return len(self._configs) if self._configs else None

    def exhausted(self, tried: set[bytes]) -> bool:
        """Whether every configuration's key is in ``tried`` (O(1) until the study has as many
        distinct configurations as the space)."""
        n = self.size
        return n is not None and len(tried) >= n and all(k in tried for k in self._keys)

    def untried(self, tried: set[bytes], rng: np.random.Generator) -> dict[str, Any] | None:
        """A configuration no trial has, drawn uniformly with ``rng`` from those of the space;
        ``None`` when there is none, or the space is not one of these."""
        if self.size is None:
            return None
        free = [i for i, k in enumerate(self._keys) if k not in tried]
        if not free:
            return None
        return dict(self._configs[free[int(rng.integers(len(free)))]])


def why_exhausted(searcher: object, history: History) -> str | None:
    """Why a built-in searcher has no configuration left to propose (one line, for the
    study's summary and ``rung show``), or ``None`` when it has, or is not one that can run
    out: ``grid`` after its last point; ``random``, ``sobol``, ``tpe``, ``gp`` and ``bohb``
    once every configuration of a finite space was tried (``repeats`` off)."""
    name = getattr(searcher, "name", "") or type(searcher).__name__
    grid = getattr(searcher, "_grid", None)
    if isinstance(grid, list):
        n = len(grid)
        if history.n_suggested >= n:
            return f"the {name} searcher proposed every one of its {n} points"
        return None
    finite = getattr(searcher, "_finite", None)
    units = getattr(searcher, "_units", None)
    if (not isinstance(finite, FiniteConfigs) or not isinstance(units, UnitCache)
            or getattr(searcher, "repeats", True)):
        return None
    if not finite.exhausted(units.tried(history)):
        return None
    return (f"the {name} searcher tried every one of the space's {finite.size} configurations "
            f"(repeats=True tries them again, for a noisy objective)")
