"""A bad spec: one line on stderr naming the key, exit code 2, and nothing written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from clihelp import HERE, files_under, run_rung

from rung.cli.main import main
from rung.cli.spec import SpecError, parse_spec


def base() -> dict[str, Any]:
    return {
        "name": "bad",
        "objective": "cli_objectives:train",
        "path": str(HERE),
        "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}, "c": ["a", "b"]},
        "metric": "loss",
        "mode": "min",
        "max_step": 9,
        "scheduler": {"name": "asha", "params": {"reduction_factor": 3}},
        "budget": {"n_trials": 4},
    }


def _set(d: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    for k in keys[:-1]:
        d = d[k]
    if value is _DELETE:
        del d[keys[-1]]
    else:
        d[keys[-1]] = value


_DELETE = object()

CASES = [
    # (change, value, the key the error must name)
    ("space.x.low", 2.0, "spec.space.x.low"),
    ("space.x.high", "big", "spec.space.x.high"),
    ("space.x", {"type": "float", "low": -1.0, "high": 1.0, "log": True}, "spec.space.x.low"),
    ("space.x", {"type": "float", "low": 0.1, "high": 1.0, "lgo": True}, "spec.space.x.lgo"),
    ("space.x", {"low": 0.1, "high": 1.0}, "spec.space.x.type"),
    ("space.x", {"type": "flaot", "low": 0.1, "high": 1.0}, "spec.space.x.type"),
    ("space.c", ["a", "a"], "spec.space.c"),
    ("space.c", [], "spec.space.c"),
    ("space.y", {"type": "int", "low": 1, "high": 4, "when": {"c": "z"}}, "spec.space.y"),
    ("space", {}, "spec.space"),
    ("scheduler", {"name": "ashaa"}, "spec.scheduler"),
    ("scheduler.params.reduction_factor", 1, "spec.scheduler.params.reduction_factor"),
    ("scheduler.params.eta", 3, "spec.scheduler.params.eta"),
    ("searcher", {"name": "random", "parms": {}}, "spec.searcher.parms"),
    ("budget", {"n_trial": 4}, "spec.budget.n_trial"),
    ("budget.n_trials", -1, "spec.budget.n_trials"),
    ("budget", _DELETE, "spec.budget"),
    ("max_step", 0, "spec.max_step"),
    ("mode", "maximize", "spec.mode"),
    ("metric", _DELETE, "spec.metric"),
    ("name", _DELETE, "spec.name"),
    ("name", "a/b", "spec.name"),
    ("nme", "x", "spec.nme"),
    ("executor", "slurm", "spec.executor"),
    ("n_workers", 0, "spec.n_workers"),
    ("seed", -1, "spec.seed"),
    ("keep_checkpoints", -2, "spec.keep_checkpoints"),
    ("storage", 5, "spec.storage"),
    ("benchmark", "mf-branin", "spec.benchmark"),
    ("objective", "not a reference", "spec.objective"),
    ("objective", "no_such_module_xyz:train", "spec.objective"),
    ("objective", "cli_objectives:no_such_function", "spec.objective"),
    ("path", "does/not/exist", "spec.path"),
    ("metric", ["loss", ""], "spec.metric[1]"),
    ("metric", [], "spec.metric"),
    ("metric", {"loss": "min"}, "spec.metric"),
    ("mode", ["min", "up"], "spec.mode"),
    ("mode", ["min", "max"], "spec.mode"),  # two modes for one metric
    ("constraints", "loss <= 1", "spec.constraints"),
    ("constraints", ["loss < 1"], "spec.constraints[0]"),
    ("constraints", ["loss <= one"], "spec.constraints[0].bound"),
    ("constraints", [{"metric": "loss", "op": "==", "bound": 1}], "spec.constraints[0].op"),
    ("constraints", [{"metric": "loss", "bound": "x"}], "spec.constraints[0].bound"),
    ("constraints", [{"metric": "loss"}], "spec.constraints[0].bound"),
    ("constraints", [{"metric": "loss", "bound": 1, "strict": True}],
     "spec.constraints[0].strict"),
]


@pytest.mark.parametrize(("change", "value", "key"), CASES,
                         ids=[f"{c[0]}={c[1]!r}"[:40] for c in CASES])
def test_bad_spec_one_line_exit_2_nothing_written(
    isolated: Path, capsys: pytest.CaptureFixture[str], change: str, value: Any, key: str
) -> None:
    spec = base()
    _set(spec, change, value)
    (isolated / "spec.yaml").write_text(yaml.safe_dump(spec))
    code = main(["run", "spec.yaml"])
    out, err = capsys.readouterr()
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"rung: error: {key}: "), lines[0]
    assert out == ""
    assert files_under(isolated) == {"spec.yaml"}  # no runs/, no .db, no lock file


def test_yaml_syntax_error_names_the_line(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (isolated / "spec.yaml").write_text("name: x\nspace: [1,\n")
    assert main(["run", "spec.yaml"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert err.startswith("rung: error: spec: invalid YAML at line 3")


def test_an_escape_beyond_the_last_unicode_character_is_one_line(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """PyYAML's scanner raises a bare ValueError (not a YAMLError) for ``\\U`` escapes past
    U+10FFFF; the slow lane's fuzzer found it escaping as a traceback."""
    (isolated / "spec.yaml").write_text('name: x\nspace:\n  a: "\\U00010000\\U100010000"\n')
    assert main(["run", "spec.yaml"]) == 2
    err = capsys.readouterr().err
    assert err == ("rung: error: spec: invalid YAML at line 3, column 19: chr() arg not in "
                   "range(0x110000) (an escape such as \\U00110000 beyond the last Unicode "
                   "character?)\n")
    assert files_under(isolated) == {"spec.yaml"}


def test_missing_file_and_non_mapping(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "nope.yaml"]) == 2
    assert capsys.readouterr().err.startswith("rung: error: spec: no such file")
    (isolated / "spec.yaml").write_text("- 1\n- 2\n")
    assert main(["run", "spec.yaml"]) == 2
    assert "must be a mapping" in capsys.readouterr().err
    assert files_under(isolated) == {"spec.yaml"}


def test_explicit_storage_in_new_directory_is_not_created(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = base()
    spec["storage"] = "deep/dir/study.db"
    spec["space"]["x"]["low"] = 5.0
    (isolated / "spec.yaml").write_text(yaml.safe_dump(spec))
    assert main(["run", "spec.yaml"]) == 2
    assert "spec.space.x.low" in capsys.readouterr().err
    assert files_under(isolated) == {"spec.yaml"}


def test_existing_study_is_refused_and_untouched(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = "name: s\nexecutor: simulated\nbenchmark: mf-branin\nbudget: {n_trials: 3}\n"
    (isolated / "spec.yaml").write_text(spec)
    assert main(["run", "spec.yaml", "--no-live"]) == 0
    db = isolated / "runs" / "s.db"
    before = db.stat().st_mtime_ns, db.stat().st_size
    capsys.readouterr()
    assert main(["run", "spec.yaml"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert "already exists" in err and "rung resume s" in err
    assert (db.stat().st_mtime_ns, db.stat().st_size) == before


def test_spec_error_carries_the_key() -> None:
    spec = base()
    spec["space"]["x"]["high"] = -1.0
    with pytest.raises(SpecError) as info:
        parse_spec(spec)
    assert info.value.key == "spec.space.x.low"
    assert "must be < high" in str(info.value)


@pytest.mark.parametrize(("change", "value", "key"), [
    ("space.x.low", 2.0, "spec.space.x.low"),
    ("objective", "no_such_module_xyz:train", "spec.objective"),
])
def test_the_real_command(tmp_path: Path, change: str, value: Any, key: str) -> None:
    """Through a real process: exactly one line (no traceback, no warnings) and exit 2."""
    spec = base()
    _set(spec, change, value)
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    r = run_rung("run", "spec.yaml", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.splitlines() == [r.stderr.strip()]
    assert r.stderr.startswith(f"rung: error: {key}: ")
    assert files_under(tmp_path) == {"spec.yaml"}


def test_objectives_and_constraints_reach_the_study_spec() -> None:
    spec = base()
    spec["metric"] = ["loss", "latency_ms"]
    spec["mode"] = ["min", "min"]
    spec["constraints"] = ["latency_ms <= 100", {"metric": "memory_mb", "op": ">=", "bound": 1}]
    study = parse_spec(spec).study
    assert [(o.metric, o.mode) for o in study.objectives] == [("loss", "min"), ("latency_ms", "min")]
    assert study.objective.metric == "loss"
    assert [c.to_json() for c in study.constraints] == [
        {"metric": "latency_ms", "op": "<=", "bound": 100.0},
        {"metric": "memory_mb", "op": ">=", "bound": 1},
    ]
    # one metric in a list with one mode is a plain single-objective study
    spec2 = base()
    spec2["metric"], spec2["mode"] = ["acc"], "max"
    s2 = parse_spec(spec2).study
    assert s2.objectives == () and (s2.objective.metric, s2.objective.mode) == ("acc", "max")


def test_the_key_comes_from_the_exception_not_its_text() -> None:
    """Keys are data: a message that looks like another key does not move the error."""
    from rung.cli.spec import as_spec_error
    from rung.errors import ConfigError, SpaceError

    e = ConfigError(key="scheduler.params.eta", message="'x': budget.n_trials: looks keyed")
    err = as_spec_error(e)
    assert (err.key, err.message) == ("spec.scheduler.params.eta", e.message)
    assert str(err) == f"spec.scheduler.params.eta: {e.message}"
    assert as_spec_error(SpaceError(key="lr.low", param="lr", message="m")).key == "spec.space.lr.low"
    assert as_spec_error(SpaceError("the search space is empty")).key == "spec.space"
    assert as_spec_error(ConfigError("budget.n_trials: only text, no key")).key == "spec"


def test_a_parameter_name_that_looks_like_a_key() -> None:
    spec = base()
    spec["space"] = {"w'ei: rd": {"type": "float", "low": 1.0, "high": 0.5}}
    with pytest.raises(SpecError) as info:
        parse_spec(spec)
    assert info.value.key == "spec.space.w'ei: rd.low"


@pytest.mark.parametrize(("param", "key"), [
    ({"type": "float", "low": 0.0, "high": 1.0, "when": 3}, "spec.space.x.when"),
    ({"type": "int", "low": 0, "high": 4, "step": 0}, "spec.space.x.step"),
    ({"type": "float", "low": 0.0, "high": 1.0, "log": "yes"}, "spec.space.x.log"),
    ({"type": "categorical", "choices": []}, "spec.space.x.choices"),
    ({"type": "fixed"}, "spec.space.x.value"),
    ({"type": "int", "low": 1}, "spec.space.x.high"),
])
def test_space_errors_name_the_sub_key(param: dict[str, Any], key: str) -> None:
    spec = base()
    spec["space"]["x"] = param
    with pytest.raises(SpecError) as info:
        parse_spec(spec)
    assert info.value.key == key
    assert "\n" not in str(info.value) and str(info.value).startswith(f"{key}: ")
