"""Checkpoint directories as uncompressed tar archives, so checkpoints travel with the messages
(or through Ray's object store) and need no shared filesystem."""

from __future__ import annotations

import io
import logging
import os
import secrets
import shutil
import tarfile
from pathlib import Path
from typing import Any

from rung.core.events import CheckpointSaved, Launch
from rung.errors import RungError
from rung.executors.atomic_dir import fsync_dir, replace_dir
from rung.executors.pool import remove_dir

log = logging.getLogger("rung.ray")


def pack_dir(path: str | os.PathLike[str]) -> bytes:
    """The directory ``path`` as an uncompressed tar archive (its contents at the root)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.add(os.fspath(path), arcname=".")
    return buf.getvalue()


def unpack_dir(data: bytes, dest: str | os.PathLike[str]) -> None:
    """Extract an archive made by ``pack_dir`` into ``dest`` atomically and durably: the
    archive is unpacked into a temporary sibling, ``fsync``-ed and swapped in
    (``rung.executors.atomic_dir.replace_dir``), so ``dest`` is either absent or complete, and
    a ``dest`` that holds a checkpoint keeps holding one (the old or the new). Members that
    would land outside ``dest`` (absolute paths, ``..``, links out) are refused."""
    target = Path(dest)
    new_parent = not target.parent.exists()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".tmp-{target.name}-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
            if hasattr(tarfile, "data_filter"):
                tar.extractall(tmp, filter="data")
            else:  # pragma: no cover - Python < 3.11.4
                for m in tar.getmembers():
                    p = Path(m.name)
                    if p.is_absolute() or ".." in p.parts or m.issym() or m.islnk():
                        raise RungError(f"checkpoint archive member {m.name!r} is not allowed")
                tar.extractall(tmp)
        replace_dir(tmp, target)
        if new_parent:
            fsync_dir(target.parent.parent)  # the trial's directory is a new entry
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def archive_for(root: Path | None, launch: Launch) -> bytes | None:
    """The archive of the checkpoint ``launch`` restores from the driver's checkpoint
    directory ``root`` (``None``: no checkpoint, or it is missing: the trial starts
    without it)."""
    if launch.checkpoint is None or root is None:
        return None
    src = root / launch.checkpoint
    if not src.is_dir():
        log.warning("trial %d: checkpoint %s is missing on the driver; the trial starts "
                    "without it", launch.trial_id, src)
        return None
    return pack_dir(src)


def store_shipped(root: Path | None, msg: tuple[Any, ...], t: float) -> CheckpointSaved | None:
    """Unpack the checkpoint a ``SAVED`` message ships (its archive appended) under ``root``;
    the event is made only once the copy is complete on the driver (``None``: nothing
    usable arrived, or its path leads outside ``root``)."""
    _, tid, step, path, _wt, size, data = msg
    if data is None or root is None:
        log.warning("trial %d: checkpoint at step %d did not arrive; not recorded", tid, step)
        return None
    target = (root / path).resolve()
    if root not in target.parents:
        log.warning("trial %d: refusing checkpoint path %r outside %s", tid, path, root)
        return None
    unpack_dir(data, target)
    return CheckpointSaved(tid, step, path, t, size)


__all__ = ["archive_for", "pack_dir", "remove_dir", "store_shipped", "unpack_dir"]
