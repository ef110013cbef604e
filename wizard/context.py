"""What a step sees while it runs: the values, its own remembered state, the mode.

Every step module in ``wizard/steps/`` exposes::

    async def check(ctx: StepContext) -> None   # optional: cheap live reads only
    async def run(ctx: StepContext) -> None     # plan (dry run) or apply

``check`` runs for all selected steps side by side before the first mutation. ``run``
must honour ``ctx.dry_run``: read what is there, report every change with
``ctx.change``, and mutate nothing when it is true. Values a step creates (a webhook
secret, an access key) go through ``ctx.provide`` — the engine writes them to the env
file at once, so a secret shown only once is never lost to a later failure.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from providers.errors import ProviderError
from providers.urls import checked_base_url
from wizard.catalogue import Catalogue
from wizard.changes import Change
from wizard.values import ValueStore

ProgressFn = Callable[[str, int, int, str], None]  # step id, done, total, label
OutputFn = Callable[[str, str], None]  # step id, one line of a child process's output


@dataclass
class StepContext:
    step_id: str
    environment: str
    project_dir: Path
    dry_run: bool
    values: ValueStore
    catalogue: Catalogue
    env: Mapping[str, str]
    # This step's remembered, non-secret data from the state file (ids, digests).
    memory: dict[str, Any]
    digest_key: bytes
    changes: list[Change] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    # Shared between check() and run() of the same step within one run.
    scratch: dict[str, Any] = field(default_factory=dict)
    on_progress: ProgressFn | None = None
    on_provide: Callable[[str, str], None] | None = None
    on_checkpoint: Callable[[], None] | None = None
    # A line of a child process's output (prisma): the apply log in the TUI, stderr in the CLI.
    on_output: OutputFn | None = None
    # Every change reported so far in this run, by every step (shared, growing): a later
    # step can see what an earlier one did or plans (deploy after the Vercel push).
    run_changes: list[Change] = field(default_factory=list)
    # The steps this run takes (a step may need what an earlier one of them provides).
    run_steps: frozenset[str] = frozenset()

    # -- reading values ------------------------------------------------------
    def app(self, key: str) -> str | None:
        return self.values.app.get(key)

    def operator(self, key: str) -> str | None:
        return self.values.operator.get(key)

    def choice(self, key: str) -> str | None:
        value = self.values.choices.get(key)
        if value is None:
            f = self.catalogue.field(key)
            value = f.default if f else None
        return value

    def require(self, key: str, service: str, hint: str = "") -> str:
        """A value the step cannot run without (offline validation normally names it first:
        this guards the front ends' partial runs)."""
        value = self.values.get(key)
        if not value:
            raise ProviderError(service, f"{key} is not set", key=key, hint=hint)
        return value

    def base_url(self, variable: str, default: str, service: str) -> str:
        """A service base URL from the environment (self-hosted, GHES, loopback tests)."""
        return checked_base_url(service, self.env.get(variable) or default, variable=variable)

    # -- reporting -----------------------------------------------------------
    def change(
        self, target: str, name: str, action: str, detail: str = "", *, kind: str = "key"
    ) -> None:
        self.changes.append(Change(target, name, action, detail, kind))

    def resource(self, name: str, action: str, detail: str = "") -> None:
        """A change to a resource of this step (bucket, webhook, zone setting...)."""
        self.change(self.step_id, name, action, detail, kind="resource")

    def notice(self, text: str) -> None:
        """Something the user should know that is not an error (what was done instead)."""
        self.notices.append(text)

    def output(self, line: str) -> None:
        """One line of output worth showing as it comes (already redacted)."""
        if self.on_output:
            self.on_output(self.step_id, line)

    def redact(self, text: str) -> str:
        """``text`` with every secret value of this run masked."""
        return redact_values(text, self.values, self.catalogue)

    def progress(self, done: int, total: int, label: str = "") -> None:
        if self.on_progress:
            self.on_progress(self.step_id, done, total, label)

    # -- producing values ----------------------------------------------------
    def provide(self, key: str, value: str) -> None:
        """A value this step obtained (apply) — persisted to the env file right away."""
        if self.dry_run:
            raise RuntimeError("provide() in a dry run: use pending()")
        self.values.set_app(key, value, "provisioned")
        if self.on_provide:
            self.on_provide(key, value)

    def pending(self, key: str) -> None:
        """In a dry run: ``key`` will be produced by this step when applied."""
        self.values.pending[key] = self.step_id

    def digest(self, value: str, name: str = "") -> str:
        """A keyed digest of a value, safe to keep in the state file. ``name`` (the key the
        value belongs to) keeps two keys with one value from showing equal digests."""
        return keyed_digest(self.digest_key, value, name)

    def checkpoint(self) -> None:
        """Save this step's memory now, before an action whose answer could be lost."""
        if self.on_checkpoint and not self.dry_run:
            self.on_checkpoint()


def keyed_digest(key: bytes, value: str, name: str = "") -> str:
    """The state's digest of ``value`` under ``name`` (see ``StepContext.digest``)."""
    message = name.encode() + b"\0" + value.encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def redact_values(text: str, values: ValueStore, catalogue: Catalogue) -> str:
    """``text`` with every secret app or operator value masked, longest first (a value that
    contains another is masked whole)."""
    secrets = {
        v
        for store in (values.app, values.operator)
        for k, v in store.items()
        if catalogue.is_secret(k) and len(v) >= 6
    }
    for value in sorted(secrets, key=len, reverse=True):
        text = text.replace(value, "•••")
    return text


def raise_first(results: Sequence[object]) -> None:
    """After ``gather(..., return_exceptions=True)`` (every call ran to its end), raise the
    first failure in call order, so the message blames the first thing checked."""
    for result in results:
        if isinstance(result, BaseException):
            raise result
