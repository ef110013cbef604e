"""Every stand-in at once, for end-to-end runs of the real CLI.

``world`` (function-scoped) starts fresh loopback fakes of Vercel, GitHub, Stripe, Sentry,
Cloudflare, Resend and Upstash (cheap: one thread each), resets the session's moto server
(S3 + IAM) and hands out a fresh project dir. PostgreSQL is the session's real server
(``tests.pg_server``) with a role whose password holds ``$``, ``#`` and ``%``.

Register with ``pytest_plugins = ("tests.pg_server", "tests.e2e_world")``.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import secrets
import subprocess
import sys
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest

from tests.fakes.base import FakeService, Request
from tests.fakes.cloudflare import FakeCloudflare
from tests.fakes.github import FakeGitHub
from tests.fakes.resend import FakeResend
from tests.fakes.sentry import FakeSentry
from tests.fakes.snyk import FakeSnyk
from tests.fakes.stripe import FakeStripe
from tests.fakes.upstash import FakeUpstash
from tests.fakes.vercel import FakeVercel, Project

if TYPE_CHECKING:
    from tests.pg_server import PgServer

ROOT = Path(__file__).resolve().parent.parent

SITE = "https://dreampixel.example"
ZONE = "dreampixel.example"
HOOK_URL = SITE + "/api/webhooks/stripe"
TEAM = "team_dreampixel"
VERCEL_PROJECT = "dream-pixel"
REPO = "dream-pixel/app"
SENTRY_ORG = "acme"
SENTRY_PROJECT = "dream-pixel"
IAM_USER = "dream-pixel-app-production"

# Operator credentials (process environment) and app secrets (--env-file): all distinct,
# all long enough that finding one in some output cannot be a coincidence, and each in its
# vendor's shape (the wizard refuses tokens that are not).
VERCEL_TOKEN = "vercel_e2e_TOKEN_4f1c9a7d2b8e6035"
GITHUB_TOKEN = "ghp_e2eGITHUBtoken7Hq2Lm9Xc4Vb1Nz8a1b2c3"
CLOUDFLARE_TOKEN = "cf-e2e-TOKEN-9d8c7b6a5f4e3d2c1b0a1234567"
SNYK_TOKEN = "snyk-e2e-TOKEN-0a1b2c3d4e5f6789"
ADMIN_ID = "AKIAE2EADMIN00000001"
ADMIN_SECRET = "e2e-ADMIN-secret-Zq7Wx3Ec9Rv5Tb1Yn6"
STRIPE_SK = "sk_live_51E2eSECRETkeyValue0123456789abcd"
STRIPE_PK = "pk_live_51E2ePUBLISHABLEkey0123456789abcd"
SENTRY_TOKEN = "sntrys_e2eSENTRYtoken0123456789abcdef0123456789"
RESEND_KEY = "re_E2eRESENDfullAccess_0123456789"
UPSTASH_TOKEN = "AXe2eUPSTASHrestTOKEN_0123456789abc"
# An unknown key (so: secret) with quotes, a newline, unicode and a $ reference.
EXTRA_KEY = "CUSTOM_BANNER"
EXTRA_VALUE = "line one \"quoted\"\nline two ✓ ünïcødé 'single' $HOME ${PATH} 秘密"
OPERATOR_SECRETS = (VERCEL_TOKEN, GITHUB_TOKEN, CLOUDFLARE_TOKEN, SNYK_TOKEN, ADMIN_SECRET)
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


# -- PostgreSQL with a hostile password ------------------------------------------------


@dataclass(frozen=True)
class Database:
    user: str
    password: str  # raw: holds $$, $, # and %
    url: str  # the password partly literal ($$), partly percent-encoded (%24 %23 %25)


@pytest.fixture(scope="session")
def e2e_database(pg_ssl: PgServer) -> Database:
    import psycopg
    from psycopg import sql

    tag = secrets.token_hex(4)
    user = f"e2e_{tag}"
    tail = f"w0rd$#%-{tag}"
    password = "pa$$" + tail
    # `$` is legal in a URL's userinfo; `#` and `%` must be encoded. Both forms on purpose.
    url = (
        f"postgresql://{user}:pa$${quote(tail, safe='')}@{pg_ssl.host}:{pg_ssl.port}"
        f"/{pg_ssl.database}?sslmode=require"
    )
    with psycopg.connect(pg_ssl.url(), autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(user), sql.Literal(password)
            )
        )
    return Database(user, password, url)


# -- moto (S3 + IAM) -------------------------------------------------------------------


@pytest.fixture(scope="session")
def e2e_moto_url() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def moto_reset(url: str) -> None:
    request = urllib.request.Request(
        url + "/moto-api/reset", data=b"", method="POST", headers={"Content-Type": "text/plain"}
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert answer.status == 200


@dataclass
class Aws:
    """Admin boto3 clients on moto: what the test reads back."""

    url: str

    def _session(self) -> Any:
        import boto3

        return boto3.session.Session(
            aws_access_key_id=ADMIN_ID, aws_secret_access_key=ADMIN_SECRET, region_name="us-east-1"
        )

    @property
    def s3(self) -> Any:
        from botocore.config import Config

        return self._session().client(
            "s3", endpoint_url=self.url, config=Config(s3={"addressing_style": "path"})
        )

    @property
    def iam(self) -> Any:
        return self._session().client("iam", endpoint_url=self.url)

    def buckets(self) -> list[str]:
        return [b["Name"] for b in self.s3.list_buckets().get("Buckets", [])]

    def users(self) -> list[str]:
        return [u["UserName"] for u in self.iam.list_users()["Users"]]

    def access_keys(self, user: str = IAM_USER) -> list[str]:
        if user not in self.users():
            return []
        meta = self.iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
        return [k["AccessKeyId"] for k in meta]

    @staticmethod
    def secret_of(key_id: str, user: str = IAM_USER) -> str | None:
        """The secret IAM issued for ``key_id``: the threaded server shares this process's
        moto backend, which is the only place a secret can be read back."""
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.iam.models import iam_backends

        backend = iam_backends[DEFAULT_ACCOUNT_ID]["global"]
        for key in backend.get_user(user).access_keys:
            if key.access_key_id == key_id:
                return str(key.secret_access_key)
        return None


# -- the world -------------------------------------------------------------------------


@dataclass
class World:
    vercel: FakeVercel
    github: FakeGitHub
    stripe: FakeStripe
    sentry: FakeSentry
    cloudflare: FakeCloudflare
    resend: FakeResend
    upstash: FakeUpstash
    snyk: FakeSnyk
    aws: Aws
    db: Database
    project_dir: Path
    home: Path
    bucket: str
    vercel_project: Project
    zone_id: str
    sentry_dsn: str
    extra_env: dict[str, str] = field(default_factory=dict)

    # -- what the run gets ---------------------------------------------------------------
    @property
    def fakes(self) -> dict[str, FakeService]:
        return {
            "vercel": self.vercel,
            "github": self.github,
            "stripe": self.stripe,
            "sentry": self.sentry,
            "cloudflare": self.cloudflare,
            "resend": self.resend,
            "upstash": self.upstash,
            "snyk": self.snyk,
        }

    def env(self, *, snyk: bool = True) -> dict[str, str]:
        """Operator credentials and service URLs, as a user exports them."""
        env = {
            "VERCEL_TOKEN": VERCEL_TOKEN,
            "VERCEL_ORG_ID": TEAM,
            "VERCEL_PROJECT_ID": VERCEL_PROJECT,
            "GITHUB_TOKEN": GITHUB_TOKEN,
            "GITHUB_REPOSITORY": REPO,
            "CLOUDFLARE_API_TOKEN": CLOUDFLARE_TOKEN,
            "AWS_ACCESS_KEY_ID": ADMIN_ID,
            "AWS_SECRET_ACCESS_KEY": ADMIN_SECRET,
            "AWS_ENDPOINT_URL": self.aws.url,
            "AWS_MAX_ATTEMPTS": "2",
            "GITHUB_API_URL": self.github.url,
            "VERCEL_API_URL": self.vercel.url,
            "STRIPE_API_URL": self.stripe.url,
            "SENTRY_URL": self.sentry.url,
            "CLOUDFLARE_API_URL": self.cloudflare.url,
            "RESEND_API_URL": self.resend.url,
            "SNYK_API_URL": self.snyk.url,
            "NO_COLOR": "1",
        }
        if snyk:
            env["SNYK_TOKEN"] = SNYK_TOKEN
        env.update(self.extra_env)
        return env

    def app_secrets(self) -> dict[str, str]:
        """The app's secret values, given through --env-file (never on the command line)."""
        return {
            "DATABASE_URL": self.db.url,
            "UPSTASH_REDIS_REST_TOKEN": UPSTASH_TOKEN,
            "SENTRY_AUTH_TOKEN": SENTRY_TOKEN,
            "STRIPE_SECRET_KEY": STRIPE_SK,
            "RESEND_API_KEY": RESEND_KEY,
            EXTRA_KEY: EXTRA_VALUE,
        }

    def app_public(self) -> dict[str, str]:
        return {
            "NEXTAUTH_URL": SITE,
            "UPSTASH_REDIS_REST_URL": self.upstash.url,
            "S3_BUCKET": self.bucket,
            "SENTRY_ORG": SENTRY_ORG,
            "SENTRY_PROJECT": SENTRY_PROJECT,
            "NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY": STRIPE_PK,
        }

    def input_file(self) -> Path:
        """The --env-file, outside the project dir, in Next.js's dialect (as the wizard
        reads it): every value quoted and escaped so it comes back exactly."""
        from wizard.envfile import format_assignment

        path = self.home.parent / f"{self.home.name}-inputs.env"
        if not path.exists():
            values = {
                "DATABASE_URL": self.db.url,
                "UPSTASH_REDIS_REST_TOKEN": UPSTASH_TOKEN,
                "SENTRY_AUTH_TOKEN": SENTRY_TOKEN,
                "STRIPE_SECRET_KEY": STRIPE_SK,
                "RESEND_API_KEY": RESEND_KEY,
                EXTRA_KEY: EXTRA_VALUE,
            }
            lines = [format_assignment(k, v) for k, v in values.items()]
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            path.chmod(0o600)
        return path

    def inputs(self) -> list[str]:
        args = ["--env-file", str(self.input_file())]
        for key, value in self.app_public().items():
            args += ["--set", f"{key}={value}"]
        return args

    def argv(self, command: str, *args: str, inputs: bool = True) -> list[str]:
        extra = self.inputs() if inputs and command in ("plan", "apply") else []
        return [command, "--project-dir", str(self.project_dir), *args, *extra]

    # -- running -------------------------------------------------------------------------
    def cli(
        self,
        monkeypatch: pytest.MonkeyPatch,
        command: str,
        *args: str,
        inputs: bool = True,
        snyk: bool = True,
    ) -> tuple[int, str, str]:
        """``wizard.cli.main`` in this process, with the world's environment."""
        from wizard.cli import main

        with monkeypatch.context() as m:
            for key, value in self.env(snyk=snyk).items():
                m.setenv(key, value)
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(self.argv(command, *args, inputs=inputs))
        return code, out.getvalue(), err.getvalue()

    def subprocess_env(self) -> dict[str, str]:
        env = {**os.environ, **self.env()}
        env["PYTHONPATH"] = str(ROOT)
        return env

    def subprocess_argv(self, command: str, *args: str, inputs: bool = True) -> list[str]:
        return [sys.executable, "-m", "wizard", *self.argv(command, *args, inputs=inputs)]

    def run_subprocess(
        self, command: str, *args: str, inputs: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.subprocess_argv(command, *args, inputs=inputs),
            cwd=ROOT,
            env=self.subprocess_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    # -- reading back --------------------------------------------------------------------
    @property
    def env_path(self) -> Path:
        return self.project_dir / ".env.production"

    @property
    def state_path(self) -> Path:
        return self.project_dir / ".dream-pixel" / "state-production.json"

    def env_values(self) -> dict[str, str]:
        from wizard.envfile import load_env_file

        return load_env_file(self.env_path).values()

    def state(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.state_path.read_text(encoding="utf-8"))
        return data

    def writes(self) -> dict[str, list[Request]]:
        """Every mutating request each fake received."""
        return {name: [r for r in f.log if r.method in MUTATING] for name, f in self.fakes.items()}

    def vercel_values(self, target: str = "production") -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for env in self.vercel_project.envs:
            if target in env.target:
                out.setdefault(env.key, []).append(env.value)
        return out

    def github_secret(self, name: str) -> str | None:
        raw = self.github.secret(REPO, name)
        return raw.decode("utf-8") if raw is not None else None

    def set_delay(self, seconds: float) -> None:
        for fake in self.fakes.values():
            fake.delay = seconds


def build_world(moto: str, db: Database, project_dir: Path, home: Path) -> Iterator[World]:
    moto_reset(moto)
    vercel = FakeVercel(VERCEL_TOKEN)
    github = FakeGitHub()
    stripe = FakeStripe(STRIPE_SK)
    sentry = FakeSentry(SENTRY_TOKEN)
    cloudflare = FakeCloudflare(CLOUDFLARE_TOKEN)
    resend = FakeResend(RESEND_KEY)
    upstash = FakeUpstash(UPSTASH_TOKEN)
    snyk = FakeSnyk(SNYK_TOKEN)
    started: list[FakeService] = []
    try:
        for fake in (vercel, github, stripe, sentry, cloudflare, resend, upstash, snyk):
            fake.start()
            started.append(fake)
        project = vercel.add_project(VERCEL_PROJECT, team_id=TEAM)
        # Deployed from GitHub once already: the deploy step redeploys it with the new values.
        project.link = {
            "type": "github",
            "org": REPO.split("/")[0],
            "repo": REPO.split("/")[1],
            "repoId": 1001,
            "productionBranch": "main",
            "gitCredentialId": "cred_e2e",
            "deployHooks": [],
        }
        vercel.build_seconds = 0.2
        vercel.add_deployment(project, age_ms=86_400_000)
        github.add_token(GITHUB_TOKEN)
        github.add_repo(REPO)
        sentry.add_org(SENTRY_ORG)
        sentry.add_project(SENTRY_ORG, SENTRY_PROJECT)
        key = sentry.add_key(SENTRY_ORG, SENTRY_PROJECT)
        zone_id = cloudflare.add_zone(ZONE)
        resend.add_domain(ZONE)
        project_dir.mkdir(parents=True, exist_ok=True)
        (project_dir / "package.json").write_text('{"name": "dream-pixel"}\n')
        (project_dir / ".gitignore").write_text("node_modules/\n.next/\n")
        yield World(
            vercel=vercel,
            github=github,
            stripe=stripe,
            sentry=sentry,
            cloudflare=cloudflare,
            resend=resend,
            upstash=upstash,
            snyk=snyk,
            aws=Aws(moto),
            db=db,
            project_dir=project_dir,
            home=home,
            bucket="dp-e2e-" + secrets.token_hex(4),
            vercel_project=project,
            zone_id=zone_id,
            sentry_dsn=str(key["dsn"]["public"]),
        )
    finally:
        for service in started:
            service.stop()


@pytest.fixture
def world(e2e_moto_url: str, e2e_database: Database, tmp_path: Path, home: Path) -> Iterator[World]:
    yield from build_world(e2e_moto_url, e2e_database, tmp_path / "project", home)


def walk_files(*roots: Path) -> dict[Path, bytes]:
    """Every regular file under the roots, with its bytes."""
    out: dict[Path, bytes] = {}
    for root in roots:
        if not root.exists():
            continue
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                path = Path(dirpath) / name
                if path.is_file():
                    out[path] = path.read_bytes()
    return out


def assert_absent(haystack: str | bytes, needles: Sequence[str], where: str) -> None:
    text = haystack.decode("utf-8", "replace") if isinstance(haystack, bytes) else haystack
    for needle in needles:
        assert needle not in text, f"a secret ({needle[:4]}…) appears in {where}"
