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
Cleaner = Callable[[str], str]


def strip(value: str) -> str:
    """Spaces and a pasted newline around a URL, key, id or token are never part of it."""
    return value.strip()


def trimmed(check: Validator) -> Validator:
    """Mark a validator whose values are cleaned with ``strip`` first (``cleaner_for``)."""
    check.clean = strip  # type: ignore[attr-defined]
    return check


def cleaner_for(check: Validator | None) -> Cleaner | None:
    """How values of a field with this validator are cleaned before they are checked or
    kept; None: the value is exact (passwords, secrets the user made, unknown keys)."""
    return getattr(check, "clean", None)


def env_key(name: str) -> str | None:
    if not ENV_KEY.match(name):
        return "is not a valid variable name (letters, digits and _, not starting with a digit)"
    return None


@trimmed
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


@trimmed
def site_url(value: str, ctx: ValidationContext) -> str | None:
    if err := https_url(value, ctx):
        return err
    parts = urlsplit(value)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return (
            "must be the site's root URL (no path, query or fragment), e.g. https://dreampixel.app"
        )
    return None


# Characters that end a URL's user:password part early (libpq stops at the first '@' or
# '/'; every URL parser at '#' and '?'): in a password they must be percent-encoded.
_USERINFO_BREAKERS = (("#", "%23"), ("@", "%40"), ("/", "%2F"), ("?", "%3F"))


def _password_breaker(value: str) -> tuple[str, str] | None:
    rest = value.partition("://")[2]
    at = rest.rfind("@")
    if at < 0:
        return None
    userinfo = rest[:at]
    if "?" in userinfo and "=" in userinfo.partition("?")[2]:
        return None  # an '@' inside the query string, not a password
    for char, encoded in _USERINFO_BREAKERS:
        if char in userinfo:
            return char, encoded
    return None


@trimmed
def postgres_url(value: str, _ctx: ValidationContext) -> str | None:
    parts = urlsplit(value)
    if parts.scheme not in ("postgres", "postgresql"):
        return (
            "must start with postgresql:// (copy the connection string from the database console)"
        )
    if breaker := _password_breaker(value):
        char, encoded = breaker
        return (
            f"has a '{char}' in the user or password, which ends that part of the URL early: "
            f"percent-encode it as {encoded}"
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
    if not re.fullmatch(r"[A-Za-z0-9_]+", value):
        return "holds characters a Stripe key never has (only letters, digits and _)"
    return None


@trimmed
def stripe_secret_key(value: str, ctx: ValidationContext) -> str | None:
    if err := non_ascii(value):
        return err
    if value.startswith("pk_"):
        return "is a publishable key (pk_…): the secret key starts with sk_ or rk_"
    return _stripe_mode_rule(
        value, ctx, ("sk_live_", "rk_live_", "sk_test_", "rk_test_"), "secret key"
    )


@trimmed
def stripe_publishable_key(value: str, ctx: ValidationContext) -> str | None:
    if err := non_ascii(value):
        return err
    if value.startswith(("sk_", "rk_")):
        return (
            "is a SECRET key: the publishable key starts with pk_ (never expose sk_ to the browser)"
        )
    return _stripe_mode_rule(value, ctx, ("pk_live_", "pk_test_"), "publishable key")


@trimmed
def stripe_webhook_secret(value: str, _ctx: ValidationContext) -> str | None:
    if err := non_ascii(value):
        return err
    if not value.startswith("whsec_") or len(value) < 16:
        return "must be a webhook signing secret starting with whsec_"
    return None


@trimmed
def resend_key(value: str, _ctx: ValidationContext) -> str | None:
    if err := non_ascii(value):
        return err
    if foreign := _foreign(value, "re_"):
        return foreign
    if not re.fullmatch(r"re_[A-Za-z0-9_]{12,}", value):
        return "must be a Resend API key: re_ and letters, digits and _ (resend.com/api-keys)"
    return None


@trimmed
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


@trimmed
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


@trimmed
def aws_region(value: str, _ctx: ValidationContext) -> str | None:
    if value == "auto" or re.fullmatch(r"[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d", value):
        return None
    return "must be an AWS region like us-east-1 (or auto for R2)"


@trimmed
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


@trimmed
def slug(value: str, _ctx: ValidationContext) -> str | None:
    if not SLUG.match(value):
        return "must be a slug (letters, digits, - _ .)"
    return None


# https://github.com/acme/app(.git), ssh://git@github.com/acme/app.git, git@github.com:acme/app.git
_REPO_URL = re.compile(
    r"^(?:(?:https?|ssh|git)://(?:[^@/\s]+@)?[^/\s]+/|[^@/\s:]+@[^:/\s]+:)(?P<path>[^?#\s]+)"
    r"(?:[?#]\S*)?$"
)


def github_repository_clean(value: str) -> str:
    """owner/name from what people paste: the repository's web, https or ssh URL."""
    value = value.strip()
    if m := _REPO_URL.match(value):
        parts = [p for p in m.group("path").split("/") if p]
        # A browser URL may go on (/tree/main, /settings): the repository is the first two.
        value = "/".join(parts[:2]) if len(parts) >= 2 else m.group("path")
    value = value.rstrip("/")
    return value[: -len(".git")] if value.endswith(".git") else value


def github_repository(value: str, _ctx: ValidationContext) -> str | None:
    if not REPOSITORY.match(value):
        return "must be owner/name, e.g. your-org/dream-pixel (or the repository's URL)"
    return None


github_repository.clean = github_repository_clean  # type: ignore[attr-defined]


def github_secret_name(name: str) -> str | None:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        return "is not a valid GitHub secret name"
    if name.upper().startswith("GITHUB_"):
        return "cannot be a GitHub secret: names starting with GITHUB_ are reserved"
    return None


@trimmed
def upstash_url(value: str, ctx: ValidationContext) -> str | None:
    parts = urlsplit(value)
    if parts.scheme in ("redis", "rediss"):
        # Never repeat the URL: it carries the database password. Its host is not secret.
        host = parts.netloc.rpartition("@")[2].partition(":")[0].lower()
        rest_url = (
            f"https://{host}"
            if re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)*\.upstash\.io", host)
            else "https://<name>.upstash.io"
        )
        return (
            f"is the TCP URL ({parts.scheme}://…); use the REST URL {rest_url} "
            "(the database's REST API section)"
        )
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


@trimmed
def token(value: str, _ctx: ValidationContext) -> str | None:
    if err := non_ascii(value):
        return err
    if not value.strip() or any(c.isspace() for c in value):
        return "must be a single token without spaces"
    return None


# Vendor token shapes, from each vendor's documentation (2026). A value with a vendor's
# prefix must have that vendor's shape; one without may be an older format, so only the
# charset and a floor on the length are held against it.
_FOREIGN_PREFIXES = (
    ("github_pat_", "a GitHub token"),
    ("ghp_", "a GitHub token"),
    ("gho_", "a GitHub token"),
    ("ghs_", "a GitHub token"),
    ("ghu_", "a GitHub token"),
    ("vcp_", "a Vercel token"),
    ("vca_", "a Vercel token"),
    ("vci_", "a Vercel token"),
    ("vck_", "a Vercel API key"),
    ("cfut_", "a Cloudflare API token"),
    ("cfat_", "a Cloudflare API token"),
    ("cfk_", "a Cloudflare Global API Key"),
    ("sbp_", "a Supabase access token"),
    ("sb_secret_", "a Supabase project key"),
    ("sb_publishable_", "a Supabase project key"),
    ("sntrys_", "a Sentry token"),
    ("sntryu_", "a Sentry token"),
    ("sk_live_", "a Stripe secret key"),
    ("sk_test_", "a Stripe secret key"),
    ("rk_live_", "a Stripe restricted key"),
    ("pk_live_", "a Stripe publishable key"),
    ("whsec_", "a Stripe webhook secret"),
    ("re_", "a Resend API key"),
)


def _foreign(value: str, *own: str) -> str | None:
    """The message for another vendor's token pasted into this field."""
    for prefix, what in _FOREIGN_PREFIXES:
        if value.startswith(prefix) and not value.startswith(own or ("\0",)):
            return f"is {what} ({prefix}…), not this service's: check which field it belongs in"
    return None


def _plain_token(value: str, what: str, minimum: int, charset: str = "A-Za-z0-9_-") -> str | None:
    if err := token(value, ValidationContext()):
        return err
    if not re.fullmatch(f"[{charset}]+", value):
        return f"holds characters {what} never has"
    if len(value) < minimum:
        return f"is too short for {what} (a copy cut short?)"
    return None


@trimmed
def github_token(value: str, _ctx: ValidationContext) -> str | None:
    if value.startswith("ghr_"):
        return "is a refresh token (ghr_…): use an access token (ghp_…, github_pat_…)"
    if foreign := _foreign(value, "gh", "github_pat_"):
        return foreign
    shapes = (r"gh[pous]_[A-Za-z0-9]{36,251}", r"github_pat_[A-Za-z0-9_]{22,244}", r"[0-9a-f]{40}")
    if any(re.fullmatch(shape, value) for shape in shapes):
        return None
    if err := token(value, _ctx):
        return err
    return (
        "is not a GitHub token: ghp_… or github_pat_… (a personal access token), gho_… "
        "(`gh auth token`) or ghs_… (an app's), with 36 or more letters and digits after ghp_"
    )


@trimmed
def vercel_token(value: str, _ctx: ValidationContext) -> str | None:
    if value.startswith("vcr_"):
        return "is a refresh token (vcr_…): create an access token at vercel.com/account/tokens"
    if foreign := _foreign(value, "vcp_", "vca_", "vci_", "vck_"):
        return foreign
    return _plain_token(value, "a Vercel token", 20)


@trimmed
def cloudflare_api_token(value: str, _ctx: ValidationContext) -> str | None:
    if value.startswith("cfk_") or re.fullmatch(r"[0-9a-f]{37,39}|[0-9a-f]{41,45}", value):
        return (
            "is a Global API Key: the wizard needs an API token "
            "(My Profile → API Tokens → Create Token)"
        )
    if foreign := _foreign(value, "cfut_", "cfat_"):
        return foreign
    if re.fullmatch(r"cf[ua]t_[A-Za-z0-9_-]{40,}|[A-Za-z0-9_-]{40}", value):
        return None
    if err := token(value, _ctx):
        return err
    return "is not a Cloudflare API token (40 characters, or cfut_…/cfat_… on newer tokens)"


@trimmed
def cloudflare_account_id(value: str, _ctx: ValidationContext) -> str | None:
    if not re.fullmatch(r"[0-9a-fA-F]{32}", value):
        return "must be the 32 hex digits shown as Account ID (dashboard → R2 or Workers)"
    return None


@trimmed
def supabase_token(value: str, _ctx: ValidationContext) -> str | None:
    if value.startswith(("sb_secret_", "sb_publishable_")) or value.startswith("eyJ"):
        return (
            "is a project API key: the wizard needs a personal access token "
            "(sbp_…, Account → Access Tokens)"
        )
    if foreign := _foreign(value, "sbp_"):
        return foreign
    if not re.fullmatch(r"sbp_[A-Za-z0-9_]{40,}", value):
        return "must be a Supabase access token: sbp_ and 40 characters (Account → Access Tokens)"
    return None


@trimmed
def sentry_token(value: str, _ctx: ValidationContext) -> str | None:
    if foreign := _foreign(value, "sntrys_", "sntryu_"):
        return foreign
    shapes = (r"sntrys_[A-Za-z0-9+/=_-]{40,}", r"sntryu_[0-9a-fA-F]{64}", r"[0-9a-fA-F]{64}")
    if any(re.fullmatch(shape, value) for shape in shapes):
        return None
    if err := token(value, _ctx):
        return err
    return (
        "is not a Sentry auth token: sntrys_… (organization token), sntryu_ and 64 hex digits "
        "(user token), or 64 hex digits (older tokens)"
    )


@trimmed
def upstash_token(value: str, _ctx: ValidationContext) -> str | None:
    if "://" in value:
        return "is a URL: the REST token is the value beside UPSTASH_REDIS_REST_TOKEN"
    # Base64 in the console, hex on older databases.
    return _plain_token(value, "an Upstash REST token", 20, "A-Za-z0-9_=+/-")


@trimmed
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
