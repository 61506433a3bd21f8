"""Fuzz suite (issue 15 item 7): specs (YAML bytes and parsed mappings) and Python search spaces.

Every case is accepted or refused with a one-line ``RungError`` naming its key, and nothing else
escapes; a share of the refused spec files also goes through ``rung run`` in-process (exit code 2,
one stderr line, nothing written). The strategies and checks are those of
``benchmarks/fuzz_specs.py``, which runs 100,000 cases outside CI. About 1,000 cases here and 6,000 more in the slow lane.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import fuzz_specs as fz

FUZZ = settings(deadline=None, database=None, derandomize=True,
                suppress_health_check=list(HealthCheck))


#: Cases per strategy in the default lane, and in the slow lane (other cases: other seeds).
QUICK, LONG = 300, 2000


@settings(FUZZ, max_examples=QUICK)
@given(raw=fz.yaml_bytes())
def test_yaml_spec_files(raw: bytes) -> None:
    fz.check_yaml(raw)


@settings(FUZZ, max_examples=QUICK)
@given(data=fz.spec_mappings())
def test_parsed_specs(data: Any) -> None:
    fz.check_mapping(data)


@settings(FUZZ, max_examples=QUICK)
@given(params=fz.python_spaces())
def test_python_spaces(params: Any) -> None:
    fz.check_space(params)


@pytest.mark.slow
@settings(FUZZ, max_examples=LONG, derandomize=False, database=None)
@given(raw=fz.yaml_bytes())
def test_yaml_spec_files_long(raw: bytes) -> None:
    fz.check_yaml(raw)


@pytest.mark.slow
@settings(FUZZ, max_examples=LONG, derandomize=False, database=None)
@given(data=fz.spec_mappings())
def test_parsed_specs_long(data: Any) -> None:
    fz.check_mapping(data)


@pytest.mark.slow
@settings(FUZZ, max_examples=LONG, derandomize=False, database=None)
@given(params=fz.python_spaces())
def test_python_spaces_long(params: Any) -> None:
    fz.check_space(params)


@pytest.fixture(scope="module")
def cli_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-cli")


@settings(FUZZ, max_examples=100)
@given(raw=fz.yaml_bytes())
def test_refused_specs_through_rung_run(raw: bytes, cli_dir: Path,
                                        monkeypatch_module: pytest.MonkeyPatch) -> None:
    if fz.check_yaml(raw) == "rejected":
        fz.check_cli(raw, cli_dir)


@pytest.fixture(scope="module")
def monkeypatch_module(cli_dir: Path) -> Any:
    """Run from an empty directory: the default storage (runs/) must not appear."""
    mp = pytest.MonkeyPatch()
    mp.chdir(cli_dir)
    mp.setattr(sys, "path", list(sys.path))
    yield mp
    mp.undo()
