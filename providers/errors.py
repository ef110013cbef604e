"""The small exception hierarchy every provider maps its service's errors onto.

Each error carries the service's display name, what went wrong, the key or resource at
fault when there is one, and what the user can do. ``str(err)`` is the one line the CLI
prints; it never contains a secret value (providers only put names and service messages
in it), and never a control character or escape sequence: a service's words pass through
``printable`` here, whichever client raised the error.
"""

from __future__ import annotations

from typing import TypeVar

from providers.text import printable


class ProviderError(Exception):
    """An expected failure talking to a service."""

    def __init__(
        self,
        service: str,
        message: str,
        *,
        key: str | None = None,
        hint: str = "",
        status: int | None = None,
    ) -> None:
        message = printable(message)
        super().__init__(message)
        self.service = service
        self.message = message
        self.key = printable(key) if key else key
        self.hint = printable(hint)
        self.status = status

    def __str__(self) -> str:
        where = f"{self.service}" + (f" ({self.key})" if self.key else "")
        text = f"{where}: {self.message}"
        if self.hint:
            text += f" — {self.hint}"
        return text


class AuthError(ProviderError):
    """The credential was rejected (401, invalid token)."""


class PermissionDenied(ProviderError):
    """The credential is valid but lacks a scope or permission (403)."""


class NotFound(ProviderError):
    """The project, repository, zone, bucket... does not exist or is not visible."""


class Conflict(ProviderError):
    """The resource exists in a state we cannot reconcile automatically."""


class BadRequest(ProviderError):
    """The service refused the request's content (400/422)."""


class RateLimited(ProviderError):
    """Still rate limited after the retries the policy allows."""


class ServiceUnavailable(ProviderError):
    """5xx after the retries the policy allows."""


class NetworkError(ProviderError):
    """Could not reach the service (DNS, refused, TLS, timeout)."""


class InsecureURL(ProviderError):
    """A base URL that would send credentials in clear text off this machine."""


E = TypeVar("E", bound=ProviderError)


def rehinted(exc: E, *, key: str | None = None, hint: str) -> E:
    """The same error (class, service, message, status) with the key and hint the caller
    knows better: a 403 listing issues is the token's missing scope."""
    return type(exc)(exc.service, exc.message, key=key or exc.key, hint=hint, status=exc.status)
