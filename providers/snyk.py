"""Snyk: is ``SNYK_TOKEN`` a token Snyk accepts? (before the github step stores it for CI)

``GET {SNYK_API_URL}/rest/self?version=2024-10-15`` with ``Authorization: token …`` as
Snyk's "Authentication for API" page shows; 200 gives the token's user (JSON:API
``data.attributes``), 401 a token Snyk does not know.
"""

from __future__ import annotations

from typing import Any

from providers.errors import AuthError, PermissionDenied
from providers.http import USER_AGENT, ServiceClient

SERVICE = "Snyk"
DEFAULT_BASE_URL = "https://api.snyk.io"
API_VERSION = "2024-10-15"
TOKEN_HINT = (
    "copy the API token from https://app.snyk.io/account (or a service account's token) "
    "into SNYK_TOKEN"
)


async def whoami(token: str, base_url: str) -> str:
    """The name Snyk knows the token by; AuthError/PermissionDenied in one line."""
    async with ServiceClient(
        SERVICE,
        base_url,
        variable="SNYK_API_URL",
        headers={
            "Authorization": f"token {token}",
            "Accept": "application/vnd.api+json",
            "User-Agent": USER_AGENT,
        },
    ) as http:
        try:
            response = await http.request(
                "GET", "/rest/self", params={"version": API_VERSION}, key="SNYK_TOKEN"
            )
        except AuthError as exc:
            raise AuthError(
                SERVICE, exc.message, key="SNYK_TOKEN", hint=TOKEN_HINT, status=exc.status
            ) from None
        except PermissionDenied as exc:
            raise PermissionDenied(
                SERVICE,
                exc.message,
                key="SNYK_TOKEN",
                hint="the token may not read its own user: give the service account the "
                "Organization Admin or Collaborator role, or use a personal token",
                status=exc.status,
            ) from None
    body: Any = response.json()
    data = body.get("data") if isinstance(body, dict) else None
    attributes = data.get("attributes") if isinstance(data, dict) else None
    if isinstance(attributes, dict):
        for key in ("username", "name", "email"):
            if attributes.get(key):
                return str(attributes[key])
    return "its user"
