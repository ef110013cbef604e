"""The CLI contract of design.md, run as a user would: the real entry point, real files."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from wizard.cli import main

LIVE_SK = "sk_live_" + "a1B2c3D4e5F6g7H8i9J0kLmN"
LIVE_PK = "pk_live_" + "Z9y8X7w6V5u4T3s2R1q0PoNm"
GOOD = {
    "NEXTAUTH_URL": "https://dreampixel.example",
    "DATABASE_URL": "postgresql://postgres:pa$$w0rd%23@db.example.supabase.co:5432/postgres?sslmode=require",
    "UPSTASH_REDIS_REST_URL": "https://eu1-sure-fox.upstash.io",
    "UPSTASH_REDIS_REST_TOKEN": "AXYZtoken1234567890abcdef",
    "STRIPE_SECRET_KEY": LIVE_SK,
    "NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY": LIVE_PK,
}


def sets(values: dict[str, str]) -> list[str]:
    out: list[str] = []
    for k, v in values.items():
        out += ["--set", f"{k}={v}"]
    return out


def run(project: Path, *args: str) -> int:
    return main(["--project-dir", str(project), *args])


def tree(*roots: Path) -> dict[str, tuple[int, float]]:
    out = {}
    for root in roots:
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                p = Path(dirpath) / name
                st = p.stat()
                out[str(p)] = (st.st_size, st.st_mtime)
            out[dirpath] = (0, 0.0)
    return out


def test_help_names_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for cmd in ("plan", "apply", "status", "reset", "verify"):
        assert cmd in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--version"])
    assert "dream-pixel-setup 0.1.0" in capsys.readouterr().out


def test_core_imports_no_ui_library() -> None:
    code = (
        "import sys, importlib, pkgutil, wizard, providers, wizard.steps\n"
        "for pkg in (wizard, providers, wizard.steps):\n"
        "    for m in pkgutil.iter_modules(pkg.__path__):\n"
        "        if m.name == '__main__': continue\n"
        "        importlib.import_module(pkg.__name__ + '.' + m.name)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'questionary')]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parent.parent,
    )
    assert out.stdout.strip() == "", f"UI libraries imported by the core: {out.stdout}"


def test_cli_start_path_is_light() -> None:
    code = (
        "import sys; import wizard.cli, wizard.engine\n"
        "print([m for m in ('boto3','psycopg','textual','keyring') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("DATABASE_URL", "mysql://u:p@h/db", "postgresql://"),
        ("DATABASE_URL", "postgresql://u:p@db.example.com:5432/x", "sslmode=require"),
        ("STRIPE_SECRET_KEY", "sk_test_" + "x" * 24, "test-mode"),
        ("STRIPE_SECRET_KEY", "pk_live_" + "x" * 24, "publishable"),
        ("NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY", "sk_live_" + "x" * 24, "SECRET"),
        ("STRIPE_WEBHOOK_SECRET", "wh_123456789012345", "whsec_"),
        ("RESEND_API_KEY", "sk_123456789", "re_"),
        ("SENTRY_DSN", "https://sentry.io/123", "ingest"),
        ("NEXTAUTH_URL", "http://dreampixel.example", "https"),
        ("UPSTASH_REDIS_REST_URL", "http://eu1.upstash.io", "https"),
        ("NEXTAUTH_SECRET", "short", "32"),
        ("JWT_SECRET", "x" * 31, "32"),
        ("S3_BUCKET", "Dream_Pixel", "lowercase"),
        ("S3_BUCKET", "192.168.1.1", "IP"),
        ("S3_BUCKET", "ab", "3 to 63"),
        ("GITHUB_REPOSITORY", "just-a-name", "owner/name"),
        ("1BAD", "x", "valid variable name"),
    ],
)
def test_bad_values_refused_before_any_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str, value: str, words: str
) -> None:
    before = tree(tmp_path)
    code = run(
        tmp_path, "apply", "--yes", "--only", "secrets,env-file", *sets({**GOOD, key: value})
    )
    err = capsys.readouterr().err
    assert code == 1
    assert key in err and words in err
    assert "Traceback" not in err
    if len(value) > 6:
        assert value not in err  # the message names the key, never echoes the value
    assert tree(tmp_path) == before


def test_set_without_equals_is_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(tmp_path, "plan", "--set", "DATABASE_URL") == 1
    assert "KEY=VALUE" in capsys.readouterr().err


def test_operator_secret_on_command_line_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(tmp_path, "plan", "--set", "VERCEL_TOKEN=abc") == 1
    err = capsys.readouterr().err
    assert "VERCEL_TOKEN" in err and "environment" in err and "abc" not in err


def test_unknown_step_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(tmp_path, "plan", "--only", "databse") == 1
    assert "databse" in capsys.readouterr().err


def test_plan_writes_nothing_and_lists_changes(
    tmp_path: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree(tmp_path, home)
    code = run(
        tmp_path, "plan", "--json", "--detailed-exitcode", "--only", "secrets,env-file", *sets(GOOD)
    )
    out = capsys.readouterr().out
    assert code == 2
    assert tree(tmp_path, home) == before
    data = json.loads(out)
    assert data["environment"] == "production"
    env_changes = {
        c["key"]: c["action"] for c in data["changes"] if c["target"] == "env-file" and "key" in c
    }
    assert env_changes["DATABASE_URL"] == "add"
    assert env_changes["NEXTAUTH_SECRET"] == "add"
    for value in GOOD.values():
        assert value not in out


def test_apply_writes_exact_env_file_then_nothing_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from wizard.envfile import load_env_file

    (tmp_path / ".gitignore").write_text("node_modules/\n")
    code = run(tmp_path, "apply", "--yes", "--only", "secrets,env-file", *sets(GOOD))
    assert code == 0, capsys.readouterr().err
    env = tmp_path / ".env.production"
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    values = load_env_file(env).values()
    for k, v in GOOD.items():
        assert values[k] == v
    secret = values["NEXTAUTH_SECRET"]
    assert len(secret) == 64 and int(secret, 16) >= 0
    assert values["JWT_SECRET"] != secret
    gitignore = (tmp_path / ".gitignore").read_text().splitlines()
    assert "node_modules/" in gitignore and ".env.*" in gitignore and ".dream-pixel/" in gitignore
    assert gitignore.index("!.env.example") > gitignore.index(".env.*")

    state_text = (tmp_path / ".dream-pixel" / "state-production.json").read_text()
    for v in [*GOOD.values(), secret, values["JWT_SECRET"]]:
        assert v not in state_text

    capsys.readouterr()
    # Second run: the secrets are kept, nothing to change.
    code = run(tmp_path, "plan", "--json", "--detailed-exitcode", "--only", "secrets,env-file")
    data = json.loads(capsys.readouterr().out)
    assert code == 0, data
    assert load_env_file(env).values()["NEXTAUTH_SECRET"] == secret


def test_rewrite_keeps_comments_order_unknown_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = tmp_path / ".env.production"
    env.write_text(
        "# my notes\nCUSTOM_THING=keep me\n\n# db\nDATABASE_URL=postgresql://old:old@localhost/db\n"
    )
    env.chmod(0o644)
    code = run(tmp_path, "apply", "--yes", "--only", "secrets,env-file", *sets(GOOD))
    assert code == 0, capsys.readouterr().err
    text = env.read_text()
    assert text.startswith("# my notes\nCUSTOM_THING=keep me\n\n# db\nDATABASE_URL=")
    assert "old:old" not in text
    assert stat.S_IMODE(env.stat().st_mode) == 0o600


def test_rotation_only_on_request(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from wizard.envfile import load_env_file

    assert run(tmp_path, "apply", "--yes", "--only", "secrets,env-file", *sets(GOOD)) == 0
    first = load_env_file(tmp_path / ".env.production").values()
    assert (
        run(tmp_path, "apply", "--yes", "--only", "secrets,env-file", "--rotate", "JWT_SECRET") == 0
    )
    second = load_env_file(tmp_path / ".env.production").values()
    assert second["NEXTAUTH_SECRET"] == first["NEXTAUTH_SECRET"]
    assert second["JWT_SECRET"] != first["JWT_SECRET"]


def test_status_and_reset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(tmp_path, "apply", "--yes", "--only", "secrets,env-file", *sets(GOOD)) == 0
    capsys.readouterr()
    assert run(tmp_path, "status", "--json") == 0
    steps = {s["id"]: s["status"] for s in json.loads(capsys.readouterr().out)["steps"]}
    assert (
        steps["secrets"] == "done" and steps["env-file"] == "done" and steps["vercel"] == "pending"
    )
    assert list(steps) == [
        "prerequisites", "database", "redis", "storage", "cloudflare", "sentry",
        "stripe", "resend", "secrets", "env-file", "vercel", "github", "migrate", "deploy",
        "domain", "monitoring", "safeguards",
    ]  # fmt: skip
    assert run(tmp_path, "reset", "--yes") == 0
    capsys.readouterr()
    assert run(tmp_path, "status", "--json") == 0
    steps = {s["id"]: s["status"] for s in json.loads(capsys.readouterr().out)["steps"]}
    assert set(steps.values()) == {"pending"}
    assert (tmp_path / ".env.production").exists()


def test_env_file_input_is_read_as_nextjs_would(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from wizard.envfile import load_env_file

    src = tmp_path / "input.env"
    # Next.js's dialect, as for .env.production: \$ is a dollar, $VAR expands in the file.
    src.write_text("STRIPE_SECRET_KEY=" + LIVE_SK + "\nMY_FLAG='a\\$b'\nREF=${STRIPE_SECRET_KEY}\n")
    code = run(
        tmp_path, "apply", "--yes", "--only", "secrets,env-file", "--env-file", str(src),
        *sets({k: v for k, v in GOOD.items() if k != "STRIPE_SECRET_KEY"}),
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    values = load_env_file(tmp_path / ".env.production").values()
    assert values["MY_FLAG"] == "a$b"
    assert values["REF"] == LIVE_SK
    assert values["STRIPE_SECRET_KEY"] == LIVE_SK


def test_missing_required_value_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(tmp_path, "plan", "--only", "redis") == 1
    err = capsys.readouterr().err
    assert "UPSTASH_REDIS_REST_URL: missing" in err and "--set" in err


def test_apply_without_yes_and_no_tty_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "wizard", "apply", "--project-dir", str(tmp_path), "--only",
         "secrets"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True,
        env={**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"},
    )  # fmt: skip
    assert proc.returncode == 1
    assert "--yes" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / ".env.production").exists()


def test_json_refusal_is_still_one_json_object(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(tmp_path, "plan", "--json", "--only", "redis")
    captured = capsys.readouterr()
    assert code == 1
    data = json.loads(captured.out)
    assert data["changes"] == [] and any("UPSTASH_REDIS_REST_URL" in e for e in data["errors"])


def test_only_and_skip_leaving_nothing_is_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(tmp_path, "plan", "--only", "redis", "--skip", "redis") == 1
    assert "no step" in capsys.readouterr().err


# -- issue 9, point 13: the CLI around the wizard -------------------------------------------

BIN = Path(sys.executable).parent / "dream-pixel-setup"


@pytest.mark.parametrize("command", ["plan", "apply", "status", "reset", "verify"])
def test_each_subcommand_help_describes_it_and_names_the_steps(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from wizard.catalogue import STEP_IDS

    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    rest = out.partition("\n\n")[2]
    description = rest.partition("\n\n")[0]
    assert len(description.split()) >= 12  # a sentence or two, not only the usage line
    if command != "verify":  # verify takes no steps; it checks the live site
        listed = out.partition("steps (for --only and --skip), in order:")[2].splitlines()
        ids = [line.split()[0] for line in listed if line.startswith("  ") and line[2] != " "]
        assert ids == list(STEP_IDS)


def test_status_json_carries_skip_reasons(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from wizard.engine import Session

    Session.open(tmp_path, env={}).mark_skipped("stripe", "no payments yet")
    assert run(tmp_path, "status", "--json") == 0
    steps = {s["id"]: s for s in json.loads(capsys.readouterr().out)["steps"]}
    assert steps["stripe"] == {"id": "stripe", "status": "skipped", "reason": "no payments yet"}
    assert steps["redis"]["reason"] is None


def test_reset_with_nothing_saved_says_so_and_asks_nothing(tmp_path: Path) -> None:
    proc = subprocess.run(
        [str(BIN), "--project-dir", str(tmp_path), "reset"],
        stdin=subprocess.DEVNULL,  # a question would need a terminal: there must be none
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Nothing saved for production" in proc.stdout
    assert proc.stderr == ""
    assert list(tmp_path.iterdir()) == []


def test_a_folder_without_package_json_is_warned_about(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(tmp_path, "plan", "--only", "secrets")
    assert "warning: no package.json in" in capsys.readouterr().err
    (tmp_path / "package.json").write_text("{}\n")
    run(tmp_path, "plan", "--only", "secrets")
    assert "package.json" not in capsys.readouterr().err


def test_readme_links_resolve_in_a_fresh_clone() -> None:
    import re

    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text()
    targets = [t for t in re.findall(r"\]\(([^)#\s]+)", readme) if "://" not in t]
    assert "docs/deployment-guide.md" in targets
    for target in targets:
        path = (root / target).resolve()
        assert path.is_relative_to(root) and path.is_file(), target


NEW_URL = ["--set", "NEXTAUTH_URL=https://new.example"]


def _plan_in_a_pty(project: Path, **env: str) -> bytes:
    import pexpect

    child = pexpect.spawn(
        str(BIN),
        ["--project-dir", str(project), "plan", "--only", "secrets,env-file", *NEW_URL],
        env={**os.environ, "TERM": "xterm-256color", **env},
        timeout=60,
    )
    child.expect(pexpect.EOF)
    child.close()
    return child.before or b""


def test_plan_is_coloured_like_terraform_in_a_terminal_only(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text("{}\n")
    (tmp_path / ".env.production").write_text(
        "NEXTAUTH_URL=https://old.example\nNEXTAUTH_SECRET=" + "ab" * 32 + "\n"
    )
    os.chmod(tmp_path / ".env.production", 0o600)
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    shown = _plan_in_a_pty(tmp_path, NO_COLOR="")
    assert b"\x1b[32m  + add        env-file  JWT_SECRET" in shown  # generated: green +
    assert b"\x1b[33m  ~ update     env-file  NEXTAUTH_URL" in shown  # changed: yellow ~
    assert b"\x1b[" not in _plan_in_a_pty(tmp_path, NO_COLOR="1")
    piped = subprocess.run(
        [str(BIN), "--project-dir", str(tmp_path), "plan", "--only", "secrets,env-file", *NEW_URL],
        capture_output=True,
        env={**env, "TERM": "xterm-256color"},
        timeout=60,
    )
    assert b"+ add" in piped.stdout and b"\x1b[" not in piped.stdout


def test_reset_with_only_a_stored_credential_still_resets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import keyring

    from tests.test_credentials import MemoryKeyring
    from wizard.credentials import SERVICE, scoped_account

    previous = keyring.get_keyring()
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    try:
        account = scoped_account(tmp_path, "production", "VERCEL_TOKEN")
        memory.store[(SERVICE, account)] = "vercel_TOKEN_kept_in_the_keyring_0123"
        assert run(tmp_path, "reset", "--yes") == 0
        assert "Nothing saved" not in capsys.readouterr().out
        assert memory.store == {}
    finally:
        keyring.set_keyring(previous)
