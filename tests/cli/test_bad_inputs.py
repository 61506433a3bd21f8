"""Issue 15 item 6: each bad input a user tried gets a one-line error naming the key, exit code 2
and nothing written (no traceback, no silent acceptance)."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path
from typing import Any

import pytest
import yaml
from clihelp import HERE, files_under, run_rung, sim_spec

from rung import Float, Int, SearchSpace, SpaceError, Study
from rung._validate import MAX_STEP, check_objective
from rung.cli.main import main
from rung.cli.spec import SpecError, parse_spec
from rung.cli.spec_yaml import parse_yaml
from rung.errors import ConfigError, JournalError
from rung.storage import SQLiteJournal


def local_spec(**changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": "bad", "objective": "cli_objectives:train", "path": str(HERE),
        "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}}, "metric": "loss",
        "max_step": 3, "searcher": "random", "scheduler": "fifo", "budget": {"n_trials": 2},
        "n_workers": 1,
    }
    spec.update(changes)
    return spec


def rejects(isolated: Path, capsys: pytest.CaptureFixture[str], text: str | bytes,
            key: str, *fragments: str, argv: tuple[str, ...] = ()) -> str:
    """``rung run`` on this spec text: exit 2, one stderr line starting with the key, no stdout
    and no file but the spec."""
    path = isolated / "spec.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    before = files_under(isolated)
    code = main(["run", "spec.yaml", "--no-live", *argv])
    out, err = capsys.readouterr()
    assert code == 2, err
    assert out == ""
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"rung: error: {key}: "), err
    for f in fragments:
        assert f in err, err
    assert files_under(isolated) == before
    return err


# --- storage -----------------------------------------------------------------------------------
def test_storage_under_a_file(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (isolated / "afile").write_text("x")
    text = yaml.safe_dump(local_spec(storage="afile/sub/s.db"))
    rejects(isolated, capsys, text, "spec.storage", "afile: it is a file")


def test_storage_flag_under_a_file(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (isolated / "afile").write_text("x")
    rejects(isolated, capsys, yaml.safe_dump(local_spec()), "--storage", "it is a file",
            argv=("--storage", "afile/s.db"))


def test_storage_name_too_long_and_nul(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rejects(isolated, capsys, yaml.safe_dump(local_spec(storage="x" * 300 + ".db")),
            "spec.storage", "bytes long (at most 255)")
    rejects(isolated, capsys, yaml.safe_dump(local_spec(storage="a\0b.db")), "spec.storage",
            "NUL")


@pytest.mark.parametrize("value", ["out/", "sqlite:///out/", "runs/new/"])
def test_storage_written_as_a_directory(isolated: Path, capsys: pytest.CaptureFixture[str],
                                        value: str) -> None:
    # Path("out/") is "out": the journal was created as a file named out
    rejects(isolated, capsys, yaml.safe_dump(local_spec(storage=value)), "spec.storage",
            "names a directory (it ends with a slash)", "/bad.db")
    with pytest.raises(ConfigError, match="names a directory"):
        Study.create("s", {"x": Float(0, 1)}, "loss", storage=value)
    assert files_under(isolated) == {"spec.yaml"}


def test_storage_flag_written_as_a_directory_holds_name_db(
        isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (isolated / "spec.yaml").write_text(sim_spec(name="b", n_trials=3))
    assert main(["run", "spec.yaml", "--no-live", "--storage", "out/new/"]) == 0
    assert (isolated / "out" / "new" / "b.db").is_file()
    assert not (isolated / "out" / "new").is_file()
    capsys.readouterr()
    assert main(["show", "b", "--storage", "out/new/"]) == 0
    assert capsys.readouterr().out.startswith("study b  (out/new/b.db)")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_storage_in_a_read_only_directory(isolated: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    ro = isolated / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        rejects(isolated, capsys, yaml.safe_dump(local_spec(storage="ro/x/s.db")),
                "spec.storage", "permission denied")
    finally:
        ro.chmod(0o700)


def test_journal_path_errors_are_journal_errors(tmp_path: Path) -> None:
    """The Python API (Study.create(storage=...)) gets a JournalError, not FileNotFoundError."""
    (tmp_path / "afile").write_text("x")
    with pytest.raises(JournalError, match="it is a file"):
        SQLiteJournal(tmp_path / "afile" / "deeper" / "s.db")
    with pytest.raises(JournalError, match="no journal"):
        SQLiteJournal(tmp_path / "nope.db", readonly=True)


def test_read_only_journal_path_with_uri_characters(tmp_path: Path) -> None:
    path = tmp_path / "odd?name#1.db"
    with SQLiteJournal(path) as j:
        j.create_study("s", {"x": 1})
    with SQLiteJournal(path, readonly=True) as j:
        assert j.list_studies() == ["s"]


def test_long_study_name_lock_file_fits(tmp_path: Path) -> None:
    from rung.storage.paths import NAME_MAX, lock_file_name

    name = lock_file_name("d" * 200 + ".db", "é" * 100)
    assert len(os.fsencode(name)) <= NAME_MAX
    assert lock_file_name("s.db", "mlp") == "s.db.mlp.lock"  # unchanged for usual names


# --- the spec file itself ----------------------------------------------------------------------
def test_non_utf8_spec(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rejects(isolated, capsys, b"name: \xe9tudes\nmax_step: 3\n", "spec",
            "not UTF-8 text: byte 0xe9 at line 1")


@pytest.mark.parametrize(("text", "key", "lines"), [
    ("name: a\nname: b\n", "spec.name", "lines 1 and 2"),
    ("space:\n  lr: {type: float, low: 0.1, high: 1}\n  lr: [1, 2]\n", "spec.space.lr",
     "lines 2 and 3"),
    ("space: {x: {type: int, low: 1, low: 2, high: 5}}\n", "spec.space.x.low", "line 1"),
    ("constraints:\n- {metric: a, bound: 1, bound: 2}\n", "spec.constraints[0].bound", "line 2"),
])
def test_duplicate_yaml_keys(isolated: Path, capsys: pytest.CaptureFixture[str], text: str,
                             key: str, lines: str) -> None:
    rejects(isolated, capsys, text, key, "given twice", lines)


def test_yaml_merge_keys_and_aliases_are_not_duplicates() -> None:
    data = parse_yaml("base: &b {low: 0.0, high: 1.0}\nx: {<<: *b, type: float}\ny: *b\n")
    assert data["x"] == {"low": 0.0, "high": 1.0, "type": "float"} and data["y"] is data["base"]
    a = parse_yaml("a: &a [1, *a]\n")["a"]
    assert a[1] is a  # recursive aliases are fine
    assert parse_yaml("") is None


# --- values ------------------------------------------------------------------------------------
def test_max_step_is_bounded(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rejects(isolated, capsys, yaml.safe_dump(local_spec(max_step=10**26)), "spec.max_step",
            f"at most {MAX_STEP:,}")
    assert parse_spec(local_spec(max_step=MAX_STEP)).study.max_step == MAX_STEP


def test_unicode_name_is_accepted(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = sim_spec(name="études", n_trials=4)
    (isolated / "spec.yaml").write_text(text, encoding="utf-8")
    assert main(["run", "spec.yaml", "--no-live"]) == 0
    assert (isolated / "runs" / "études.db").is_file()
    capsys.readouterr()
    assert main(["show", "études"]) == 0
    assert "études" in capsys.readouterr().out
    # the decomposed spelling (e + combining accent) is the same name
    nfd = unicodedata.normalize("NFD", "études")
    assert parse_spec(yaml.safe_load(sim_spec(name=nfd))).name == "études"


@pytest.mark.parametrize(("name", "fragment"), [
    ("a/b", "must start with a letter or digit and hold only letters (any script), digits"),
    ("-x", "must start with a letter or digit"),
    ("é" * 51, "too long: 102 bytes in UTF-8, at most 100"),
    (7, "must be a string, got an integer"),
])
def test_bad_names_say_what_is_allowed(isolated: Path, capsys: pytest.CaptureFixture[str],
                                       name: Any, fragment: str) -> None:
    rejects(isolated, capsys, yaml.safe_dump(local_spec(name=name)), "spec.name", fragment)


def test_constraint_on_a_metric_the_benchmark_never_reports(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rejects(isolated, capsys, sim_spec(extra="constraints: [latency <= 3]\n"),
            "spec.constraints[0].metric", "never reports 'latency'", "it reports:")
    rejects(isolated, capsys, sim_spec(extra="metric: los\n"), "spec.metric",
            "never reports 'los'")


# --- the objective -----------------------------------------------------------------------------
@pytest.mark.parametrize("fn", ["no_args", "two_args", "keyword_only"])
def test_objective_with_the_wrong_signature(isolated: Path, capsys: pytest.CaptureFixture[str],
                                            fn: str) -> None:
    text = yaml.safe_dump(local_spec(objective=f"cli_objectives:{fn}"))
    rejects(isolated, capsys, text, "spec.objective", f"{fn}(",
            "cannot take the trial context as its one argument", f"def {fn}(ctx)")


def test_objective_with_defaults_is_fine(isolated: Path) -> None:
    text = yaml.safe_dump(local_spec(objective="cli_objectives:with_default"))
    (isolated / "spec.yaml").write_text(text)
    assert main(["run", "spec.yaml", "--no-live"]) == 0


def test_check_objective() -> None:
    def ok(ctx: Any, *rest: Any, **kw: Any) -> None: ...

    assert check_objective("f", ok) is ok
    assert check_objective("f", print) is print  # a built-in: accepted
    with pytest.raises(ConfigError) as info:
        check_objective("objective", lambda: None)
    assert info.value.key == "objective"
    with pytest.raises(ConfigError, match="must be a function"):
        check_objective("objective", 3)


def test_the_real_command_wrong_signature(tmp_path: Path) -> None:
    """In a real process: one line, exit 2, nothing written."""
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(local_spec(objective="cli_objectives:no_args")))
    r = run_rung("run", "spec.yaml", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.splitlines() == [r.stderr.strip()]
    assert r.stderr.startswith("rung: error: spec.objective: no_args() cannot take")
    assert files_under(tmp_path) == {"spec.yaml"}


# --- Python spaces -----------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "fragment"), [
    ((0.1, 1.0), "rung.Float(0.1, 1.0) (or rung.Int) for a range, or a list [0.1, 1.0]"),
    ((1, 10), "rung.Int(1, 10) (or rung.Float) for a range"),
    (("a", "b", "c"), "write a list ['a', 'b', 'c'] for categorical choices"),
])
def test_a_tuple_in_a_python_space(value: tuple[Any, ...], fragment: str) -> None:
    with pytest.raises(SpaceError) as info:
        SearchSpace({"x": value})
    assert info.value.key == "x" and fragment in info.value.message
    assert "\n" not in str(info.value)


def test_lists_stay_categorical() -> None:
    space = SearchSpace({"x": [0.1, 1.0], "f": Float(0.1, 1.0), "i": Int(1, 10)})
    assert space["x"].to_json() == {"type": "categorical", "choices": [0.1, 1.0]}


def test_resume_of_a_python_study_names_the_key(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rung import Objective, Study

    Study.create("py", SearchSpace({"x": Float(0, 1)}), Objective("loss"), searcher="random",
                 scheduler="fifo", storage=str(isolated / "runs" / "py.db")).close()
    assert main(["resume", "py"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rung: error: objective: study 'py' has none on record"), err
    assert len(err.splitlines()) == 1


def test_spec_error_keys_render_on_one_line() -> None:
    with pytest.raises(SpecError) as info:
        parse_spec({"na\nme": 1})
    assert "\n" not in str(info.value) and str(info.value).startswith("spec.na\\nme: unknown")


def test_characters_yaml_does_not_allow(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rejects(isolated, capsys, b"name: x\nseed: 1\x00\n", "spec",
            "invalid YAML at line 2: character U+0000 is not allowed")


def test_a_bad_when_names_the_parameter_not_its_type() -> None:
    with pytest.raises(SpaceError) as info:
        SearchSpace({"lr": Float(0.1, 1.0, when=3)})  # type: ignore[arg-type]
    assert info.value.key == "lr.when" and str(info.value).startswith("'lr'.when: ")
    assert "when=3" in repr(Float(0.1, 1.0, when=3))  # type: ignore[arg-type]  # unbound repr


@pytest.mark.parametrize(("text", "fragment"), [
    ("seed: !!timestamp 'not a date'\n", "line 1, column 7: cannot build a tag:yaml.org,2002:timestamp"),
    ("seed: !!timestamp 2001-13-45\n", "cannot build a tag:yaml.org,2002:timestamp value"),
    ("seed: !!int 0x\n", "cannot build a tag:yaml.org,2002:int value"),
    ("seed: !!float abc\n", "cannot build a tag:yaml.org,2002:float value"),
])
def test_yaml_values_pyyaml_cannot_build(isolated: Path, capsys: pytest.CaptureFixture[str],
                                         text: str, fragment: str) -> None:
    rejects(isolated, capsys, text, "spec", "invalid YAML at ", fragment)


def test_a_nul_in_path(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Found by the fuzz suite: ValueError (embedded null byte) from pathlib."""
    rejects(isolated, capsys, yaml.safe_dump(local_spec(path="a\0b")), "spec.path",
            "must be a directory path")


def test_a_named_file_that_is_no_journal_is_one_line_saying_so(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--storage`` naming a file rung cannot read said "no study named 'asha' ... (studies:
    none)" (show) and "no studies in ..." with exit 0 (ls), hiding why."""
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"not a database at all, " * 200)
    for argv in (["show", "asha", "--storage", str(bad)], ["ls", "--storage", str(bad)]):
        code = main(argv)
        out, err = capsys.readouterr()
        assert code == 2 and out == ""
        assert err == f"rung: error: {bad} is not a rung journal: file is not a database\n"
    # in a directory, the file is listed as unreadable beside the others, exit 0
    assert main(["ls", "--storage", str(tmp_path)]) == 0
    out, _ = capsys.readouterr()
    row = next(ln for ln in out.splitlines() if ln.endswith(str(bad)))
    assert row.startswith("-") and "unreadable: " in row
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.db"]


def test_ctrl_c_before_a_command_handles_it_is_one_line_and_130(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import rung.cli.main as cli

    def interrupted(args: Any) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "cmd_ls", interrupted)
    assert cli.main(["ls"]) == 130
    assert capsys.readouterr().err == "rung: interrupted\n"


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "x"])
def test_log_every_must_be_a_positive_number_of_seconds(
        value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["resume", "any", "--log-every", value])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith("rung: error: --log-every: ")
    assert err.endswith(" (rung resume --help)\n")


@pytest.mark.parametrize(("space", "fragment"), [
    ("{z: [1, 2, 3]}", "takes x1, x2 (missing x1, x2; not a parameter of it: z)"),
    ("{x1: [0.0, 1.0], x2: [1.0, 2.0], z: [1, 2]}", "takes x1, x2 (not a parameter of it: z)"),
    ("{x1: [0.0, 1.0]}", "takes x1, x2 (missing x2)"),
])
def test_a_space_that_is_not_the_benchmarks_is_refused_before_anything_is_written(
    isolated: Path, capsys: pytest.CaptureFixture[str], space: str, fragment: str
) -> None:
    # it failed the first trial after creating the journal (exit 2, runs/NAME.db written)
    text = ("name: mismatch\nbenchmark: mf-branin\nbudget: {n_trials: 4}\n"
            f"space: {space}\n")
    rejects(isolated, capsys, text, "spec.space", "the benchmark mf-branin ", fragment,
            "leave space out to search the benchmark's own")


def test_a_narrower_space_with_the_benchmarks_names_runs(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (isolated / "spec.yaml").write_text(
        "name: narrow\nbenchmark: mf-branin\nbudget: {n_trials: 3}\n"
        "space: {x1: {type: float, low: 0, high: 1}, x2: 3.0}\n", encoding="utf-8")
    assert main(["run", "spec.yaml", "--no-live"]) == 0
    out = capsys.readouterr().out
    assert "best params: x1=" in out and " x2=3\n" in out
