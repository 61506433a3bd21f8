"""The schedulers ``RungPruner`` (Optuna) and ``RungScheduler`` (Ray Tune) refuse when made:
every one that pauses or forks trials, found by running it, and no other.

``docs/integrations.md`` says both adapters refuse the schedulers that pause or fork trials
when they are made (a host's trial cannot be paused, resumed or forked by rung). The list
they refused from (``rung.integrations._embedded.PAUSING``) left out ``pb2``: ``RungPruner(
"pb2")`` was accepted and failed inside ``study.optimize`` at the first pause. Here every
registered scheduler name, and the promotion variant of each scheduler that has a
``variant``, runs a short simulated study; whether its journal holds a pause or a fork
decides whether the adapters must refuse it, with the message the code documents.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import pytest

import rung
from rung.benchmarks import get_benchmark
from rung.core.events import Action
from rung.core.registry import lookup, names, register
from rung.errors import ConfigError
from rung.integrations._embedded import PAUSING, check_stopping, pauses_or_forks
from rung.schedulers import PBT

ROOT = Path(__file__).resolve().parents[2]
#: what the refusal of a pausing scheduler suggests instead (``check_stopping``'s message)
SUGGESTED = ("asha", "async_hyperband", "median", "mo_asha", "fifo")


def _cases() -> list[tuple[str, Any]]:
    """``(id, scheduler)``: every registered scheduler by name, and ``{"name": n, "params":
    {"variant": "promotion"}}`` for each whose class takes a ``variant``."""
    out: list[tuple[str, Any]] = []
    for name in names("scheduler"):
        out.append((name, name))
        if "variant" in inspect.signature(lookup("scheduler", name)).parameters:
            out.append((f"{name}-promotion",
                        {"name": name, "params": {"variant": "promotion"}}))
    return out


CASES = _cases()


def _pauses_or_forks_when_run(scheduler: Any) -> bool:
    """Whether a short simulated study (30 trials of ``mf-branin``, 4 workers) with
    ``scheduler`` pauses a trial (a ``PAUSE`` decision) or forks one (a trial with a
    parent)."""
    bench = get_benchmark("mf-branin")
    study = rung.Study.create("probe", bench.space, rung.Objective("loss", "min"),
                              searcher="random", scheduler=scheduler,
                              max_step=bench.max_step, budget=rung.Budget(n_trials=30), seed=0)
    study.simulate(bench, n_workers=4)
    paused = any(getattr(getattr(r, "decision", None), "action", None) is Action.PAUSE
                 for r in study.journal.read(study.name))
    forked = any(t.parent_id is not None for t in study.trials())
    return paused or forked


#: each case's behaviour, found once per test session
_RAN: dict[str, bool] = {}


def _refused(case: str, scheduler: Any) -> bool:
    if case not in _RAN:
        _RAN[case] = _pauses_or_forks_when_run(scheduler)
    return _RAN[case]


def _message(scheduler: Any) -> str:
    """The one line ``check_stopping`` documents for a refused ``scheduler``."""
    if isinstance(scheduler, dict):
        n = scheduler["name"]
        return (f"scheduler: {n!r} with variant='promotion' pauses trials, which the host "
                f"tool's trials cannot do: use its stopping variant ({n} with "
                f"variant='stopping', the default)")
    return (f"scheduler: {scheduler!r} pauses or forks trials, which the host tool's trials "
            f"cannot do: use a stopping scheduler ({', '.join(SUGGESTED)}, ...)")


def test_every_built_in_scheduler_is_a_case() -> None:
    """The enumeration is the registry's (so a scheduler added later is checked too), and it
    holds the ones the audit named."""
    ids = [c for c, _ in CASES]
    assert {"pbt", "pb2", "curve", "hyperband", "successive_halving", "asha",
            "asha-promotion", "async_hyperband-promotion"} <= set(ids)


@pytest.mark.parametrize(("case", "scheduler"), CASES, ids=[c for c, _ in CASES])
def test_check_stopping_refuses_exactly_the_schedulers_that_pause_or_fork(
    case: str, scheduler: Any
) -> None:
    if _refused(case, scheduler):
        with pytest.raises(ConfigError) as e:
            check_stopping(scheduler)
        assert e.value.key == "scheduler"
        assert str(e.value) == _message(scheduler)
    else:
        check_stopping(scheduler)  # accepted
        assert not pauses_or_forks(scheduler)


def _adapter(kind: str) -> Any:
    if kind == "optuna":
        pytest.importorskip("optuna")
        from rung.integrations.optuna_sampler import RungPruner

        return RungPruner
    pytest.importorskip("ray.tune")
    from rung.integrations.ray_tune import RungScheduler

    return RungScheduler


@pytest.mark.parametrize("adapter", ["optuna", "ray_tune"])
@pytest.mark.parametrize(("case", "scheduler"), CASES, ids=[c for c, _ in CASES])
def test_the_optuna_and_ray_tune_adapters_refuse_them_when_made(
        case: str, scheduler: Any, adapter: str) -> None:
    make = _adapter(adapter)
    if _refused(case, scheduler):
        with pytest.raises(ConfigError) as e:
            make(scheduler, max_step=9)
        assert str(e.value) == _message(scheduler)
    else:
        make(scheduler, max_step=9)


def test_the_suggested_stopping_schedulers_are_accepted() -> None:
    """What the refusal suggests is accepted (each is a registered, stopping scheduler)."""
    for name in SUGGESTED:
        assert name in names("scheduler")
        assert not _refused(name, name)
        check_stopping(name)


def test_pb2_and_a_users_pbt_subclass_are_refused() -> None:
    """PB2 is a PBT (the audit's case), and so is a user's subclass registered under a name of
    its own: refused by name, as a spec and as an instance."""
    assert "pb2" in PAUSING
    value: Any
    for value in ("pb2", {"name": "pb2", "params": {}}, rung.schedulers.PB2()):
        with pytest.raises(ConfigError) as e:
            check_stopping(value)
        assert str(e.value) == _message("pb2")

    @register("scheduler", "_test_my_pbt")
    class MyPBT(PBT):
        pass

    for value in ("_test_my_pbt", MyPBT()):
        with pytest.raises(ConfigError) as e:
            check_stopping(value)
        assert str(e.value) == _message("_test_my_pbt")


def test_integrations_page_lists_the_refused_schedulers() -> None:
    """``docs/integrations.md`` names, where it says which schedulers ``RungPruner`` refuses,
    exactly the refused ones (by name, and those refused in their promotion variant)."""
    text = " ".join((ROOT / "docs" / "integrations.md").read_text().split())
    m = re.search(r"Schedulers that pause or fork trials \(([^)]*)\) are refused", text)
    assert m is not None, "the sentence that lists the refused schedulers"
    listed = set(re.findall(r"`([a-z_0-9]+)`", m.group(1)))
    refused = {s if isinstance(s, str) else s["name"]
               for c, s in CASES if _refused(c, s)}
    assert listed == refused
