"""The project's own Prisma CLI (``npx --no-install prisma …``) and Prisma's migrations table.

The CLI runs in the project folder with the connection string in its environment, never in
its argv (``ps`` shows argv to every user). Its output is streamed line by line through a
callback with every secret redacted, and it is bounded: a deadline ends it, and so does a
cancellation (ctrl-c), which stops the whole process group rather than orphaning Node.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from providers.errors import ProviderError

SERVICE = "Prisma Migrate"
# A large migration on a busy database can take minutes; an hour means something is stuck.
DEFAULT_DEADLINE = 60 * 60.0
MAX_LINE = 4000

LineFn = Callable[[str], None]


@dataclass(frozen=True)
class Applied:
    """One row of ``_prisma_migrations``."""

    name: str
    checksum: str
    finished_at: datetime | None
    rolled_back_at: datetime | None


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)


async def run_prisma(
    args: Sequence[str],
    *,
    project_dir: Path,
    env: Mapping[str, str],
    on_line: LineFn,
    redact: Callable[[str], str],
    deadline: float = DEFAULT_DEADLINE,
) -> tuple[int, list[str]]:
    """Run ``npx --no-install prisma ARGS``; return its exit status and last output lines."""
    npx = shutil.which("npx", path=env.get("PATH"))
    if npx is None:
        raise ProviderError(
            SERVICE,
            "npx (Node.js) is not installed",
            hint="install Node.js 20+, run npm ci in the project, then run again",
        )
    proc = await asyncio.create_subprocess_exec(
        npx,
        "--no-install",
        "prisma",
        *args,
        cwd=project_dir,
        env=dict(env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,  # its own process group: one signal stops npx and node
    )
    tail: list[str] = []

    async def pump() -> None:
        assert proc.stdout is not None
        while True:
            raw = await proc.stdout.readline()
            if not raw:
                break
            line = redact(raw.decode("utf-8", "replace").rstrip("\r\n"))[:MAX_LINE]
            tail.append(line)
            del tail[:-40]
            on_line(line)

    try:
        await asyncio.wait_for(pump(), timeout=deadline)
        status = await asyncio.wait_for(proc.wait(), timeout=10)
    except TimeoutError:
        _kill_group(proc)
        with contextlib.suppress(TimeoutError):  # reaped, not left a zombie
            await asyncio.wait_for(proc.wait(), timeout=5)
        span = f"{deadline / 60:g} minutes" if deadline >= 60 else f"{deadline:g} s"
        raise ProviderError(
            SERVICE,
            f"prisma {' '.join(args)} did not finish within {span}",
            hint="check the database for locks (pg_stat_activity), then run again",
        ) from None
    except BaseException:
        _kill_group(proc)
        raise
    if status == 127 or any("prisma: not found" in line for line in tail[-3:]):
        raise ProviderError(
            SERVICE,
            "the project has no Prisma CLI installed (npx --no-install prisma found nothing)",
            hint="run npm ci in the project (prisma is a devDependency), then run again",
        )
    return status, tail


async def read_applied(conn: Any, schema: str = "public") -> list[Applied] | None:
    """The rows of ``<schema>._prisma_migrations`` (``conn``: a psycopg AsyncConnection);
    None when the table does not exist (a database Prisma Migrate never touched)."""
    from psycopg import sql

    async with conn.cursor() as cur:
        await cur.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
            (schema, "_prisma_migrations"),
        )
        if not await cur.fetchone():
            return None
        query = sql.SQL(
            "SELECT migration_name, checksum, finished_at, rolled_back_at FROM {}.{} "
            "ORDER BY started_at, migration_name"
        ).format(sql.Identifier(schema), sql.Identifier("_prisma_migrations"))
        await cur.execute(query)
        rows = await cur.fetchall()
    return [
        Applied(
            str(name),
            str(checksum),
            finished if isinstance(finished, datetime) else None,
            rolled_back if isinstance(rolled_back, datetime) else None,
        )
        for name, checksum, finished, rolled_back in rows
    ]
