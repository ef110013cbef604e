"""The ``vercel`` step: every app value onto the Vercel project, for this environment.

check(): token (GET /v2/user), project and its env list, side by side. run(): compares each
app key with the entry that serves ``ctx.environment`` and sends all adds and updates in
ONE upsert batch. Sensitive values never come back from Vercel, so the step remembers a
keyed digest of what it pushed (plus the entry id and its updatedAt) in ``ctx.memory``;
that is how a later plan can say ``unchanged`` without seeing the value.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from providers.errors import ProviderError
from providers.vercel import (
    DEFAULT_BASE_URL,
    SERVICE,
    TOKEN_HINT,
    EnvVar,
    NewEnv,
    VercelClient,
)
from wizard.context import StepContext, raise_first

TARGET = "vercel"  # the Change target
SCRATCH = "vercel.remote"
READ_CONCURRENCY = 8
# Vercel's total for a deployment's environment variables.
DEPLOYMENT_ENV_LIMIT = 64 * 1024


@dataclass
class Remote:
    project_id: str
    project_name: str
    envs: list[EnvVar]
    # Values read back through one request each (encrypted entries), by entry id: the plan
    # uses what ``readable`` already read instead of asking Vercel again.
    read: dict[str, str] = field(default_factory=dict, repr=False)


@dataclass
class Planned:
    key: str
    value: str = field(repr=False)
    type: str
    action: str = "add"
    detail: str = ""
    # The entry serving our target today, if any.
    entry: EnvVar | None = None
    # That entry also serves other environments: narrow it, then create ours, so the
    # others keep their value and our target never gets a second entry.
    split: bool = False


# -- settings -----------------------------------------------------------------
def _settings(ctx: StepContext) -> tuple[str, str, str | None]:
    token = ctx.require("VERCEL_TOKEN", SERVICE, TOKEN_HINT)
    project = ctx.require(
        "VERCEL_PROJECT_ID",
        SERVICE,
        "set it to the project id (prj_…, in .vercel/project.json) or the project name",
    )
    return token, project, ctx.operator("VERCEL_ORG_ID") or None


C = TypeVar("C", bound=VercelClient)


def scoped_client(ctx: StepContext, cls: type[C], token: str, team: str | None) -> C:
    """A Vercel client (the env one, or the deploy/domain ones built on it) on
    VERCEL_API_URL, scoped to the run's team."""
    base = ctx.base_url("VERCEL_API_URL", DEFAULT_BASE_URL, SERVICE)
    return cls(token, base_url=base, team_id=team)


def _client(ctx: StepContext, token: str, team: str | None) -> VercelClient:
    return scoped_client(ctx, VercelClient, token, team)


def env_type(ctx: StepContext, key: str, target: str) -> str:
    """sensitive for secrets (not allowed on development), plain for NEXT_PUBLIC_ values
    that are public anyway (they end up in the browser bundle), encrypted otherwise."""
    if ctx.catalogue.is_secret(key):
        return "encrypted" if target == "development" else "sensitive"
    return "plain" if key.startswith("NEXT_PUBLIC_") else "encrypted"


# -- check --------------------------------------------------------------------
async def check(ctx: StepContext) -> None:
    token, project, team = _settings(ctx)
    async with _client(ctx, token, team) as client:
        results = await asyncio.gather(
            client.user(), client.project(project), client.list_env(project), return_exceptions=True
        )
    raise_first(results)
    info = cast(dict[str, Any], results[1])
    envs = cast(list[EnvVar], results[2])
    ctx.scratch[SCRATCH] = Remote(
        project_id=str(info.get("id") or project),
        project_name=str(info.get("name") or project),
        envs=envs,
    )


# -- plan ---------------------------------------------------------------------
def _remembered(ctx: StepContext, remote: Remote) -> dict[str, dict[str, Any]]:
    if ctx.memory.get("project") != remote.project_id:
        return {}
    keys = ctx.memory.get("keys")
    return keys if isinstance(keys, dict) else {}


def _same_entry(memo: dict[str, Any] | None, entry: EnvVar) -> bool:
    """True when the remembered push went to this very entry and nobody edited it since."""
    if not memo:
        return False
    if memo.get("id") and memo.get("id") != entry.id:
        return False
    seen = memo.get("updatedAt")
    return seen is None or entry.updated_at is None or seen == entry.updated_at


def _serving(envs: Sequence[EnvVar], target: str) -> dict[str, EnvVar]:
    """The entry that serves ``target`` for each key (branch-specific ones are not ours)."""
    out: dict[str, EnvVar] = {}
    for env in envs:
        if target in env.targets and not env.git_branch and env.key not in out:
            out[env.key] = env
    return out


def _compare(item: Planned, remote_value: str, secret: bool) -> None:
    entry = item.entry
    assert entry is not None
    if remote_value != item.value:
        item.action, item.detail = "update", f"{item.type}: value differs on Vercel"
    elif secret and entry.type == "plain":
        item.action, item.detail = "update", f"type plain → {item.type}"
    else:
        item.action, item.detail = "unchanged", entry.type


def _unseen(entry: EnvVar, memo: dict[str, Any] | None) -> bool:
    """An entry whose value cannot be read back and that no push of ours put there."""
    return entry.value is None and not entry.readable and not memo


def unseen(ctx: StepContext) -> list[str]:
    """After check(): the keys serving this environment whose value Vercel will not show
    (sensitive) and that no push of ours is recorded for. The engine holds those back when
    the value here is generated or a default."""
    remote = ctx.scratch.get(SCRATCH)
    if not isinstance(remote, Remote):
        return []
    memory = _remembered(ctx, remote)
    serving = _serving(remote.envs, ctx.environment)
    return [key for key, entry in serving.items() if _unseen(entry, memory.get(key))]


async def readable(ctx: StepContext, keys: Sequence[str]) -> dict[str, str]:
    """After check(): the value Vercel holds for each of ``keys`` where it can be read (plain,
    or encrypted through one read each) and no push of ours is recorded. The engine uses
    them instead of a generated or default value: they are what production runs with."""
    remote = ctx.scratch.get(SCRATCH)
    if not isinstance(remote, Remote):
        return {}
    memory = _remembered(ctx, remote)
    serving = _serving(remote.envs, ctx.environment)
    entries = {k: e for k in keys if (e := serving.get(k)) and e.readable and not memory.get(k)}
    found = {k: e.value for k, e in entries.items() if e.value is not None}
    unread = [k for k in entries if k not in found]
    if unread:
        token, _, team = _settings(ctx)
        limit = asyncio.Semaphore(READ_CONCURRENCY)

        async def read(key: str) -> None:
            async with limit:
                got = await client.read_env(remote.project_id, entries[key].id, key=key)
            if got.value is not None:
                found[key] = remote.read[entries[key].id] = got.value

        async with _client(ctx, token, team) as client:
            await asyncio.gather(*(read(key) for key in unread))
    return found


async def _plan(ctx: StepContext, client: VercelClient, remote: Remote) -> list[Planned]:
    target = ctx.environment
    serving = _serving(remote.envs, target)
    memory = _remembered(ctx, remote)
    plan: list[Planned] = []
    to_read: list[Planned] = []
    for key, value in ctx.values.app.items():
        item = Planned(key, value, env_type(ctx, key, target))
        plan.append(item)
        entry = serving.get(key)
        if key in ctx.values.held:
            # Left alone: unseen there, and nobody gave the value here (the engine decided).
            item.action, item.detail, item.entry = "keep", ctx.values.held[key], entry
            continue
        if entry is None:
            item.action, item.detail = "add", f"{item.type}, {target}"
            continue
        item.entry = entry
        secret = ctx.catalogue.is_secret(key)
        memo = memory.get(key)
        if _same_entry(memo, entry):
            assert memo is not None
            if memo.get("digest") == ctx.digest(value, key):
                if secret and entry.type == "plain":
                    item.action, item.detail = "update", f"type plain → {item.type}"
                else:
                    item.action, item.detail = "unchanged", entry.type
            else:
                item.action, item.detail = (
                    "update",
                    f"{item.type}: value changed since the last push",
                )
        elif entry.value is not None:
            _compare(item, entry.value, secret)
        elif entry.id in remote.read:
            _compare(item, remote.read[entry.id], secret)
        elif entry.readable:
            to_read.append(item)
        elif memo:
            item.action = "unknown"
            item.detail = "Vercel does not show sensitive values back; edited on Vercel since "
            item.detail += "the last push"
        else:
            item.action = "unknown"
            origin = ctx.values.origin(key, ctx.environment)
            item.detail = f"exists on Vercel, value unseen; replaced by {origin}"

    if to_read:
        limit = asyncio.Semaphore(READ_CONCURRENCY)

        async def read(item: Planned) -> None:
            assert item.entry is not None
            async with limit:
                got = await client.read_env(remote.project_id, item.entry.id, key=item.key)
            if got.value is None:
                item.action, item.detail = "unknown", "Vercel did not return the value"
            else:
                _compare(item, got.value, ctx.catalogue.is_secret(item.key))

        await asyncio.gather(*(read(item) for item in to_read))

    # A dry run does not have the values later steps will produce (webhook secret, access
    # key...): the plan still shows them, apply pushes them once they exist.
    for key, producer in ctx.values.pending.items():
        if key in ctx.values.app or not ctx.dry_run:
            continue
        entry = serving.get(key)
        kind = env_type(ctx, key, target)
        pending = Planned(key, "", kind, "add", f"{kind}, {target}; made by the {producer} step")
        if entry is not None:
            pending.action, pending.entry = "unknown", entry
            pending.detail = f"made by the {producer} step when applied"
        plan.append(pending)

    for item in plan:
        entry = item.entry
        if (
            item.action not in ("unchanged", "keep")
            and entry is not None
            and len(entry.targets) > 1
        ):
            item.split = True
            others = [t for t in entry.targets if t != target]
            keeps = "keeps its" if len(others) == 1 else "keep their"
            item.detail += f"; shared entry split: {' and '.join(others)} {keeps} value"
    return plan


# -- run ----------------------------------------------------------------------
def _scrub(text: str, values: Sequence[str]) -> str:
    # Service messages are shown to the user: make sure none echoes a value back.
    for value in values:
        if len(value) >= 4 and value in text:
            text = text.replace(value, "•••")
    return text[:200]


async def run(ctx: StepContext) -> None:
    if not isinstance(ctx.scratch.get(SCRATCH), Remote):
        await check(ctx)
    remote = cast(Remote, ctx.scratch[SCRATCH])
    token, _, team = _settings(ctx)
    total = sum(len(k.encode()) + len(v.encode()) for k, v in ctx.values.app.items())
    if total > DEPLOYMENT_ENV_LIMIT:
        ctx.notice(
            f"The app values add up to {total // 1024} KB; Vercel allows 64 KB of environment "
            "variables per deployment, so deployments will fail until some are removed."
        )
    async with _client(ctx, token, team) as client:
        plan = await _plan(ctx, client, remote)
        for item in plan:
            ctx.change(TARGET, item.key, item.action, item.detail)
        if ctx.dry_run:
            return
        await _apply(ctx, client, remote, [item for item in plan if item.action != "keep"])


def _memory_keys(ctx: StepContext, remote: Remote) -> dict[str, dict[str, Any]]:
    if ctx.memory.get("project") != remote.project_id or not isinstance(
        ctx.memory.get("keys"), dict
    ):
        ctx.memory["project"] = remote.project_id
        ctx.memory["keys"] = {}
    return cast(dict[str, dict[str, Any]], ctx.memory["keys"])


async def _apply(
    ctx: StepContext, client: VercelClient, remote: Remote, plan: list[Planned]
) -> None:
    target = ctx.environment
    memory = _memory_keys(ctx, remote)
    for item in plan:
        # Learned by reading the value back: remember it so the next plan needs no read.
        if item.action == "unchanged" and item.entry is not None:
            memory[item.key] = {
                "digest": ctx.digest(item.value, item.key),
                "id": item.entry.id,
                "updatedAt": item.entry.updated_at,
            }
    writes = [item for item in plan if item.action != "unchanged"]
    if not writes:
        return
    ctx.progress(0, len(writes), "Vercel: sending the batch")

    splits = [item for item in writes if item.split and item.entry is not None]
    if splits:
        await asyncio.gather(
            *(
                client.set_env_targets(
                    remote.project_id,
                    item.entry.id,
                    [t for t in item.entry.targets if t != target],
                    key=item.key,
                )
                for item in splits
                if item.entry is not None
            )
        )

    result = await client.upsert_env(
        remote.project_id, [NewEnv(item.key, item.value, item.type, (target,)) for item in writes]
    )
    # What counts as pushed is what Vercel confirms: an entry for our target in the answer,
    # or, when the answer leaves a key out (``201 {}``, a partial ``created``, a failure
    # naming no key), one found by reading the project back.
    failed_keys = {f.key for f in result.failed if f.key}
    confirmed = {env.key: env for env in result.created if target in env.targets}
    unsure = [item for item in writes if item.key not in failed_keys and item.key not in confirmed]
    read_back_failed = ""
    if unsure:
        try:
            confirmed.update(await _read_back(client, remote, target, unsure))
        except ProviderError as exc:
            # Still a clean report of what is known; the keys stay unconfirmed.
            read_back_failed = f" (reading them back failed: {exc.message})"
    unconfirmed = [item.key for item in unsure if item.key not in confirmed]
    for item in writes:
        env = confirmed.get(item.key)
        if env is None:
            continue  # never remembered as pushed: the next plan does not call it unchanged
        memory[item.key] = {
            "digest": ctx.digest(item.value, item.key),
            "id": env.id or None,
            "updatedAt": env.updated_at,
        }
    done = sum(1 for item in writes if item.key in confirmed)
    ctx.progress(done, len(writes), "Vercel: batch done")

    problems: list[str] = []
    hints: list[str] = []
    if result.failed:
        values = [item.value for item in writes]
        reasons = "; ".join(
            f"{f.key or '?'} ({f.code}: {_scrub(f.message, values)})" for f in result.failed
        )
        problems.append(f"{len(result.failed)} of {len(writes)} variables were refused: {reasons}")
        hints.append("fix those values and run again")
    if unconfirmed:
        problems.append(
            f"{len(unconfirmed)} of {len(writes)} variables were not confirmed (missing from "
            f"Vercel's answer and not found updated when read back): {', '.join(unconfirmed)}"
            + read_back_failed
        )
        hints.append("run again to push them; they are not recorded as pushed")
    if problems:
        names = list(dict.fromkeys([f.key for f in result.failed if f.key] + unconfirmed))
        others = "; the others were saved" if done else ""
        raise ProviderError(
            SERVICE,
            "; ".join(problems),
            key=", ".join(names) or None,
            hint=" and ".join(hints) + others,
        )


async def _read_back(
    client: VercelClient, remote: Remote, target: str, items: Sequence[Planned]
) -> dict[str, EnvVar]:
    """The entries that prove ``items`` landed: serving ``target``, and new or edited since
    the plan looked (a readable value must also be the one sent)."""
    serving = _serving(await client.list_env(remote.project_id), target)
    found: dict[str, EnvVar] = {}
    for item in items:
        env = serving.get(item.key)
        if env is None:
            continue
        before = item.entry
        if before is not None and env.id == before.id and env.updated_at == before.updated_at:
            continue  # the entry we planned against, untouched: the push did not land
        if env.value is not None and env.value != item.value:
            continue
        found[item.key] = env
    return found
