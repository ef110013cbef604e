"""Step "stripe" against a loopback fake that speaks Stripe's protocol."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from providers.errors import AuthError, Conflict, ProviderError
from providers.stripe import key_mode, scrub, webhook_idempotency_key
from tests.fakes.stripe import FakeStripe
from tests.stepctx import make_ctx
from wizard.context import StepContext
from wizard.steps import stripe

LIVE = "sk_live_51Hx9fakeLIVEsecretKEYvalue0123456789"
PK_LIVE = "pk_live_51Hx9fakePUBLISHABLEkey0123456789"
TEST = "sk_test_51Hx9fakeTESTsecretKEYvalue0123456789"
PK_TEST = "pk_test_51Hx9fakePUBLISHABLEkey0123456789"
SITE = "https://dreampixel.app"
HOOK = SITE + "/api/webhooks/stripe"


@pytest.fixture
def fake():
    with FakeStripe(LIVE) as f:
        yield f


def _ctx(
    tmp_path: Path,
    fake: FakeStripe,
    *,
    app: dict[str, str] | None = None,
    memory: dict[str, Any] | None = None,
    **kw: Any,
) -> StepContext:
    values = {
        "STRIPE_SECRET_KEY": LIVE,
        "NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY": PK_LIVE,
        "NEXTAUTH_URL": SITE,
    }
    values.update(app or {})
    return make_ctx(
        "stripe",
        tmp_path,
        app=values,
        env={"STRIPE_API_URL": fake.url},
        memory=memory,
        **kw,
    )


def _provided(ctx: StepContext) -> dict[str, str]:
    return ctx.scratch["provided"]


def _no_secrets(ctx: StepContext, *secrets: str) -> None:
    blob = repr(ctx.changes) + repr(ctx.notices) + repr(ctx.memory)
    for s in (LIVE, *secrets):
        assert s not in blob


def _creates(fake: FakeStripe) -> list:
    return fake.requests("POST", r"^/v1/webhook_endpoints$")


def _apply(tmp_path: Path, fake: FakeStripe, **kw: Any) -> StepContext:
    ctx = _ctx(tmp_path, fake, **kw)
    asyncio.run(stripe.check(ctx))
    asyncio.run(stripe.run(ctx))
    return ctx


# -- keys --------------------------------------------------------------------------


def test_key_mode_and_scrub():
    assert key_mode(LIVE) == "live" and key_mode(PK_TEST) == "test"
    assert key_mode("whsec_abc") is None
    assert "51Hx9" not in scrub(f"Invalid API Key provided: {LIVE[:10]}****6789")


def test_check_reads_account_with_bearer_key(fake, tmp_path):
    ctx = _ctx(tmp_path, fake)
    asyncio.run(stripe.check(ctx))
    [req] = fake.requests("GET", "/v1/account")
    assert req.headers["authorization"] == f"Bearer {LIVE}"
    assert ctx.scratch["stripe.account"] == "acct_1Fake"


def test_test_key_refused_for_production_without_a_call(fake, tmp_path):
    ctx = _ctx(
        tmp_path,
        fake,
        app={"STRIPE_SECRET_KEY": TEST, "NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY": PK_TEST},
    )
    with pytest.raises(ProviderError) as exc:
        asyncio.run(stripe.check(ctx))
    assert exc.value.key == "STRIPE_SECRET_KEY"
    assert "live" in str(exc.value)
    assert fake.log == []


def test_test_keys_are_fine_for_preview(tmp_path):
    with FakeStripe(TEST) as fake:
        ctx = _ctx(
            tmp_path,
            fake,
            app={"STRIPE_SECRET_KEY": TEST, "NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY": PK_TEST},
            environment="preview",
        )
        asyncio.run(stripe.check(ctx))
        assert fake.requests("GET", "/v1/account")


def test_publishable_key_must_match_the_secret_keys_mode(fake, tmp_path):
    ctx = _ctx(tmp_path, fake, app={"NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY": PK_TEST})
    with pytest.raises(ProviderError) as exc:
        asyncio.run(stripe.check(ctx))
    assert exc.value.key == "NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY"
    assert "test" in exc.value.message and "live" in exc.value.message


def test_rejected_key_is_an_auth_error_without_the_key(fake, tmp_path):
    other = "sk_live_51Hx9someOTHERkeyTHATisWRONG98765"
    ctx = _ctx(tmp_path, fake, app={"STRIPE_SECRET_KEY": other})
    with pytest.raises(AuthError) as exc:
        asyncio.run(stripe.check(ctx))
    assert exc.value.key == "STRIPE_SECRET_KEY"
    assert "Invalid API Key" in str(exc.value)
    assert other[:12] not in str(exc.value) and other[-4:] not in str(exc.value)


def test_restricted_key_without_account_read_is_checked_through_webhooks(tmp_path):
    rk = "rk_live_51Hx9restrictedKEYvalue0123456789"
    with FakeStripe(rk) as fake:
        fake.restricted_account = True
        ctx = _ctx(tmp_path, fake, app={"STRIPE_SECRET_KEY": rk})
        asyncio.run(stripe.check(ctx))
        assert fake.requests("GET", "/v1/webhook_endpoints")


# -- the webhook endpoint ------------------------------------------------------------


def test_first_apply_creates_the_endpoint_and_captures_the_secret(fake, tmp_path):
    ctx = _apply(tmp_path, fake)
    [create] = _creates(fake)
    assert create.headers["content-type"].startswith("application/x-www-form-urlencoded")
    form = create.form()
    assert form["url"] == [HOOK]
    events = form["enabled_events[]"]
    assert "payment_intent.succeeded" in events and "charge.failed" in events
    assert "customer.subscription.trial_will_end" in events
    assert not any(e.endswith("*") for e in events)
    assert create.headers["idempotency-key"] == webhook_idempotency_key(HOOK, stripe.EVENTS)
    [ep] = fake.endpoints.values()
    assert _provided(ctx) == {"STRIPE_WEBHOOK_SECRET": ep["secret"]}
    assert ctx.values.app["STRIPE_WEBHOOK_SECRET"] == ep["secret"]
    assert ctx.memory["webhook_endpoint_id"] == ep["id"]
    assert [(c.action, c.kind) for c in ctx.changes] == [("create", "resource")]
    _no_secrets(ctx, ep["secret"])


def test_rerun_creates_nothing_and_keeps_the_secret(fake, tmp_path):
    first = _apply(tmp_path, fake)
    secret = _provided(first)["STRIPE_WEBHOOK_SECRET"]
    second = _apply(tmp_path, fake, app={"STRIPE_WEBHOOK_SECRET": secret}, memory=first.memory)
    assert len(_creates(fake)) == 1
    assert len(fake.endpoints) == 1
    assert _provided(second) == {}
    assert second.values.app["STRIPE_WEBHOOK_SECRET"] == secret
    assert [c.action for c in second.changes] == ["unchanged"]
    _no_secrets(second, secret)


def test_dry_run_reports_the_create_and_sends_no_mutation(fake, tmp_path):
    ctx = _ctx(tmp_path, fake, dry_run=True)
    asyncio.run(stripe.run(ctx))
    assert [r.method for r in fake.log] == ["GET", "GET"]  # account, endpoint list
    assert ctx.values.pending == {"STRIPE_WEBHOOK_SECRET": "stripe"}
    assert [c.action for c in ctx.changes] == ["create"]
    assert ctx.memory == {}


def test_lost_create_answer_is_retried_without_a_second_endpoint(fake, tmp_path):
    fake.inject(drop=True, method="POST", path=r"^/v1/webhook_endpoints$")
    ctx = _apply(tmp_path, fake)
    assert len(_creates(fake)) == 2  # the first answer was lost, the retry replayed it
    [ep] = fake.endpoints.values()
    assert _provided(ctx)["STRIPE_WEBHOOK_SECRET"] == ep["secret"]


def test_429_then_success_on_create(fake, tmp_path):
    fake.inject(
        429,
        body={
            "error": {
                "type": "invalid_request_error",
                "code": "rate_limit",
                "message": "Too many requests",
            }
        },
        headers={"Retry-After": "0"},
        method="POST",
    )
    ctx = _apply(tmp_path, fake)
    assert len(fake.endpoints) == 1
    assert "STRIPE_WEBHOOK_SECRET" in _provided(ctx)


def test_existing_endpoint_without_known_secret_stops_and_offers_the_roll(fake, tmp_path):
    fake.add_endpoint(HOOK, list(stripe.EVENTS))
    ctx = _ctx(tmp_path, fake)
    with pytest.raises(Conflict) as exc:
        asyncio.run(stripe.check(ctx))  # refused in the live checks, before any mutation
    assert exc.value.key == "STRIPE_WEBHOOK_SECRET"
    assert "stripe_roll_webhook" in exc.value.hint and "only once" in exc.value.hint
    assert _creates(fake) == [] and len(fake.endpoints) == 1


def test_roll_deletes_and_recreates_once(fake, tmp_path):
    old = fake.add_endpoint(HOOK, list(stripe.EVENTS))
    ctx = _apply(tmp_path, fake, choices={"stripe_roll_webhook": "yes"})
    assert fake.requests("DELETE", old["id"])
    [ep] = fake.endpoints.values()
    assert ep["id"] != old["id"]
    assert _provided(ctx)["STRIPE_WEBHOOK_SECRET"] == ep["secret"]
    assert any("deleted and created again" in n for n in ctx.notices)
    # The roll's create must not replay a first-creation key for the same URL.
    assert _creates(fake)[0].headers["idempotency-key"] != webhook_idempotency_key(
        HOOK, stripe.EVENTS
    )
    _no_secrets(ctx, ep["secret"])


def test_roll_in_a_dry_run_changes_nothing(fake, tmp_path):
    fake.add_endpoint(HOOK, list(stripe.EVENTS))
    ctx = _ctx(tmp_path, fake, choices={"stripe_roll_webhook": "yes"}, dry_run=True)
    asyncio.run(stripe.run(ctx))
    assert {r.method for r in fake.log} == {"GET"}
    assert ctx.values.pending == {"STRIPE_WEBHOOK_SECRET": "stripe"}
    assert "roll" in ctx.changes[0].detail


def test_missing_events_are_added_and_extra_ones_kept(fake, tmp_path):
    ep = fake.add_endpoint(HOOK, ["charge.failed", "invoice.paid"])
    ctx = _apply(tmp_path, fake, app={"STRIPE_WEBHOOK_SECRET": "whsec_pastedFromDashboard123"})
    [update] = fake.requests("POST", ep["id"])
    sent = update.form()["enabled_events[]"]
    assert set(stripe.EVENTS) <= set(sent) and "invoice.paid" in sent
    assert set(fake.endpoints[ep["id"]]["enabled_events"]) == set(sent)
    assert [c.action for c in ctx.changes] == ["update"]
    assert _creates(fake) == []


def test_disabled_endpoint_is_enabled_again(fake, tmp_path):
    ep = fake.add_endpoint(HOOK, list(stripe.EVENTS), status="disabled")
    _apply(tmp_path, fake, app={"STRIPE_WEBHOOK_SECRET": "whsec_pastedFromDashboard123"})
    assert fake.endpoints[ep["id"]]["status"] == "enabled"


def test_endpoint_found_across_pages(tmp_path):
    with FakeStripe(LIVE, page_cap=2) as fake:
        mine = fake.add_endpoint(HOOK, list(stripe.EVENTS))
        for i in range(5):
            fake.add_endpoint(f"https://other{i}.example/hook", ["charge.failed"])
        _apply(tmp_path, fake, app={"STRIPE_WEBHOOK_SECRET": "whsec_pastedFromDashboard123"})
        pages = fake.requests("GET", r"^/v1/webhook_endpoints$")
        assert len(pages) >= 3
        assert any(p.arg("starting_after") for p in pages)
        assert _creates(fake) == [] and mine["id"] in fake.endpoints


def test_replayed_create_of_a_deleted_endpoint_makes_a_real_one(fake, tmp_path):
    first = _apply(tmp_path, fake)
    old_secret = _provided(first)["STRIPE_WEBHOOK_SECRET"]
    fake.endpoints.clear()  # deleted in the Dashboard within Stripe's 24-hour key window
    ctx = _apply(tmp_path, fake)
    [ep] = fake.endpoints.values()
    assert _provided(ctx)["STRIPE_WEBHOOK_SECRET"] == ep["secret"] != old_secret


def test_secret_of_an_earlier_endpoint_is_detected(fake, tmp_path):
    first = _apply(tmp_path, fake)
    secret = _provided(first)["STRIPE_WEBHOOK_SECRET"]
    fake.endpoints.clear()
    fake.add_endpoint(HOOK, list(stripe.EVENTS))  # recreated by someone else
    ctx = _ctx(tmp_path, fake, app={"STRIPE_WEBHOOK_SECRET": secret}, memory=first.memory)
    ctx.digest_key = first.digest_key  # the engine keeps one digest key per project
    with pytest.raises(Conflict) as exc:
        asyncio.run(stripe.run(ctx))
    assert "earlier endpoint" in exc.value.message
    assert secret not in str(exc.value)


def test_local_site_gets_no_endpoint(fake, tmp_path):
    ctx = _ctx(
        tmp_path, fake, app={"NEXTAUTH_URL": "http://localhost:3000"}, environment="development"
    )
    asyncio.run(stripe.run(ctx))
    assert _creates(fake) == []
    assert ctx.changes[0].action == "skip" and "stripe listen" in ctx.notices[0]
