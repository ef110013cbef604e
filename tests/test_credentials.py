"""Operator credentials: environment first, then the OS keyring; never a file we write."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend

from wizard.engine import Session

TOKEN = "vercel_tok_FROM_KEYRING_0123456789"


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}
        self.writes = 0

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.writes += 1
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.writes += 1
        self.store.pop((service, username), None)


@pytest.fixture
def memory() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_typed_secret_goes_to_the_keyring_not_the_state(
    tmp_path: Path, memory: MemoryKeyring
) -> None:
    session = Session.open(tmp_path, env={})
    session.set_value("VERCEL_TOKEN", TOKEN)
    session.set_value("VERCEL_PROJECT_ID", "dream-pixel")
    session.save()
    assert memory.store[("dream-pixel-setup", "VERCEL_TOKEN")] == TOKEN
    state = (tmp_path / ".dream-pixel" / "state-production.json").read_text()
    assert TOKEN not in state and "dream-pixel" in state
    assert not any(
        TOKEN in p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file()
    )

    # The next session (a resume) finds it again; reset forgets it.
    again = Session.open(tmp_path, env={})
    again.load_keyring_credentials()
    assert again.value("VERCEL_TOKEN") == TOKEN
    again.reset()
    assert ("dream-pixel-setup", "VERCEL_TOKEN") not in memory.store


def test_environment_beats_keyring(tmp_path: Path, memory: MemoryKeyring) -> None:
    memory.store[("dream-pixel-setup", "VERCEL_TOKEN")] = TOKEN
    session = Session.open(tmp_path, env={"VERCEL_TOKEN": "from-env-token-xyz"})
    session.load_keyring_credentials()
    assert session.value("VERCEL_TOKEN") == "from-env-token-xyz"


def test_background_read_is_awaited_before_a_plan(tmp_path: Path, memory: MemoryKeyring) -> None:
    memory.store[("dream-pixel-setup", "VERCEL_TOKEN")] = TOKEN
    session = Session.open(tmp_path, env={}, dry_run=True)
    session.keyring_in_background = True
    reader = threading.Thread(target=session.load_keyring_credentials)
    reader.start()
    asyncio.run(session.credentials_ready())
    reader.join()
    assert session.value("VERCEL_TOKEN") == TOKEN
    session.save()  # a dry run stores nothing, in files or keyring
    assert memory.writes == 0
    assert not (tmp_path / ".dream-pixel").exists()
