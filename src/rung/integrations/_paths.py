"""Whether a tracker's directory can be created and written, found by looking only (no probe
file or directory is made): ``dir_problem``. Private to ``rung.integrations``."""

from __future__ import annotations

import os
from pathlib import Path

#: file systems that hold no directories of ours: kernel views (``/proc``, ``/sys``, cgroups,
#: ...) answer ``mkdir`` with ENOENT or EPERM even for root, whom ``os.access`` never refuses
PSEUDO_FS = frozenset({
    "proc", "sysfs", "cgroup", "cgroup2", "devpts", "securityfs", "debugfs", "tracefs",
    "pstore", "bpf", "efivarfs", "fusectl", "binfmt_misc", "mqueue", "selinuxfs", "configfs",
    "nsfs",
})
_MOUNTINFO = "/proc/self/mountinfo"


def _unescape(field: str) -> str:
    """A mountinfo path field: spaces, tabs, newlines and backslashes are octal escapes."""
    for code, ch in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, ch)
    return field


def fs_type(path: str | os.PathLike[str], mountinfo: str = _MOUNTINFO) -> str | None:
    """The type of the file system ``path`` (an existing path) is on, from ``mountinfo``
    (Linux's ``/proc/self/mountinfo``): the mount whose mount point is the longest prefix of
    its real path; ``None`` where there is no such file (not Linux) or it cannot be read."""
    try:
        with open(mountinfo, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    real = os.path.realpath(path)
    best, best_type = -1, None
    for line in lines:
        left, sep, right = line.partition(" - ")
        fields = left.split()
        if not sep or len(fields) < 5 or not right.split():
            continue
        point = _unescape(fields[4])
        inside = real == point or real.startswith(point.rstrip("/") + "/")
        if inside and len(point) > best:
            best, best_type = len(point), right.split()[0]
    return best_type


def _mount_problem(ancestor: Path) -> str | None:
    """Why nothing can be created under the existing directory ``ancestor`` whatever its
    permissions say: a read-only file system, or a kernel one (``PSEUDO_FS``)."""
    try:
        if os.statvfs(ancestor).f_flag & os.ST_RDONLY:
            return f"cannot create directories under {ancestor}: a read-only file system"
    except (OSError, AttributeError):  # statvfs: not on Windows
        pass
    kind = fs_type(ancestor)
    if kind in PSEUDO_FS:
        return f"cannot create directories under {ancestor}: it is on a {kind} file system"
    return None


def dir_problem(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` cannot be (or become) a directory this process writes in (one clause), or
    ``None``. Looks only: an existing path must be a writable directory; a missing one needs
    its nearest existing ancestor to be a writable directory on a file system that takes new
    directories (not read-only, not a kernel view such as ``/proc``)."""
    p = Path(path)
    try:
        if p.exists():
            if not p.is_dir():
                return f"{p} is not a directory"
            if not os.access(p, os.W_OK | os.X_OK):
                return f"{p} is not writable by this user"
            return _mount_problem(p)
        # the nearest existing ancestor, named as the user wrote the path ('.' ends the walk
        # of a relative one)
        ancestor = Path(next((a for a in p.parents if a.exists()), p.absolute().anchor))
        if not ancestor.is_dir():
            return f"{ancestor} is a file, not a directory"
        if not os.access(ancestor, os.W_OK | os.X_OK):
            return f"cannot create directories under {ancestor}: permission denied"
        return _mount_problem(ancestor)
    except OSError as e:
        return f"cannot use {p}: {e.strerror or e}"


__all__ = ["PSEUDO_FS", "dir_problem", "fs_type"]
