"""Step "cloudflare" against a loopback fake of Cloudflare's v4 API."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from providers.cloudflare import CACHE_PHASE, CUSTOM_WAF_PHASE, Rule, upsert_rule
from providers.errors import AuthError, BadRequest, NotFound, PermissionDenied, RateLimited
from tests.fakes.cloudflare import FakeCloudflare
from tests.stepctx import make_ctx
from wizard.context import StepContext
from wizard.steps import cloudflare

TOKEN = "cf-token-0123456789abcdefghijklmnopqrstuv"
SITE = "https://app.dreampixel.app"

# Rule ids are Cloudflare's: 32 hex digits.
USER_ID = "2c0fc9fa937b11eaa1b71c4d701ab86e"
OURS_ID = "3a03d665bac047339bb530ecb439a90d"
USER_RULE = {
    "id": USER_ID,
    "ref": "user-rule-1",
    "action": "block",
    "expression": '(ip.src.country eq "XX")',
    "description": "the owner's own rule",
    "enabled": True,
}


@pytest.fixture
def cf():
    with FakeCloudflare(TOKEN) as fake:
        yield fake


def _ctx(
    tmp_path: Path, cf: FakeCloudflare, *, operator: dict[str, str] | None = None, **kw: Any
) -> StepContext:
    ops = {"CLOUDFLARE_API_TOKEN": TOKEN}
    ops.update(operator or {})
    return make_ctx(
        "cloudflare",
        tmp_path,
        app={"NEXTAUTH_URL": SITE},
        operator=ops,
        env={"CLOUDFLARE_API_URL": cf.url},
        **kw,
    )


def _apply(tmp_path: Path, cf: FakeCloudflare, **kw: Any) -> StepContext:
    ctx = _ctx(tmp_path, cf, **kw)
    asyncio.run(cloudflare.check(ctx))
    asyncio.run(cloudflare.run(ctx))
    return ctx


def _mutations(cf: FakeCloudflare) -> list:
    return [r for r in cf.log if r.method in ("PATCH", "PUT", "POST", "DELETE")]


def _no_secret(ctx: StepContext) -> None:
    assert TOKEN not in repr(ctx.changes) + repr(ctx.notices) + repr(ctx.memory)


# -- token and zone --------------------------------------------------------------------


def test_zone_found_by_stripping_labels_of_the_site_host(cf, tmp_path):
    zone_id = cf.add_zone("dreampixel.app")
    ctx = _ctx(tmp_path, cf)
    asyncio.run(cloudflare.check(ctx))
    names = [r.arg("name") for r in cf.requests("GET", r"^/zones$")]
    assert names == ["app.dreampixel.app", "dreampixel.app"]
    assert ctx.scratch[cloudflare.ZONE].id == zone_id
    assert (
        cf.requests("GET", "/user/tokens/verify")[0].headers["authorization"] == f"Bearer {TOKEN}"
    )


def test_operator_zone_wins(cf, tmp_path):
    cf.add_zone("dreampixel.app")
    other = cf.add_zone("dreampixel.net")
    ctx = _ctx(tmp_path, cf, operator={"CLOUDFLARE_ZONE": "dreampixel.net"})
    asyncio.run(cloudflare.check(ctx))
    assert ctx.scratch[cloudflare.ZONE].id == other


def test_unknown_operator_zone_names_the_key(cf, tmp_path):
    ctx = _ctx(tmp_path, cf, operator={"CLOUDFLARE_ZONE": "nope.example"})
    with pytest.raises(NotFound) as exc:
        asyncio.run(cloudflare.check(ctx))
    assert exc.value.key == "CLOUDFLARE_ZONE"


def test_no_zone_for_the_site(cf, tmp_path):
    ctx = _ctx(tmp_path, cf)
    with pytest.raises(NotFound) as exc:
        asyncio.run(cloudflare.check(ctx))
    assert exc.value.key == "CLOUDFLARE_ZONE" and "CLOUDFLARE_ZONE" in exc.value.hint


def test_bad_token_is_401_auth_error(cf, tmp_path):
    cf.add_zone("dreampixel.app")
    ctx = _ctx(tmp_path, cf, operator={"CLOUDFLARE_API_TOKEN": "wrong-token-value-123"})
    with pytest.raises(AuthError) as exc:
        asyncio.run(cloudflare.check(ctx))
    assert exc.value.key == "CLOUDFLARE_API_TOKEN" and exc.value.status == 401
    assert "Invalid API Token" in str(exc.value)
    assert "wrong-token-value-123" not in str(exc.value)


def test_malformed_token_400_is_an_auth_error(cf, tmp_path):
    ctx = _ctx(tmp_path, cf, operator={"CLOUDFLARE_API_TOKEN": "has space"})
    with pytest.raises(AuthError) as exc:
        asyncio.run(cloudflare.check(ctx))
    assert exc.value.key == "CLOUDFLARE_API_TOKEN"


def test_expired_token(cf, tmp_path):
    cf.token_status = "expired"
    ctx = _ctx(tmp_path, cf)
    with pytest.raises(AuthError) as exc:
        asyncio.run(cloudflare.check(ctx))
    assert "expired" in str(exc.value)


# -- apply ---------------------------------------------------------------------------


def test_apply_sets_settings_adds_rules_and_keeps_the_zones_own(cf, tmp_path):
    zone = cf.add_zone("dreampixel.app")
    cf.settings[zone]["brotli"] = "on"  # already right: must not be patched
    cf.add_rules(zone, CUSTOM_WAF_PHASE, [USER_RULE])
    ctx = _apply(tmp_path, cf)

    settings = cf.settings[zone]
    assert (settings["ssl"], settings["always_use_https"], settings["brotli"]) == (
        "strict",
        "on",
        "on",
    )
    patched = [r.path.rsplit("/", 1)[1] for r in cf.requests("PATCH")]
    assert patched == ["ssl", "always_use_https"]
    assert cf.requests("PATCH", "ssl")[0].json() == {"value": "strict"}

    waf = cf.rules(zone, CUSTOM_WAF_PHASE)
    assert [r["ref"] for r in waf] == ["user-rule-1", "dream_pixel_block_probes"]
    assert waf[0]["id"] == USER_ID and waf[0]["expression"] == USER_RULE["expression"]
    ours = waf[1]
    assert ours["action"] == "block"
    assert (
        "cf.threat_score" not in ours["expression"] and "bot_management" not in ours["expression"]
    )
    assert '"/wp-admin"' in ours["expression"] and '"/api/' not in ours["expression"]

    [cache] = cf.rules(zone, CACHE_PHASE)
    assert cache["action"] == "set_cache_settings"
    assert cache["action_parameters"] == {"cache": True, "edge_ttl": {"mode": "respect_origin"}}
    assert "/_next/static/" in cache["expression"]

    actions = {c.name.split(" ", 1)[1]: c.action for c in ctx.changes}
    assert actions["setting ssl"] == "update" and actions["setting brotli"] == "unchanged"
    assert sum(c.action == "create" for c in ctx.changes) == 2
    assert any("threat_score" in n and "never match" in n for n in ctx.notices)
    assert any("Cache Everything" in n for n in ctx.notices)
    assert ctx.memory["zone_id"] == zone
    _no_secret(ctx)


def test_rerun_changes_nothing_and_never_duplicates_the_rule(cf, tmp_path):
    zone = cf.add_zone("dreampixel.app")
    cf.add_rules(zone, CUSTOM_WAF_PHASE, [USER_RULE])
    _apply(tmp_path, cf)
    before = len(_mutations(cf))
    again = _apply(tmp_path, cf)
    assert len(_mutations(cf)) == before
    assert {c.action for c in again.changes} == {"unchanged"}
    refs = [r["ref"] for r in cf.rules(zone, CUSTOM_WAF_PHASE)]
    assert refs.count("dream_pixel_block_probes") == 1 and len(refs) == 2


def test_a_changed_wizard_rule_is_updated_in_place(cf, tmp_path):
    zone = cf.add_zone("dreampixel.app")
    edited = {
        "id": OURS_ID,
        "ref": "dream_pixel_block_probes",
        "action": "log",
        "expression": '(http.request.uri.path contains ".php")',
        "description": "dream-pixel: block vulnerability-scanner probes",
    }
    cf.add_rules(zone, CUSTOM_WAF_PHASE, [edited, USER_RULE])
    ctx = _apply(tmp_path, cf)
    waf = cf.rules(zone, CUSTOM_WAF_PHASE)
    assert [r["id"] for r in waf] == [OURS_ID, USER_ID]
    assert waf[0]["action"] == "block"
    assert any(c.action == "update" and "WAF" in c.name for c in ctx.changes)


def test_dry_run_reads_only_and_reports_every_change(cf, tmp_path):
    cf.add_zone("dreampixel.app")
    ctx = _ctx(tmp_path, cf, dry_run=True)
    asyncio.run(cloudflare.run(ctx))
    assert _mutations(cf) == []
    assert [c.action for c in ctx.changes] == ["update", "update", "update", "create", "create"]
    assert ctx.memory == {}


def test_the_guides_dead_rule_on_the_zone_is_pointed_out(cf, tmp_path):
    zone = cf.add_zone("dreampixel.app")
    dead = dict(
        USER_RULE,
        id="de" * 16,
        ref="dead",
        description="guide rule",
        action="challenge",
        expression="(cf.threat_score gt 50) or (cf.bot_management.score lt 30)",
    )
    cf.add_rules(zone, CUSTOM_WAF_PHASE, [dead])
    ctx = _ctx(tmp_path, cf, dry_run=True)
    asyncio.run(cloudflare.run(ctx))
    assert any("'guide rule'" in n and "left in place" in n for n in ctx.notices)


def test_pending_zone_tells_about_nameservers(cf, tmp_path):
    cf.add_zone("dreampixel.app", status="pending")
    ctx = _ctx(tmp_path, cf, dry_run=True)
    asyncio.run(cloudflare.run(ctx))
    assert any("ada.ns.cloudflare.com" in n for n in ctx.notices)


def test_setting_not_editable_is_skipped(cf, tmp_path):
    zone = cf.add_zone("dreampixel.app")
    cf.not_editable.add("brotli")
    ctx = _apply(tmp_path, cf)
    assert cf.settings[zone]["brotli"] == "off"
    assert any(c.action == "skip" and "brotli" in c.name for c in ctx.changes)


def test_token_without_edit_rights_is_403_naming_the_permission(cf, tmp_path):
    cf.add_zone("dreampixel.app")
    cf.read_only = True
    ctx = _ctx(tmp_path, cf)
    with pytest.raises(PermissionDenied) as exc:
        asyncio.run(cloudflare.run(ctx))
    assert exc.value.key == "CLOUDFLARE_API_TOKEN" and "Zone Settings:Edit" in exc.value.hint


def test_rule_limit_reached_is_explained(cf, tmp_path):
    zone = cf.add_zone("dreampixel.app")
    cf.add_rules(
        zone,
        CUSTOM_WAF_PHASE,
        [dict(USER_RULE, id=f"{i:032x}", ref=f"r{i}", description=f"rule {i}") for i in range(5)],
    )
    ctx = _ctx(tmp_path, cf)
    with pytest.raises(BadRequest) as exc:
        asyncio.run(cloudflare.run(ctx))
    assert "free a slot" in exc.value.hint
    assert len(cf.rules(zone, CUSTOM_WAF_PHASE)) == 5


def test_429_then_success(cf, tmp_path):
    zone = cf.add_zone("dreampixel.app")
    cf.inject(
        429,
        body={
            "success": False,
            "errors": [
                {"code": 971, "message": "Please wait and consider throttling your request speed"}
            ],
            "messages": [],
            "result": None,
        },
        headers={"Retry-After": "0"},
        method="PUT",
    )
    _apply(tmp_path, cf)
    assert len(cf.rules(zone, CUSTOM_WAF_PHASE)) == 1


def test_upsert_rule_is_pure_and_matches_by_description():
    mine = Rule(action="block", expression="x", description="d", ref="r")
    theirs = Rule.from_api(dict(USER_RULE))
    legacy = Rule.from_api(
        {"id": "old", "ref": "old", "action": "log", "expression": "y", "description": "d"}
    )
    rules, action = upsert_rule([theirs, legacy], mine)
    assert action == "update" and [r.id for r in rules] == [USER_ID, "old"]
    assert rules[1].ref == "r" and rules[0] is theirs
    assert upsert_rule(rules, mine)[1] == "unchanged"


def test_five_minute_rate_limit_is_a_clean_error_not_a_hang(cf, tmp_path):
    cf.inject(
        429,
        body={
            "success": False,
            "errors": [{"code": 10000, "message": "Rate limited"}],
            "result": None,
        },
        headers={"Retry-After": "300"},
    )
    ctx = _ctx(tmp_path, cf)
    with pytest.raises(RateLimited) as exc:
        asyncio.run(cloudflare.check(ctx))
    assert "run again after" in exc.value.hint
    assert len(cf.log) == 1
