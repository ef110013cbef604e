"""The step catalogue and its published form, assets/.env.example."""

from __future__ import annotations

from importlib.resources import files

from wizard.catalogue import STEP_IDS, STEPS, Catalogue, load_catalogue
from wizard.envfile import EnvDocument

GUIDE_KEYS = {
    "DATABASE_URL", "UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN", "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY", "SENTRY_DSN", "NEXT_PUBLIC_SENTRY_DSN", "SENTRY_AUTH_TOKEN",
    "SENTRY_ORG", "SENTRY_PROJECT", "STRIPE_SECRET_KEY", "NEXTAUTH_SECRET", "JWT_SECRET",
    "AWS_REGION", "S3_BUCKET", "S3_ENDPOINT", "STRIPE_WEBHOOK_SECRET",
    "NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY", "RESEND_API_KEY", "NEXTAUTH_URL",
}  # fmt: skip


def test_step_ids_in_guide_order() -> None:
    assert STEP_IDS == (
        "prerequisites", "database", "redis", "storage", "cloudflare", "sentry", "stripe",
        "resend", "secrets", "env-file", "vercel", "github", "migrate", "deploy", "domain",
        "monitoring",
        "safeguards",
    )  # fmt: skip


def test_every_guide_key_is_an_app_field_and_published() -> None:
    cat = Catalogue()
    app_keys = {f.key for f in cat.app_fields()}
    assert app_keys >= GUIDE_KEYS
    example = EnvDocument.parse((files("assets") / ".env.example").read_text())
    assert set(example.keys()) == app_keys


def test_each_field_declared_once_with_help_or_label() -> None:
    keys = [f.key for s in STEPS for f in s.fields]
    assert len(keys) == len(set(keys))
    for s in STEPS:
        for f in s.fields:
            assert f.label
            if f.kind == "choice" and f.choices:
                assert f.default in f.choices


def test_project_env_example_extends_catalogue_as_secret(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / ".env.example").write_text("DATABASE_URL=\nOPENAI_API_KEY=\nFEATURE_FLAG=on\n")
    cat = load_catalogue(tmp_path)
    assert cat.field("OPENAI_API_KEY") is not None
    assert cat.is_secret("OPENAI_API_KEY") and cat.is_secret("FEATURE_FLAG")
    assert cat.field("DATABASE_URL") is Catalogue().field("DATABASE_URL")
