"""No password to a server that is not proven (issue 12.8), against real PostgreSQL servers.

A TLS server whose pg_hba.conf asks for the password itself (``password``: in clear text
inside TLS; ``md5``) is refused before anything is sent: its log shows our connection
arriving and never authorized. SCRAM passes, with channel binding where the server offers it
(PostgreSQL does over TLS). A certificate that does not chain to the provider's CA is
refused for Supabase host names (reached through hostaddr=127.0.0.1, no DNS).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from providers.postgres import PasswordAuthRefused, SSLRefused, check_connection

pytest.register_assert_rewrite("tests.pg_server")

from tests.pg_server import PgServer, start_pg, stop_pg  # noqa: E402
from tests.stepctx import make_ctx  # noqa: E402
from wizard.cli import main  # noqa: E402
from wizard.steps import database  # noqa: E402

pytest_plugins = ("tests.pg_server",)


@pytest.fixture(scope="module")
def pg_cleartext() -> Iterator[PgServer]:
    """A TLS server that asks clients for their password in clear text (inside TLS)."""
    server = start_pg(ssl=True, hba_method="password")
    yield server
    stop_pg(server)


def log_of(server: PgServer) -> str:
    return (server.base / "server.log").read_text(errors="replace")


def wait_for_log(server: PgServer, needle: str, count: int) -> str:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        text = log_of(server)
        if text.count(needle) >= count:
            return text
        time.sleep(0.05)
    return log_of(server)


def test_cleartext_server_is_refused_and_never_gets_the_password(
    tmp_path: Path, pg_cleartext: PgServer
) -> None:
    received = log_of(pg_cleartext).count("connection received")
    ctx = make_ctx("database", tmp_path, app={"DATABASE_URL": pg_cleartext.url()})
    with pytest.raises(PasswordAuthRefused) as err:
        asyncio.run(database.check(ctx))
    message = str(err.value)
    assert err.value.key == "DATABASE_URL"
    assert "asked for the password in clear text" in message
    assert "the password was not sent" in message
    assert "--set db_allow_password_auth=yes" in message
    assert "\n" not in message and pg_cleartext.password not in message
    # The server saw our connections arrive (with and without channel binding) and
    # authorized none: the password, had it been sent, is right and would have logged in.
    log = wait_for_log(pg_cleartext, "connection received", received + 1)
    assert log.count("connection received") > received
    assert "connection authorized" not in log
    assert "password authentication failed" not in log


def test_opting_in_knowingly_connects_to_the_same_server(
    tmp_path: Path, pg_cleartext: PgServer
) -> None:
    ctx = make_ctx(
        "database",
        tmp_path,
        app={"DATABASE_URL": pg_cleartext.url()},
        choices={"db_allow_password_auth": "yes"},
    )
    asyncio.run(database.run(ctx))
    assert any("password authentication allowed" in n for n in ctx.notices)
    assert any("db_allow_password_auth=yes" in n for n in ctx.notices)
    assert "connection authorized" in wait_for_log(pg_cleartext, "connection authorized", 1)


def test_md5_server_is_refused_before_the_password_is_sent() -> None:
    server = start_pg(ssl=True, hba_method="md5")
    try:
        with server_password_as_md5(server):
            authorized = log_of(server).count("connection authorized")
            with pytest.raises(PasswordAuthRefused) as err:
                asyncio.run(check_connection(server.url()))
        assert "MD5" in str(err.value) and "password was not sent" in str(err.value)
        assert log_of(server).count("connection authorized") == authorized
    finally:
        stop_pg(server)


class server_password_as_md5:
    """md5 in pg_hba.conf only asks for MD5 when the stored password is MD5 (else it
    quietly uses SCRAM): store it as MD5 for the duration."""

    def __init__(self, server: PgServer) -> None:
        self.server = server

    def _store(self, encryption: str) -> None:
        import psycopg
        from psycopg import sql

        s = self.server
        with psycopg.connect(s.url(), autocommit=True) as conn:
            conn.execute(f"SET password_encryption = '{encryption}'")
            conn.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    sql.Identifier(s.user), sql.Literal(s.password)
                )
            )

    def __enter__(self) -> None:
        self._store("md5")

    def __exit__(self, *exc: object) -> None:
        pass  # the server is thrown away


def test_scram_server_passes_with_channel_binding(pg_ssl: PgServer) -> None:
    info = asyncio.run(check_connection(pg_ssl.url()))
    assert info.ssl and info.scram and info.channel_binding and not info.verified
    assert "SCRAM with channel binding" in info.describe()


def test_a_supabase_host_with_a_foreign_certificate_is_refused(pg_ssl: PgServer) -> None:
    # Supabase's name, our server (its self-signed certificate even names that host):
    # only Supabase's root CA is trusted for it, whatever sslmode the URL says.
    url = (
        f"postgresql://{pg_ssl.user}:{quote(pg_ssl.password, safe='')}"
        f"@aws-0-eu-west-1.pooler.supabase.com:{pg_ssl.port}/postgres"
        "?sslmode=require&hostaddr=127.0.0.1"
    )
    with pytest.raises(SSLRefused) as err:
        asyncio.run(check_connection(url))
    assert "not Supabase's" in str(err.value) and "password was not sent" in str(err.value)
    assert pg_ssl.password not in str(err.value)


def test_a_url_that_verifies_with_its_own_ca_is_trusted(pg_ssl: PgServer) -> None:
    url = (
        f"postgresql://{pg_ssl.user}:{quote(pg_ssl.password, safe='')}"
        f"@aws-0-eu-west-1.pooler.supabase.com:{pg_ssl.port}/postgres"
        f"?sslmode=verify-full&sslrootcert={pg_ssl.base / 'server.crt'}&hostaddr=127.0.0.1"
    )
    info = asyncio.run(check_connection(url))
    assert info.verified and info.channel_binding
    assert "certificate verified" in info.describe()


def test_refusal_through_the_cli_is_one_line(
    tmp_path: Path,
    pg_cleartext: PgServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(
        [
            "plan",
            "--project-dir",
            str(tmp_path),
            "--only",
            "database",
            "--set",
            f"DATABASE_URL={pg_cleartext.url()}",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    lines = [line for line in err.splitlines() if "clear text" in line]
    assert len(lines) == 1 and "DATABASE_URL" in lines[0]
    assert "db_allow_password_auth=yes" in lines[0]
    assert pg_cleartext.password not in err
    assert quote(pg_cleartext.password, safe="") not in err
    assert "Traceback" not in err


def test_a_neon_host_is_verified_against_the_system_store(pg_ssl: PgServer) -> None:
    # Neon's certificates come from public CAs: a self-signed one is refused for its name.
    url = (
        f"postgresql://{pg_ssl.user}:{quote(pg_ssl.password, safe='')}"
        f"@ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech:{pg_ssl.port}/neondb"
        "?sslmode=require&hostaddr=127.0.0.1"
    )
    with pytest.raises(SSLRefused) as err:
        asyncio.run(check_connection(url))
    assert "system's CA store" in str(err.value) and "password was not sent" in str(err.value)


def test_the_shipped_supabase_root_is_supabases() -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    from providers.postgres import SUPABASE_ROOT_CA

    cert = x509.load_pem_x509_certificate(SUPABASE_ROOT_CA.read_bytes())
    # The fingerprint Supabase's prod-ca-2021.crt has (Database settings → SSL).
    assert cert.fingerprint(hashes.SHA256()).hex(":").upper() == (
        "80:70:25:AD:50:D4:ED:21:9D:2C:9C:7D:29:9C:00:4F:"
        "82:4E:B0:0C:F7:F6:5A:FE:F6:07:D0:7B:72:E6:CA:FA"
    )
    assert cert.subject.rfc4514_string().startswith("CN=Supabase Root 2021 CA")
