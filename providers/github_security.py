"""GitHub repository safeguards: Dependabot alerts and security updates, secret scanning.

Shapes follow GitHub's REST description (``tests/api-specs/github.json.gz``):
``GET|PUT /repos/{o}/{r}/vulnerability-alerts`` (204 enabled, 404 disabled),
``GET|PUT /repos/{o}/{r}/automated-security-fixes`` (200 ``{"enabled": …}``, 404 while
Dependabot alerts are off), and ``PATCH /repos/{o}/{r}`` with ``security_and_analysis``
(422 when the repository's plan does not include the feature). All of them need admin on the
repository: a fine-grained token needs Administration: read and write.
"""

from __future__ import annotations

from providers.errors import BadRequest, NotFound
from providers.github import TOKEN_URL, GitHubClient, repo_path

ADMIN_PERMISSION = "Administration: read and write"
SCANNING = ("secret_scanning", "secret_scanning_push_protection")


def admin_needed(repo: str) -> str:
    return (
        f"Dependabot and secret scanning settings of {repo} need admin: a fine-grained token "
        f"needs {ADMIN_PERMISSION} on the repository, a classic one the repo scope "
        f"({TOKEN_URL})"
    )


class PlanRefused(Exception):
    """GitHub answered 422: the repository's plan does not include the feature."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SecurityClient(GitHubClient):
    async def _enabled(self, repo: str, what: str) -> bool:
        try:
            response = await self._request(
                "GET",
                repo_path(repo) + "/" + what,
                key="GITHUB_TOKEN",
                forbidden=admin_needed(repo),
            )
        except NotFound:
            return False  # how GitHub says "off" (and, for security updates, "alerts off")
        if response.status_code == 204:
            return True
        body = response.json()
        return bool(body.get("enabled")) if isinstance(body, dict) else False

    async def dependabot_alerts(self, repo: str) -> bool:
        return await self._enabled(repo, "vulnerability-alerts")

    async def security_updates(self, repo: str) -> bool:
        return await self._enabled(repo, "automated-security-fixes")

    async def enable(self, repo: str, what: str) -> None:
        """``PUT`` vulnerability-alerts or automated-security-fixes (204, safe to repeat)."""
        await self._request(
            "PUT",
            repo_path(repo) + "/" + what,
            key="GITHUB_TOKEN",
            forbidden=admin_needed(repo),
            not_found=admin_needed(repo),
        )

    async def enable_scanning(self, repo: str, features: tuple[str, ...]) -> None:
        """Switch ``features`` on through ``security_and_analysis``; raises PlanRefused when
        the repository's plan does not include them (422)."""
        body = {"security_and_analysis": {f: {"status": "enabled"} for f in features}}
        try:
            await self._request(
                "PATCH",
                repo_path(repo),
                json=body,
                key="GITHUB_TOKEN",
                forbidden=admin_needed(repo),
            )
        except BadRequest as exc:
            if exc.status == 422:
                raise PlanRefused(exc.message) from None
            raise
