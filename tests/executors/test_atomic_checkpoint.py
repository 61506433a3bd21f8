"""Saving a checkpoint at a step that already has one (re-reached after a restart from an
older checkpoint) swaps the new one in (``rung.executors.atomic_dir``): a kill at any point
leaves the path the journal names holding a complete checkpoint, the old or the new. Before,
the old one was removed first, then the new one renamed in: a kill in between left nothing
there (and nothing was ``fsync``-ed before the rename: a power loss could leave it empty)."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import rung.executors.atomic_dir as ad
from rung.executors.protocol import SAVED
from rung.executors.ray.archive import pack_dir, unpack_dir
from rung.executors.worker import TrialContext

LINUX = sys.platform.startswith("linux")


class Killed(BaseException):
    """Stands for SIGKILL at that point: nothing after it runs (no cleanup either)."""


def checkpoint(path: Path, tag: str, n: int = 3) -> None:
    """A complete checkpoint: ``n`` files and a subdirectory, every file saying ``tag``."""
    (path / "sub").mkdir(parents=True)
    for i in range(n):
        (path / f"w{i}.bin").write_text(tag * 100)
    (path / "sub" / "meta.json").write_text(tag)


def holds(path: Path) -> str:
    """``old`` or ``new``: the complete checkpoint at ``path``; fails on anything else."""
    assert path.is_dir(), f"{path} holds nothing"
    files = sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file())
    assert files == ["sub/meta.json", "w0.bin", "w1.bin", "w2.bin"], files
    tags = {p.read_text()[:3] for p in path.rglob("*") if p.is_file()}
    assert tags in ({"old"}, {"new"}), tags
    return tags.pop()


def _kill_after(fn: Callable[..., Any]) -> Callable[..., Any]:
    def killed(*args: Any, **kwargs: Any) -> Any:
        fn(*args, **kwargs)
        raise Killed(fn.__name__)
    return killed


def _kill_before(fn: Callable[..., Any]) -> Callable[..., Any]:
    def killed(*args: Any, **kwargs: Any) -> Any:
        raise Killed(fn.__name__)
    return killed


# every point of a replacement a kill can fall on, and what the path holds then
POINTS = [
    ("fsync_tree", _kill_before, "old"),  # while the new one is made durable
    ("fsync_tree", _kill_after, "old"),
    ("exchange", _kill_after, "new"),  # swapped: the old one under the temporary name
    ("fsync_dir", _kill_before, "new"),
    ("fsync_dir", _kill_after, "new"),
]


@pytest.mark.skipif(not LINUX, reason="renameat2(RENAME_EXCHANGE) is Linux's")
@pytest.mark.parametrize(("point", "how", "expected"), POINTS)
def test_a_kill_at_any_point_leaves_a_complete_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, point: str,
    how: Callable[[Callable[..., Any]], Callable[..., Any]], expected: str,
) -> None:
    dest, tmp = tmp_path / "0" / "5", tmp_path / "0" / ".tmp-5-1"
    checkpoint(dest, "old")
    checkpoint(tmp, "new")
    monkeypatch.setattr(ad, point, how(getattr(ad, point)))
    with pytest.raises(Killed):
        ad.replace_dir(tmp, dest)
    assert holds(dest) == expected
    left = [p.name for p in dest.parent.iterdir() if p.name.startswith(".tmp-")]
    assert left == [".tmp-5-1"]  # the other one, for the sweep of .tmp- directories
    assert holds(dest.parent / ".tmp-5-1") == ("new" if expected == "old" else "old")


@pytest.mark.skipif(not LINUX, reason="renameat2(RENAME_EXCHANGE) is Linux's")
def test_the_old_checkpoint_is_removed_only_after_the_swap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The removal of the old one, interrupted: the new one is in place already."""
    dest, tmp = tmp_path / "5", tmp_path / ".tmp-5-1"
    checkpoint(dest, "old")
    checkpoint(tmp, "new")

    def rmtree(path: Any, ignore_errors: bool = False) -> None:
        assert holds(dest) == "new"  # before any of the old one goes
        raise Killed("rmtree")

    monkeypatch.setattr(ad.shutil, "rmtree", rmtree)
    with pytest.raises(Killed):
        ad.replace_dir(tmp, dest)
    assert holds(dest) == "new"


def test_a_replacement_fsyncs_every_file_and_directory_before_the_swap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dest, tmp = tmp_path / "5", tmp_path / ".tmp-5-1"
    checkpoint(dest, "old")
    checkpoint(tmp, "new")
    synced: list[str] = []
    real_fsync, real_open = os.fsync, os.open
    names: dict[int, str] = {}

    def opened(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        fd = real_open(path, flags, *args, **kwargs)
        names[fd] = os.fspath(path)
        return fd

    def fsync(fd: int) -> None:
        synced.append(os.path.relpath(names[fd], tmp_path))
        real_fsync(fd)

    monkeypatch.setattr(ad.os, "open", opened)
    monkeypatch.setattr(ad.os, "fsync", fsync)
    ad.replace_dir(tmp, dest)
    monkeypatch.undo()
    # the files and directories of the new checkpoint (under the name they had), then the
    # directory the swap renamed in
    assert sorted(synced[:-1]) == sorted([
        ".tmp-5-1", ".tmp-5-1/sub", ".tmp-5-1/sub/meta.json", ".tmp-5-1/w0.bin",
        ".tmp-5-1/w1.bin", ".tmp-5-1/w2.bin"])
    assert synced[-1] == "."
    assert holds(dest) == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["5"]


def test_without_the_exchange_two_renames_replace_it_and_an_error_puts_the_old_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """macOS, an old kernel, a file system that refuses the exchange: the old one is renamed
    aside, the new one in, then the old one removed; a failing second rename puts the old
    one back."""
    monkeypatch.setattr(ad, "exchange", lambda a, b: False)
    dest, tmp = tmp_path / "5", tmp_path / ".tmp-5-1"
    checkpoint(dest, "old")
    checkpoint(tmp, "new")
    ad.replace_dir(tmp, dest)
    assert holds(dest) == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["5"]

    checkpoint(tmp, "old")
    real_rename, calls = os.rename, []

    def rename(a: Any, b: Any) -> None:
        calls.append(b)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_rename(a, b)

    monkeypatch.setattr(ad.os, "rename", rename)
    with pytest.raises(OSError):
        ad.replace_dir(tmp, dest)
    assert holds(dest) == "new"  # the old one (of this call) back in place


@pytest.mark.skipif(not LINUX, reason="renameat2(RENAME_EXCHANGE) is Linux's")
def test_the_exchange_swaps_two_directories_and_says_when_it_cannot(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    checkpoint(a, "old")
    checkpoint(b, "new")
    assert ad.exchange(a, b) is True
    assert (holds(a), holds(b)) == ("new", "old")
    with pytest.raises(FileNotFoundError):
        ad.exchange(a, tmp_path / "missing")


def test_a_worker_resaving_a_step_swaps_the_checkpoint_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``TrialContext``'s save, at a step whose checkpoint exists (a restart from step 1's
    re-reaches step 2): killed right after the swap, step 2's path holds the new one; not
    killed, the new one, its ``SAVED`` message sent, and no temporary directory left."""
    root = tmp_path / "ckpt"

    def report(sent: list[Any]) -> None:
        ctx = TrialContext(_Sink(sent), 1, 0, {}, 2, 2, 2, root, "0/1", 1)  # type: ignore[arg-type]
        ctx.report(2, loss=1.0, save=lambda d: checkpoint(Path(d), "new"))

    if LINUX:
        checkpoint(root / "0" / "2", "old")
        monkeypatch.setattr(ad, "exchange", _kill_after(ad.exchange))
        with pytest.raises(Killed):
            report([])
        assert holds(root / "0" / "2") == "new"
        monkeypatch.undo()
        shutil.rmtree(root / "0" / "2")
    checkpoint(root / "0" / "2", "old")
    sent: list[Any] = []
    report(sent)
    assert holds(root / "0" / "2") == "new"
    assert [m[:4] for m in sent if m[0] == SAVED] == [(SAVED, 0, 2, "0/2")]
    assert sorted(p.name for p in (root / "0").iterdir()) == ["2"]


class _Killer:
    """Wraps directory removals and renames: kills (raises ``Killed``) just before, or just
    after, the ``n``-th call."""

    REAL: dict[str, Callable[..., Any]] = {"rmtree": shutil.rmtree, "rename": os.rename}

    def __init__(self, n: int, after: bool) -> None:
        self.n, self.after, self.calls = n, after, 0

    def wrap(self, name: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            if self.calls == self.n and not self.after:
                raise Killed(name)
            out = self.REAL[name](*args, **kwargs)
            if self.calls == self.n:
                raise Killed(name)
            return out
        return call


def test_a_kill_around_any_removal_or_rename_of_a_resave_leaves_a_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker's save of step 2 over step 2's checkpoint, killed just before or just after
    each directory removal or rename it makes, in turn, until one run is not killed: each
    time step 2's path holds a complete checkpoint. (The save removed the old checkpoint,
    then renamed the new one in: killed after the removal, the path held nothing.)"""
    final = tmp_path / "ckpt" / "0" / "2"
    for n, after in ((n, after) for n in range(1, 8) for after in (False, True)):
        if final.parent.exists():
            shutil.rmtree(final.parent)
        checkpoint(final, "old")
        sent: list[Any] = []
        ctx = TrialContext(_Sink(sent), 1, 0, {}, 2, 2, 2,  # type: ignore[arg-type]
                           tmp_path / "ckpt", "0/1", 1)
        killer = _Killer(n, after)
        with monkeypatch.context() as m:
            m.setattr(shutil, "rmtree", killer.wrap("rmtree"))
            m.setattr(os, "rename", killer.wrap("rename"))
            try:
                ctx.report(2, loss=1.0, save=lambda d: checkpoint(Path(d), "new"))
            except Killed:
                holds(final)  # old or new, complete
                continue
        assert holds(final) == "new"
        assert sent[-1][:4] == (SAVED, 0, 2, "0/2")
        break
    else:
        raise AssertionError("every run was killed")


class _Sink:
    """A worker's channel that keeps what is sent; it never waits (the lease is max_step)."""

    def __init__(self, sent: list[Any]) -> None:
        self.send = sent.append

    def recv(self) -> Any:
        raise AssertionError("the worker waited for a reply")

    def poll(self) -> bool:
        return False


def test_the_ray_driver_unpacks_a_resaved_checkpoint_by_swapping_it_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Ray driver's copy of a shipped checkpoint (``unpack_dir``) is replaced the same
    way."""
    dest = tmp_path / "0" / "2"
    checkpoint(dest, "old")
    checkpoint(tmp_path / "src", "new")
    data = pack_dir(tmp_path / "src")
    if LINUX:
        monkeypatch.setattr(ad, "fsync_dir", _kill_before(ad.fsync_dir))
        with pytest.raises(Killed):
            unpack_dir(data, dest)
        assert holds(dest) == "new"
        monkeypatch.undo()
        checkpoint(tmp_path / "again", "old")
        unpack_dir(pack_dir(tmp_path / "again"), dest)
        assert holds(dest) == "old"
    unpack_dir(data, dest)
    assert holds(dest) == "new"
