"""Bad command lines are one line naming the option, with where the usage is, exit code 2
(argparse printed its usage block before the error: three to five lines)."""

from __future__ import annotations

import pytest

from rung.cli.main import main


@pytest.mark.parametrize(("argv", "line"), [
    (["dashboard", "--interval", "0.05"],
     "rung: error: --interval: must be a number of seconds >= 0.1, got 0.05 "
     "(rung dashboard --help)"),
    (["dashboard", "--port", "x"], "rung: error: --port: not an integer: 'x' "
     "(rung dashboard --help)"),
    (["plot", "s", "--kind", "nope", "-o", "a.png"],
     "rung: error: --kind: invalid choice: 'nope' (choose from 'history', 'curves', "
     "'occupancy', 'workers', 'parallel', 'importance', 'pareto', 'slices') (rung plot --help)"),
    (["plot", "s"], "rung: error: the following arguments are required: -o/--output "
     "(rung plot --help)"),
    (["run", "--workers", "x", "spec.yaml"],
     "rung: error: --workers: not an integer: 'x' (rung run --help)"),
    (["nope"], "rung: error: COMMAND: invalid choice: 'nope' (choose from 'run', 'resume', "
     "'ls', 'show', 'demo', 'export', 'ledger', 'plan', 'plot', 'dashboard', 'delete') (rung --help)"),
])
def test_a_bad_command_line_is_one_line(argv: list[str], line: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(argv)
    out, err = capsys.readouterr()
    assert (e.value.code, out, err) == (2, "", line + "\n")


def test_bare_rung_prints_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("usage: rung [-h] [--version] COMMAND ...") and "dashboard" in err
