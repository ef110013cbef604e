"""Upstash Redis over its REST API: just enough to prove the URL and token work.

``GET {UPSTASH_REDIS_REST_URL}/ping`` with ``Authorization: Bearer <token>`` answers
``{"result": "PONG"}``; a wrong token answers 401 ``{"error": "WRONGPASS ..."}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from providers.errors import AuthError, NotFound, ProviderError
from providers.http import BearerApi

SERVICE = "Upstash Redis"
URL_KEY = "UPSTASH_REDIS_REST_URL"
TOKEN_KEY = "UPSTASH_REDIS_REST_TOKEN"

WRONGPASS_HINT = (
    "Upstash rejected the REST token. The TCP (redis://) password is not the REST token: copy "
    "UPSTASH_REDIS_REST_TOKEN from the database's REST API section in the Upstash console"
)


@dataclass(frozen=True)
class PingResult:
    reply: str  # "PONG"


class UpstashClient(BearerApi):
    """The REST endpoint of one Upstash Redis database."""

    SERVICE = SERVICE
    URL_VARIABLE = URL_KEY

    def __init__(self, rest_url: str, token: str, **kwargs: Any) -> None:
        # The database's own REST URL is the base URL.
        super().__init__(token, base_url=rest_url, **kwargs)

    async def ping(self) -> PingResult:
        try:
            # Failures other than auth are about where we talk to: name the URL.
            response = await self._http.request("GET", "/ping", key=URL_KEY)
        except AuthError as err:
            raise AuthError(
                SERVICE, err.message, key=TOKEN_KEY, hint=WRONGPASS_HINT, status=err.status
            ) from None
        except NotFound as err:
            # A wrong path answers 404: the URL, not the token, is off.
            raise NotFound(
                SERVICE,
                err.message,
                key=URL_KEY,
                hint="use the REST URL (https://<name>.upstash.io) from the REST API section",
                status=err.status,
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ProviderError(
                SERVICE,
                "the URL did not answer like an Upstash REST endpoint",
                key=URL_KEY,
                hint="use the REST URL (https://<name>.upstash.io), not the redis:// one",
            )
        error = body.get("error")
        if isinstance(error, str) and error:
            if "WRONGPASS" in error or "NOAUTH" in error:
                raise AuthError(SERVICE, error[:200], key=TOKEN_KEY, hint=WRONGPASS_HINT)
            raise ProviderError(SERVICE, error[:200], key=TOKEN_KEY)
        reply = body.get("result")
        if reply != "PONG":
            raise ProviderError(
                SERVICE,
                "PING did not answer PONG",
                key=URL_KEY,
                hint="check that the URL is the database's REST URL",
            )
        return PingResult(reply=reply)
