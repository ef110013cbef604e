"""Generated secrets: the guide's `randomBytes(32).toString('hex')`."""

from __future__ import annotations

import secrets


def new_secret() -> str:
    """32 random bytes from the OS CSPRNG as 64 lowercase hex characters."""
    return secrets.token_hex(32)
