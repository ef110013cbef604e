"""The HTTP layer every provider shares: timeouts, retries with backoff, error mapping.

One ``ServiceClient`` per service and per run (no module-level clients). Retries cover
429 and 5xx (and GitHub's 403 rate-limit answer), honouring ``retry-after-ms``,
``Retry-After`` (seconds or HTTP date) and ``x-ratelimit-reset``; connection failures
are retried only for requests that are safe to repeat (GET/HEAD/PUT/DELETE, or a POST the
caller marks idempotent: an upsert or one carrying an Idempotency-Key).

Everything ends. The bounds, with the defaults:

- one attempt: connect 5 s, each read or write 15 s, and an overall deadline ``D`` = 30 s
  for the whole exchange (connect, send, headers, every byte of the body), so a server
  that trickles a byte every 10 s is cut off at ``D``. ``DREAM_PIXEL_HTTP_DEADLINE``
  (seconds, 1 to 300) changes ``D``. A stalled attempt is not retried.
- one answer: at most ``MAX_BODY_BYTES`` (4 MiB, after decompression), read as a stream;
  a bigger one is refused unread.
- one call (``ServiceClient.request``): at most 5 attempts for 429/5xx, 3 for a failed
  connection; waits of at most 20 s of our own backoff, or what the server asks up to 90 s
  (longer: a clean "run again after HH:MM"). Without a budget that could reach
  5 x D + 4 x 90 s = 510 s; no wait starts that would let the call run past its budget
  ``B`` = 4 x ``D``, so a call ends within B = 120 s, whatever the server does.
- one listing: at most ``MAX_PAGES`` (100) pages, and it stops at the first page that
  brings no new item (``PageGuard``).
- one run: the steps' live checks run side by side, then the steps in groups; a step
  stops at its first failed call. A run that finds every service stalled therefore ends
  after about one ``D`` per phase; the worst case of a run against answering but hostile
  servers is (sequential calls of the longest step) x ``B``, with each listing's calls
  capped at ``MAX_PAGES``.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import math
import os
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
from providers.text import printable
from providers.urls import checked_base_url, no_proxy_mounts

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
SAFE_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0)
DEFAULT_DEADLINE = 30.0
DEADLINE_VARIABLE = "DREAM_PIXEL_HTTP_DEADLINE"
MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_PAGES = 100
# Headers that describe the bytes on the wire, not the (decoded) body we keep.
_WIRE_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 20.0
    # A server asking us to wait longer than this gets a clean "try again at" error
    # instead of a silent multi-minute hang at 11 pm.
    max_retry_after: float = 90.0
    # The most one call may take, retries and waits included (None: 4 x the deadline).
    budget: float | None = None


def request_deadline(env: Mapping[str, str] | None = None) -> float:
    """Seconds one attempt may take in all: DREAM_PIXEL_HTTP_DEADLINE, else 30."""
    raw = (os.environ if env is None else env).get(DEADLINE_VARIABLE, "")
    try:
        value = float(raw)
    except ValueError:
        return DEFAULT_DEADLINE
    if not math.isfinite(value):
        return DEFAULT_DEADLINE
    return min(max(value, 1.0), 300.0)


def call_budget(deadline: float) -> float:
    """B: what one call may take in all, retries and waits included (4 x D)."""
    return 4 * deadline


class PageGuard:
    """Bounds a paginated listing: ``MAX_PAGES`` pages at most, and none after a page
    that brought nothing new (a server whose total or cursor never ends would otherwise
    be asked forever)."""

    def __init__(self, service: str, what: str, *, key: str | None = None) -> None:
        self.service = service
        self.what = what
        self.key = key
        self.pages = 0
        self._seen: set[str] = set()

    def fresh(self, ids: Iterable[str]) -> bool:
        """Count one page of item ids; True when it added at least one unseen id."""
        self.pages += 1
        before = len(self._seen)
        self._seen.update(ids)
        return len(self._seen) > before

    def fresh_items(self, items: Iterable[Any]) -> bool:
        """``fresh`` for a page of JSON items, told apart by their ``id`` (or content)."""
        return self.fresh(
            str(item["id"])
            if isinstance(item, dict) and item.get("id") is not None
            else json.dumps(item, sort_keys=True, default=str)
            for item in items
        )

    def more_allowed(self) -> bool:
        """Whether another page may be asked for; raises when the bound is reached
        (a partial listing must not pass for the whole one)."""
        if self.pages >= MAX_PAGES:
            raise ProviderError(
                self.service,
                f"the {self.what} did not end after {MAX_PAGES} pages",
                key=self.key,
                hint="the service keeps paginating: run again later, or report it",
            )
        return True


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
        return printable(text[:200] or response.reason_phrase or f"HTTP {response.status_code}")
    msg: Any = None
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            msg = err.get("message") or err.get("code")
        elif isinstance(err, str):
            msg = body.get("error_description") or err
        errors = body.get("errors")
        if msg is None and isinstance(errors, list) and errors:
            first = errors[0]
            msg = first.get("message") if isinstance(first, dict) else first
        elif msg is None and isinstance(errors, str):  # Better Stack: {"errors": "..."}
            msg = errors
        elif msg is None and isinstance(errors, dict):  # {"errors": {"field": ["why"]}}
            msg = _first_field_error(errors)
        if msg is None:
            msg = body.get("message") or body.get("detail")
        if msg is None:  # Django REST framework: {"field": ["why"], ...}
            msg = _first_field_error(body)
    elif isinstance(body, list) and body and isinstance(body[0], str):
        msg = body[0]  # Django REST framework's ValidationError raised outside a field
    return printable(str(msg or f"HTTP {response.status_code}")[:300])


def _first_field_error(body: dict[str, Any]) -> str | None:
    for field_name, why in body.items():
        if not isinstance(why, list):
            continue  # DRF lists a field's reasons; a bare value is no message
        while isinstance(why, list) and why:
            why = why[0]
        if isinstance(why, str):
            return why if field_name == "nonFieldErrors" else f"{field_name}: {why}"
    return None


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
        deadline: float | None = None,
        max_body: int = MAX_BODY_BYTES,
    ) -> None:
        self.service = service
        self.variable = variable
        self.base_url = checked_base_url(service, base_url, variable=variable)
        self.retry = retry or RetryPolicy()
        self.deadline = deadline if deadline is not None else request_deadline()
        self.budget = max(self.retry.budget or call_budget(self.deadline), self.deadline)
        self.max_body = max_body
        self._sleep: Sleep = sleep or asyncio.sleep
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            headers=dict(headers or {}),
            timeout=timeout,
            transport=transport,
            limits=httpx.Limits(max_connections=max_connections),
            follow_redirects=False,
            # Loopback traffic never goes through a proxy from the environment.
            mounts=no_proxy_mounts(self.base_url),
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
        started = time.monotonic()

        def fits(delay: float) -> bool:
            # Another attempt after ``delay`` must still end within the call's budget.
            return time.monotonic() - started + delay + self.deadline <= self.budget

        while True:
            request = self._client.build_request(
                method, path, params=params, json=json, data=data, headers=headers
            )
            try:
                response = await self._attempt(request, key=key)
            except TimeoutError:
                # Not retried: a server that could not answer in D seconds is stalling.
                raise NetworkError(
                    self.service,
                    f"no complete answer from {_shown(self.base_url)} within {self.deadline:g} s",
                    key=key,
                    hint=f"the service is stalling: check the network and {self._where()}, "
                    f"then run again ({DEADLINE_VARIABLE} allows more time)",
                ) from None
            except httpx.TransportError as exc:
                # A refused or unreachable host rarely heals in seconds: retry briefly only.
                delay = retry_delay(None, attempt, self.retry)
                if safe and attempt + 1 < min(self.retry.attempts, 3) and fits(delay):
                    await self._sleep(delay)
                    attempt += 1
                    continue
                raise NetworkError(
                    self.service,
                    f"could not reach {_shown(self.base_url)}: {type(exc).__name__}",
                    key=key,
                    hint=f"check the network and {self._where()}, then run again",
                ) from None
            status = response.status_code
            if 200 <= status < 300 or status in accepted:
                return response
            limited = is_rate_limited(response)  # 429, or GitHub's 403 rate limits
            retryable = status in RETRY_STATUSES or limited
            # A 5xx to a non-idempotent POST may have been applied: only retry the
            # statuses that mean "not processed" unless the caller said it is safe.
            if retryable and not safe and status != 503 and not limited:
                retryable = False
            if retryable and attempt + 1 < self.retry.attempts:
                delay = retry_delay(response, attempt, self.retry)
                if not math.isfinite(delay) or delay > 86400.0:
                    delay = 86400.0  # a nonsense header still ends in a clean message
                if delay > self.retry.max_retry_after or (not fits(delay) and limited):
                    raise RateLimited(
                        self.service,
                        f"rate limited for another {int(delay)} s",
                        key=key,
                        hint=f"run again after {_clock_after(delay)}",
                        status=status,
                    )
                if fits(delay):
                    await self._sleep(delay)
                    attempt += 1
                    continue
            raise map_error(self.service, response, key=key, hint=hint)

    def _where(self) -> str:
        return self.variable or f"the {self.service} URL"

    async def _attempt(self, request: httpx.Request, *, key: str | None) -> httpx.Response:
        """One exchange within the deadline, its body read as a stream up to the cap."""
        async with asyncio.timeout(self.deadline):
            response = await self._client.send(request, stream=True)
            try:
                body = await self._read_capped(response, key=key)
            finally:
                await response.aclose()
        headers = [
            (k, v) for k, v in response.headers.multi_items() if k.lower() not in _WIRE_HEADERS
        ]
        return httpx.Response(
            response.status_code,
            headers=headers,
            content=body,
            request=request,
            extensions=response.extensions,
        )

    async def _read_capped(self, response: httpx.Response, *, key: str | None) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            raise self._too_large(key)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self.max_body:
                raise self._too_large(key)
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self, key: str | None) -> ProviderError:
        limit = f"{self.max_body / (1024 * 1024):g} MB"
        return ProviderError(
            self.service,
            f"the answer from {_shown(self.base_url)} is larger than {limit}: refused unread",
            key=key,
            hint=f"check that {self._where()} points at the service's API, then run again",
        )

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
        deadline: float | None = None,
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
            deadline=deadline,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()
