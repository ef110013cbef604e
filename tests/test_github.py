"""The github step against the loopback FakeGitHub: sealed boxes opened and compared."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from providers.errors import AuthError, BadRequest, NotFound, PermissionDenied, ProviderError
from providers.github import GitHubClient, seal
from tests.fakes.github import FakeGitHub
from tests.stepctx import check_and_run, make_ctx
from wizard.context import StepContext
from wizard.steps import github as step

TOKEN = "github_pat_for_tests_0123456789"
REPO = "dream-pixel/app"

HOSTILE: dict[str, str] = {
    "VERCEL_TOKEN": "vc_pa$$word_with_$HOME_and_${PATH}",
    "VERCEL_ORG_ID": "team_quote\"d 'single' back\\slash",
    "VERCEL_PROJECT_ID": "prj_ünïcødé_秘密_✓",
    "SENTRY_AUTH_TOKEN": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nAbCd+/==\n"
    "-----END PRIVATE KEY-----\n",
    "SENTRY_ORG": "dream-pixel-org\\n-literal",
    "SENTRY_PROJECT": "dream-pixel-web",
    "SNYK_TOKEN": "snyk-\r\n\ttabs-and-crlf-0000",
}
OPERATOR_KEYS = ("VERCEL_TOKEN", "VERCEL_ORG_ID", "VERCEL_PROJECT_ID", "SNYK_TOKEN")


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub() as service:
        service.add_token(TOKEN)
        service.add_repo(REPO, environments=("Production Main",))
        yield service


def gctx(
    fake: FakeGitHub,
    tmp_path: Path,
    values: dict[str, str] = HOSTILE,
    *,
    token: str = TOKEN,
    repo: str = REPO,
    environment: str | None = None,
    **kwargs: Any,
) -> StepContext:
    operator = {k: v for k, v in values.items() if k in OPERATOR_KEYS}
    operator.update(GITHUB_TOKEN=token, GITHUB_REPOSITORY=repo)
    app = {k: v for k, v in values.items() if k not in OPERATOR_KEYS}
    choices = {"github_environment": environment} if environment else {}
    return make_ctx(
        "github",
        tmp_path,
        app=app,
        operator=operator,
        choices=choices,
        env={"GITHUB_API_URL": fake.url},
        **kwargs,
    )


def again(ctx: StepContext, fake: FakeGitHub, tmp_path: Path, **kwargs: Any) -> StepContext:
    values = {**ctx.values.app, **ctx.values.operator}
    nxt = gctx(fake, tmp_path, values, memory=json.loads(json.dumps(ctx.memory)), **kwargs)
    nxt.digest_key = ctx.digest_key
    return nxt


def push(ctx: StepContext) -> None:
    check_and_run(step, ctx)


def actions(ctx: StepContext) -> dict[str, str]:
    assert all(c.target == "github" for c in ctx.changes)
    return {c.name: c.action for c in ctx.changes}


def assert_no_secret_leaks(ctx: StepContext) -> None:
    dumped = json.dumps(
        {
            "changes": [c.to_json() for c in ctx.changes],
            "notices": ctx.notices,
            "memory": ctx.memory,
        },
        ensure_ascii=False,
    )
    for value in HOSTILE.values():
        assert value not in dumped
        assert json.dumps(value, ensure_ascii=False)[1:-1] not in dumped


# -- apply --------------------------------------------------------------------
def test_secrets_open_byte_for_byte(fake: FakeGitHub, tmp_path: Path) -> None:
    ctx = gctx(fake, tmp_path)
    push(ctx)
    for name, value in HOSTILE.items():
        assert fake.secret(REPO, name) == value.encode("utf-8"), name
    assert actions(ctx) == dict.fromkeys(HOSTILE, "add")
    puts = fake.requests("PUT")
    assert len(puts) == len(HOSTILE)
    assert all(r.json()["key_id"] == fake.key_id for r in puts)
    # Nothing in clear on the wire.
    for r in puts:
        assert all(v.encode() not in r.body for v in HOSTILE.values())
    assert_no_secret_leaks(ctx)
    assert set(ctx.memory["keys"]) == set(HOSTILE)


def test_puts_run_concurrently_but_bounded(
    fake: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.delay = 0.2
    ctx = gctx(fake, tmp_path)
    asyncio.run(step.check(ctx))
    # user, repository, public key, secret list at once (a loaded CI box may stagger one)
    assert 3 <= fake.max_in_flight <= 4
    fake.max_in_flight = 0
    asyncio.run(step.run(ctx))
    assert 4 <= fake.max_in_flight <= len(HOSTILE)  # the 7 PUTs side by side, under the bound

    again_ctx = gctx(fake, tmp_path, {k: v + "-2" for k, v in HOSTILE.items()})
    monkeypatch.setattr(step, "PUT_CONCURRENCY", 3)
    asyncio.run(step.check(again_ctx))
    fake.max_in_flight = 0
    asyncio.run(step.run(again_ctx))
    assert 2 <= fake.max_in_flight <= 3  # never past the bound
    assert fake.secret(REPO, "SNYK_TOKEN") == (HOSTILE["SNYK_TOKEN"] + "-2").encode()


def test_second_run_sends_nothing_then_one_update(fake: FakeGitHub, tmp_path: Path) -> None:
    first = gctx(fake, tmp_path)
    push(first)
    plan = again(first, fake, tmp_path, dry_run=True)
    push(plan)
    assert set(actions(plan).values()) == {"unchanged"}
    second = again(first, fake, tmp_path)
    push(second)
    assert len(fake.requests("PUT")) == len(HOSTILE)
    assert_no_secret_leaks(second)

    third = again(second, fake, tmp_path)
    third.values.operator["VERCEL_TOKEN"] = "vc_rotated_token_value_1234"
    push(third)
    assert [k for k, a in actions(third).items() if a != "unchanged"] == ["VERCEL_TOKEN"]
    assert actions(third)["VERCEL_TOKEN"] == "update"
    assert fake.secret(REPO, "VERCEL_TOKEN") == b"vc_rotated_token_value_1234"
    assert len(fake.requests("PUT")) == len(HOSTILE) + 1


def test_existing_secret_without_digest_is_unknown(fake: FakeGitHub, tmp_path: Path) -> None:
    async def preexisting() -> None:
        async with GitHubClient(TOKEN, base_url=fake.url) as client:
            sealed = seal(fake.public_key, "set-by-hand")
            assert await client.put_secret(REPO, "SENTRY_ORG", sealed, fake.key_id) is True
            # The same PUT again is an update: 204.
            assert await client.put_secret(REPO, "SENTRY_ORG", sealed, fake.key_id) is False

    asyncio.run(preexisting())
    plan = gctx(fake, tmp_path, dry_run=True)
    push(plan)
    assert actions(plan)["SENTRY_ORG"] == "unknown"
    assert actions(plan)["SENTRY_PROJECT"] == "add"
    assert len(fake.requests("PUT")) == 2  # the dry run sent nothing
    apply = gctx(fake, tmp_path)
    push(apply)
    assert fake.secret(REPO, "SENTRY_ORG") == HOSTILE["SENTRY_ORG"].encode()


def test_environment_secrets_use_the_encoded_name(fake: FakeGitHub, tmp_path: Path) -> None:
    ctx = gctx(fake, tmp_path, environment="Production Main")
    push(ctx)
    for name, value in HOSTILE.items():
        assert fake.secret(REPO, name, "Production Main") == value.encode()
        assert fake.secret(REPO, name) is None
    assert all("/environments/Production%20Main/secrets/" in r.path for r in fake.requests("PUT"))

    with pytest.raises(NotFound) as err:
        push(gctx(fake, tmp_path, environment="staging"))
    assert "staging" in str(err.value) and "Environments" in str(err.value)


def test_optional_and_missing_values(fake: FakeGitHub, tmp_path: Path) -> None:
    without_optional = {
        k: v for k, v in HOSTILE.items() if k not in ("SNYK_TOKEN", "VERCEL_ORG_ID")
    }
    ctx = gctx(fake, tmp_path, without_optional)
    push(ctx)
    assert set(actions(ctx)) == set(without_optional)
    assert fake.secret(REPO, "SNYK_TOKEN") is None
    assert any("VERCEL_ORG_ID" in n for n in ctx.notices)

    seen = len(fake.requests())
    missing = {k: v for k, v in HOSTILE.items() if k != "SENTRY_AUTH_TOKEN"}
    with pytest.raises(ProviderError) as err:
        push(gctx(fake, tmp_path, missing))
    assert err.value.key == "SENTRY_AUTH_TOKEN" and "SENTRY_AUTH_TOKEN" in str(err.value)
    assert len(fake.requests()) == seen  # failed offline, before any call


# -- tokens and permissions -----------------------------------------------------
def test_bad_token_is_an_auth_error(fake: FakeGitHub, tmp_path: Path) -> None:
    with pytest.raises(AuthError) as err:
        push(gctx(fake, tmp_path, token="ghp_revoked_000000000000"))
    assert str(err.value).startswith("GitHub (GITHUB_TOKEN)")
    assert "GITHUB_TOKEN" in err.value.hint
    assert fake.writes() == []


def test_classic_token_without_repo_scope(fake: FakeGitHub, tmp_path: Path) -> None:
    fake.add_token("ghp_classic_no_repo", scopes=("read:user", "gist"))
    with pytest.raises(PermissionDenied) as err:
        push(gctx(fake, tmp_path, token="ghp_classic_no_repo"))
    assert "repo scope" in str(err.value)
    assert fake.writes() == []


def test_fine_grained_token_without_secrets_permission(fake: FakeGitHub, tmp_path: Path) -> None:
    fake.add_token("github_pat_no_secrets", scopes=None, secrets_write=False)
    with pytest.raises(PermissionDenied) as err:
        push(gctx(fake, tmp_path, token="github_pat_no_secrets"))
    assert err.value.status == 403 and "Secrets: read and write" in str(err.value)

    fake.add_token("github_pat_no_envs", scopes=None, environments_write=False)
    with pytest.raises(PermissionDenied) as env_err:
        push(gctx(fake, tmp_path, token="github_pat_no_envs", environment="Production Main"))
    assert "Environments: read and write" in str(env_err.value)
    assert fake.writes() == []


def test_repository_not_visible(fake: FakeGitHub, tmp_path: Path) -> None:
    fake.add_token("github_pat_other_repo", scopes=None, repos={"someone/else"})
    with pytest.raises(NotFound) as err:
        push(gctx(fake, tmp_path, token="github_pat_other_repo"))
    assert err.value.key == "GITHUB_REPOSITORY" and REPO in str(err.value)


# -- faults ---------------------------------------------------------------------
def test_422_on_one_put_names_the_key_and_keeps_the_others(
    fake: FakeGitHub, tmp_path: Path
) -> None:
    fake.inject(422, body={"message": "Validation Failed"}, method="PUT", path="SENTRY_ORG$")
    ctx = gctx(fake, tmp_path)
    with pytest.raises(BadRequest) as err:
        push(ctx)
    assert err.value.key == "SENTRY_ORG" and "SENTRY_ORG" in str(err.value)
    assert fake.secret(REPO, "SENTRY_ORG") is None
    stored = set(HOSTILE) - {"SENTRY_ORG"}
    assert set(ctx.memory["keys"]) == stored
    assert all(fake.secret(REPO, n) == HOSTILE[n].encode() for n in stored)

    retry = again(ctx, fake, tmp_path)
    push(retry)
    assert [k for k, a in actions(retry).items() if a != "unchanged"] == ["SENTRY_ORG"]


def test_rate_limits_and_502_are_retried(fake: FakeGitHub, tmp_path: Path) -> None:
    fake.inject(429, body={"message": "slow down"}, headers={"retry-after": "0"}, method="PUT")
    fake.inject(
        403,
        body={"message": "API rate limit exceeded"},
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(time.time()))},
        method="GET",
        path="public-key$",
    )
    fake.inject(502, body={"message": "Server Error"}, method="GET", path="/secrets$")
    push(gctx(fake, tmp_path))
    assert all(fake.secret(REPO, n) == v.encode() for n, v in HOSTILE.items())
    assert len(fake.requests("PUT")) == len(HOSTILE) + 1
    assert len(fake.requests("GET", "public-key$")) == 2


def test_run_alone_does_its_own_check(fake: FakeGitHub, tmp_path: Path) -> None:
    ctx = gctx(fake, tmp_path)
    asyncio.run(step.run(ctx))
    assert fake.requests("GET", "^/user$")
    assert fake.secret(REPO, "VERCEL_TOKEN") == HOSTILE["VERCEL_TOKEN"].encode()


def test_plan_accepts_a_value_a_step_will_make(fake: FakeGitHub, tmp_path: Path) -> None:
    values = {k: v for k, v in HOSTILE.items() if k != "SENTRY_AUTH_TOKEN"}
    ctx = gctx(fake, tmp_path, values, dry_run=True)
    ctx.values.pending["SENTRY_AUTH_TOKEN"] = "sentry"
    push(ctx)
    assert actions(ctx)["SENTRY_AUTH_TOKEN"] == "add"
    assert fake.writes() == []


def test_equal_values_of_two_keys_leave_different_digests(fake: FakeGitHub, tmp_path: Path) -> None:
    same = "dream-pixel"
    ctx = gctx(fake, tmp_path, {**HOSTILE, "SENTRY_PROJECT": same, "VERCEL_PROJECT_ID": same})
    push(ctx)
    digests = {name: memo["digest"] for name, memo in ctx.memory["keys"].items()}
    assert digests["SENTRY_PROJECT"] != digests["VERCEL_PROJECT_ID"]


def test_listing_whose_total_count_overstates_ends(fake: FakeGitHub, tmp_path: Path) -> None:
    # The reported loop: total_count above the names returned, and a server (or proxy)
    # that answers every page with the first one. The plan must end, and still see all.
    first = gctx(fake, tmp_path)
    push(first)
    fake.total_count_extra = 5
    fake.pages_ignored = True
    lists_before = len(fake.requests("GET", r"/actions/secrets$"))

    plan = again(first, fake, tmp_path, dry_run=True)

    async def guarded() -> None:
        # Under a guard: on code without the bound this fails instead of hanging.
        async def both() -> None:
            await step.check(plan)
            await step.run(plan)

        await asyncio.wait_for(both(), 20)

    asyncio.run(guarded())
    assert set(actions(plan).values()) == {"unchanged"}
    # One listing: its page and the repeat that brought nothing new.
    assert len(fake.requests("GET", r"/actions/secrets$")) - lists_before == 2
