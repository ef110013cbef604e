"""The workflow scanner: every secrets./vars. a workflow uses, with its file and line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from wizard.workflows import scan_source, scan_workflows

FIXTURES = Path(__file__).parent / "fixtures" / "workflows"
PUSHED = {
    "VERCEL_TOKEN",
    "VERCEL_ORG_ID",
    "VERCEL_PROJECT_ID",
    "SENTRY_AUTH_TOKEN",
    "SENTRY_ORG",
    "SENTRY_PROJECT",
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURES, tmp_path / ".github" / "workflows")
    return tmp_path


def test_guide_workflows_and_odd_shapes(project: Path) -> None:
    scan = scan_workflows(project)
    assert scan.unreadable == []
    missing = {r.name: r.where for r in scan.missing("secrets", PUSHED)}
    # SNYK_TOKEN (optional, not given), a secret nobody set, and one behind an anchor.
    assert missing == {
        "SLACK_WEBHOOK_URL": ".github/workflows/deploy.yml:35",
        "DATADOG_API_KEY": ".github/workflows/odd.yaml:5",
        "SNYK_TOKEN": ".github/workflows/security.yml:21",
    }
    # GITHUB_TOKEN is GitHub's own; text outside an expression is not a reference.
    assert "GITHUB_TOKEN" not in missing
    assert "NOT_AN_EXPRESSION" not in scan.names("secrets")
    # Bracket access, odd spacing and case, a folded block scalar: all found, line exact.
    assert [r.where for r in scan.uses("secrets", "sentry_auth_token")] == [
        ".github/workflows/deploy.yml:27",
        ".github/workflows/odd.yaml:12",
    ]
    vercel_token = [r.where for r in scan.uses("secrets", "VERCEL_TOKEN")]
    assert ".github/workflows/odd.yaml:16" in vercel_token
    # vars: in ${{ }}, with brackets, and bare in an `if:` (an expression without ${{ }}).
    assert {r.name: r.where for r in scan.missing("vars", set())} == {
        "NEXT_PUBLIC_SENTRY_DSN": ".github/workflows/ci.yml:28",
        "AWS_REGION": ".github/workflows/odd.yaml:6",
        "ENABLE_SNYK": ".github/workflows/security.yml:16",
    }


def test_each_use_of_a_name_on_its_own_line() -> None:
    source = (
        "jobs:\n"
        "  a:\n"
        "    steps:\n"
        "      - run: |\n"
        "          echo ${{ secrets.A }}\n"
        "          echo ${{ secrets.A }} ${{ secrets.B }}\n"
    )
    found = [(r.name, r.line) for r in scan_source(source, "w.yml")]
    assert found == [("A", 5), ("A", 6), ("B", 6)]


def test_unreadable_files_are_reported_not_fatal(project: Path) -> None:
    folder = project / ".github" / "workflows"
    (folder / "broken.yml").write_text("jobs: [unclosed\n")
    (folder / "link.yml").symlink_to(folder / "ci.yml")
    (folder / "notes.txt").write_text("${{ secrets.IGNORED }}\n")
    scan = scan_workflows(project)
    assert any(u.startswith(".github/workflows/broken.yml line") for u in scan.unreadable)
    assert any("link.yml" in u and "link" in u for u in scan.unreadable)
    assert "IGNORED" not in scan.names("secrets")
    assert "SLACK_WEBHOOK_URL" in scan.names("secrets")  # the others still read


def test_alias_bomb_costs_what_its_text_costs() -> None:
    lines = ['a0: &a0 ["${{ secrets.X }}"]']
    for i in range(1, 40):
        lines.append(f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}]")
    found = scan_source("\n".join(lines) + "\n", "bomb.yml")
    assert [(r.name, r.line) for r in found] == [("X", 1)]


def test_no_workflows_folder(tmp_path: Path) -> None:
    scan = scan_workflows(tmp_path)
    assert scan.references == [] and scan.unreadable == []
