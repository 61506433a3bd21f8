"""The README's and the docs' ``study.best_trial`` lines handle ``None`` (no trial produced a
result): run as written on a study without results they print nothing; with one, they print
the best trial. ``test_user_code_types.py`` type-checks the same lines with ``mypy --strict``.

Before, ``print(study.best_trial.params)`` was an ``AttributeError`` on ``'NoneType'`` when no
trial produced a result, and a type error (``Trial | None``) under ``mypy --strict``."""

from __future__ import annotations

import contextlib
import io
import textwrap

import pytest

import rung
from doc_blocks import blocks

#: (page, index among its Python blocks) of each example that shows ``study.best_trial``
EXAMPLES = (("README", 0), ("index", 0), ("migrate-optuna", 1), ("migrate-sklearn", 2))


def best_trial_lines(page: str, index: int) -> str:
    """The lines of the block that read ``study.best_trial`` (with the ``if`` that guards
    them), dedented: what the reader's code does with the result."""
    lines = [line for line in blocks(page)[index].splitlines() if "study.best_trial" in line]
    assert lines, (page, index)
    return textwrap.dedent("\n".join(lines)) + "\n"


def _run(code: str, study: rung.Study) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(code, {"study": study})
    return out.getvalue()


@pytest.mark.parametrize(("page", "index"), EXAMPLES)
def test_best_trial_lines_handle_a_study_without_results(page: str, index: int) -> None:
    code = best_trial_lines(page, index)
    empty = rung.Study.create("empty", {"lr": rung.Float(1e-5, 1e-1, log=True)},
                              objective="loss", budget=rung.Budget(n_trials=2))
    assert empty.best_trial is None
    assert _run(code, empty) == ""
    done = rung.Study.create("done", {"lr": rung.Float(1e-5, 1e-1, log=True)},
                             objective="loss", budget=rung.Budget(n_trials=1))
    t = done.ask()
    assert t is not None
    done.tell(t.id, "completed", {"loss": 0.5})
    best = done.best_trial
    assert best is not None
    assert _run(code, done).startswith(str(best.params))
