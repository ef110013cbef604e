"""Everything ends: a deadline per request, a cap per answer, a bound per listing.

Real sockets throughout: the fakes stall, trickle a byte at a time, or stream 100 MB.
Each call runs under an outer guard so that, on code without the bound, the test fails
instead of hanging.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import tracemalloc
from collections.abc import Awaitable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from providers.errors import NetworkError, ProviderError
from providers.github import GitHubClient, seal
from providers.http import MAX_BODY_BYTES, MAX_PAGES, ServiceClient, request_deadline
from providers.resend import ResendClient
from providers.sentry import SentryClient
from providers.stripe import StripeClient
from tests.fakes.base import FakeService, Reply, Request
from tests.fakes.github import FakeGitHub

T = TypeVar("T")
GUARD = 25.0  # seconds: far above every bound below, far below "forever"


def bounded(coro: Awaitable[T], guard: float = GUARD) -> tuple[T | BaseException, float]:
    """Run ``coro``; return its result or exception and how long it took."""

    async def timed() -> T:
        return await asyncio.wait_for(coro, guard)

    started = time.monotonic()
    try:
        outcome: T | BaseException = asyncio.run(timed())
    except (Exception, asyncio.CancelledError) as exc:
        outcome = exc
    return outcome, time.monotonic() - started


@pytest.fixture
def fake() -> Iterator[FakeService]:
    service = FakeService()

    @service.route("GET", "/thing")
    def thing(_req: Request) -> Reply:
        return Reply(200, {"ok": True})

    with service:
        yield service


async def get_thing(url: str, **kwargs: Any) -> Any:
    async with ServiceClient("Example", url, variable="EXAMPLE_API_URL", **kwargs) as client:
        return await client.get_json("/thing")


# -- the deadline ------------------------------------------------------------------------
def test_a_trickling_server_is_cut_off_at_the_deadline(fake: FakeService) -> None:
    # One byte every 10 s: each read is well inside the 15 s read timeout, so only an
    # overall deadline ends it (the body is ~75 bytes: 12 minutes without one).
    fake.inject(200, body={"ok": True}, trickle=10.0, path="/thing", times=10)
    outcome, took = bounded(get_thing(fake.url, deadline=2.0))
    assert isinstance(outcome, NetworkError), outcome
    assert 1.5 < took < 8.0  # 2 s, with room for a loaded machine
    text = str(outcome)
    assert text.startswith("Example (") or text.startswith("Example:")
    assert "within 2 s" in text and "EXAMPLE_API_URL" in text and "run again" in text
    assert "DREAM_PIXEL_HTTP_DEADLINE" in text
    # A stalled exchange is not retried: one deadline, not three.
    assert len(fake.requests("GET", "/thing")) == 1


def test_a_server_that_never_answers_is_cut_off(fake: FakeService) -> None:
    fake.inject(stall=True, path="/thing", times=10)
    outcome, took = bounded(get_thing(fake.url, deadline=1.0))
    assert isinstance(outcome, NetworkError) and "within 1 s" in str(outcome)
    assert took < 6.0


def test_an_answer_inside_the_deadline_is_untouched(fake: FakeService) -> None:
    fake.delay = 0.3
    outcome, _ = bounded(get_thing(fake.url, deadline=2.0))
    assert outcome == {"ok": True}


def test_deadline_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    assert request_deadline({}) == 30.0
    assert request_deadline({"DREAM_PIXEL_HTTP_DEADLINE": "4.5"}) == 4.5
    assert request_deadline({"DREAM_PIXEL_HTTP_DEADLINE": "0"}) == 1.0
    assert request_deadline({"DREAM_PIXEL_HTTP_DEADLINE": "nan"}) == 30.0
    assert request_deadline({"DREAM_PIXEL_HTTP_DEADLINE": "1e9"}) == 300.0
    monkeypatch.setenv("DREAM_PIXEL_HTTP_DEADLINE", "7")
    assert ServiceClient("Example", "https://example.test").deadline == 7.0


def test_retries_stop_within_the_budget(fake: FakeService) -> None:
    # A server that keeps asking for 2 s more: with a 1 s deadline the budget is 4 s, so
    # the call stops retrying rather than wait past it.
    fake.inject(503, body={"message": "busy"}, headers={"retry-after": "2"}, times=10)
    outcome, took = bounded(get_thing(fake.url, deadline=1.0))
    assert isinstance(outcome, ProviderError) and "Example" in str(outcome)
    assert took <= 4.0 + 1.5  # B = 4 s, with room for a loaded machine
    # 0 s + a 2 s wait + a 1 s attempt fits in 4 s; a second wait could not. (A loaded
    # machine whose first answer took over 1 s may stop after one.)
    assert len(fake.requests("GET")) in (1, 2)


# -- the body cap ------------------------------------------------------------------------
@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "until-close"])
def test_a_100_mb_answer_is_refused_unread(fake: FakeService, declared: bool) -> None:
    fake.inject(200, size=100 * 1024 * 1024, length=declared, path="/thing")
    # A deadline far away: only the cap can end this.
    tracemalloc.start()
    try:
        outcome, _ = bounded(get_thing(fake.url, deadline=120.0), guard=120.0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(outcome, ProviderError), outcome
    text = str(outcome)
    assert "larger than 4 MB" in text and "EXAMPLE_API_URL" in text
    # Never held whole (old code: the 100 MB body, ~820 MB RSS with the JSON attempt).
    assert peak < 24 * 1024 * 1024, f"peak {peak // 1024 // 1024} MB"


def test_an_answer_just_under_the_cap_is_read(fake: FakeService) -> None:
    body = {"blob": "x" * (MAX_BODY_BYTES - 100)}
    fake.inject(200, body=body, path="/thing")
    outcome, _ = bounded(get_thing(fake.url))
    assert outcome == body


# -- listings ----------------------------------------------------------------------------
def test_github_total_count_above_the_names_does_not_loop(tmp_path: Path) -> None:
    # The reported loop: total_count says 8, the (page-ignoring) server returns the same
    # 3 names on every page. Old code asked 1,337 times a minute, forever.
    with FakeGitHub() as gh:
        gh.add_token("tok")
        gh.add_repo("o/r")
        gh.total_count_extra = 5
        gh.pages_ignored = True

        async def seed_and_list() -> dict[str, str]:
            async with GitHubClient("tok", base_url=gh.url) as client:
                key = await client.public_key("o/r")
                for name in ("A", "B", "C"):
                    await client.put_secret("o/r", name, seal(key.key, "v"), key.key_id)
                return await client.secret_names("o/r")

        outcome, took = bounded(seed_and_list())
        assert isinstance(outcome, dict) and sorted(outcome) == ["A", "B", "C"], outcome
        lists = gh.requests("GET", r"/actions/secrets$")
        assert len(lists) == 2  # the first page, and the one that brought nothing new
        assert took < 5.0


def endless(service: FakeService, method: str, path: str, page: Any) -> None:
    """A listing that always has more, each page with new ids."""
    counter = itertools.count()

    def handler(req: Request) -> Reply:
        return page(req, next(counter))

    service.add_route(method, path, handler)


def test_stripe_listing_stops_at_the_page_bound() -> None:
    with FakeService() as service:
        endless(
            service,
            "GET",
            "/v1/webhook_endpoints",
            lambda _r, n: Reply(
                200,
                {
                    "object": "list",
                    "has_more": True,
                    "data": [{"id": f"we_{n}", "url": "https://x.test/h", "status": "enabled"}],
                },
            ),
        )

        async def listing() -> Any:
            async with StripeClient("sk_live_x", base_url=service.url) as client:
                return await client.list_webhook_endpoints()

        outcome, _ = bounded(listing())
        assert isinstance(outcome, ProviderError), outcome
        assert "Stripe" in str(outcome) and f"{MAX_PAGES} pages" in str(outcome)
        assert len(service.requests("GET")) == MAX_PAGES


def test_stripe_listing_that_repeats_itself_stops() -> None:
    with FakeService() as service:
        endless(
            service,
            "GET",
            "/v1/webhook_endpoints",
            lambda _r, _n: Reply(
                200,
                {
                    "object": "list",
                    "has_more": True,
                    "data": [{"id": "we_same", "url": "https://x.test/h", "status": "enabled"}],
                },
            ),
        )

        async def listing() -> Any:
            async with StripeClient("sk_live_x", base_url=service.url) as client:
                return await client.list_webhook_endpoints()

        outcome, _ = bounded(listing())
        assert isinstance(outcome, list) and [e.id for e in outcome] == ["we_same"] * 2
        assert len(service.requests("GET")) == 2


def test_sentry_cursor_that_never_moves_stops() -> None:
    with FakeService() as service:
        link = '<{url}>; rel="next"; results="true"; cursor="0:100:0"'
        endless(
            service,
            "GET",
            "/api/0/organizations/",
            lambda _r, _n: Reply(
                200,
                [{"id": "1", "slug": "acme", "name": "Acme"}],
                {"Link": link.format(url=service.url + "/api/0/organizations/")},
            ),
        )

        async def listing() -> Any:
            async with SentryClient("tok", base_url=service.url) as client:
                return await client.list_organizations()

        outcome, _ = bounded(listing())
        assert isinstance(outcome, list) and len(service.requests("GET")) == 2


def test_resend_listing_stops_at_the_page_bound() -> None:
    with FakeService() as service:
        endless(
            service,
            "GET",
            "/domains",
            lambda _r, n: Reply(
                200,
                {
                    "has_more": True,
                    "data": [{"id": f"d_{n}", "name": f"d{n}.test", "status": "verified"}],
                },
            ),
        )

        async def listing() -> Any:
            async with ResendClient("re_x", base_url=service.url) as client:
                return await client.list_domains()

        outcome, _ = bounded(listing())
        assert isinstance(outcome, ProviderError) and "Resend" in str(outcome)
        assert len(service.requests("GET")) == MAX_PAGES
