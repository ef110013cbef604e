"""Step "storage": the image bucket on AWS S3 or Cloudflare R2.

S3, provision mode (admin credentials from the SDK's own chain, read from the run's
environment): the bucket in AWS_REGION, versioning on, the guide's two lifecycle rules,
public access blocked, an IAM user ``dream-pixel-app-<environment>`` holding exactly the
guide's bucket-scoped policy, and one access key that becomes the app's
AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. Each piece is read first and changed only if it
differs, so a rerun changes nothing and never makes a second key.

Bring-your-own (``storage_mode=existing``, or app keys given that are not the wizard's
user's): the bucket is probed with the app keys (write, read, delete under uploads/).

R2 speaks the S3 API at https://<account>.r2.cloudflarestorage.com, region auto, with
the user's R2 API token keys (R2 has no IAM). It has no versioning, no public access block,
no bucket policy and no GLACIER: those are skipped, and generations/ go to STANDARD_IA.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from providers.errors import Conflict, NetworkError, PermissionDenied, ProviderError
from providers.http import DEADLINE_VARIABLE, call_budget, request_deadline
from providers.s3 import (
    ADMIN_DENIED_HINT,
    ADMIN_KEY,
    APP_KEY_ID,
    APP_SECRET,
    BLOCK_ALL,
    BUCKET_KEY,
    IAM,
    R2,
    S3,
    AccessKey,
    AwsCredentials,
    BotoClients,
    Bucket,
    Endpoint,
    IamUser,
    app_policy,
    canonical_policy,
    endpoint_url,
    lifecycle_rules,
    merge_rules,
    retry_settings,
)
from providers.threads import in_daemon_thread
from providers.urls import checked_base_url, r2_endpoint
from wizard.context import StepContext

CHECKED = "storage.checked"
CLIENTS = "storage.clients"
POLICY_NAME = "dream-pixel-storage"
REGION_KEY = "AWS_REGION"
ENDPOINT_KEY = "S3_ENDPOINT"
ACCOUNT_KEY = "CLOUDFLARE_ACCOUNT_ID"

T = TypeVar("T")


@dataclass(frozen=True)
class _Bound:
    service: str
    budget: float  # seconds one SDK call may take, its own retries included
    deadline: float  # D, for the message


# Set by check/run for the calls they make (a task's context: concurrent runs keep theirs).
_BOUND: contextvars.ContextVar[_Bound | None] = contextvars.ContextVar(
    "storage_bound", default=None
)


def _bind(ctx: StepContext, service: str) -> None:
    """The HTTP clients' call budget (B = 4 x D) for every SDK call of this step: botocore
    bounds each read (15 s) but not a whole answer, so an endpoint that trickles a byte
    under every read timeout would otherwise hold the run forever."""
    deadline = request_deadline(ctx.env)
    _BOUND.set(_Bound(service, call_budget(deadline), deadline))


async def _call(fn: Callable[..., T], *args: Any) -> T:
    """boto3 blocks: every call leaves the event loop, in a daemon thread bounded by the
    step's budget. A call given up on is abandoned, not waited for (a daemon thread never
    holds the exit, where ``asyncio.to_thread``'s executor would)."""
    bound = _BOUND.get()
    future = in_daemon_thread(fn, *args, name="boto3")
    if bound is None:
        return await future
    try:
        async with asyncio.timeout(bound.budget) as within:
            return await future
    except TimeoutError:
        if not within.expired():
            raise  # the SDK's own (a socket timeout): mapped like any other of its errors
        raise NetworkError(
            bound.service,
            f"no complete answer within {bound.budget:g} s",
            hint=f"the endpoint is stalled or trickling: check the network and the endpoint "
            f"(AWS_ENDPOINT_URL_*, S3_ENDPOINT), then run again ({DEADLINE_VARIABLE} "
            f"allows more time: {bound.deadline:g} s per attempt now)",
        ) from None


@dataclass(frozen=True)
class Target:
    kind: str  # "s3" | "r2"
    mode: str  # "provision" | "existing"
    bucket: str
    region: str
    s3: Endpoint
    iam: Endpoint
    admin: AwsCredentials
    app: AwsCredentials | None  # both app keys, when given
    derived_endpoint: str | None  # R2: S3_ENDPOINT to provide (it was not set)
    user_name: str

    @property
    def service(self) -> str:
        return self.s3.service


def _app_or_default(ctx: StepContext, key: str) -> str | None:
    value = ctx.app(key)
    if value:
        return value
    f = ctx.catalogue.field(key)
    return f.default if f else None


def _target(ctx: StepContext) -> Target:
    kind = ctx.choice("storage") or "s3"
    mode = ctx.choice("storage_mode") or "provision"
    bucket = _app_or_default(ctx, BUCKET_KEY) or "dream-pixel-images"
    attempts, retry_mode = retry_settings(ctx.env)
    key_id, secret = ctx.app(APP_KEY_ID), ctx.app(APP_SECRET)
    app = AwsCredentials(key_id, secret) if key_id and secret else None
    derived: str | None = None
    if kind == "r2":
        url = ctx.app(ENDPOINT_KEY)
        if not url:
            account = ctx.require(
                ACCOUNT_KEY, R2, "copy the Account ID from the Cloudflare dashboard (R2 → Overview)"
            )
            url = derived = r2_endpoint(account)
        url = checked_base_url(R2, url, variable=ENDPOINT_KEY)
        s3 = Endpoint(R2, "auto", url, attempts, retry_mode, third_party=True)
        region = "auto"
    else:
        region = _app_or_default(ctx, REGION_KEY) or "us-east-1"
        s3 = Endpoint(
            S3, region, endpoint_url(ctx.env, "AWS_ENDPOINT_URL_S3", S3), attempts, retry_mode
        )
    iam = Endpoint(
        IAM, region, endpoint_url(ctx.env, "AWS_ENDPOINT_URL_IAM", IAM), attempts, retry_mode
    )
    user_name = str(ctx.memory.get("iam_user") or f"dream-pixel-app-{ctx.environment}")
    return Target(
        kind,
        mode,
        bucket,
        region,
        s3,
        iam,
        _admin_credentials(ctx),
        app,
        derived,
        user_name,
    )


def _admin_credentials(ctx: StepContext) -> AwsCredentials:
    """Admin keys typed on the Storage page (or the environment's), else its profile, else
    the SDK's own chain."""
    key_id = ctx.operator("aws_admin_access_key_id")
    secret = ctx.operator("aws_admin_secret_access_key")
    if key_id and secret:
        # A session token belongs to the environment's keys only.
        token = (
            ctx.env.get("AWS_SESSION_TOKEN") if key_id == ctx.env.get("AWS_ACCESS_KEY_ID") else None
        )
        return AwsCredentials(key_id, secret, token or None)
    if profile := ctx.operator("aws_profile"):
        return AwsCredentials(profile=profile)
    return AwsCredentials.from_env(ctx.env)


def _clients(ctx: StepContext) -> BotoClients:
    """One set of boto3 clients per run, shared by check() and run()."""
    clients = ctx.scratch.get(CLIENTS)
    if not isinstance(clients, BotoClients):
        clients = ctx.scratch[CLIENTS] = BotoClients()
    return clients


def _app_bucket(t: Target, clients: BotoClients) -> Bucket:
    if t.app is None:
        hint = (
            "R2 has no IAM: create an R2 API token (R2 → Manage API tokens; Admin Read & Write to "
            "let the wizard create the bucket) and enter its Access Key ID and Secret Access Key"
            if t.kind == "r2"
            else "enter the app's access key id and secret, or choose storage_mode=provision"
        )
        raise ProviderError(
            t.service, f"{APP_KEY_ID} and {APP_SECRET} are not set", key=APP_KEY_ID, hint=hint
        )
    return Bucket(t.bucket, t.app, t.s3, auth_key=APP_KEY_ID, clients=clients)


def _admin_bucket(t: Target, clients: BotoClients) -> Bucket:
    return Bucket(
        t.bucket, t.admin, t.s3, auth_key=ADMIN_KEY, denied_hint=ADMIN_DENIED_HINT, clients=clients
    )


def _iam_user(t: Target, clients: BotoClients) -> IamUser:
    return IamUser(t.user_name, t.admin, t.iam, clients=clients)


def _forbidden(t: Target, auth: str) -> ProviderError:
    return PermissionDenied(
        t.service,
        f"bucket {t.bucket} exists but these credentials may not read it",
        key=BUCKET_KEY,
        hint=(
            f"it belongs to another account (choose another {BUCKET_KEY}) or the {auth} lack "
            "s3:ListBucket on it"
        ),
    )


# -- check ---------------------------------------------------------------------------


async def check(ctx: StepContext) -> None:
    """Cheap reads that prove the credentials before anything changes."""
    t = _target(ctx)
    _bind(ctx, t.service)
    if t.kind == "s3" and t.mode == "provision":
        bucket = await _call(_admin_bucket, t, _clients(ctx))
        if await _call(bucket.state) == "forbidden":
            raise _forbidden(t, "admin credentials")
        user = await _call(_iam_user, t, _clients(ctx))
        await _call(user.exists)
    else:
        bucket = await _call(_app_bucket, t, _clients(ctx))
        state = await _call(bucket.state)
        if state == "forbidden":
            raise _forbidden(t, "app keys")
        if state == "missing" and not (t.kind == "r2" and t.mode == "provision"):
            raise ProviderError(
                t.service,
                f"bucket {t.bucket} does not exist",
                key=BUCKET_KEY,
                hint=f"check {BUCKET_KEY}"
                + (" and the account" if t.kind == "r2" else f" and {REGION_KEY}")
                + ", or choose storage_mode=provision",
            )
    ctx.scratch[CHECKED] = True


# -- run -----------------------------------------------------------------------------


async def run(ctx: StepContext) -> None:
    if CHECKED not in ctx.scratch:
        await check(ctx)
    t = _target(ctx)
    _bind(ctx, t.service)
    if t.derived_endpoint:
        if ctx.dry_run:
            ctx.pending(ENDPOINT_KEY)
        else:
            ctx.provide(ENDPOINT_KEY, t.derived_endpoint)
    if t.kind == "r2":
        await _run_r2(ctx, t)
    else:
        await _run_s3(ctx, t)
    ctx.memory.update({"storage": t.kind, "bucket": t.bucket, "region": t.region})


async def _run_s3(ctx: StepContext, t: Target) -> None:
    if t.mode == "existing":
        await _probe(ctx, t, await _call(_app_bucket, t, _clients(ctx)))
        ctx.notice(
            "Storage (existing bucket): versioning, lifecycle rules and the public access block "
            "were not checked (the app keys may not read them); provision mode sets them."
        )
        return
    bucket = await _call(_admin_bucket, t, _clients(ctx))
    await _provision_bucket(ctx, t, bucket)
    user = await _call(_iam_user, t, _clients(ctx))
    exists = await _call(user.exists)
    if t.app is not None and ctx.digest(t.app.access_key_id or "") != ctx.memory.get(
        "access_key_id"
    ):
        keys = await _call(user.access_keys) if exists else []
        if t.app.access_key_id not in {k.id for k in keys}:
            # Keys the user brought: use them, and make no IAM user they would not use.
            ctx.resource(f"IAM user {t.user_name}", "skip", "app keys given")
            ctx.notice(
                f"{APP_KEY_ID} is set and is not a key of IAM user {t.user_name}: the given keys "
                f"are used and no IAM user is created (clear {APP_KEY_ID} and {APP_SECRET} to "
                "have the wizard make a bucket-only user)."
            )
            await _probe(ctx, t, await _call(_app_bucket, t, _clients(ctx)))
            return
    await _provision_user(ctx, t, user, exists)
    ctx.notice(
        "The guide's CloudFront distribution is not created by the wizard: add one in the AWS "
        "console if images are served from the bucket directly."
    )


async def _run_r2(ctx: StepContext, t: Target) -> None:
    bucket = await _call(_app_bucket, t, _clients(ctx))
    if t.mode == "existing":
        await _probe(ctx, t, bucket)
    else:
        await _provision_bucket(ctx, t, bucket)
        if not ctx.dry_run:
            await _probe(ctx, t, bucket)
    for name in ("bucket versioning", "public access block", "IAM user and policy"):
        ctx.resource(name, "skip", "not available on R2")
    ctx.notice(
        "R2: versioning, the public access block and the IAM user/policy were skipped (R2 has "
        "none of them: the bucket is private unless you enable public access, and the app uses "
        "your R2 API token's keys)."
    )
    if t.mode == "provision":
        ctx.notice(
            "R2 has no GLACIER class: the lifecycle rule for generations/ moves them to "
            "STANDARD_IA (Infrequent Access) after 90 days instead."
        )
    region = ctx.app(REGION_KEY)
    if region not in (None, "auto", "us-east-1"):
        ctx.notice(f"R2 buckets use region auto: set {REGION_KEY}=auto for the app.")


async def _provision_bucket(ctx: StepContext, t: Target, bucket: Bucket) -> None:
    r2 = t.kind == "r2"
    state = await _call(bucket.state)
    if state == "forbidden":
        raise _forbidden(t, "app keys" if r2 else "admin credentials")
    if state == "missing":
        ctx.resource(f"bucket {t.bucket}", "create", f"in {t.region}")
        if not ctx.dry_run:
            await _call(bucket.create, None if r2 else t.region)
    else:
        if not r2:
            actual = await _call(bucket.location)
            if actual != t.region:
                raise Conflict(
                    S3,
                    f"bucket {t.bucket} is in {actual}, not {t.region}",
                    key=REGION_KEY,
                    hint=f"set {REGION_KEY}={actual} (the app must use the bucket's region)",
                )
        ctx.resource(f"bucket {t.bucket}", "unchanged", f"in {t.region}")
    # A bucket a dry run would create cannot be read: everything on it is a create.
    readable = state == "present" or not ctx.dry_run

    if not r2:
        status = await _call(bucket.versioning) if readable else None
        if status == "Enabled":
            ctx.resource("bucket versioning", "unchanged", "enabled")
        else:
            ctx.resource("bucket versioning", "create" if status is None else "update", "enable")
            if not ctx.dry_run:
                await _call(bucket.enable_versioning)

    desired = lifecycle_rules(r2=r2)
    current = await _call(bucket.lifecycle) if readable else None
    rules, action = merge_rules(current, desired)
    detail = "uploads/ expire after 1 day; generations/ to {} after 90 days".format(
        "STANDARD_IA" if r2 else "GLACIER"
    )
    ctx.resource("lifecycle rules", action, detail)
    if action != "unchanged" and not ctx.dry_run:
        await _call(bucket.put_lifecycle, rules)
    kept = len(rules) - len(desired)
    if kept > 0 and action != "unchanged":
        ctx.notice(f"The bucket's {kept} other lifecycle rule(s) were kept unchanged.")

    if not r2:
        block = await _call(bucket.public_access_block) if readable else None
        if block == BLOCK_ALL:
            ctx.resource("public access block", "unchanged", "all public access blocked")
        else:
            ctx.resource(
                "public access block", "create" if block is None else "update", "block all"
            )
            if not ctx.dry_run:
                await _call(bucket.block_public_access)


def _created(keys: list[AccessKey]) -> str:
    return ", ".join(k.created.date().isoformat() if k.created else "unknown date" for k in keys)


async def _provision_user(ctx: StepContext, t: Target, user: IamUser, exists: bool) -> None:
    label = f"IAM user {t.user_name}"
    if exists:
        ctx.resource(label, "unchanged")
    else:
        ctx.resource(label, "create", "app-only user for the bucket")
        if not ctx.dry_run:
            await _call(user.create, {"created-by": "dream-pixel-setup"})
    if exists or not ctx.dry_run:
        ctx.memory["iam_user"] = t.user_name
    readable = exists or not ctx.dry_run

    desired = app_policy(t.bucket)
    current = await _call(user.inline_policy, POLICY_NAME) if readable else None
    if current is not None and canonical_policy(current) == canonical_policy(desired):
        ctx.resource("IAM user policy", "unchanged", f"{POLICY_NAME}: bucket {t.bucket} only")
    else:
        action = "create" if current is None else "update"
        ctx.resource("IAM user policy", action, f"{POLICY_NAME}: bucket {t.bucket} only")
        if not ctx.dry_run:
            await _call(user.put_inline_policy, POLICY_NAME, desired)
    if exists:
        others = await _call(user.other_policies, POLICY_NAME)
        if others:
            ctx.notice(
                f"IAM user {t.user_name} also has policies the wizard did not give it "
                f"({', '.join(others)}): review them, the app needs only {POLICY_NAME}."
            )

    keys = await _call(user.access_keys) if readable else []
    app_id = t.app.access_key_id if t.app else None
    before = ctx.memory.get("keys_before_create")
    if isinstance(before, list):
        # A run stopped between CreateAccessKey and saving the secret: the keys it made
        # are unusable (their secret was shown to no one).
        orphans = [k for k in keys if ctx.digest(k.id) not in before and k.id != app_id]
        for k in orphans:
            ctx.resource("IAM access key", "remove", "an orphan made by an interrupted run")
            if not ctx.dry_run:
                await _call(user.delete_access_key, k.id)
        keys = [k for k in keys if k not in orphans]
    if app_id and app_id in {k.id for k in keys}:
        ctx.resource(
            "IAM access key", "unchanged", f"{APP_KEY_ID} in the env file is this user's key"
        )
        ctx.memory["access_key_id"] = ctx.digest(app_id)  # the catalogue keeps ids secret
        ctx.memory.pop("keys_before_create", None)
        if not ctx.dry_run:
            await _probe(ctx, t, await _call(_app_bucket, t, _clients(ctx)))
        return
    if len(keys) >= 2:
        raise Conflict(
            IAM,
            f"IAM user {t.user_name} already has 2 access keys (created {_created(keys)}) and "
            f"the env file holds the secret of neither",
            key=APP_SECRET,
            hint=f"AWS allows 2 keys per user and shows a secret only once: delete an unused key "
            f"(IAM → Users → {t.user_name} → Security credentials) or put its id and secret in "
            f"{APP_KEY_ID} / {APP_SECRET}, then run again",
        )
    if keys:
        ctx.notice(
            f"IAM user {t.user_name} already has an access key (created {_created(keys)}) whose "
            f"secret the env file does not hold: a second key is made. Delete the old one in IAM "
            "once nothing uses it."
        )
    ctx.resource("IAM access key", "create", f"becomes {APP_KEY_ID} / {APP_SECRET}")
    if ctx.dry_run:
        ctx.pending(APP_KEY_ID)
        ctx.pending(APP_SECRET)
        return
    ctx.memory["keys_before_create"] = [ctx.digest(k.id) for k in keys]
    ctx.checkpoint()
    key_id, secret = await _call(user.create_access_key)
    # Right away: the secret is shown this once, a later failure must not lose it.
    ctx.provide(APP_KEY_ID, key_id)
    ctx.provide(APP_SECRET, secret)
    ctx.memory["access_key_id"] = ctx.digest(key_id)
    ctx.memory.pop("keys_before_create", None)


async def _probe(ctx: StepContext, t: Target, bucket: Bucket) -> None:
    """Bring-your-own keys: prove them. A dry run only reads (head); apply writes a probe."""
    if ctx.dry_run:
        state = await _call(bucket.state)
        if state == "forbidden":
            raise _forbidden(t, "app keys")
        ctx.resource(
            "app keys",
            "check",
            f"bucket {t.bucket} {'reachable' if state == 'present' else 'not there yet'}",
        )
        return
    await _call(bucket.probe)
    ctx.resource(
        "app keys", "check", f"wrote, read and deleted a probe object in {t.bucket}/uploads/"
    )
