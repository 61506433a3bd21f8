"""``Trial``: what a define-by-run objective gets (``rung.optimize``).

The searcher placed a configuration in the driver before the trial ran (``ctx.params``: values
for the parameters the study knew then, on the branch the searcher chose). A ``suggest_*`` call
returns that value when the distribution it declares contains it. A parameter the study does
not know yet, one on a branch the searcher did not choose, and one whose proposed value lies
outside the range this call declares (its bounds depend on another parameter, as in
``trial.suggest_int("units", 1, depth)``: the learned range spans every range declared for it)
is drawn from the call's distribution, with a generator derived from ``(seed, trial id,
name)``, so a rerun of the trial draws the same value. A proposal drawn from the learned
distribution thus gives a value drawn from the call's (a random searcher stays random).

A resumed run (a paused or interrupted trial relaunched) is given the values the trial used in
its earlier runs and the searcher's proposals for the parameters it has not asked for yet, so
its ``suggest_*`` calls return the same values as an uninterrupted run's.

A value that was *enqueued* (``points_to_evaluate``, ``Study.enqueue``) is used as given, or
its trial fails naming it: a categorical choice (or a value of the wrong type) that the call
does not declare raises ``EnqueuedValueError`` at once; a number outside the call's range is
replaced by a draw, as a proposal would be (the worker cannot tell the two apart), and the
driver, which can, fails the trial (``rung.core.proposals``). Neither stops the search.

What the trial used is sent to the driver (``TrialContext._send_params``) before its next report
and when it ends: the names in the order this run asked for them and the distribution declared
for each, and whether the run ended for good (``rung.space.learned.RULE_KEY``). The driver
journals it (``ParamsUsed``), merges it into the trial's params in the history, and grows the
study's space (``rung.space.learned``).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rung._steps import step_back
from rung._validate import is_number
from rung.core.rng import derive_rng
from rung.dbr.metrics import as_metrics
from rung.errors import ConfigError, SpaceError
from rung.space.learned import RULE, RULE_KEY, describe, incompatible, incompatible_error
from rung.space.params import Categorical, Float, Int, Param, Scalar

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from rung.executors.worker import SaveFn, TrialContext
    from rung.space.fidelity import Number


class EnqueuedValueError(ConfigError):
    """A value given for a parameter (an enqueued one: the searcher proposes only values of
    the learned distribution) does not fit the distribution its call declares. It fails the
    trial, not the search: ``rung.optimize`` stops its run only at a ``ConfigError`` that
    every trial would meet (the driver still reports a changed declaration as such)."""


class Trial:
    """One define-by-run trial, on the worker.

    Attributes:
        id: the trial's id in the study.
        params: the values suggested so far in this run, by name, in suggestion order.
        start_step, max_step, checkpoint, fidelity: as on ``rung.TrialContext``.
        ctx: the underlying ``TrialContext``.

    Not thread-safe: use it from the thread running the objective.
    """

    __slots__ = ("_counting", "_declared", "_dirty", "_metrics", "_refused", "_replaced",
                 "_seed", "ctx", "params")

    # where max_step comes from, for report()'s message
    _MAX_STEP_FROM = "the study's max_step"
    _MAX_STEP_ARG = "rung.optimize(max_step=...)"

    def __init__(self, ctx: TrialContext, metrics: Sequence[str], seed: int) -> None:
        self.ctx = ctx
        self._metrics = tuple(metrics)
        self._seed = seed
        self.params: dict[str, Any] = {}
        self._declared: dict[str, dict[str, Any]] = {}
        self._replaced: dict[str, Any] = {}  # proposals outside their call's range, by name
        # distributions of calls whose given value did not fit (the driver judges whether the
        # declaration itself conflicts with the known one)
        self._refused: dict[str, dict[str, Any]] = {}
        self._dirty = False
        # the value of this run's last report while its values count up by one like steps
        # from a first report not at start_step (Optuna's report(value, step) order, with
        # an integer metric first: report(16, 17), report(15, 18)); None otherwise
        self._counting: int | None = None

    @property
    def id(self) -> int:
        return self.ctx.trial_id

    @property
    def start_step(self) -> int:
        return self.ctx.start_step

    @property
    def max_step(self) -> int:
        return self.ctx.max_step

    @property
    def checkpoint(self) -> str | None:
        return self.ctx.checkpoint

    @property
    def fidelity(self) -> Number | None:
        return self.ctx.fidelity

    def __repr__(self) -> str:
        return f"Trial(id={self.id}, params={self.params!r})"

    # --- suggestions --------------------------------------------------------------------------
    def suggest_float(
        self, name: str, low: float, high: float, log: bool = False, step: float | None = None
    ) -> float:
        """A real value in ``[low, high]`` (log-uniform with ``log=True``; on the grid
        ``low + k * step`` with ``step``)."""
        _check_log(name, log, "suggest_float")
        v = self._suggest(name, Float(low, high, log=log, step=step))
        assert isinstance(v, float)
        return v

    def suggest_int(
        self, name: str, low: int, high: int, log: bool = False, step: int = 1
    ) -> int:
        """An integer in ``[low, high]``, both inclusive."""
        _check_log(name, log, "suggest_int")
        v = self._suggest(name, Int(low, high, log=log, step=step))
        assert isinstance(v, int)
        return v

    def suggest_categorical(
        self, name: str, choices: Sequence[Scalar] | NDArray[Any]
    ) -> Any:
        """One of ``choices`` (JSON scalars; a list, tuple or 1-d NumPy array). Parameters
        suggested after it only under some of its values are learned as conditional on it."""
        if getattr(choices, "ndim", None) == 1 and callable(getattr(choices, "tolist", None)):
            choices = choices.tolist()  # type: ignore[union-attr]  # a NumPy array, as Optuna
        if isinstance(choices, str) or not isinstance(choices, Sequence):
            raise ConfigError(key=f"{name}.choices", message=f"must be a list of choices, got "
                              f"{choices!r}")
        return self._suggest(name, Categorical(list(choices)))

    def _suggest(self, name: str, param: Param) -> Scalar:
        if not isinstance(name, str) or not name:
            raise ConfigError(key="name", message=f"a parameter name is a non-empty string, "
                              f"got {name!r}")
        param._bind(name)  # checks the distribution: SpaceError naming the parameter
        declared = param.to_json()
        known = self._declared.get(name)
        if known is not None:  # asked again in the same run: the same value (as Optuna)
            value = self.params[name]
            if known != declared:
                what = incompatible(known, declared)
                if what is not None:
                    raise incompatible_error(name, known, declared, what)
                if not param.contains(value):
                    raise ConfigError(key=name, message=(
                        f"asked again as {describe(declared)}, which does not contain the "
                        f"value {value!r} it has in this trial (asked first as "
                        f"{describe(known)}): a parameter has one value per trial"))
            return value  # type: ignore[no-any-return]
        try:
            value = self._value(name, param)
        except EnqueuedValueError:
            self._refused[name] = declared
            self._dirty = True
            raise
        self.params[name] = value
        self._declared[name] = declared
        self._dirty = True
        return value

    def _value(self, name: str, param: Param) -> Scalar:
        """The value of ``name``, asked for the first time in this run with ``param``."""
        proposed = self.ctx.params
        if name not in proposed:
            return param.sample(derive_rng(self._seed, "define-by-run", self.id, name))
        try:
            return param.validate(proposed[name])
        except SpaceError as e:
            if not (isinstance(param, Float | Int) and is_number(proposed[name])):
                raise EnqueuedValueError(key=name, message=f"the value given for it "
                                         f"({e.message}) does not fit the distribution "
                                         "declared here") from None
        # outside this call's range or grid (bounds that vary between calls): a draw; the
        # driver checks that what was replaced was the searcher's (in its range)
        self._replaced[name] = proposed[name]
        return param.sample(derive_rng(self._seed, "define-by-run", self.id, name))

    # --- reporting ----------------------------------------------------------------------------
    def report(
        self, step: int, value: Any = None, save: SaveFn | None = None, **metrics: Any
    ) -> None:
        """Report the objective's ``value`` at ``step`` (under the study's metric name; a
        sequence of values for a multi-objective study) and any other ``metrics``; applies the
        scheduler's decision as ``TrialContext.report`` does.

        ``step`` comes first and counts from 1 (Optuna's ``trial.report(value, step)`` has
        the arguments the other way round, and its loops usually count from 0).

        Raises:
            StopTrial, PauseTrial: the scheduler stopped or paused the trial; let them
                propagate.
            ConfigError: ``step`` is not an integer from 1 to ``max_step``, is a float
                while ``value`` is an integer (Optuna's order), or is below the step this
                run reported last (key ``step``; ``rung.optimize`` then raises it, naming the
                trial; a step refused while this run's values count up by one like steps
                names Optuna's order), or ``value`` is not a number, one per objective, or a
                mapping, or gives a metric also given as a keyword (key ``value``).
        """
        _check_step(step, value)
        back = step_back(step, self.ctx.last_step, resumed=not self.ctx.has_reported)
        if back is not None:
            raise ConfigError(key="step", message=back + self._counted(step, value))
        if step > self.max_step:
            # an Optuna loop reports as many steps as it likes; here the study counts them
            raise ConfigError(key="step", message=(
                f"report(step={step!r}) is above {self._MAX_STEP_FROM} ({self.max_step}): "
                f"give {self._MAX_STEP_ARG} the number of steps the objective reports, and "
                "loop up to trial.max_step" + self._counted(step, value)))
        if value is not None:
            given = self.as_metrics(value)
            twice = [k for k in given if k in metrics]
            if twice:
                raise ConfigError(key="value", message=(
                    f"metric {twice[0]!r} given twice, as the value ({given[twice[0]]!r}) "
                    f"and as a keyword ({twice[0]}={metrics[twice[0]]!r}): give it once"))
            metrics.update(given)
        if not _is_int(value):
            counts = False
        elif self.ctx.has_reported:  # the next value of the count
            counts = self._counting is not None and value == self._counting + 1
        else:  # rung's loops report start_step first, Optuna's a metric value there
            counts = step != self.start_step
        self._counting = int(value) if counts else None
        self._flush()
        self.ctx.report(step, save=save, **metrics)

    def _counted(self, step: int, value: Any) -> str:
        """For a refused ``step``: Optuna's order, named when the values of this run count up
        by one like steps (``_counting``) and ``value`` is the next; else nothing."""
        last = self._counting
        if last is None or not _is_int(value) or value != last + 1:
            return ""
        return (f" (the values count up by one like steps, {last} then {value}: Optuna's "
                f"trial.report(value, step) has them the other way round; rung's order is "
                f"trial.report({value}, {step}))")

    def should_prune(self) -> bool:
        """Optuna's question after ``report``, so that a ported objective's ``if
        trial.should_prune(): raise optuna.TrialPruned()`` runs as it is: always ``False``.
        ``report`` applies the scheduler's decision itself (it raises ``StopTrial`` or
        ``PauseTrial``), so once it has returned the trial goes on; a decision that arrives
        later is applied at the next ``report``."""
        return False

    def as_metrics(self, value: Any) -> dict[str, Any]:
        """``value`` (a number, one per objective, or a mapping) as the study's metrics, by
        the rule a returned value follows (``rung.dbr.metrics.as_metrics``).

        Raises:
            ConfigError: any other value (key ``value``), naming its type.
        """
        return as_metrics(value, self._metrics, "value") or {}

    def _flush(self, final: bool = False) -> None:
        """Send what this run used, if it suggested anything new since the last time, with
        the rule its declarations follow (``rung.space.learned.RULE_KEY``). ``final``: the
        run ended for good (the trial will not be resumed); it is said whenever the run was
        given a value it never asked for, so that the driver drops the proposals the trial
        never used."""
        given = getattr(self.ctx, "params", None) or {}  # (no context: a test's objective)
        final = final and any(k not in self.params for k in given)
        if self._dirty or final:
            self._dirty = False
            rule = dict(RULE) | ({"replaced": dict(self._replaced)} if self._replaced else {})
            if final:
                rule["final"] = True
            self.ctx._send_params(self.params, {**self._refused, **self._declared,
                                                RULE_KEY: rule})

    if not TYPE_CHECKING:  # (mypy would take any attribute name for one of a Trial's)

        def __getattr__(self, name: str) -> Any:
            # only reached for a missing attribute: say what an Optuna objective's call is
            hint = _OPTUNA_WORDS.get(name)
            if hint is None:
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            raise AttributeError(f"rung's define-by-run Trial has no {name!r} (Optuna's): {hint}")


#: Optuna ``Trial`` attributes a ported objective may use, and what to write instead
_OPTUNA_WORDS = {
    "number": "trial.id (counted from 0, as Optuna's number)",
    "suggest_uniform": "trial.suggest_float(name, low, high)",
    "suggest_loguniform": "trial.suggest_float(name, low, high, log=True)",
    "suggest_discrete_uniform": "trial.suggest_float(name, low, high, step=q)",
    "suggest_int_log": "trial.suggest_int(name, low, high, log=True)",
    "set_user_attr": "report extra values as metrics: trial.report(step, value, name=x)",
    "user_attrs": "extra values are reported as metrics: trial.report(step, value, name=x)",
    "study": "the objective runs in a worker process: it has no study object",
}


def _check_log(name: Any, log: Any, call: str) -> None:
    """A number given as ``log`` is most likely a step given fourth, as Optuna 3's
    ``suggest_int(name, low, high, step)`` took it."""
    if isinstance(log, numbers.Real) and not isinstance(log, bool):
        raise ConfigError(key=f"{name}.log", message=(
            f"must be true or false, got {log!r}: the fourth argument of {call} is log; "
            f"give a step as step={log!r}"
            + (" (Optuna 3's suggest_int(name, low, high, step) took it fourth)"
               if call == "suggest_int" else "")))


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_step(step: Any, value: Any) -> None:
    """``step`` must be an integer >= 1; a number that is not is most likely Optuna's order
    (``report(value, step)``), and so is a float step with an integer value (a loss of
    exactly 0.0 or an accuracy of 1.0 reported at step 3 the Optuna way); an integer below 1
    is a loop counted from 0."""
    swapped = _is_int(value)
    if isinstance(step, bool):
        ok = False
    elif isinstance(step, int):
        ok = True
    elif isinstance(step, float):
        ok = step.is_integer() and not swapped
    else:
        try:
            step = step.__index__()
            ok = True
        except (AttributeError, TypeError):
            ok = False
    if not ok:
        raise ConfigError(key="step", message=f"trial.report(step, value) takes the step "
                          f"first, an integer >= 1; got step={step!r}, value={value!r}"
                          + (" (Optuna's trial.report(value, step) has them the other way "
                             "round)" if swapped else ""))
    if step < 1:
        raise ConfigError(key="step", message=f"must be >= 1 (rung counts steps from 1: in a "
                          f"loop over range(n), report epoch + 1), got {step!r}")


__all__ = ["EnqueuedValueError", "Trial"]
