"""More of Optuna's and Ray Tune's names (migration audit): every hint's expression runs on a
define-by-run study (``rung.optimize``) as on a ``Study.create`` one; the ``TrialContext`` an
objective ``train(ctx)`` gets names rung's words for ``ctx.config``, ``ctx.get_checkpoint``,
``ctx.should_prune``...; and ``ctx.report({"loss": 1.0})`` (Ray Tune's
``tune.report(metrics)``) says to give the step first.

Before: ``trial.distributions`` said ``study.spec.space[name]``, a ``KeyError`` on a
define-by-run study (whose spec has no space); ``ctx.config`` and the others were bare
``AttributeError``s; ``ctx.report({"loss": 1.0})`` said only ``expected an integer step``.
"""

from __future__ import annotations

import copy
import pickle
from pathlib import Path
from typing import Any

import pytest

import rung
from rung.core.events import Launch
from rung.core.peer_names import CONTEXT, STUDY, TRIAL
from rung.dbr import Trial
from rung.executors.protocol import ENDED, encode_launch
from rung.executors.worker import TrialContext, run_trial


def objective(trial: Trial) -> float:
    x = trial.suggest_float("x", 0.0, 1.0)
    trial.report(1, x + 1.0)
    return x


def train(ctx: rung.TrialContext) -> None:
    ctx.report(1, loss=ctx.params["x"])


@pytest.fixture(scope="module")
def studies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, rung.Study]:
    """A define-by-run study and a ``Study.create`` one, two completed trials each."""
    tmp = tmp_path_factory.mktemp("peers")
    dbr = rung.optimize(objective, n_trials=2, metric="loss", max_step=1, searcher="random",
                        scheduler="fifo", n_workers=1, storage=tmp / "dbr.db", name="dbr",
                        start_method="fork", progress=False, seed=0)
    made = rung.Study.create("made", {"x": rung.Float(0.0, 1.0)}, "loss", searcher="random",
                             max_step=1, budget=rung.Budget(n_trials=2), seed=0)
    while (t := made.ask()) is not None:
        made.tell(t.id, "completed", {"loss": t.params["x"]})
    return {"define-by-run": dbr, "Study.create": made}


def hint(owner: object, name: str) -> str:
    with pytest.raises(AttributeError) as e:
        getattr(owner, name)
    return str(e.value).split("'s): ", 1)[1]


@pytest.mark.parametrize("kind", ["define-by-run", "Study.create"])
def test_the_distributions_hint_runs_on_both_kinds_of_study(
        studies: dict[str, rung.Study], kind: str) -> None:
    """Before: ``study.spec.space[name]``, a KeyError on the define-by-run study."""
    study = studies[kind]
    trial = study.best_trial
    assert trial is not None
    text = hint(trial, "distributions")
    assert text == "{name: study.engine.space[name] for name in trial.params}"
    assert eval(text, {"study": study, "trial": trial}) == {"x": rung.Float(0.0, 1.0)}
    assert study.spec.define_by_run == (kind == "define-by-run")


# every hint that is one expression, with the names it uses; the others are prose
RUNS = {
    "best_params": "study.best_trial.params", "direction": "study.spec.objective.mode",
    "directions": "[o.mode for o in study.spec.objectives or (study.spec.objective,)]",
    "study_name": "study.name", "sampler": "study.spec.searcher",
    "pruner": "study.spec.scheduler", "best_config": "study.best_trial.params",
    "best_result": "study.best_trial.metrics", "results_df": "study.trials_dataframe()",
    "errors": "[t.error for t in study.trials('failed')]",
    "num_errors": "len(study.trials('failed'))",
    "num_terminated": "len(study.trials('completed'))",
}
TRIAL_RUNS = {"number": "trial.id", "state": "trial.status", "system_attrs": "trial.tags",
              "intermediate_values": "{r.step: r.metrics[metric] for r in trial.results}",
              "config": "trial.params", "trial_id": "trial.id",
              "distributions": "{name: study.engine.space[name] for name in trial.params}"}


@pytest.mark.parametrize("kind", ["define-by-run", "Study.create"])
def test_every_expression_hint_runs_on_both_kinds_of_study(
        studies: dict[str, rung.Study], kind: str) -> None:
    pytest.importorskip("pandas")
    study = studies[kind]
    trial = study.best_trial
    assert trial is not None
    where = {"study": study, "trial": trial, "metric": "loss"}
    for names, owner, table in ((RUNS, study, STUDY), (TRIAL_RUNS, trial, TRIAL)):
        for name, expr in names.items():
            assert table[name][1].startswith(expr) and hint(owner, name).startswith(expr)
            eval(expr, where)  # raises if the hint is wrong for this kind of study


# --- TrialContext ------------------------------------------------------------------------------
class Channel:
    """A channel that records what the context sends and never has a reply (picklable)."""

    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, msg: Any) -> None:
        self.sent.append(msg)

    def recv(self) -> Any:
        raise EOFError

    def poll(self) -> bool:
        return False


def context(tmp_path: Path | None = None) -> TrialContext:
    return TrialContext(Channel(), 7, 3, {"x": 0.5}, 1, 9, 9, tmp_path)


@pytest.mark.parametrize(("name", "message"), [
    ("config", "rung's TrialContext has no 'config' (Ray Tune's): ctx.params"),
    ("get_checkpoint", "rung's TrialContext has no 'get_checkpoint' (Ray Tune's): "
                       "ctx.checkpoint, the directory to restore from (None: start from "
                       "scratch), filled by the save(directory) given to ctx.report(step, "
                       "save=save, ...)"),
    ("should_prune", "rung's TrialContext has no 'should_prune' (Optuna's): nothing to "
                     "check: the scheduler decides at ctx.report(step, ...), which raises "
                     "StopTrial itself (let it propagate)"),
    ("get_trial_id", "rung's TrialContext has no 'get_trial_id' (Ray Tune's): ctx.trial_id"),
    ("number", "rung's TrialContext has no 'number' (Optuna's): ctx.trial_id"),
    ("suggest_float", "rung's TrialContext has no 'suggest_float' (Optuna's): ctx.params[name] "
                      "(the study's space draws it), or rung.optimize(objective) for an "
                      "objective(trial) that calls trial.suggest_*"),
])
def test_a_peers_name_on_a_trial_context_names_rungs(name: str, message: str) -> None:
    ctx = context()
    with pytest.raises(AttributeError) as e:
        getattr(ctx, name)
    assert str(e.value) == message
    assert (e.value.name, e.value.obj) == (name, ctx)


def test_every_hinted_name_is_one_a_trial_context_lacks_and_its_own_still_work(
        tmp_path: Path) -> None:
    assert not set(CONTEXT) & set(dir(TrialContext))
    ctx = context(tmp_path)
    assert (ctx.params, ctx.trial_id, ctx.start_step, ctx.max_step, ctx.checkpoint) == (
        {"x": 0.5}, 3, 1, 9, None)
    assert (ctx.last_step, ctx.has_reported, ctx.fidelity) == (0, False, None)
    with pytest.raises(AttributeError, match=r"^'TrialContext' object has no attribute "
                                             r"'nope'$"):
        getattr(ctx, "nope")  # noqa: B009
    assert not hasattr(ctx, "__array__") and getattr(ctx, "_nope", 1) == 1
    ctx.report(1, loss=0.5)
    assert ctx.last_step == 1 and ctx.has_reported


def test_an_unset_slot_and_a_failing_property_keep_their_own_errors() -> None:
    bare = object.__new__(TrialContext)  # no slot set
    with pytest.raises(AttributeError, match=r"^'TrialContext' object has no attribute "
                                             r"'trial_id'$"):
        bare.trial_id  # noqa: B018
    with pytest.raises(AttributeError, match="_position"):
        bare.last_step  # noqa: B018  (the property's own error, not "no 'last_step'")


def test_a_trial_context_copies_and_pickles_as_before(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    ctx.report(2, loss=0.25)
    for again in (copy.copy(ctx), copy.deepcopy(ctx), pickle.loads(pickle.dumps(ctx))):
        assert type(again) is TrialContext and again.params == {"x": 0.5}
        assert (again.trial_id, again.last_step, again.has_reported) == (3, 2, True)
        with pytest.raises(AttributeError, match="ctx.params"):
            again.config  # noqa: B018


def test_ray_tunes_report_of_a_dict_says_to_give_the_step_first() -> None:
    """``tune.report({"loss": loss})``: before, ``report(step=...): expected an integer
    step, got {'loss': 1.0}`` and nothing more."""
    ctx = context()
    with pytest.raises(TypeError) as e:
        ctx.report({"loss": 1.0, "acc": 0.5})  # type: ignore[call-arg, arg-type]
    assert str(e.value) == (
        "report(step=...): expected an integer step, got {'loss': 1.0, 'acc': 0.5} (Ray "
        "Tune's tune.report(metrics) habit: write ctx.report(step, loss=1.0, acc=0.5), or "
        "ctx.report(step, **metrics) for a dict)")
    with pytest.raises(TypeError) as e:
        ctx.report({"val/loss": 1.0})  # type: ignore[call-arg, arg-type]
    assert str(e.value).endswith("(Ray Tune's tune.report(metrics) habit: write "
                                 "ctx.report(step, **metrics) for a dict)")
    with pytest.raises(TypeError) as e:
        ctx.report("1")  # type: ignore[arg-type]
    assert str(e.value) == "report(step=...): expected an integer step, got '1'"
    assert ctx.report(1, loss=1.0) is None and ctx.last_step == 1


def test_the_trial_fails_with_that_line() -> None:
    """In a worker (``run_trial``) the trial ends failed with the line, as the audit's
    ``ray/ctx_names.py`` showed it."""
    def tune_habit(ctx: rung.TrialContext) -> None:
        ctx.report({"loss": 1.0})  # type: ignore[call-arg, arg-type]

    ch = Channel()
    run_trial(tune_habit, encode_launch(Launch(3, {"x": 0.5}, 1, 9, 9, None), 7), ch, None)
    ended = [m for m in ch.sent if m[0] == ENDED]
    assert len(ended) == 1 and ended[0][2] == "failed"
    assert "write ctx.report(step, loss=1.0)" in ended[0][4]
