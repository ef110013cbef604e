"""Never replace a value it cannot see (issue 12, point 1), through the real CLI.

A fresh clone (no ``.env.production``, no ``.dream-pixel/``) against a Vercel that holds
sensitive NEXTAUTH_SECRET/JWT_SECRET and a GitHub repository that already holds the CI
secrets: nothing it cannot see is replaced by a generated or default value; a value someone
gives (``--set``, ``--env-file``, the environment) or ``--rotate`` still replaces it.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import pytest

pytest.register_assert_rewrite("tests.clone_world")

from tests.clone_world import (  # noqa: E402
    OLD_CI,
    PROD_JWT,
    PROD_NEXTAUTH,
    SENTRY_TOKEN,
    VERCEL_TOKEN,
    Clone,
)
from wizard.cli import main  # noqa: E402
from wizard.envfile import format_assignment  # noqa: E402

pytest_plugins = ("tests.clone_world",)


def changes(out: str) -> dict[tuple[str, str], dict[str, str]]:
    data = json.loads(out)
    return {(c["target"], c.get("key") or c.get("resource")): c for c in data["changes"]}


def test_plan_says_what_it_cannot_see_and_will_not_replace(
    clone: Clone, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = clone.cli(monkeypatch, "plan", "--json")
    assert code == 0, err
    got = changes(out)
    for key in ("NEXTAUTH_SECRET", "JWT_SECRET"):
        line = got[("vercel", key)]
        assert line["action"] == "keep"
        assert "exists on Vercel, value unseen; not replaced" in line["detail"]
        assert got[("env-file", key)]["action"] == "keep"
        assert got[("secrets", key)]["action"] == "keep"
    # A default (SENTRY_PROJECT) is no more a value someone gave than a generated one.
    assert got[("github", "SENTRY_PROJECT")]["action"] == "keep"
    # The operator's own token, and a value given in --env-file, are given: they go.
    for name, origin in (("VERCEL_TOKEN", "environment"), ("SENTRY_AUTH_TOKEN", "--env-file")):
        line = got[("github", name)]
        assert line["action"] == "unknown"
        assert "value unseen; replaced by" in line["detail"] and origin in line["detail"]
    notes = json.loads(out)["notices"]
    nextauth = [n for n in notes if n.startswith("NEXTAUTH_SECRET:")]
    assert len(nextauth) == 1 and "\n" not in nextauth[0]
    assert "--set NEXTAUTH_SECRET=" in nextauth[0] and "--rotate NEXTAUTH_SECRET" in nextauth[0]

    code, out, err = clone.cli(monkeypatch, "plan")
    assert code == 0
    assert "keep" in out and "exists on Vercel, value unseen; not replaced" in out
    assert "note: NEXTAUTH_SECRET: exists on Vercel" in err


def test_fresh_clone_apply_keeps_production_secrets(
    clone: Clone, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = clone.cli(monkeypatch, "apply", "--yes")
    assert code == 0, err
    assert clone.vercel_value("NEXTAUTH_SECRET") == [PROD_NEXTAUTH]
    assert clone.vercel_value("JWT_SECRET") == [PROD_JWT]
    assert clone.github_value("SENTRY_PROJECT") == OLD_CI["SENTRY_PROJECT"]
    # Given values went: the operator's token, the --env-file value.
    assert clone.github_value("VERCEL_TOKEN") == VERCEL_TOKEN
    assert clone.github_value("SENTRY_AUTH_TOKEN") == SENTRY_TOKEN
    # The env file does not get a random secret production does not run with.
    written = clone.env_file()
    assert "NEXTAUTH_SECRET" not in written and "JWT_SECRET" not in written
    assert written["SENTRY_AUTH_TOKEN"] == SENTRY_TOKEN
    assert "note: NEXTAUTH_SECRET: exists on Vercel" in err

    # Stable: the next run is the same, and still replaces nothing.
    code, _, err = clone.cli(monkeypatch, "apply", "--yes")
    assert code == 0, err
    assert clone.vercel_value("NEXTAUTH_SECRET") == [PROD_NEXTAUTH]


def test_rotate_replaces_on_purpose(clone: Clone, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = clone.cli(monkeypatch, "plan", "--json", "--rotate", "NEXTAUTH_SECRET")
    assert code == 0, err
    got = changes(out)
    assert got[("vercel", "NEXTAUTH_SECRET")]["action"] == "unknown"
    assert "--rotate" in got[("vercel", "NEXTAUTH_SECRET")]["detail"]
    assert got[("vercel", "JWT_SECRET")]["action"] == "keep"

    code, _, err = clone.cli(monkeypatch, "apply", "--yes", "--rotate", "NEXTAUTH_SECRET")
    assert code == 0, err
    written = clone.env_file()
    [new] = clone.vercel_value("NEXTAUTH_SECRET")
    assert new != PROD_NEXTAUTH and new == written["NEXTAUTH_SECRET"] and len(new) == 64
    assert clone.vercel_value("JWT_SECRET") == [PROD_JWT]
    assert "JWT_SECRET" not in written


def test_a_given_value_replaces_it_and_the_plan_says_so(
    clone: Clone, monkeypatch: pytest.MonkeyPatch
) -> None:
    given = "a-value-someone-gave-" + "7" * 40
    code, out, err = clone.cli(monkeypatch, "plan", "--json", "--set", f"NEXTAUTH_SECRET={given}")
    assert code == 0, err
    line = changes(out)[("vercel", "NEXTAUTH_SECRET")]
    assert line["action"] == "unknown"
    assert line["detail"] == "exists on Vercel, value unseen; replaced by the value given " + (
        "(--set or typed in)"
    )

    code, _, err = clone.cli(monkeypatch, "apply", "--yes", "--set", f"NEXTAUTH_SECRET={given}")
    assert code == 0, err
    assert clone.vercel_value("NEXTAUTH_SECRET") == [given]
    assert clone.env_file()["NEXTAUTH_SECRET"] == given
    assert clone.vercel_value("JWT_SECRET") == [PROD_JWT]


def test_the_current_value_from_an_env_file_is_given(
    clone: Clone, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A teammate's copy of .env.production in the clone: its values are given."""
    (clone.dir / ".env.production").write_text(
        format_assignment("NEXTAUTH_SECRET", PROD_NEXTAUTH)
        + "\n"
        + format_assignment("JWT_SECRET", PROD_JWT)
        + "\n"
    )
    code, out, err = clone.cli(monkeypatch, "plan", "--json")
    assert code == 0, err
    line = changes(out)[("vercel", "NEXTAUTH_SECRET")]
    assert line["action"] == "unknown" and ".env.production" in line["detail"]
    code, _, err = clone.cli(monkeypatch, "apply", "--yes")
    assert code == 0, err
    assert clone.vercel_value("NEXTAUTH_SECRET") == [PROD_NEXTAUTH]
    # Pushed now, so the next plan knows it is the same.
    code, out, _ = clone.cli(monkeypatch, "plan", "--json")
    assert changes(out)[("vercel", "NEXTAUTH_SECRET")]["action"] == "unchanged"


def test_a_secret_generated_in_an_env_file_only_run_stays_generated(
    clone: Clone, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--only env-file` writes a random secret; a later full run must not push that file
    value over production's as if someone had given it."""
    with monkeypatch.context() as m:
        for key, value in clone.env().items():
            m.setenv(key, value)
        argv = ["apply", "--yes", "--project-dir", str(clone.dir), "--only", "secrets,env-file"]
        with contextlib.redirect_stdout(io.StringIO()):
            assert main(argv) == 0
    generated = clone.env_file()["NEXTAUTH_SECRET"]
    assert generated != PROD_NEXTAUTH

    code, out, err = clone.cli(monkeypatch, "plan", "--json")
    assert code == 0, err
    assert changes(out)[("vercel", "NEXTAUTH_SECRET")]["action"] == "keep"
    assert any("generated earlier" in n for n in json.loads(out)["notices"])
    code, _, err = clone.cli(monkeypatch, "apply", "--yes")
    assert code == 0, err
    assert clone.vercel_value("NEXTAUTH_SECRET") == [PROD_NEXTAUTH]
    assert clone.env_file()["NEXTAUTH_SECRET"] == generated  # left as it was

    # Edited by hand to production's value: now it is a value someone gave, and goes.
    path = clone.dir / ".env.production"
    path.write_text(path.read_text().replace(generated, PROD_NEXTAUTH))
    code, out, _ = clone.cli(monkeypatch, "plan", "--json")
    assert changes(out)[("vercel", "NEXTAUTH_SECRET")]["action"] == "unknown"


def test_a_value_we_pushed_is_ours_to_update(clone: Clone, monkeypatch: pytest.MonkeyPatch) -> None:
    """No remote entry: the generated secret is created everywhere; later runs see their own
    push and never hold it."""
    for env in list(clone.project.envs):
        clone.project.envs.remove(env)
    code, _, err = clone.cli(monkeypatch, "apply", "--yes")
    assert code == 0, err
    written = clone.env_file()
    assert clone.vercel_value("NEXTAUTH_SECRET") == [written["NEXTAUTH_SECRET"]]
    code, out, _ = clone.cli(monkeypatch, "plan", "--json")
    assert changes(out)[("vercel", "NEXTAUTH_SECRET")]["action"] == "unchanged"
    held = [n.split(":")[0] for n in json.loads(out)["notices"] if "cannot be read" in n]
    assert held == ["SENTRY_PROJECT"]  # the GitHub one, a default: still not replaced


def test_a_value_vercel_shows_is_used_instead_of_a_generated_or_default_one(
    clone: Clone, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Readable entries (encrypted, plain) set by hand: what production runs with is known,
    so a fresh clone takes it, for the env file too, and replaces nothing."""
    for env in list(clone.project.envs):
        clone.project.envs.remove(env)
    clone.vercel.add_env(clone.project, "NEXTAUTH_SECRET", PROD_NEXTAUTH, type="encrypted")
    clone.vercel.add_env(clone.project, "S3_BUCKET", "dp-prod-images", type="plain")
    clone.vercel.add_env(clone.project, "AWS_REGION", "eu-west-3", type="encrypted")

    before = len(clone.vercel.requests())
    code, out, err = clone.cli(monkeypatch, "plan", "--json")
    assert code == 0, err
    # Each encrypted value is read once per run: the plan uses what was read for it.
    reads = [
        r.path
        for r in clone.vercel.requests()[before:]
        if r.method == "GET" and re.search(r"/env/[^/]+$", r.path)
    ]
    assert len(reads) == len(set(reads)) == 2, reads
    got = changes(out)
    for key in ("NEXTAUTH_SECRET", "S3_BUCKET", "AWS_REGION"):
        assert got[("vercel", key)]["action"] == "unchanged", key
        assert got[("env-file", key)]["action"] == "add", key
    assert any(
        n.startswith("NEXTAUTH_SECRET: Vercel already serves") for n in json.loads(out)["notices"]
    )

    code, _, err = clone.cli(monkeypatch, "apply", "--yes")
    assert code == 0, err
    assert clone.vercel_value("NEXTAUTH_SECRET") == [PROD_NEXTAUTH]
    assert clone.vercel_value("S3_BUCKET") == ["dp-prod-images"]
    assert clone.vercel_value("AWS_REGION") == ["eu-west-3"]
    written = clone.env_file()
    assert written["NEXTAUTH_SECRET"] == PROD_NEXTAUTH
    assert written["S3_BUCKET"] == "dp-prod-images" and written["AWS_REGION"] == "eu-west-3"
    assert [r.method for r in clone.vercel.writes()] == ["POST"]  # the other keys' add

    # A value given still wins over what Vercel shows, and says so.
    code, out, _ = clone.cli(monkeypatch, "plan", "--json", "--set", "AWS_REGION=us-west-2")
    line = changes(out)[("vercel", "AWS_REGION")]
    assert line["action"] == "update"
