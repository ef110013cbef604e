"""One run at a time: a lock per project and environment.

``.dream-pixel/lock-<environment>`` is held with ``flock(2)`` on an open descriptor. The
kernel releases it when the holder exits, however it exits (kill -9 included), so a file
left behind by a dead run is never mistaken for a live holder: the next run simply gets
the lock. The file's content is only a note for the refusal (pid, command, since when).
A run that ends removes the file (and a ``.dream-pixel`` it made and left empty).

Held by ``apply``, ``reset`` and the interactive wizards when they may write; plans and
dry runs read without it (state writes merge on disk anyway, see ``wizard.state``).
Within one process the lock is re-entrant (the TUI's "start over" resets under the lock
the app already holds): flock would otherwise see a second descriptor as a second holder.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from wizard.errors import SetupError
from wizard.state import harden, private_dir

# A second run waits this long for the first to finish before it refuses.
LOCK_WAIT = 5.0
_POLL = 0.1


class LockBusy(SetupError):
    """Another run of this project and environment holds the lock."""


@dataclass
class _Held:
    fd: int
    count: int
    made_dir: bool  # this run created .dream-pixel: removed again if it stays empty


_held: dict[str, _Held] = {}
_guard = threading.Lock()


def lock_path(project_dir: Path, environment: str) -> Path:
    return project_dir / ".dream-pixel" / f"lock-{environment}"


@contextmanager
def run_lock(
    project_dir: Path,
    environment: str,
    command: str,
    *,
    wait: float = LOCK_WAIT,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Hold the lock for the ``with`` block; LockBusy after ``wait`` seconds."""
    key = acquire(project_dir, environment, command, wait=wait, on_wait=on_wait)
    try:
        yield
    finally:
        release(key)


def acquire(
    project_dir: Path,
    environment: str,
    command: str,
    *,
    wait: float = LOCK_WAIT,
    on_wait: Callable[[str], None] | None = None,
) -> str:
    project_dir = project_dir.resolve()
    path = lock_path(project_dir, environment)
    key = str(path)
    with _guard:
        if key in _held:
            _held[key].count += 1
            return key
    deadline = time.monotonic() + wait
    told = False
    made_dir = False
    while True:
        try:
            os.mkdir(path.parent, 0o700)
            made_dir = True
        except FileExistsError:
            pass
        private_dir(project_dir, create=True)  # refuses a link, someone else's, writable
        try:
            fd = _open(path)
        except FileNotFoundError:
            fd = -1  # the folder went away under us (a run that just ended): again
            holder = "a run that is just ending"
        if fd >= 0:
            try:
                if _try_lock(fd) and _still_there(fd, path):
                    break
                # Held; or we locked a file its last holder had just unlinked: look again.
                holder = describe_holder(_read_note(fd))
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)
        if time.monotonic() >= deadline:
            raise LockBusy(
                f"another dream-pixel-setup run is working on {environment} in this "
                f"project: {holder}",
                hint="wait for it to finish (or stop it), then run again; a run that died "
                "leaves no lock behind",
            )
        if not told and on_wait is not None:
            on_wait(f"waiting up to {wait:g} s for {holder} to finish…")
            told = True
        time.sleep(_POLL)
    try:
        note = {
            "pid": os.getpid(),
            "command": command,
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(note) + "\n").encode(), 0)
        # Now that no other run can write: close read bits older versions left open.
        harden(project_dir, environment)
    except BaseException:
        _drop(path, fd, made_dir)
        raise
    with _guard:
        _held[key] = _Held(fd, 1, made_dir)
    return key


def release(key: str) -> None:
    with _guard:
        held = _held.get(key)
        if held is None:
            return
        held.count -= 1
        if held.count > 0:
            return
        del _held[key]
    _drop(Path(key), held.fd, held.made_dir)


def _drop(path: Path, fd: int, made_dir: bool) -> None:
    """Remove the lock file while still holding it (a waiter that then locks the unlinked
    file sees it is gone and looks again), and the folder if this run made it for nothing:
    a refused run leaves the project as it found it."""
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        if made_dir:
            with contextlib.suppress(OSError):  # not empty: progress was saved in it
                os.rmdir(path.parent)
    finally:
        os.close(fd)  # closing drops the flock


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def _still_there(fd: int, path: Path) -> bool:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)


def _open(path: Path) -> int:
    from wizard.state import check_private_file

    check_private_file(path, fix=True)  # not a link, ours, not writable by others
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    return os.open(path, flags, 0o600)


def _read_note(fd: int) -> dict[str, object]:
    try:
        raw = os.pread(fd, 4096, 0)
        note = json.loads(raw.decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return note if isinstance(note, dict) else {}


def describe_holder(note: dict[str, object]) -> str:
    """ "pid 4242 (`dream-pixel-setup apply`, since 01:52:18 UTC)", from the holder's note.

    Only what has the expected shape is shown: the note is a file, not trusted text.
    """
    pid = note.get("pid")
    if type(pid) is not int:
        return "a run that is still starting (no pid recorded yet)"
    parts: list[str] = []
    command = note.get("command")
    if isinstance(command, str) and 0 < len(command) <= 60 and command.isprintable():
        parts.append(f"`{command}`")
    since = note.get("since")
    if isinstance(since, str):
        try:
            moment = datetime.fromisoformat(since).astimezone(UTC)
        except ValueError:
            moment = None
        if moment is not None:
            today = moment.date() == datetime.now(UTC).date()
            fmt = "%H:%M:%S UTC" if today else "%Y-%m-%d %H:%M:%S UTC"
            parts.append("since " + moment.strftime(fmt))
    return f"pid {pid}" + (f" ({', '.join(parts)})" if parts else "")
