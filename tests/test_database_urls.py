"""Database URLs that work for a Prisma app and for its migrations (issue 10.1).

- The vendors' Prisma parameters on pooler URLs, and DIRECT_URL derived (pure functions).
- A real PgBouncer in transaction mode in front of the real PostgreSQL: the pooled URL with
  its Prisma parameters passes the live check, and DIRECT_URL reaches the server itself.
- Through the real CLI: a pasted Neon pooled URL (its host names reached through
  hostaddr=127.0.0.1, no DNS) gives DATABASE_URL and DIRECT_URL in the env file and on
  Vercel, and the Prisma schema gets the line that makes migrations use DIRECT_URL.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

from providers.database_urls import for_prisma, is_pooled, libpq_url
from providers.supabase import pooler_url
from tests.stepctx import make_ctx
from wizard.prisma_config import migration_source
from wizard.steps import database

pytest.register_assert_rewrite("tests.pg_server", "tests.e2e_world")

from tests.e2e_world import World  # noqa: E402
from tests.pg_server import Bouncer, PgServer  # noqa: E402

pytest_plugins = ("tests.pg_server", "tests.e2e_world")

POOLER = "aws-0-eu-west-1.pooler.supabase.com"
PW = "p@ss:w/rd?#"
NEON_POOLED = "ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech"
NEON_DIRECT = "ep-cool-darkness-123456.us-east-2.aws.neon.tech"


# -- the URLs ----------------------------------------------------------------------------


def test_supabase_transaction_pooler_gets_prisma_parameters_and_a_session_direct_url() -> None:
    built = pooler_url(
        {"db_user": "postgres.ref", "db_host": POOLER, "db_port": 6543, "pool_mode": "transaction"},
        PW,
    )
    urls = for_prisma(built)
    assert urls.database_url == (
        f"postgresql://postgres.ref:{quote(PW, safe='')}@{POOLER}:6543/postgres"
        "?sslmode=require&pgbouncer=true&connection_limit=1"
    )
    assert urls.direct_url == (
        f"postgresql://postgres.ref:{quote(PW, safe='')}@{POOLER}:5432/postgres?sslmode=require"
    )
    assert urls.added == ("pgbouncer", "connection_limit") and is_pooled(urls.database_url)
    assert not is_pooled(urls.direct_url)
    # Applied again: nothing more to add (a rerun changes nothing).
    again = for_prisma(urls.database_url)
    assert again.database_url == urls.database_url and again.added == ()
    assert again.direct_url == urls.direct_url


def test_a_pasted_pooler_url_keeps_what_it_says() -> None:
    pasted = f"postgres://postgres.ref:x@{POOLER}:6543/postgres?connection_limit=3&sslmode=require"
    urls = for_prisma(pasted)
    assert urls.database_url == pasted + "&pgbouncer=true"
    assert urls.direct_url == f"postgres://postgres.ref:x@{POOLER}:5432/postgres?sslmode=require"
    # A session-mode URL on the same host is not a transaction pooler: left alone.
    session = pasted.replace(":6543/", ":5432/")
    assert for_prisma(session).database_url == session and for_prisma(session).direct_url is None


def test_neon_pooled_host_gets_what_neon_documents_and_its_direct_host() -> None:
    urls = for_prisma(f"postgresql://alex:AbC123dEf@{NEON_POOLED}/neondb")
    assert urls.database_url == (
        f"postgresql://alex:AbC123dEf@{NEON_POOLED}/neondb?sslmode=require&connect_timeout=15"
    )
    assert urls.direct_url == (
        f"postgresql://alex:AbC123dEf@{NEON_DIRECT}/neondb?sslmode=require&connect_timeout=15"
    )
    assert "pgbouncer" not in urls.database_url


def test_direct_and_unknown_hosts_are_left_alone() -> None:
    for url in (
        "postgresql://postgres:x@db.abcdefghijklmnop.supabase.co:5432/postgres?sslmode=require",
        f"postgresql://alex:x@{NEON_DIRECT}/neondb?sslmode=require",
        "postgresql://u:x@db.example.com:6543/app?sslmode=require",
    ):
        urls = for_prisma(url)
        assert urls.database_url == url and urls.direct_url is None and urls.added == ()


def test_libpq_url_drops_prisma_only_parameters_and_keeps_the_rest_verbatim() -> None:
    url = (
        "postgresql://u:p%40ss@h:6543/db?sslmode=require&pgbouncer=true&connection_limit=1"
        "&pool_timeout=10&schema=public&socket_timeout=5&statement_cache_size=0"
        "&connect_timeout=15&application_name=a%20b"
    )
    assert libpq_url(url) == (
        "postgresql://u:p%40ss@h:6543/db?sslmode=require&connect_timeout=15&application_name=a%20b"
    )
    with pytest.raises(psycopg.ProgrammingError):  # what libpq says without the cleaning
        psycopg.conninfo.conninfo_to_dict(url)
    psycopg.conninfo.conninfo_to_dict(libpq_url(url))


# -- a real PgBouncer in transaction mode ---------------------------------------------------


def test_pooled_url_with_prisma_parameters_passes_through_pgbouncer(
    tmp_path: Path, pgbouncer: Bouncer, pg_ssl: PgServer
) -> None:
    pooled = pgbouncer.url("sslmode=require&pgbouncer=true&connection_limit=1&pool_timeout=10")
    ctx = make_ctx("database", tmp_path, app={"DATABASE_URL": pooled, "DIRECT_URL": pg_ssl.url()})
    asyncio.run(database.run(ctx))

    through_bouncer: database.ServerInfo = ctx.scratch[database.SERVER]
    direct = ctx.scratch[database.DIRECT_SERVER]
    assert through_bouncer.port == str(pgbouncer.port) and through_bouncer.ssl
    # PgBouncer offers SCRAM without channel binding: SCRAM is still required.
    assert through_bouncer.scram and not through_bouncer.channel_binding
    assert direct.port == str(pg_ssl.port) and direct.channel_binding
    with psycopg.connect(pg_ssl.url()) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
    assert through_bouncer.version == direct.version == version
    assert any(n.startswith("Database (DIRECT_URL, migrations):") for n in ctx.notices)
    # The given URLs are kept as they are (no Supabase/Neon host: nothing to add).
    assert ctx.scratch["provided"] == {}
    # SET LOCAL: the pooled server connection keeps no statement_timeout of ours.
    with psycopg.connect(libpq_url(pooled), prepare_threshold=None, autocommit=True) as conn:
        assert conn.execute("SHOW statement_timeout").fetchone() == ("0",)


def test_a_wrong_direct_url_blames_direct_url(
    tmp_path: Path, pgbouncer: Bouncer, pg_ssl: PgServer
) -> None:
    ctx = make_ctx(
        "database",
        tmp_path,
        app={
            "DATABASE_URL": pgbouncer.url("sslmode=require&pgbouncer=true"),
            "DIRECT_URL": pg_ssl.url(password="wrong-password"),
        },
    )
    with pytest.raises(database.ProviderError) as err:
        asyncio.run(database.check(ctx))
    assert err.value.key == "DIRECT_URL" and "password authentication failed" in str(err.value)


# -- the Prisma configuration ---------------------------------------------------------------


SCHEMA = """generator client {
  provider = "prisma-client-js"
}

datasource db {
  provider = "postgresql"
  url      = env("DATABASE_URL")
}
"""


def test_prisma_configurations_are_read(tmp_path: Path) -> None:
    assert migration_source(tmp_path) is None
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "schema.prisma").write_text(SCHEMA)
    (tmp_path / "package.json").write_text('{"prisma": {"schema": "db/schema.prisma"}}')
    source = migration_source(tmp_path)
    assert source and source.file == "db/schema.prisma" and source.variable == "DATABASE_URL"
    assert source.line == 'directUrl = env("DIRECT_URL")'
    (tmp_path / "db" / "schema.prisma").write_text(
        SCHEMA.replace(
            'env("DATABASE_URL")\n', 'env("DATABASE_URL")\n  directUrl = env("DIRECT_URL")\n'
        )
    )
    assert migration_source(tmp_path).variable == "DIRECT_URL"  # type: ignore[union-attr]
    (tmp_path / "prisma.config.ts").write_text(
        'import { defineConfig, env } from "prisma/config"\n'
        'export default defineConfig({\n  schema: "db/schema.prisma",\n'
        '  datasource: { url: env("DATABASE_URL") },\n})\n'
    )
    seven = migration_source(tmp_path)
    assert seven and seven.file == "prisma.config.ts" and seven.variable == "DATABASE_URL"
    assert seven.line == 'url: env("DIRECT_URL"),'


# -- through the CLI: env file and Vercel ---------------------------------------------------


def test_neon_pooled_url_gives_both_urls_to_the_env_file_and_vercel(
    world: World, monkeypatch: pytest.MonkeyPatch, pgbouncer: Bouncer, pg_ssl: PgServer
) -> None:
    (world.project_dir / "prisma").mkdir()
    (world.project_dir / "prisma" / "schema.prisma").write_text(SCHEMA)
    # Neon's names, our PgBouncer (no DNS: hostaddr); the URL verifies with its own CA.
    query = f"sslmode=verify-full&sslrootcert={pg_ssl.base / 'server.crt'}&hostaddr=127.0.0.1"
    credentials = f"{pg_ssl.user}:{quote(pg_ssl.password, safe='')}"
    pasted = f"postgresql://{credentials}@{NEON_POOLED}:{pgbouncer.port}/postgres?{query}"
    only = ("--only", "database,env-file,vercel")

    code, out, err = world.cli(
        monkeypatch, "apply", "--yes", *only, "--set", f"DATABASE_URL={pasted}"
    )
    assert code == 0, err
    env = world.env_values()
    assert env["DATABASE_URL"] == pasted + "&connect_timeout=15"
    assert env["DIRECT_URL"] == (
        f"postgresql://{credentials}@{NEON_DIRECT}:{pgbouncer.port}/postgres?{query}"
        "&connect_timeout=15"
    )
    on_vercel = world.vercel_values()
    assert on_vercel["DATABASE_URL"] == [env["DATABASE_URL"]]
    assert on_vercel["DIRECT_URL"] == [env["DIRECT_URL"]]
    shown = out + err
    assert "prisma/schema.prisma runs migrations through the pooled DATABASE_URL" in shown
    assert 'add directUrl = env("DIRECT_URL") to its datasource' in shown
    assert f"{NEON_DIRECT}:{pgbouncer.port} over SSL (certificate verified" in shown
    assert pg_ssl.password not in shown and quote(pg_ssl.password, safe="") not in shown

    # Again, from the env file alone: nothing left to change for the database.
    code, out, err = world.cli(monkeypatch, "plan", "--json", *only, inputs=False)
    assert code == 0, err
    changes = json.loads(out)["changes"]
    about = [c for c in changes if "DIRECT_URL" in json.dumps(c) or "DATABASE_URL" in json.dumps(c)]
    assert about and all(c["action"] in ("unchanged", "check") for c in about), about


def test_supabase_dedicated_pooler_gets_the_same_and_the_database_as_direct_url() -> None:
    host = "db.abcdefghijklmnop.supabase.co"
    urls = for_prisma(f"postgresql://postgres:x@{host}:6543/postgres?sslmode=require")
    assert urls.database_url.endswith("?sslmode=require&pgbouncer=true&connection_limit=1")
    assert urls.direct_url == f"postgresql://postgres:x@{host}:5432/postgres?sslmode=require"


def test_pasted_supabase_pooler_url_gets_prisma_parameters_and_a_session_direct_url(
    world: World, monkeypatch: pytest.MonkeyPatch, pgbouncer: Bouncer, pg_ssl: PgServer
) -> None:
    # Supabase's pooler name on :6543, reached at our PgBouncer: hostaddr and a port
    # parameter (libpq's override of the URL's port) are test devices, so the session
    # pooler (:5432, same query) is that PgBouncer too. The URL verifies with its own CA.
    query = (
        f"sslmode=verify-full&sslrootcert={pg_ssl.base / 'server.crt'}"
        f"&hostaddr=127.0.0.1&port={pgbouncer.port}"
    )
    credentials = f"{pg_ssl.user}:{quote(pg_ssl.password, safe='')}"
    pasted = f"postgresql://{credentials}@{POOLER}:6543/postgres?{query}"
    only = ("--only", "database,env-file,vercel")

    code, out, err = world.cli(
        monkeypatch, "plan", "--json", *only, "--set", f"DATABASE_URL={pasted}"
    )
    assert code in (0, 2), err
    planned = {
        (c.get("resource"), c["action"])
        for c in json.loads(out)["changes"]
        if c["target"] == "database"
    }
    assert ("DATABASE_URL", "update") in planned and ("DIRECT_URL", "create") in planned
    assert world.vercel_values() == {} and not world.env_path.exists()

    code, out, err = world.cli(
        monkeypatch, "apply", "--yes", *only, "--set", f"DATABASE_URL={pasted}"
    )
    assert code == 0, err
    env = world.env_values()
    assert env["DATABASE_URL"] == pasted + "&pgbouncer=true&connection_limit=1"
    assert env["DIRECT_URL"] == f"postgresql://{credentials}@{POOLER}:5432/postgres?{query}"
    on_vercel = world.vercel_values()
    assert on_vercel["DATABASE_URL"] == [env["DATABASE_URL"]]
    assert on_vercel["DIRECT_URL"] == [env["DIRECT_URL"]]
    assert f"{POOLER}:{pgbouncer.port} over SSL (certificate verified, SCRAM)" in out + err


def test_a_pooled_url_with_no_direct_url_asks_for_one(tmp_path: Path, pgbouncer: Bouncer) -> None:
    (tmp_path / "prisma").mkdir()
    (tmp_path / "prisma" / "schema.prisma").write_text(SCHEMA)
    ctx = make_ctx(
        "database", tmp_path, app={"DATABASE_URL": pgbouncer.url("sslmode=require&pgbouncer=true")}
    )
    asyncio.run(database.run(ctx))
    (notice,) = [n for n in ctx.notices if n.startswith("Prisma:")]
    assert 'add directUrl = env("DIRECT_URL") to its datasource' in notice
    assert "set DIRECT_URL too (--set DIRECT_URL=…" in notice
