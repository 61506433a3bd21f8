"""Where the atomic exchange is unavailable (macOS, a kernel before 3.15, a file system that
refuses it), replacing a checkpoint takes two renames: the old one aside, the new one in. A
kill between them left the path the journal names empty, and the old checkpoint under a
``.tmp-`` name that the sweeps then deleted: the trial's checkpoint was lost. Now the sweeps
put it back first (``atomic_dir.recover_asides``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from test_atomic_checkpoint import Killed, checkpoint, holds

import rung.executors.atomic_dir as ad
from rung.executors.pool import remove_partial_saves, sweep_checkpoints


def _killed_between_the_renames(dest: Path, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``replace_dir(tmp, dest)`` without the exchange, killed right after its first rename
    (the old checkpoint moved aside); returns the aside."""
    monkeypatch.setattr(ad, "exchange", lambda a, b: False)
    real_rename = os.rename

    def rename(a: object, b: object) -> None:
        real_rename(a, b)  # type: ignore[arg-type]
        raise Killed("rename")

    with monkeypatch.context() as m:
        m.setattr(ad.os, "rename", rename)
        with pytest.raises(Killed):
            ad.replace_dir(tmp, dest)
    aside = ad.aside_name(dest, os.getpid())
    assert not dest.exists() and holds(aside) == "old" and holds(tmp) == "new"
    return aside


def test_an_aside_is_put_back_under_its_free_name_and_only_then(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dest, tmp = tmp_path / "0" / "5", tmp_path / "0" / ".tmp-5-77"
    checkpoint(dest, "old")
    checkpoint(tmp, "new")
    aside = _killed_between_the_renames(dest, tmp, monkeypatch)
    assert ad.recover_asides(dest.parent, pid=os.getpid() + 1) == []  # another process's only
    assert not dest.exists()
    assert ad.recover_asides(dest.parent, pid=os.getpid()) == ["5"]
    assert holds(dest) == "old" and not aside.exists()
    assert ad.recover_asides(dest.parent) == []  # nothing left to put back

    # the name taken (the new one got in before the kill): the aside is left for the sweep
    checkpoint(aside, "old")
    assert ad.recover_asides(dest.parent) == []
    assert holds(dest) == "old" and holds(aside) == "old"
    assert ad.recover_asides(tmp_path / "missing") == []


@pytest.mark.parametrize("held", [True, False])
def test_the_session_sweep_puts_the_checkpoint_back_before_it_sweeps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, held: bool
) -> None:
    """A held checkpoint (the journal names it) is back; one the study no longer needs is
    put back, then removed like any other; the cut-short save goes in both cases."""
    root = tmp_path / "ckpt"
    dest, tmp = root / "0" / "5", root / "0" / ".tmp-5-77"
    checkpoint(dest, "old")
    checkpoint(root / "0" / "2", "old")
    checkpoint(tmp, "new")
    _killed_between_the_renames(dest, tmp, monkeypatch)
    removed = sweep_checkpoints(root, {"0/5", "0/2"} if held else {"0/2"})
    assert removed == (["0/.tmp-5-77"] if held else ["0/.tmp-5-77", "0/5"])
    assert holds(root / "0" / "2") == "old"
    if held:
        assert holds(dest) == "old"
        assert sorted(p.name for p in (root / "0").iterdir()) == ["2", "5"]
    else:
        assert sorted(p.name for p in (root / "0").iterdir()) == ["2"]


_SAVER = """
import os, signal, sys
from pathlib import Path
import rung.executors.atomic_dir as ad
ad.exchange = lambda a, b: False
real_rename, calls = os.rename, []
def rename(a, b):
    real_rename(a, b)
    calls.append(b)
    if len(calls) == 1:
        os.kill(os.getpid(), signal.SIGKILL)
os.rename = rename
dest = Path(sys.argv[1])
tmp = dest.parent / f".tmp-{dest.name}-{os.getpid()}"
tmp.mkdir()
(tmp / "w.bin").write_text("new")
ad.replace_dir(tmp, dest)
"""


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_a_worker_sigkilled_between_the_renames_leaves_its_trial_the_old_checkpoint(
    tmp_path: Path,
) -> None:
    """A real SIGKILL between the two renames, then what the driver does when a worker dies
    (``remove_partial_saves``, ``LocalExecutor``'s): the journaled path holds the old
    checkpoint again and no ``.tmp-`` directory is left."""
    root = tmp_path / "ckpt"
    dest = root / "3" / "4"
    dest.mkdir(parents=True)
    (dest / "w.bin").write_text("old")
    proc = subprocess.run([sys.executable, "-c", _SAVER, str(dest)], timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert not dest.exists()
    [aside] = [p for p in dest.parent.iterdir() if p.name.startswith(".tmp-old-")]
    pid = int(aside.name.rsplit("-", 1)[1])
    assert {p.name for p in dest.parent.iterdir()} == {aside.name, f".tmp-4-{pid}"}
    remove_partial_saves(root, 3, pid + 1)  # another worker's death: not this one's leftovers
    assert not dest.exists()
    remove_partial_saves(root, 3, pid)
    assert (dest / "w.bin").read_text() == "old"
    assert [p.name for p in dest.parent.iterdir()] == ["4"]
