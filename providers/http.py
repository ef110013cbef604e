"""The HTTP layer every provider shares: timeouts, retries with backoff, error mapping.

One ``ServiceClient`` per service and per run (no module-level clients). Retries cover
429 and 5xx (and GitHub's 403 rate-limit answer), honouring ``retry-after-ms``,
``Retry-After`` (seconds or HTTP date) and ``x-ratelimit-reset``; connection failures
are retried only for requests that are safe to repeat (GET/HEAD/PUT/DELETE, or a POST the
caller marks idempotent: an upsert or one carrying an Idempotency-Key).
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import math
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import httpx

from providers.errors import (
    AuthError,
    BadRequest,
    Conflict,
    NetworkError,
    NotFound,
    PermissionDenied,
    ProviderError,
    RateLimited,
    ServiceUnavailable,
)
from providers.urls import checked_base_url

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
SAFE_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0)

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 20.0
    # A server asking us to wait longer than this gets a clean "try again at" error
    # instead of a silent multi-minute hang at 11 pm.
    max_retry_after: float = 90.0


def retry_delay(response: httpx.Response | None, attempt: int, policy: RetryPolicy) -> float:
    """Seconds to wait before attempt ``attempt + 1``; may exceed policy.max_delay when
    the server said so (the caller decides whether to wait that long)."""
    if response is not None:
        headers = response.headers
        if (ms := headers.get("retry-after-ms")) is not None:
            try:
                return max(0.0, float(ms) / 1000.0)
            except ValueError:
                pass
        if (ra := headers.get("retry-after")) is not None:
            try:
                return max(0.0, float(ra))
            except ValueError:
                try:
                    return max(0.0, email.utils.parsedate_to_datetime(ra).timestamp() - time.time())
                except (ValueError, TypeError, OverflowError):
                    pass  # unreadable: fall back to our own backoff
        if headers.get("x-ratelimit-remaining") == "0" and (
            reset := headers.get("x-ratelimit-reset")
        ):
            try:
                return max(0.0, float(reset) - time.time())
            except ValueError:
                pass
    # Full jitter: spreads concurrent retries so they do not stampede together.
    cap = min(policy.max_delay, policy.base_delay * (2**attempt))
    return random.uniform(cap / 2, cap)


def _shown(url: str) -> str:
    """A URL fit for a message: no userinfo, query or fragment (they can hold a token)."""
    parts = httpx.URL(url)
    return str(parts.copy_with(username=None, password=None, query=None, fragment=None))


def _clock_after(seconds: float) -> str:
    return time.strftime("%H:%M", time.localtime(time.time() + seconds))


def is_rate_limited(response: httpx.Response) -> bool:
    if response.status_code == 429:
        return True
    # GitHub answers 403 for both primary and secondary rate limits.
    return response.status_code == 403 and (
        response.headers.get("x-ratelimit-remaining") == "0" or "retry-after" in response.headers
    )


def error_message(response: httpx.Response) -> str:
    """The service's own short message from the common error-body shapes."""
    try:
        body: Any = response.json()
    except (ValueError, json.JSONDecodeError):
        text = response.text.strip().splitlines()[0] if response.text.strip() else ""
        return text[:200] or response.reason_phrase or f"HTTP {response.status_code}"
    msg: Any = None
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            msg = err.get("message") or err.get("code")
        elif isinstance(err, str):
            msg = body.get("error_description") or err
        if msg is None and isinstance(body.get("errors"), list) and body["errors"]:
            first = body["errors"][0]
            msg = first.get("message") if isinstance(first, dict) else first
        if msg is None:
            msg = body.get("message") or body.get("detail")
    return str(msg or f"HTTP {response.status_code}")[:300]


def map_error(
    service: str, response: httpx.Response, *, key: str | None = None, hint: str = ""
) -> ProviderError:
    status = response.status_code
    message = error_message(response)
    cls: type[ProviderError]
    if status == 401:
        cls, default_hint = AuthError, "the token was rejected: check it or create a new one"
    elif is_rate_limited(response):
        cls, default_hint = RateLimited, "rate limited: wait a few minutes and run again"
    elif status == 403:
        cls, default_hint = PermissionDenied, "the token lacks a permission this step needs"
    elif status == 404:
        cls, default_hint = NotFound, "check the name or id, and that the token can see it"
    elif status == 409:
        cls, default_hint = Conflict, ""
    elif status in (400, 422):
        cls, default_hint = BadRequest, ""
    elif status >= 500:
        cls, default_hint = ServiceUnavailable, "the service is failing: run again later"
    else:
        cls, default_hint = ProviderError, ""
    return cls(
        service, f"HTTP {status}: {message}", key=key, hint=hint or default_hint, status=status
    )


class ServiceClient:
    """An async JSON/form client for one service with the shared retry policy."""

    def __init__(
        self,
        service: str,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        variable: str | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep | None = None,
        max_connections: int = 20,
    ) -> None:
        self.service = service
        self.base_url = checked_base_url(service, base_url, variable=variable)
        self.retry = retry or RetryPolicy()
        self._sleep: Sleep = sleep or asyncio.sleep
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            headers=dict(headers or {}),
            timeout=timeout,
            transport=transport,
            limits=httpx.Limits(max_connections=max_connections),
            follow_redirects=False,
        )

    async def __aenter__(self) -> ServiceClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        ok: Iterable[int] = (),
        key: str | None = None,
        hint: str = "",
    ) -> httpx.Response:
        """Send with retries. Returns 2xx responses and those whose status is in ``ok``;
        raises a ProviderError for everything else."""
        method = method.upper()
        safe = idempotent if idempotent is not None else method in SAFE_METHODS
        accepted = set(ok)
        attempt = 0
        while True:
            try:
                response = await self._client.request(
                    method, path, params=params, json=json, data=data, headers=headers
                )
            except httpx.TransportError as exc:
                # A refused or unreachable host rarely heals in seconds: retry briefly only.
                if safe and attempt + 1 < min(self.retry.attempts, 3):
                    await self._sleep(retry_delay(None, attempt, self.retry))
                    attempt += 1
                    continue
                raise NetworkError(
                    self.service,
                    f"could not reach {_shown(self.base_url)}: {type(exc).__name__}",
                    key=key,
                    hint="check the network or the service URL, then run again",
                ) from None
            status = response.status_code
            if 200 <= status < 300 or status in accepted:
                return response
            retryable = status in RETRY_STATUSES or is_rate_limited(response)
            # A 5xx to a non-idempotent POST may have been applied: only retry the
            # statuses that mean "not processed" unless the caller said it is safe.
            if (
                retryable
                and not safe
                and status not in (429, 503)
                and not is_rate_limited(response)
            ):
                retryable = False
            if retryable and attempt + 1 < self.retry.attempts:
                delay = retry_delay(response, attempt, self.retry)
                if not math.isfinite(delay) or delay > 86400.0:
                    delay = 86400.0  # a nonsense header still ends in a clean message
                if delay > self.retry.max_retry_after:
                    raise RateLimited(
                        self.service,
                        f"rate limited for another {int(delay)} s",
                        key=key,
                        hint=f"run again after {_clock_after(delay)}",
                        status=status,
                    )
                await self._sleep(delay)
                attempt += 1
                continue
            raise map_error(self.service, response, key=key, hint=hint)

    async def get_json(self, path: str, **kwargs: Any) -> Any:
        return (await self.request("GET", path, **kwargs)).json()


USER_AGENT = "dream-pixel-setup"


class BearerApi:
    """Base of each service's thin client: one ServiceClient holding a bearer token.

    Subclasses name their service and base-URL variable and add typed methods over
    ``self._http``; the client is an async context manager that closes its connections.
    """

    SERVICE: ClassVar[str]
    URL_VARIABLE: ClassVar[str | None] = None
    DEFAULT_URL: ClassVar[str] = ""
    HEADERS: ClassVar[Mapping[str, str]] = {}

    def __init__(
        self,
        token: str,
        *,
        base_url: str | None = None,
        variable: str | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep | None = None,
        max_connections: int = 20,
    ) -> None:
        self._http = ServiceClient(
            self.SERVICE,
            base_url or self.DEFAULT_URL,
            variable=variable or self.URL_VARIABLE,
            headers={"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT, **self.HEADERS},
            timeout=timeout,
            retry=retry,
            transport=transport,
            sleep=sleep,
            max_connections=max_connections,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()
