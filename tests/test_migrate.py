"""The `migrate` step against a real PostgreSQL, through the real CLI.

The project is a fixture Prisma app whose `prisma` command (node_modules/.bin, reached by
`npx --no-install` as in a real project) applies the SQL files and records them in
`_prisma_migrations` exactly as Prisma Migrate does (tests/fake_prisma.py): Prisma's engines
download from a host these machines cannot reach. The wizard's reading side runs against
the real table.
"""

from __future__ import annotations

import json
import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from providers.errors import ProviderError
from tests.pg_server import PgServer
from wizard.cli import main
from wizard.envfile import format_assignment

FIXTURE = Path(__file__).parent / "fixtures" / "prisma_app"
FAKE_PRISMA = Path(__file__).parent / "fake_prisma.py"
INIT = "20240101000000_init"
GENERATIONS = "20240201000000_generations"

pytest_plugins = ("tests.pg_server",)
pytestmark = pytest.mark.skipif(shutil.which("npx") is None, reason="needs Node.js's npx")


@pytest.fixture
def database(pg_nossl: PgServer) -> Iterator[str]:
    """A fresh database on the tests' server; its URL (loopback: no SSL needed)."""
    name = "mig_" + uuid.uuid4().hex[:12]
    admin = pg_nossl.url(sslmode=None)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield pg_nossl.url(sslmode=None).rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
def project(tmp_path: Path) -> Path:
    app = tmp_path / "app"
    shutil.copytree(FIXTURE, app)
    bin_dir = app / "node_modules" / ".bin"
    bin_dir.mkdir(parents=True)
    prisma = bin_dir / "prisma"
    prisma.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_PRISMA}" "$@"\n')
    prisma.chmod(0o755)
    return app


def inputs(tmp_path: Path, **values: str) -> Path:
    path = tmp_path / "inputs.env"
    path.write_text("".join(format_assignment(k, v) + "\n" for k, v in values.items()))
    return path


def cli(project: Path, *args: str) -> int:
    return main(["--project-dir", str(project), *args, "--only", "migrate"])


def rows(url: str) -> list[tuple[str, bool]]:
    with psycopg.connect(url) as conn:
        return [
            (name, finished is not None)
            for name, finished in conn.execute(
                "SELECT migration_name, finished_at FROM _prisma_migrations ORDER BY migration_name"
            )
        ]


def plan_json(project: Path, env_file: Path, capsys: pytest.CaptureFixture[str]) -> dict:
    assert cli(project, "plan", "--json", "--env-file", str(env_file)) in (0, 2)
    return json.loads(capsys.readouterr().out)


def test_pending_listed_applied_once_then_not_listed(
    project: Path, database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env_file = inputs(tmp_path, DIRECT_URL=database, DATABASE_URL=database)
    plan = plan_json(project, env_file, capsys)
    applies = [c for c in plan["changes"] if c["action"] == "apply"]
    assert applies == [
        {"target": "database", "resource": f"migration:{INIT}", "action": "apply",
         "detail": "pending in prisma/migrations"},
        {"target": "database", "resource": f"migration:{GENERATIONS}", "action": "apply",
         "detail": "pending in prisma/migrations"},
    ]  # fmt: skip
    with psycopg.connect(database) as conn:  # the plan only read: no table was made
        assert conn.execute("SELECT to_regclass('_prisma_migrations')").fetchone() == (None,)

    assert cli(project, "apply", "--yes", "--env-file", str(env_file)) == 0
    err = capsys.readouterr().err
    assert f"migrate │ Applying migration `{INIT}`" in err
    assert "All migrations have been successfully applied." in err
    assert rows(database) == [(INIT, True), (GENERATIONS, True)]

    plan = plan_json(project, env_file, capsys)
    assert not [c for c in plan["changes"] if c["action"] == "apply"]
    assert cli(project, "apply", "--yes", "--env-file", str(env_file)) == 0
    assert "Applying migration" not in capsys.readouterr().err  # prisma was not run again
    assert rows(database) == [(INIT, True), (GENERATIONS, True)]


def test_a_new_migration_after_a_full_apply_is_applied(
    project: Path, database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env_file = inputs(tmp_path, DIRECT_URL=database, DATABASE_URL=database)
    assert cli(project, "apply", "--yes", "--env-file", str(env_file)) == 0
    later = project / "prisma" / "migrations" / "20240301000000_prompt_index"
    later.mkdir()
    (later / "migration.sql").write_text('CREATE INDEX "idx_prompt" ON "generations"("prompt");\n')
    capsys.readouterr()
    plan = plan_json(project, env_file, capsys)
    assert [c["resource"] for c in plan["changes"] if c["action"] == "apply"] == [
        "migration:20240301000000_prompt_index"
    ]


def test_a_failed_migration_blocks_with_the_guides_advice(
    project: Path, database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env_file = inputs(tmp_path, DIRECT_URL=database, DATABASE_URL=database)
    broken = project / "prisma" / "migrations" / GENERATIONS / "migration.sql"
    good = broken.read_text()
    broken.write_text('CREATE TABLE "generations" ("id" TEXT REFERENCES nowhere(id));\n')
    assert cli(project, "apply", "--yes", "--env-file", str(env_file)) == 1
    err = capsys.readouterr().err
    assert "Error: P3018" in err  # prisma's own output, streamed
    assert rows(database) == [(INIT, True), (GENERATIONS, False)]

    broken.write_text(good)
    for command in ("plan", "apply"):
        extra = ("--yes",) if command == "apply" else ()
        assert cli(project, command, *extra, "--env-file", str(env_file)) == 1
        err = capsys.readouterr().err
        assert f"migration {GENERATIONS} is recorded as failed" in err
        assert f"npx prisma migrate resolve --rolled-back {GENERATIONS}" in err
        assert "Traceback" not in err


def test_the_password_never_shows_in_prismas_output(
    project: Path,
    database: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    pg_nossl: PgServer,
) -> None:
    monkeypatch.setenv("FAKE_PRISMA_ECHO_URL", "1")  # the child prints the whole URL
    env_file = inputs(tmp_path, DIRECT_URL=database, DATABASE_URL=database)
    assert cli(project, "apply", "--yes", "--env-file", str(env_file)) == 0
    captured = capsys.readouterr()
    assert 'PostgreSQL database at "postgresql://' in captured.err
    from urllib.parse import quote

    for text in (captured.out, captured.err):
        assert pg_nossl.password not in text
        assert quote(pg_nossl.password, safe="") not in text


def test_seed_runs_only_when_asked_and_only_that_run(
    project: Path, database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env_file = inputs(tmp_path, DIRECT_URL=database, DATABASE_URL=database)
    assert cli(project, "apply", "--yes", "--env-file", str(env_file)) == 0
    assert "seed" not in capsys.readouterr().err

    args = ("--env-file", str(env_file), "--set", "db_seed=yes")
    plan = plan_json(project, env_file, capsys)  # without the choice: no seed planned
    assert not [c for c in plan["changes"] if c.get("resource") == "seed"]
    assert cli(project, "plan", "--json", *args) in (0, 2)
    seed = [
        c for c in json.loads(capsys.readouterr().out)["changes"] if c.get("resource") == "seed"
    ]
    assert seed and seed[0]["action"] == "apply"
    assert cli(project, "apply", "--yes", *args) == 0
    assert "The seed command has been executed." in capsys.readouterr().err
    assert cli(project, "apply", "--yes", "--env-file", str(env_file)) == 0
    assert "seed" not in capsys.readouterr().err  # consent held for that run only
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (1,)


def test_seed_asked_for_but_not_declared(
    project: Path, database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    package = json.loads((project / "package.json").read_text())
    del package["prisma"]
    (project / "package.json").write_text(json.dumps(package))
    env_file = inputs(tmp_path, DIRECT_URL=database, DATABASE_URL=database)
    assert cli(project, "apply", "--yes", "--env-file", str(env_file), "--set", "db_seed=yes") == 0
    out = capsys.readouterr()
    assert "the project declares no seed" in out.out + out.err
    assert "The seed command has been executed." not in out.err


def test_a_transaction_pooler_without_direct_url_is_refused(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pooled = (
        "postgresql://postgres.abcdefghijklmnop:secret-pw@aws-0-eu-west-1.pooler.supabase.com"
        ":6543/postgres?sslmode=require&pgbouncer=true"
    )
    env_file = inputs(tmp_path, DATABASE_URL=pooled)
    assert cli(project, "plan", "--env-file", str(env_file)) == 1
    err = capsys.readouterr().err
    assert "DIRECT_URL" in err and "transaction pooler" in err
    assert "secret-pw" not in err


def test_a_project_without_migrations_runs_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = tmp_path / "plain-app"
    app.mkdir()
    (app / "package.json").write_text("{}")
    assert main(["--project-dir", str(app), "plan", "--only", "migrate"]) == 0
    out = capsys.readouterr()
    assert "Plan: nothing to do." in out.out
    assert "the project has no Prisma migrations" in out.err


@pytest.mark.parametrize("name", ["prisma.config.ts", "prisma.config.mts", "prisma.config.mjs"])
def test_a_seed_declared_in_any_prisma_config_file_is_found(tmp_path: Path, name: str) -> None:
    from wizard.prisma import declared_seed

    (tmp_path / "package.json").write_text("{}")
    assert declared_seed(tmp_path) is None
    (tmp_path / name).write_text(
        'export default defineConfig({ migrations: { seed: "tsx prisma/seed.ts" } })\n'
    )
    assert declared_seed(tmp_path) == "tsx prisma/seed.ts"


# -- the database step of the same run provides the URL ---------------------------------------
POOLED = (
    "postgresql://postgres.abcdefghijklmnop:secret-pw@aws-0-eu-west-1.pooler.supabase.com"
    ":6543/postgres?sslmode=require&pgbouncer=true"
)


def migrate_ctx(project: Path, *, run_steps: set[str], dry_run: bool, **app: str):
    from tests.stepctx import make_ctx

    ctx = make_ctx("migrate", project, app=app, dry_run=dry_run)
    ctx.run_steps = frozenset(run_steps)
    return ctx


def test_with_the_database_step_in_the_run_the_check_waits_for_its_urls(
    project: Path, database: str
) -> None:
    """A pasted transaction-pooler URL (no DIRECT_URL) or a URL built from the Supabase
    project: the database step provides DIRECT_URL/DATABASE_URL in its run, so the migrations
    are read after it, not refused before it."""
    import asyncio

    from wizard.steps import migrate

    ctx = migrate_ctx(
        project, run_steps={"database", "migrate"}, dry_run=False, DATABASE_URL=POOLED
    )
    asyncio.run(migrate.check(ctx))  # no refusal, and nothing read yet
    assert migrate.PROJECT not in ctx.scratch
    ctx.values.set_app("DIRECT_URL", database, "provisioned")  # what database.run provides
    ctx.dry_run = True  # list, do not apply
    asyncio.run(migrate.run(ctx))
    pending = [c.name for c in ctx.changes if c.action == "apply"]
    assert pending and all(name.startswith("migration:") for name in pending)

    # Without the database step in the run, the refusal stands (nothing would provide it).
    alone = migrate_ctx(project, run_steps={"migrate"}, dry_run=True, DATABASE_URL=POOLED)
    with pytest.raises(ProviderError, match="transaction pooler"):
        asyncio.run(migrate.check(alone))


def test_a_dry_run_lists_over_the_direct_url_the_database_step_will_provide(
    project: Path,
) -> None:
    from providers.database_urls import for_prisma
    from wizard.steps import migrate

    ctx = migrate_ctx(project, run_steps={"database", "migrate"}, dry_run=True, DATABASE_URL=POOLED)
    ctx.values.pending["DIRECT_URL"] = "database"  # what database.run says in a dry run
    url, key = migrate.migration_url(ctx)
    assert (url, key) == (for_prisma(POOLED).direct_url, "DIRECT_URL")
    assert ":5432/" in url


def test_a_dry_run_before_the_url_is_built_says_when_it_lists(project: Path) -> None:
    import asyncio

    from wizard.steps import migrate

    ctx = migrate_ctx(project, run_steps={"database", "migrate"}, dry_run=True)
    ctx.values.pending["DATABASE_URL"] = "database"  # built from the Supabase project
    asyncio.run(migrate.check(ctx))
    asyncio.run(migrate.run(ctx))
    assert any("listed once the database step has built DATABASE_URL" in n for n in ctx.notices)
    assert ctx.changes == []


def test_a_prisma_that_never_ends_is_stopped_at_its_deadline_and_reaped(tmp_path: Path) -> None:
    import asyncio
    import os
    import time

    from providers.prisma_cli import run_prisma

    bin_dir = tmp_path / "node_modules" / ".bin"
    bin_dir.mkdir(parents=True)
    (tmp_path / "package.json").write_text("{}")
    hang = bin_dir / "prisma"
    hang.write_text("#!/bin/sh\necho applying\nexec sleep 60\n")
    hang.chmod(0o755)
    lines: list[str] = []
    started = time.monotonic()
    with pytest.raises(ProviderError) as err:
        asyncio.run(
            run_prisma(
                ["migrate", "deploy"],
                project_dir=tmp_path,
                env={"PATH": os.environ["PATH"]},
                on_line=lines.append,
                redact=lambda line: line,
                deadline=1.5,
            )
        )
    assert time.monotonic() - started < 15
    assert "did not finish within 1.5 s" in str(err.value)
    assert lines == ["applying"]
