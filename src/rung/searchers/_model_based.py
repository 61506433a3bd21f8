"""The skeleton that the model-based searchers share: their ``min_points`` parameter, and for
``gp`` and ``tpe`` the initial design that answers until a step can be modelled.

Private: the public names live in the searcher modules.
"""

from __future__ import annotations

from typing import Any

from rung._validate import check_bool, check_int
from rung.core.components import BindContext, Searcher, SuggestRequest
from rung.core.history import History
from rung.searchers._common import (
    Dims,
    FiniteConfigs,
    Observations,
    SobolDesign,
    UnitCache,
    dims_of,
    gather,
    model_step,
)
from rung.searchers._pending import initial_suggestion


def check_min_points(value: int | None, default: int, low: int) -> int:
    """The ``min_points`` parameter (observations a step needs to be modelled): ``default``
    when it is not given, else ``value``.

    Raises:
        ConfigError: ``value`` is not an integer >= ``low`` (key ``searcher.params.min_points``).
    """
    return default if value is None else check_int("searcher.params.min_points", value, low)


class DesignThenModel(Searcher):
    """A searcher that suggests the points of the study's scrambled Sobol' sequence (skipping
    pending configurations: ``_pending.initial_suggestion``) until it models the results at the
    largest step that has ``min_points`` of them (BOHB's rule, ``_common.model_step``).

    Neither the design nor the model proposes a configuration that a trial already has (in
    any state) while another is free (``_tried``): a repeat of a known configuration adds
    nothing. That happens only where the active parameters are all discrete: a finite space
    (every parameter integer, stepped or categorical), or a branch of a conditional space
    (``when=``) whose parameters are. Once every configuration of a finite space (of at most
    ``_common.EXHAUSTIBLE`` configurations) was tried, ``suggest`` returns ``None``: the
    searcher is exhausted and the search ends; with ``repeats=True`` (a noisy objective) it
    proposes configurations already tried instead.

    Subclasses take ``n_initial``, ``min_points`` and ``repeats`` as constructor parameters,
    call ``_bind_design`` in ``bind`` (after ``super().bind``), return ``None`` from
    ``suggest`` when ``_exhausted`` says so, and use ``_initial`` and ``_observations``.
    """

    n_initial: int
    min_points: int | None
    repeats: bool

    def _bind_design(self, ctx: BindContext, default_min_points: int,
                     min_points_low: int) -> None:
        """Resolve ``min_points`` (``check_min_points``) and build the space's unit encoding,
        the study's Sobol' design and the unit-vector cache."""
        self._min_points = check_min_points(self.min_points, default_min_points, min_points_low)
        check_bool("searcher.params.repeats", self.repeats)
        self._dims: Dims = dims_of(ctx.space)
        self._design = SobolDesign(ctx.space.n_dims, ctx.seed)
        self._units = UnitCache(ctx.space)
        self._finite = FiniteConfigs(ctx.space)

    def _exhausted(self, history: History) -> bool:
        """Every configuration of a finite space was tried, and ``repeats`` is off."""
        return not self.repeats and self._finite.exhausted(self._tried(history))

    def _tried(self, history: History) -> set[bytes]:
        """The keys of every trial's configuration, which are not proposed again while another
        configuration is free."""
        return self._units.tried(history)

    def _initial(self, request: SuggestRequest) -> dict[str, Any]:
        """The initial design's suggestion for ``request`` (a configuration no trial has while
        one is found)."""
        return initial_suggestion(self.space, self._dims, self._design, self._units, request,
                                  self._tried(request.history), self._finite)

    def _observations(self, history: History) -> tuple[int, Observations] | None:
        """The step to model and its observations, or ``None`` while no step has
        ``min_points`` results."""
        step = model_step(history, self._min_points)
        return None if step is None else (step, gather(history, step))
