"""The ``github`` step: the CI values as GitHub Actions secrets, sealed and PUT in parallel.

check(): token, scopes, repository, (environment), public key and secret names, all side by
side; reading the public key proves the token may manage secrets before anything is sent.
run(): GitHub never shows a secret back, so the step keeps a keyed digest of each value it
stored in ``ctx.memory``: equal digest → ``unchanged``, no digest → ``unknown``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, cast

from providers.errors import AuthError, BadRequest, ProviderError
from providers.github import (
    DEFAULT_BASE_URL,
    MAX_SECRET_BYTES,
    SERVICE,
    TOKEN_HINT,
    GitHubClient,
    SecretsKey,
    require_repo_scope,
    seal,
    split_repository,
)
from wizard.catalogue import GITHUB_SECRET_KEYS
from wizard.context import StepContext, raise_first
from wizard.workflows import Reference, Scan, scan_workflows

TARGET = "github"
SCRATCH = "github.remote"
# Bounded: GitHub allows 100 concurrent requests and counts writes heavier.
PUT_CONCURRENCY = 10
OPTIONAL = frozenset({"SNYK_TOKEN"})


@dataclass
class Remote:
    repo: str
    environment: str | None
    key: SecretsKey
    names: dict[str, str]  # secret name -> updated_at
    # What the workflows may also read, by name; None: the token could not list them.
    repo_secrets: set[str] | None = None  # the repository's, when an environment is chosen
    variables: set[str] | None = None  # repository (and environment) variables
    workflows: Scan = field(default_factory=lambda: Scan([], []))


@dataclass
class Planned:
    name: str
    value: str = field(repr=False)
    action: str = "add"
    detail: str = ""


def _settings(ctx: StepContext) -> tuple[str, str, str | None]:
    token = ctx.require("GITHUB_TOKEN", SERVICE, TOKEN_HINT)
    repo = ctx.require("GITHUB_REPOSITORY", SERVICE, "set it to owner/name")
    split_repository(repo)
    return token, repo.strip(), ctx.choice("github_environment") or None


def _client(ctx: StepContext, token: str) -> GitHubClient:
    base = ctx.base_url("GITHUB_API_URL", DEFAULT_BASE_URL, SERVICE)
    return GitHubClient(token, base_url=base, max_connections=PUT_CONCURRENCY)


def desired_secrets(ctx: StepContext) -> list[Planned]:
    """The secrets to store, in the guide's order; a missing required one is an error."""
    out: list[Planned] = []
    missing: list[str] = []
    for name in GITHUB_SECRET_KEYS:
        value = ctx.values.get(name)
        if value:
            if len(value.encode()) > MAX_SECRET_BYTES:
                raise BadRequest(
                    SERVICE,
                    f"{name} is larger than GitHub's 48 KB limit for a secret",
                    key=name,
                    hint="shorten the value",
                )
            out.append(Planned(name, value))
            continue
        if name in ctx.values.pending and ctx.dry_run:
            # Produced by an earlier step when applied: the plan shows it, apply pushes it.
            out.append(Planned(name, "", detail=f"made by the {ctx.values.pending[name]} step"))
            continue
        f = ctx.catalogue.field(name)
        if name not in OPTIONAL and (f is None or f.required):
            missing.append(name)
    if missing:
        raise ProviderError(
            SERVICE,
            f"no value for {', '.join(missing)}, needed as GitHub Actions secret"
            + ("s" if len(missing) > 1 else ""),
            key=", ".join(missing),
            hint="enter the value (or set it in the environment) and run again",
        )
    return out


async def check(ctx: StepContext) -> None:
    token, repo, environment = _settings(ctx)
    desired_secrets(ctx)  # offline: fail before any call when a value is missing
    async with _client(ctx, token) as client:
        calls: list[Any] = [client.user(), client.repository(repo)]
        if environment:
            calls.append(client.environment(repo, environment))
        calls += [client.public_key(repo, environment), client.secret_names(repo, environment)]
        results = await asyncio.gather(*calls, return_exceptions=True)
    raise_first(results[:1])
    _, scopes = cast(tuple[dict[str, Any], frozenset[str] | None], results[0])
    require_repo_scope(
        scopes,
        "add the repo scope at https://github.com/settings/tokens, or use a "
        "fine-grained token with Secrets: read and write",
    )
    raise_first(results[1:])
    remote = Remote(
        repo=repo,
        environment=environment,
        key=cast(SecretsKey, results[-2]),
        names=cast(dict[str, str], results[-1]),
        workflows=scan_workflows(ctx.project_dir),
    )
    if remote.workflows.references:
        await _read_names(ctx, token, remote)
    ctx.scratch[SCRATCH] = remote


async def _read_names(ctx: StepContext, token: str, remote: Remote) -> None:
    """The other names a workflow may use: repository secrets (besides an environment's) and
    variables. Only needed to judge the workflows, so a refusal is a notice, not a failure."""
    repo, environment = remote.repo, remote.environment
    async with _client(ctx, token) as client:
        calls: list[Any] = [client.variable_names(repo)]
        if environment:
            calls += [client.variable_names(repo, environment), client.secret_names(repo)]
        results = await asyncio.gather(*calls, return_exceptions=True)
    for r in results:
        if isinstance(r, BaseException) and not isinstance(r, ProviderError):
            raise r
    failed = [r for r in results if isinstance(r, ProviderError)]
    for err in dict.fromkeys(str(e) for e in failed):
        ctx.notice(f"the workflows were not fully checked: {err}")
    variables = [r for r in results[: 2 if environment else 1] if isinstance(r, dict)]
    if len(variables) == (2 if environment else 1):
        remote.variables = {n for names in variables for n in names}
    if environment:
        remote.repo_secrets = set(results[2]) if isinstance(results[2], dict) else None
    else:
        remote.repo_secrets = set(remote.names)


def _memory_keys(ctx: StepContext, remote: Remote) -> dict[str, dict[str, Any]]:
    """This repo/environment's remembered digests (reset when either changes)."""
    scope = {"repo": remote.repo, "environment": remote.environment or ""}
    if any(ctx.memory.get(k) != v for k, v in scope.items()) or not isinstance(
        ctx.memory.get("keys"), dict
    ):
        if ctx.dry_run:
            return {}
        ctx.memory.update(scope)
        ctx.memory["keys"] = {}
    return cast(dict[str, dict[str, Any]], ctx.memory["keys"])


def _remembered(ctx: StepContext, remote: Remote) -> dict[str, Any]:
    """Read only: this repo/environment's remembered digests, or none."""
    scope = {"repo": remote.repo, "environment": remote.environment or ""}
    keys = ctx.memory.get("keys")
    if any(ctx.memory.get(k) != v for k, v in scope.items()) or not isinstance(keys, dict):
        return {}
    return keys


def unseen(ctx: StepContext) -> list[str]:
    """After check(): the CI secrets that exist there (GitHub never shows a value) with no
    push of ours recorded. The engine holds those back when the value here is generated or
    a default; an operator's value (VERCEL_TOKEN from the environment) is given, and goes."""
    remote = ctx.scratch.get(SCRATCH)
    if not isinstance(remote, Remote):
        return []
    memory = _remembered(ctx, remote)
    return [name for name in GITHUB_SECRET_KEYS if name in remote.names and name not in memory]


def _plan(ctx: StepContext, remote: Remote, wanted: list[Planned]) -> None:
    memory = _memory_keys(ctx, remote)
    where = f"environment {remote.environment}" if remote.environment else "repository"
    for item in wanted:
        memo = memory.get(item.name)
        if item.name in ctx.values.held:
            # Left alone: unseen there, and nobody gave the value here (the engine decided).
            item.action, item.detail = "keep", ctx.values.held[item.name]
        elif not item.value:  # pending: the value does not exist yet
            item.action = "unknown" if item.name in remote.names else "add"
        elif item.name not in remote.names:
            item.action, item.detail = "add", f"{where} secret"
        elif memo and memo.get("digest") == ctx.digest(item.value, item.name):
            item.action, item.detail = "unchanged", f"{where} secret"
        elif memo:
            item.action, item.detail = "update", "value changed since the last push"
        else:
            item.action = "unknown"
            origin = ctx.values.origin(item.name, ctx.environment)
            item.detail = f"exists on GitHub, value unseen; replaced by {origin}"


def _workflow_gaps(ctx: StepContext, remote: Remote, wanted: list[Planned]) -> list[Reference]:
    """List each secret/variable a workflow uses that nothing provides, with file and line."""
    scan = remote.workflows
    for problem in scan.unreadable:
        ctx.notice(f"workflow not checked: {problem}")
    gaps: list[Reference] = []
    if remote.repo_secrets is not None:
        pushed = {item.name for item in wanted}
        present = set(remote.names) | remote.repo_secrets | pushed
        gaps += scan.missing("secrets", present)
    if remote.variables is not None:
        gaps += scan.missing("vars", remote.variables)
    for ref in gaps:
        kind = "workflow-secret" if ref.kind == "secrets" else "workflow-variable"
        ctx.change(TARGET, f"{kind}:{ref.name}", "missing", ref.where, kind="resource")
    return gaps


def _strict_failure(gaps: list[Reference]) -> ProviderError:
    names = ", ".join(f"{r.name} ({r.where})" for r in gaps)
    secrets = any(r.kind == "secrets" for r in gaps)
    variables = any(r.kind == "vars" for r in gaps)
    what = " and ".join(w for w, on in (("secrets", secrets), ("variables", variables)) if on)
    return ProviderError(
        SERVICE,
        f"the workflows use {what} set nowhere: {names}",
        key=", ".join(dict.fromkeys(r.name for r in gaps)),
        hint="add them under the repository's Settings → Secrets and variables → Actions, "
        "or run without --strict (organization secrets and variables are not read: if they "
        "come from the organization, that is why)",
    )


async def run(ctx: StepContext) -> None:
    if not isinstance(ctx.scratch.get(SCRATCH), Remote):
        await check(ctx)
    remote = cast(Remote, ctx.scratch[SCRATCH])
    wanted = desired_secrets(ctx)
    if not ctx.values.get("VERCEL_ORG_ID"):
        ctx.notice(
            "VERCEL_ORG_ID is not set, so it is not stored in GitHub; the Vercel CLI in CI "
            "needs it for a team project (the team id, team_…)."
        )
    _plan(ctx, remote, wanted)
    for item in wanted:
        ctx.change(TARGET, item.name, item.action, item.detail)
    gaps = _workflow_gaps(ctx, remote, wanted)
    if gaps and ctx.choice("github_strict") == "yes":
        # Before any push: a strict run changes nothing while a workflow would fail.
        raise _strict_failure(gaps)
    if ctx.dry_run:
        return
    writes = [item for item in wanted if item.action not in ("unchanged", "keep")]
    if not writes:
        return
    token, _, _ = _settings(ctx)
    memory = _memory_keys(ctx, remote)
    limit = asyncio.Semaphore(PUT_CONCURRENCY)
    done = 0
    ctx.progress(0, len(writes), "GitHub: storing secrets")

    async def store(item: Planned, client: GitHubClient) -> bool:
        nonlocal done
        async with limit:
            sealed = seal(remote.key.key, item.value)
            created = await client.put_secret(
                remote.repo, item.name, sealed, remote.key.key_id, remote.environment
            )
        # Recorded one by one, so a failure of another secret keeps this one done.
        memory[item.name] = {"digest": ctx.digest(item.value, item.name)}
        done += 1
        ctx.progress(done, len(writes), item.name)
        return created

    async with _client(ctx, token) as client:
        results = await asyncio.gather(
            *(store(item, client) for item in writes), return_exceptions=True
        )
    errors = [
        (item.name, r)
        for item, r in zip(writes, results, strict=True)
        if isinstance(r, BaseException)
    ]
    if not errors:
        return
    for _, err in errors:
        if not isinstance(err, ProviderError):
            raise err
    if len(errors) == 1 or all(isinstance(e, AuthError) for _, e in errors):
        raise errors[0][1]  # one cause (a refused token is GITHUB_TOKEN's fault, not each key's)
    first = cast(ProviderError, errors[0][1])
    raise ProviderError(
        SERVICE,
        f"{len(errors)} of {len(writes)} secrets were not stored: "
        + ", ".join(name for name, _ in errors)
        + f" ({first.message})",
        key=", ".join(name for name, _ in errors),
        hint=first.hint or "run again; the others were stored",
        status=first.status,
    )
