"""Reading the files the wizard finds: regular files only, never through a link, size-capped.

A link at ``.env.production`` pointing to ``~/.bashrc``, a ``/dev/zero``, a FIFO or a
100 MB file must give one clear refusal, not a copied token, an exhausted memory or a hang.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from wizard.errors import SetupError

# Far above any real env file, state or .gitignore; far below what hurts memory.
MAX_FILE_BYTES = 4 * 1024 * 1024


class UnsafeFile(SetupError):
    """A file the wizard will not read or replace: a link, not a regular file, too big."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def describe_link(path: Path) -> str:
    try:
        return f"a symbolic link to {os.readlink(path)}"
    except OSError:
        return "a symbolic link"


def read_regular(
    path: Path,
    *,
    what: str | None = None,
    max_bytes: int = MAX_FILE_BYTES,
    missing_ok: bool = True,
    hint: str = "",
) -> bytes | None:
    """The bytes of ``path`` if it is a regular file (not a link) of at most ``max_bytes``.

    ``None`` when it does not exist and ``missing_ok``. Anything else raises UnsafeFile,
    naming ``what`` (defaults to the path) and the true reason.
    """
    name = what or str(path)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
    flags |= getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        if missing_ok:
            return None
        raise UnsafeFile(f"{name}: no such file", hint=hint) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP or path.is_symlink():
            raise UnsafeFile(
                f"{name} is {describe_link(path)}; the wizard does not read or write through links",
                hint=hint or "replace the link with a regular file (or pass the file itself)",
            ) from None
        if exc.errno == errno.EISDIR:
            raise UnsafeFile(f"{name} is a directory, not a file", hint=hint) from None
        raise UnsafeFile(f"{name}: cannot read it ({exc.strerror})", hint=hint) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnsafeFile(
                f"{name} is {_kind(st.st_mode)}, not a regular file",
                hint=hint or "point it at a regular file",
            )
        if st.st_size > max_bytes:
            raise UnsafeFile(
                f"{name} is {st.st_size // 1024} KB, more than the {max_bytes // 1024} KB "
                "this wizard reads",
                hint=hint or "check that it is the right file",
            )
        chunks: list[bytes] = []
        total = 0
        while True:  # the size can grow while we read: the cap holds anyway
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            total += len(chunk)
            if total > max_bytes:
                raise UnsafeFile(
                    f"{name} is larger than the {max_bytes // 1024} KB this wizard reads",
                    hint=hint or "check that it is the right file",
                )
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def refuse_link(path: Path, *, what: str | None = None, hint: str = "") -> None:
    """Refuse a path that is a symbolic link or exists as something other than a regular
    file: the wizard would otherwise replace a deliberate link by a regular file, or write
    where the link points."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    name = what or str(path)
    if stat.S_ISLNK(st.st_mode):
        raise UnsafeFile(
            f"{name} is {describe_link(path)}; the wizard does not write through links or "
            "replace them",
            hint=hint or "replace the link with a regular file, or write the file yourself",
        )
    if not stat.S_ISREG(st.st_mode):
        raise UnsafeFile(f"{name} is {_kind(st.st_mode)}, not a regular file", hint=hint)
