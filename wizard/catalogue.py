"""The step catalogue: every step of the deployment guide and every field it asks for.

One declaration per field; the Textual screens, the questionary line mode, validation,
the env-file writer and the pushes all read it from here. A project's ``.env.example``
adds its keys (unknown keys are app values, treated as secret).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from wizard import validators as v

Kind = Literal["app", "operator", "choice"]
Source = Literal["user", "generated", "provisioned", "derived"]


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    kind: Kind
    secret: bool
    help: str = ""
    required: bool = True
    default: str | None = None
    choices: tuple[str, ...] = ()
    validator: v.Validator | None = None
    # "generated": made by the wizard when missing; "provisioned": a step creates it
    # (when its mode provisions); "derived": computed from other values.
    source: Source = "user"
    # Pushed to GitHub Actions as a repository (or environment) secret.
    github_secret: bool = False
    # Only asked when this choice has this value, e.g. ("storage", "r2").
    when: tuple[str, str] | None = None
    # Environment variables that may supply an operator value, in order.
    env_names: tuple[str, ...] = ()

    @property
    def public(self) -> bool:
        return not self.secret

    def clean(self, value: str) -> str:
        """The value as kept: spaces and a pasted newline trimmed from URLs, keys, ids and
        tokens (their validator says so); exact for everything else."""
        cleaner = v.cleaner_for(self.validator)
        return cleaner(value) if cleaner else value


@dataclass(frozen=True)
class Step:
    id: str
    title: str
    summary: str
    console_url: str = ""
    guide: tuple[str, ...] = ()
    fields: tuple[Field, ...] = ()
    # Steps that share a group run side by side (the two pushes).
    group: str | None = None


def _app(key: str, label: str, *, secret: bool = True, **kw: object) -> Field:
    return Field(key=key, label=label, kind="app", secret=secret, **kw)  # type: ignore[arg-type]


def _op(key: str, label: str, *, secret: bool = True, **kw: object) -> Field:
    kw.setdefault("env_names", (key,))
    return Field(key=key, label=label, kind="operator", secret=secret, **kw)  # type: ignore[arg-type]


def _choice(key: str, label: str, choices: tuple[str, ...], default: str, **kw: object) -> Field:
    return Field(
        key=key,
        label=label,
        kind="choice",
        secret=False,
        choices=choices,
        default=default,
        validator=v.one_of(*choices),
        **kw,  # type: ignore[arg-type]
    )


STEPS: tuple[Step, ...] = (
    Step(
        "prerequisites",
        "Prerequisites",
        "Accounts and tokens you need before starting, and the production URL.",
        guide=(
            "GitHub repository created and code pushed",
            "Vercel account (for hosting) — https://vercel.com/signup",
            "Supabase or Neon account (PostgreSQL) — https://supabase.com / https://neon.tech",
            "Upstash account (Redis) — https://console.upstash.com",
            "AWS account or Cloudflare account (S3/R2 storage) — https://console.aws.amazon.com",
            "Sentry account (error tracking) — https://sentry.io",
            "Stripe account (payments) — https://dashboard.stripe.com",
            "Resend account (emails) — https://resend.com",
            "GitHub tokens and secrets configured — https://github.com/settings/tokens",
        ),
        fields=(
            _app(
                "NEXTAUTH_URL",
                "Production URL",
                secret=False,
                help="The site's public URL, e.g. https://dreampixel.app. The Stripe webhook URL "
                "and "
                "the Cloudflare zone derive from it.",
                validator=v.site_url,
            ),
        ),
    ),
    Step(
        "database",
        "Database",
        "Supabase or Neon PostgreSQL: the connection string, checked by connecting over SSL.",
        console_url="https://supabase.com/dashboard/project/_/settings/database",
        guide=(
            "Create a Supabase project at https://supabase.com",
            "Copy the connection string from Project Settings → Database",
            "Enable automatic backups, retention 30 days",
            "SSL is required for production (?sslmode=require)",
        ),
        fields=(
            _choice("database_provider", "Provider", ("supabase", "neon"), "supabase"),
            _op(
                "SUPABASE_ACCESS_TOKEN",
                "Supabase access token (optional)",
                required=False,
                help="A personal access token (sbp_…) lets the wizard list your projects and build "
                "the pooler URL; then only the database password is asked.",
                when=("database_provider", "supabase"),
                validator=v.supabase_token,
            ),
            Field(
                "supabase_project",
                "Supabase project ref (with the token)",
                kind="choice",
                secret=False,
                required=False,
                when=("database_provider", "supabase"),
                help="The project whose pooler URL is built; with one project it is picked for "
                "you.",
                validator=v.slug,
            ),
            _op(
                "database_password",
                "Database password (with the token)",
                required=False,
                when=("database_provider", "supabase"),
                env_names=("SUPABASE_DB_PASSWORD",),
                help="Project Settings → Database; only this is asked when the wizard builds "
                "DATABASE_URL from your Supabase project.",
            ),
            _app(
                "DATABASE_URL",
                "Connection string",
                help="postgresql://postgres:[password]@[host]:5432/postgres?sslmode=require — on "
                "Vercel use the pooler (port 6543, transaction mode).",
                validator=v.postgres_url,
            ),
            _app(
                "DIRECT_URL",
                "Direct connection string (migrations)",
                required=False,
                source="derived",
                help="What Prisma Migrate uses (directUrl): derived from a pooler DATABASE_URL — "
                "Supabase's session pooler (:5432), Neon's host without -pooler.",
                validator=v.postgres_url,
            ),
            _choice(
                "db_allow_password_auth",
                "Allow password authentication",
                ("no", "yes"),
                "no",
                required=False,
                help="The check sends no password to the server (SCRAM only). yes: accept a "
                "server that asks for the password itself (md5 or cleartext), for this run.",
            ),
        ),
    ),
    Step(
        "redis",
        "Redis",
        "Upstash Redis REST credentials, checked with PING.",
        console_url="https://console.upstash.com/redis",
        guide=(
            "Create an Upstash Redis database at https://upstash.com",
            "Copy the REST API credentials (REST URL and token) from the dashboard",
            "Enable replication and set an eviction policy in the console",
        ),
        fields=(
            _app(
                "UPSTASH_REDIS_REST_URL",
                "REST URL",
                secret=False,
                help="https://<name>.upstash.io (the REST URL, not the redis:// one)",
                validator=v.upstash_url,
            ),
            _app(
                "UPSTASH_REDIS_REST_TOKEN",
                "REST token",
                help="The REST token from the database's REST API section (not the TCP password).",
                validator=v.upstash_token,
            ),
        ),
    ),
    Step(
        "storage",
        "Storage",
        "The image bucket on AWS S3 or Cloudflare R2, with the guide's lifecycle rules and an "
        "app-only IAM user.",
        console_url="https://s3.console.aws.amazon.com/s3/home",
        guide=(
            "Create the bucket dream-pixel-images",
            "Enable versioning (S3 only: R2 has none)",
            "Lifecycle: uploads/ expire after 1 day; generations/ move to GLACIER after 90 days",
            "Create an IAM user limited to the bucket; its access key goes to the app",
        ),
        fields=(
            _choice("storage", "Storage", ("s3", "r2"), "s3"),
            _choice(
                "storage_mode",
                "Mode",
                ("provision", "existing"),
                "provision",
                help="provision: create bucket, rules and IAM user with admin credentials (the AWS "
                "SDK's own chain). existing: use app keys you already have; the bucket is probed.",
            ),
            _app(
                "S3_BUCKET",
                "Bucket",
                secret=False,
                default="dream-pixel-images",
                validator=v.s3_bucket,
            ),
            _app(
                "AWS_REGION",
                "Region",
                secret=False,
                default="us-east-1",
                help="AWS region of the bucket; R2 uses auto.",
                validator=v.aws_region,
            ),
            _op(
                "CLOUDFLARE_ACCOUNT_ID",
                "Cloudflare account id",
                secret=False,
                required=True,
                when=("storage", "r2"),
                help="Dashboard → R2 → Account ID; the R2 endpoint derives from it.",
                validator=v.cloudflare_account_id,
            ),
            _app(
                "S3_ENDPOINT",
                "R2 endpoint",
                secret=False,
                required=False,
                source="derived",
                when=("storage", "r2"),
                help="https://<ACCOUNT_ID>.r2.cloudflarestorage.com",
                validator=v.https_url,
            ),
            # Admin credentials for provision mode, typed on the page instead of exported:
            # held in memory or the OS keyring, never in a file (the profile is a name).
            _op(
                "aws_admin_access_key_id",
                "AWS admin access key id (optional)",
                required=False,
                when=("storage_mode", "provision"),
                env_names=("AWS_ACCESS_KEY_ID",),
                help="An admin key that may create the bucket and the IAM user; empty: the "
                "AWS profile below, else the SDK's own chain (AWS_PROFILE, SSO...).",
                validator=v.aws_access_key_id,
            ),
            _op(
                "aws_admin_secret_access_key",
                "AWS admin secret access key (optional)",
                required=False,
                when=("storage_mode", "provision"),
                env_names=("AWS_SECRET_ACCESS_KEY",),
                validator=v.token,
            ),
            _op(
                "aws_profile",
                "AWS profile (optional)",
                secret=False,
                required=False,
                when=("storage_mode", "provision"),
                env_names=("AWS_PROFILE",),
                help="A profile from ~/.aws/config (aws configure / aws sso login), used when "
                "no admin key is given.",
                validator=v.slug,
            ),
            _app(
                "AWS_ACCESS_KEY_ID",
                "Access key id",
                source="provisioned",
                help="The app's own key (not your admin key). Left empty in provision mode.",
                validator=v.aws_access_key_id,
            ),
            _app(
                "AWS_SECRET_ACCESS_KEY",
                "Secret access key",
                source="provisioned",
                validator=v.token,
            ),
        ),
    ),
    Step(
        "cloudflare",
        "Cloudflare",
        "Zone settings: SSL Full (strict), Brotli, Always Use HTTPS, a static-asset cache rule, "
        "and a WAF rule that works on the zone's plan.",
        console_url="https://dash.cloudflare.com",
        guide=(
            "Add the domain to Cloudflare and update the nameservers at the registrar",
            "SSL/TLS: Full (strict) — anything less loops redirects with Vercel",
            "Caching rules for static assets; Brotli on",
            "Security rule: the guide's cf.threat_score rule no longer matches anything; a working "
            "rule is offered instead",
        ),
        fields=(
            _op(
                "CLOUDFLARE_API_TOKEN",
                "API token",
                help="My Profile → API Tokens: Zone Settings:Edit, Zone WAF:Edit, "
                "Cache Rules:Edit.",
                validator=v.cloudflare_api_token,
            ),
            _op(
                "CLOUDFLARE_ZONE",
                "Zone",
                secret=False,
                required=False,
                source="derived",
                help="The domain, e.g. dreampixel.app; defaults to the production URL's domain.",
                validator=v.cloudflare_zone,
            ),
        ),
    ),
    Step(
        "sentry",
        "Sentry",
        "Error tracking: org and project checked, the DSN read from the project's active key.",
        console_url="https://sentry.io/settings/account/api/auth-tokens/",
        guide=(
            "Create a Sentry project (platform Next.js)",
            "Copy the DSN and an auth token (org:read, project:read, project:releases)",
        ),
        fields=(
            _app(
                "SENTRY_ORG",
                "Organization slug",
                secret=False,
                validator=v.slug,
                github_secret=True,
            ),
            _app(
                "SENTRY_PROJECT",
                "Project slug",
                secret=False,
                default="dream-pixel",
                validator=v.slug,
                github_secret=True,
            ),
            _app(
                "SENTRY_AUTH_TOKEN",
                "Auth token",
                validator=v.sentry_token,
                github_secret=True,
                help="Settings → Auth Tokens (sntrys_… or a user token).",
            ),
            _app(
                "SENTRY_DSN",
                "DSN",
                secret=False,
                source="provisioned",
                validator=v.sentry_dsn,
                help="Filled from the project's active key when left empty.",
            ),
            _app(
                "NEXT_PUBLIC_SENTRY_DSN",
                "Public DSN",
                secret=False,
                source="provisioned",
                validator=v.sentry_dsn,
            ),
        ),
    ),
    Step(
        "stripe",
        "Stripe",
        "Payments: live keys checked, the webhook endpoint created once, its secret captured.",
        console_url="https://dashboard.stripe.com/apikeys",
        guide=(
            "Copy the API keys from the Dashboard (live keys for production)",
            "Webhook https://<domain>/api/webhooks/stripe for payment_intent.succeeded, "
            "charge.failed and every customer.subscription event (Stripe has no wildcards: they "
            "are spelled out)",
        ),
        fields=(
            _app("STRIPE_SECRET_KEY", "Secret key", validator=v.stripe_secret_key),
            _app(
                "NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY",
                "Publishable key",
                secret=False,
                validator=v.stripe_publishable_key,
            ),
            _app(
                "STRIPE_WEBHOOK_SECRET",
                "Webhook signing secret",
                source="provisioned",
                validator=v.stripe_webhook_secret,
                help="Captured when the wizard creates the endpoint; Stripe shows it only once.",
            ),
            _choice(
                "stripe_roll_webhook",
                "Roll the webhook secret",
                ("no", "yes"),
                "no",
                required=False,
                help="Delete and recreate the webhook endpoint to get a new signing secret (the "
                "old one stops working).",
            ),
        ),
    ),
    Step(
        "resend",
        "Resend",
        "Email: key checked, the sending domain's verification status and DNS records shown.",
        console_url="https://resend.com/api-keys",
        guide=("Verify your domain at https://resend.com/domains", "Copy an API key"),
        fields=(
            _app("RESEND_API_KEY", "API key", validator=v.resend_key),
            _app(
                "RESEND_FROM",
                "Sending domain",
                secret=False,
                required=False,
                help="The domain mail is sent from; defaults to the production URL's domain.",
            ),
        ),
    ),
    Step(
        "secrets",
        "Secrets",
        "NEXTAUTH_SECRET and JWT_SECRET: 32 random bytes each, generated once and kept.",
        guide=("node -e \"console.log(require('crypto').randomBytes(32).toString('hex'))\"",),
        fields=(
            _app(
                "NEXTAUTH_SECRET",
                "NextAuth secret",
                source="generated",
                validator=v.min_secret,
                help="Generated (64 hex characters) when empty; kept on later runs.",
            ),
            _app("JWT_SECRET", "JWT secret", source="generated", validator=v.min_secret),
        ),
    ),
    Step(
        "env-file",
        "Env file",
        "Write .env.<environment> (mode 0600, git-ignored) exactly as Next.js will read it.",
    ),
    Step(
        "vercel",
        "Vercel",
        "Push every app value to the Vercel project for this environment, in one batch.",
        console_url="https://vercel.com/account/tokens",
        group="push",
        guide=("Vercel Dashboard → Settings → Environment Variables",),
        fields=(
            _op("VERCEL_TOKEN", "Token", validator=v.vercel_token, github_secret=True),
            _op(
                "VERCEL_ORG_ID",
                "Team / org id",
                secret=False,
                required=False,
                github_secret=True,
                validator=v.slug,
                help="team_… for a team project (from .vercel/project.json); empty for a "
                "personal one.",
            ),
            _op(
                "VERCEL_PROJECT_ID",
                "Project id or name",
                secret=False,
                github_secret=True,
                validator=v.slug,
            ),
        ),
    ),
    Step(
        "github",
        "GitHub",
        "Seal the CI values with the repository's key and store them as Actions secrets.",
        console_url="https://github.com/settings/personal-access-tokens",
        group="push",
        guide=("GitHub → Settings → Secrets and variables → Actions",),
        fields=(
            _op(
                "GITHUB_TOKEN",
                "Token",
                validator=v.github_token,
                env_names=("GITHUB_TOKEN", "GH_TOKEN"),
                help="Classic with repo scope, or fine-grained with Secrets: write.",
            ),
            _op(
                "GITHUB_REPOSITORY",
                "Repository",
                secret=False,
                validator=v.github_repository,
                help="owner/name",
            ),
            _op(
                "SNYK_TOKEN",
                "Snyk token (optional)",
                required=False,
                validator=v.token,
                github_secret=True,
            ),
            Field(
                "github_environment",
                "Actions environment (optional)",
                kind="choice",
                secret=False,
                required=False,
                help="Store the secrets in this GitHub environment instead of the repository.",
                validator=v.slug,
            ),
            _choice(
                "github_strict",
                "Fail on workflow secrets nobody set",
                ("no", "yes"),
                "no",
                required=False,
                help="The workflows' secrets.NAME and vars.NAME that are neither pushed here nor "
                "set on GitHub are listed with file and line; yes: they fail the step (this run "
                "only; --strict).",
            ),
        ),
    ),
    Step(
        "migrate",
        "Migrations",
        "Apply the project's Prisma migrations (prisma migrate deploy) over the direct "
        "connection; each pending one is listed first.",
        guide=(
            "npx prisma migrate deploy (over DIRECT_URL, not the transaction pooler)",
            "npx prisma db seed (optional, if the project has a seed)",
        ),
        fields=(
            _choice(
                "db_seed",
                "Seed the database after migrating",
                ("no", "yes"),
                "no",
                required=False,
                help="Runs the project's seed (npx prisma db seed) in this run only: seeds are "
                "rarely safe to run twice.",
            ),
        ),
    ),
    Step(
        "deploy",
        "Deploy",
        "Redeploy production on Vercel when its values changed (Vercel applies them only to new "
        "deployments), and watch the build until it is ready.",
        console_url="https://vercel.com/dashboard",
        guide=("vercel --prod", "vercel ls (deployment status)", "vercel logs (build output)"),
        fields=(
            Field(
                "deploy_timeout",
                "Watch the build for at most (minutes)",
                kind="choice",
                secret=False,
                required=False,
                default="20",
                help="A build still running then is watched again on the next run; no second "
                "deployment is started.",
                validator=v.minutes,
            ),
        ),
    ),
    Step(
        "domain",
        "Domain",
        "Add the production domain (and www.) to the Vercel project and create the DNS records "
        "Vercel asks for: on Cloudflare when the zone is there, else listed for your registrar.",
        console_url="https://vercel.com/docs/projects/domains",
        guide=(
            "Vercel Dashboard → Project → Settings → Domains: add the domain",
            "Add the DNS records Vercel shows (CNAME / A, TXT verification)",
            "Wait for verification and the certificate",
        ),
        fields=(
            _choice(
                "dns_replace",
                "Replace conflicting DNS records",
                ("no", "yes"),
                "no",
                required=False,
                help="Records of the same name with other content are left alone and reported "
                "unless this is yes (this run only).",
            ),
        ),
    ),
    Step(
        "monitoring",
        "Monitoring",
        "Sentry alerts for new issues, regressions, an error rate above 1% and a performance "
        "regression; an uptime check of /api/health on Better Stack when a token is given.",
        console_url="https://sentry.io/alerts/rules/",
        guide=(
            "Sentry: alerts for new issues, regressions, error rate > 1%, performance regression",
            "Alerts mail the issue owners (or the team you name)",
            "Uptime monitoring (Better Uptime / Better Stack): /api/health every 5 minutes",
        ),
        fields=(
            Field(
                "sentry_alert_team",
                "Team the alerts mail (optional)",
                kind="choice",
                secret=False,
                required=False,
                help="A Sentry team slug; empty: each alert mails the issue owners.",
                validator=v.slug,
            ),
            _op(
                "BETTERSTACK_API_TOKEN",
                "Better Stack Uptime API token (optional)",
                required=False,
                validator=v.token,
                help="With it, an uptime monitor of NEXTAUTH_URL/api/health is created; "
                "without, the wizard says what to set up by hand.",
            ),
        ),
    ),
    Step(
        "safeguards",
        "Safeguards",
        "Dependabot alerts and security updates on, a .github/dependabot.yml (npm, weekly) when "
        "the project has none, secret scanning and push protection where the plan allows, and "
        "the Snyk token checked before it is stored.",
        console_url="https://docs.github.com/code-security",
        guide=(
            "GitHub → Settings → Code security: Dependabot alerts and security updates",
            ".github/dependabot.yml: npm, weekly",
            "Secret scanning and push protection (free for public repositories; private ones "
            "need GitHub Secret Protection)",
            "Snyk: SNYK_TOKEN for the security workflow",
        ),
    ),
)

STEP_IDS: tuple[str, ...] = tuple(s.id for s in STEPS)
# The guide's "GitHub Secrets Configuration", from the fields that carry the flag.
GITHUB_SECRET_KEYS: tuple[str, ...] = tuple(
    f.key for s in STEPS for f in s.fields if f.github_secret
)


def step(step_id: str) -> Step:
    for s in STEPS:
        if s.id == step_id:
            return s
    raise KeyError(step_id)


@dataclass
class Catalogue:
    """The built-in fields plus the keys a project's ``.env.example`` adds."""

    steps: tuple[Step, ...] = STEPS
    extra: dict[str, Field] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._by_key: dict[str, Field] = {f.key: f for s in self.steps for f in s.fields}
        self._step_of: dict[str, str] = {f.key: s.id for s in self.steps for f in s.fields}

    def field(self, key: str) -> Field | None:
        return self._by_key.get(key) or self.extra.get(key)

    def step_of(self, key: str) -> str | None:
        return self._step_of.get(key)

    def app_fields(self) -> list[Field]:
        known = [f for s in self.steps for f in s.fields if f.kind == "app"]
        return known + list(self.extra.values())

    def all_fields(self) -> list[Field]:
        return [f for s in self.steps for f in s.fields] + list(self.extra.values())

    def is_secret(self, key: str) -> bool:
        f = self.field(key)
        return True if f is None else f.secret

    def add_unknown(self, keys: Iterable[str]) -> None:
        for key in keys:
            if key not in self._by_key and key not in self.extra:
                self.extra[key] = Field(
                    key, key, kind="app", secret=True, required=False, help="From .env.example"
                )


def load_catalogue(project_dir: Path) -> Catalogue:
    """The built-in catalogue extended by the project's ``.env.example``, if any."""
    from wizard.envfile import load_env_file

    cat = Catalogue()
    example = project_dir / ".env.example"
    if example.is_file():
        cat.add_unknown(k for k in list(load_env_file(example).keys()) if not v.env_key(k))
    return cat
