"""AWS S3 + IAM and Cloudflare R2 (the S3 API) through boto3, with mapped errors.

boto3 is imported inside functions only: the TUI's startup must not pay for it. Every
method here is blocking (call it through ``asyncio.to_thread``) and raises a
ProviderError subclass naming the service, the key at fault and the fix — never a
botocore exception, never a traceback.

Sessions are built from the values the caller passes (the run's environment), not from
``os.environ``: explicit keys when given, else the SDK's own chain (profile, SSO...).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from importlib.resources import files
from typing import Any
from urllib.parse import unquote

from providers.errors import (
    AuthError,
    BadRequest,
    Conflict,
    NetworkError,
    NotFound,
    PermissionDenied,
    ProviderError,
    RateLimited,
    ServiceUnavailable,
)
from providers.urls import checked_base_url, is_loopback_url

S3 = "AWS S3"
IAM = "AWS IAM"
R2 = "Cloudflare R2"

BUCKET_KEY = "S3_BUCKET"
ADMIN_KEY = "AWS admin credentials"
APP_KEY_ID = "AWS_ACCESS_KEY_ID"
APP_SECRET = "AWS_SECRET_ACCESS_KEY"

GUIDE_BUCKET = "dream-pixel-images"  # the name the guide's policy JSON spells out
POLICY_ASSET = "s3-app-policy.json"
LIFECYCLE_ASSET = "s3-lifecycle.json"
PROBE_PREFIX = "uploads/"

BLOCK_ALL: dict[str, bool] = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}

ADMIN_DENIED_HINT = (
    "the admin credentials lack a permission this step needs (s3:CreateBucket, "
    "s3:PutBucketVersioning, s3:PutLifecycleConfiguration, s3:PutBucketPublicAccessBlock, "
    "iam:CreateUser, iam:PutUserPolicy, iam:CreateAccessKey and their Get/List reads)"
)

_AUTH_CODES = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "IncompleteSignature",
        "MissingAuthenticationToken",
        "AuthFailure",
        "InvalidToken",
        "ExpiredToken",
        "ExpiredTokenException",
        "TokenRefreshRequired",
    }
)
_DENIED_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "AllAccessDisabled", "UnauthorizedOperation", "403"}
)
_NOT_FOUND_CODES = frozenset({"NoSuchBucket", "NoSuchEntity", "NoSuchKey", "NotFound", "404"})
_RATE_CODES = frozenset(
    {"Throttling", "ThrottlingException", "SlowDown", "RequestLimitExceeded", "TooManyRequests"}
)


# -- configuration -------------------------------------------------------------------


@dataclass(frozen=True)
class AwsCredentials:
    """Explicit keys, or a profile, or nothing (the SDK's default chain)."""

    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    profile: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AwsCredentials:
        """The admin credentials from the run's environment (the SDK's own variables)."""
        key_id, secret = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
        if key_id and secret:
            return cls(key_id, secret, env.get("AWS_SESSION_TOKEN") or None)
        return cls(profile=env.get("AWS_PROFILE") or None)


@dataclass(frozen=True)
class Endpoint:
    """Where and how to talk: the service's display name, region, optional URL, retries."""

    service: str
    region: str
    url: str | None = None
    max_attempts: int = 5
    retry_mode: str = "standard"
    # Non-AWS S3 APIs (R2): only send the checksums a request requires.
    third_party: bool = False


def endpoint_url(env: Mapping[str, str], variable: str, service: str) -> str | None:
    """boto3's AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL, read from ``env``."""
    for name in (variable, "AWS_ENDPOINT_URL"):
        if url := env.get(name):
            return checked_base_url(service, url, variable=name)
    return None


def retry_settings(env: Mapping[str, str]) -> tuple[int, str]:
    """The SDK's own AWS_MAX_ATTEMPTS / AWS_RETRY_MODE, defaulting to 5 / standard."""
    try:
        attempts = max(1, int(env.get("AWS_MAX_ATTEMPTS", "5")))
    except ValueError:
        attempts = 5
    mode = env.get("AWS_RETRY_MODE", "standard")
    return attempts, mode if mode in ("standard", "adaptive", "legacy") else "standard"


def boto_config(endpoint: Endpoint) -> Any:
    from botocore.config import Config

    options: dict[str, Any] = {
        "connect_timeout": 5,
        "read_timeout": 15,
        "retries": {"mode": endpoint.retry_mode, "max_attempts": endpoint.max_attempts},
        "user_agent_appid": "dream-pixel-setup",
    }
    if endpoint.url:
        # Custom endpoints (R2, moto, MinIO) resolve no bucket subdomains: path style.
        options["s3"] = {"addressing_style": "path"}
        if is_loopback_url(endpoint.url):
            # Like the HTTP clients: no proxy from the environment sees loopback traffic
            # (an empty dict, unlike None, stops botocore reading HTTP(S)_PROXY).
            options["proxies"] = {}
    if endpoint.third_party:
        options["request_checksum_calculation"] = "when_required"
        options["response_checksum_validation"] = "when_required"
    return Config(**options)


class BotoClients:
    """The clients of one run, each made once (loading a service model costs 0.2-0.4 s).

    One boto3 session per profile; explicit keys go to the client, so admin and app
    credentials never share a session's credential state. Keep one per run (in the step's
    scratch), never at module level.
    """

    def __init__(self) -> None:
        self._sessions: dict[str | None, Any] = {}
        self._clients: dict[tuple[str, AwsCredentials, Endpoint], Any] = {}

    def client(self, kind: str, creds: AwsCredentials, endpoint: Endpoint, *, auth_key: str) -> Any:
        """A boto3 client for ``kind`` ("s3" or "iam"); credential problems become AuthError."""
        cache_key = (kind, creds, endpoint)
        if (found := self._clients.get(cache_key)) is not None:
            return found
        with boto_errors(endpoint.service, auth_key=auth_key):
            import boto3.session

            profile = None if creds.access_key_id else creds.profile
            session = self._sessions.get(profile)
            if session is None:
                session = self._sessions[profile] = boto3.session.Session(profile_name=profile)
            client = session.client(  # type: ignore[call-overload]
                kind,
                region_name=endpoint.region,
                endpoint_url=endpoint.url,
                config=boto_config(endpoint),
                aws_access_key_id=creds.access_key_id,
                aws_secret_access_key=creds.secret_access_key,
                aws_session_token=creds.session_token,
            )
        self._clients[cache_key] = client
        return client


# -- the guide's JSON ----------------------------------------------------------------


def load_asset(name: str) -> Any:
    return json.loads(files("assets").joinpath(name).read_text(encoding="utf-8"))


def app_policy(bucket: str) -> dict[str, Any]:
    """The guide's IAM policy with its bucket name replaced by ``bucket``."""
    policy: dict[str, Any] = load_asset(POLICY_ASSET)
    guide_arn = f"arn:aws:s3:::{GUIDE_BUCKET}"
    for statement in policy["Statement"]:
        resources = statement["Resource"]
        statement["Resource"] = [
            f"arn:aws:s3:::{bucket}" + r[len(guide_arn) :]
            if r == guide_arn or r.startswith(guide_arn + "/")
            else r
            for r in ([resources] if isinstance(resources, str) else resources)
        ]
    return policy


def lifecycle_rules(*, r2: bool = False) -> list[dict[str, Any]]:
    """The guide's lifecycle rules; on R2 GLACIER (absent there) becomes STANDARD_IA."""
    rules: list[dict[str, Any]] = load_asset(LIFECYCLE_ASSET)["Rules"]
    if r2:
        for rule in rules:
            for transition in rule.get("Transitions", []):
                if transition.get("StorageClass") == "GLACIER":
                    transition["StorageClass"] = "STANDARD_IA"
    return rules


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def canonical_rule(rule: Mapping[str, Any]) -> str:
    """A comparable form: the legacy top-level Prefix is the same as Filter.Prefix."""
    out = dict(rule)
    if "Prefix" in out and "Filter" not in out:
        out["Filter"] = {"Prefix": out.pop("Prefix")}
    return _canonical(out)


def canonical_policy(document: Mapping[str, Any]) -> str:
    """A comparable form: one-item lists and bare strings are the same to IAM; order is not."""

    def norm(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: norm(v) for k, v in value.items()}
        if isinstance(value, list):
            items = [norm(v) for v in value]
            return sorted(items, key=_canonical) if len(items) != 1 else items[0]
        return value

    return _canonical(norm(document))


def merge_rules(
    current: list[dict[str, Any]] | None, desired: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], str]:
    """The rules to put and the plan action. A PUT replaces every rule of the bucket, so
    rules with other IDs are kept; ours replace those with the same ID."""
    if current is None:
        return list(desired), "create"
    wanted = {r["ID"]: r for r in desired}
    merged: list[dict[str, Any]] = []
    changed = False
    for rule in current:
        mine = wanted.pop(rule.get("ID", ""), None)
        if mine is None:
            merged.append(rule)
        else:
            changed |= canonical_rule(rule) != canonical_rule(mine)
            merged.append(mine)
    if wanted:
        merged.extend(wanted.values())
        changed = True
    return merged, "update" if changed else "unchanged"


# -- errors --------------------------------------------------------------------------


def error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _status(exc: Exception) -> int | None:
    response = getattr(exc, "response", None) or {}
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return int(status) if status else None


def map_boto_error(
    exc: Exception,
    service: str,
    *,
    key: str | None = None,
    auth_key: str | None = None,
    denied_hint: str = "",
) -> ProviderError:
    """One botocore exception as the ProviderError the user reads."""
    from botocore import exceptions as bx

    if isinstance(exc, bx.ClientError):
        code = error_code(exc) or "Error"
        status = _status(exc)
        text = str(exc.response.get("Error", {}).get("Message") or "").strip()
        message = f"{code}: {text}"[:300] if text and text != code else code
        if code in _AUTH_CODES:
            blamed = auth_key
            if code == "SignatureDoesNotMatch" and auth_key == APP_KEY_ID:
                blamed = APP_SECRET
            if code.startswith(("Expired", "TokenRefresh")):
                hint = "the session credentials expired: refresh them (aws sso login) and run again"
            elif code == "SignatureDoesNotMatch":
                hint = "the secret access key does not belong to this key id: check it"
            else:
                hint = f"{service} does not know this access key id: check it or create a new key"
            return AuthError(service, message, key=blamed, hint=hint, status=status)
        if code in _DENIED_CODES or status == 403:
            return PermissionDenied(
                service,
                message,
                key=auth_key or key,
                hint=denied_hint or "the credentials lack a permission this step needs",
                status=status,
            )
        if code == "BucketAlreadyExists":
            return Conflict(
                service,
                "the bucket name is already taken by another account (bucket names are global)",
                key=BUCKET_KEY,
                hint=f"choose another {BUCKET_KEY}, e.g. with your company's name in it",
                status=status,
            )
        if code == "LimitExceeded":
            return Conflict(service, message, key=key, hint="delete unused items and run again")
        if code in _NOT_FOUND_CODES or status == 404:
            return NotFound(service, message, key=key, hint="check the name and the region")
        if code in _RATE_CODES or status == 429:
            return RateLimited(service, message, key=key, hint="wait a minute and run again")
        if status is not None and status >= 500:
            return ServiceUnavailable(
                service, message, key=key, hint="the service is failing: run again later"
            )
        return BadRequest(service, message, key=key, status=status)
    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        return AuthError(
            service,
            "no credentials found",
            key=auth_key,
            hint=(
                "set AWS_PROFILE (aws configure / aws sso login) or AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY in the environment"
                if auth_key == ADMIN_KEY
                else f"enter {APP_KEY_ID} and {APP_SECRET}"
            ),
        )
    if isinstance(exc, bx.ProfileNotFound):
        return AuthError(
            service,
            "the AWS profile does not exist",
            key="AWS_PROFILE",
            hint="check AWS_PROFILE against ~/.aws/config (aws configure list-profiles)",
        )
    if isinstance(exc, bx.CredentialRetrievalError | bx.TokenRetrievalError):
        return AuthError(
            service,
            "the credentials could not be loaded",
            key=auth_key,
            hint="refresh them (aws sso login) and run again",
        )
    if isinstance(exc, bx.SSLError):
        return NetworkError(
            service, "TLS handshake failed", key=key, hint="check the endpoint URL and the network"
        )
    if isinstance(exc, bx.EndpointConnectionError | bx.ConnectionError | bx.HTTPClientError):
        where = getattr(exc, "kwargs", {}).get("endpoint_url") or "the endpoint"
        return NetworkError(
            service,
            f"could not reach {where}",
            key=key,
            hint="check the network and the endpoint (AWS_ENDPOINT_URL_*, S3_ENDPOINT)",
        )
    if isinstance(exc, bx.ParamValidationError):
        return BadRequest(service, "a value was refused before sending", key=key)
    return ProviderError(service, type(exc).__name__, key=key)


@contextmanager
def boto_errors(
    service: str, *, key: str | None = None, auth_key: str | None = None, denied_hint: str = ""
) -> Iterator[None]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise map_boto_error(
            exc, service, key=key, auth_key=auth_key, denied_hint=denied_hint
        ) from None


# -- S3 ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccessKey:
    id: str
    created: datetime | None


class Bucket:
    """One bucket through one set of credentials. All methods block."""

    def __init__(
        self,
        name: str,
        creds: AwsCredentials,
        endpoint: Endpoint,
        *,
        auth_key: str,
        denied_hint: str = "",
        clients: BotoClients | None = None,
    ) -> None:
        self.name = name
        self.endpoint = endpoint
        self.service = endpoint.service
        self.auth_key = auth_key
        self.denied_hint = denied_hint
        self.client = (clients or BotoClients()).client("s3", creds, endpoint, auth_key=auth_key)

    def _errors(self) -> Any:
        return boto_errors(
            self.service, key=BUCKET_KEY, auth_key=self.auth_key, denied_hint=self.denied_hint
        )

    def state(self) -> str:
        """ "present", "missing", or "forbidden" (someone else's, or no permission)."""
        from botocore.exceptions import ClientError

        with self._errors():
            try:
                self.client.head_bucket(Bucket=self.name)
                return "present"
            except ClientError as exc:
                status = _status(exc)
                if status == 404 or error_code(exc) in ("404", "NoSuchBucket", "NotFound"):
                    return "missing"
                if status != 403:
                    raise
            # HEAD answers carry no error body: a bare 403 may be a bad key, a bad secret,
            # a missing permission or someone else's bucket. A listing says which.
            try:
                self.client.list_objects_v2(Bucket=self.name, MaxKeys=1)
                return "present"
            except ClientError as exc:
                code = error_code(exc)
                if code in _AUTH_CODES:
                    raise
                if code == "NoSuchBucket":
                    return "missing"
                if code in _DENIED_CODES or _status(exc) == 403:
                    return "forbidden"
                raise

    def location(self) -> str:
        with self._errors():
            value = self.client.get_bucket_location(Bucket=self.name).get("LocationConstraint")
        # The API spells us-east-1 as empty and eu-west-1's oldest alias as "EU".
        return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(value, value)

    def create(self, region: str | None) -> None:
        """Create in ``region`` (None: let the service choose, as R2 does)."""
        from botocore.exceptions import ClientError

        kwargs: dict[str, Any] = {"Bucket": self.name}
        if region and region not in ("us-east-1", "auto"):
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        with self._errors():
            try:
                self.client.create_bucket(**kwargs)
            except ClientError as exc:
                if error_code(exc) != "BucketAlreadyOwnedByYou":
                    raise

    def versioning(self) -> str | None:
        with self._errors():
            status = self.client.get_bucket_versioning(Bucket=self.name).get("Status")
        return str(status) if status else None

    def enable_versioning(self) -> None:
        with self._errors():
            self.client.put_bucket_versioning(
                Bucket=self.name, VersioningConfiguration={"Status": "Enabled"}
            )

    def lifecycle(self) -> list[dict[str, Any]] | None:
        from botocore.exceptions import ClientError

        with self._errors():
            try:
                rules = self.client.get_bucket_lifecycle_configuration(Bucket=self.name)["Rules"]
            except ClientError as exc:
                if error_code(exc) == "NoSuchLifecycleConfiguration":
                    return None
                raise
        return list(rules)

    def put_lifecycle(self, rules: list[dict[str, Any]]) -> None:
        with self._errors():
            self.client.put_bucket_lifecycle_configuration(
                Bucket=self.name, LifecycleConfiguration={"Rules": rules}
            )

    def public_access_block(self) -> dict[str, bool] | None:
        from botocore.exceptions import ClientError

        with self._errors():
            try:
                answer = self.client.get_public_access_block(Bucket=self.name)
            except ClientError as exc:
                if error_code(exc) == "NoSuchPublicAccessBlockConfiguration":
                    return None
                raise
        return dict(answer["PublicAccessBlockConfiguration"])

    def block_public_access(self) -> None:
        with self._errors():
            self.client.put_public_access_block(
                Bucket=self.name, PublicAccessBlockConfiguration=dict(BLOCK_ALL)
            )

    def probe(self, prefix: str = PROBE_PREFIX) -> None:
        """Write, read back and delete one small object: proves the keys can do the app's
        work. Under uploads/ so the lifecycle rule sweeps anything a crash leaves."""
        key = f"{prefix}.dream-pixel-setup-probe-{secrets.token_hex(8)}"
        body = b"dream-pixel-setup storage probe\n"
        hint = (
            f"the keys need s3:PutObject, s3:GetObject and s3:DeleteObject on {self.name}/{prefix}*"
        )
        with boto_errors(self.service, key=BUCKET_KEY, auth_key=self.auth_key, denied_hint=hint):
            self.client.put_object(Bucket=self.name, Key=key, Body=body, ContentType="text/plain")
            try:
                got = self.client.get_object(Bucket=self.name, Key=key)["Body"].read()
            finally:
                self.client.delete_object(Bucket=self.name, Key=key)
        if got != body:
            raise ProviderError(
                self.service,
                "the probe object read back differently from what was written",
                key=BUCKET_KEY,
                hint="check the endpoint: it may not be the bucket's S3 API",
            )


# -- IAM -----------------------------------------------------------------------------


class IamUser:
    """One IAM user through the admin credentials. All methods block."""

    def __init__(
        self,
        name: str,
        creds: AwsCredentials,
        endpoint: Endpoint,
        *,
        clients: BotoClients | None = None,
    ) -> None:
        self.name = name
        self.client = (clients or BotoClients()).client("iam", creds, endpoint, auth_key=ADMIN_KEY)

    def _errors(self) -> Any:
        return boto_errors(
            IAM, key=f"IAM user {self.name}", auth_key=ADMIN_KEY, denied_hint=ADMIN_DENIED_HINT
        )

    def exists(self) -> bool:
        from botocore.exceptions import ClientError

        with self._errors():
            try:
                self.client.get_user(UserName=self.name)
                return True
            except ClientError as exc:
                if error_code(exc) == "NoSuchEntity":
                    return False
                raise

    def create(self, tags: Mapping[str, str] | None = None) -> None:
        from botocore.exceptions import ClientError

        kwargs: dict[str, Any] = {"UserName": self.name}
        if tags:
            kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
        with self._errors():
            try:
                self.client.create_user(**kwargs)
            except ClientError as exc:
                if error_code(exc) != "EntityAlreadyExists":
                    raise

    def inline_policy(self, policy_name: str) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        with self._errors():
            try:
                doc = self.client.get_user_policy(UserName=self.name, PolicyName=policy_name)[
                    "PolicyDocument"
                ]
            except ClientError as exc:
                if error_code(exc) == "NoSuchEntity":
                    return None
                raise
        # botocore decodes IAM documents into dicts; the raw API sends URL-encoded JSON.
        return dict(doc) if isinstance(doc, dict) else json.loads(unquote(str(doc)))

    def put_inline_policy(self, policy_name: str, document: Mapping[str, Any]) -> None:
        with self._errors():
            self.client.put_user_policy(
                UserName=self.name, PolicyName=policy_name, PolicyDocument=json.dumps(document)
            )

    def other_policies(self, policy_name: str) -> list[str]:
        """Inline and attached policies besides ours: someone else gave them."""
        with self._errors():
            inline = self.client.list_user_policies(UserName=self.name)["PolicyNames"]
            attached = self.client.list_attached_user_policies(UserName=self.name)[
                "AttachedPolicies"
            ]
        names = [n for n in inline if n != policy_name]
        return names + [p["PolicyName"] for p in attached]

    def access_keys(self) -> list[AccessKey]:
        with self._errors():
            found = self.client.list_access_keys(UserName=self.name)["AccessKeyMetadata"]
        return [AccessKey(k["AccessKeyId"], k.get("CreateDate")) for k in found]

    def delete_access_key(self, key_id: str) -> None:
        with self._errors():
            self.client.delete_access_key(UserName=self.name, AccessKeyId=key_id)

    def create_access_key(self) -> tuple[str, str]:
        """A new key: (id, secret). The secret is shown this once and never again."""
        with boto_errors(
            IAM,
            key=f"IAM user {self.name}",
            auth_key=ADMIN_KEY,
            denied_hint=ADMIN_DENIED_HINT,
        ):
            key = self.client.create_access_key(UserName=self.name)["AccessKey"]
        return str(key["AccessKeyId"]), str(key["SecretAccessKey"])
