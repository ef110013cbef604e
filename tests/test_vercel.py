"""The vercel step against the loopback FakeVercel: exact values, one batch, upsert safety."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from providers.errors import AuthError, NotFound, ProviderError
from tests.fakes.vercel import FakeVercel, Project
from tests.stepctx import check_and_run, make_ctx
from wizard.context import StepContext
from wizard.steps import vercel as step

TOKEN = "vercel-token-for-tests-0123456789"
TEAM = "team_dreampixel"

HOSTILE: dict[str, str] = {
    "DATABASE_URL": "postgresql://postgres:pa$$word@db.example.test:6543/postgres?sslmode=require",
    "NEXTAUTH_SECRET": "quote\"double 'single' back\\slash \\n-not-a-newline $HOME ${HOME}",
    "JWT_SECRET": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nAbCd+/==\n"
    "-----END PRIVATE KEY-----\n",
    "RESEND_API_KEY": "re_ünïcødé_秘密_✓_$(whoami)_`id`",
    "STRIPE_SECRET_KEY": "sk_live_51HxYzAbCdEfGhIjKlMnOpQrStUvWxYz",
    "NEXT_PUBLIC_SENTRY_DSN": "https://0123abcd@o11.ingest.sentry.io/4242",
    "SENTRY_ORG": "dream-pixel-org",
    "CUSTOM_FROM_EXAMPLE": "a$b$$c\\$d#not-a-comment",
}


@pytest.fixture
def fake() -> Iterator[FakeVercel]:
    with FakeVercel(TOKEN) as service:
        yield service


def vctx(
    fake: FakeVercel,
    tmp_path: Path,
    app: dict[str, str],
    *,
    team: str | None = None,
    project: str = "dream-pixel",
    token: str = TOKEN,
    **kwargs: Any,
) -> StepContext:
    operator = {"VERCEL_TOKEN": token, "VERCEL_PROJECT_ID": project}
    if team:
        operator["VERCEL_ORG_ID"] = team
    return make_ctx(
        "vercel", tmp_path, app=app, operator=operator, env={"VERCEL_API_URL": fake.url}, **kwargs
    )


def again(ctx: StepContext, tmp_path: Path, fake: FakeVercel, **kwargs: Any) -> StepContext:
    """The next run: same values, the state file's memory and digest key carried over."""
    nxt = vctx(
        fake, tmp_path, dict(ctx.values.app), memory=json.loads(json.dumps(ctx.memory)), **kwargs
    )
    nxt.digest_key = ctx.digest_key
    return nxt


def push(ctx: StepContext) -> None:
    check_and_run(step, ctx)


def actions(ctx: StepContext) -> dict[str, str]:
    assert all(c.target == "vercel" for c in ctx.changes)
    return {c.name: c.action for c in ctx.changes}


def assert_no_secret_leaks(ctx: StepContext, values: dict[str, str]) -> None:
    dumped = json.dumps(
        {
            "changes": [c.to_json() for c in ctx.changes],
            "notices": ctx.notices,
            "memory": ctx.memory,
        },
        ensure_ascii=False,
    )
    for value in values.values():
        assert value not in dumped
        assert json.dumps(value, ensure_ascii=False)[1:-1] not in dumped


def one_entry(project: Project, key: str, target: str = "production") -> Any:
    entries = project.entries(key, target)
    assert len(entries) == 1, f"{key}: {len(entries)} entries for {target}"
    return entries[0]


# -- apply --------------------------------------------------------------------
def test_every_value_lands_exactly_in_one_batch(fake: FakeVercel, tmp_path: Path) -> None:
    project = fake.add_project("dream-pixel")
    ctx = vctx(fake, tmp_path, HOSTILE)
    push(ctx)

    for key, value in HOSTILE.items():
        assert one_entry(project, key).value == value
    assert one_entry(project, "JWT_SECRET").type == "sensitive"
    assert one_entry(project, "NEXT_PUBLIC_SENTRY_DSN").type == "plain"
    assert one_entry(project, "SENTRY_ORG").type == "encrypted"
    assert all(e.target == ["production"] for e in project.envs)

    posts = fake.requests("POST")
    assert len(posts) == 1 and posts[0].arg("upsert") == "true"
    body = posts[0].json()
    assert isinstance(body, list) and {item["key"] for item in body} == set(HOSTILE)
    # Token and project were checked before the write.
    log = [(r.method, r.path) for r in fake.requests()]
    first_post = log.index(("POST", f"/v10/projects/{project.id}/env"))
    assert ("GET", "/v2/user") in log[:first_post]
    assert ("GET", "/v9/projects/dream-pixel") in log[:first_post]
    assert set(actions(ctx).values()) == {"add"}
    assert_no_secret_leaks(ctx, HOSTILE)
    assert set(ctx.memory["keys"]) == set(HOSTILE)


def test_second_run_sends_nothing_and_plan_says_unchanged(fake: FakeVercel, tmp_path: Path) -> None:
    project = fake.add_project("dream-pixel")
    first = vctx(fake, tmp_path, HOSTILE)
    push(first)
    writes_after_first = len(fake.writes())

    plan = again(first, tmp_path, fake, dry_run=True)
    push(plan)
    assert set(actions(plan).values()) == {"unchanged"}
    # Known from the remembered digests: no read of any value, sensitive or not.
    assert fake.requests("GET", r"^/v1/") == []

    second = again(first, tmp_path, fake)
    push(second)
    assert len(fake.writes()) == writes_after_first == 1
    assert set(actions(second).values()) == {"unchanged"}
    assert_no_secret_leaks(second, HOSTILE)
    # Sensitive values are really not readable back through the API.
    env = one_entry(project, "JWT_SECRET")
    got = httpx.get(
        f"{fake.url}/v1/projects/{project.id}/env/{env.id}",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ).json()
    assert got["value"] == "" and got["decrypted"] is False


def test_plan_reads_the_remote(fake: FakeVercel, tmp_path: Path) -> None:
    project = fake.add_project("dream-pixel")
    fake.add_env(project, "DATABASE_URL", HOSTILE["DATABASE_URL"], type="encrypted")
    fake.add_env(project, "SENTRY_ORG", "old-org", type="encrypted")
    fake.add_env(project, "NEXT_PUBLIC_SENTRY_DSN", HOSTILE["NEXT_PUBLIC_SENTRY_DSN"], type="plain")
    fake.add_env(project, "JWT_SECRET", "whatever-was-there", type="sensitive")
    fake.add_env(project, "STRIPE_SECRET_KEY", "sk_live_other", target=["preview"])

    ctx = vctx(fake, tmp_path, HOSTILE, dry_run=True)
    push(ctx)

    got = actions(ctx)
    assert got["DATABASE_URL"] == "unchanged"  # decrypted read says equal
    assert got["SENTRY_ORG"] == "update"
    assert got["NEXT_PUBLIC_SENTRY_DSN"] == "unchanged"  # plain: the list shows it
    assert got["JWT_SECRET"] == "unknown"  # sensitive, never pushed by us
    assert got["STRIPE_SECRET_KEY"] == "add"  # preview's entry does not serve production
    assert got["RESEND_API_KEY"] == "add"
    assert fake.writes() == []
    reads = {r.path.rsplit("/", 1)[-1] for r in fake.requests("GET", r"^/v1/")}
    assert reads == {
        one_entry(project, "DATABASE_URL").id,
        one_entry(project, "SENTRY_ORG").id,
    }
    assert ctx.memory == {}  # a dry run remembers nothing
    assert_no_secret_leaks(ctx, HOSTILE)


def test_apply_then_plan_has_no_add_and_unknown_is_resolved(
    fake: FakeVercel, tmp_path: Path
) -> None:
    project = fake.add_project("dream-pixel")
    fake.add_env(project, "JWT_SECRET", "whatever-was-there", type="sensitive")
    first = vctx(fake, tmp_path, HOSTILE)
    push(first)
    assert actions(first)["JWT_SECRET"] == "unknown"
    assert one_entry(project, "JWT_SECRET").value == HOSTILE["JWT_SECRET"]

    plan = again(first, tmp_path, fake, dry_run=True)
    push(plan)
    assert set(actions(plan).values()) == {"unchanged"}


def test_edited_on_vercel_after_push_is_not_called_unchanged(
    fake: FakeVercel, tmp_path: Path
) -> None:
    project = fake.add_project("dream-pixel")
    app = {"JWT_SECRET": HOSTILE["JWT_SECRET"], "SENTRY_ORG": "dream-pixel-org"}
    first = vctx(fake, tmp_path, app)
    push(first)
    # Someone edits both in the dashboard.
    for key in app:
        env = one_entry(project, key)
        env.value, env.updated_at = "edited", env.updated_at + 1

    plan = again(first, tmp_path, fake, dry_run=True)
    push(plan)
    assert actions(plan) == {"JWT_SECRET": "unknown", "SENTRY_ORG": "update"}


def test_changed_value_is_one_update(fake: FakeVercel, tmp_path: Path) -> None:
    project = fake.add_project("dream-pixel")
    first = vctx(fake, tmp_path, HOSTILE)
    push(first)
    env_id = one_entry(project, "STRIPE_SECRET_KEY").id

    changed = again(first, tmp_path, fake)
    changed.values.set_app("STRIPE_SECRET_KEY", "sk_live_rotated_value_000", "set")
    push(changed)
    assert actions(changed)["STRIPE_SECRET_KEY"] == "update"
    assert [a for a in actions(changed).values() if a != "unchanged"] == ["update"]
    body = fake.requests("POST")[-1].json()
    assert [item["key"] for item in body] == ["STRIPE_SECRET_KEY"]
    entry = one_entry(project, "STRIPE_SECRET_KEY")
    assert entry.value == "sk_live_rotated_value_000" and entry.id == env_id


def test_keys_the_wizard_did_not_write_are_untouched(fake: FakeVercel, tmp_path: Path) -> None:
    project = fake.add_project("dream-pixel")
    theirs = fake.add_env(project, "LEGACY_FLAG", "keep-me", type="encrypted")
    branch = fake.add_env(
        project, "DATABASE_URL", "postgres://branch", target=["preview"], git_branch="feature-x"
    )
    before = [(e.id, e.key, e.value, list(e.target), e.updated_at) for e in (theirs, branch)]
    push(vctx(fake, tmp_path, HOSTILE))
    after = [(e.id, e.key, e.value, list(e.target), e.updated_at) for e in (theirs, branch)]
    assert before == after
    assert fake.requests("DELETE") == [] and fake.requests("PATCH") == []


# -- entries shared by several environments --------------------------------------
def test_shared_entry_is_split_not_duplicated(fake: FakeVercel, tmp_path: Path) -> None:
    project = fake.add_project("dream-pixel")
    shared = fake.add_env(
        project, "STRIPE_SECRET_KEY", "sk_live_shared_old", target=["production", "preview"]
    )
    ctx = vctx(fake, tmp_path, {"STRIPE_SECRET_KEY": "sk_live_new_for_production"})
    push(ctx)

    prod = one_entry(project, "STRIPE_SECRET_KEY", "production")
    prev = one_entry(project, "STRIPE_SECRET_KEY", "preview")
    assert prod.value == "sk_live_new_for_production" and prod.target == ["production"]
    assert prev is shared and prev.value == "sk_live_shared_old" and prev.target == ["preview"]
    assert "preview keeps its value" in ctx.changes[0].detail


def test_shared_entry_with_same_value_is_left_alone(fake: FakeVercel, tmp_path: Path) -> None:
    project = fake.add_project("dream-pixel")
    fake.add_env(project, "SENTRY_ORG", "same-org", target=["production", "preview", "development"])
    ctx = vctx(fake, tmp_path, {"SENTRY_ORG": "same-org"})
    push(ctx)
    assert actions(ctx) == {"SENTRY_ORG": "unchanged"}
    assert fake.writes() == []


def test_development_gets_encrypted_not_sensitive(fake: FakeVercel, tmp_path: Path) -> None:
    project = fake.add_project("dream-pixel")
    push(vctx(fake, tmp_path, {"JWT_SECRET": HOSTILE["JWT_SECRET"]}, environment="development"))
    entry = one_entry(project, "JWT_SECRET", "development")
    assert entry.type == "encrypted" and entry.target == ["development"]


# -- teams and tokens -----------------------------------------------------------
def test_team_project_needs_team_id(fake: FakeVercel, tmp_path: Path) -> None:
    project = fake.add_project("dream-pixel", team_id=TEAM)
    with pytest.raises(NotFound) as err:
        push(vctx(fake, tmp_path, {"SENTRY_ORG": "org"}))
    assert "VERCEL_ORG_ID" in str(err.value) and err.value.service == "Vercel"
    assert fake.writes() == []

    seen = len(fake.requests())
    push(vctx(fake, tmp_path, {"SENTRY_ORG": "org"}, team=TEAM))
    assert one_entry(project, "SENTRY_ORG").value == "org"
    sent = fake.requests()[seen:]
    assert len(sent) == 4
    # Every project call is scoped to the team; GET /v2/user takes no parameters at all.
    [user] = [r for r in sent if r.path == "/v2/user"]
    assert user.query == {}
    assert all(r.arg("teamId") == TEAM for r in sent if r is not user)


def test_rejected_token_names_vercel_and_the_fix(fake: FakeVercel, tmp_path: Path) -> None:
    fake.add_project("dream-pixel")
    with pytest.raises(AuthError) as err:
        push(vctx(fake, tmp_path, HOSTILE, token="expired-token-0000000000"))
    text = str(err.value)
    assert text.startswith("Vercel")
    assert "create a token at https://vercel.com/account/tokens and set VERCEL_TOKEN" in text
    assert fake.writes() == []

    fake.inject(401, body={"error": {"code": "unauthorized", "message": "Unauthorized"}}, times=3)
    with pytest.raises(AuthError):
        push(vctx(fake, tmp_path, HOSTILE))


def test_missing_token_fails_before_any_request(fake: FakeVercel, tmp_path: Path) -> None:
    ctx = vctx(fake, tmp_path, HOSTILE, token="")
    with pytest.raises(ProviderError) as err:
        push(ctx)
    assert err.value.key == "VERCEL_TOKEN"
    assert fake.requests() == []


# -- faults ---------------------------------------------------------------------
def test_lost_post_response_is_retried_without_duplicates(fake: FakeVercel, tmp_path: Path) -> None:
    project = fake.add_project("dream-pixel")
    fake.inject(drop=True, method="POST")
    ctx = vctx(fake, tmp_path, HOSTILE)
    push(ctx)
    assert len(fake.requests("POST")) == 2  # the lost one and its retry
    for key, value in HOSTILE.items():
        assert one_entry(project, key).value == value
    assert len(project.envs) == len(HOSTILE)


def test_429_and_502_are_retried(fake: FakeVercel, tmp_path: Path) -> None:
    project = fake.add_project("dream-pixel")
    fake.inject(502, body={"error": {"code": "bad_gateway"}}, method="GET", path=r"/env$")
    fake.inject(
        429,
        body={"error": {"code": "rate_limited", "message": "slow down"}},
        headers={"retry-after": "0"},
        method="POST",
    )
    push(vctx(fake, tmp_path, HOSTILE))
    assert len(fake.requests("POST")) == 2
    assert len(fake.requests("GET", r"/env$")) == 2
    assert one_entry(project, "JWT_SECRET").value == HOSTILE["JWT_SECRET"]


def test_failed_items_of_a_201_are_reported_by_key(fake: FakeVercel, tmp_path: Path) -> None:
    project = fake.add_project("dream-pixel")
    app = dict(HOSTILE, TZ="Europe/Paris-secret-tz")
    ctx = vctx(fake, tmp_path, app)
    with pytest.raises(ProviderError) as err:
        push(ctx)
    assert "TZ" in str(err.value) and err.value.key == "TZ"
    assert "Europe/Paris-secret-tz" not in str(err.value)
    # The others were written and remembered, TZ was not.
    for key, value in HOSTILE.items():
        assert one_entry(project, key).value == value
    assert set(ctx.memory["keys"]) == set(HOSTILE)
    assert project.entries("TZ") == []


# -- the fake itself behaves like Vercel ---------------------------------------
def test_fake_upsert_vs_env_conflict(fake: FakeVercel) -> None:
    project = fake.add_project("dream-pixel")
    existing = fake.add_env(project, "KEY_A", "one", target=["production"])
    shared = fake.add_env(project, "KEY_B", "two", target=["production", "preview"])
    url = f"{fake.url}/v10/projects/{project.id}/env"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    item = {"key": "KEY_A", "value": "uno", "type": "encrypted", "target": ["production"]}

    plain = httpx.post(url, json=[item], headers=auth)
    assert plain.status_code == 201 and plain.json()["failed"][0]["error"]["code"] == "ENV_CONFLICT"
    single = httpx.post(url, json=item, headers=auth)
    assert single.status_code == 400 and single.json()["error"]["code"] == "ENV_CONFLICT"

    upserted = httpx.post(url, params={"upsert": "true"}, json=[item], headers=auth).json()
    assert upserted["failed"] == [] and upserted["created"][0]["id"] == existing.id
    assert existing.value == "uno" and len(project.entries("KEY_A")) == 1

    partial = {"key": "KEY_B", "value": "x", "type": "encrypted", "target": ["production"]}
    answer = httpx.post(url, params={"upsert": "true"}, json=[partial], headers=auth).json()
    assert answer["failed"][0]["error"]["code"] == "ENV_CONFLICT" and shared.value == "two"

    sensitive_dev = dict(item, key="KEY_C", type="sensitive", target=["development"])
    answer = httpx.post(url, params={"upsert": "true"}, json=[sensitive_dev], headers=auth).json()
    assert answer["failed"] and project.entries("KEY_C") == []


def test_plan_shows_values_later_steps_will_make(fake: FakeVercel, tmp_path: Path) -> None:
    project = fake.add_project("dream-pixel")
    fake.add_env(project, "AWS_ACCESS_KEY_ID", "AKIAOLDOLDOLDOLD", type="sensitive")
    ctx = vctx(fake, tmp_path, {"SENTRY_ORG": "org"}, dry_run=True)
    ctx.values.pending.update(STRIPE_WEBHOOK_SECRET="stripe", AWS_ACCESS_KEY_ID="storage")
    push(ctx)
    assert actions(ctx) == {
        "SENTRY_ORG": "add",
        "STRIPE_WEBHOOK_SECRET": "add",
        "AWS_ACCESS_KEY_ID": "unknown",
    }
    assert fake.writes() == []


def test_run_without_check_checks_first(fake: FakeVercel, tmp_path: Path) -> None:
    project = fake.add_project("dream-pixel")
    ctx = vctx(fake, tmp_path, {"SENTRY_ORG": "org"})
    assert ctx.scratch  # make_ctx already put something there: not our check's data
    asyncio.run(step.run(ctx))
    assert fake.requests("GET", "^/v2/user$")
    assert one_entry(project, "SENTRY_ORG").value == "org"


def test_checks_run_side_by_side(fake: FakeVercel, tmp_path: Path) -> None:
    fake.add_project("dream-pixel")
    fake.delay = 0.2
    asyncio.run(step.check(vctx(fake, tmp_path, {"SENTRY_ORG": "org"})))
    assert fake.max_in_flight == 3  # user, project and env list at once


# -- a success is checked, not assumed ------------------------------------------------
def test_empty_upsert_answer_is_confirmed_by_reading_back(fake: FakeVercel, tmp_path: Path) -> None:
    project = fake.add_project("dream-pixel")
    fake.upsert_answer = "empty"  # 201 {}: stored, but nothing says so
    ctx = vctx(fake, tmp_path, HOSTILE)
    push(ctx)
    for key, value in HOSTILE.items():
        assert one_entry(project, key).value == value
    # One read-back after the POST proved every key.
    log = [(r.method, r.path) for r in fake.requests()]
    post = log.index(("POST", f"/v10/projects/{project.id}/env"))
    assert log[post + 1 :] == [("GET", f"/v10/projects/{project.id}/env")]
    assert set(ctx.memory["keys"]) == set(HOSTILE)
    assert all(m["id"] for m in ctx.memory["keys"].values())


def test_empty_upsert_answer_that_stored_nothing_is_a_failure(
    fake: FakeVercel, tmp_path: Path
) -> None:
    fake.add_project("dream-pixel")
    fake.upsert_answer = "empty"
    fake.dropped = set(HOSTILE)
    ctx = vctx(fake, tmp_path, HOSTILE)
    with pytest.raises(ProviderError) as err:
        push(ctx)
    text = str(err.value)
    assert text.startswith("Vercel")
    assert f"{len(HOSTILE)} of {len(HOSTILE)} variables were not confirmed" in text
    assert all(key in text for key in HOSTILE) and "run again" in text
    assert "saved" not in text
    assert ctx.memory["keys"] == {}
    assert_no_secret_leaks(ctx, HOSTILE)


def test_partial_created_list_names_the_keys_that_did_not_land(
    fake: FakeVercel, tmp_path: Path
) -> None:
    project = fake.add_project("dream-pixel")
    # An existing entry whose update is silently dropped, and a new key never stored.
    old = fake.add_env(project, "SENTRY_ORG", "old-org", type="encrypted")
    fake.upsert_answer = "partial"
    fake.dropped = {"SENTRY_ORG", "JWT_SECRET"}
    ctx = vctx(fake, tmp_path, HOSTILE)
    with pytest.raises(ProviderError) as err:
        push(ctx)
    text = str(err.value)
    assert "2 of 8 variables were not confirmed" in text
    assert "SENTRY_ORG" in text and "JWT_SECRET" in text
    assert set((err.value.key or "").split(", ")) == {"SENTRY_ORG", "JWT_SECRET"}
    assert "the others were saved" in text
    assert all(v not in text for v in HOSTILE.values())
    # What landed is remembered, what did not is not.
    assert set(ctx.memory["keys"]) == set(HOSTILE) - {"SENTRY_ORG", "JWT_SECRET"}
    assert one_entry(project, "SENTRY_ORG") is old and old.value == "old-org"

    # The next plan does not call the missing ones unchanged; a clean run fixes them.
    fake.dropped = set()
    fake.upsert_answer = "full"
    retry = again(ctx, tmp_path, fake)
    push(retry)
    assert {k for k, a in actions(retry).items() if a != "unchanged"} == {
        "SENTRY_ORG",
        "JWT_SECRET",
    }
    assert one_entry(project, "JWT_SECRET").value == HOSTILE["JWT_SECRET"]


def test_partial_created_list_of_a_full_store_is_a_success(
    fake: FakeVercel, tmp_path: Path
) -> None:
    fake.add_project("dream-pixel")
    fake.upsert_answer = "partial"
    ctx = vctx(fake, tmp_path, HOSTILE)
    push(ctx)
    assert set(ctx.memory["keys"]) == set(HOSTILE)
    assert len(fake.requests("GET", r"/v10/projects/.*/env$")) == 2  # the check, the read-back


def test_read_back_that_fails_leaves_every_unsure_key_unconfirmed(
    fake: FakeVercel, tmp_path: Path
) -> None:
    fake.add_project("dream-pixel")
    fake.upsert_answer = "empty"
    ctx = vctx(fake, tmp_path, HOSTILE)

    async def both() -> None:
        await step.check(ctx)
        # Only the read-back after the POST meets this.
        gone = {"error": {"code": "not_found", "message": "gone"}}
        fake.inject(404, body=gone, method="GET", path=r"/env$")
        await step.run(ctx)

    with pytest.raises(ProviderError) as err:
        asyncio.run(both())
    text = str(err.value)
    assert f"{len(HOSTILE)} of {len(HOSTILE)} variables were not confirmed" in text
    assert "reading them back failed" in text and "gone" in text
    assert ctx.memory["keys"] == {}
