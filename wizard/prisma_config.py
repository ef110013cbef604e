"""Which URL the app's Prisma configuration gives to Prisma Migrate.

Up to Prisma 6 the schema's ``datasource`` block has ``url`` (the app) and ``directUrl``
(the CLI: migrations); without ``directUrl`` migrations use ``url``. From Prisma 7 the CLI
reads ``datasource.url`` in ``prisma.config.ts`` (the app connects through an adapter):
the Prisma 7 upgrade guide moves what was ``directUrl`` there. Through a transaction
pooler Prisma Migrate fails (``prepared statement "s0" already exists``) or hangs on its
advisory lock, so a pooled DATABASE_URL needs the direct one in that place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from wizard.files import read_regular
from wizard.prisma import CONFIG_FILES, schema_path

_MAX = 1024 * 1024

_DATASOURCE = re.compile(r"datasource\s+\w+\s*\{(?P<body>[^}]*)\}", re.S)
_SCHEMA_URL = re.compile(r"^\s*url\s*=\s*env\(\s*\"(?P<name>\w+)\"\s*\)", re.M)
_SCHEMA_DIRECT = re.compile(r"^\s*directUrl\s*=", re.M)
# url: env("X") | env('X') | process.env.X | process.env["X"] (with an optional `!`)
_CONFIG_URL = re.compile(
    r"\burl\s*:\s*(?:env\(\s*[\"'](?P<a>\w+)[\"']\s*\)"
    r"|process\.env(?:\.(?P<b>\w+)|\[\s*[\"'](?P<c>\w+)[\"']\s*\]))"
)


@dataclass(frozen=True)
class MigrationSource:
    file: str  # relative to the project
    variable: str | None  # the env variable migrations connect with
    line: str  # the exact line that makes them use DIRECT_URL


def _text(path: Path) -> str | None:
    try:
        data = read_regular(path, max_bytes=_MAX)
    except Exception:  # a link or a device: not ours to read, and no advice to give
        return None
    return data.decode("utf-8", "replace") if data is not None else None


def migration_source(project: Path) -> MigrationSource | None:
    """Where the app's Prisma setup says migrations connect, or None without Prisma."""
    for name in CONFIG_FILES:
        text = _text(project / name)
        if text is None:
            continue
        block = text[text.find("datasource") :] if "datasource" in text else ""
        direct = re.search(r"\bdirectUrl\s*:\s*(?:env\(\s*[\"'](\w+)|process\.env\.(\w+))", block)
        if direct:
            return MigrationSource(name, direct.group(1) or direct.group(2), "")
        match = _CONFIG_URL.search(block)
        if match:
            variable = match.group("a") or match.group("b") or match.group("c")
            return MigrationSource(name, variable, 'url: env("DIRECT_URL"),')
    relative = schema_path(project)
    text = _text(project / relative)
    if text is None:
        return None
    found = _DATASOURCE.search(text)
    if not found:
        return None
    body = found.group("body")
    if _SCHEMA_DIRECT.search(body):
        direct = re.search(r"directUrl\s*=\s*env\(\s*\"(\w+)\"\s*\)", body)
        return MigrationSource(str(relative), direct.group(1) if direct else None, "")
    url = _SCHEMA_URL.search(body)
    return MigrationSource(
        str(relative), url.group("name") if url else None, 'directUrl = env("DIRECT_URL")'
    )
