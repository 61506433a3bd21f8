"""docs/api/frameworks.md lists every public class and function of the framework modules (it
omitted ``rung.integrations.lightning.fit``, which the guide recommends, and the
``resume_model`` / ``resume_checkpoint`` helpers its code calls)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODULES = ("lightgbm", "xgboost", "lightning", "transformers", "keras")


def public_names(module: str) -> list[str]:
    """The classes and functions of ``rung.integrations.<module>.__all__`` (its constants
    apart), read from the source: importing the five frameworks takes a minute."""
    tree = ast.parse((ROOT / "src" / "rung" / "integrations" / f"{module}.py").read_text())
    (names,) = [ast.literal_eval(node.value) for node in tree.body
                if isinstance(node, ast.Assign)
                and any(getattr(t, "id", None) == "__all__" for t in node.targets)]
    return [name for name in names if not name.isupper()]


def test_the_api_page_lists_every_public_callback_and_helper() -> None:
    page = (ROOT / "docs" / "api" / "frameworks.md").read_text()
    listed = [f"{m}.{n}" for m in MODULES for n in public_names(m)
              if f"::: rung.integrations.{m}.{n}\n" in page]
    assert listed == ["lightgbm.LightGBMCallback", "lightgbm.resume_model", "lightgbm.train",
                      "xgboost.XGBoostCallback", "xgboost.resume_model", "xgboost.train",
                      "lightning.LightningCallback", "lightning.fit",
                      "lightning.resume_checkpoint", "transformers.TransformersCallback",
                      "transformers.resume_checkpoint", "keras.KerasCallback", "keras.fit",
                      "keras.resume_model"]
