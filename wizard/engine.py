"""The plan/apply engine both front ends drive.

A ``Session`` resolves one environment's values (``--set``, ``--env-file``, the
existing ``.env.<environment>``, generation, defaults; operator credentials from the
environment or keyring), validates them offline, and runs the steps: live checks for
every selected step side by side first, then each step in the guide's order (the two
pushes together). A dry run writes nothing anywhere and sends no mutating request.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import importlib
import json
import re
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from providers.errors import ProviderError
from providers.text import printable
from providers.urls import r2_endpoint
from wizard.catalogue import (
    GITHUB_SECRET_KEYS,
    STEP_IDS,
    Catalogue,
    Field,
    Step,
    load_catalogue,
)
from wizard.changes import Change
from wizard.context import OutputFn, ProgressFn, StepContext, keyed_digest, redact_values
from wizard.credentials import CredentialStore, scoped_account
from wizard.destinations import BORROWED, Destination, collect_destinations
from wizard.discover import GH, GIT_REMOTE, VERCEL_LINK, VERCEL_LOGIN, Discovery, describe_source
from wizard.envfile import (
    EnvDocument,
    UnrepresentableValue,
    format_assignment,
    load_checked_env_file,
    load_env_file,
)
from wizard.errors import SetupError, UsageError, ValidationFailed
from wizard.generate import new_secret
from wizard.state import (
    State,
    digest_key_exists,
    load_digest_key,
    load_state,
    project_folder,
    save_state,
    state_path,
)
from wizard.validators import ValidationContext, env_key
from wizard.values import GIVEN_SOURCES, ValueStore

if TYPE_CHECKING:
    from providers.supabase import SupabaseProject

ENVIRONMENTS = ("production", "preview", "development")
# These run every time: they compare with what is there and send only differences.
ALWAYS_RUN = frozenset(
    {"env-file", "vercel", "github", "migrate", "deploy", "domain", "monitoring", "safeguards"}
)
# Consent that holds for one run: a destructive roll, a seed (seeds are rarely idempotent).
ONE_SHOT = frozenset(
    {
        "stripe_roll_webhook",
        "db_allow_password_auth",
        "db_seed",
        "deploy_timeout",
        "dns_replace",
        "github_strict",
    }
)
# Where values go. Remembered in the state, they are used again only when the operator
# gives the same, or confirms them interactively: a saved file never picks a destination.
TARGET_CHOICES = frozenset({"github_environment"})
DISCOVERED = frozenset({GH, GIT_REMOTE, VERCEL_LINK, VERCEL_LOGIN})
StepCallback = Callable[[str, str, str | None], None]  # step id, status, message


@dataclass
class Inputs:
    sets: dict[str, str] = field(default_factory=dict)
    env_file: Path | None = None
    only: list[str] | None = None
    skip: list[str] = field(default_factory=list)
    rotate: list[str] = field(default_factory=list)


@dataclass
class StepReport:
    notices: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)


@dataclass
class RunResult:
    changes: list[Change] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def pending_changes(self) -> bool:
        return any(c.mutating for c in self.changes)


def parse_set(items: Iterable[str]) -> dict[str, str]:
    # The argument may be a value pasted without its name: never echo it.
    out: dict[str, str] = {}
    for n, item in enumerate(items, 1):
        key, sep, value = item.partition("=")
        where = f"--set (occurrence {n})"
        if not sep:
            raise UsageError(
                f"{where} has no '=' (not shown: it may be a secret): use --set KEY=VALUE"
            )
        if err := env_key(key):
            # A short name-like slip ("1BAD") is named; anything longer or with URL or token
            # punctuation may be part of a pasted value.
            shown = repr(key) if re.fullmatch(r"[A-Za-z0-9_.-]{1,24}", key) else "(not shown)"
            raise UsageError(f"{where}: the name before '=' {shown} {err}")
        out[key] = value
    return out


def parse_step_list(text: str | None, option: str) -> list[str]:
    if text is None:
        return []
    ids = [s.strip() for s in text.split(",") if s.strip()]
    if not ids:
        raise UsageError(f"{option} names no step: give one or more of {', '.join(STEP_IDS)}")
    bad = [s for s in ids if s not in STEP_IDS]
    if bad:
        raise UsageError(f"{option}: unknown step {', '.join(bad)} (steps: {', '.join(STEP_IDS)})")
    return ids


def step_module(step_id: str) -> ModuleType:
    # Imported on first use, so boto3/httpx clients never load on the TUI's start path.
    return importlib.import_module("wizard.steps." + step_id.replace("-", "_"))


class Session:
    def __init__(
        self,
        project_dir: Path,
        environment: str,
        *,
        catalogue: Catalogue,
        state: State,
        document: EnvDocument,
        values: ValueStore,
        credentials: CredentialStore,
        env: Mapping[str, str],
        inputs: Inputs,
        dry_run: bool,
    ) -> None:
        self.project_dir = project_dir
        self.environment = environment
        self.catalogue = catalogue
        self.state = state
        self.document = document
        self.values = values
        self.credentials = credentials
        self.env = env
        self.inputs = inputs
        self.dry_run = dry_run
        self.notices: list[str] = []
        self._digest_key: bytes | None = None
        self._ephemeral_key: bytes | None = None
        # The TUI reads the keyring in a thread after its first paint; whatever needs the
        # credentials (a check, a plan) waits for that read here.
        self._keyring_lock = threading.Lock()
        self._keyring_read = False
        self.keyring_in_background = False
        # Destinations remembered in the state and not given now: unused until confirmed.
        self.remembered: dict[str, str] = {}
        self.discovery = Discovery(project_dir, env)

    # -- opening -------------------------------------------------------------
    @classmethod
    def open(
        cls,
        project_dir: Path,
        environment: str = "production",
        *,
        inputs: Inputs | None = None,
        env: Mapping[str, str] | None = None,
        dry_run: bool = False,
        credentials: CredentialStore | None = None,
    ) -> Session:
        import os

        if environment not in ENVIRONMENTS:
            raise UsageError(f"--environment must be one of {', '.join(ENVIRONMENTS)}")
        project_dir = project_folder(project_dir)
        inputs = inputs or Inputs()
        env = dict(os.environ if env is None else env)
        catalogue = load_catalogue(project_dir)
        state = load_state(project_dir, environment)
        # A file Next.js would read otherwise than we do (or not at all) stops everything here,
        # before any value is derived from it: nothing is changed or sent.
        document = load_checked_env_file(project_dir / f".env.{environment}")
        from wizard.gitignore import ensure_ignored

        ensure_ignored(project_dir, dry_run=True)  # a .gitignore we could not update stops too
        session = cls(
            project_dir,
            environment,
            catalogue=catalogue,
            state=state,
            document=document,
            values=ValueStore(),
            credentials=credentials or CredentialStore(env),
            env=env,
            inputs=inputs,
            dry_run=dry_run,
        )
        if credentials is None:
            session.credentials.notify = session.notices.append
        session._resolve()
        return session

    def _resolve(self) -> None:
        vs, cat = self.values, self.catalogue
        # Lowest precedence first: each later source overrides.
        for key, value in self.document.values().items():
            vs.set_app(key, value, "existing")
        if self.inputs.env_file is not None:
            for key, value in read_input_env_file(self.inputs.env_file).items():
                vs.set_app(key, value, "env-file")
        for key, value in self.state.app.items():
            # Public answers from an unfinished walk fill gaps only (the env file, once
            # written, wins); the plan names them as coming from the saved progress.
            if key not in vs.app and not cat.is_secret(key):
                vs.set_app(key, value, "saved")
        vs.choices.update({k: v for k, v in self.state.choices.items() if k not in TARGET_CHOICES})
        for key, value in self.inputs.sets.items():
            f = cat.field(key)
            if f is None:
                cat.add_unknown([key])
                vs.set_app(key, value, "set")
            elif f.kind == "app":
                vs.set_app(key, value, "set")
            elif f.kind == "choice":
                vs.choices[key] = value
            elif f.secret:
                raise UsageError(
                    f"--set {key}: operator credentials never go on the command line (other "
                    f"users can read it): export {key} in the environment instead"
                )
            else:
                vs.operator[key] = value
                vs.operator_source[key] = "set"
        for f in cat.all_fields():
            if f.kind != "operator" or f.key in vs.operator:
                continue
            from_env = self.credentials.from_env(f.env_names or (f.key,))
            if from_env is not None:
                vs.operator[f.key], vs.operator_source[f.key] = from_env, "environment"
            elif not f.secret and self.state.operator.get(f.key):
                self.remembered[f.key] = self.state.operator[f.key]
        # Every source goes through the same cleaning as a typed value: a URL in the env
        # file or the environment with a pasted newline is not written back with it.
        for store in (vs.app, vs.operator):
            for key, value in store.items():
                store[key] = self.clean_value(key, value)
        # Then what this checkout already says: the git remote, `vercel link`'s file. It is
        # named with its source in the plan, so a remembered value is not asked about.
        missing = {"GITHUB_REPOSITORY", "VERCEL_ORG_ID", "VERCEL_PROJECT_ID"} - set(vs.operator)
        if missing:
            found, notices = self.discovery.public(missing)
            self.notices.extend(notices)
            for key in sorted(missing & set(found)):
                vs.operator[key], vs.operator_source[key] = found[key].value, found[key].source
                self.remembered.pop(key, None)
        self._note_remembered()
        for f in cat.app_fields():
            if f.key in vs.app:
                continue
            if f.default is not None:
                vs.set_app(f.key, f.default, "default")
        self._derive()
        key_source = vs.app_source.get("AWS_ACCESS_KEY_ID")
        # App keys the user brings (not ones our storage step provisioned on an earlier
        # run) and no explicit choice: use them rather than create new ones.
        storage_memory = self.state.steps["storage"].memory if "storage" in self.state.steps else {}
        brought = key_source in ("set", "env-file") or (
            key_source == "existing"
            and self.status("storage") != "done"
            and "keys_before_create" not in storage_memory
        )
        if "storage_mode" not in vs.choices and brought:
            vs.choices["storage_mode"] = "existing"
        for f in cat.app_fields():
            if f.source == "generated" and (not vs.app.get(f.key) or f.key in self.inputs.rotate):
                vs.set_app(f.key, new_secret(), "generated")
        self._find_generated_earlier()

    def _find_generated_earlier(self) -> None:
        """Env-file values the env-file step recorded as generated by us and never pushed.

        Without this, a run with only the env file (``--only env-file``, ``--skip vercel``)
        would turn a random value into an "existing" one, and a later run would push it over
        the secret production runs with."""
        env_file = self.state.steps.get("env-file")
        records = env_file.memory.get("generated") if env_file else None
        if not isinstance(records, dict) or not records:
            return
        key = self.digest_key(create=False)  # a record implies the key file exists
        vs = self.values
        for name, digest in records.items():
            value = vs.app.get(name)
            if (
                value is not None
                and vs.app_source.get(name) == "existing"
                and keyed_digest(key, value, name) == digest
            ):
                vs.generated_earlier.add(name)

    def _note_remembered(self) -> None:
        """Choices among destinations follow the operator too; one that differs from the
        last run's is announced."""
        vs = self.values
        for key in TARGET_CHOICES:
            if self.state.choices.get(key) and key not in vs.choices:
                self.remembered[key] = self.state.choices[key]
        before = {k: v for k, v in self.state.choices.items() if k in TARGET_CHOICES}
        for f in self.catalogue.all_fields():
            if f.kind == "operator" and not f.secret and f.key in self.state.operator:
                before[f.key] = self.state.operator[f.key]
        for key, value in before.items():
            now = vs.choices.get(key) if key in TARGET_CHOICES else vs.operator.get(key)
            if now is not None and now != value and value:
                self.notices.append(
                    f"{key}: the last run used {self.shown(key, value)}; this run uses "
                    f"{self.shown(key, now)}"
                )

    def shown(self, key: str, value: str) -> str:
        """A public destination value for a message, only if it is a valid one (a saved
        file can hold anything, escape sequences included)."""
        if not value:
            return "none"
        if self.validate_value(key, value) is None and value.isprintable():
            return value
        return "(a value that is not valid)"

    def remembered_lines(self) -> list[str]:
        """The remembered destinations as each front end lists them ("  KEY = value"),
        values shown only when valid."""
        return [f"  {key} = {self.shown(key, value)}" for key, value in self.remembered.items()]

    def confirm_remembered(self, use: bool) -> None:
        """The person saw the remembered destinations: use them, or forget them."""
        for key, value in self.remembered.items():
            if use and key in TARGET_CHOICES:
                self.values.choices[key] = value
            elif use:
                self.values.operator[key] = value
                self.values.operator_source[key] = "state"
            elif key in TARGET_CHOICES:
                self.state.choices.pop(key, None)
            else:
                self.state.operator.pop(key, None)
        self.remembered.clear()
        self._derive()

    def destinations(self, step_ids: Iterable[str] | None = None) -> list[Destination]:
        """Where the selected steps write: shown by the plan and the confirm."""
        return collect_destinations(self, self.selection(step_ids))

    def _derive(self) -> None:
        """Values that follow from choices: R2's region and endpoint."""
        vs = self.values
        r2 = self.choice("storage") == "r2"
        region_source = vs.app_source.get("AWS_REGION")
        if r2 and region_source == "default" and vs.app.get("AWS_REGION") != "auto":
            vs.set_app("AWS_REGION", "auto", "default")
        elif not r2 and region_source == "default" and vs.app.get("AWS_REGION") == "auto":
            vs.set_app("AWS_REGION", "us-east-1", "default")
        account = vs.operator.get("CLOUDFLARE_ACCOUNT_ID")
        if r2 and account and vs.app_source.get("S3_ENDPOINT") in (None, "derived"):
            vs.set_app("S3_ENDPOINT", r2_endpoint(account), "derived")
        elif not r2 and vs.app_source.get("S3_ENDPOINT") == "derived":
            vs.app.pop("S3_ENDPOINT", None)
            vs.app_source.pop("S3_ENDPOINT", None)

    def load_keyring_credentials(self, step_ids: Iterable[str] | None = None) -> None:
        """Fill operator secrets not in the environment from the keyring (read only).

        With ``step_ids`` (the CLI), the keyring is consulted only when one of those steps
        lacks a credential: it is slow to load and, without one, says so on stderr.
        """
        with self._keyring_lock:
            if self._keyring_read:
                return
            fields = [f for f in self.catalogue.all_fields() if f.kind == "operator" and f.secret]
            if step_ids is not None:
                wanted = set(self.used_keys(step_ids))
                fields = [f for f in fields if f.key in wanted]
            for f in fields:
                if f.key not in self.values.operator:
                    value = self.credentials.get(self._account(f.key))
                    if value:
                        self.values.operator[f.key] = f.clean(value)
                        self.values.operator_source[f.key] = "keyring"
            # Last, tokens another tool already holds (gh, the Vercel CLI's login).
            for f in fields:
                if f.key not in self.values.operator:
                    found, notice = self.discovery.secret(f.key)
                    if notice:
                        self.notices.append(notice)
                    if found:
                        self.values.operator[f.key] = f.clean(found.value)
                        self.values.operator_source[f.key] = found.source
                        if f.github_secret:
                            self.notices.append(
                                f"{f.key} comes {describe_source(found.source)}: logging out "
                                "there revokes it, and the GitHub secret with it; set "
                                f"{f.key} to a token made for CI to avoid that"
                            )
            self._keyring_read = step_ids is None

    async def credentials_ready(self) -> None:
        """Wait, off the event loop, until the keyring has been read (TUI)."""
        if not self._keyring_read:
            await asyncio.to_thread(self.load_keyring_credentials)

    def _account(self, key: str) -> str:
        return scoped_account(self.project_dir, self.environment, key)

    # -- reading -------------------------------------------------------------
    def steps(self) -> tuple[Step, ...]:
        return self.catalogue.steps

    def status(self, step_id: str) -> str:
        st = self.state.steps.get(step_id)
        return st.status if st else "pending"

    def skip_reason(self, step_id: str) -> str | None:
        st = self.state.steps.get(step_id)
        if not st or st.status not in ("skipped", "failed") or not st.reason:
            return None
        # Read from the state file, shown by the TUI and --plain: text, never escapes.
        return printable(str(st.reason))

    def has_progress(self) -> bool:
        return self.state.has_progress

    def first_unfinished(self) -> str | None:
        for s in self.catalogue.steps:
            if self.status(s.id) not in ("done", "skipped"):
                return s.id
        return None

    def choice(self, key: str) -> str | None:
        if key in self.values.choices:
            return self.values.choices[key]
        f = self.catalogue.field(key)
        return f.default if f else None

    def value(self, key: str) -> str | None:
        f = self.catalogue.field(key)
        if f is not None and f.kind == "choice":
            return self.choice(key)
        return self.values.get(key)

    def visible_fields(self, step_id: str) -> list[Field]:
        from wizard.catalogue import step as get_step

        return [f for f in get_step(step_id).fields if self._visible(f)]

    def _visible(self, f: Field) -> bool:
        if f.when is None:
            return True
        return self.choice(f.when[0]) == f.when[1]

    def is_secret(self, key: str) -> bool:
        return self.catalogue.is_secret(key)

    # -- editing (front ends) ------------------------------------------------
    def clean_value(self, key: str, value: str) -> str:
        """``value`` as it is checked and kept (see ``Field.clean``)."""
        f = self.catalogue.field(key)
        return f.clean(value) if f is not None else value

    def validate_value(
        self, key: str, value: str, *, alongside: Mapping[str, str] | None = None
    ) -> str | None:
        """Offline rules for one value; ``alongside`` holds the other values of the same
        form (a front end validates a step's fields before handing them over)."""
        f = self.catalogue.field(key)
        value = self.clean_value(key, value)
        if f is None:
            if err := env_key(key):
                return err
            try:
                format_assignment(key, value)
            except UnrepresentableValue as exc:
                return exc.reason
            return None
        if value == "":
            produced = self._produced_by_step(f, alongside or {})
            if f.required and f.source == "user" and self._visible(f) and not produced:
                return "is required"
            return None
        ctx = ValidationContext(self.environment)
        if f.validator is not None and (err := f.validator(value, ctx)):
            return err
        if f.kind == "app":
            try:
                format_assignment(key, value)
            except UnrepresentableValue as exc:
                return exc.reason
        return None

    def set_value(self, key: str, value: str) -> None:
        f = self.catalogue.field(key)
        value = self.clean_value(key, value)
        if f is None or f.kind == "app":
            if f is None:
                self.catalogue.add_unknown([key])
            if value == "":
                self.values.app.pop(key, None)
            else:
                self.values.set_app(key, value, "set")
        elif f.kind == "choice":
            self.values.choices[key] = value
        else:
            if value == "":
                self.values.operator.pop(key, None)
            else:
                self.values.operator[key] = value
                self.values.operator_source[key] = "prompt"
        if key in ("storage", "CLOUDFLARE_ACCOUNT_ID"):
            self._derive()

    def generate(self, key: str) -> str:
        value = new_secret()
        self.values.set_app(key, value, "generated")
        return value

    def mark_skipped(self, step_id: str, reason: str) -> None:
        self.state.mark(step_id, "skipped", reason=reason)
        self.save()

    def mark_pending(self, step_id: str) -> None:
        """A skipped step the user came back to is included again."""
        self.state.mark(step_id, "pending")
        self.save()

    def mark_done(self, step_id: str) -> None:
        self.state.mark(step_id, "done")
        self.save()

    # -- validation ----------------------------------------------------------
    def selection(self, step_ids: Iterable[str] | None = None) -> list[str]:
        if step_ids is not None:
            wanted = set(step_ids)
            return [s for s in STEP_IDS if s in wanted]
        if self.inputs.only:
            only = set(self.inputs.only)
            return [s for s in STEP_IDS if s in only and s not in self.inputs.skip]
        # Steps the user skipped (with a reason) stay skipped until named in --only.
        return [s for s in STEP_IDS if s not in self.inputs.skip and self.status(s) != "skipped"]

    def problems(self, step_ids: Iterable[str] | None = None) -> list[str]:
        selected = self.selection(step_ids)
        problems: list[str] = []
        from wizard.gitignore import tracked_problem

        # Every run may write secrets into the env file: never into one git commits.
        if tracked := tracked_problem(self.project_dir, f".env.{self.environment}"):
            problems.append(tracked)
        seen: set[str] = set()
        # Every app value is checked, selected step or not: all of them get written.
        given = [
            *self.values.app.items(),
            *self.values.operator.items(),
            *self.values.choices.items(),
        ]
        for key, given_value in given:
            seen.add(key)
            if err := self.validate_value(key, given_value):
                problems.append(f"{key}: {err}")
        for key in self._remembered_in(selected):
            seen.add(key)
            how = (
                f"pass --{key.replace('_', '-')} NAME"
                if key in TARGET_CHOICES
                else f"export {key}=… or pass --set {key}=…"
            )
            f = self.catalogue.field(key)
            if f is not None and not f.required:
                how += f" (--set {key}= for none)"
            problems.append(
                f"{key}: the last run used {self.shown(key, self.remembered[key])}, but it is not "
                f"given now and a saved file does not choose where values go — {how} "
                "(the wizard and --plain ask instead)"
            )
        for step_id in selected:
            for f in self.visible_fields(step_id):
                if f.key in seen:
                    continue
                seen.add(f.key)
                value = self.value(f.key)
                if value:
                    if err := self.validate_value(f.key, value):
                        problems.append(f"{f.key}: {err}")
                elif f.required and not self._produced_by_step(f):
                    problems.append(
                        f"{f.key}: missing — {self._how_to_supply(f)} (or --skip {step_id})"
                    )
        problems.extend(self._cross_checks())
        r2_provision = self.choice("storage") == "r2" and self.choice("storage_mode") == "provision"
        if r2_provision and "storage" in selected:
            problems.append(
                "storage_mode: R2 cannot create app credentials through the S3 API — create "
                "an R2 API token, then pass AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY with "
                "--set storage_mode=existing"
            )
        return problems

    def used_keys(self, step_ids: Iterable[str]) -> list[str]:
        """Every key the given steps use, in order: their own fields, the operator values
        they borrow from other steps (deploy: Vercel's), and for github the values it
        pushes as secrets (owned by other steps)."""
        ids = list(step_ids)
        keys = [f.key for s in ids for f in self.visible_fields(s)]
        keys += [k for s in ids for k in BORROWED.get(s, ())]
        if "github" in ids:
            keys += GITHUB_SECRET_KEYS
        return list(dict.fromkeys(keys))

    def _remembered_in(self, selected: list[str]) -> list[str]:
        """Unconfirmed remembered destinations that the selected steps would use."""
        keys = set(self.used_keys(selected))
        return [k for k in self.remembered if k in keys]

    def _produced_by_step(self, f: Field, alongside: Mapping[str, str] | None = None) -> bool:
        if f.source in ("generated", "derived"):
            return True
        if f.key == "DATABASE_URL":
            # Built from the Supabase project's pooler when the token and password are given.
            def given(key: str) -> bool:
                return bool((alongside or {}).get(key) or self.values.operator.get(key))

            provider = (alongside or {}).get("database_provider") or self.choice(
                "database_provider"
            )
            return (
                provider == "supabase"
                and given("SUPABASE_ACCESS_TOKEN")
                and given("database_password")
            )
        if f.source == "provisioned":
            if f.key.startswith("AWS_"):
                return self.choice("storage_mode") == "provision" and self.choice("storage") == "s3"
            return True
        return False

    def _how_to_supply(self, f: Field) -> str:
        if f.kind == "operator":
            names = " or ".join(f.env_names or (f.key,))
            return f"set {names} in the environment" + (
                "" if f.secret else f" or pass --set {f.key}=…"
            )
        if f.kind == "choice":
            return f"pass --set {f.key}=…"
        return f"pass --set {f.key}=… or add it to .env.{self.environment}"

    def _cross_checks(self) -> list[str]:
        out: list[str] = []
        sk = self.values.app.get("STRIPE_SECRET_KEY")
        pk = self.values.app.get("NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY")
        if sk and pk and ("_live_" in sk[:8]) != ("_live_" in pk[:8]):
            out.append(
                "NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY: is not the same mode (live/test) as "
                "STRIPE_SECRET_KEY — copy both from the same Dashboard mode"
            )
        return out

    # -- running ---------------------------------------------------------------
    def digest_key(self, *, create: bool | None = None) -> bytes:
        """The state's HMAC key. A dry run (or a preview inside an apply session) never
        writes it: it gets an ephemeral key, which matches no stored digest."""
        if self._digest_key is not None:
            return self._digest_key
        create = (not self.dry_run) if create is None else create
        existed = digest_key_exists(self.project_dir)
        if create or existed:
            self._digest_key = load_digest_key(self.project_dir, create=create)
            return self._digest_key
        if self._ephemeral_key is None:
            self._ephemeral_key = load_digest_key(self.project_dir, create=False)
        return self._ephemeral_key

    def fingerprint(self, step_id: str, *, create: bool | None = None) -> str:
        from wizard.catalogue import step as get_step

        inputs: dict[str, Any] = {"environment": self.environment}
        for f in get_step(step_id).fields:
            inputs[f.key] = self.value(f.key) if self._visible(f) else None
        if step_id in ("stripe", "cloudflare", "resend"):  # their URL/zone derive from it
            inputs["NEXTAUTH_URL"] = self.values.app.get("NEXTAUTH_URL")
        blob = json.dumps(inputs, sort_keys=True).encode()
        key = self.digest_key(create=create)
        return hmac.new(key, blob, hashlib.sha256).hexdigest()[:32]

    def _context(
        self,
        step_id: str,
        *,
        dry_run: bool,
        on_progress: ProgressFn | None = None,
        on_output: OutputFn | None = None,
    ) -> StepContext:
        import copy

        stored = self.state.step(step_id).memory
        memory = stored if not dry_run else copy.deepcopy(stored)
        return StepContext(
            step_id=step_id,
            environment=self.environment,
            project_dir=self.project_dir,
            dry_run=dry_run,
            values=self.values,
            catalogue=self.catalogue,
            env=self.env,
            memory=memory,
            digest_key=self.digest_key(create=not dry_run),
            on_progress=on_progress,
            on_provide=None if dry_run else self._persist_provided,
            on_checkpoint=None if dry_run else functools.partial(self._checkpoint, step_id),
            on_output=on_output,
        )

    def _checkpoint(self, step_id: str) -> None:
        # A step's record moves forward with its memory, so a merge on save keeps it.
        self.state.step(step_id).touch()
        self.save()

    def _persist_provided(self, key: str, value: str) -> None:
        # A secret shown once (webhook secret, access key) must survive a later failure.
        from wizard.envfile import write_env_file
        from wizard.gitignore import ensure_ignored, refuse_tracked

        name = f".env.{self.environment}"
        refuse_tracked(self.project_dir, name)
        # The file is about to hold a secret: make sure git will not pick it up first.
        ensure_ignored(self.project_dir, dry_run=False)
        path = self.project_dir / name
        doc = load_checked_env_file(path)  # the env-file step may have rewritten it since open
        doc.set(key, value)
        write_env_file(path, doc)
        self.document = doc

    def site_is_live(self) -> bool:
        """Deployed and on its domain: the deploy and domain steps are done and Vercel
        reported the domain configured and verified (the domain step remembers it)."""
        if self.environment != "production":
            return False
        if self.status("deploy") != "done" or self.status("domain") != "done":
            return False
        return self.state.step("domain").memory.get("live") is True

    def step_context(self, step_id: str) -> StepContext:
        """A read-only context of one step (commands beside the walk: rollback)."""
        return self._context(step_id, dry_run=True)

    async def check_step(self, step_id: str) -> StepReport:
        """The live check of one step (the TUI's "Check" button): reads only."""
        await self.credentials_ready()
        ctx = self._context(step_id, dry_run=True)
        check = getattr(step_module(step_id), "check", None)
        if check is not None:
            try:
                await check(ctx)
            except ProviderError as exc:
                exc.message = self.redact(exc.message)
                raise
        return StepReport(notices=ctx.notices, changes=ctx.changes)

    async def supabase_projects(self) -> list[SupabaseProject]:
        """The Supabase projects the session's access token sees (the TUI's picker): reads only."""
        from wizard.steps.database import supabase_projects

        await self.credentials_ready()
        ctx = self._context("database", dry_run=True)
        try:
            return await supabase_projects(ctx)
        except ProviderError as exc:
            exc.message = self.redact(exc.message)
            raise

    async def plan(self, step_ids: Iterable[str] | None = None) -> RunResult:
        return await self._run(step_ids, dry_run=True)

    async def apply(
        self,
        step_ids: Iterable[str] | None = None,
        *,
        on_progress: ProgressFn | None = None,
        on_step: StepCallback | None = None,
        on_output: OutputFn | None = None,
    ) -> RunResult:
        return await self._run(
            step_ids,
            dry_run=self.dry_run,
            on_progress=on_progress,
            on_step=on_step,
            on_output=on_output,
        )

    async def _run(
        self,
        step_ids: Iterable[str] | None,
        *,
        dry_run: bool,
        on_progress: ProgressFn | None = None,
        on_step: StepCallback | None = None,
        on_output: OutputFn | None = None,
    ) -> RunResult:
        if self.keyring_in_background:
            await self.credentials_ready()
        problems = self.problems(step_ids)
        if problems:
            raise ValidationFailed(problems)
        selected = self.selection(step_ids)
        result = RunResult(notices=list(self.notices))
        saved = sorted(k for k, src in self.values.app_source.items() if src == "saved")
        if saved:
            result.notices.append(
                f"{', '.join(saved)}: from the saved progress of an unfinished walk "
                f"(.dream-pixel/state-{self.environment}.json), not from .env.{self.environment} "
                "or the command line"
            )
        todo: list[str] = []
        for step_id in selected:
            if (
                step_id not in ALWAYS_RUN
                and self.status(step_id) == "done"
                and self.state.step(step_id).fingerprint
                == self.fingerprint(step_id, create=not dry_run)
            ):
                result.changes.append(
                    Change(step_id, step_id, "unchanged", "done; inputs unchanged", "resource")
                )
                continue
            todo.append(step_id)

        contexts = {
            s: self._context(s, dry_run=dry_run, on_progress=on_progress, on_output=on_output)
            for s in todo
        }
        for ctx in contexts.values():
            ctx.run_changes = result.changes
            ctx.run_steps = frozenset(todo)
        # Live checks of every step first, side by side: nothing is mutated before all pass.
        checks: list[tuple[str, Awaitable[None]]] = []
        for step_id in todo:
            check = getattr(step_module(step_id), "check", None)
            if check is not None:
                checks.append((step_id, check(contexts[step_id])))
        outcomes = await asyncio.gather(*(c for _, c in checks), return_exceptions=True)
        for (step_id, _), outcome in zip(checks, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                result.failures[step_id] = self._failure(step_id, outcome)
        if result.failures:
            for step_id, message in result.failures.items():
                if on_step:
                    on_step(step_id, "failed", message)
            return result
        # Before the first change: what exists remotely, unseen, and would be replaced by a
        # value nobody gave is left alone by every step of this run.
        try:
            result.notices.extend(await self._adopt_readable(contexts))
        except ProviderError as exc:
            result.failures["vercel"] = self._failure("vercel", exc)
            if on_step:
                on_step("vercel", "failed", result.failures["vercel"])
            return result
        result.notices.extend(self._hold_unseen(contexts))

        for group in _groups(todo):
            if on_step:
                for step_id in group:
                    on_step(step_id, "running", None)
            outcomes = await asyncio.gather(
                *(self._run_step(contexts[s]) for s in group), return_exceptions=True
            )
            for step_id, outcome in zip(group, outcomes, strict=True):
                ctx = contexts[step_id]
                result.changes.extend(ctx.changes)
                result.notices.extend(ctx.notices)
                if isinstance(outcome, BaseException):
                    message = self._failure(step_id, outcome)
                    result.failures[step_id] = message
                    if not dry_run:
                        self.state.mark(step_id, "failed", reason=message)
                    if on_step:
                        on_step(step_id, "failed", message)
                else:
                    if not dry_run:
                        st = self.state.step(step_id)
                        st.memory = ctx.memory
                        st.fingerprint = self.fingerprint(step_id)
                        self.state.mark(step_id, "done")
                    if on_step:
                        on_step(step_id, "done", None)
            if not dry_run:
                self.save()
            if result.failures:
                break  # what finished before stays done; the rerun continues from here
        if "deploy" not in selected and not result.failures:
            from wizard.steps.deploy import redeploy_notice

            if note := redeploy_notice(result.changes):
                result.notices.append(note)
        return result

    def _given(self, key: str) -> bool:
        """Whether this run's value of ``key`` is one a person gave (or a service issued):
        only such a value may replace a remote one we cannot see."""
        vs = self.values
        if key in vs.app:
            if key in vs.generated_earlier:
                return False
            source = vs.app_source.get(key)
            return source in GIVEN_SOURCES or (source == "generated" and key in self.inputs.rotate)
        # Operator values (VERCEL_TOKEN...) come from the operator: the environment, the
        # keyring, a prompt. Keys with no value here are not pushed at all.
        return True

    async def _adopt_readable(self, contexts: Mapping[str, StepContext]) -> list[str]:
        """Where Vercel shows the value it serves (plain or encrypted) and no push of ours
        is recorded, that value stands instead of a generated or default one: replacing it
        would change what production runs with, and the env file should hold it too."""
        ctx = contexts.get("vercel")
        if ctx is None:
            return []
        vs = self.values
        keys = [k for k in vs.app if not self._given(k) and k not in self.inputs.rotate]
        if not keys:
            return []
        from wizard.steps.vercel import readable

        found = await readable(ctx, keys)
        lines = []
        for key, value in found.items():
            if value == vs.app[key]:
                continue
            vs.set_app(key, value, "vercel")
            vs.generated_earlier.discard(key)
            lines.append(
                f"{key}: Vercel already serves a value for {self.environment}, and it is "
                f"used (not a {'generated' if self._rotatable(key) else 'default'} one); give "
                f"another with --env-file FILE or --set {key}=… to change it"
            )
        return lines

    def _hold_unseen(self, contexts: Mapping[str, StepContext]) -> list[str]:
        """Hold back every key that exists on Vercel (sensitive) or GitHub with a value we
        cannot read, with no push of ours recorded, whose value here nobody gave. Returns
        one line per key saying how to proceed."""
        vs = self.values
        vs.held.clear()
        where: dict[str, list[str]] = {}
        for step_id, service in (("vercel", "Vercel"), ("github", "GitHub")):
            ctx = contexts.get(step_id)
            unseen = getattr(step_module(step_id), "unseen", None) if ctx else None
            if ctx is None or unseen is None:
                continue
            for key in unseen(ctx):
                if not self._given(key):
                    where.setdefault(key, []).append(service)
        lines: list[str] = []
        for key, services in where.items():
            on = " and ".join(services)
            vs.held[key] = f"exists on {on}, value unseen; not replaced"
            if key in vs.generated_earlier:
                what = f"the value generated earlier (in .env.{self.environment}, never pushed)"
            elif vs.app_source.get(key) == "generated":
                what = "a newly generated value"
            else:
                what = "the default value"
            rotate = f", replace it on purpose with --rotate {key}" if self._rotatable(key) else ""
            lines.append(
                f"{key}: exists on {on}, where its value cannot be read, and no push of ours "
                f"is recorded: {what} does not replace it (nor goes into "
                f".env.{self.environment}) — give its current value (--env-file FILE or "
                f"--set {key}=…){rotate}, or leave it as it is"
            )
        return lines

    def _rotatable(self, key: str) -> bool:
        f = self.catalogue.field(key)
        return f is not None and f.source == "generated"

    def _failure(self, step_id: str, exc: BaseException) -> str:
        """The line a failed step shows and stores: never a secret value."""
        import os

        if not isinstance(exc, Exception):
            raise exc  # Ctrl-C, cancellation: not a step failure
        if isinstance(exc, ProviderError | SetupError):
            text = str(exc)
        elif os.environ.get("DREAM_PIXEL_DEBUG"):
            raise exc
        else:
            from wizard.catalogue import step as get_step

            text = (
                f"{get_step(step_id).title}: internal error ({type(exc).__name__}), perhaps an "
                "unexpected answer from the service; run again, and if it persists rerun with "
                "DREAM_PIXEL_DEBUG=1 and report it"
            )
        return self.redact(text)

    def redact(self, text: str) -> str:
        """``text`` with every secret value of this session masked."""
        return redact_values(text, self.values, self.catalogue)

    async def _run_step(self, ctx: StepContext) -> None:
        await step_module(ctx.step_id).run(ctx)

    # -- persistence -----------------------------------------------------------
    def save(self) -> None:
        if self.dry_run:
            return
        # Consent to a destructive roll covers this run only, never a later one.
        self.state.choices = {k: v for k, v in self.values.choices.items() if k not in ONE_SHOT}
        # A remembered destination not confirmed in this run stays remembered, unused.
        self.state.choices.update({k: v for k, v in self.remembered.items() if k in TARGET_CHOICES})
        for f in self.catalogue.all_fields():
            if f.kind != "operator":
                continue
            value = self.values.operator.get(f.key)
            if value is None:
                continue
            if not f.secret and self.values.operator_source.get(f.key) in DISCOVERED:
                continue  # found again next time, with its source
            if not f.secret and value:
                self.state.operator[f.key] = value
            elif not f.secret:
                self.state.operator.pop(f.key, None)  # given as none (--set KEY=)
            elif self.values.operator_source.get(f.key) == "prompt" and self.credentials.store(
                self._account(f.key), value
            ):
                self.values.operator_source[f.key] = "keyring"
        # Public answers typed in the walk survive a quit before the env file is written;
        # once it holds them, the state keeps no copy.
        on_disk = load_env_file(self.project_dir / f".env.{self.environment}").values()
        self.state.app = {
            k: v
            for k, v in self.values.app.items()
            if not self.catalogue.is_secret(k)
            and self.values.app_source.get(k) in ("set", "saved")
            and on_disk.get(k) != v
        }
        save_state(self.project_dir, self.state)

    def reset(self) -> None:
        if not self.dry_run:
            forget_progress(self.project_dir, self.environment, self.credentials)
        self.state = State(environment=self.environment)


def forget_progress(
    project_dir: Path, environment: str, credentials: CredentialStore | None = None
) -> None:
    """``reset``: works without reading the state (it may be what is broken), under the
    run lock (re-entrant: the wizard's "start over" already holds it)."""
    import os

    from wizard.lock import run_lock

    project_dir = project_folder(project_dir)
    if os.path.lexists(state_path(project_dir, environment).parent):
        with run_lock(project_dir, environment, "reset", on_wait=_wait_note):
            state_path(project_dir, environment).unlink(missing_ok=True)
    credentials = credentials or CredentialStore(dict(os.environ))
    for f in load_catalogue(project_dir).all_fields():
        if f.kind == "operator" and f.secret:
            credentials.forget(scoped_account(project_dir, environment, f.key))


def _wait_note(text: str) -> None:
    import sys

    sys.stderr.write(f"note: {text}\n")


def _groups(step_ids: list[str]) -> list[list[str]]:
    from wizard.catalogue import step as get_step

    groups: list[list[str]] = []
    last_group: str | None = None
    for step_id in step_ids:
        g = get_step(step_id).group
        if g is not None and g == last_group:
            groups[-1].append(step_id)
        else:
            groups.append([step_id])
        last_group = g
    return groups


def read_input_env_file(path: Path) -> dict[str, str]:
    """``--env-file``: read in the one dialect the project uses, Next.js's, exactly as
    ``@next/env`` would (``\\$`` is a dollar, ``$X`` expands within the file), so a file
    that works for Next.js, or that this wizard wrote, gives the same values here. Only a
    regular file, not through a link, of sane size; one Next.js would not load exactly so is
    refused (``load_checked_env_file``)."""
    what = f"--env-file {path}"
    doc = load_checked_env_file(path, what=what, missing_ok=False)
    out: dict[str, str] = {}
    for key, value in doc.values().items():
        if err := env_key(key):
            raise UsageError(f"{what}: {key!r} {err}")
        out[key] = value
    return out
