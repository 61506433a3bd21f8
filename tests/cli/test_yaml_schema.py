"""A spec's plain scalars are read by YAML 1.2's core schema (``rung.cli.spec_yaml``): ``1e-5``
is a number, only ``true`` / ``false`` are booleans, an integer with a leading zero is refused
naming its key; a spec that YAML 1.1 read without surprise reads the same."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from clihelp import HERE, files_under

from rung.cli.main import main
from rung.cli.spec import SpecError, load_spec, parse_spec
from rung.cli.spec_yaml import parse_yaml

EXAMPLES = HERE.parents[1] / "examples"


@pytest.mark.parametrize(("text", "value"), [
    # numbers YAML 1.1 (PyYAML) read as text
    ("1e-5", 1e-05), ("1E5", 100000.0), ("+1e3", 1000.0), ("1.e2", 100.0), ("1.", 1.0),
    ("0o17", 15), ("-0o17", -15),
    # numbers both read alike
    ("1.0e-5", 1e-05), ("0.1", 0.1), (".5", 0.5), ("-3", -3), ("0", 0), ("1_000", 1000),
    ("1_000.5", 1000.5), ("0x1f", 31), ("0b101", 5), (".inf", math.inf), ("-.inf", -math.inf),
    # booleans: only true / false
    ("true", True), ("False", False), ("TRUE", True),
    ("yes", "yes"), ("no", "no"), ("on", "on"), ("off", "off"), ("Yes", "Yes"), ("y", "y"),
    # text YAML 1.1 read as something else
    ("2024-01-31", "2024-01-31"), ("1:30", "1:30"), ("=", "="),
    # null
    ("~", None), ("null", None), ("", None),
    # quoted is text
    ("'1e-5'", "1e-5"), ('"true"', "true"),
])
def test_plain_scalars(text: str, value: Any) -> None:
    got = parse_yaml(f"v: {text}\n")["v"]
    assert got == value and type(got) is type(value)


def test_nan_is_a_float() -> None:
    assert math.isnan(parse_yaml("v: .nan\n")["v"])


def test_keys_read_as_text() -> None:
    assert parse_yaml("on: 1\nyes: 2\nno: 3\n") == {"on": 1, "yes": 2, "no": 3}


UNAMBIGUOUS = """\
name: old
space:
  lr: {type: float, low: 1.0e-5, high: 0.1, log: true}
  width: {type: int, low: 16, high: 512}
  opt: [adam, sgd]
  frac: [0.25, .5, 1.0e+0]
  flag: [true, false]
  nothing: ~
  base: &b {type: float, low: 0.0, high: 1.0}
  merged: {<<: *b, step: 0.5}
  aliased: *b
budget: {n_trials: 1_000, max_time: 3600.0}
seed: -7
note: "quoted text"
big: 0x7f
"""


@pytest.mark.parametrize("text", [UNAMBIGUOUS, (EXAMPLES / "spec.yaml").read_text()],
                         ids=["unambiguous", "examples-spec"])
def test_unambiguous_specs_read_as_yaml_1_1_read_them(text: str) -> None:
    assert parse_yaml(text) == yaml.safe_load(text)


def test_a_spec_reads_as_a_user_means(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "yaml_schema_train", raising=False)
    (tmp_path / "yaml_schema_train.py").write_text("def fit(ctx):\n    pass\n")
    (tmp_path / "spec.yaml").write_text(
        "name: s\nobjective: yaml_schema_train:fit\nmetric: loss\n"
        "budget: {n_trials: 3}\n"
        "space:\n"
        "  lr: {type: float, low: 1e-5, high: 1e-1, log: true}\n"
        "  answer: {type: categorical, choices: [yes, no]}\n"
        "  on: [off, auto]\n")
    spec, fn = load_spec(tmp_path / "spec.yaml")
    assert fn is not None and fn.__name__ == "fit"
    assert spec.study.space.to_json() == {
        "lr": {"type": "float", "low": 1e-05, "high": 0.1, "log": True},
        "answer": {"type": "categorical", "choices": ["yes", "no"]},
        "on": {"type": "categorical", "choices": ["off", "auto"]},
    }


def test_yes_where_a_boolean_is_needed_is_refused_by_key() -> None:
    data = parse_yaml("name: s\nexecutor: simulated\nbenchmark: mf-branin\n"
                      "space: {lr: {type: float, low: 1e-5, high: 0.1, log: yes}}\n")
    with pytest.raises(SpecError) as e:
        parse_spec(data)
    assert str(e.value) == "spec.space.lr.log: must be true or false, got 'yes'"


@pytest.mark.parametrize(("text", "line"), [
    ("seed: 017\n", "spec.seed: 017 is ambiguous at line 2 (an integer with a leading zero): "
     "write '017' in quotes for text, 17 for decimal, or 0o17 for octal"),
    ("space:\n  x: [1, -08]\n", "spec.space.x[1]: -08 is ambiguous at line 3 (an integer with "
     "a leading zero): write '-08' in quotes for text, -8 for decimal"),
    ("space:\n  007: 1\n", "spec.space: 007 is ambiguous at line 3 (an integer with a leading "
     "zero): write '007' in quotes for text, 7 for decimal, or 0o7 for octal"),
])
def test_a_leading_zero_is_refused_naming_the_key(
    isolated: Path, capsys: pytest.CaptureFixture[str], text: str, line: str
) -> None:
    (isolated / "spec.yaml").write_text("name: z\n" + text)
    before = files_under(isolated)
    assert main(["run", "spec.yaml", "--no-live"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == f"rung: error: {line}\n"
    assert files_under(isolated) == before
