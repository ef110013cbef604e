"""Hostile networks through the real CLI: stalled services, ambiguous URLs, proxies from the
environment, and escape sequences in a service's error message.

The CLI runs as a user runs it (``python -m wizard`` in a subprocess, real stdout and
stderr bytes) where the point is what reaches the terminal or how long a run takes.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from providers.errors import InsecureURL
from providers.http import DEFAULT_DEADLINE
from providers.s3 import endpoint_url
from providers.text import printable
from providers.urls import checked_base_url, is_loopback_host
from tests.fakes.base import FakeService
from tests.fakes.vercel import FakeVercel
from wizard.cli import main

ROOT = Path(__file__).resolve().parent.parent
VERCEL_TOKEN = "vercel_hostile_TOKEN_0123456789abcdef"
HTTP_STEPS = "vercel,github,sentry,stripe,resend,cloudflare,redis"
URL_VARIABLES = (
    "VERCEL_API_URL",
    "GITHUB_API_URL",
    "SENTRY_URL",
    "STRIPE_API_URL",
    "RESEND_API_URL",
    "CLOUDFLARE_API_URL",
)
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")
ESCAPES = "\x1b]0;pwned\x07\x1b[2J\x9b31m\u202eevil\r"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "package.json").write_text('{"name": "dream-pixel"}\n')
    return tmp_path


@pytest.fixture
def vercel() -> Iterator[FakeVercel]:
    with FakeVercel(VERCEL_TOKEN) as fake:
        fake.add_project("dream-pixel")
        yield fake


def vercel_env(url: str) -> dict[str, str]:
    return {
        "VERCEL_TOKEN": VERCEL_TOKEN,
        "VERCEL_PROJECT_ID": "dream-pixel",
        "VERCEL_API_URL": url,
        "NO_COLOR": "1",
    }


def cli(
    project: Path, env: dict[str, str], *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[bytes]:
    """The installed entry point in a child process: bytes exactly as a terminal gets them."""
    full = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
    for name in (*PROXY_VARIABLES, "NO_PROXY", "no_proxy"):
        if name not in env:
            full.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "wizard", args[0], "--project-dir", str(project), *args[1:]],
        cwd=ROOT,
        env=full,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=timeout,
        check=False,
    )


def in_process(
    monkeypatch: pytest.MonkeyPatch, project: Path, env: dict[str, str], *args: str
) -> tuple[int, str, str]:
    """``wizard.cli.main`` in this process: timings without interpreter start-up."""
    out, err = io.StringIO(), io.StringIO()
    with monkeypatch.context() as m:
        for key, value in env.items():
            m.setenv(key, value)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([args[0], "--project-dir", str(project), *args[1:]])
    return code, out.getvalue(), err.getvalue()


def error_lines(err: bytes | str) -> list[str]:
    text = err.decode() if isinstance(err, bytes) else err
    return [line for line in text.splitlines() if line.startswith("error:")]


# -- point 7: a whole run ends ---------------------------------------------------------
def test_plan_against_services_that_never_answer_ends_within_the_bound(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every service accepts the connection and never answers, or trickles. With D = 1 s, each call
    ends within its budget B = 4 x D; the checks run side by side and each step stops at
    its first failure, so the run is bounded by two phases of B (checks, then runs)."""
    deadline = 1.0
    bound = 2 * (4 * deadline) + 3.0  # two phases of B, plus a loaded machine's slack
    with FakeService() as staller:
        # Vercel's and GitHub's token checks trickle a byte every 10 s; everything else
        # is accepted and never answered.
        staller.inject(200, trickle=10.0, path="^/(v2/)?user$", times=10)
        staller.inject(stall=True, times=10_000)
        env = {name: staller.url for name in URL_VARIABLES}
        env.update(
            {
                "DREAM_PIXEL_HTTP_DEADLINE": str(deadline),
                "VERCEL_TOKEN": VERCEL_TOKEN,
                "VERCEL_PROJECT_ID": "dream-pixel",
                "GITHUB_TOKEN": "ghp_hostileGITHUBtoken000000000000000000",
                "GITHUB_REPOSITORY": "dream-pixel/app",
                "CLOUDFLARE_API_TOKEN": "cf-hostile-token-0123456789abcdefghijklm",
                "CLOUDFLARE_ZONE": "dreampixel.example",
                "NO_COLOR": "1",
            }
        )
        values = {
            "NEXTAUTH_URL": "https://dreampixel.example",
            "UPSTASH_REDIS_REST_URL": staller.url,
            "UPSTASH_REDIS_REST_TOKEN": "AXYZtoken1234567890abcdef",
            "STRIPE_SECRET_KEY": "sk_live_a1B2c3D4e5F6g7H8i9J0kLmN",
            "NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY": "pk_live_Z9y8X7w6V5u4T3s2R1q0PoNm",
            "SENTRY_AUTH_TOKEN": "sntrys_hostile0123456789abcdef0123456789abcdefX",
            "SENTRY_ORG": "acme",
            "SENTRY_PROJECT": "dream-pixel",
            "RESEND_API_KEY": "re_hostile0123456789",
        }
        sets = [arg for k, v in values.items() for arg in ("--set", f"{k}={v}")]
        started = time.monotonic()
        code, _out, err = in_process(monkeypatch, project, env, "plan", "--only", HTTP_STEPS, *sets)
        took = time.monotonic() - started
    assert code == 1
    assert took < bound, f"plan took {took:.1f} s, bound {bound} s"
    lines = error_lines(err)
    services = ("Vercel", "GitHub", "Sentry", "Stripe", "Resend", "Cloudflare", "Upstash Redis")
    assert len(lines) == len(services), lines
    for service in services:
        (line,) = [line for line in lines if f"] {service} " in line]
        assert "no complete answer" in line and "within 1 s" in line and "run again" in line
    assert "Traceback" not in err


def test_default_deadline_is_documented() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "DREAM_PIXEL_HTTP_DEADLINE" in readme
    assert f"{DEFAULT_DEADLINE:g} s" in readme


# -- point 9: plain http stays on this machine -----------------------------------------
def test_backslash_url_is_refused_through_the_cli(project: Path, vercel: FakeVercel) -> None:
    port = vercel.url.rsplit(":", 1)[1]
    # urlsplit reads 127.0.0.1 here; boto3 and Node read 192.0.2.2.
    tricky = f"http://192.0.2.2:{port}\\@127.0.0.1:{port}"
    done = cli(project, vercel_env(tricky), "plan", "--only", "vercel")
    assert done.returncode == 1
    (line,) = error_lines(done.stderr)
    assert "VERCEL_API_URL" in line and "refused" in line and "backslash" in line
    assert vercel.log == []  # nothing was sent anywhere


def test_backslash_app_url_is_refused_before_anything(project: Path) -> None:
    # Python reads one host "evil.example\\.upstash.io"; Node (the app) reads evil.example.
    tricky = "https://evil.example\\.upstash.io"
    done = cli(
        project,
        {"NO_COLOR": "1"},
        "plan",
        "--only",
        "redis",
        "--set",
        f"UPSTASH_REDIS_REST_URL={tricky}",
        "--set",
        "UPSTASH_REDIS_REST_TOKEN=AXYZtoken1234567890abcdef",
    )
    assert done.returncode == 1
    (line,) = error_lines(done.stderr)
    assert "UPSTASH_REDIS_REST_URL" in line
    assert "refused" in line and "evil.example" not in line  # the value is never echoed


@pytest.mark.parametrize(
    "url",
    [
        "http://192.0.2.2:9000\\@127.0.0.1:9000",
        "http://user:pw@127.0.0.1:9000",
        "http://127.0.0.1:9000 .evil.example",
        "http://127.0.0.1\t:9000",
    ],
)
def test_aws_endpoint_that_parsers_read_differently_is_refused(url: str) -> None:
    with pytest.raises(InsecureURL) as err:
        endpoint_url({"AWS_ENDPOINT_URL_S3": url}, "AWS_ENDPOINT_URL_S3", "S3")
    assert "AWS_ENDPOINT_URL_S3" in str(err.value)
    assert "pw" not in str(err.value)  # never echoes what could be a password


def test_a_localhost_name_counts_only_if_it_resolves_to_loopback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from providers import urls

    answers = {
        "api.localhost": "192.0.2.2",  # an /etc/hosts line pointing it elsewhere
        "ok.localhost": "127.0.0.1",
    }

    def resolve(name: str, *_a: object, **_k: object) -> list[tuple[object, ...]]:
        if name not in answers:
            raise socket.gaierror("no such name")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[name], 0))]

    monkeypatch.setattr(urls.socket, "getaddrinfo", resolve)
    urls._resolves_to_loopback.cache_clear()
    try:
        assert is_loopback_host("ok.localhost")
        assert not is_loopback_host("api.localhost")
        assert not is_loopback_host("nowhere.localhost")
        assert is_loopback_host("127.0.0.5") and is_loopback_host("[::1]")
        with pytest.raises(InsecureURL):
            checked_base_url("Vercel", "http://api.localhost:3000", variable="VERCEL_API_URL")
        assert checked_base_url("Vercel", "http://ok.localhost:3000/", variable="X").endswith(
            ":3000"
        )
    finally:
        urls._resolves_to_loopback.cache_clear()


@pytest.fixture
def recording_proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeService]:
    """A local "proxy" that records whatever is sent to it; every proxy variable names it."""
    with FakeService() as proxy:
        for name in PROXY_VARIABLES:
            monkeypatch.setenv(name, proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        yield proxy


def test_proxy_variables_never_see_loopback_traffic(
    project: Path,
    vercel: FakeVercel,
    recording_proxy: FakeService,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The set-up is live: a client that trusts the environment does go through it.
    with httpx.Client(timeout=5) as plain:
        plain.get(vercel.url + "/v2/user")
    assert len(recording_proxy.log) == 1
    recording_proxy.log.clear()

    for key, value in vercel_env(vercel.url).items():
        monkeypatch.setenv(key, value)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["plan", "--project-dir", str(project), "--only", "vercel"])
    assert code == 0, err.getvalue()
    assert recording_proxy.log == []
    assert vercel.requests("GET", "^/v2/user$")


def test_proxy_variables_never_see_loopback_s3(recording_proxy: FakeService) -> None:
    from moto.server import ThreadedMotoServer

    from providers.s3 import AwsCredentials, BotoClients, Endpoint

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = Endpoint(service="S3", region="us-east-1", url=f"http://{host}:{port}")
        creds = AwsCredentials("AKIAHOSTILE000000001", "hostile-secret-0123456789")
        client = BotoClients().client("s3", creds, endpoint, auth_key="AWS_ACCESS_KEY_ID")
        client.create_bucket(Bucket="proxy-check")
        assert "proxy-check" in [b["Name"] for b in client.list_buckets()["Buckets"]]
    finally:
        server.stop()
    assert recording_proxy.log == []


# -- point 10: text from services is text ----------------------------------------------
def test_printable_neutralises_every_kind_of_control() -> None:
    assert printable("\x1b]0;pwned\x07\x1b[2Jok") == "ok"
    assert printable("a\x1bPq\x1b\\b") == "ab"
    assert printable("\x9b2Jx") == "x"
    assert printable("line\r\nnext\ttab") == "line next tab"
    assert printable("abc\u202eevil\u2066") == "abc\ufffdevil\ufffd"
    assert printable("bell\x07 nul\x00 del\x7f c1\x85") == "bell\ufffd nul\ufffd del\ufffd c1\ufffd"
    assert printable("ünïcødé ✓ 秘密") == "ünïcødé ✓ 秘密"


def no_controls(data: bytes) -> bool:
    text = data.decode("utf-8")
    return not any(c in text for c in ("\x1b", "\x07", "\x9b", "\u202e", "\r"))


def test_escape_sequences_in_a_service_error_never_reach_the_terminal(
    project: Path, vercel: FakeVercel
) -> None:
    body = {"error": {"code": "bad_request", "message": ESCAPES + " token scope"}}
    vercel.inject(400, body=body, method="GET", path="^/v2/user$")
    env = vercel_env(vercel.url)
    plan = cli(project, env, "plan", "--only", "vercel")
    assert plan.returncode == 1
    assert no_controls(plan.stdout) and no_controls(plan.stderr), plan.stderr
    (line,) = error_lines(plan.stderr)
    assert "Vercel" in line and "token scope" in line

    # A failed push stores its reason in the state; status shows it, still inert.
    vercel.inject(400, body=body, method="POST")
    apply = cli(project, env, "apply", "--yes", "--only", "vercel", "--set", "SENTRY_ORG=acme")
    assert apply.returncode == 1 and no_controls(apply.stderr) and no_controls(apply.stdout)
    assert "token scope" in apply.stderr.decode()
    status = cli(project, {}, "status")
    assert status.returncode == 0 and no_controls(status.stdout) and no_controls(status.stderr)
    assert "token scope" in status.stdout.decode()


def test_escape_sequences_planted_in_the_state_never_reach_the_terminal(
    project: Path, vercel: FakeVercel
) -> None:
    vercel.inject(400, body={"error": {"message": "plain failure"}}, method="POST")
    env = vercel_env(vercel.url)
    cli(project, env, "apply", "--yes", "--only", "vercel", "--set", "SENTRY_ORG=acme")
    state_path = project / ".dream-pixel" / "state-production.json"
    state = json.loads(state_path.read_text(encoding="utf-8"))
    entry = state["steps"]["vercel"]
    assert "plain failure" in entry["reason"]
    entry["reason"] = ESCAPES + " planted"
    mode = state_path.stat().st_mode & 0o777
    state_path.write_text(json.dumps(state), encoding="utf-8")
    state_path.chmod(mode)

    status = cli(project, {}, "status")
    assert status.returncode == 0, status.stderr
    assert no_controls(status.stdout) and no_controls(status.stderr)
    assert "planted" in status.stdout.decode()
