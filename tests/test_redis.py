"""Step "redis" against a loopback Upstash REST fake."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from providers.errors import AuthError, NotFound, ProviderError, RateLimited
from providers.upstash import UpstashClient
from tests.fakes.base import Reply
from tests.fakes.upstash import FakeUpstash
from tests.stepctx import make_ctx
from wizard.steps import redis

TOKEN = "AXlzASQgNjY3ZS00ZDRiLWJmYzktREST-token-secret-value"


@pytest.fixture
def upstash():
    with FakeUpstash(TOKEN) as fake:
        yield fake


def _ctx(tmp_path: Path, url: str, token: str = TOKEN, **kw):
    return make_ctx(
        "redis",
        tmp_path,
        app={"UPSTASH_REDIS_REST_URL": url, "UPSTASH_REDIS_REST_TOKEN": token},
        **kw,
    )


def _assert_no_secret(ctx, *secrets: str) -> None:
    blob = repr(ctx.changes) + repr(ctx.notices) + repr(ctx.memory)
    for s in secrets:
        assert s not in blob


def test_ping_with_bearer_token(upstash, tmp_path):
    ctx = _ctx(tmp_path, upstash.url)
    asyncio.run(redis.check(ctx))
    asyncio.run(redis.run(ctx))
    [req] = upstash.requests("GET", "/ping")
    assert req.headers["authorization"] == f"Bearer {TOKEN}"
    assert [(c.name, c.action) for c in ctx.changes] == [("Upstash Redis database", "unchanged")]
    assert any("eviction" in n for n in ctx.notices)
    _assert_no_secret(ctx, TOKEN)


def test_run_checks_when_check_was_not_run(upstash, tmp_path):
    ctx = _ctx(tmp_path, upstash.url, dry_run=True)
    asyncio.run(redis.run(ctx))
    assert len(upstash.requests("GET", "/ping")) == 1


def test_wrongpass_names_the_token_and_explains_tcp_password(upstash, tmp_path):
    ctx = _ctx(tmp_path, upstash.url, token="the-tcp-password-not-rest")
    with pytest.raises(AuthError) as exc:
        asyncio.run(redis.check(ctx))
    err = exc.value
    assert err.key == "UPSTASH_REDIS_REST_TOKEN"
    assert "WRONGPASS" in str(err)
    assert "TCP" in err.hint and "REST token" in err.hint
    assert "the-tcp-password-not-rest" not in str(err)


def test_wrong_path_names_the_url(upstash, tmp_path):
    ctx = _ctx(tmp_path, upstash.url + "/v2")
    with pytest.raises(NotFound) as exc:
        asyncio.run(redis.check(ctx))
    assert exc.value.key == "UPSTASH_REDIS_REST_URL"


def test_missing_token_is_named(tmp_path):
    ctx = make_ctx("redis", tmp_path, app={"UPSTASH_REDIS_REST_URL": "https://x.upstash.io"})
    with pytest.raises(ProviderError) as exc:
        asyncio.run(redis.check(ctx))
    assert exc.value.key == "UPSTASH_REDIS_REST_TOKEN"


def test_plain_http_off_loopback_is_refused(tmp_path):
    ctx = _ctx(tmp_path, "http://example.upstash.io")
    with pytest.raises(ProviderError) as exc:
        asyncio.run(redis.check(ctx))
    assert exc.value.key == "UPSTASH_REDIS_REST_URL"


def test_429_then_success(upstash, tmp_path):
    upstash.inject(
        429, body={"error": "ERR max requests limit exceeded"}, headers={"Retry-After": "0"}
    )
    ctx = _ctx(tmp_path, upstash.url)
    asyncio.run(redis.check(ctx))
    assert len(upstash.requests("GET", "/ping")) == 2


def test_rate_limited_too_long_is_a_clean_error(upstash, tmp_path):
    upstash.inject(
        429, body={"error": "ERR max daily request limit exceeded"}, headers={"Retry-After": "3600"}
    )
    ctx = _ctx(tmp_path, upstash.url)
    with pytest.raises(RateLimited):
        asyncio.run(redis.check(ctx))


def test_non_upstash_answer_is_reported_on_the_url(upstash, tmp_path):
    upstash.add_route("GET", "/other/ping", lambda req: Reply(200, "<html>hi</html>"))

    async def go() -> None:
        async with UpstashClient(upstash.url + "/other", TOKEN) as client:
            await client.ping()

    with pytest.raises(ProviderError) as exc:
        asyncio.run(go())
    assert exc.value.key == "UPSTASH_REDIS_REST_URL"
