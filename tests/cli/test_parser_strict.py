"""The command line's small promises (audit findings L1, L2, L4): no parser takes an abbreviated
long option (``--to`` for ``--top`` stopped working the day an option shared its prefix);
``--log-every`` states its default as every other option does; docs/spec.md gives the exit
codes of every command, not only ``rung run``'s."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from rung.cli.main import build_parser, main

ROOT = Path(__file__).resolve().parents[2]


def _parsers() -> dict[str, argparse.ArgumentParser]:
    """``rung``'s parser and each command's, by command (``""``: ``rung`` itself)."""
    top = build_parser()
    sub = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
    return {"": top, **sub.choices}


def test_no_parser_allows_abbreviations() -> None:
    parsers = _parsers()
    assert len(parsers) == 12  # rung and its 11 commands
    assert {name: p.allow_abbrev for name, p in parsers.items()} == dict.fromkeys(parsers, False)


@pytest.mark.parametrize(("args", "message"), [
    (["show", "s", "--to", "2"], "unrecognized arguments: --to 2 (rung show --help)"),
    (["export", "s", "--form", "json"], "unrecognized arguments: --form json (rung export --help)"),
    (["ls", "--stor", "x"], "unrecognized arguments: --stor x (rung ls --help)"),
    (["run", "spec.yaml", "--no-l"], "unrecognized arguments: --no-l (rung run --help)"),
])
def test_an_abbreviated_option_is_refused(isolated: Path, capsys: pytest.CaptureFixture[str],
                                          args: list[str], message: str) -> None:
    assert main(args) == 2
    assert capsys.readouterr() == ("", f"rung: error: {message}\n")
    assert list(isolated.iterdir()) == []  # nothing written


@pytest.mark.parametrize("command", ["run", "resume", "demo"])
def test_log_every_states_its_default(command: str) -> None:
    action = next(a for a in _parsers()[command]._actions if "--log-every" in a.option_strings)
    assert action.default == 5.0
    assert "(default 5;" in (action.help or "")


def test_the_exit_codes_of_every_command_are_documented() -> None:
    page = (ROOT / "docs" / "spec.md").read_text()
    start = page.index("\n## Exit codes of `rung run`\n")
    end = page.find("\n## ", start + 1)
    section = page[start:end if end >= 0 else len(page)]
    for name in _parsers():
        if name:
            assert re.search(rf"`(rung )?{name}`", section), name
    assert "`rung: error: standard output: No space left on device`" in section
