"""The overview's components: the searcher's and the scheduler's settings as ``name: value``
pairs, without the parameters left at their default or ``None`` (``rung.cli.component_settings``),
whether the page is replayed or served from a snapshot; never raw JSON with its nulls."""

from __future__ import annotations

from pathlib import Path

import pytest

import rung
from rung.cli.component_settings import settings, settings_text, value_text
from rung.core.records import ComponentSpec
from rung.dashboard import data
from rung.dashboard import snapshot as snapshot_mod
from rung.dashboard.data import Catalog


def test_defaults_and_nones_are_left_out_in_stored_order() -> None:
    # every constructor argument stored, as ``scheduler=rung.ASHA()`` stores them
    asha = rung.ASHA(reduction_factor=4).to_spec()
    assert "reduction_factor" in asha.params and len(asha.params) > 1
    assert settings_text("scheduler", asha) == "reduction_factor: 4"
    assert settings_text("scheduler", rung.ASHA().to_spec()) == ""
    tpe = rung.TPESearcher(n_initial=20, gamma=0.123456789, multivariate=False).to_spec()
    assert None in tpe.params.values()  # min_points: None
    assert settings("searcher", tpe) == [("n_initial", "20"), ("multivariate", "false"),
                                         ("gamma", "0.123457")]  # stored order; rung show's 6 digits
    assert settings_text("scheduler", ComponentSpec("asha", {"min_step": None,
                                                             "reduction_factor": 3})) == ""


def test_values_read_as_words() -> None:
    assert value_text(True) == "true" and value_text(0.25) == "0.25" and value_text(3) == "3"
    assert value_text(1e-7) == "1e-07" and value_text("linear") == "linear"
    assert value_text("a\nb") == "a\\nb"
    assert value_text({"lr": [0.1, 0.01]}) == '{"lr": [0.1, 0.01]}'
    assert value_text((1, 2)) == "[1, 2]"


def test_a_component_this_process_cannot_look_up_keeps_what_is_set() -> None:
    spec = ComponentSpec("no-such-plugin", {"a": 1, "b": None, "c": "x"})
    assert settings_text("scheduler", spec) == "a: 1, c: x"


def _study(db: Path) -> None:
    s = rung.Study.create("s", {"x": rung.Float(0, 1)}, searcher=rung.TPESearcher(n_initial=4),
                          scheduler=rung.ASHA(reduction_factor=4), max_step=9,
                          budget=rung.Budget(n_trials=6), seed=0, storage=db)
    while (t := s.ask()) is not None:
        for step in range(1, 10):
            d = s.report(t.id, step, {"loss": t.params["x"] / step})
            if d.action.value != "continue":
                s.tell(t.id, "stopped")
                break
        else:
            s.tell(t.id, "completed")
    s.close()


def test_the_overview_says_the_settings_replayed_and_from_a_snapshot(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "s.db"
    _study(db)
    monkeypatch.setattr(snapshot_mod, "MIN_RECORDS", 1)
    monkeypatch.setattr(data, "MIN_RECORDS", 1)
    replayed = Catalog(db, cache_dir=tmp_path / "cache").view("s", data.overview)
    assert replayed["searcher_settings"] == "n_initial: 4"
    assert replayed["scheduler_settings"] == "reduction_factor: 4"
    assert replayed["scheduler_params"]["reduction_factor"] == 4  # the stored ones, as before
    served = Catalog(db, cache_dir=tmp_path / "cache")
    assert served.snapshot("s").view is not None  # the dashboard's own snapshot
    from_view = served.view("s", data.overview)
    assert from_view["searcher_settings"] == "n_initial: 4"
    assert from_view["scheduler_settings"] == "reduction_factor: 4"


def test_the_page_writes_them_as_pairs() -> None:
    """The overview's script writes the server's text, not ``JSON.stringify`` of the params."""
    js = (Path(data.__file__).with_name("static") / "app.js").read_text()
    assert "JSON.stringify(s.searcher_params)" not in js
    assert "JSON.stringify(s.scheduler_params)" not in js
    assert "settings(s.searcher_settings)" in js and "settings(s.scheduler_settings)" in js
