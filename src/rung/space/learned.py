"""A search space learned from the code path of define-by-run trials (``rung.optimize``).

A define-by-run objective declares each parameter where it uses it
(``trial.suggest_float("lr", 1e-5, 1e-1, log=True)``). The driver never sees the objective's
code, only what each trial reports it used: the parameters in the order they were suggested,
and the distribution declared for each. ``SpaceLearner`` folds those reports into an ordinary
``SearchSpace``, so every searcher works on it unchanged:

- a parameter's distribution is the one first declared for it; declaring it again with another
  distribution is a conflict (``conflict`` names the parameter);
- its ``when=`` condition is learned from the branches it was used under: for every categorical
  parameter suggested *before* it in every trial that used it, the values that categorical took
  in those trials. A condition that has seen every choice of its parent is dropped (the
  parameter does not depend on that branch), so conditions only narrow what was observed, and
  widen as new branches use the parameter. Only categorical parents are learned (a branch on a
  numeric value gives an unconditional parameter, which a trial may leave unused).

The rule cannot produce a cycle: if ``b`` is conditional on ``a``, ``a`` came before ``b`` in
every trial that used ``b``, so ``b`` never came before ``a`` in a trial that used ``a``.

The learned space is a pure function of the reports in journal order, so replay rebuilds it
exactly (this is Optuna's define-by-run interface, Akiba et al., "Optuna: A Next-generation
Hyperparameter Optimization Framework", KDD 2019, with the conditional structure made explicit
for rung's searchers, which model ``when=`` branches).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rung.errors import ConfigError
from rung.space.params import Categorical, param_from_json
from rung.space.search_space import SearchSpace


def base_json(declared: Mapping[str, Any]) -> dict[str, Any]:
    """A declared distribution's JSON without its ``when`` (which is learned, not declared)."""
    return {k: v for k, v in declared.items() if k != "when"}


def conflict_error(name: str, before: Mapping[str, Any], now: Mapping[str, Any]) -> ConfigError:
    """The one-line error for a parameter declared with two distributions."""
    return ConfigError(key=name, message=f"declared as {_show(before)} before, now as "
                       f"{_show(now)}: a parameter keeps one distribution")


def _show(d: Mapping[str, Any]) -> str:
    body = ", ".join(f"{k}={v!r}" for k, v in d.items() if k != "type")
    return f"{d.get('type', '?')}({body})"


class SpaceLearner:
    """The space of a define-by-run study, grown from what its trials used.

    Args:
        initial: parameters known before any trial (may be empty); they keep their own
            conditions and are never re-learned.
    """

    def __init__(self, initial: SearchSpace) -> None:
        self._fixed = {n: p.to_json() for n, p in initial.params.items()}
        self._dists: dict[str, dict[str, Any]] = {n: base_json(d) for n, d in self._fixed.items()}
        self._parents: dict[str, dict[str, list[Any]]] = {}
        self._choices: dict[str, list[Any]] = {
            n: list(p.choices) for n, p in initial.params.items() if isinstance(p, Categorical)
        }
        self.space = initial

    @property
    def distributions(self) -> dict[str, dict[str, Any]]:
        """Every declared distribution (JSON, without ``when``), in first-declared order."""
        return dict(self._dists)

    def conflict(self, declared: Mapping[str, Mapping[str, Any]]) -> ConfigError | None:
        """The error for the first parameter of ``declared`` whose distribution differs from
        the one already known, ``None`` if all agree (or are new)."""
        for name, d in declared.items():
            known = self._dists.get(name)
            if known is not None and known != base_json(d):
                return conflict_error(name, known, base_json(d))
        return None

    def observe(
        self, used: Mapping[str, Any], declared: Mapping[str, Mapping[str, Any]]
    ) -> bool:
        """Fold one trial's report in: ``used`` maps names to values in the order the trial
        suggested them; ``declared`` gives the distribution of (at least) every new name.
        Idempotent for a repeated report. Returns True when the space changed.

        Raises:
            ConfigError: a new parameter's distribution is not a valid parameter (the worker
                checks this first, so only a hand-made journal gets here).
        """
        changed = False
        for name in used:
            if name not in self._dists:
                d = declared.get(name)
                if d is None:
                    raise ConfigError(key=name, message="used without a declared distribution")
                p = param_from_json(name, base_json(d))._bind(name)
                self._dists[name] = base_json(d)
                if isinstance(p, Categorical):
                    self._choices[name] = list(p.choices)
                changed = True
        seen: list[str] = []
        for name in used:
            if name not in self._fixed:
                before = {c: used[c] for c in seen if c in self._choices}
                parents = self._parents.get(name)
                if parents is None:
                    self._parents[name] = {c: [v] for c, v in before.items()}
                    changed = True
                else:
                    for c in list(parents):
                        if c not in before:
                            del parents[c]
                            changed = True
                        elif before[c] not in parents[c]:
                            parents[c].append(before[c])
                            changed = True
            seen.append(name)
        if changed:
            self.space = self._build()
        return changed

    def _build(self) -> SearchSpace:
        params: dict[str, dict[str, Any]] = {}
        for name, d in self._dists.items():
            if name in self._fixed:
                params[name] = self._fixed[name]
                continue
            when: dict[str, list[Any]] = {}
            for c, values in self._parents.get(name, {}).items():
                choices = self._choices[c]
                if len(values) < len(choices):
                    when[c] = [v for v in choices if v in values]  # in the choices' order
            params[name] = d | ({"when": when} if when else {})
        return SearchSpace.from_json(params)


__all__ = ["SpaceLearner", "base_json", "conflict_error"]
