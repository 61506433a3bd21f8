"""Which of rung's extras installs a module: the one table of them (``pyproject.toml``'s
``[project.optional-dependencies]``, by import name), for the hint an error about a missing
module adds (``pip install 'rung[examples]'``).

``tests/test_extras_table.py`` checks the table against ``pyproject.toml``: every package of a
user-facing extra is here, under the extras that list it.
"""

from __future__ import annotations

import importlib.util

#: top-level import name -> (distribution name, the extras that install it, the first being
#: the one to suggest). Only what an extra lists itself: ``ray[tune]`` brings pandas too, but
#: ``rung[tune]`` is not how to get pandas.
EXTRAS: dict[str, tuple[str, tuple[str, ...]]] = {
    "yaml": ("PyYAML", ("cli",)),
    "rich": ("rich", ("cli",)),
    "sklearn": ("scikit-learn", ("examples", "sklearn")),
    "ray": ("ray", ("ray", "tune")),
    "pandas": ("pandas", ("dataframe", "dashboard")),
    "pyarrow": ("pyarrow", ("dataframe",)),
    "matplotlib": ("matplotlib", ("plot",)),
    "starlette": ("starlette", ("dashboard",)),
    "uvicorn": ("uvicorn", ("dashboard",)),
    "mlflow": ("mlflow-skinny", ("mlflow",)),
    "tensorboardX": ("tensorboardX", ("tensorboard",)),
    "tensorboard": ("tensorboard", ("tensorboard",)),
    "wandb": ("wandb", ("wandb",)),
    "lightgbm": ("lightgbm", ("lightgbm",)),
    "xgboost": ("xgboost", ("xgboost",)),
    "lightning": ("lightning", ("lightning",)),
    "transformers": ("transformers", ("transformers",)),
    "accelerate": ("accelerate", ("transformers",)),
    "keras": ("keras", ("keras",)),
    "torch": ("torch", ("lightning", "transformers", "keras")),
    "optuna": ("optuna", ("optuna",)),
    "cmaes": ("cmaes", ("optuna",)),
}

#: the extras that are not for users of rung (building its docs, its tests, its benchmarks)
NOT_FOR_USERS = ("docs", "dev", "bench")


def extras_of(module: str | None) -> tuple[str, ...]:
    """The extras that install ``module`` (its top-level package: ``"sklearn.datasets"`` is
    scikit-learn's), most likely first; ``()`` for a module no extra installs, or ``None``."""
    if not module:
        return ()
    entry = EXTRAS.get(module.split(".")[0])
    return entry[1] if entry else ()


def install_hint(module: str | None) -> str | None:
    """``"pip install 'rung[examples]'"`` for a module one extra installs (``"pip install
    'rung[examples]' or 'rung[sklearn]'"`` when several do), or ``None`` when none does."""
    extras = extras_of(module)
    if not extras:
        return None
    return "pip install " + " or ".join(f"'rung[{e}]'" for e in extras)


def missing_package(e: ImportError) -> str | None:
    """What an ``ImportError`` says, on one line, with the extra to install when one does and
    the text does not say it yet (``No module named 'optuna' (pip install 'rung[optuna]')``);
    ``None`` when the module missing is one of rung's own (a defect of rung, not of the
    installation). The module is the error's ``name``, else that of the error it was raised
    from (rung's lazy imports re-raise with the extra named)."""
    cause = e.__cause__
    missing = e.name or (cause.name if isinstance(cause, ImportError) else None)
    if missing is not None and missing.split(".")[0] == "rung":
        return None
    text = " ".join(str(e).split()) or f"{type(e).__name__}: {missing}"
    hint = install_hint(missing)
    if hint is None or "pip install 'rung[" in text:
        return text
    return f"{text} ({hint})"


def not_installed(module: str) -> str | None:
    """Why ``module`` cannot be imported as the package it names, without importing it:
    ``"not installed"``, or, when the name finds only a directory without ``__init__.py``
    (a folder named ``ray/`` in the working directory imports as an empty namespace package,
    and the error came later, from deep inside: ``module 'ray' has no attribute
    'cloudpickle'``), ``"not installed: 'ray' here is the folder /work/ray, not the
    package"``; ``None`` when it is installed."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return "not installed"
    if spec is None:
        return "not installed"
    if spec.origin in (None, "namespace") and spec.submodule_search_locations is not None:
        where = ", ".join(str(p) for p in spec.submodule_search_locations)
        return f"not installed: {module!r} here is the folder {where}, not the package"
    return None


__all__ = ["EXTRAS", "NOT_FOR_USERS", "extras_of", "install_hint", "missing_package",
           "not_installed"]
