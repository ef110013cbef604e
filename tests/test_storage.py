"""Step "storage" against moto's server (real HTTP on 127.0.0.1) and a fake R2/S3 endpoint."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from providers.errors import AuthError, Conflict, NetworkError, PermissionDenied, ProviderError
from providers.s3 import BotoClients, app_policy, lifecycle_rules
from tests.fakes.base import FakeService, Reply, Request
from tests.stepctx import make_ctx
from wizard.context import StepContext
from wizard.steps import storage

ADMIN_ID = "AKIAADMINEXAMPLE0001"
ADMIN_SECRET = "admin-secret-example-0000000000000000000"
USER = "dream-pixel-app-production"
# Clients are keyed by credentials and endpoint and hold no state between calls; sharing
# them across tests only saves loading the service models (~0.5 s) for every run.
SHARED_CLIENTS = BotoClients()


# -- fixtures ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _moto_post(url: str, path: str, data: bytes = b"") -> None:
    # text/plain: moto reads the raw body, which werkzeug empties for form posts.
    request = urllib.request.Request(
        url + path, data=data, method="POST", headers={"Content-Type": "text/plain"}
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert answer.status == 200


@pytest.fixture
def aws(moto_url: str) -> Iterator[dict[str, str]]:
    """A clean moto and the admin environment the step reads (never os.environ)."""
    _moto_post(moto_url, "/moto-api/reset")
    yield {
        "AWS_ACCESS_KEY_ID": ADMIN_ID,
        "AWS_SECRET_ACCESS_KEY": ADMIN_SECRET,
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_MAX_ATTEMPTS": "2",
    }
    _moto_post(moto_url, "/moto-api/reset-auth", b"inf")


def clients(env: dict[str, str], region: str = "us-east-1") -> tuple[Any, Any]:
    session = boto3.session.Session(
        aws_access_key_id=ADMIN_ID, aws_secret_access_key=ADMIN_SECRET, region_name=region
    )
    config = Config(s3={"addressing_style": "path"})
    url = env["AWS_ENDPOINT_URL"]
    return session.client("s3", endpoint_url=url, config=config), session.client(
        "iam", endpoint_url=url
    )


def s3_ctx(tmp_path: Path, env: dict[str, str], *, shared: bool = True, **kw: Any) -> StepContext:
    app = {"S3_BUCKET": "dp-images-test", "AWS_REGION": "us-east-1", **kw.pop("app", {})}
    ctx = make_ctx("storage", tmp_path, app=app, env=env, **kw)
    if shared:
        ctx.scratch[storage.CLIENTS] = SHARED_CLIENTS
    return ctx


def actions(ctx: StepContext) -> dict[str, str]:
    return {c.name: c.action for c in ctx.changes}


def provided(ctx: StepContext) -> dict[str, str]:
    return dict(ctx.scratch["provided"])


def run(ctx: StepContext) -> None:
    asyncio.run(storage.run(ctx))


# -- S3 provision --------------------------------------------------------------------


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_provision_creates_bucket_rules_user_and_one_key(
    tmp_path: Path, aws: dict[str, str], region: str
) -> None:
    ctx = s3_ctx(tmp_path, aws, app={"AWS_REGION": region})
    run(ctx)

    s3, iam = clients(aws, region)
    assert s3.get_bucket_location(Bucket="dp-images-test").get("LocationConstraint") in (
        (None, "") if region == "us-east-1" else (region,)
    )
    assert s3.get_bucket_versioning(Bucket="dp-images-test")["Status"] == "Enabled"
    rules = {
        r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket="dp-images-test")["Rules"]
    }
    assert rules["DeleteUnreferencedImages"]["Filter"] == {"Prefix": "uploads/"}
    assert rules["DeleteUnreferencedImages"]["Expiration"] == {"Days": 1}
    assert rules["ArchiveOldImages"]["Filter"] == {"Prefix": "generations/"}
    assert rules["ArchiveOldImages"]["Transitions"] == [{"Days": 90, "StorageClass": "GLACIER"}]
    assert all(r["Status"] == "Enabled" for r in rules.values())
    block = s3.get_public_access_block(Bucket="dp-images-test")["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }

    assert iam.list_user_policies(UserName=USER)["PolicyNames"] == ["dream-pixel-storage"]
    doc = iam.get_user_policy(UserName=USER, PolicyName="dream-pixel-storage")["PolicyDocument"]
    assert doc == app_policy("dp-images-test")
    assert doc["Statement"][0]["Resource"] == [
        "arn:aws:s3:::dp-images-test",
        "arn:aws:s3:::dp-images-test/*",
    ]
    assert sorted(doc["Statement"][0]["Action"]) == [
        "s3:DeleteObject",
        "s3:GetObject",
        "s3:ListBucket",
        "s3:PutObject",
    ]
    keys = iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]
    assert len(keys) == 1

    out = provided(ctx)
    assert out["AWS_ACCESS_KEY_ID"] == keys[0]["AccessKeyId"]
    secret = out["AWS_SECRET_ACCESS_KEY"]
    assert len(secret) >= 20
    assert ctx.values.app_source["AWS_SECRET_ACCESS_KEY"] == "provisioned"
    assert actions(ctx) == {
        "bucket dp-images-test": "create",
        "bucket versioning": "create",
        "lifecycle rules": "create",
        "public access block": "create",
        f"IAM user {USER}": "create",
        "IAM user policy": "create",
        "IAM access key": "create",
    }
    # Names are remembered, the key id only as a keyed digest; the secret appears nowhere
    # but the provided value.
    assert ctx.memory["iam_user"] == USER
    assert ctx.memory["access_key_id"] == ctx.digest(out["AWS_ACCESS_KEY_ID"])
    assert out["AWS_ACCESS_KEY_ID"] not in json.dumps(ctx.memory)
    shown = json.dumps([c.to_json() for c in ctx.changes] + ctx.notices + [ctx.memory], default=str)
    assert secret not in shown
    assert ADMIN_SECRET not in shown


def test_rerun_changes_nothing_and_makes_no_second_key(tmp_path: Path, aws: dict[str, str]) -> None:
    first = s3_ctx(tmp_path, aws)
    run(first)
    again = s3_ctx(tmp_path, aws, app=provided(first), memory=first.memory)
    run(again)

    assert set(actions(again).values()) <= {"unchanged", "check"}
    assert not any(c.mutating for c in again.changes)
    assert provided(again) == {}
    _, iam = clients(aws)
    assert len(iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]) == 1
    # The kept key was proven by a write/read/delete probe.
    assert actions(again)["app keys"] == "check"


def test_dry_run_creates_nothing(tmp_path: Path, aws: dict[str, str]) -> None:
    s3, iam = clients(aws)
    before = (s3.list_buckets()["Buckets"], iam.list_users()["Users"])
    ctx = s3_ctx(tmp_path, aws, dry_run=True)
    run(ctx)

    assert (s3.list_buckets()["Buckets"], iam.list_users()["Users"]) == before
    assert set(actions(ctx).values()) == {"create"}
    assert "IAM access key" in actions(ctx)
    assert ctx.values.pending == {
        "AWS_ACCESS_KEY_ID": "storage",
        "AWS_SECRET_ACCESS_KEY": "storage",
    }
    assert provided(ctx) == {}


def test_dry_run_after_apply_reports_unchanged(tmp_path: Path, aws: dict[str, str]) -> None:
    first = s3_ctx(tmp_path, aws)
    run(first)
    plan = s3_ctx(tmp_path, aws, app=provided(first), memory=first.memory, dry_run=True)
    run(plan)
    assert set(actions(plan).values()) <= {"unchanged", "check"}


def test_drift_is_repaired_and_foreign_rules_kept(tmp_path: Path, aws: dict[str, str]) -> None:
    s3, iam = clients(aws)
    s3.create_bucket(Bucket="dp-images-test")
    s3.put_bucket_versioning(
        Bucket="dp-images-test", VersioningConfiguration={"Status": "Suspended"}
    )
    s3.put_bucket_lifecycle_configuration(
        Bucket="dp-images-test",
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "DeleteUnreferencedImages",
                    "Status": "Enabled",
                    "Filter": {"Prefix": "uploads/"},
                    "Expiration": {"Days": 7},
                },
                {
                    "ID": "TheirOwnRule",
                    "Status": "Enabled",
                    "Filter": {"Prefix": "tmp/"},
                    "Expiration": {"Days": 3},
                },
            ]
        },
    )
    iam.create_user(UserName=USER)
    iam.put_user_policy(
        UserName=USER,
        PolicyName="dream-pixel-storage",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
            }
        ),
    )
    ctx = s3_ctx(tmp_path, aws)
    run(ctx)

    got = actions(ctx)
    assert got["bucket dp-images-test"] == "unchanged"
    assert got["bucket versioning"] == "update"
    assert got["lifecycle rules"] == "update"
    assert got[f"IAM user {USER}"] == "unchanged"
    assert got["IAM user policy"] == "update"
    rules = {
        r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket="dp-images-test")["Rules"]
    }
    assert set(rules) == {"DeleteUnreferencedImages", "ArchiveOldImages", "TheirOwnRule"}
    assert rules["DeleteUnreferencedImages"]["Expiration"] == {"Days": 1}
    doc = iam.get_user_policy(UserName=USER, PolicyName="dream-pixel-storage")["PolicyDocument"]
    assert doc == app_policy("dp-images-test")
    assert any("other lifecycle rule" in n for n in ctx.notices)


def test_lost_secret_makes_a_second_key_then_refuses_a_third(
    tmp_path: Path, aws: dict[str, str]
) -> None:
    run(s3_ctx(tmp_path, aws))  # key 1, whose secret this test then "loses"
    second = s3_ctx(tmp_path, aws)
    run(second)
    assert actions(second)["IAM access key"] == "create"
    assert any("already has an access key" in n for n in second.notices)
    _, iam = clients(aws)
    assert len(iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]) == 2

    third = s3_ctx(tmp_path, aws)
    with pytest.raises(Conflict) as err:
        run(third)
    assert err.value.key == "AWS_SECRET_ACCESS_KEY"
    assert "2 access keys" in str(err.value) and USER in str(err.value)
    assert "delete an unused key" in err.value.hint
    assert len(iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]) == 2


def test_bucket_in_another_region_names_aws_region(tmp_path: Path, aws: dict[str, str]) -> None:
    s3, _ = clients(aws, "eu-west-1")
    s3.create_bucket(
        Bucket="dp-images-test", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    with pytest.raises(Conflict) as err:
        run(s3_ctx(tmp_path, aws, app={"AWS_REGION": "us-east-1"}))
    assert err.value.key == "AWS_REGION" and "eu-west-1" in err.value.hint


# -- bring your own keys -------------------------------------------------------------


def _app_keys(tmp_path: Path, aws: dict[str, str]) -> dict[str, str]:
    """Provision once, then hand back the app's keys as if the user brought them."""
    with_keys = s3_ctx(tmp_path, aws)
    asyncio.run(storage.run(with_keys))
    return provided(with_keys)


def test_existing_mode_probes_with_app_keys_under_real_iam_auth(
    tmp_path: Path, aws: dict[str, str]
) -> None:
    keys = _app_keys(tmp_path, aws)
    _moto_post(aws["AWS_ENDPOINT_URL"], "/moto-api/reset-auth", b"0")  # moto enforces IAM now
    ctx = s3_ctx(tmp_path, aws, app=keys, choices={"storage_mode": "existing"})
    run(ctx)
    assert actions(ctx) == {"app keys": "check"}

    bad = s3_ctx(
        tmp_path,
        aws,
        app={**keys, "AWS_SECRET_ACCESS_KEY": "wrong-secret-0000000000000000000000000000"},
        choices={"storage_mode": "existing"},
    )
    with pytest.raises(AuthError) as err:
        run(bad)
    assert err.value.service == "AWS S3"
    assert err.value.key == "AWS_SECRET_ACCESS_KEY"
    assert "wrong-secret" not in str(err.value) and keys["AWS_SECRET_ACCESS_KEY"] not in str(
        err.value
    )

    unknown = s3_ctx(
        tmp_path,
        aws,
        app={"AWS_ACCESS_KEY_ID": "AKIAUNKNOWN000000000", "AWS_SECRET_ACCESS_KEY": "x" * 40},
        choices={"storage_mode": "existing"},
    )
    with pytest.raises(AuthError) as err2:
        run(unknown)
    assert err2.value.key == "AWS_ACCESS_KEY_ID"


def test_existing_mode_leaves_no_probe_object_and_touches_no_iam(
    tmp_path: Path, aws: dict[str, str]
) -> None:
    s3, iam = clients(aws)
    s3.create_bucket(Bucket="dp-images-test")
    ctx = s3_ctx(
        tmp_path,
        aws,
        app={"AWS_ACCESS_KEY_ID": "AKIAAPPKEY0000000001", "AWS_SECRET_ACCESS_KEY": "y" * 40},
        choices={"storage_mode": "existing"},
    )
    run(ctx)
    assert s3.list_objects_v2(Bucket="dp-images-test").get("KeyCount", 0) == 0
    assert iam.list_users()["Users"] == []
    assert actions(ctx) == {"app keys": "check"}


def test_existing_mode_missing_bucket_names_s3_bucket(tmp_path: Path, aws: dict[str, str]) -> None:
    ctx = s3_ctx(
        tmp_path,
        aws,
        app={"AWS_ACCESS_KEY_ID": "AKIAAPPKEY0000000001", "AWS_SECRET_ACCESS_KEY": "y" * 40},
        choices={"storage_mode": "existing"},
    )
    with pytest.raises(ProviderError) as err:
        run(ctx)
    assert err.value.key == "S3_BUCKET" and "does not exist" in str(err.value)


def test_provision_with_foreign_app_keys_uses_them_and_makes_no_user(
    tmp_path: Path, aws: dict[str, str]
) -> None:
    ctx = s3_ctx(
        tmp_path,
        aws,
        app={"AWS_ACCESS_KEY_ID": "AKIAAPPKEY0000000001", "AWS_SECRET_ACCESS_KEY": "y" * 40},
    )
    run(ctx)
    _, iam = clients(aws)
    assert iam.list_users()["Users"] == []
    assert actions(ctx)[f"IAM user {USER}"] == "skip"
    assert actions(ctx)["bucket dp-images-test"] == "create"
    assert provided(ctx) == {}


# -- errors --------------------------------------------------------------------------


def test_unreachable_endpoint_is_a_network_error(tmp_path: Path, aws: dict[str, str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**aws, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_MAX_ATTEMPTS": "1"}
    with pytest.raises(NetworkError) as err:
        asyncio.run(storage.check(s3_ctx(tmp_path, env)))
    assert err.value.service == "AWS S3" and "could not reach" in str(err.value)
    assert "Traceback" not in str(err.value)


def test_a_trickling_endpoint_is_cut_at_the_call_budget(tmp_path: Path) -> None:
    """botocore bounds each read (15 s), not a whole answer: IAM answering a byte every
    0.5 s would hold the check for half a minute. With D = 1 s the call budget is 4 s."""
    with FakeService() as fake:
        fake.add_route("HEAD", "/{bucket}", lambda r: Reply(200, b""))
        fake.inject(200, trickle=0.5, method="POST", path="^/$", times=10)
        env = {
            "AWS_ACCESS_KEY_ID": ADMIN_ID,
            "AWS_SECRET_ACCESS_KEY": ADMIN_SECRET,
            "AWS_ENDPOINT_URL": fake.url,
            "AWS_MAX_ATTEMPTS": "1",
            "DREAM_PIXEL_HTTP_DEADLINE": "1",
        }
        started = time.monotonic()
        with pytest.raises(NetworkError) as err:
            asyncio.run(storage.check(s3_ctx(tmp_path, env, shared=False)))
        took = time.monotonic() - started
    assert took < 4 + 3, f"took {took:.1f} s"
    assert err.value.service == "AWS S3"
    assert "no complete answer within 4 s" in str(err.value)
    assert "DREAM_PIXEL_HTTP_DEADLINE" in err.value.hint
    assert fake.requests("POST")  # it was IAM's answer that never ended


def test_no_admin_credentials(
    tmp_path: Path, aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    env = {"AWS_ENDPOINT_URL": aws["AWS_ENDPOINT_URL"], "AWS_MAX_ATTEMPTS": "1"}
    with pytest.raises(AuthError) as err:
        asyncio.run(storage.check(s3_ctx(tmp_path, env, shared=False)))
    assert "no credentials" in str(err.value) and "AWS_PROFILE" in err.value.hint


def test_endpoint_over_plain_http_off_loopback_is_refused(
    tmp_path: Path, aws: dict[str, str]
) -> None:
    env = {**aws, "AWS_ENDPOINT_URL_S3": "http://s3.example.com"}
    with pytest.raises(ProviderError) as err:
        asyncio.run(storage.check(s3_ctx(tmp_path, env)))
    assert err.value.key == "AWS_ENDPOINT_URL_S3"


def _s3_error(code: str, status: int) -> Reply:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<Error><Code>{code}</Code><Message>{code} message</Message></Error>"
    )
    return Reply(status, body, {"Content-Type": "application/xml"})


def test_bucket_name_taken_by_someone_else(tmp_path: Path) -> None:
    """A real-HTTP stand-in for AWS: the name is free to HEAD but taken on PUT."""
    no_user = (
        "<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchEntity</Code>"
        "<Message>The user cannot be found.</Message></Error></ErrorResponse>"
    )
    with FakeService() as fake:
        fake.add_route("HEAD", "/{bucket}", lambda r: Reply(404, b""))
        fake.add_route("PUT", "/{bucket}", lambda r: _s3_error("BucketAlreadyExists", 409))
        fake.add_route("POST", "/", lambda r: Reply(404, no_user, {"Content-Type": "text/xml"}))
        env = {
            "AWS_ACCESS_KEY_ID": ADMIN_ID,
            "AWS_SECRET_ACCESS_KEY": ADMIN_SECRET,
            "AWS_ENDPOINT_URL": fake.url,
            "AWS_MAX_ATTEMPTS": "1",
        }
        ctx = s3_ctx(tmp_path, env)
        with pytest.raises(Conflict) as err:
            run(ctx)
        assert [r.method for r in fake.requests(path="^/dp-images-test$")] == [
            "HEAD",
            "HEAD",
            "PUT",
        ]
    assert err.value.key == "S3_BUCKET"
    assert err.value.service == "AWS S3"
    assert "S3_BUCKET" in err.value.hint and "taken" in str(err.value)


@pytest.mark.parametrize(
    ("listing", "error", "key"),
    [
        (("AccessDenied", 403), PermissionDenied, "S3_BUCKET"),
        (("InvalidAccessKeyId", 403), AuthError, "AWS_ACCESS_KEY_ID"),
        (("SignatureDoesNotMatch", 403), AuthError, "AWS_SECRET_ACCESS_KEY"),
    ],
)
def test_bare_403_on_head_is_told_apart_by_a_listing(
    tmp_path: Path, listing: tuple[str, int], error: type[ProviderError], key: str
) -> None:
    """HEAD errors have no body: someone else's bucket and a bad key both answer 403."""
    with FakeService() as fake:
        fake.add_route("HEAD", "/{bucket}", lambda r: Reply(403, b""))
        fake.add_route("GET", "/{bucket}", lambda r: _s3_error(*listing))
        env = {"AWS_ENDPOINT_URL": fake.url, "AWS_MAX_ATTEMPTS": "1"}
        ctx = s3_ctx(
            tmp_path,
            env,
            app={"AWS_ACCESS_KEY_ID": "AKIAAPPKEY0000000001", "AWS_SECRET_ACCESS_KEY": "s" * 40},
            choices={"storage_mode": "existing"},
        )
        with pytest.raises(error) as err:
            asyncio.run(storage.check(ctx))
    assert err.value.key == key
    if error is PermissionDenied:
        assert "another account" in err.value.hint
    assert "s" * 40 not in str(err.value)


# -- R2 ------------------------------------------------------------------------------

R2_KEYS = {"AWS_ACCESS_KEY_ID": "a" * 32, "AWS_SECRET_ACCESS_KEY": "b" * 64}


def r2_ctx(tmp_path: Path, endpoint: str, **kw: Any) -> StepContext:
    app = {"S3_BUCKET": "dp-r2-images", "S3_ENDPOINT": endpoint, **R2_KEYS, **kw.pop("app", {})}
    ctx = make_ctx(
        "storage",
        tmp_path,
        app=app,
        operator={"CLOUDFLARE_ACCOUNT_ID": "0123456789abcdef0123456789abcdef"},
        choices={"storage": "r2", **kw.pop("choices", {})},
        env={"AWS_MAX_ATTEMPTS": "1"},
        **kw,
    )
    ctx.scratch[storage.CLIENTS] = SHARED_CLIENTS
    return ctx


def test_r2_against_moto_sets_lifecycle_only(tmp_path: Path, aws: dict[str, str]) -> None:
    s3, iam = clients(aws)
    s3.create_bucket(Bucket="dp-r2-images")  # made in the dashboard, as the guide says
    ctx = r2_ctx(tmp_path, aws["AWS_ENDPOINT_URL"])
    run(ctx)

    rules = {
        r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket="dp-r2-images")["Rules"]
    }
    assert rules["ArchiveOldImages"]["Transitions"] == [{"Days": 90, "StorageClass": "STANDARD_IA"}]
    assert rules["DeleteUnreferencedImages"]["Expiration"] == {"Days": 1}
    assert "Status" not in s3.get_bucket_versioning(Bucket="dp-r2-images")
    with pytest.raises(ClientError) as missing:
        s3.get_public_access_block(Bucket="dp-r2-images")
    assert missing.value.response["Error"]["Code"] == "NoSuchPublicAccessBlockConfiguration"
    assert iam.list_users()["Users"] == []
    got = actions(ctx)
    assert got["bucket versioning"] == "skip" and got["public access block"] == "skip"
    assert got["lifecycle rules"] == "create"
    assert any("STANDARD_IA" in n for n in ctx.notices)
    assert any("versioning" in n for n in ctx.notices)
    assert provided(ctx) == {}  # S3_ENDPOINT was given; R2 keys are the user's own


class FakeR2(FakeService):
    """Just enough of R2's S3 API over real HTTP to watch which calls are made."""

    def __init__(self) -> None:
        super().__init__()
        self.buckets: set[str] = set()
        self.lifecycle: dict[str, bytes] = {}
        self.objects: dict[str, bytes] = {}
        self.add_route("HEAD", "/{bucket}", self._head)
        self.add_route("PUT", "/{bucket}", self._put_bucket)
        self.add_route("GET", "/{bucket}", self._get_bucket)
        self.add_route("PUT", "/{bucket}/(?P<key>.+)", self._put_object)
        self.add_route("GET", "/{bucket}/(?P<key>.+)", self._get_object)
        self.add_route("DELETE", "/{bucket}/(?P<key>.+)", self._delete_object)

    def _head(self, req: Request) -> Reply:
        return Reply(200 if req.params["bucket"] in self.buckets else 404, b"")

    def _put_bucket(self, req: Request) -> Reply:
        if "lifecycle" in req.query:
            self.lifecycle[req.params["bucket"]] = req.body
            return Reply(200, "")
        if req.query:
            return _s3_error("NotImplemented", 501)
        self.buckets.add(req.params["bucket"])
        return Reply(200, "")

    def _get_bucket(self, req: Request) -> Reply:
        if "lifecycle" in req.query and req.params["bucket"] not in self.lifecycle:
            return _s3_error("NoSuchLifecycleConfiguration", 404)
        return _s3_error("NotImplemented", 501)

    def _put_object(self, req: Request) -> Reply:
        self.objects[req.params["key"]] = req.body
        return Reply(200, "", {"ETag": '"x"'})

    def _get_object(self, req: Request) -> Reply:
        body = self.objects.get(req.params["key"])
        if body is None:
            return _s3_error("NoSuchKey", 404)
        return Reply(200, body, {"Content-Type": "text/plain"})

    def _delete_object(self, req: Request) -> Reply:
        self.objects.pop(req.params["key"], None)
        return Reply(204)


def test_r2_creates_bucket_without_versioning_or_location(tmp_path: Path) -> None:
    fake = FakeR2()
    with fake:
        ctx = r2_ctx(tmp_path, fake.url)
        run(ctx)
        log = fake.requests()
    queries = [q for r in log for q in r.query]
    assert "versioning" not in queries and "publicAccessBlock" not in queries
    create = [r for r in log if r.method == "PUT" and r.path == "/dp-r2-images" and not r.query]
    assert len(create) == 1 and b"LocationConstraint" not in create[0].body
    assert b"STANDARD_IA" in fake.lifecycle["dp-r2-images"]
    assert b"GLACIER" not in fake.lifecycle["dp-r2-images"]
    assert fake.objects == {}  # the probe cleaned up
    assert any(r.method == "PUT" and r.path.startswith("/dp-r2-images/uploads/") for r in log)
    # Signed for region auto, as R2 expects.
    assert all("/auto/s3/aws4_request" in r.headers.get("authorization", "") for r in log)
    assert actions(ctx)["bucket dp-r2-images"] == "create"


def test_r2_endpoint_derives_from_account_id(tmp_path: Path) -> None:
    ctx = r2_ctx(tmp_path, "")
    ctx.values.app.pop("S3_ENDPOINT")
    t = storage._target(ctx)
    assert t.s3.url == "https://0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com"
    assert t.derived_endpoint == t.s3.url
    assert t.region == "auto" and t.s3.service == "Cloudflare R2"


def test_r2_without_keys_says_r2_has_no_iam(tmp_path: Path) -> None:
    ctx = r2_ctx(tmp_path, "http://127.0.0.1:9")
    for key in R2_KEYS:
        ctx.values.app.pop(key)
    with pytest.raises(ProviderError) as err:
        asyncio.run(storage.check(ctx))
    assert err.value.service == "Cloudflare R2" and err.value.key == "AWS_ACCESS_KEY_ID"
    assert "R2 API token" in err.value.hint


# -- assets and imports --------------------------------------------------------------


def test_assets_are_the_guides_json() -> None:
    rules = lifecycle_rules()
    assert [r["ID"] for r in rules] == ["DeleteUnreferencedImages", "ArchiveOldImages"]
    assert lifecycle_rules(r2=True)[1]["Transitions"][0]["StorageClass"] == "STANDARD_IA"
    # The asset itself keeps the guide's bucket name; substitution happens per bucket.
    assert "dream-pixel-images" in json.dumps(app_policy("dream-pixel-images"))
    assert "dream-pixel-images" not in json.dumps(app_policy("other-bucket"))


def test_step_modules_import_no_boto3_or_psycopg() -> None:
    code = (
        "import sys; import wizard.steps.storage, wizard.steps.database; "
        "heavy = [m for m in ('boto3', 'botocore', 'psycopg') if m in sys.modules]; "
        "print(','.join(heavy)); sys.exit(1 if heavy else 0)"
    )
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.fullmatch(r"\s*", proc.stdout)
