"""Facts for three items of the post-deployment checklist, read from the services.

The Done screen shows the guide's checklist (``wizard.checklist.CHECKLIST``); three of its
items can be answered from the services the walk configured, with reads only:

- "Verify database backups are scheduled": Supabase's Management API
  ``GET /v1/projects/{ref}/database/backups``, when the database is a Supabase project;
- "Monitor Sentry for errors": the project's unresolved issues, counted up to 100;
- "Monitor CI/CD pipeline runs": the last workflow run on the repository's default branch.

Use::

    facts = await gather(session)          # dict: checklist item text -> Fact
    for item, _prefixes in CHECKLIST:
        fact = facts.get(item)             # None: no fact, the item stays the user's to tick

``Fact.status`` is one of

- ``"pass"``: the fact says the item is fine (backups scheduled, no unresolved issue, the
  last run succeeded);
- ``"fail"``: it is not (no restorable backup, the last run failed); ``fix`` says what to do;
- ``"info"``: something to look at, neither good nor bad (3 unresolved issues, a run still
  in progress, no run yet);
- ``"unknown"``: the service could not be read (a rejected token, a missing scope, a
  timeout); ``detail`` names the service and the key, ``fix`` what to do.

``detail`` is one line, ``fix`` one line or empty, ``link`` the page to open (or None).
Everything in a Fact is plain text that went through ``providers.text.printable``: words
from a service may hold ``[`` and ``]``, so render it as text, never as Rich markup.

``gather`` never raises for a service's failure, and never writes: it only sends GETs,
with the credentials and values the session already holds (the keyring is read first, as
``Session.credentials_ready`` does). A service whose step is not done (skipped, failed, not
run) or lacks its token gives no entry. The three reads run side by side, each bounded by
``deadline`` seconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal
from urllib.parse import quote, urlsplit

from providers import github, sentry, supabase
from providers.errors import ProviderError
from providers.text import printable
from wizard.checklist import CHECKLIST

if TYPE_CHECKING:
    from wizard.context import StepContext
    from wizard.engine import Session

Status = Literal["pass", "fail", "info", "unknown"]

BACKUPS = "Verify database backups are scheduled"
SENTRY = "Monitor Sentry for errors"
CI = "Monitor CI/CD pipeline runs"
assert {BACKUPS, SENTRY, CI} <= {item for item, _ in CHECKLIST}

DEADLINE = 20.0  # seconds for one item's reads, whatever the service does
# Supabase takes a backup a day: a newest completed one older than this means they stopped.
BACKUP_MAX_AGE = timedelta(hours=48)
ISSUE_CAP = sentry.MAX_LIMIT
_EPOCH = datetime.fromtimestamp(0, UTC)
# Conclusions of a completed run that need someone to act (GitHub's check conclusions).
FAILED = frozenset({"failure", "cancelled", "timed_out", "startup_failure", "action_required"})


@dataclass(frozen=True)
class Fact:
    item: str
    status: Status
    detail: str
    link: str | None
    fix: str = ""

    def __post_init__(self) -> None:
        # Service text arrives here in every field: one safe line each.
        object.__setattr__(self, "detail", printable(self.detail))
        object.__setattr__(self, "fix", printable(self.fix))
        if self.link is not None:
            object.__setattr__(self, "link", _web_link(self.link))


@dataclass(frozen=True)
class _Read:
    item: str
    what: str  # "the backups of project abc…": for the message when the read fails
    link: str | None  # the page to open even when the read fails
    call: Callable[[], Awaitable[Fact]]


def _reads(session: Session) -> list[_Read]:
    """The reads the configured services allow (not configured: the item stays the user's)."""
    return [r for r in (_backups(session), _sentry(session), _ci(session)) if r is not None]


def planned(session: Session) -> dict[str, str]:
    """What ``gather`` would read with the credentials loaded so far: item -> what is read
    ("the backups of Supabase project …"). No request: for a "reading…" line meanwhile."""
    return {r.item: r.what for r in _reads(session)}


async def gather(session: Session, *, deadline: float = DEADLINE) -> dict[str, Fact]:
    """The facts the configured services give, keyed by checklist item text (see above)."""
    await session.credentials_ready()
    facts = await asyncio.gather(*(_guarded(session, r, deadline) for r in _reads(session)))
    return {f.item: f for f in facts}


async def _guarded(session: Session, read: _Read, deadline: float) -> Fact:
    """One item's reads; whatever goes wrong becomes an "unknown" Fact naming the service."""
    try:
        async with asyncio.timeout(deadline):
            return await read.call()
    except ProviderError as err:
        where = err.service + (f" ({err.key})" if err.key else "")
        return Fact(
            read.item,
            "unknown",
            session.redact(f"could not read {read.what}: {where}: {err.message}"),
            read.link,
            session.redact(err.hint),
        )
    except TimeoutError:
        return Fact(
            read.item,
            "unknown",
            f"could not read {read.what}: no answer within {deadline:g} s",
            read.link,
            "check the network and the service's status page, then look again",
        )
    except Exception as exc:  # a service answer we did not foresee must not break Done
        return Fact(
            read.item,
            "unknown",
            session.redact(f"could not read {read.what}: {type(exc).__name__}: {exc}")[:300],
            read.link,
        )


def _done(session: Session, step_id: str) -> StepContext | None:
    """A read-only context of a step the walk finished, else None."""
    if session.status(step_id) != "done":
        return None
    return session.step_context(step_id)


# -- database backups (Supabase) ---------------------------------------------------------------
def supabase_ref(ctx: StepContext) -> str | None:
    """The Supabase project of the database step: the one it built DATABASE_URL from, the
    one chosen, or the one DATABASE_URL itself names."""
    if ctx.choice("database_provider") != "supabase":
        return None
    remembered = ctx.memory.get("supabase_project")
    if isinstance(remembered, str) and remembered:
        return remembered
    return ctx.choice("supabase_project") or supabase.project_ref(ctx.app("DATABASE_URL") or "")


def _backups(session: Session) -> _Read | None:
    ctx = _done(session, "database")
    if ctx is None:
        return None
    ref = supabase_ref(ctx)
    token = ctx.operator(supabase.TOKEN_KEY)
    if not ref or not token:
        return None

    async def call() -> Fact:
        base = ctx.base_url(supabase.URL_VARIABLE, supabase.DEFAULT_URL, supabase.SERVICE)
        async with supabase.SupabaseClient(token, base) as client:
            found = await client.backups(ref)
        return backups_fact(ref, found, datetime.now(UTC))

    return _Read(
        BACKUPS, f"the backups of Supabase project {ref}", supabase.backups_page(ref), call
    )


def backups_fact(ref: str, found: supabase.Backups, now: datetime) -> Fact:
    """The verdict on a project's backups.

    Scheduled means restorable: Point-in-Time Recovery on (Supabase then takes no daily
    backups: PITR replaces them), or a completed daily backup from the last two days.
    ``walg_enabled`` alone proves nothing the user can restore: WAL-G archives for every
    project on physical backups, Free ones included, whose backups are not restorable.
    """
    if found.pitr_enabled:
        latest = (
            f", the latest base backup {_when_unix(found.latest_physical)}"
            if found.latest_physical
            else ""
        )
        return Fact(
            BACKUPS,
            "pass",
            f"Point-in-Time Recovery is on{latest}",
            supabase.backups_page(ref, pitr=True),
        )
    page = supabase.backups_page(ref)
    completed = sorted(
        ((t, b) for b in found.backups if b.status == "COMPLETED" and (t := _parse(b.inserted_at))),
        key=lambda tb: tb[0],
    )
    if completed:
        newest, _ = completed[-1]
        if now - newest <= BACKUP_MAX_AGE:
            return Fact(
                BACKUPS,
                "pass",
                f"daily backups: the latest completed {_when(newest)}, "
                f"{len(completed)} to restore from",
                page,
            )
        days = (now - newest).days
        return Fact(
            BACKUPS,
            "fail",
            f"the latest completed backup is from {_when(newest)}, {days} days ago",
            page,
            "daily backups seem to have stopped: check Database → Backups in the dashboard "
            "and contact Supabase support",
        )
    if found.backups:
        last = max(found.backups, key=lambda b: _parse(b.inserted_at) or _EPOCH)
        detail = f"no completed backup (the latest listed is {last.status or 'unknown'})"
    else:
        detail = "no backup to restore: Supabase's Free plan keeps none (Pro keeps 7 days)"
    return Fact(
        BACKUPS,
        "fail",
        detail,
        page,
        "upgrade the project to Pro (daily backups) or add Point-in-Time Recovery; on the Free "
        "plan, export it regularly with `supabase db dump`",
    )


# -- Sentry's unresolved issues ----------------------------------------------------------------
def _sentry(session: Session) -> _Read | None:
    ctx = _done(session, "sentry")
    if ctx is None:
        return None
    token = ctx.app(sentry.TOKEN_KEY)
    org, project = ctx.app(sentry.ORG_KEY), ctx.app(sentry.PROJECT_KEY)
    if not token or not org or not project:
        return None
    remembered = ctx.memory.get("project_id")
    project_id = str(remembered) if remembered else None
    try:
        base = ctx.base_url("SENTRY_URL", sentry.DEFAULT_URL, sentry.SERVICE)
    except ProviderError:
        base = sentry.DEFAULT_URL  # the read below names the bad SENTRY_URL
    link = sentry_issues_page(base, org, project, project_id)

    async def call() -> Fact:
        url = ctx.base_url("SENTRY_URL", sentry.DEFAULT_URL, sentry.SERVICE)
        async with sentry.SentryClient(token, base_url=url) as client:
            if project_id:
                count = await client.unresolved_issues(org, project, cap=ISSUE_CAP)
                page = link
            else:
                found, count = await asyncio.gather(
                    client.get_project(org, project),
                    client.unresolved_issues(org, project, cap=ISSUE_CAP),
                )
                page = sentry_issues_page(url, org, project, found.id or None)
        return sentry_fact(count, page)

    return _Read(SENTRY, f"the unresolved issues of Sentry project {org}/{project}", link, call)


def sentry_issues_page(base: str, org: str, project: str, project_id: str | None) -> str:
    """The project's unresolved issues in Sentry's web UI: ``https://<org>.sentry.io/issues/``
    on sentry.io (either region), ``<SENTRY_URL>/organizations/<org>/issues/`` self-hosted.
    Without the project id (not yet known), the project's own page."""
    host = (urlsplit(base).hostname or "").lower()
    org_q = quote(org, safe="")
    if host == "sentry.io" or host.endswith(".sentry.io"):
        root, issues = f"https://{org_q}.sentry.io", "/issues/"
        project_page = f"{root}/projects/{quote(project, safe='')}/"
    else:
        root = base.rstrip("/")
        issues = f"/organizations/{org_q}/issues/"
        project_page = f"{root}/organizations/{org_q}/projects/{quote(project, safe='')}/"
    if not project_id:
        return project_page
    return f"{root}{issues}?project={quote(project_id, safe='')}&query=is%3Aunresolved"


def sentry_fact(count: int, link: str) -> Fact:
    if count == 0:
        return Fact(SENTRY, "pass", "no unresolved issues", link)
    shown = f"{ISSUE_CAP}+" if count > ISSUE_CAP else str(count)
    return Fact(SENTRY, "info", f"{shown} unresolved issue{'s' if count != 1 else ''}", link)


# -- the last CI run on the default branch -----------------------------------------------------
def _ci(session: Session) -> _Read | None:
    ctx = _done(session, "github")
    if ctx is None:
        return None
    token, repo = ctx.operator("GITHUB_TOKEN"), ctx.operator("GITHUB_REPOSITORY")
    if not token or not repo:
        return None
    repo = repo.strip()
    try:
        github.split_repository(repo)
        api = ctx.base_url("GITHUB_API_URL", github.DEFAULT_BASE_URL, github.SERVICE)
    except ProviderError:
        api = github.DEFAULT_BASE_URL  # the read below names what is wrong
    actions = f"{github_web(api)}/{repo}/actions"

    async def call() -> Fact:
        url = ctx.base_url("GITHUB_API_URL", github.DEFAULT_BASE_URL, github.SERVICE)
        async with github.GitHubClient(token, base_url=url) as client:
            found = await client.repository(repo)
            branch = str(found.get("default_branch") or "main")
            run = await client.latest_run(repo, branch)
        home = found.get("html_url")
        page = f"{home}/actions" if isinstance(home, str) and _is_web(home) else actions
        return ci_fact(run, branch, page)

    return _Read(CI, f"the workflow runs of {repo}", actions, call)


def github_web(api: str) -> str:
    """The web root for a REST API base: github.com for api.github.com, the server itself
    for GitHub Enterprise Server (``https://ghe.example/api/v3``)."""
    parts = urlsplit(api)
    if (parts.hostname or "").lower() == "api.github.com":
        return "https://github.com"
    path = parts.path.rstrip("/").removesuffix("/api/v3")
    return f"{parts.scheme}://{parts.netloc}{path}"


def ci_fact(run: github.WorkflowRun | None, branch: str, actions: str) -> Fact:
    if run is None:
        return Fact(CI, "info", f"no workflow run on {branch} yet", actions)
    link = run.html_url if _is_web(run.html_url) else actions
    title = f"{run.name} #{run.number} on {branch}" + (
        f" ({_when(t)})" if (t := _parse(run.created_at)) else ""
    )
    if run.status != "completed":
        return Fact(CI, "info", f"{title}: {run.status or 'queued'}", link)
    conclusion = run.conclusion or "unknown"
    if conclusion == "success":
        return Fact(CI, "pass", f"{title}: success", link)
    if conclusion in FAILED:
        return Fact(
            CI,
            "fail",
            f"{title}: {conclusion}",
            link,
            "open the run, fix what failed and push again (or re-run it if it was a fluke)",
        )
    return Fact(CI, "info", f"{title}: {conclusion}", link)


# -- small helpers -----------------------------------------------------------------------------
def _parse(text: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _when_unix(seconds: int) -> str:
    try:
        return _when(datetime.fromtimestamp(seconds, UTC))
    except (OverflowError, OSError, ValueError):
        return "at an unreadable time"


def _is_web(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("https", "http") and bool(parts.netloc)


def _web_link(url: str) -> str | None:
    """A link fit to show and open: http(s) only, one printable line."""
    url = printable(url)
    return url if _is_web(url) and " " not in url else None


MARKS = {"pass": "✓", "fail": "✗", "info": "•", "unknown": "?"}


def render_lines(facts: dict[str, Fact]) -> list[str]:
    """The facts as plain lines, in the checklist's order (the line mode and the CLI)."""
    lines: list[str] = []
    for item, _prefixes in CHECKLIST:
        fact = facts.get(item)
        if fact is None:
            continue
        lines.append(f"  {MARKS.get(fact.status, '·')} {item}: {fact.detail}")
        if fact.fix:
            lines.append(f"      {fact.fix}")
        if fact.link:
            lines.append(f"      {fact.link}")
    return lines
