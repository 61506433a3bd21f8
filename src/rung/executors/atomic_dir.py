"""Putting a complete checkpoint directory in place of another, so that its path never holds
nothing or a part.

A checkpoint is written into a temporary sibling (``.tmp-*``), made durable (every file and
directory in it ``fsync``-ed), then swapped in. When the path already holds a checkpoint (a
step re-reached after a restart from an older one: the journal names that path), Linux swaps
the two directories in one step (``renameat2(RENAME_EXCHANGE)``): at every instant the path
holds the old checkpoint or the new one, and the old one is removed only after the swap, from
the temporary name it now has. Where the exchange is unavailable (macOS, a kernel before 3.15,
a file system that refuses it), the old one is renamed aside first (``aside_name``:
``.tmp-old-<name>-<pid>``) and removed after the new one is in place: a kill between those two
renames leaves the path empty and the old, complete checkpoint under the aside name.
``recover_asides`` puts such a checkpoint back under its name; the sweeps that remove a dead
save's ``.tmp-`` leftovers call it first, so the journaled path holds a checkpoint again
before anything is restored from it. The parent directory is ``fsync``-ed after each rename,
so the new name survives a power loss.
"""

from __future__ import annotations

import ctypes
import errno
import os
import re
import shutil
from pathlib import Path

#: ``renameat2`` flag: swap the two names atomically (both must exist).
RENAME_EXCHANGE = 2
_AT_FDCWD = -100
# errors meaning "no exchange here" (not "this exchange failed"): fall back to two renames
_UNSUPPORTED = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EPERM}
_renameat2: object | None = None  # the libc function, once looked up (False: there is none)
_ASIDE = re.compile(r"\.tmp-old-(.+)-(\d+)")


def aside_name(dest: Path, pid: int) -> Path:
    """Where ``replace_dir``'s fallback moves ``dest``'s old contents while the new ones take
    its name: a ``.tmp-`` sibling (swept like a cut-short save) that names ``dest``."""
    return dest.parent / f".tmp-old-{dest.name}-{pid}"


def recover_asides(directory: Path, pid: int | None = None) -> list[str]:
    """Put back every old checkpoint ``replace_dir``'s fallback had moved aside in
    ``directory`` when the process doing it was killed before the new one took the name: an
    aside (``aside_name``; only those of process ``pid`` when given) whose name is free again
    is renamed back to it, and the directory ``fsync``-ed. An aside whose name is taken (the
    new checkpoint got there) is left for the caller's sweep. Returns the names recovered."""
    recovered: list[str] = []
    try:
        entries = sorted(directory.iterdir())
    except OSError:
        return recovered
    for d in entries:
        m = _ASIDE.fullmatch(d.name)
        if m is None or (pid is not None and int(m.group(2)) != pid) or not d.is_dir():
            continue
        dest = directory / m.group(1)
        if dest.exists():
            continue
        try:
            os.rename(d, dest)
        except OSError:
            continue  # e.g. another process recovered it first
        recovered.append(m.group(1))
    if recovered:
        fsync_dir(directory)
    return recovered


def fsync_tree(path: Path) -> None:
    """``fsync`` every regular file under ``path`` and every directory (``path`` itself
    included), so what a save wrote is on disk before the directory takes its final name.
    Symbolic links are not followed."""
    for root, _dirs, files in os.walk(path):
        for name in files:
            p = os.path.join(root, name)
            if not os.path.islink(p):
                _sync(p, directory=False)
        _sync(root, directory=True)


def fsync_dir(path: Path) -> None:
    """``fsync`` the directory ``path`` (its entries: a rename into it); a no-op where
    directories cannot be opened or synced (Windows, some file systems)."""
    _sync(os.fspath(path), directory=True)


def _sync(path: str, directory: bool) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        if directory:
            return
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not directory:
            raise
    finally:
        os.close(fd)


def exchange(a: Path, b: Path) -> bool:
    """Swap the names ``a`` and ``b`` (both existing) in one step; ``False`` when this system
    or file system cannot (nothing changed then).

    Raises:
        OSError: the exchange is supported but failed (permissions, ``a`` or ``b`` missing).
    """
    global _renameat2
    if _renameat2 is None:
        _renameat2 = False
        try:
            fn = ctypes.CDLL(None, use_errno=True).renameat2
        except (AttributeError, OSError):  # not glibc >= 2.28 / musl >= 1.2.2: no wrapper
            pass
        else:
            fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                           ctypes.c_uint]
            fn.restype = ctypes.c_int
            _renameat2 = fn
    if _renameat2 is False:
        return False
    assert callable(_renameat2)
    if _renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in _UNSUPPORTED:
        return False
    raise OSError(err, os.strerror(err), str(a), None, str(b))


def replace_dir(src: Path, dest: Path) -> None:
    """Make the complete directory ``src`` (written in ``dest``'s directory) appear at
    ``dest``, durably: ``src`` is ``fsync``-ed, then renamed to ``dest`` or, when ``dest``
    exists, exchanged with it and the old contents removed (see the module docstring for
    where the exchange is unavailable). On return ``src`` no longer exists.

    A kill at any point leaves ``dest`` holding its old contents or ``src``'s, and ``.tmp-``
    siblings for the caller's sweep; where the exchange is unavailable, a kill between the
    fallback's two renames leaves ``dest`` absent and its old contents under ``aside_name``,
    which ``recover_asides`` (called by the sweeps) puts back.
    """
    fsync_tree(src)
    parent = dest.parent
    if not dest.exists():
        os.rename(src, dest)
        fsync_dir(parent)
        return
    if exchange(src, dest):
        fsync_dir(parent)
        # the old checkpoint, under the temporary name; what a failure leaves is swept later
        shutil.rmtree(src, ignore_errors=True)
        return
    aside = aside_name(dest, os.getpid())  # swept as src's name would be
    if aside.exists():
        shutil.rmtree(aside)
    os.rename(dest, aside)
    fsync_dir(parent)  # a crash from here on leaves the aside for ``recover_asides``
    try:
        os.rename(src, dest)
    except BaseException:
        os.rename(aside, dest)  # put the old one back
        raise
    fsync_dir(parent)
    shutil.rmtree(aside, ignore_errors=True)


__all__ = [
    "RENAME_EXCHANGE", "aside_name", "exchange", "fsync_dir", "fsync_tree", "recover_asides",
    "replace_dir",
]
