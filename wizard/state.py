"""Progress and choices: ``<project>/.dream-pixel/state-<environment>.json``.

Schema-versioned, written atomically, and never holding a secret value: only step
statuses, keyed fingerprints/digests, choices and non-secret ids.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wizard.atomic import write_atomic
from wizard.errors import SetupError

SCHEMA_VERSION = 1
STATE_DIR = ".dream-pixel"


@dataclass
class StepState:
    status: str = "pending"  # done | pending | failed | skipped
    fingerprint: str | None = None
    reason: str | None = None  # why skipped, or the failure's message (never a value)
    updated: str | None = None
    memory: dict[str, Any] = field(default_factory=dict)


@dataclass
class State:
    environment: str
    steps: dict[str, StepState] = field(default_factory=dict)
    choices: dict[str, str] = field(default_factory=dict)
    # Non-secret operator values (project ids, repository, zone): remembered for resume.
    operator: dict[str, str] = field(default_factory=dict)
    # Public (non-secret) app values typed in an unfinished walk, e.g. NEXTAUTH_URL.
    app: dict[str, str] = field(default_factory=dict)
    version: int = SCHEMA_VERSION

    def step(self, step_id: str) -> StepState:
        return self.steps.setdefault(step_id, StepState())

    def mark(self, step_id: str, status: str, *, reason: str | None = None) -> None:
        st = self.step(step_id)
        st.status = status
        st.reason = reason
        st.updated = datetime.now(UTC).isoformat(timespec="seconds")

    @property
    def has_progress(self) -> bool:
        return any(s.status in ("done", "skipped", "failed") for s in self.steps.values())

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any], environment: str) -> State:
        version = data.get("version")
        if version != SCHEMA_VERSION:
            raise SetupError(
                f"state file has schema version {version}, this wizard reads {SCHEMA_VERSION}",
                hint="upgrade dream-pixel-setup, or run `dream-pixel-setup reset`",
            )
        steps = {k: StepState(**v) for k, v in (data.get("steps") or {}).items()}
        return cls(
            environment=environment,
            steps=steps,
            choices=dict(data.get("choices") or {}),
            operator=dict(data.get("operator") or {}),
            app=dict(data.get("app") or {}),
        )


def state_path(project_dir: Path, environment: str) -> Path:
    return project_dir / STATE_DIR / f"state-{environment}.json"


def load_state(project_dir: Path, environment: str) -> State:
    path = state_path(project_dir, environment)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return State(environment=environment)
    except (OSError, ValueError) as exc:
        raise SetupError(
            f"cannot read {path}: {type(exc).__name__}",
            hint="fix or delete it, or run `dream-pixel-setup reset`",
        ) from None
    try:
        if not isinstance(data, dict):
            raise TypeError("not an object")
        return State.from_json(data, environment)
    except (AttributeError, TypeError, ValueError) as exc:
        raise SetupError(
            f"cannot read {path}: not a state file ({type(exc).__name__})",
            hint="fix or delete it, or run `dream-pixel-setup reset`",
        ) from None


def save_state(project_dir: Path, state: State) -> None:
    path = state_path(project_dir, state.environment)
    path.parent.mkdir(mode=0o700, exist_ok=True)
    write_atomic(path, json.dumps(state.to_json(), indent=2, sort_keys=True) + "\n", mode=0o600)


def load_digest_key(project_dir: Path, *, create: bool) -> bytes:
    """The key for digests/fingerprints in the state file (so it reveals nothing).

    A dry run must not write: it gets an ephemeral key, which matches no stored digest.
    """
    path = project_dir / STATE_DIR / "digest.key"
    try:
        return bytes.fromhex(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        key = os.urandom(32)
        if create:
            path.parent.mkdir(mode=0o700, exist_ok=True)
            write_atomic(path, key.hex() + "\n", mode=0o600)
        return key
