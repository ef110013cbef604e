"""Step "resend" against a loopback fake of Resend's API."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from providers.errors import AuthError
from tests.fakes.resend import FakeResend
from tests.stepctx import make_ctx
from wizard.context import StepContext
from wizard.steps import resend

FULL = "re_FullAccess_0123456789abcdef"
SENDING = "re_SendingOnly_0123456789abcdef"


@pytest.fixture
def fake():
    with FakeResend(FULL, sending_key=SENDING) as f:
        yield f


def _ctx(
    tmp_path: Path, fake: FakeResend, app: dict[str, str] | None = None, **kw: Any
) -> StepContext:
    values = {"RESEND_API_KEY": FULL, "NEXTAUTH_URL": "https://www.dreampixel.app"}
    values.update(app or {})
    return make_ctx("resend", tmp_path, app=values, env={"RESEND_API_URL": fake.url}, **kw)


def _apply(tmp_path: Path, fake: FakeResend, **kw: Any) -> StepContext:
    ctx = _ctx(tmp_path, fake, **kw)
    asyncio.run(resend.check(ctx))
    asyncio.run(resend.run(ctx))
    return ctx


def _no_secret(ctx: StepContext) -> None:
    blob = repr(ctx.changes) + repr(ctx.notices) + repr(ctx.memory)
    assert FULL not in blob and SENDING not in blob


def test_verified_domain_from_the_site_url(fake, tmp_path):
    domain_id = fake.add_domain("dreampixel.app")
    ctx = _apply(tmp_path, fake)
    [change] = ctx.changes
    assert change.name == "sending domain dreampixel.app" and change.detail == "verified"
    assert fake.requests("GET", "/domains$")[0].headers["authorization"] == f"Bearer {FULL}"
    assert fake.requests("GET", domain_id) == []  # verified: no need for the records
    assert ctx.memory["domain_id"] == domain_id
    _no_secret(ctx)


def test_pending_domain_lists_the_dns_records(fake, tmp_path):
    domain_id = fake.add_domain("mail.dreampixel.app", status="pending")
    fake.add_domain("other.example")
    ctx = _apply(tmp_path, fake, app={"RESEND_FROM": "Dream Pixel <hello@mail.dreampixel.app>"})
    assert fake.requests("GET", domain_id)
    assert "pending" in ctx.changes[0].detail
    [notice] = ctx.notices
    assert "MX send feedback-smtp.us-east-1.amazonses.com (priority 10)" in notice
    assert 'TXT send "v=spf1 include:amazonses.com ~all"' in notice
    assert "resend._domainkey" not in notice  # that record is already verified
    _no_secret(ctx)


def test_only_sending_subdomain_is_used_when_from_is_not_set(fake, tmp_path):
    fake.add_domain("updates.dreampixel.app", status="not_started")
    ctx = _apply(tmp_path, fake)
    assert ctx.changes[0].name == "sending domain updates.dreampixel.app"


def test_domain_not_in_resend(fake, tmp_path):
    fake.add_domain("else.example")
    ctx = _apply(tmp_path, fake, app={"RESEND_FROM": "noreply@dreampixel.app"})
    assert ctx.changes[0].action == "skip"
    assert "resend.com/domains" in ctx.notices[0] and "RESEND_FROM" in ctx.notices[0]


def test_sending_only_key_is_reported_not_invalid(fake, tmp_path):
    fake.add_domain("dreampixel.app")
    ctx = _apply(tmp_path, fake, app={"RESEND_API_KEY": SENDING})
    assert [c.action for c in ctx.changes] == ["skip"]
    assert "sending-only" in ctx.notices[0]
    assert len(fake.requests("GET")) == 1  # the domain check is skipped
    _no_secret(ctx)


def test_invalid_key_is_an_auth_error(fake, tmp_path):
    ctx = _ctx(tmp_path, fake, app={"RESEND_API_KEY": "re_nope_0123456789"})
    with pytest.raises(AuthError) as exc:
        asyncio.run(resend.check(ctx))
    assert exc.value.key == "RESEND_API_KEY" and exc.value.status == 403
    assert "re_nope" not in str(exc.value)


def test_newer_400_invalid_key_answer_is_an_auth_error(fake, tmp_path):
    # Resend's newer answer for a deleted key: 400 validation_error "API key is invalid".
    fake.inject(
        400, body={"statusCode": 400, "name": "validation_error", "message": "API key is invalid"}
    )
    ctx = _ctx(tmp_path, fake)
    with pytest.raises(AuthError) as exc:
        asyncio.run(resend.check(ctx))
    assert exc.value.key == "RESEND_API_KEY" and exc.value.status == 400


def test_429_then_success(fake, tmp_path):
    fake.add_domain("dreampixel.app")
    fake.inject(
        429,
        body={"statusCode": 429, "name": "rate_limit_exceeded", "message": "Too many requests"},
        headers={"Retry-After": "0"},
    )
    ctx = _apply(tmp_path, fake)
    assert ctx.changes[0].detail == "verified"
    assert len(fake.requests("GET", "/domains$")) == 2


def test_run_checks_first_when_needed(fake, tmp_path):
    fake.add_domain("dreampixel.app")
    ctx = _ctx(tmp_path, fake, dry_run=True)
    asyncio.run(resend.run(ctx))
    assert ctx.changes[0].detail == "verified" and ctx.memory == {}


def test_sending_domain_parsing():
    assert resend.sending_domain("Dream Pixel <hi@Mail.Example.com>") == "mail.example.com"
    assert resend.sending_domain("example.com") == "example.com"
    assert resend.sending_domain("noreply@example.com") == "example.com"
