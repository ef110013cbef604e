"""A stand-in for the Prisma CLI (``npx --no-install prisma``) for machines without Prisma's
engines (they download from binaries.prisma.sh, which the test machines cannot reach).

``migrate deploy`` behaves as Prisma Migrate does against PostgreSQL: it reads the schema's
datasource (``directUrl`` when the schema has one, else ``url``), creates
``_prisma_migrations`` with Prisma's own DDL, refuses to run while a migration is recorded as
failed (P3009), and applies each pending migration folder in name order, recording it as
Prisma does (row first, ``finished_at`` and ``applied_steps_count`` after, ``logs`` on a
failure: P3018). ``db seed`` runs the project's declared seed (here: inserts a user).
The reading side of the wizard runs against this real table.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import uuid
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg

PRISMA_ONLY = {"pgbouncer", "connection_limit", "pool_timeout", "schema", "socket_timeout"}
DDL = """
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)
"""


def schema_file() -> Path:
    package = json.loads(Path("package.json").read_text())
    return Path(package.get("prisma", {}).get("schema") or "prisma/schema.prisma")


def datasource_url(schema: Path) -> str:
    text = schema.read_text()
    direct = re.search(r'directUrl\s*=\s*env\("([^"]+)"\)', text)
    url = re.search(r'url\s*=\s*env\("([^"]+)"\)', text)
    name = (direct or url).group(1)  # type: ignore[union-attr]
    value = os.environ.get(name)
    if not value:
        print(f"Error: Environment variable not found: {name}.", file=sys.stderr)
        sys.exit(1)
    return value


def connect(url: str) -> tuple[psycopg.Connection, str]:
    parts = urlsplit(url)
    query = parse_qsl(parts.query)
    schema = dict(query).get("schema", "public")
    plain = urlunsplit(
        parts._replace(query=urlencode([(k, v) for k, v in query if k not in PRISMA_ONLY]))
    )
    conn = psycopg.connect(plain, autocommit=True)
    conn.execute(f'SET search_path TO "{schema}"')
    return conn, schema


def migrate_deploy() -> int:
    schema = schema_file()
    url = datasource_url(schema)
    print(f"Prisma schema loaded from {schema}")
    parts = urlsplit(url)
    if os.environ.get("FAKE_PRISMA_ECHO_URL"):
        # Some tools print the whole URL: the wizard must redact it.
        print(f'Datasource "db": PostgreSQL database at "{url}"')
    else:
        where = f"{parts.hostname}:{parts.port}"
        print(f'Datasource "db": PostgreSQL database "{parts.path.lstrip("/")}" at "{where}"')
    folder = schema.parent / "migrations"
    migrations = sorted(p for p in folder.iterdir() if (p / "migration.sql").is_file())
    print(f"\n{len(migrations)} migrations found in {folder}\n")
    conn, _ = connect(url)
    conn.execute(DDL)
    failed = conn.execute(
        'SELECT migration_name, started_at FROM "_prisma_migrations" '
        "WHERE finished_at IS NULL AND rolled_back_at IS NULL"
    ).fetchall()
    if failed:
        print(
            "Error: P3009\n\nmigrate found failed migrations in the target database, new "
            "migrations will not be applied. Read more about how to resolve migration issues "
            "in a production database: https://pris.ly/d/migrate-resolve"
        )
        for name, started in failed:
            print(f"The `{name}` migration started at {started} failed")
        return 1
    applied = {
        row[0]
        for row in conn.execute(
            'SELECT migration_name FROM "_prisma_migrations" '
            "WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL"
        )
    }
    pending = [m for m in migrations if m.name not in applied]
    if not pending:
        print("No pending migrations to apply.")
        return 0
    done: list[str] = []
    for migration in pending:
        script = (migration / "migration.sql").read_bytes()
        row_id = str(uuid.uuid4())
        conn.execute(
            'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, '
            "applied_steps_count) VALUES (%s, %s, %s, now(), 0)",
            (row_id, hashlib.sha256(script).hexdigest(), migration.name),
        )
        print(f"Applying migration `{migration.name}`")
        try:
            conn.execute(script.decode())  # type: ignore[call-overload]
        except psycopg.Error as exc:
            conn.execute(
                'UPDATE "_prisma_migrations" SET logs = %s WHERE id = %s', (str(exc), row_id)
            )
            print(
                f"Error: P3018\n\nA migration failed to apply. New migrations cannot be "
                f"applied before the error is recovered from.\n\nMigration name: "
                f"{migration.name}\n\nDatabase error: {exc}"
            )
            return 1
        conn.execute(
            'UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 '
            "WHERE id = %s",
            (row_id,),
        )
        done.append(migration.name)
    print("\nThe following migration(s) have been applied:\n\nmigrations/")
    for name in done:
        print(f"  └─ {name}/\n    └─ migration.sql")
    print("\nAll migrations have been successfully applied.")
    return 0


def db_seed() -> int:
    package = json.loads(Path("package.json").read_text())
    seed = package.get("prisma", {}).get("seed")
    if not seed:
        print("No seed command configured")
        return 0
    print(f"Running seed command `{seed}` ...")
    conn, _ = connect(datasource_url(schema_file()))
    conn.execute(
        "INSERT INTO users (id, email) VALUES (%s, %s)",
        (str(uuid.uuid4()), f"seed-{uuid.uuid4()}@example.com"),
    )
    print("\n🌱  The seed command has been executed.")
    return 0


def main(argv: list[str]) -> int:
    if argv[:2] == ["migrate", "deploy"]:
        return migrate_deploy()
    if argv[:2] == ["db", "seed"]:
        return db_seed()
    print(f"fake prisma: unsupported command {' '.join(argv)}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
