"""`rung export` / `rung plot` never write over a journal's files, never write one format
under another's suffix, name the user's file (not a hidden temporary one) when a write fails,
and say what an empty study's JSON is.

Every refusal: one line naming `-o`, exit code 2, and the target byte for byte as it was (the
journal still loads with the same trials)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import rung
from rung.cli.main import main
from rung.storage.paths import lock_file_name

pytest.importorskip("pandas")


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert out == ""
    return code, err


def _snapshot(d: Path) -> dict[str, bytes]:
    """Every file under ``d`` (the journal, its sidecars, checkpoints) with its bytes; a
    ``-shm`` file's are left out (every reader of the journal writes its read marks there)."""
    return {str(p.relative_to(d)): b"" if p.name.endswith("-shm") else p.read_bytes()
            for p in sorted(d.rglob("*")) if p.is_file()}


def _trials(db: Path) -> list[tuple[object, ...]]:
    s = rung.Study.load("s", storage=db, readonly=True)
    try:
        return [(t.id, t.params, t.status) for t in s.trials()]
    finally:
        s.close()


JOURNAL = "is the journal of study 's', which writing it would destroy (name another file)"


def _refusals(d: Path) -> list[tuple[list[str], str]]:
    """(the command's arguments after the study's, the error's text after ``rung: error: ``)"""
    lock = lock_file_name("s.db", "s")
    return [
        (["export", "--format", "csv", "-o", "s.db"], f"-o s.db: {JOURNAL}"),
        (["export", "--format", "json", "-o", "s.db"], f"-o s.db: {JOURNAL}"),
        (["export", "-o", "link.csv"], f"-o link.csv: {JOURNAL}"),
        (["export", "-o", "hard.csv"], f"-o hard.csv: {JOURNAL}"),
        (["export", "--format", "json", "-o", str(d / "s.db")],
         f"-o {d / 's.db'}: {JOURNAL}"),
        (["plot", "-o", "link.png"], f"-o link.png: {JOURNAL}"),
        (["plot", "--kind", "history", "-o", "hard.svg"], f"-o hard.svg: {JOURNAL}"),
        (["export", "--format", "csv", "-o", "s.db-wal"],
         "-o s.db-wal: is the write-ahead log of the SQLite database s.db, which writing it "
         "would corrupt (name another file)"),
        (["export", "--format", "csv", "-o", "s.db-shm"],
         "-o s.db-shm: is the shared-memory index of the SQLite database s.db, which writing "
         "it would corrupt (name another file)"),
        (["export", "--format", "json", "-o", "s.db-journal"],
         "-o s.db-journal: is the rollback journal of the SQLite database s.db, which writing "
         "it would corrupt (name another file)"),
        (["export", "--format", "csv", "-o", lock],
         f"-o {lock}: is a writer lock of the journal s.db, which writing it would break "
         "(name another file)"),
        (["export", "-o", "s-checkpoints/x.csv"],
         "-o s-checkpoints/x.csv: is inside s-checkpoints, the checkpoint directory of the "
         "journal s.db (name a file outside it)"),
        (["plot", "-o", "s-checkpoints/x.png"],
         "-o s-checkpoints/x.png: is inside s-checkpoints, the checkpoint directory of the "
         "journal s.db (name a file outside it)"),
        (["export", "--format", "csv", "-o", "other.db"],
         "-o other.db: is an SQLite database (a rung journal?), which rung does not "
         "overwrite (name another file)"),
        (["export", "-o", "other.csv"],
         "-o other.csv: is an SQLite database (a rung journal?), which rung does not "
         "overwrite (name another file)"),
        (["plot", "-o", "other.png"],
         "-o other.png: is an SQLite database (a rung journal?), which rung does not "
         "overwrite (name another file)"),
    ]


def test_a_journal_s_files_are_never_written(
    stored: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The audit's data loss: `rung export s --format csv -o s.db` replaced the journal with
    a CSV (exit 0), and a run writing it went on appending to an unlinked file."""
    d = stored.parent
    (d / "link.csv").symlink_to("s.db")
    (d / "link.png").symlink_to("s.db")
    os.link(stored, d / "hard.csv")
    os.link(stored, d / "hard.svg")
    (d / "s-checkpoints").mkdir()
    shutil.copyfile(stored, d / "other.db")
    shutil.copyfile(stored, d / "other.csv")
    shutil.copyfile(stored, d / "other.png")
    ids = _trials(stored)  # a read: the journal's -shm (and -wal) from now on
    assert len(ids) == 12  # the stored fixture's
    before = _snapshot(d)
    for args, message in _refusals(d):
        if args[0] == "plot":
            pytest.importorskip("matplotlib")
        code, err = _run(capsys, args[0], "s", "--storage", "s.db", *args[1:])
        assert (code, err) == (2, f"rung: error: {message}\n"), args
        assert _snapshot(d) == before, args  # nothing written, nothing left behind
    assert _trials(stored) == ids
    assert main(["show", "s", "--storage", "s.db"]) == 0
    assert capsys.readouterr().out.startswith("study s  (s.db)")


def test_a_suffix_that_names_another_format_is_refused(
    stored: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--format parquet -o fmt.csv` wrote Parquet into a .csv file, exit 0."""
    d = stored.parent
    (d / "fmt.csv").write_text("old\n")
    (d / "fmt.json").write_text("old\n")
    ids = _trials(stored)  # a read: the journal's -shm (and -wal) from now on
    before = _snapshot(d)
    for args, message in [
        (["--format", "parquet", "-o", "fmt.csv"],
         "-o fmt.csv: the suffix .csv names CSV, not --format parquet (name a .parquet or "
         ".pq file, or drop --format)"),
        (["--format", "csv", "-o", "fmt.json"],
         "-o fmt.json: the suffix .json names JSON, not --format csv (name a .csv file, or "
         "drop --format)"),
        (["--format", "json", "-o", "new.PQ"],
         "-o new.PQ: the suffix .pq names Parquet, not --format json (name a .json file, or "
         "drop --format)"),
        (["--format", "csv", "-o", "new.db"],
         "-o new.db: a .db file is taken for an SQLite journal (rung ls, --storage DIR); "
         "name a .csv file"),
        (["--format", "parquet", "-o", "new.sqlite"],
         "-o new.sqlite: a .sqlite file is taken for an SQLite journal (rung ls, --storage "
         "DIR); name a .parquet or .pq file"),
    ]:
        code, err = _run(capsys, "export", "s", "--storage", "s.db", *args)
        assert (code, err) == (2, f"rung: error: {message}\n"), args
        assert _snapshot(d) == before, args
    assert _trials(stored) == ids
    # the format a suffix names, and any suffix that names none, are still written
    assert _run(capsys, "export", "s", "--storage", "s.db", "--format", "csv",
                "-o", "fmt.csv")[0] == 0
    assert (d / "fmt.csv").read_text().startswith("trial_id,")
    assert _run(capsys, "export", "s", "--storage", "s.db", "--format", "json",
                "-o", "fmt.txt")[0] == 0
    assert (d / "fmt.txt").read_text().startswith("[")
    # a name that is only a suffix names its format too (pathlib sees none in ".json")
    assert _run(capsys, "export", "s", "--storage", "s.db", "-o", ".json")[0] == 0
    assert (d / ".json").read_text().startswith("[")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_failed_write_names_the_file_and_the_system_s_reason(
    stored: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every format alike: Parquet's said `Error writing bytes to file. Detail: [errno 28]
    ...` (or named the hidden temporary file: `Failed to open local file
    '/sys/.x.29576.tmp.parquet'`)."""
    pytest.importorskip("pyarrow")
    for fmt in ("csv", "json", "parquet"):
        code, err = _run(capsys, "export", "s", "--storage", "s.db", "--format", fmt,
                         "-o", "/dev/full")
        assert (code, err) == (2, "rung: error: -o /dev/full: No space left on device\n"), fmt


@pytest.mark.skipif(not os.path.isdir("/sys/kernel"), reason="needs sysfs")
def test_a_parquet_file_that_cannot_be_created_names_the_user_s_path(
    stored: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("pyarrow")
    code, err = _run(capsys, "export", "s", "--storage", "s.db", "-o", "/sys/x.parquet")
    assert code == 2
    assert err in ("rung: error: -o /sys/x.parquet: Permission denied\n",
                   "rung: error: -o /sys/x.parquet: Read-only file system\n",
                   "rung: error: -o /sys/x.parquet: Operation not permitted\n")


def test_an_empty_study_s_json_is_an_empty_array_as_the_help_says(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """JSON rows carry the column names, so no rows name none: documented (the CSV keeps its
    header), not changed (a non-empty export reads as before)."""
    s = rung.Study.create("e", {"x": rung.Float(0, 1)}, objective="loss", max_step=1,
                          budget=rung.Budget(n_trials=2), storage=isolated / "e.db")
    s.close()
    assert main(["export", "e", "--storage", "e.db", "--format", "json"]) == 0
    assert capsys.readouterr().out == "[]\n"
    assert main(["export", "e", "--storage", "e.db"]) == 0
    assert capsys.readouterr().out.startswith("trial_id,params_x,")
    with pytest.raises(SystemExit) as e:
        main(["export", "--help"])
    assert e.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert ("a study without trials (or results) is [], which names no columns (CSV keeps "
            "its header row, Parquet its schema)") in text
