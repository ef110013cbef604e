"""Engine behaviours found in review: each pins a defect that was fixed."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from providers.errors import RateLimited
from providers.http import RetryPolicy, ServiceClient
from wizard.engine import Inputs, Session, read_input_env_file
from wizard.envfile import EnvDocument, load_env_file, write_env_file

GOOD = {
    "NEXTAUTH_URL": "https://dreampixel.example",
    "DATABASE_URL": "postgresql://u:p%40ss@db.example.com:5432/postgres?sslmode=require",
}


def test_provided_secret_keeps_every_key_the_env_file_step_wrote(tmp_path: Path) -> None:
    session = Session.open(tmp_path, env={}, inputs=Inputs(sets=dict(GOOD)))
    result = asyncio.run(session.apply(["secrets", "env-file"]))
    assert result.ok, result.failures
    written = load_env_file(tmp_path / ".env.production").values()
    # A step that runs later in the same session provides a once-shown secret.
    session._persist_provided("STRIPE_WEBHOOK_SECRET", "whsec_" + "a" * 32)
    after = load_env_file(tmp_path / ".env.production").values()
    assert after == {**written, "STRIPE_WEBHOOK_SECRET": "whsec_" + "a" * 32}


def test_roll_consent_is_not_remembered(tmp_path: Path) -> None:
    session = Session.open(
        tmp_path, env={}, inputs=Inputs(sets={"stripe_roll_webhook": "yes", "storage": "r2"})
    )
    session.save()
    state = json.loads((tmp_path / ".dream-pixel" / "state-production.json").read_text())
    assert state["choices"] == {"storage": "r2"}
    assert Session.open(tmp_path, env={}).choice("stripe_roll_webhook") == "no"


@pytest.mark.parametrize(
    "headers",
    [{"retry-after": "soon"}, {"retry-after-ms": "inf"}, {"retry-after": "1e300"}],
)
def test_nonsense_retry_after_ends_in_a_clean_error(headers: dict[str, str]) -> None:
    def answer(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers=headers, json={"message": "slow down"})

    async def call() -> None:
        async with ServiceClient(
            "Vercel",
            "https://api.vercel.example",
            transport=httpx.MockTransport(answer),
            retry=RetryPolicy(attempts=2, base_delay=0.0, max_delay=0.0),
            sleep=lambda _s: asyncio.sleep(0),
        ) as client:
            await client.request("GET", "/v2/user")

    with pytest.raises(RateLimited) as exc:
        asyncio.run(call())
    assert "Vercel" in str(exc.value)


def test_a_preview_inside_an_apply_session_writes_no_digest_key(tmp_path: Path) -> None:
    session = Session.open(tmp_path, env={}, inputs=Inputs(sets=dict(GOOD)))
    asyncio.run(session.plan(["secrets", "env-file"]))
    assert not (tmp_path / ".dream-pixel").exists()
    asyncio.run(session.apply(["secrets", "env-file"]))
    assert (tmp_path / ".dream-pixel" / "digest.key").exists()


def test_env_file_input_written_by_the_wizard_reads_back_exactly(tmp_path: Path) -> None:
    values = {"A": "pa$$word", "B": "${HOME}", "C": 'it\'s "quoted"'}
    doc = EnvDocument.empty()
    for k, v in values.items():
        doc.set(k, v)
    path = tmp_path / ".env.production"
    write_env_file(path, doc)
    assert read_input_env_file(path) == values


def test_supabase_token_and_password_stand_in_for_database_url(tmp_path: Path) -> None:
    env = {"SUPABASE_ACCESS_TOKEN": "sbp_" + "0" * 40, "SUPABASE_DB_PASSWORD": "pw$ecret"}
    session = Session.open(tmp_path, env=env)
    assert not [p for p in session.problems(["database"]) if p.startswith("DATABASE_URL")]
    without = Session.open(tmp_path, env={"SUPABASE_ACCESS_TOKEN": "sbp_" + "0" * 40})
    assert any(p.startswith("DATABASE_URL: missing") for p in without.problems(["database"]))
    # The password is an operator secret: never on the command line, never an app value.
    assert "database_password" not in session.values.app


def test_a_step_form_with_token_and_password_needs_no_database_url(tmp_path: Path) -> None:
    session = Session.open(tmp_path, env={})
    form = {"SUPABASE_ACCESS_TOKEN": "sbp_" + "1" * 40, "database_password": "pw"}
    assert session.validate_value("DATABASE_URL", "") == "is required"
    assert session.validate_value("DATABASE_URL", "", alongside=form) is None
