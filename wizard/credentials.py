"""Operator credentials: the process environment, then the OS keyring, then a prompt.

Never a file we write. Entries are scoped to the project folder and environment (see
``scoped_account``). With no usable keyring backend (a headless Linux box, or
``keyring.backends.fail``) the wizard says so once and works from the environment.
keyring is imported only when first needed: it is slow to import.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SERVICE = "dream-pixel-setup"


def scoped_account(project_dir: Path, environment: str, key: str) -> str:
    """The keyring account of one credential of one project and environment: a token typed
    for one checkout is never used by another, and ``reset`` removes only its own. The
    folder's path is hashed (it names the checkout without showing where it lives)."""
    folder = hashlib.sha256(str(project_dir.resolve()).encode()).hexdigest()[:16]
    return f"{key}@{environment}/{folder}"


@dataclass
class CredentialStore:
    env: Mapping[str, str]
    notify: Callable[[str], None] = lambda _msg: None
    _backend: Any = None  # a keyring backend, or None when there is no usable one
    _checked: bool = False
    _warned: bool = False
    _memo: dict[str, str | None] = field(default_factory=dict)

    def _keyring(self) -> Any:
        if not self._checked:
            self._checked = True
            try:
                import keyring
                from keyring.backends import fail

                backend: Any = keyring.get_keyring()
                priority = getattr(backend, "priority", 0)
                if isinstance(backend, fail.Keyring) or priority <= 0:
                    backend = None
            except Exception:  # a broken keyring setup must not stop the wizard
                backend = None
            self._backend = backend
        if self._backend is None and not self._warned:
            self._warned = True
            self.notify(
                "no OS keyring available: operator credentials are read from the environment "
                "or asked for, and not stored"
            )
        return self._backend

    @property
    def available(self) -> bool:
        return self._keyring() is not None

    def from_env(self, names: tuple[str, ...]) -> str | None:
        for name in names:
            value = self.env.get(name)
            if value:
                return value
        return None

    def get(self, account: str) -> str | None:
        if account in self._memo:
            return self._memo[account]
        backend = self._keyring()
        value = None
        if backend is not None:
            try:
                value = backend.get_password(SERVICE, account)
            except Exception:
                value = None
        self._memo[account] = value
        return value

    def store(self, account: str, value: str) -> bool:
        backend = self._keyring()
        if backend is None:
            return False
        try:
            backend.set_password(SERVICE, account, value)
        except Exception:
            return False
        self._memo[account] = value
        return True

    def forget(self, account: str) -> None:
        backend = self._keyring()
        if backend is None:
            return
        try:
            backend.delete_password(SERVICE, account)
        except Exception:
            pass
        self._memo.pop(account, None)
