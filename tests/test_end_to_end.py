"""A new user's whole session: `dream-pixel-setup apply` of every step through the real CLI,
against every stand-in at once (tests/e2e_world.py), then read back from each service."""

from __future__ import annotations

import fnmatch
import json
import stat
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

pytest.register_assert_rewrite("tests.e2e_world")

from tests.e2e_world import (  # noqa: E402
    EXTRA_KEY,
    EXTRA_VALUE,
    HOOK_URL,
    IAM_USER,
    OPERATOR_SECRETS,
    SENTRY_ORG,
    SENTRY_PROJECT,
    SENTRY_TOKEN,
    SNYK_TOKEN,
    TEAM,
    VERCEL_PROJECT,
    VERCEL_TOKEN,
    ZONE,
    World,
    assert_absent,
    walk_files,
)
from tests.fakes.base import FakeService  # noqa: E402

pytest_plugins = ("tests.pg_server", "tests.e2e_world")

SUBSCRIPTION_EVENTS = {
    f"customer.subscription.{e}"
    for e in (
        "created",
        "updated",
        "deleted",
        "paused",
        "resumed",
        "trial_will_end",
        "pending_update_applied",
        "pending_update_expired",
    )
}
WEBHOOK_EVENTS = {"payment_intent.succeeded", "charge.failed", *SUBSCRIPTION_EVENTS}
GUIDE_RULES = {
    "DeleteUnreferencedImages": {
        "Status": "Enabled",
        "Filter": {"Prefix": "uploads/"},
        "Expiration": {"Days": 1},
    },
    "ArchiveOldImages": {
        "Status": "Enabled",
        "Filter": {"Prefix": "generations/"},
        "Transitions": [{"Days": 90, "StorageClass": "GLACIER"}],
    },
}
BLOCK_ALL = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
GITHUB_SECRETS = (
    "VERCEL_TOKEN",
    "VERCEL_ORG_ID",
    "VERCEL_PROJECT_ID",
    "SENTRY_AUTH_TOKEN",
    "SENTRY_ORG",
    "SENTRY_PROJECT",
    "SNYK_TOKEN",
)
STEP_IDS = [
    "prerequisites",
    "database",
    "redis",
    "storage",
    "cloudflare",
    "sentry",
    "stripe",
    "resend",
    "secrets",
    "env-file",
    "vercel",
    "github",
    "migrate",
    "deploy",
    "domain",
    "monitoring",
    "safeguards",
]
PENDING_ACTIONS = {"add", "create", "update", "remove", "unknown"}


def refuse_children(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """From now on in this test, starting a child process fails (and is recorded): the CLI
    must start none, so no secret can travel in a child's argv or environment."""
    attempts: list[list[str]] = []

    class Refused(subprocess.Popen):  # type: ignore[type-arg]
        def __init__(self, args: Any, *a: Any, **kw: Any) -> None:
            attempts.append([str(x) for x in (args if isinstance(args, list) else [args])])
            raise AssertionError("the wizard started a child process")

    monkeypatch.setattr(subprocess, "Popen", Refused)
    monkeypatch.setattr("os.posix_spawn", Refused, raising=False)
    monkeypatch.setattr("os.system", Refused)
    return attempts


def arrivals(fake: FakeService) -> list[tuple[str, str, float, int]]:
    """(method, path, monotonic time, injected status or 0) of each request from now on."""
    seen: list[tuple[str, str, float, int]] = []
    take = fake._take_fault

    def recording(method: str, path: str) -> Any:
        fault = take(method, path)
        seen.append((method, path, time.monotonic(), fault.status if fault else 0))
        return fault

    fake._take_fault = recording  # type: ignore[method-assign]
    return seen


def retried_after(seen: list[tuple[str, str, float, int]], status: int) -> float:
    """Seconds between the request refused with ``status`` and its retry."""
    [(method, path, refused_at)] = [(m, p, t) for m, p, t, f in seen if f == status]
    later = [t for m, p, t, f in seen if (m, p) == (method, path) and t > refused_at]
    return later[0] - refused_at


def status_of(world: World, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    code, out, err = world.cli(monkeypatch, "status", "--json", inputs=False)
    assert code == 0, err
    data = json.loads(out)
    assert data["environment"] == "production"
    return {s["id"]: s["status"] for s in data["steps"]}


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("error:")]


def write_counts(world: World) -> dict[str, int]:
    return {name: len(reqs) for name, reqs in world.writes().items()}


def generated_and_provisioned(world: World) -> list[str]:
    env = world.env_values()
    return [
        env[k]
        for k in (
            "NEXTAUTH_SECRET",
            "JWT_SECRET",
            "STRIPE_WEBHOOK_SECRET",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
        )
    ]


def every_secret(world: World) -> list[str]:
    """Every secret value of the session: operator, app, generated and provisioned."""
    from urllib.parse import quote

    found = [*OPERATOR_SECRETS, *world.app_secrets().values(), world.db.password]
    found.append(quote(world.db.password, safe=""))
    found.append(world.db.password.split("$$", 1)[1])  # the part after the literal $$
    if world.env_path.exists():
        found += generated_and_provisioned(world)
    return found


# -- 1. the whole apply --------------------------------------------------------------------


def test_full_apply_configures_every_service(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    no_children = refuse_children(monkeypatch)
    code, out, err = world.cli(monkeypatch, "apply", "--yes")
    assert code == 0, err
    assert "Traceback" not in out + err and not error_lines(err)
    assert no_children == []
    env = world.env_values()

    # Every input arrived byte for byte (the hostile ones too).
    for key, value in {**world.app_secrets(), **world.app_public()}.items():
        assert env[key] == value, key
    assert "%24%23%25" in env["DATABASE_URL"] and "pa$$" in env["DATABASE_URL"]
    assert env[EXTRA_KEY] == EXTRA_VALUE

    # Storage: the bucket with versioning, the guide's two rules, public access blocked.
    s3 = world.aws.s3
    assert world.aws.buckets() == [world.bucket]
    assert s3.get_bucket_versioning(Bucket=world.bucket)["Status"] == "Enabled"
    rules = s3.get_bucket_lifecycle_configuration(Bucket=world.bucket)["Rules"]
    assert {r["ID"]: {k: v for k, v in r.items() if k != "ID"} for r in rules} == GUIDE_RULES
    block = s3.get_public_access_block(Bucket=world.bucket)["PublicAccessBlockConfiguration"]
    assert block == BLOCK_ALL
    # An IAM user holding exactly the bucket-scoped policy, and ONE key, in the env file.
    iam = world.aws.iam
    assert world.aws.users() == [IAM_USER]
    assert iam.list_user_policies(UserName=IAM_USER)["PolicyNames"] == ["dream-pixel-storage"]
    assert iam.list_attached_user_policies(UserName=IAM_USER)["AttachedPolicies"] == []
    assert iam.list_groups_for_user(UserName=IAM_USER)["Groups"] == []
    doc = iam.get_user_policy(UserName=IAM_USER, PolicyName="dream-pixel-storage")
    [statement] = doc["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert sorted(statement["Action"]) == sorted(
        ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"]
    )
    assert sorted(statement["Resource"]) == [
        f"arn:aws:s3:::{world.bucket}",
        f"arn:aws:s3:::{world.bucket}/*",
    ]
    assert world.aws.access_keys() == [env["AWS_ACCESS_KEY_ID"]]
    assert world.aws.secret_of(env["AWS_ACCESS_KEY_ID"]) == env["AWS_SECRET_ACCESS_KEY"]
    assert env["AWS_REGION"] == "us-east-1"

    # Sentry: both DSNs from the project's active key.
    assert env["SENTRY_DSN"] == env["NEXT_PUBLIC_SENTRY_DSN"] == world.sentry_dsn

    # Stripe: one endpoint, the events spelled out, its secret in the env file.
    [endpoint] = world.stripe.endpoints.values()
    assert endpoint["url"] == HOOK_URL and endpoint["status"] == "enabled"
    assert set(endpoint["enabled_events"]) == WEBHOOK_EVENTS
    assert len(endpoint["enabled_events"]) == len(WEBHOOK_EVENTS)
    assert env["STRIPE_WEBHOOK_SECRET"] == endpoint["secret"]

    # Cloudflare: the settings, one cache rule and one WAF rule that can match.
    assert {
        k: world.cloudflare.settings[world.zone_id][k]
        for k in ("ssl", "brotli", "always_use_https")
    } == {"ssl": "strict", "brotli": "on", "always_use_https": "on"}
    [waf] = world.cloudflare.rules(world.zone_id, "http_request_firewall_custom")
    assert waf["action"] == "block" and waf["enabled"]
    assert "cf.threat_score" not in waf["expression"]
    assert "cf.bot_management" not in waf["expression"]
    [cache] = world.cloudflare.rules(world.zone_id, "http_request_cache_settings")
    assert cache["action"] == "set_cache_settings" and cache["action_parameters"]["cache"]
    assert "/_next/static/" in cache["expression"]

    # Vercel: every key of the env file, once, for production only, the very same value.
    on_vercel = world.vercel_values()
    assert set(on_vercel) == set(env)
    for key, value in env.items():
        assert on_vercel[key] == [value], key
    assert all(e.target == ["production"] for e in world.vercel_project.envs)
    assert {e.type for e in world.vercel_project.envs if e.key == "STRIPE_SECRET_KEY"} == {
        "sensitive"
    }
    env_writes = [w for w in world.vercel.writes() if w.path.endswith("/env")]
    assert len(env_writes) == 1  # one batch
    # Then one production deployment, after the push, and the domain with www.
    deployments = [w for w in world.vercel.writes() if w.path == "/v13/deployments"]
    assert len(deployments) == 1
    assert world.vercel.writes().index(env_writes[0]) < world.vercel.writes().index(deployments[0])

    # GitHub: the 7 secrets, sealed, opening to exactly the right values.
    expected = {
        "VERCEL_TOKEN": VERCEL_TOKEN,
        "VERCEL_ORG_ID": TEAM,
        "VERCEL_PROJECT_ID": VERCEL_PROJECT,
        "SENTRY_AUTH_TOKEN": SENTRY_TOKEN,
        "SENTRY_ORG": SENTRY_ORG,
        "SENTRY_PROJECT": SENTRY_PROJECT,
        "SNYK_TOKEN": SNYK_TOKEN,
    }
    assert set(world.github.repos["dream-pixel/app"].secrets) == set(GITHUB_SECRETS)
    for name, value in expected.items():
        assert world.github_secret(name) == value, name

    # Generated secrets: 32 random bytes each, in hex, not equal.
    for key in ("NEXTAUTH_SECRET", "JWT_SECRET"):
        assert len(env[key]) == 64 and int(env[key], 16) >= 0
    assert env["NEXTAUTH_SECRET"] != env["JWT_SECRET"]

    # The env file: 0600, git-ignored, the user's .gitignore kept.
    assert stat.S_IMODE(world.env_path.stat().st_mode) == 0o600
    ignore = (world.project_dir / ".gitignore").read_text().splitlines()
    assert ignore[:2] == ["node_modules/", ".next/"]
    patterns = [p for p in ignore if p and not p.startswith(("#", "!"))]
    assert any(fnmatch.fnmatch(".env.production", p) for p in patterns)
    assert ".dream-pixel/" in ignore
    assert "!.env.example" in ignore

    assert status_of(world, monkeypatch) == dict.fromkeys(STEP_IDS, "done")
    assert no_children == []


# -- 2. the second apply -------------------------------------------------------------------


def test_second_apply_creates_nothing_twice_and_keeps_every_secret(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = world.cli(monkeypatch, "apply", "--yes")
    assert code == 0, err
    first = world.env_values()
    endpoints = dict(world.stripe.endpoints)
    keys = world.aws.access_keys()
    vercel_ids = sorted((e.key, e.id, e.updated_at) for e in world.vercel_project.envs)
    github_updated = {
        n: s.updated_at for n, s in world.github.repos["dream-pixel/app"].secrets.items()
    }
    cf_versions = {
        phase: world.cloudflare.rulesets[(world.zone_id, phase)]["version"]
        for phase in ("http_request_firewall_custom", "http_request_cache_settings")
    }
    before = write_counts(world)

    code, _, err = world.cli(monkeypatch, "apply", "--yes")
    assert code == 0, err
    assert write_counts(world) == before, {
        k: [(r.method, r.path) for r in v[before[k] :]] for k, v in world.writes().items()
    }
    assert world.env_values() == first
    assert world.stripe.endpoints.keys() == endpoints.keys()
    assert world.aws.access_keys() == keys
    assert sorted((e.key, e.id, e.updated_at) for e in world.vercel_project.envs) == vercel_ids
    assert {
        n: s.updated_at for n, s in world.github.repos["dream-pixel/app"].secrets.items()
    } == github_updated
    assert {
        phase: world.cloudflare.rulesets[(world.zone_id, phase)]["version"]
        for phase in ("http_request_firewall_custom", "http_request_cache_settings")
    } == cf_versions

    code, out, err = world.cli(monkeypatch, "plan", "--json", "--detailed-exitcode")
    assert code == 0, out + err
    changes = json.loads(out)["changes"]
    assert [c for c in changes if c["action"] in PENDING_ACTIONS] == []
    # Without --env-file/--set the values come from .env.production alone: still nothing.
    code, out, err = world.cli(monkeypatch, "plan", "--json", "--detailed-exitcode", inputs=False)
    assert code == 0, out + err
    assert write_counts(world) == before


def test_rerun_keeps_storage_in_provision_mode(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = world.cli(monkeypatch, "apply", "--yes")
    assert code == 0, err
    code, out, err = world.cli(monkeypatch, "plan", "--json")
    assert code == 0, err
    storage = [c for c in json.loads(out)["changes"] if c["target"] == "storage"]
    # "a step that finished is not redone on the next run unless its inputs changed"
    assert storage == [
        {
            "target": "storage",
            "resource": "storage",
            "action": "unchanged",
            "detail": "done; inputs unchanged",
        }
    ]
    code, _, err = world.cli(monkeypatch, "apply", "--yes")
    assert code == 0, err
    # The keys it made itself do not turn the bucket into a bring-your-own one.
    assert world.state().get("choices", {}).get("storage_mode") in (None, "provision")


# -- 3. the dry run before anything --------------------------------------------------------


def test_dry_run_first_touches_nothing_and_lists_every_change(
    world: World, monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    roots = (world.project_dir, home)
    before = {p: (b, p.stat().st_mtime_ns) for p, b in walk_files(*roots).items()}
    dirs_before = sorted(p for root in roots for p in root.rglob("*") if p.is_dir())

    results = []
    for argv in (("plan", "--json", "--detailed-exitcode"), ("apply", "--dry-run", "--json")):
        code, out, err = world.cli(monkeypatch, *argv)
        assert "Traceback" not in err
        results.append((code, json.loads(out)))
    (plan_code, plan), (dry_code, dry) = results
    assert plan_code == 2  # changes pending
    assert dry_code == 0

    # No file anywhere: project dir, HOME and the XDG dirs under it; no folder either.
    after = {p: (b, p.stat().st_mtime_ns) for p, b in walk_files(*roots).items()}
    assert after == before
    assert sorted(p for root in roots for p in root.rglob("*") if p.is_dir()) == dirs_before
    # Only reads reached the fakes (each was read: the plan is live); moto holds nothing.
    for name, fake in world.fakes.items():
        assert fake.log, f"{name} was not even read"
        assert {r.method for r in fake.log} <= {"GET", "HEAD"}, name
    assert world.aws.buckets() == [] and world.aws.users() == []

    for data in (plan, dry):
        assert data["environment"] == "production"
        changes = data["changes"]
        pending: dict[str, set[str]] = {}
        for c in changes:
            assert c["action"] in {
                "add", "update", "unchanged", "unknown", "remove", "create", "skip", "check",
            }  # fmt: skip
            if c["action"] in PENDING_ACTIONS:
                pending.setdefault(c["target"], set()).add(c.get("key") or c.get("resource"))
        for target in (
            "storage",
            "cloudflare",
            "stripe",
            "secrets",
            "env-file",
            "vercel",
            "github",
        ):
            assert target in pending, f"the plan shows no change for {target}"
        storage = pending["storage"]
        assert f"bucket {world.bucket}" in storage
        assert {"bucket versioning", "lifecycle rules", "public access block"} <= storage
        assert {f"IAM user {IAM_USER}", "IAM user policy", "IAM access key"} <= storage
        assert f"webhook endpoint {HOOK_URL}" in pending["stripe"]
        assert {f"{ZONE} setting ssl", f"{ZONE} setting brotli"} <= pending["cloudflare"]
        # Values made only by apply are listed too.
        made_later = {"STRIPE_WEBHOOK_SECRET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
        made_later |= {"SENTRY_DSN", "NEXT_PUBLIC_SENTRY_DSN", "NEXTAUTH_SECRET", "JWT_SECRET"}
        app_keys = set(world.app_secrets()) | set(world.app_public()) | made_later
        assert app_keys <= pending["env-file"]
        assert app_keys <= pending["vercel"]
        assert set(GITHUB_SECRETS) <= pending["github"]
        assert_absent(json.dumps(data), every_secret(world), "the plan's JSON")


# -- 4. no secret anywhere but .env.production ---------------------------------------------


def test_no_secret_outside_the_env_file(
    world: World, monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    # A real process, as a user runs it: secrets only in the environment and the input file.
    argv = world.subprocess_argv("apply", "--yes")
    proc = world.run_subprocess("apply", "--yes")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    outputs = [("apply stdout", proc.stdout), ("apply stderr", proc.stderr)]
    # In-process runs after it, with child processes refused.
    no_children = refuse_children(monkeypatch)
    for argv_ in (("plan", "--json"), ("apply", "--yes", "--json"), ("status",), ("plan",)):
        code, out, err = world.cli(monkeypatch, *argv_, inputs=argv_[0] != "status")
        assert code == 0, err
        if "--json" in argv_:
            assert isinstance(json.loads(out), dict)  # one JSON object, nothing else
        outputs += [(f"{argv_} stdout", out), (f"{argv_} stderr", err)]
    assert no_children == []

    secrets = every_secret(world)
    assert len(secrets) >= 14
    for where, text in outputs:
        assert_absent(text, secrets, where)
    assert_absent(" ".join(argv), secrets, "the command line")
    env_file = world.env_path.resolve()
    files = walk_files(world.project_dir, home)
    assert world.state_path in files
    key_id = world.env_values()["AWS_ACCESS_KEY_ID"]
    for path, data in files.items():
        if path.resolve() == env_file:
            continue
        # The state remembers which IAM key is the app's by its id (an identifier AWS shows
        # in consoles and logs, not a credential); every real secret must be absent.
        allowed = {key_id} if path == world.state_path else set()
        assert_absent(data, [s for s in secrets if s not in allowed], str(path))
    # ... and the env file does hold them all.
    text = world.env_path.read_text(encoding="utf-8")
    for value in generated_and_provisioned(world):
        assert value in text


# -- 5. faults ----------------------------------------------------------------------------


def test_rate_limits_bad_gateways_and_a_lost_answer_are_ridden_out(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    retry = {"Retry-After": "1"}
    world.vercel.inject(429, method="POST", headers=retry, body={"error": {"code": "rate_limited"}})
    world.vercel.inject(502, method="GET", path=r"/env$", body="Bad Gateway")
    world.github.inject(429, method="PUT", headers=retry, body={"message": "secondary rate limit"})
    world.github.inject(502, method="GET", path="public-key", body="Bad Gateway")
    world.stripe.inject(429, method="GET", body={"error": {"message": "Too many requests"}})
    world.stripe.inject(502, method="POST", body="Bad Gateway")
    # The create ran but its answer was lost: the Idempotency-Key must prevent a second one.
    world.stripe.inject(method="POST", drop=True)

    vercel_times, github_times = arrivals(world.vercel), arrivals(world.github)
    code, _, err = world.cli(monkeypatch, "apply", "--yes", snyk=False)
    assert code == 0, err
    # Retry-After: 1 was honoured: the retry of the refused request came a second later.
    assert retried_after(vercel_times, 429) >= 0.95
    assert retried_after(github_times, 429) >= 0.95
    for fake in (world.vercel, world.github, world.stripe):
        assert fake._faults == []  # every injected fault was met

    env = world.env_values()
    [endpoint] = world.stripe.endpoints.values()
    assert env["STRIPE_WEBHOOK_SECRET"] == endpoint["secret"]
    creates = world.stripe.requests("POST", r"^/v1/webhook_endpoints$")
    assert len(creates) == 3
    assert len({r.headers["idempotency-key"] for r in creates}) == 1
    on_vercel = world.vercel_values()
    assert {k: v for k, v in on_vercel.items()} == {k: [v] for k, v in env.items()}
    # Without SNYK_TOKEN: the other 6, exactly.
    assert set(world.github.repos["dream-pixel/app"].secrets) == set(GITHUB_SECRETS) - {
        "SNYK_TOKEN"
    }
    assert world.github_secret("VERCEL_TOKEN") == VERCEL_TOKEN
    assert world.github_secret("SENTRY_AUTH_TOKEN") == SENTRY_TOKEN


def test_bad_github_token_stops_before_any_change_with_one_clear_line(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = "ghp_revokedTOKENvalue0000000000000000000"  # well-formed, refused live
    world.extra_env["GITHUB_TOKEN"] = bad
    code, out, err = world.cli(monkeypatch, "apply", "--yes")
    assert code == 1
    assert "Traceback" not in err and "Traceback" not in out
    [line] = error_lines(err)
    assert "GitHub" in line and "GITHUB_TOKEN" in line
    assert "https://github.com/settings/" in line  # where to make a new one
    assert bad not in out + err
    # Live checks come before the first mutation: nothing was changed anywhere.
    assert {k: v for k, v in world.writes().items() if v} == {}
    assert world.aws.buckets() == [] and world.aws.users() == []
    steps = status_of(world, monkeypatch)
    assert steps["github"] in ("failed", "pending")
    assert all(s != "done" for s in steps.values())

    world.extra_env.clear()
    code, _, err = world.cli(monkeypatch, "apply", "--yes")
    assert code == 0, err
    assert status_of(world, monkeypatch) == dict.fromkeys(STEP_IDS, "done")
    assert len(world.stripe.endpoints) == 1 and len(world.aws.access_keys()) == 1


def test_token_refused_mid_push_keeps_finished_work_and_resumes(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The token passes the checks, then GitHub refuses every write (revoked in between).
    world.github.inject(401, method="PUT", times=100, body={"message": "Bad credentials"})
    code, out, err = world.cli(monkeypatch, "apply", "--yes")
    assert code == 1
    assert "Traceback" not in out + err
    [line] = error_lines(err)
    assert "GitHub" in line and "GITHUB_TOKEN" in line and "[github]" in line
    steps = status_of(world, monkeypatch)
    after_github = STEP_IDS[STEP_IDS.index("github") + 1 :]
    assert steps == {
        **dict.fromkeys(STEP_IDS, "done"),
        "github": "failed",
        **dict.fromkeys(after_github, "pending"),  # the run stopped at the push
    }
    env = world.env_values()
    assert env["STRIPE_WEBHOOK_SECRET"] == next(iter(world.stripe.endpoints.values()))["secret"]

    world.github._faults.clear()
    before = write_counts(world)
    keys = world.aws.access_keys()
    code, _, err = world.cli(monkeypatch, "apply", "--yes")
    assert code == 0, err
    after = write_counts(world)
    sent = {k: after[k] - before[k] for k in after}
    # Only the secrets that never got through; no finished work is sent again. The steps
    # after the push (never reached before) now deploy and add the domain and its records,
    # and monitoring makes its 2 Sentry monitors and 4 alerts;
    # safeguards switches on Dependabot (two PUTs) and secret scanning (one PATCH).
    assert sent == {
        **dict.fromkeys(before, 0),
        "github": len(GITHUB_SECRETS) + 3,
        "vercel": sent["vercel"],
        "cloudflare": sent["cloudflare"],
        "sentry": 6,
    }
    configuration = [w for w in world.vercel.writes()[-sent["vercel"] :] if w.path.endswith("/env")]
    assert configuration == []
    assert world.aws.access_keys() == keys and len(world.stripe.endpoints) == 1
    assert world.env_values() == env
    assert status_of(world, monkeypatch) == dict.fromkeys(STEP_IDS, "done")
    for name in GITHUB_SECRETS:
        assert world.github_secret(name) is not None


def test_failure_after_a_provisioned_secret_leaves_the_env_file_ignored(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The Cloudflare token verifies and reads, then may not edit: the run stops there,
    # after storage wrote the new access key to .env.production.
    world.cloudflare.read_only = True
    code, _, err = world.cli(monkeypatch, "apply", "--yes")
    assert code == 1 and "Cloudflare" in err
    assert "AWS_SECRET_ACCESS_KEY" in world.env_values()
    assert stat.S_IMODE(world.env_path.stat().st_mode) == 0o600
    lines = (world.project_dir / ".gitignore").read_text().splitlines()
    patterns = [p for p in lines if p and not p.startswith(("#", "!"))]
    assert any(fnmatch.fnmatch(".env.production", p) for p in patterns)
