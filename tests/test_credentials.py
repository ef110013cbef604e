"""Operator credentials: environment first, then the OS keyring; never a file we write."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend

from wizard.cli import main
from wizard.credentials import SERVICE, scoped_account
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
    assert memory.store[(SERVICE, scoped_account(tmp_path, "production", "VERCEL_TOKEN"))] == TOKEN
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
    assert memory.store == {}


def test_environment_beats_keyring(tmp_path: Path, memory: MemoryKeyring) -> None:
    memory.store[(SERVICE, scoped_account(tmp_path, "production", "VERCEL_TOKEN"))] = TOKEN
    session = Session.open(tmp_path, env={"VERCEL_TOKEN": "from-env-token-xyz"})
    session.load_keyring_credentials()
    assert session.value("VERCEL_TOKEN") == "from-env-token-xyz"


def test_background_read_is_awaited_before_a_plan(tmp_path: Path, memory: MemoryKeyring) -> None:
    memory.store[(SERVICE, scoped_account(tmp_path, "production", "VERCEL_TOKEN"))] = TOKEN
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


def typed(project: Path, environment: str, token: str) -> None:
    session = Session.open(project, environment, env={})
    session.set_value("VERCEL_TOKEN", token)
    session.save()


def found(project: Path, environment: str) -> str | None:
    session = Session.open(project, environment, env={})
    session.load_keyring_credentials()
    return session.value("VERCEL_TOKEN")


def test_keyring_entries_are_scoped_to_project_and_environment(
    tmp_path: Path, memory: MemoryKeyring, capsys: pytest.CaptureFixture[str]
) -> None:
    one, other = tmp_path / "one", tmp_path / "other"
    one.mkdir()
    other.mkdir()
    typed(one, "production", "token-of-one-production")
    typed(one, "preview", "token-of-one-preview")
    typed(other, "production", "token-of-other-production")
    # A token typed for one checkout (or environment) is never used by another.
    assert found(one, "production") == "token-of-one-production"
    assert found(one, "preview") == "token-of-one-preview"
    assert found(other, "production") == "token-of-other-production"
    assert found(tmp_path, "production") is None
    assert len(memory.store) == 3
    # No account gives away where the checkout lives.
    assert not any(str(tmp_path) in account for _, account in memory.store)

    # `reset` (the real CLI) removes only its own entry.
    assert main(["reset", "--yes", "--project-dir", str(one), "--environment", "preview"]) == 0
    capsys.readouterr()
    assert found(one, "preview") is None
    assert found(one, "production") == "token-of-one-production"
    assert found(other, "production") == "token-of-other-production"
    assert len(memory.store) == 2


def test_an_unscoped_entry_of_an_older_version_is_not_used_or_removed(
    tmp_path: Path, memory: MemoryKeyring
) -> None:
    """Before scoping, one entry served every checkout: it could belong to any of them."""
    memory.store[(SERVICE, "VERCEL_TOKEN")] = TOKEN
    assert found(tmp_path, "production") is None
    Session.open(tmp_path, env={}).reset()
    assert memory.store == {(SERVICE, "VERCEL_TOKEN"): TOKEN}


@pytest.mark.parametrize(
    ("step", "keys"),
    [
        ("deploy", ("VERCEL_TOKEN",)),
        ("domain", ("VERCEL_TOKEN", "CLOUDFLARE_API_TOKEN")),
        ("safeguards", ("GITHUB_TOKEN",)),
    ],
)
def test_steps_that_borrow_credentials_read_them_from_the_keyring(
    tmp_path: Path, memory: MemoryKeyring, step: str, keys: tuple[str, ...]
) -> None:
    """`apply --only deploy` (domain, safeguards) reads only the selected steps' credentials:
    those they use from the vercel, cloudflare and github steps count too."""
    values = {
        "VERCEL_TOKEN": TOKEN,
        "CLOUDFLARE_API_TOKEN": "cf-token-FROM-KEYRING-0123456789abcdefghij",
        "GITHUB_TOKEN": "ghp_FROMkeyring0123456789abcdefghijklmnop",
    }
    for key, value in values.items():
        memory.store[(SERVICE, scoped_account(tmp_path, "production", key))] = value
    session = Session.open(tmp_path, env={})
    session.load_keyring_credentials([step])
    for key in keys:
        assert session.value(key) == values[key], key
