"""Step "sentry" against a loopback fake of Sentry's web API."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from providers.errors import AuthError, Conflict, NotFound, PermissionDenied
from tests.fakes.sentry import FakeSentry
from tests.stepctx import make_ctx
from wizard.context import StepContext
from wizard.steps import sentry

TOKEN = "sntryu_0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab"


@pytest.fixture
def fake():
    with FakeSentry(TOKEN) as f:
        f.add_org("acme")
        f.add_project("acme", "dream-pixel")
        yield f


def _ctx(
    tmp_path: Path, fake: FakeSentry, app: dict[str, str] | None = None, **kw: Any
) -> StepContext:
    values = {"SENTRY_AUTH_TOKEN": TOKEN, "SENTRY_ORG": "acme", "SENTRY_PROJECT": "dream-pixel"}
    values.update(app or {})
    return make_ctx("sentry", tmp_path, app=values, env={"SENTRY_URL": fake.url}, **kw)


def _apply(tmp_path: Path, fake: FakeSentry, **kw: Any) -> StepContext:
    ctx = _ctx(tmp_path, fake, **kw)
    asyncio.run(sentry.check(ctx))
    asyncio.run(sentry.run(ctx))
    return ctx


def _no_secrets(ctx: StepContext, fake: FakeSentry) -> None:
    blob = repr(ctx.changes) + repr(ctx.notices) + repr(ctx.memory) + repr(ctx.scratch)
    assert TOKEN not in blob
    for keys in fake.keys.values():
        for k in keys:
            assert k["secret"] not in blob


def test_dsns_filled_from_the_active_key(fake, tmp_path):
    fake.add_key("acme", "dream-pixel", name="Old", active=False)
    key = fake.add_key("acme", "dream-pixel")
    ctx = _apply(tmp_path, fake)
    dsn = key["dsn"]["public"]
    assert ctx.scratch["provided"] == {"SENTRY_DSN": dsn, "NEXT_PUBLIC_SENTRY_DSN": dsn}
    assert ctx.memory["key_id"] == key["id"]
    assert (
        fake.requests("GET", "/api/0/organizations/$")[0].headers["authorization"]
        == f"Bearer {TOKEN}"
    )
    assert [c.action for c in ctx.changes] == ["unchanged"]
    _no_secrets(ctx, fake)


def test_dry_run_marks_the_dsns_pending(fake, tmp_path):
    fake.add_key("acme", "dream-pixel")
    ctx = _ctx(tmp_path, fake, dry_run=True)
    asyncio.run(sentry.run(ctx))
    assert ctx.values.pending == {"SENTRY_DSN": "sentry", "NEXT_PUBLIC_SENTRY_DSN": "sentry"}
    assert ctx.scratch["provided"] == {} and ctx.memory == {}


def test_given_dsn_that_matches_is_kept_and_fills_the_other(fake, tmp_path):
    fake.add_key("acme", "dream-pixel", name="First")
    second = fake.add_key("acme", "dream-pixel", name="Second")
    # The legacy form with the secret part still identifies the same key.
    given = second["dsn"]["secret"]
    ctx = _apply(tmp_path, fake, app={"SENTRY_DSN": given})
    assert ctx.scratch["provided"] == {"NEXT_PUBLIC_SENTRY_DSN": second["dsn"]["public"]}


def test_dsn_of_another_project_is_a_clear_error(fake, tmp_path):
    fake.add_key("acme", "dream-pixel")
    fake.add_project("acme", "other")
    other = fake.add_key("acme", "other")
    ctx = _ctx(tmp_path, fake, app={"NEXT_PUBLIC_SENTRY_DSN": other["dsn"]["public"]})
    with pytest.raises(Conflict) as exc:
        asyncio.run(sentry.run(ctx))
    assert exc.value.key == "NEXT_PUBLIC_SENTRY_DSN"
    assert "acme/dream-pixel" in str(exc.value)


def test_dsn_of_a_disabled_key_says_so(fake, tmp_path):
    fake.add_key("acme", "dream-pixel")
    off = fake.add_key("acme", "dream-pixel", name="Off", active=False)
    ctx = _ctx(tmp_path, fake, app={"SENTRY_DSN": off["dsn"]["public"]})
    with pytest.raises(Conflict) as exc:
        asyncio.run(sentry.run(ctx))
    assert "disabled" in exc.value.message and exc.value.key == "SENTRY_DSN"


def test_no_active_key(fake, tmp_path):
    fake.add_key("acme", "dream-pixel", active=False)
    ctx = _ctx(tmp_path, fake)
    with pytest.raises(Conflict) as exc:
        asyncio.run(sentry.run(ctx))
    assert "no active client key" in exc.value.message


def test_bad_token_401(fake, tmp_path):
    ctx = _ctx(tmp_path, fake, app={"SENTRY_AUTH_TOKEN": "sntryu_wrong"})
    with pytest.raises(AuthError) as exc:
        asyncio.run(sentry.check(ctx))
    assert exc.value.key == "SENTRY_AUTH_TOKEN" and "sntryu_wrong" not in str(exc.value)


def test_unknown_org_404_names_sentry_org(fake, tmp_path):
    ctx = _ctx(tmp_path, fake, app={"SENTRY_ORG": "acne"})
    with pytest.raises(NotFound) as exc:
        asyncio.run(sentry.check(ctx))
    assert exc.value.key == "SENTRY_ORG" and "acne" in str(exc.value)


def test_unknown_project_404_names_sentry_project(fake, tmp_path):
    ctx = _ctx(tmp_path, fake, app={"SENTRY_PROJECT": "dream-pixle"})
    with pytest.raises(NotFound) as exc:
        asyncio.run(sentry.check(ctx))
    assert exc.value.key == "SENTRY_PROJECT"


def test_token_that_cannot_read_keys_403(fake, tmp_path):
    fake.can_read_keys = False
    ctx = _ctx(tmp_path, fake)
    with pytest.raises(PermissionDenied) as exc:
        asyncio.run(sentry.check(ctx))
    assert "project:read" in exc.value.hint


def test_keys_followed_across_pages(tmp_path):
    with FakeSentry(TOKEN, page_size=2) as fake:
        fake.add_org("acme")
        fake.add_project("acme", "dream-pixel")
        for i in range(4):
            fake.add_key("acme", "dream-pixel", name=f"off{i}", active=False)
        last = fake.add_key("acme", "dream-pixel", name="On")
        ctx = _apply(tmp_path, fake)
        assert ctx.scratch["provided"]["SENTRY_DSN"] == last["dsn"]["public"]
        assert len(fake.requests("GET", "/keys/$")) == 3


def test_429_then_success(fake, tmp_path):
    fake.add_key("acme", "dream-pixel")
    fake.inject(
        429, body={"detail": "Rate limit exceeded"}, headers={"Retry-After": "0"}, path="/keys/$"
    )
    ctx = _apply(tmp_path, fake)
    assert "SENTRY_DSN" in ctx.scratch["provided"]


def test_dsn_identity_ignores_form():
    a = "https://abc123@o1.ingest.sentry.io/42"
    assert sentry.dsn_identity(a) == sentry.dsn_identity(
        "https://abc123:sec@O1.ingest.sentry.io/42/"
    )
    assert sentry.dsn_identity(a) != sentry.dsn_identity("https://abc123@o1.ingest.sentry.io/43")
