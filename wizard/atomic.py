"""Atomic file replacement: readers see the old file or the new one, never a partial write."""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import time
from pathlib import Path

from wizard.files import refuse_link


def write_atomic(path: Path, data: str | bytes, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` (str is written as UTF-8) in one atomic step.

    The temp file is created in the target's folder (a rename is only atomic within one file
    system) with ``mode`` from the first byte on, so a secret is never readable by others, not
    even for a moment; the mode is forced past the umask, and a target that had wider bits ends
    up with exactly ``mode``. A symlink (or anything but a regular file) at ``path`` is
    refused (``UnsafeFile``): never followed, never silently replaced. On any failure the temp
    file is removed and the old file is left as it was.
    """
    refuse_link(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    folder = path.parent
    # Named after the target so `.env.*` in .gitignore covers a temp left by a kill -9.
    _remove_stale_temps(path)
    tmp = folder / f"{path.name}.{secrets.token_hex(6)}{TMP_SUFFIX}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    flags |= getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(tmp, flags, mode)
    try:
        try:
            os.fchmod(fd, mode)  # the umask may have cleared bits the caller asked for
            view = memoryview(payload)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(folder)


TMP_SUFFIX = ".dream-pixel.tmp"
STALE_AFTER = 60.0  # seconds: older temps belong to no live writer


def _remove_stale_temps(path: Path) -> None:
    """Temps a killed run left beside ``path`` (they may hold secrets) are removed."""
    now = time.time()
    for old in path.parent.glob(f"{glob.escape(path.name)}.*{TMP_SUFFIX}"):
        with contextlib.suppress(OSError):
            if now - old.lstat().st_mtime > STALE_AFTER:
                old.unlink()


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable; some file systems refuse to fsync a folder."""
    try:
        dir_fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
