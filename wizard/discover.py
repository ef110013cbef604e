"""Operator values already on this machine, each with where it came from.

The ``origin`` remote names the GitHub repository; ``gh`` holds a GitHub token once
logged in; ``vercel link`` leaves ``.vercel/project.json`` with the org and project ids;
``vercel login`` leaves the CLI's token in its own data folder. The environment still
wins over all of these (the session asks here only for what it lacks).

Tokens never pass through argv or a log: ``gh auth token`` prints its token on stdout,
which is captured and never shown; errors from it are dropped, not echoed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from wizard import validators as v
from wizard.files import UnsafeFile, read_regular

# A child that does not answer in this time is treated as absent: discovery must never
# hold the wizard up (a gh waiting on a keychain prompt, a git on a dead network mount).
TIMEOUT_S = 5.0
MAX_JSON_BYTES = 64 * 1024

# Source labels, as the plan, --plain and the TUI show them ("from …").
GIT_REMOTE = "git remote"
GH = "gh"
VERCEL_LINK = ".vercel/project.json"
VERCEL_LOGIN = "Vercel CLI login"
SOURCE_LABELS = {
    "environment": "from environment",
    "keyring": "from keyring",
    "set": "from --set",
    "prompt": "typed in the wizard",
    "state": "from saved progress",
    GIT_REMOTE: "from git remote",
    GH: "from gh",
    VERCEL_LINK: "from .vercel/project.json",
    VERCEL_LOGIN: "from the Vercel CLI login",
}


def describe_source(source: str | None) -> str:
    """ "from environment", "from gh", …; "" when unknown."""
    return SOURCE_LABELS.get(source or "", f"from {source}" if source else "")


@dataclass(frozen=True)
class Found:
    value: str
    source: str


# What git and gh need to find their own configuration, and nothing else: the operator's
# credentials in this process's environment never travel to a child.
_CHILD_ENV = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "TMPDIR",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "XDG_STATE_HOME",
    "XDG_CACHE_HOME",
    "GH_CONFIG_DIR",
    "GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_SYSTEM",
    "GIT_CONFIG_NOSYSTEM",
    "GIT_DIR",
    "GIT_WORK_TREE",
    "SYSTEMROOT",
    "APPDATA",
    "LOCALAPPDATA",
    "USERPROFILE",
)


def _child_env(env: Mapping[str, str]) -> dict[str, str]:
    # Never a prompt (git for credentials, gh for an upgrade notice), never a pager.
    return {
        **{k: env[k] for k in _CHILD_ENV if k in env},
        "GIT_TERMINAL_PROMPT": "0",
        "GH_PROMPT_DISABLED": "1",
        "GH_NO_UPDATE_NOTIFIER": "1",
        "GIT_PAGER": "cat",
        "PAGER": "cat",
        "LC_ALL": "C",
    }


def _run(argv: list[str], env: Mapping[str, str], cwd: Path | None = None) -> str | None:
    """stdout of a short child, or None if it is missing, fails or takes too long."""
    exe = shutil.which(argv[0], path=env.get("PATH", os.defpath))
    if exe is None:
        return None
    try:
        proc = subprocess.run(
            [exe, *argv[1:]],
            cwd=cwd,
            env=_child_env(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            timeout=TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    return proc.stdout.decode("utf-8", "replace")


def github_host(env: Mapping[str, str]) -> str:
    """github.com, or the GitHub Enterprise host GITHUB_API_URL points at."""
    api = env.get("GITHUB_API_URL", "").strip()
    host = (urlsplit(api).hostname or "") if api else ""
    return "github.com" if host in ("", "api.github.com") else host


def in_git_checkout(project_dir: Path) -> bool:
    """A ``.git`` in the folder or above it (a monorepo's app folder counts): only then is
    git asked anything."""
    here = project_dir.resolve()
    return any((d / ".git").exists() for d in (here, *here.parents))


def git_remote_repository(project_dir: Path, env: Mapping[str, str]) -> str | None:
    """owner/name of the ``origin`` remote when it is on GitHub (https or ssh form)."""
    if not in_git_checkout(project_dir):
        return None
    out = _run(["git", "-C", str(project_dir), "remote", "get-url", "origin"], env)
    if not out:
        return None
    url = out.strip().splitlines()[0] if out.strip() else ""
    host = _remote_host(url)
    if host is None or host.lower() not in (github_host(env), "github.com", "ssh.github.com"):
        return None  # GitLab, Bitbucket, a local path: not a GitHub repository
    repo = v.github_repository_clean(url)
    return repo if v.REPOSITORY.match(repo) else None


def _remote_host(url: str) -> str | None:
    if "://" in url:
        return urlsplit(url).hostname
    # scp-like: [user@]host:path
    head, sep, _path = url.partition(":")
    return head.rpartition("@")[2] if sep and "/" not in head else None


def gh_token(env: Mapping[str, str]) -> str | None:
    """The token ``gh`` is logged in with, for the GitHub host in use."""
    out = _run(["gh", "auth", "token", "--hostname", github_host(env)], env)
    token = (out or "").strip()
    if not token or v.token(token, v.ValidationContext()):
        return None
    return token


def vercel_project_link(project_dir: Path) -> tuple[dict[str, str], str | None]:
    """VERCEL_ORG_ID / VERCEL_PROJECT_ID from ``vercel link``'s file, and a notice when the
    file is there but cannot be used."""
    path = project_dir / ".vercel" / "project.json"
    try:
        raw = read_regular(path, what=".vercel/project.json", max_bytes=MAX_JSON_BYTES)
    except UnsafeFile as exc:
        return {}, f"{exc}: VERCEL_ORG_ID and VERCEL_PROJECT_ID not taken from it"
    if raw is None:
        return {}, None
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return {}, ".vercel/project.json is not valid JSON: run `vercel link` again"
    if not isinstance(data, dict):
        return {}, ".vercel/project.json holds no project: run `vercel link` again"
    out: dict[str, str] = {}
    for json_key, key in (("orgId", "VERCEL_ORG_ID"), ("projectId", "VERCEL_PROJECT_ID")):
        value = data.get(json_key)
        if isinstance(value, str) and value.strip() and not v.slug(value.strip(), _CTX):
            out[key] = value.strip()
    return out, None


_CTX = v.ValidationContext()


def vercel_cli_dirs(env: Mapping[str, str]) -> list[Path]:
    """Where the Vercel CLI keeps its global config, in its own order of preference
    (packages/cli/src/util/config/global-path.ts): xdg-app-paths' data folder for
    ``com.vercel.cli``, then the legacy ``~/.now`` and XDG ``now`` folders."""
    home = Path(env.get("HOME") or Path.home())
    if sys.platform == "darwin":
        data_homes = [home / "Library" / "Application Support"]
    else:
        xdg = env.get("XDG_DATA_HOME", "").strip()
        data_homes = [Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".local/share"]
    dirs = [d / "com.vercel.cli" for d in data_homes]
    dirs.append(home / ".now")
    dirs.extend(d / "now" for d in data_homes)
    return dirs


def vercel_cli_token(env: Mapping[str, str]) -> tuple[str | None, str | None]:
    """The token ``vercel login`` stored (auth.json in the CLI's folder), and a notice
    when there is one that cannot be used."""
    folder = next((d for d in vercel_cli_dirs(env) if d.is_dir() and not d.is_symlink()), None)
    if folder is None:
        return None, None
    try:
        raw = read_regular(folder / "auth.json", what="the Vercel CLI's auth.json")
    except UnsafeFile:
        return None, None
    if raw is None:
        return None, None
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None, None
    token = data.get("token") if isinstance(data, dict) else None
    if not isinstance(token, str) or not token.strip():
        return None, None
    expires = data.get("expiresAt")
    if isinstance(expires, int | float) and expires < time.time() * (1000 if expires > 1e12 else 1):
        return None, "the Vercel CLI's login has expired: run `vercel login` or set VERCEL_TOKEN"
    return token.strip(), None


@dataclass
class Discovery:
    """What was found for one project, read once."""

    project_dir: Path
    env: Mapping[str, str]

    def public(self, wanted: set[str]) -> tuple[dict[str, Found], list[str]]:
        """The non-secret operator values among ``wanted`` (cheap: at most one git call and
        one small file, each only when one of its values is wanted)."""
        found: dict[str, Found] = {}
        notices: list[str] = []
        if "GITHUB_REPOSITORY" in wanted:
            repo = git_remote_repository(self.project_dir, self.env)
            if repo:
                found["GITHUB_REPOSITORY"] = Found(repo, GIT_REMOTE)
        if wanted & {"VERCEL_ORG_ID", "VERCEL_PROJECT_ID"}:
            link, notice = vercel_project_link(self.project_dir)
            for key, value in link.items():
                found[key] = Found(value, VERCEL_LINK)
            if notice:
                notices.append(notice)
        return found, notices

    def secret(self, key: str) -> tuple[Found | None, str | None]:
        """An operator token another tool already holds, and a notice when it cannot be used."""
        if key == "GITHUB_TOKEN":
            token = gh_token(self.env)
            return (Found(token, GH) if token else None), None
        if key == "VERCEL_TOKEN":
            token, notice = vercel_cli_token(self.env)
            return (Found(token, VERCEL_LOGIN) if token else None), notice
        return None, None
