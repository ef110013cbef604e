"""Step "database" against real PostgreSQL servers (SSL on and off) and a fake Supabase API."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import psycopg
import pytest

from providers.errors import AuthError, NetworkError, NotFound, ProviderError
from providers.postgres import SSLRefused, classify, scrub
from tests.fakes.supabase import FakeProject, FakeSupabase
from tests.stepctx import make_ctx
from wizard.context import StepContext
from wizard.steps import database
from wizard.steps.database import pooler_url

if TYPE_CHECKING:
    from tests.pg_server import PgServer

# The session-scoped servers (pg_ssl, pg_nossl); conftest may import them too.
pytest_plugins = ("tests.pg_server",)

TOKEN = "sbp_" + "f" * 40


def ctx_for(tmp_path: Path, url: str | None = None, **kw: object) -> StepContext:
    app = {"DATABASE_URL": url} if url else {}
    return make_ctx("database", tmp_path, app=app, **kw)  # type: ignore[arg-type]


def everything_shown(ctx: StepContext, err: BaseException | None = None) -> str:
    parts = [json.dumps([c.to_json() for c in ctx.changes]), *ctx.notices, json.dumps(ctx.memory)]
    if err is not None:
        parts += [str(err), getattr(err, "hint", ""), repr(err.args)]
    return "\n".join(parts)


def assert_hidden(text: str, password: str) -> None:
    for form in {password, quote(password, safe=""), quote(password)}:
        assert form not in text


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- DATABASE_URL given --------------------------------------------------------------


def test_right_password_connects_over_ssl_and_reports_version(
    tmp_path: Path, pg_ssl: PgServer
) -> None:
    ctx = ctx_for(tmp_path, pg_ssl.url())
    asyncio.run(database.run(ctx))

    with psycopg.connect(pg_ssl.url()) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
    assert any(f"PostgreSQL {version}" in n and "over SSL" in n for n in ctx.notices)
    assert [(c.name, c.action) for c in ctx.changes] == [("database connection", "check")]
    assert ctx.memory["server_version"] == version
    assert ctx.scratch["provided"] == {}
    assert_hidden(everything_shown(ctx), pg_ssl.password)


def test_check_then_run_connects_once_and_run_alone_checks(
    tmp_path: Path, pg_ssl: PgServer
) -> None:
    ctx = ctx_for(tmp_path, pg_ssl.url())
    asyncio.run(database.check(ctx))
    assert database.CHECKED in ctx.scratch
    asyncio.run(database.run(ctx))
    assert len([n for n in ctx.notices if n.startswith("Database:")]) == 1


def test_wrong_password_says_so_without_any_password(tmp_path: Path, pg_ssl: PgServer) -> None:
    wrong = "Wr0ng:p@ss/word?x"
    ctx = ctx_for(tmp_path, pg_ssl.url(password=wrong))
    with pytest.raises(AuthError) as err:
        asyncio.run(database.run(ctx))
    assert err.value.service == "PostgreSQL" and err.value.key == "DATABASE_URL"
    assert "password authentication failed" in str(err.value)
    assert "password is wrong" in err.value.hint
    assert_hidden(everything_shown(ctx, err.value), wrong)
    assert_hidden(everything_shown(ctx, err.value), pg_ssl.password)


def test_server_without_ssl_is_refused_when_url_requires_it(
    tmp_path: Path, pg_nossl: PgServer
) -> None:
    ctx = ctx_for(tmp_path, pg_nossl.url(sslmode="require"))
    with pytest.raises(SSLRefused) as err:
        asyncio.run(database.check(ctx))
    assert "refused SSL" in str(err.value) and err.value.key == "DATABASE_URL"
    assert_hidden(everything_shown(ctx, err.value), pg_nossl.password)


def test_loopback_without_sslmode_connects_in_clear(tmp_path: Path, pg_nossl: PgServer) -> None:
    ctx = ctx_for(tmp_path, pg_nossl.url(sslmode=None))
    asyncio.run(database.run(ctx))
    assert any("without SSL (loopback)" in n for n in ctx.notices)


def test_unreachable_port_is_a_network_error(tmp_path: Path, pg_ssl: PgServer) -> None:
    ctx = ctx_for(tmp_path, pg_ssl.url(port=free_port()))
    with pytest.raises(NetworkError) as err:
        asyncio.run(database.check(ctx))
    assert not isinstance(err.value, SSLRefused)
    assert "could not reach 127.0.0.1:" in str(err.value) and "Connection refused" in str(err.value)
    assert_hidden(everything_shown(ctx, err.value), pg_ssl.password)


def test_missing_database_is_named(tmp_path: Path, pg_ssl: PgServer) -> None:
    url = pg_ssl.url().replace("/postgres?", "/nosuchdb?")
    with pytest.raises(NotFound) as err:
        asyncio.run(database.check(ctx_for(tmp_path, url)))
    assert "nosuchdb" in str(err.value)


def test_supabase_direct_host_failure_suggests_the_pooler() -> None:
    # No DNS lookup here (tests never leave 127.0.0.1): libpq's own words, classified.
    url = "postgresql://postgres:hunter2-secret@db.abcdefghijklmnop.supabase.co:5432/postgres?sslmode=require"
    exc = psycopg.OperationalError(
        'connection is bad: connection to server at "2600:1f18::1", port 5432 failed: '
        "Network is unreachable\n\tIs the server running on that host and accepting TCP/IP "
        "connections?"
    )
    err = classify(exc, url)
    assert isinstance(err, NetworkError)
    assert "IPv6-only" in err.hint and "pooler.supabase.com:6543" in err.hint
    assert "postgres.abcdefghijklmnop" in err.hint
    assert "hunter2-secret" not in str(err) + err.hint


def test_errors_quoting_the_dsn_are_scrubbed() -> None:
    url = "postgresql://app:s%40cret%2Fpw@127.0.0.1:1/db?sslmode=require"
    text = (
        'invalid connection option "x" in postgresql://app:s%40cret%2Fpw@127.0.0.1:1/db '
        "and password=s@cret/pw host=h and password='s@cret/pw'"
    )
    out = scrub(text, url)
    assert "s@cret" not in out and "s%40cret" not in out and "cret%2Fpw" not in out
    err = classify(psycopg.OperationalError(text), url)
    assert "s@cret" not in str(err) and "s%40cret" not in str(err)


def test_unparseable_url_is_a_clear_error_without_the_password(tmp_path: Path) -> None:
    url = "postgresql://app:topsecret99@127.0.0.1:5432/db?sslmode=require&bogus_option=1"
    with pytest.raises(ProviderError) as err:
        asyncio.run(database.check(ctx_for(tmp_path, url)))
    assert err.value.key == "DATABASE_URL" and "topsecret99" not in str(err.value)


def test_missing_url_and_no_token(tmp_path: Path) -> None:
    with pytest.raises(ProviderError) as err:
        asyncio.run(database.check(ctx_for(tmp_path)))
    assert err.value.key == "DATABASE_URL" and "SUPABASE_ACCESS_TOKEN" in err.value.hint


# -- Supabase Management API ---------------------------------------------------------


def supabase_ctx(tmp_path: Path, api: str, password: str, **kw: object) -> StepContext:
    choices = {"supabase_project": "abcdefghijklmnopqrst", **kw.pop("choices", {})}  # type: ignore[dict-item]
    return make_ctx(
        "database",
        tmp_path,
        operator={"SUPABASE_ACCESS_TOKEN": TOKEN, "database_password": password},
        choices=choices,
        env={"SUPABASE_API_URL": api},
        **kw,  # type: ignore[arg-type]
    )


def fake_for(pg: PgServer) -> FakeSupabase:
    return FakeSupabase(
        TOKEN,
        [
            FakeProject(
                "abcdefghijklmnopqrst",
                "dream-pixel",
                db_host=pg.host,
                db_port=pg.port,
                db_user=pg.user,
            ),
            FakeProject("zyxwvutsrqponmlkjihg", "other"),
        ],
    )


def test_supabase_token_builds_pooler_url_and_provides_it(tmp_path: Path, pg_ssl: PgServer) -> None:
    with fake_for(pg_ssl) as fake:
        ctx = supabase_ctx(tmp_path, fake.url, pg_ssl.password)
        asyncio.run(database.run(ctx))
        assert all(r.bearer == TOKEN for r in fake.requests())
        assert fake.requests("GET", "/config/database/pooler$")

    url = ctx.scratch["provided"]["DATABASE_URL"]
    assert url == (
        f"postgresql://{pg_ssl.user}:{quote(pg_ssl.password, safe='')}@{pg_ssl.host}:{pg_ssl.port}"
        "/postgres?sslmode=require"
    )
    assert ctx.values.app_source["DATABASE_URL"] == "provisioned"
    assert ("DATABASE_URL", "create") in [(c.name, c.action) for c in ctx.changes]
    assert ctx.memory["supabase_project"] == "abcdefghijklmnopqrst"
    assert_hidden(everything_shown(ctx), pg_ssl.password)
    assert TOKEN not in everything_shown(ctx)


def test_supabase_dry_run_marks_url_pending_and_provides_nothing(
    tmp_path: Path, pg_ssl: PgServer
) -> None:
    with fake_for(pg_ssl) as fake:
        ctx = supabase_ctx(tmp_path, fake.url, pg_ssl.password, dry_run=True)
        asyncio.run(database.run(ctx))
    assert ctx.values.pending == {"DATABASE_URL": "database"}
    assert ctx.scratch["provided"] == {}
    assert "DATABASE_URL" not in ctx.values.app


def test_supabase_wrong_password_blames_the_password(tmp_path: Path, pg_ssl: PgServer) -> None:
    with fake_for(pg_ssl) as fake:
        ctx = supabase_ctx(tmp_path, fake.url, "not-the-password")
        with pytest.raises(AuthError) as err:
            asyncio.run(database.check(ctx))
    assert err.value.key == "database_password"
    assert_hidden(everything_shown(ctx, err.value), "not-the-password")


def test_supabase_bad_token(tmp_path: Path, pg_ssl: PgServer) -> None:
    with fake_for(pg_ssl) as fake:
        ctx = supabase_ctx(tmp_path, fake.url, pg_ssl.password)
        ctx.values.operator["SUPABASE_ACCESS_TOKEN"] = "sbp_" + "0" * 40
        with pytest.raises(AuthError) as err:
            asyncio.run(database.check(ctx))
    assert err.value.service == "Supabase" and err.value.key == "SUPABASE_ACCESS_TOKEN"
    assert "account/tokens" in err.value.hint
    assert "0" * 40 not in str(err.value)


def test_supabase_project_must_be_chosen_among_several(tmp_path: Path, pg_ssl: PgServer) -> None:
    with fake_for(pg_ssl) as fake:
        ctx = supabase_ctx(tmp_path, fake.url, pg_ssl.password)
        ctx.values.choices.pop("supabase_project")
        with pytest.raises(ProviderError) as err:
            asyncio.run(database.check(ctx))
        unknown = supabase_ctx(
            tmp_path, fake.url, pg_ssl.password, choices={"supabase_project": "nope"}
        )
        with pytest.raises(NotFound) as err2:
            asyncio.run(database.check(unknown))
    assert (
        err.value.key == "supabase_project"
        and "abcdefghijklmnopqrst (dream-pixel)" in err.value.hint
    )
    assert err2.value.key == "supabase_project"


def test_list_projects_for_the_tui(tmp_path: Path, pg_ssl: PgServer) -> None:
    with fake_for(pg_ssl) as fake:
        ctx = supabase_ctx(tmp_path, fake.url, pg_ssl.password)
        projects = asyncio.run(database.supabase_projects(ctx))
        direct = asyncio.run(database.list_projects(TOKEN, fake.url))
    assert [p.ref for p in projects] == ["abcdefghijklmnopqrst", "zyxwvutsrqponmlkjihg"]
    assert projects == direct and projects[0].name == "dream-pixel"


def test_pooler_url_uses_transaction_port_and_encodes_the_password() -> None:
    session_mode = [
        {
            "database_type": "READ_REPLICA",
            "db_user": "postgres.ref",
            "db_host": "replica.example",
            "db_port": 5432,
            "db_name": "postgres",
            "pool_mode": "session",
        },
        {
            "database_type": "PRIMARY",
            "db_user": "postgres.ref",
            "db_host": "aws-0-eu-west-1.pooler.supabase.com",
            "db_port": 5432,
            "db_name": "postgres",
            "pool_mode": "session",
        },
    ]
    url = pooler_url(session_mode, "p@ss:w/rd?#")
    assert url == (
        "postgresql://postgres.ref:p%40ss%3Aw%2Frd%3F%23@aws-0-eu-west-1.pooler.supabase.com:6543"
        "/postgres?sslmode=require"
    )
    with pytest.raises(ProviderError):
        pooler_url(session_mode, "")
    assert re.search(r":6543/", pooler_url(session_mode[1], "x"))
