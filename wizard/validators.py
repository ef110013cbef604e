"""Offline rules for every known key: run before anything is written or sent.

A validator takes the value and the run's context and returns ``None`` when the value is
fine, or a short message saying what is wrong (the caller adds the key's name). None of
the messages repeat the value: it may be a secret.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from providers.urls import ambiguous_url, is_loopback_host

ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
HEX = re.compile(r"^[0-9a-fA-F]+$")
SLUG = re.compile(r"^[a-z0-9][a-z0-9_.-]*$", re.IGNORECASE)


@dataclass(frozen=True)
class ValidationContext:
    environment: str = "production"


Validator = Callable[[str, ValidationContext], str | None]


def env_key(name: str) -> str | None:
    if not ENV_KEY.match(name):
        return "is not a valid variable name (letters, digits and _, not starting with a digit)"
    return None


def https_url(value: str, _ctx: ValidationContext | None = None) -> str | None:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "must be a URL like https://example.com"
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        return "must use https:// (plain http only to localhost)"
    if parts.username is not None or parts.password is not None:
        return "must not carry a user or password (it would be shown and stored as public)"
    if reason := ambiguous_url(value):
        # Node, boto3 and Python must all read the same host from it.
        return f"is refused: {reason}"
    return None


def site_url(value: str, ctx: ValidationContext) -> str | None:
    if err := https_url(value, ctx):
        return err
    parts = urlsplit(value)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return (
            "must be the site's root URL (no path, query or fragment), e.g. https://dreampixel.app"
        )
    return None


def postgres_url(value: str, _ctx: ValidationContext) -> str | None:
    parts = urlsplit(value)
    if parts.scheme not in ("postgres", "postgresql"):
        return (
            "must start with postgresql:// (copy the connection string from the database console)"
        )
    if not parts.hostname:
        return "has no host"
    if "[" in value.split("@")[-1] and "]" not in value:
        return "has a malformed host"
    try:
        _ = parts.port
    except ValueError:
        return "has an invalid port"
    if (
        parts.password is None
        or parts.password == ""
        or parts.password in ("[password]", "[YOUR-PASSWORD]")
    ):
        return "has no password (Supabase shows [YOUR-PASSWORD]: put the database password there)"
    if not is_loopback_host(parts.hostname):
        sslmode = parse_qs(parts.query).get("sslmode", [""])[-1]
        if sslmode not in ("require", "verify-ca", "verify-full"):
            return "must end with ?sslmode=require (SSL is required for production)"
    return None


def _stripe_mode_rule(
    value: str, ctx: ValidationContext, prefixes: tuple[str, ...], what: str
) -> str | None:
    if not value.startswith(prefixes):
        return f"must be a Stripe {what} ({' or '.join(p + '…' for p in prefixes)})"
    if ctx.environment == "production" and "_test_" in value[:8]:
        return "is a test-mode key: production needs the live key (…_live_…)"
    if len(value) < 20:
        return "is too short to be a Stripe key"
    return None


def stripe_secret_key(value: str, ctx: ValidationContext) -> str | None:
    if err := non_ascii(value):
        return err
    if value.startswith("pk_"):
        return "is a publishable key (pk_…): the secret key starts with sk_ or rk_"
    return _stripe_mode_rule(
        value, ctx, ("sk_live_", "rk_live_", "sk_test_", "rk_test_"), "secret key"
    )


def stripe_publishable_key(value: str, ctx: ValidationContext) -> str | None:
    if err := non_ascii(value):
        return err
    if value.startswith(("sk_", "rk_")):
        return (
            "is a SECRET key: the publishable key starts with pk_ (never expose sk_ to the browser)"
        )
    return _stripe_mode_rule(value, ctx, ("pk_live_", "pk_test_"), "publishable key")


def stripe_webhook_secret(value: str, _ctx: ValidationContext) -> str | None:
    if err := non_ascii(value):
        return err
    if not value.startswith("whsec_") or len(value) < 16:
        return "must be a webhook signing secret starting with whsec_"
    return None


def resend_key(value: str, _ctx: ValidationContext) -> str | None:
    if err := non_ascii(value):
        return err
    if not value.startswith("re_") or len(value) < 10:
        return "must be a Resend API key starting with re_"
    return None


def sentry_dsn(value: str, _ctx: ValidationContext) -> str | None:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname or not parts.username:
        return "must look like https://<key>@<org>.ingest.sentry.io/<project-id>"
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        return "must use https://"
    if not HEX.match(parts.username) or not parts.path.strip("/").split("/")[-1].isdigit():
        return "must look like https://<key>@<org>.ingest.sentry.io/<project-id>"
    return None


def min_secret(value: str, _ctx: ValidationContext) -> str | None:
    if len(value) < 32:
        return "must be at least 32 characters (use Generate, or leave it empty to generate one)"
    return None


def s3_bucket(value: str, _ctx: ValidationContext) -> str | None:
    if not 3 <= len(value) <= 63:
        return "must be 3 to 63 characters long"
    if not re.fullmatch(r"[a-z0-9.-]+", value):
        return "may only hold lowercase letters, digits, dots and hyphens"
    if not (value[0].isalnum() and value[-1].isalnum()):
        return "must start and end with a letter or digit"
    if ".." in value:
        return "must not contain two dots in a row"
    try:
        ipaddress.IPv4Address(value)
        return "must not be formatted as an IP address"
    except ValueError:
        pass
    if value.startswith(("xn--", "sthree-")) or value.endswith(("-s3alias", "--ol-s3")):
        return "uses a prefix or suffix AWS reserves"
    return None


def aws_region(value: str, _ctx: ValidationContext) -> str | None:
    if value == "auto" or re.fullmatch(r"[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d", value):
        return None
    return "must be an AWS region like us-east-1 (or auto for R2)"


def aws_access_key_id(value: str, _ctx: ValidationContext) -> str | None:
    # AWS ids are 16-128 word characters (AKIA… / ASIA…); R2 ids are 32 hex characters.
    if not re.fullmatch(r"[A-Za-z0-9]{16,128}", value):
        return "must be an access key id (16 to 128 letters and digits)"
    return None


def nonblank(value: str, _ctx: ValidationContext) -> str | None:
    if not value.strip():
        return "is empty"
    if value != value.strip():
        return "has leading or trailing spaces (a copy-paste slip?)"
    return None


def slug(value: str, _ctx: ValidationContext) -> str | None:
    if not SLUG.match(value):
        return "must be a slug (letters, digits, - _ .)"
    return None


def github_repository(value: str, _ctx: ValidationContext) -> str | None:
    if not REPOSITORY.match(value):
        return "must be owner/name, e.g. your-org/dream-pixel"
    return None


def github_secret_name(name: str) -> str | None:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        return "is not a valid GitHub secret name"
    if name.upper().startswith("GITHUB_"):
        return "cannot be a GitHub secret: names starting with GITHUB_ are reserved"
    return None


def upstash_url(value: str, ctx: ValidationContext) -> str | None:
    if err := https_url(value, ctx):
        return err
    if urlsplit(value).path not in ("", "/"):
        return "must be the REST URL itself, like https://<name>.upstash.io"
    return None


def non_ascii(value: str) -> str | None:
    """A token is ASCII: a curly quote or a no-break space is a copy-paste slip, and HTTP
    headers could not carry it anyway. Names the position, never the character."""
    for position, char in enumerate(value, 1):
        if not char.isascii():
            return f"contains a non-ASCII character (position {position}) — paste the token again"
    return None


def token(value: str, _ctx: ValidationContext) -> str | None:
    if err := non_ascii(value):
        return err
    if not value.strip() or any(c.isspace() for c in value):
        return "must be a single token without spaces"
    return None


def cloudflare_zone(value: str, _ctx: ValidationContext) -> str | None:
    if not re.fullmatch(
        r"(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}", value
    ):
        return "must be a domain name like dreampixel.app"
    return None


def one_of(*choices: str) -> Validator:
    def check(value: str, _ctx: ValidationContext) -> str | None:
        if value not in choices:
            return "must be one of: " + ", ".join(choices)
        return None

    return check


def minutes(value: str, ctx: ValidationContext) -> str | None:
    """A whole number of minutes, 1 to 240 (a build longer than four hours is stuck)."""
    if not value.isdigit() or not 1 <= int(value) <= 240:
        return "must be a whole number of minutes from 1 to 240"
    return None
