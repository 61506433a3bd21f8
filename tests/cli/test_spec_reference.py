"""docs/spec.md, the reference of the YAML spec, against the parser it documents.

The page must name every top-level key the parser accepts (``rung.cli.spec._TOP_KEYS``), every
budget key, every registered searcher, scheduler and stop rule, every benchmark, every tracker
with its options, every executor option and every parameter type with its keys, and its tables
must list no key the parser refuses. Every fenced ``yaml`` block of the page is run through
``parse_spec`` (objectives are imported from a temporary ``train.py``), by the marker on its
first line:

- no marker, with a top-level ``name:``: a whole spec, parsed as it is;
- ``# fragment``: its keys replace those of a base spec (``BASE``, or ``BASE_SIMULATED`` when
  the fragment names a ``benchmark``), and the result must parse;
- ``# error: <line>``: the same, and parsing must raise a ``SpecError`` whose text is exactly
  ``<line>``.

A ``yaml`` block with neither a marker nor a top-level ``name:`` fails the test: every YAML
example of the page is checked.
"""

from __future__ import annotations

import importlib.util
import inspect
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from rung.benchmarks import _REGISTRY, BENCHMARKS
from rung.cli import spec as spec_module
from rung.cli.spec import SpecError, parse_spec, resolve_objective
from rung.cli.spec_tracking import _TRACKERS
from rung.cli.spec_yaml import parse_yaml
from rung.core.budget import BUDGET_KEYS
from rung.core.registry import names
from rung.executors.options import executor_option_names
from rung.space.params import _KINDS

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "docs" / "spec.md"

#: what a ``# fragment`` / ``# error:`` block is merged into
BASE: dict[str, Any] = {
    "name": "base", "objective": "train:fit",
    "space": {"lr": {"type": "float", "low": 1.0e-5, "high": 0.1, "log": True},
              "width": {"type": "int", "low": 16, "high": 512, "log": True},
              "opt": ["adam", "sgd"]},
    "metric": "val_loss", "max_step": 27, "budget": {"n_trials": 50},
}
#: the base of a fragment that names a ``benchmark``
BASE_SIMULATED: dict[str, Any] = {"name": "base", "budget": {"n_trials": 50}}

TRAIN = "def fit(ctx):\n    ctx.report(1, val_loss=0.0)\n"


def page() -> str:
    return PAGE.read_text(encoding="utf-8")


def section(heading: str) -> str:
    """The text of the ``## <heading>`` section of the page, up to the next ``## ``."""
    text = page()
    start = text.find(f"\n## {heading}\n")
    assert start >= 0, f"docs/spec.md has no section '## {heading}'"
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else len(text)]


def column(heading: str, index: int = 0) -> list[str]:
    """The backticked names in column ``index`` of the first table of section ``heading``
    (header and rule rows skipped, empty cells dropped)."""
    rows = [line for line in section(heading).splitlines() if line.startswith("|")][2:]
    assert rows, f"section '{heading}' has no table"
    cells = [row.strip("|").split("|")[index].strip() for row in rows]
    return [m.group(1) for c in cells if (m := re.fullmatch(r"`([^`]+)`", c))]


def yaml_blocks() -> list[tuple[int, str]]:
    """``(line number, text)`` of every fenced yaml block of the page."""
    out = []
    lines = page().splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```yaml":
            j = lines.index("```", i + 1)
            out.append((i + 2, "\n".join(lines[i + 1:j]) + "\n"))
            i = j
        i += 1
    return out


# --- every key is on the page ------------------------------------------------------------------
def test_top_level_table_lists_exactly_the_keys_the_parser_accepts() -> None:
    assert sorted(column("Top-level keys")) == sorted(spec_module._TOP_KEYS)


def test_every_top_level_key_has_a_section() -> None:
    headings = re.findall(r"^## (.+)$", page(), flags=re.M)
    words = {w for h in headings for w in re.split(r"[ ,]+", h)}
    missing = [k for k in spec_module._TOP_KEYS if k not in words]
    assert missing == []


def test_budget_table_lists_exactly_the_budget_keys() -> None:
    assert column("budget") == list(BUDGET_KEYS)


def test_every_searcher_and_scheduler_name_is_in_the_table_and_no_other() -> None:
    assert sorted(column("searcher and scheduler", 0)) == names("searcher")
    assert sorted(column("searcher and scheduler", 2)) == names("scheduler")


def test_every_stop_rule_name_is_named() -> None:
    for name in names("stop_rule"):
        assert f"stop: {name}" in page() or f"{{name: {name}" in section("budget")


def test_benchmark_table_lists_exactly_the_benchmarks() -> None:
    assert sorted(column("benchmark")) == list(BENCHMARKS)
    for name in BENCHMARKS:  # their constructor's parameters too
        row = next(line for line in section("benchmark").splitlines()
                   if line.startswith(f"| `{name}` "))
        params = [p for p in inspect.signature(_REGISTRY[name]).parameters]
        if "as `mf-hartmann3`" not in row:
            assert [p for p in params if f"`{p}`" not in row] == [], name


def test_tracking_table_lists_every_tracker_and_option() -> None:
    assert column("tracking") == list(_TRACKERS)
    rows = {line.split("|")[1].strip(" `"): line for line in section("tracking").splitlines()
            if line.startswith("| `")}
    for tracker, (_module, extra, options) in _TRACKERS.items():
        assert f"`rung[{extra}]`" in rows[tracker]
        assert [o for o in options if f"`{o}`" not in rows[tracker]] == [], tracker


def test_executor_options_table_lists_every_option_of_every_executor() -> None:
    assert column("executor_options") == list(spec_module.EXECUTORS)
    rows = {line.split("|")[1].strip(" `"): line
            for line in section("executor_options").splitlines() if line.startswith("| `")}
    own = {"checkpoint_every", "n_workers", "max_concurrent", "objective"}
    for executor in spec_module.EXECUTORS:
        wanted = [o for o in executor_option_names(executor) if o not in own]
        assert [o for o in wanted if f"`{o}`" not in rows[executor]] == [], executor


def test_every_parameter_type_and_its_keys_are_in_the_space_table() -> None:
    text = section("space")
    for kind, cls in _KINDS.items():
        row = next(line for line in text.splitlines() if line.startswith(f"| `{{type: {kind},"))
        keys = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
        assert [k for k in keys if not re.search(rf"\b{k}\b", row)] == [], kind


# --- every YAML example parses (or fails exactly as the page says) -----------------------------
@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The repository as the current directory (nothing is written: parse_spec only probes
    the storage path); a spec directory holding ``train.py`` and a link to the repository's
    ``benchmarks`` (a curve-table's path is relative to the spec's directory); sys.path,
    PYTHONPATH and a cached ``train`` module restored after."""
    monkeypatch.chdir(REPO)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setenv("PYTHONPATH", "")
    monkeypatch.delitem(sys.modules, "train", raising=False)
    spec_dir = tmp_path / "specs"
    spec_dir.mkdir()
    (spec_dir / "train.py").write_text(TRAIN)
    (spec_dir / "benchmarks").symlink_to(REPO / "benchmarks")
    return spec_dir


def _needs(data: dict[str, Any]) -> str | None:
    """The optional package a spec needs that is not installed (the test is skipped then)."""
    wanted = [_TRACKERS[t][0] for t in (data.get("tracking") or {}) if t in _TRACKERS]
    if data.get("executor") == "ray":
        wanted.append("ray")
    return next((m for m in wanted if importlib.util.find_spec(m) is None), None)


def _data(text: str) -> tuple[dict[str, Any], str | None]:
    """The spec a block stands for, and the error it must raise (``None``: it must parse)."""
    first = text.splitlines()[0]
    block = parse_yaml(text)  # as rung run reads a file
    assert isinstance(block, dict), "a yaml block of docs/spec.md is a mapping of spec keys"
    if first.startswith("# error: ") or first.strip() == "# fragment":
        base = dict(BASE_SIMULATED if "benchmark" in block else BASE)
        if "fidelity" in block:
            base.pop("max_step")  # the fidelity sets it
        expected = first.removeprefix("# error: ") if first.startswith("# error: ") else None
        return {**base, **block}, expected
    assert "name" in block, ("a yaml block of docs/spec.md is a whole spec (a top-level "
                             "name:), or starts with '# fragment' or '# error: <line>'")
    return block, None


BLOCKS = yaml_blocks()


def test_the_page_has_examples_of_each_kind() -> None:
    firsts = [text.splitlines()[0] for _, text in BLOCKS]
    assert sum(f.startswith("name:") for f in firsts) >= 3
    assert sum(f == "# fragment" for f in firsts) >= 10
    assert sum(f.startswith("# error: ") for f in firsts) >= 3


@pytest.mark.parametrize(("line", "text"), BLOCKS, ids=[f"line{n}" for n, _ in BLOCKS])
def test_yaml_example_parses_as_the_page_says(workdir: Path, line: int, text: str) -> None:
    data, expected = _data(text)
    missing = _needs(data)
    if missing is not None:
        pytest.skip(f"docs/spec.md line {line} needs {missing}, not installed")
    if expected is not None:
        with pytest.raises(SpecError) as e:
            parse_spec(data, base_dir=workdir)
        assert str(e.value) == expected
        return
    spec = parse_spec(data, base_dir=workdir)
    assert spec.name == data["name"]
    if spec.objective is not None:
        assert callable(resolve_objective(spec))
    else:
        assert spec.executor == "simulated" and spec.benchmark is not None


def test_the_parser_docstring_points_to_the_page_and_its_example_parses(workdir: Path) -> None:
    doc = spec_module.__doc__ or ""
    assert "docs/spec.md" in doc
    example = doc.split("::\n\n", 1)[1].split("\n\n", 1)[0]
    data = parse_yaml("\n".join(line[4:] for line in example.splitlines()))
    spec = parse_spec(data, base_dir=workdir)
    assert (spec.name, spec.study.scheduler.name, spec.study.max_step) == ("mlp", "asha", 27)
    assert callable(resolve_objective(spec))


def test_rung_run_help_points_to_the_page(capsys: pytest.CaptureFixture[str]) -> None:
    from rung.cli.main import main

    with pytest.raises(SystemExit) as e:
        main(["run", "--help"])
    assert e.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # as wrapped for any terminal width
    assert "spec the YAML study spec (every key: docs/spec.md) options:" in out
    assert (Path(__file__).resolve().parents[2] / "docs" / "spec.md").is_file()
