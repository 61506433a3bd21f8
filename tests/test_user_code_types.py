"""User code that type-checks under ``mypy --strict`` works, and user code that fails at run
time does not type-check: a misspelled attribute of the define-by-run ``Trial`` or a name
rung's lazily-exporting modules do not serve is an error; the names they do serve lazily
keep their precise types; the docs' ``study.best_trial`` lines handle ``None``.

Before, the module-level and ``Trial`` ``__getattr__`` hooks were visible to type checkers,
so ``trial.sugest_float(...)``, ``trial.number`` and ``from rung.cost import Ledgr`` passed
as ``Any``. One mypy run checks every file here (cold cache: about 15 s)."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from test_docs_best_trial import EXAMPLES, best_trial_lines

#: one cold-cache mypy run of the whole package (15-20 s): the slow lane's
pytestmark = pytest.mark.slow

MISSPELLED = '''\
from rung.cost import Ledgr
from rung.dbr.trial import Trial
from rung.integrations.optuna import RungSamplr


def objective(trial: Trial) -> float:
    lr = trial.sugest_float("lr", 1e-5, 1e-1, log=True)
    print(trial.number)
    return float(lr)
'''

CORRECT = '''\
import rung
from rung.cost import StopRule
from rung.cost.ledger import _Fold
from rung.dbr.trial import Trial
from rung.integrations.optuna import RungPruner, RungSampler


def objective(trial: Trial) -> float:
    lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
    reveal_type(lr)
    return lr


reveal_type(StopRule)
reveal_type(_Fold)
reveal_type(RungSampler)
reveal_type(RungPruner)
reveal_type(rung.dbr.FixedTrial)
'''


@pytest.fixture(scope="module")
def mypy(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """``mypy --strict``'s lines about each file checked (by the file's stem)."""
    d = tmp_path_factory.mktemp("typed")
    (d / "misspelled.py").write_text(MISSPELLED)
    (d / "correct.py").write_text(CORRECT)
    docs = ["import rung\n"]
    for k, (page, index) in enumerate(EXAMPLES):
        body = textwrap.indent(best_trial_lines(page, index), "    ")
        docs.append(f"\n\ndef example_{k}(study: rung.Study) -> None:\n{body}")
    (d / "docs_best_trial.py").write_text("".join(docs))
    files = ["misspelled.py", "correct.py", "docs_best_trial.py"]
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "--cache-dir",
         str(d / "cache"), *files], cwd=d, capture_output=True, text=True, timeout=600)
    assert proc.returncode in (0, 1), proc.stderr  # 1: errors found (misspelled.py's)
    lines: dict[str, list[str]] = {Path(f).stem: [] for f in files}
    for line in proc.stdout.splitlines():
        stem = line.split(".py:", 1)[0]
        assert stem in lines, line
        lines[stem].append(line)
    return lines


def test_misspelled_names_are_errors(mypy: dict[str, list[str]]) -> None:
    errors = [re.sub(r"^misspelled\.py:\d+: ", "", line) for line in mypy["misspelled"]]
    assert errors == [
        'error: Module "rung.cost" has no attribute "Ledgr"  [attr-defined]',
        'error: Module "rung.integrations.optuna" has no attribute "RungSamplr"; maybe '
        '"RungSampler"?  [attr-defined]',
        'error: "Trial" has no attribute "sugest_float"; maybe "suggest_float"?  '
        '[attr-defined]',
        'error: "Trial" has no attribute "number"  [attr-defined]',
    ]


def test_correct_usage_passes_with_precise_types(mypy: dict[str, list[str]]) -> None:
    assert not [line for line in mypy["correct"] if ": error:" in line]
    revealed = [line.split("Revealed type is ", 1)[1] for line in mypy["correct"]]
    assert revealed[0] == '"float"'
    for name in ("rung.cost.stop_rule.StopRule", "rung.cost.ledger_fold._Fold",
                 "rung.integrations.optuna_sampler.RungSampler",
                 "rung.integrations.optuna_sampler.RungPruner", "rung.dbr.fixed.FixedTrial"):
        assert any(line.endswith(f'-> {name}"') for line in revealed), (name, revealed)


def test_the_docs_best_trial_lines_type_check(mypy: dict[str, list[str]]) -> None:
    assert mypy["docs_best_trial"] == []
