"""The project's Prisma migrations, and which of them ``prisma migrate deploy`` would apply.

Read from the project (``prisma/migrations/*/migration.sql``, or beside the schema that
``package.json``'s ``prisma.schema`` names) and compared with the rows of the database's
``_prisma_migrations`` table exactly as Prisma Migrate reads them: a row with
``finished_at`` set and no ``rolled_back_at`` is applied; one with neither is a failed
migration, which blocks every later deploy until it is resolved; a rolled-back row is
ignored (the migration is applied again). Migrations are applied in folder-name order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from providers.prisma_cli import Applied
from wizard.errors import SetupError
from wizard.files import read_regular

DEFAULT_SCHEMA = Path("prisma") / "schema.prisma"
# Prisma 7's configuration file, under any of the names it accepts.
CONFIG_FILES = ("prisma.config.ts", "prisma.config.mts", "prisma.config.js", "prisma.config.mjs")
MAX_MIGRATIONS = 5000
MAX_SQL_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Migration:
    name: str  # the folder name, e.g. 20240101000000_init
    checksum: str  # sha256 of migration.sql, hex, as Prisma records it


@dataclass
class MigrationPlan:
    pending: list[Migration] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    # Applied, then edited in the project: Prisma warns and does not apply them again.
    modified: list[str] = field(default_factory=list)
    # In the database but not in the project (another branch, a deleted folder).
    unknown: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PrismaProject:
    schema: Path  # relative to the project
    migrations: tuple[Migration, ...]
    seed: str | None  # the seed command the project declares, if any

    @property
    def migrations_dir(self) -> Path:
        return self.schema.parent / "migrations"


def _package_json(project_dir: Path) -> dict[str, object]:
    try:
        data = read_regular(project_dir / "package.json", what="package.json")
    except SetupError:
        return {}
    if not data:
        return {}
    try:
        parsed = json.loads(data)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _prisma_section(package: dict[str, object]) -> dict[str, object]:
    section = package.get("prisma")
    return section if isinstance(section, dict) else {}


def _inside(project_dir: Path, relative: str) -> Path | None:
    """``relative`` as a path inside the project, or None when it leaves it."""
    candidate = (project_dir / relative).resolve()
    try:
        return candidate.relative_to(project_dir.resolve())
    except ValueError:
        return None


def schema_path(project_dir: Path) -> Path:
    """The schema file, relative to the project: package.json's ``prisma.schema`` (a file,
    or a folder holding a multi-file schema) when set, else ``prisma/schema.prisma``."""
    configured = _prisma_section(_package_json(project_dir)).get("schema")
    if isinstance(configured, str) and configured.strip():
        inside = _inside(project_dir, configured.strip())
        if inside is not None:
            if (project_dir / inside).is_dir():
                return inside / "schema.prisma"
            return inside
    return DEFAULT_SCHEMA


def declared_seed(project_dir: Path) -> str | None:
    """The seed command: package.json's ``prisma.seed`` (Prisma up to 6) or the
    ``seed`` of the Prisma config file (Prisma 7), whichever the project declares."""
    seed = _prisma_section(_package_json(project_dir)).get("seed")
    if isinstance(seed, str) and seed.strip():
        return seed.strip()
    import re

    for name in CONFIG_FILES:
        try:
            config = read_regular(project_dir / name, what=name)
        except SetupError:
            continue
        if config:
            m = re.search(rb"""\bseed\s*:\s*(['"`])(.+?)\1""", config)
            if m:
                return m.group(2).decode("utf-8", "replace")
    return None


def checksum(sql: bytes) -> str:
    return hashlib.sha256(sql).hexdigest()


def read_project(project_dir: Path) -> PrismaProject | None:
    """The project's migrations, or None when it has none (no Prisma Migrate to run)."""
    schema = schema_path(project_dir)
    folder = project_dir / schema.parent / "migrations"
    if folder.is_symlink() or not folder.is_dir():
        return None
    migrations: list[Migration] = []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if not entry.is_dir() or entry.is_symlink():
            continue
        sql = read_regular(
            entry / "migration.sql",
            what=f"{schema.parent.as_posix()}/migrations/{entry.name}/migration.sql",
            max_bytes=MAX_SQL_BYTES,
        )
        if sql is None:
            continue  # Prisma skips a folder without migration.sql too
        migrations.append(Migration(entry.name, checksum(sql)))
        if len(migrations) > MAX_MIGRATIONS:
            raise SetupError(f"{folder}: more than {MAX_MIGRATIONS} migrations")
    if not migrations:
        return None
    return PrismaProject(schema, tuple(migrations), declared_seed(project_dir))


def compare(project: Iterable[Migration], applied: Iterable[Applied]) -> MigrationPlan:
    """What ``prisma migrate deploy`` would do, from the folders and the table's rows."""
    plan = MigrationPlan()
    rows: dict[str, list[Applied]] = {}
    for row in applied:
        rows.setdefault(row.name, []).append(row)
    local = {m.name for m in project}
    for name, history in rows.items():
        if any(r.finished_at is None and r.rolled_back_at is None for r in history):
            plan.failed.append(name)
        if name not in local and any(r.finished_at and not r.rolled_back_at for r in history):
            plan.unknown.append(name)
    for migration in project:
        done = [r for r in rows.get(migration.name, []) if r.finished_at and not r.rolled_back_at]
        if not done:
            if migration.name not in plan.failed:
                plan.pending.append(migration)
        elif all(r.checksum != migration.checksum for r in done):
            plan.modified.append(migration.name)
    plan.failed.sort()
    plan.unknown.sort()
    return plan
