"""A journal whose spec or record bodies were damaged (edited by hand) is one line naming the
file, the study and what is wrong, exit code 1, as a malformed record always was; ``rung ls``
lists such a journal as unreadable, with that reason, and goes on with the others.

Before: 20-39-line tracebacks (``KeyError: 'name'``, ``JSONDecodeError``, ``ValueError:
invalid literal for int()``, ``AttributeError: 'list' object has no attribute 'get'``,
``ValueError: 'resume' is not a valid Action``), and ``rung ls DIR`` died with the
``KeyError`` of one bad journal, hiding the good one beside it."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

import rung
from rung.cli.main import main
from rung.errors import JournalError


@pytest.fixture
def good(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Study ``s`` that ``rung run`` ran (so that ``rung resume`` may read it) in good.db."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.yaml").write_text("name: s\nbenchmark: mf-branin\nscheduler: asha\n"
                                     "budget: {n_trials: 6}\nstorage: good.db\n")
    assert main(["run", "s.yaml", "--no-live"]) == 0
    return tmp_path / "good.db"


def _spec(edit: Callable[[dict], None]) -> Callable[[sqlite3.Connection], None]:
    def damage(c: sqlite3.Connection) -> None:
        spec = json.loads(c.execute("SELECT spec FROM study").fetchone()[0])
        edit(spec)
        c.execute("UPDATE study SET spec = ?", (json.dumps(spec),))
    return damage


def _first(kind: str, body: str) -> Callable[[sqlite3.Connection], None]:
    def damage(c: sqlite3.Connection) -> None:
        c.execute("UPDATE record SET body = ? WHERE seq = (SELECT MIN(seq) FROM record "
                  "WHERE kind = ?)", (body, kind))
    return damage


def _reply_action(c: sqlite3.Connection) -> None:
    seq, body = c.execute("SELECT seq, body FROM record WHERE kind = 'Reply' ORDER BY seq "
                          "LIMIT 1").fetchone()
    c.execute("UPDATE record SET body = ? WHERE seq = ?",
              (body.replace('"action":"continue"', '"action":"resume"'), seq))


def _seq(c: sqlite3.Connection, kind: str) -> int:
    return int(c.execute("SELECT MIN(seq) FROM record WHERE kind = ?", (kind,)).fetchone()[0])


CASES = {
    "noname": (_spec(lambda s: s.pop("name")), "its spec is damaged (no 'name' key)"),
    "badtype": (_spec(lambda s: s.update(max_step="27x")),
                "its spec is damaged (invalid literal for int() with base 10: '27x')"),
    "badjson": (lambda c: c.execute("UPDATE study SET spec = substr(spec, 1, 100)"),
                "its spec is damaged (not JSON: "),
    "notobject": (lambda c: c.execute("UPDATE study SET spec = '[1, 2]'"),
                  "its spec is damaged (a JSON list, not an object)"),
    "array": (_first("TrialStarted", "[1,2]"),
              "record {TrialStarted}: malformed TrialStarted record [1, 2]: not a JSON object"),
    "null": (_first("TrialStarted", "null"),
             "record {TrialStarted}: malformed TrialStarted record None: not a JSON object"),
    "action": (_reply_action, "record {Reply}: malformed Reply record "),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_damaged_body_is_one_line_naming_file_study_and_what(
    case: str, good: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    damage, what = CASES[case]
    bad = good.with_name(f"{case}.db")
    shutil.copy(good, bad)
    with sqlite3.connect(bad) as c:
        damage(c)
        what = what.format(TrialStarted=_seq(c, "TrialStarted"), Reply=_seq(c, "Reply"))
    c.close()
    head = f"{bad.name}: study 's'" + (f", {what}" if what.startswith("record") else f": {what}")
    capsys.readouterr()
    for command in (["show", "s"], ["resume", "s", "--no-live"], ["export", "s", "-o", "-"]):
        assert main([*command, "--storage", bad.name]) == 1, command
        out = capsys.readouterr()
        assert out.err.startswith(f"rung: error: {head}"), (command, out.err)
        assert out.err.count("\n") == 1, out.err
    with pytest.raises(JournalError) as e:
        rung.Study.load("s", storage=bad.name, readonly=True)
    assert str(e.value).startswith(head)
    if case == "action":
        assert str(e.value).endswith(": 'resume' is not a valid Action")
    # rung ls of the directory: the bad journal is listed unreadable, the good one as it is
    assert main(["ls", "--storage", "."]) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert {r.split()[-1]: r.split()[1] for r in rows} == {"good.db": "done",
                                                            bad.name: "unreadable:"}
    unreadable = next(r for r in rows if r.endswith(bad.name))
    assert unreadable.split("unreadable: ", 1)[1].startswith(head)
