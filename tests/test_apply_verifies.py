"""`apply` ends on a verified site: once production is deployed and Vercel reports its
domain live (the deploy and domain steps done), every apply runs the post-deployment checks
against NEXTAUTH_URL and shows them; before that, and in a dry run, the site is not probed.
Through the real CLI, against a local site."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.site import FakeSite, good_site
from wizard.cli import main
from wizard.engine import Session
from wizard.envfile import format_assignment


@pytest.fixture
def site() -> Iterator[FakeSite]:
    with good_site() as s:
        yield s


def project(tmp_path: Path, site: FakeSite, *, live: bool) -> tuple[Path, Path]:
    app = tmp_path / "app"
    app.mkdir()
    (app / "package.json").write_text("{}")
    session = Session.open(app, env={})
    session.mark_done("deploy")
    session.state.step("domain").memory["live"] = live
    session.mark_done("domain")
    inputs = tmp_path / "inputs.env"
    inputs.write_text(format_assignment("NEXTAUTH_URL", site.url) + "\n")
    return app, inputs


def apply(app: Path, inputs: Path, *extra: str) -> int:
    argv = ["--project-dir", str(app), "apply", "--yes", "--env-file", str(inputs)]
    return main([*argv, "--only", "secrets", *extra])


def test_apply_on_a_live_site_ends_with_its_checks(
    tmp_path: Path, site: FakeSite, capsys: pytest.CaptureFixture[str]
) -> None:
    app, inputs = project(tmp_path, site, live=True)
    assert apply(app, inputs) == 0
    out = capsys.readouterr().out
    assert f"Verifying {site.url}:" in out
    assert "Health endpoint" in out
    assert site.count("/api/health") >= 1


def test_a_failing_check_is_a_note_not_a_failed_apply(
    tmp_path: Path, site: FakeSite, capsys: pytest.CaptureFixture[str]
) -> None:
    site.route("/api/health", status=503, body="down")
    app, inputs = project(tmp_path, site, live=True)
    assert apply(app, inputs, "--json") == 0  # the values were applied
    out, err = capsys.readouterr()
    json.loads(out)  # stdout stays one JSON document: the checks go to stderr
    assert f"Verifying {site.url}:" in err
    assert "the site is deployed, but some checks failed" in err
    assert "dream-pixel-setup verify" in err


@pytest.mark.parametrize("case", ["not live yet", "dry run"])
def test_no_probe_before_the_site_is_live_or_in_a_dry_run(
    tmp_path: Path, site: FakeSite, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    app, inputs = project(tmp_path, site, live=case == "dry run")
    assert apply(app, inputs, *(["--dry-run"] if case == "dry run" else [])) == 0
    assert "Verifying" not in capsys.readouterr().out
    assert site.total == 0


@pytest.mark.parametrize(
    ("live", "expected"),
    [
        (True, "Next: the site is live; check it again any time: dream-pixel-setup verify"),
        (False, "Next: once the domain points at Vercel, check the live site"),
    ],
)
def test_the_exit_summary_knows_the_site_is_deployed(
    tmp_path: Path, site: FakeSite, live: bool, expected: str
) -> None:
    from wizard.summary import exit_summary

    app, _ = project(tmp_path, site, live=live)
    session = Session.open(app, env={})
    for step in session.steps():
        if session.status(step.id) == "pending":
            session.mark_skipped(step.id, "not in this test")
    assert expected in exit_summary(session)
    assert "Next: deploy" not in exit_summary(session)


def test_a_full_deploy_to_a_site_on_this_machine_ends_verified(
    tmp_path: Path,
    site: FakeSite,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """No preset state: vercel pushes, deploy watches the build to READY, domain has no DNS
    to wait for (a loopback URL), and the apply ends with the checks against that URL."""
    from tests.fakes.vercel import FakeVercel

    token = "vercel-test-token-0123456789"
    app = tmp_path / "app"
    app.mkdir()
    (app / "package.json").write_text("{}")
    inputs = tmp_path / "inputs.env"
    values = {"NEXTAUTH_URL": site.url, "NEXTAUTH_SECRET": "n" * 64, "JWT_SECRET": "j" * 64}
    inputs.write_text("".join(format_assignment(k, v) + "\n" for k, v in values.items()))
    with FakeVercel(token) as vercel:
        vercel.build_seconds = 0.2
        project = vercel.add_project("dream-pixel")
        vercel.add_deployment(project, age_ms=60_000)
        for key, value in {
            "VERCEL_API_URL": vercel.url,
            "VERCEL_TOKEN": token,
            "VERCEL_PROJECT_ID": project.name,
        }.items():
            monkeypatch.setenv(key, value)
        argv = ["--project-dir", str(app), "apply", "--yes", "--env-file", str(inputs)]
        assert main([*argv, "--only", "vercel,deploy,domain"]) == 0
        assert len([w for w in vercel.writes() if w.path == "/v13/deployments"]) == 1
    out, err = capsys.readouterr()
    assert f"Verifying {site.url}:" in out and "Health endpoint" in out
    assert site.count("/api/health") >= 1
    # Said plainly: what was checked is this machine, not the Vercel deployment.
    assert "NEXTAUTH_URL is on this machine" in out + err
