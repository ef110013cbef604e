from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

# Tests import the fakes as `tests.fakes...`.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.fakes.base import take_violations  # noqa: E402

# Variables that would make a test read the developer's real accounts or services.
OPERATOR_VARS = (
    "VERCEL_TOKEN", "VERCEL_ORG_ID", "VERCEL_PROJECT_ID", "GITHUB_TOKEN", "GH_TOKEN",
    "GITHUB_REPOSITORY", "CLOUDFLARE_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID", "CLOUDFLARE_ZONE",
    "SUPABASE_ACCESS_TOKEN", "SUPABASE_DB_PASSWORD", "SNYK_TOKEN", "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL_IAM", "GITHUB_API_URL", "VERCEL_API_URL", "STRIPE_API_URL", "SENTRY_URL",
    "CLOUDFLARE_API_URL", "RESEND_API_URL", "SUPABASE_API_URL", "NO_COLOR",
)  # fmt: skip


@pytest.fixture(autouse=True)
def _isolated_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    home = tmp_path_factory.mktemp("home")
    for var in OPERATOR_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local/share"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local/state"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "aws-credentials"))
    return home


@pytest.fixture
def home(_isolated_env: Path) -> Path:
    return _isolated_env


# -- every request and answer of the stand-ins matches the vendor's OpenAPI document ------------
def conformance_report(found: list[object]) -> str:
    counts = Counter(str(v) for v in found)
    lines = [f"  {line}" + (f"  (x{n})" if n > 1 else "") for line, n in counts.items()]
    return (
        "traffic that deviates from the vendors' OpenAPI descriptions (tests/api-specs/):\n"
        + "\n".join(lines)
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    # Fails the test itself (not its teardown) when its traffic deviated.
    result = yield
    found = take_violations()
    if found:
        pytest.fail(conformance_report(found), pytrace=False)
    return result


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    # An xfail test would pass off a deviation as its expected failure: it still fails.
    report = yield
    deviated = call.excinfo is not None and "traffic that deviates from the vendors' OpenAPI" in (
        str(call.excinfo.value)
    )
    if deviated and getattr(report, "wasxfail", None) is not None:
        report.outcome = "failed"
        del report.wasxfail
    return report


@pytest.fixture(autouse=True)
def _conformance() -> Iterator[None]:
    take_violations()  # nothing from an earlier test is blamed on this one
    yield
    found = take_violations()  # what fixtures' setup or teardown sent
    if found:
        pytest.fail(conformance_report(found), pytrace=False)
