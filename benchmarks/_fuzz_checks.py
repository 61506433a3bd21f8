"""The property ``fuzz_specs.py`` checks, one case at a time.

Every input is accepted or refused with a one-line ``ConfigError`` naming its key (a spec key
for specs); nothing else may escape. ``check_yaml`` (spec-file bytes), ``check_mapping`` (a
parsed spec) and ``check_space`` (a Python search space) return ``"accepted"`` or
``"rejected"`` and raise ``Violation`` for a case that breaks the property; an accepted spec's
study and an accepted space must also survive a JSON round trip. ``check_cli`` runs a refused
spec file through ``rung run`` in-process: exit 2, one stderr line, nothing written.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from rung import SearchSpace
from rung.errors import ConfigError, RungError

OBJECTIVES = Path(__file__).resolve().parent.parent / "tests" / "cli"  # cli_objectives.py (never imported here)


class Violation(AssertionError):
    """A case that broke the property: an exception other than ``RungError``, a message on more
    than one line, or one that does not name its key."""


def _check_error(e: RungError, spec: bool) -> None:
    text = str(e)
    if "\n" in text or "\r" in text:
        raise Violation(f"message on several lines: {text!r}") from e
    if not isinstance(e, ConfigError):
        raise Violation(f"{type(e).__name__} is not a ConfigError: {text!r}") from e
    if spec:
        if not (e.key and e.key.startswith("spec") and text.startswith(e.key[:4])):
            raise Violation(f"does not name a spec key (key={e.key!r}): {text!r}") from e
    elif e.key is None and "space" not in e.message and "configuration" not in e.message:
        raise Violation(f"no key: {text!r}") from e


def _guard(fn: Callable[[], Any], spec: bool) -> str:
    try:
        fn()
    except RungError as e:
        _check_error(e, spec)
        return "rejected"
    except Violation:
        raise
    except Exception as e:
        raise Violation(f"{type(e).__name__}: {e}") from e
    return "accepted"


def check_mapping(data: Any) -> str:
    """``"accepted"`` or ``"rejected"`` for a parsed spec; raises ``Violation``."""
    from rung.cli.spec import parse_spec

    return _guard(lambda: _study_round_trip(parse_spec(data, base_dir=OBJECTIVES)), spec=True)


def check_yaml(raw: bytes) -> str:
    from rung.cli.spec import parse_spec
    from rung.cli.spec_yaml import loads_yaml

    return _guard(lambda: _study_round_trip(parse_spec(loads_yaml(raw), base_dir=OBJECTIVES)),
                  spec=True)


def check_space(params: Any) -> str:
    """``SearchSpace(params)``: accepted or refused with a one-line ``RungError``. An accepted
    space must then sample, validate its own samples, encode them and round-trip through JSON:
    any exception there (a ``RungError`` too) breaks the property."""
    try:
        space = SearchSpace(params)
    except RungError as e:
        _check_error(e, spec=False)
        return "rejected"
    except Exception as e:
        raise Violation(f"{type(e).__name__}: {e}") from e
    try:
        rng = np.random.default_rng(0)
        for _ in range(3):
            cfg = space.sample(rng)
            if space.validate(cfg) != cfg:
                raise Violation(f"a sample does not validate to itself: {cfg!r}")
            u = space.to_unit(cfg)
            space.validate(space.from_unit(u))
        again = SearchSpace.from_json(json.loads(json.dumps(space.to_json())))
    except Violation:
        raise
    except Exception as e:
        raise Violation(f"accepted space {space.to_json()!r} then {type(e).__name__}: {e}") from e
    if again != space:
        raise Violation(f"JSON round trip changed the space: {space.to_json()!r}")
    return "accepted"


def _study_round_trip(spec: Any) -> None:
    """An accepted spec's study must survive the journal's JSON (what ``rung resume`` reads)."""
    from rung.core.records import StudySpec

    try:
        again = StudySpec.from_json(json.loads(json.dumps(spec.study.to_json())))
    except Exception as e:
        raise Violation(f"accepted spec, then its JSON fails: {type(e).__name__}: {e}") from e
    if again != spec.study:
        raise Violation(f"JSON round trip changed the study spec: {spec.study.to_json()!r}")


def check_cli(raw: bytes, workdir: Path) -> None:
    """``rung run`` on a spec that ``parse_spec`` refused: exit 2, one stderr line, nothing
    written."""
    from rung.cli.main import main

    spec_file = workdir / "spec.yaml"
    spec_file.write_bytes(raw)
    before = sorted(p.name for p in workdir.iterdir())
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(["run", str(spec_file), "--no-live"])
        except SystemExit as e:  # argparse
            code = e.code if isinstance(e.code, int) else 1
    lines = err.getvalue().splitlines()
    if code != 2 or len(lines) != 1 or not lines[0].startswith("rung: error: spec"):
        raise Violation(f"rung run: exit {code}, stderr {err.getvalue()!r}")
    if sorted(p.name for p in workdir.iterdir()) != before or out.getvalue():
        raise Violation(f"rung run wrote something: {sorted(os.listdir(workdir))}")


__all__ = ["OBJECTIVES", "Violation", "check_cli", "check_mapping", "check_space", "check_yaml"]
