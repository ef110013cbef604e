"""Progress and choices: ``<project>/.dream-pixel/state-<environment>.json``.

Schema-versioned, written atomically, and never holding a secret value: only step
statuses, keyed fingerprints/digests, choices and non-secret ids.

``.dream-pixel/`` is trusted the way ssh trusts ``~/.ssh``: a link, or anything in it that
someone else owns or may write, is refused; read bits the wizard left open (older
versions wrote 0644) are closed when a run that may write takes the lock. A write merges
with what is on disk, so a run that read the state earlier never erases newer records.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wizard.atomic import write_atomic
from wizard.errors import SetupError, UsageError
from wizard.files import UnsafeFile, describe_link, read_regular

SCHEMA_VERSION = 1
STATE_DIR = ".dream-pixel"
DIGEST_KEY = "digest.key"
STATUSES = frozenset({"done", "pending", "failed", "skipped"})
# A real state is a few KB; memory is a few levels deep. Far above both, far below harm.
STATE_MAX_BYTES = 1024 * 1024
MAX_DEPTH = 32
RESET_HINT = "fix or delete it, or run `dream-pixel-setup reset`"


class NotAState(SetupError):
    """The state file is there but is not a state this wizard wrote."""


@dataclass
class StepState:
    status: str = "pending"  # done | pending | failed | skipped
    fingerprint: str | None = None
    reason: str | None = None  # why skipped, or the failure's message (never a value)
    updated: str | None = None
    memory: dict[str, Any] = field(default_factory=dict)

    def touch(self) -> None:
        # Microseconds: two writes within one second must still order (merge_from).
        self.updated = datetime.now(UTC).isoformat(timespec="microseconds")

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "fingerprint": self.fingerprint,
            "reason": self.reason,
            "updated": self.updated,
            "memory": self.memory,
        }


@dataclass
class State:
    environment: str
    steps: dict[str, StepState] = field(default_factory=dict)
    choices: dict[str, str] = field(default_factory=dict)
    # Non-secret operator values (project ids, repository, zone): remembered for resume,
    # used again only when the operator gives the same or confirms them (engine).
    operator: dict[str, str] = field(default_factory=dict)
    # Public (non-secret) app values typed in an unfinished walk, e.g. NEXTAUTH_URL.
    app: dict[str, str] = field(default_factory=dict)
    version: int = SCHEMA_VERSION
    # What this object was read from (or last wrote): the base of the merge on save.
    base: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def step(self, step_id: str) -> StepState:
        return self.steps.setdefault(step_id, StepState())

    def mark(self, step_id: str, status: str, *, reason: str | None = None) -> None:
        st = self.step(step_id)
        st.status = status
        st.reason = reason
        st.touch()

    @property
    def has_progress(self) -> bool:
        return any(s.status in ("done", "skipped", "failed") for s in self.steps.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "version": self.version,
            "steps": {k: s.to_json() for k, s in self.steps.items()},
            "choices": dict(self.choices),
            "operator": dict(self.operator),
            "app": dict(self.app),
        }

    @classmethod
    def from_json(cls, data: object, environment: str) -> State:
        """A state from parsed JSON; NotAState (a fixed description, never the file's
        text: it could hold anything) when it is not one this wizard wrote."""
        if not isinstance(data, dict):
            raise NotAState("the file is not a JSON object")
        version = data.get("version")
        if type(version) is not int or version != SCHEMA_VERSION:
            shown = version if type(version) is int else "missing or not a number"
            raise SetupError(
                f"state file has schema version {shown}, this wizard reads {SCHEMA_VERSION}",
                hint="upgrade dream-pixel-setup, or run `dream-pixel-setup reset`",
            )
        raw_steps = data.get("steps")
        raw_steps = {} if raw_steps is None else raw_steps
        if not isinstance(raw_steps, dict):
            raise NotAState("`steps` is not an object")
        steps = {str(k): _step_from_json(v) for k, v in raw_steps.items()}
        state = cls(
            environment=environment,
            steps=steps,
            choices=_text_map(data.get("choices"), "choices"),
            operator=_text_map(data.get("operator"), "operator"),
            app=_text_map(data.get("app"), "app"),
        )
        state.base = state.to_json()
        return state

    def merge_from(self, disk: State) -> None:
        """Take in what another run wrote since this one read the state.

        Steps: the record updated last wins (in place, so a running step's memory object
        stays the one its context holds). Choices, operator targets and app answers: a key
        this run changed (against what it read) is ours; every other key is the disk's.
        """
        for step_id, theirs in disk.steps.items():
            mine = self.steps.get(step_id)
            if mine is None:
                self.steps[step_id] = theirs
            elif _later(theirs.updated, mine.updated):
                mine.status, mine.fingerprint = theirs.status, theirs.fingerprint
                mine.reason, mine.updated = theirs.reason, theirs.updated
                mine.memory.clear()
                mine.memory.update(theirs.memory)
        for name in ("choices", "operator", "app"):
            mine_map: dict[str, str] = getattr(self, name)
            base_map: dict[str, str] = self.base.get(name) or {}
            merged = dict(getattr(disk, name))
            for key in set(mine_map) | set(base_map):
                if mine_map.get(key) == base_map.get(key):
                    continue
                if key in mine_map:
                    merged[key] = mine_map[key]
                else:
                    merged.pop(key, None)
            setattr(self, name, merged)


def _later(a: str | None, b: str | None) -> bool:
    """Is timestamp ``a`` strictly later than ``b``? Missing or unreadable is oldest."""

    def parse(text: str | None) -> datetime:
        try:
            moment = datetime.fromisoformat(text) if text else None
        except ValueError:
            moment = None
        if moment is None:
            return datetime.min.replace(tzinfo=UTC)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    return parse(a) > parse(b)


def _text_map(value: object, name: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise NotAState(f"`{name}` is not an object")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise NotAState(f"`{name}` holds something other than text")
    return dict(value)


def _step_from_json(value: object) -> StepState:
    if not isinstance(value, dict):
        raise NotAState("a step's record is not an object")
    unknown = set(value) - {"status", "fingerprint", "reason", "updated", "memory"}
    if unknown:
        raise NotAState("a step's record has fields this wizard does not write")
    status = value.get("status", "pending")
    if status not in STATUSES:
        raise NotAState("a step's status is not one of done, pending, failed, skipped")
    texts: dict[str, str | None] = {}
    for name in ("fingerprint", "reason", "updated"):
        item = value.get(name)
        if item is not None and not isinstance(item, str):
            raise NotAState(f"a step's `{name}` is not text")
        texts[name] = item
    memory = value.get("memory")
    memory = {} if memory is None else memory
    if not isinstance(memory, dict):
        raise NotAState("a step's `memory` is not an object")
    if _depth(memory) > MAX_DEPTH:
        raise NotAState(f"a step's `memory` is nested more than {MAX_DEPTH} levels deep")
    return StepState(
        status=str(status),
        fingerprint=texts["fingerprint"],
        reason=texts["reason"],
        updated=texts["updated"],
        memory=memory,
    )


def _depth(value: object) -> int:
    """How deeply ``value`` nests, without recursion (a deep one must not crash us)."""
    deepest = 0
    todo: list[tuple[object, int]] = [(value, 1)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                return depth
            children = item.values() if isinstance(item, dict) else item
            todo.extend((child, depth + 1) for child in children)
    return deepest


# -- the folder and its files ----------------------------------------------------------


def project_folder(project_dir: Path) -> Path:
    """``--project-dir`` resolved, or the one-line refusal when it is not a folder."""
    resolved = project_dir.resolve()
    if not resolved.is_dir():
        raise UsageError(f"--project-dir {resolved} is not a folder")
    return resolved


def state_dir(project_dir: Path) -> Path:
    return project_dir / STATE_DIR


def state_path(project_dir: Path, environment: str) -> Path:
    return state_dir(project_dir) / f"state-{environment}.json"


def _who(st: os.stat_result) -> str:
    writers = [
        w for bit, w in ((stat.S_IWGRP, "its group"), (stat.S_IWOTH, "anyone")) if st.st_mode & bit
    ]
    return " and ".join(writers)


def _check_trusted(
    path: Path, st: os.stat_result, *, private: int, fd: int | None, fix: bool
) -> None:
    """Refuse what someone else owns or may write; close read bits with ``fix``."""
    mode = stat.S_IMODE(st.st_mode)
    me = os.geteuid()
    if st.st_uid != me:
        raise UnsafeFile(
            f"{path} belongs to another user (uid {st.st_uid}, you are {me}); the wizard does "
            "not trust progress it did not write",
            hint="check how it got there, then delete it or chown it to yourself",
        )
    if mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise UnsafeFile(
            f"{path} can be written by {_who(st)} (mode {mode:04o}); the wizard does not trust "
            "it, as ssh refuses such a key",
            hint=f"check that nobody changed it, then `chmod {private:04o} {path}` or delete it",
        )
    if fix and mode & 0o077:
        if fd is not None:
            os.fchmod(fd, private)
        else:
            os.chmod(path, private, follow_symlinks=False)


def private_dir(project_dir: Path, *, create: bool) -> Path:
    """``.dream-pixel``, checked; created (0700) and its loose modes closed with ``create``.

    Once it is a folder only we own and only we may write, nobody else can swap a file
    in it, so the files inside can be checked by name.
    """
    path = state_dir(project_dir)
    if create:
        with contextlib.suppress(FileExistsError):
            os.mkdir(path, 0o700)
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return path
    except OSError as exc:
        if path.is_symlink():
            raise UnsafeFile(
                f"{path} is {describe_link(path)}; the wizard keeps its progress only in a "
                "folder of the project, never through a link",
                hint=f"remove the link (`rm {path}`) and run again",
            ) from None
        if exc.errno == errno.ENOTDIR:
            raise UnsafeFile(
                f"{path} is not a folder",
                hint="move it away (the wizard keeps its progress in that folder)",
            ) from None
        raise UnsafeFile(f"{path}: cannot open it ({exc.strerror})") from None
    try:
        _check_trusted(path, os.fstat(fd), private=0o700, fd=fd, fix=create)
    finally:
        os.close(fd)
    return path


def check_private_file(path: Path, *, fix: bool) -> bool:
    """A file of ``.dream-pixel`` (after private_dir): False when absent; refused when a
    link, not regular, someone else's or writable by others; read bits closed with fix."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    if stat.S_ISLNK(st.st_mode):
        raise UnsafeFile(
            f"{path} is {describe_link(path)}; the wizard does not read or write through links",
            hint=f"remove the link (`rm {path}`) and run again",
        )
    if not stat.S_ISREG(st.st_mode):
        raise UnsafeFile(f"{path} is not a regular file", hint="move it away and run again")
    _check_trusted(path, st, private=0o600, fd=None, fix=fix)
    return True


def harden(project_dir: Path, environment: str) -> None:
    """For a run that may write (it holds the lock): check the folder and its files, and
    close the read bits an older version left open."""
    folder = private_dir(project_dir, create=True)
    for name in (DIGEST_KEY, f"state-{environment}.json", f"lock-{environment}"):
        check_private_file(folder / name, fix=True)


def _read_private(path: Path, *, max_bytes: int) -> bytes | None:
    private_dir(path.parent.parent, create=False)
    if not check_private_file(path, fix=False):
        return None
    return read_regular(path, max_bytes=max_bytes, hint=RESET_HINT)


# -- reading and writing ---------------------------------------------------------------


def load_state(project_dir: Path, environment: str) -> State:
    path = state_path(project_dir, environment)
    raw = _read_private(path, max_bytes=STATE_MAX_BYTES)
    if raw is None:
        return State(environment=environment)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        # RecursionError: JSON nested thousands deep. UnicodeDecodeError is a ValueError.
        why = "nested too deep" if isinstance(exc, RecursionError) else "not valid JSON"
        raise NotAState(f"cannot read {path}: not a state file ({why})", hint=RESET_HINT) from None
    try:
        return State.from_json(data, environment)
    except NotAState as exc:
        raise NotAState(
            f"cannot read {path}: not a state file ({exc.message})", hint=RESET_HINT
        ) from None


def save_state(project_dir: Path, state: State) -> None:
    """Write ``state``, merged with what another run wrote since it was read."""
    path = state_path(project_dir, state.environment)
    private_dir(project_dir, create=True)
    try:
        on_disk = load_state(project_dir, state.environment)
    except NotAState:
        on_disk = None  # broken since this run read it: ours replaces it
    if on_disk is not None:
        state.merge_from(on_disk)
    data = state.to_json()
    write_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n", mode=0o600)
    state.base = data


def load_digest_key(project_dir: Path, *, create: bool) -> bytes:
    """The key for digests/fingerprints in the state file (so it reveals nothing).

    A dry run must not write: it gets an ephemeral key, which matches no stored digest.
    """
    path = state_dir(project_dir) / DIGEST_KEY
    raw = _read_private(path, max_bytes=4096)
    if raw is not None:
        try:
            key = bytes.fromhex(raw.decode("ascii").strip())
        except ValueError:
            key = b""
        if len(key) < 16:
            raise SetupError(
                f"cannot read {path}: not a key this wizard wrote",
                hint="delete it (saved fingerprints are then recomputed), or run "
                "`dream-pixel-setup reset`",
            )
        return key
    key = os.urandom(32)
    if create:
        private_dir(project_dir, create=True)
        write_atomic(path, key.hex() + "\n", mode=0o600)
    return key


def digest_key_exists(project_dir: Path) -> bool:
    private_dir(project_dir, create=False)
    return check_private_file(state_dir(project_dir) / DIGEST_KEY, fix=False)
