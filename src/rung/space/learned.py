"""A search space learned from the code path of define-by-run trials (``rung.optimize``).

A define-by-run objective declares each parameter where it uses it
(``trial.suggest_float("lr", 1e-5, 1e-1, log=True)``). The driver never sees the objective's
code, only what each trial reports it used: the parameters in the order they were suggested,
and the distribution declared for each. ``SpaceLearner`` folds those reports into an ordinary
``SearchSpace``, so every searcher works on it unchanged:

- a parameter's distribution is the union of those declared for it: its kind (float, int,
  categorical), log scale and choices are fixed by the first declaration, and declaring another
  is a conflict (``conflict`` names the parameter, as Optuna's storage refuses it); its bounds
  and step may differ from call to call (``units = trial.suggest_int("units", 1, depth)``), and
  the learned parameter spans every range declared (``hull``: the lowest low, the highest
  high, a step every declared grid lies on). The searcher proposes in that span; the trial
  keeps a proposal its call's range contains and otherwise draws from the call's distribution
  (``rung.dbr.trial``), and reports the value it used, which the history records;
- its ``when=`` condition is learned from the branches it was used under: for every categorical
  parameter suggested *before* it in every trial that used it, the values that categorical took
  in those trials. A condition that has seen every choice of its parent is dropped (the
  parameter does not depend on that branch), so conditions only narrow what was observed, and
  widen as new branches use the parameter. Only categorical parents are learned (a branch on a
  numeric value gives an unconditional parameter, which a trial may leave unused).

The rule cannot produce a cycle: if ``b`` is conditional on ``a``, ``a`` came before ``b`` in
every trial that used ``b``, so ``b`` never came before ``a`` in a trial that used ``a``.

Which rule a report follows is in its ``declared[RULE_KEY]["rule"]`` (the key is ``""``, which
no parameter can have: names are non-empty), so a journal replays by the rule it was written
under:

- no entry (rule 1, journals written before bounds could vary): ``conflict`` calls any second
  distribution a conflict, so their replay makes the same decisions, conflicts included;
- rule 2: bounds and step may vary as above; a report gives what the trial used so far *in
  this run*, and replaces the trial's params (``rung.core.proposals``);
- rule 3 (every report of this code): bounds as rule 2; a report gives what this run asked,
  which is merged into what the trial used in earlier runs, and its ``"final"`` entry says the
  run ended for good (the objective returned or raised, or the trial was stopped): the
  searcher's proposals for the parameters the trial never asked are then dropped from its
  params (``rung.core.proposals``). Once the learner has seen a rule-3 report, its space is a
  ``LearnedSpace``: searchers then count a configuration as tried only where its trial is
  known to have asked for everything (``rung.searchers._common.UnitCache.tried``).

The entry's ``"replaced"`` holds the proposals the trial replaced by a draw, by name: one
outside the learned range was not the searcher's (it was enqueued, ``points_to_evaluate``) and
is a conflict (rules 1 and 2; under rule 3 the driver fails the trial of an enqueued value
that does not fit, without stopping the search).

The learned space is a pure function of the reports in journal order, so replay rebuilds it
exactly (this is Optuna's define-by-run interface, Akiba et al., "Optuna: A Next-generation
Hyperparameter Optimization Framework", KDD 2019, with the conditional structure made explicit
for rung's searchers, which model ``when=`` branches).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from rung.errors import ConfigError
from rung.space.params import Categorical, param_from_json
from rung.space.search_space import SearchSpace

#: the entry of a ``ParamsUsed.declared`` that says which rule the worker applied (a key no
#: parameter can have); rule 2: bounds and step may vary between calls; rule 3: reports merge
#: across runs (see the module docstring). Absent: rule 1 (one distribution per parameter),
#: the rule of journals written before it.
RULE_KEY = ""
RULE = {"rule": 3}
#: the rule from which reports merge across a trial's runs and say when its run ended
MERGING = 3


def base_json(declared: Mapping[str, Any]) -> dict[str, Any]:
    """A declared distribution's JSON without its ``when`` (which is learned, not declared)."""
    return {k: v for k, v in declared.items() if k != "when"}


def conflict_error(name: str, before: Mapping[str, Any], now: Mapping[str, Any]) -> ConfigError:
    """The one-line error for a parameter declared with two distributions, under rule 1 (a
    journal written before bounds could vary, or a parameter of the study's initial space)."""
    return ConfigError(key=name, message=f"declared as {describe(before)} before, now as "
                       f"{describe(now)}: a parameter keeps one distribution")


def incompatible(before: Mapping[str, Any], now: Mapping[str, Any]) -> str | None:
    """What ``now`` changes that a parameter must keep (its kind, log scale, categorical
    choices and their order flag), ``None`` when only bounds or step differ. Both are
    distributions' JSON (``when`` ignored)."""
    if before.get("type") != now.get("type"):
        return "its kind"
    if before.get("type") == "categorical":
        if before.get("choices") != now.get("choices") or \
                bool(before.get("ordered")) != bool(now.get("ordered")):
            return "its choices"
        return None
    if bool(before.get("log")) != bool(now.get("log")):
        return "its log scale"
    return None


def incompatible_error(
    name: str, before: Mapping[str, Any], now: Mapping[str, Any], what: str
) -> ConfigError:
    """The one-line error for a declaration ``incompatible`` with the known one."""
    return ConfigError(key=name, message=f"declared as {describe(before)} before, now as "
                       f"{describe(now)}: a parameter keeps {what} (only its bounds and step may "
                       "change from call to call)")


def hull(name: str, a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """The smallest distribution of the kind of ``a`` and ``b`` (compatible numeric ones, JSON
    without ``when``) that contains every value either contains: the lowest low, the highest
    high, and a step on which both grids lie (none, or 1 for integers, when there is no such
    step)."""
    out: dict[str, Any] = {"type": a["type"], "low": min(a["low"], b["low"]),
                           "high": max(a["high"], b["high"])}
    if a.get("log"):
        out["log"] = True
    if a["type"] == "int":
        step = math.gcd(int(a.get("step", 1)), int(b.get("step", 1)),
                        int(a["low"]) - out["low"], int(b["low"]) - out["low"])
        if step > 1:
            out["step"] = step
    elif a.get("step") is not None and b.get("step") is not None:
        step = min(a["step"], b["step"])
        if all(_multiple(x, step) for x in (a["step"], b["step"], a["low"] - out["low"],
                                             b["low"] - out["low"])):
            out["step"] = step
    return param_from_json(name, out)._bind(name).to_json()


def _multiple(x: float, step: float) -> bool:
    k = x / step
    return abs(k - round(k)) <= 1e-9 * max(1.0, abs(k))


def describe(d: Mapping[str, Any]) -> str:
    """A distribution's JSON as one would write it: ``int(low=1, high=8)``."""
    body = ", ".join(f"{k}={v!r}" for k, v in d.items() if k != "type")
    return f"{d.get('type', '?')}({body})"


class LearnedSpace(SearchSpace):
    """A space learned from define-by-run trials that report by rule 3 (``MERGING``): an
    ordinary ``SearchSpace`` whose trials' params may be incomplete configurations (a trial
    that failed, or was stopped, before asking for all its parameters holds only those it
    asked for). Searchers read it as that mark (``rung.searchers._common.UnitCache.tried``)."""


class SpaceLearner:
    """The space of a define-by-run study, grown from what its trials used.

    Args:
        initial: parameters known before any trial (may be empty); they keep their own
            conditions and are never re-learned.

    Attributes:
        space: the space learned so far (a ``LearnedSpace`` once a rule-3 report was seen).
        used: by trial id, what the trial used over all its runs, in the order it first asked
            (kept by ``rung.core.proposals``, which merges each report into it).
        enqueued: by trial id, the enqueued configuration a trial was launched with (kept by
            ``rung.core.proposals``, to tell an enqueued value from the searcher's).
    """

    def __init__(self, initial: SearchSpace) -> None:
        self._fixed = {n: p.to_json() for n, p in initial.params.items()}
        self._dists: dict[str, dict[str, Any]] = {n: base_json(d) for n, d in self._fixed.items()}
        self._parents: dict[str, dict[str, list[Any]]] = {}
        self._choices: dict[str, list[Any]] = {
            n: list(p.choices) for n, p in initial.params.items() if isinstance(p, Categorical)
        }
        self._rule = 1  # the highest rule of the reports observed
        self.space = initial
        self.used: dict[int, dict[str, Any]] = {}
        self.enqueued: dict[int, dict[str, Any]] = {}

    @property
    def distributions(self) -> dict[str, dict[str, Any]]:
        """Every parameter's learned distribution (JSON, without ``when``: the union of those
        declared for it), in first-declared order."""
        return dict(self._dists)

    def conflict(self, declared: Mapping[str, Mapping[str, Any]]) -> ConfigError | None:
        """The error for the first parameter of ``declared`` whose distribution the known one
        does not admit, ``None`` if all are admitted (or new). Under rule 2 (the report
        carries ``RULE_KEY``) a distribution that differs only in bounds or step is admitted
        (``observe`` widens the parameter); under rule 1, and for a parameter of the initial
        space, any difference is a conflict."""
        per_call = rule_of(declared) >= 2
        if per_call:
            replaced = declared[RULE_KEY].get("replaced") or {}
            for name, v in replaced.items():
                known = self._dists.get(name)
                if known is None or not param_from_json(name, known)._bind(name).contains(v):
                    d = declared.get(name) or {}
                    return ConfigError(key=name, message=(
                        f"the value given for it, {v!r}, does not fit the distribution "
                        f"declared here, {describe(d)} (an enqueued value must fit it)"))
        for name, d in declared.items():
            known = self._dists.get(name)
            if name == RULE_KEY or known is None or known == base_json(d):
                continue
            if not per_call or name in self._fixed:
                return conflict_error(name, known, base_json(d))
            what = incompatible(known, base_json(d))
            if what is not None:
                return incompatible_error(name, known, base_json(d), what)
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
        rule = rule_of(declared)
        per_call = rule >= 2
        if rule >= MERGING > self._rule:
            changed = True  # the space becomes a LearnedSpace
        self._rule = max(self._rule, rule)
        for name in used:
            known = self._dists.get(name)
            if known is None:
                d = declared.get(name)
                if d is None:
                    raise ConfigError(key=name, message="used without a declared distribution")
                p = param_from_json(name, base_json(d))._bind(name)
                self._dists[name] = base_json(d)
                if isinstance(p, Categorical):
                    self._choices[name] = list(p.choices)
                changed = True
            elif per_call and name not in self._fixed and name in declared:
                d = base_json(declared[name])
                if d != known and d["type"] != "categorical":  # conflict() admitted it
                    wider = hull(name, known, d)
                    if wider != known:
                        self._dists[name] = wider
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
                        elif not _has(parents[c], before[c]):
                            parents[c].append(before[c])
                            changed = True
            seen.append(name)
        if changed:
            self.space = self._build()
        return changed

    def _build(self) -> SearchSpace:
        kind = LearnedSpace if self._rule >= MERGING else SearchSpace
        if not self._dists:  # a report that used nothing
            return kind.empty()
        params: dict[str, dict[str, Any]] = {}
        for name, d in self._dists.items():
            if name in self._fixed:
                params[name] = self._fixed[name]
                continue
            when: dict[str, list[Any]] = {}
            for c, values in self._parents.get(name, {}).items():
                choices = self._choices[c]
                if len(values) < len(choices):
                    when[c] = [v for v in choices if _has(values, v)]  # in the choices' order
            params[name] = d | ({"when": when} if when else {})
        return kind.from_json(params)


def _has(values: list[Any], v: Any) -> bool:
    """``v in values`` telling apart the choices Python calls equal (``True``, ``1``, ``1.0``),
    as ``Categorical`` does."""
    return any(type(x) is type(v) and x == v for x in values)


def rule_of(declared: Mapping[str, Any]) -> int:
    """The rule a report was written under (see ``RULE_KEY``)."""
    entry = declared.get(RULE_KEY)
    rule = entry.get("rule") if isinstance(entry, Mapping) else None
    return rule if isinstance(rule, int) and not isinstance(rule, bool) else 1


__all__ = ["MERGING", "RULE", "RULE_KEY", "LearnedSpace", "SpaceLearner", "base_json",
           "conflict_error", "describe", "hull", "incompatible", "incompatible_error", "rule_of"]
