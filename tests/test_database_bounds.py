"""The database check always ends (issue 12.7): a deadline, and one ctrl+c.

The stalling server is the real PostgreSQL behind a proxy that relays the login (SCRAM with
the real server) and then holds the first query forever.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from providers.errors import NetworkError
from providers.postgres import check_connection

pytest.register_assert_rewrite("tests.pg_server", "tests.pg_proxy")

from tests.pg_proxy import StallingProxy, stalling_proxy  # noqa: E402
from tests.pg_server import PgServer  # noqa: E402

pytest_plugins = ("tests.pg_server",)
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def stalled(pg_nossl: PgServer) -> Iterator[tuple[StallingProxy, str]]:
    with stalling_proxy(pg_nossl.host, pg_nossl.port) as proxy:
        yield proxy, pg_nossl.url(sslmode=None, port=proxy.port)


def test_a_server_that_stalls_after_login_is_cut_off_at_the_deadline(
    stalled: tuple[StallingProxy, str], pg_nossl: PgServer
) -> None:
    proxy, url = stalled
    started = time.monotonic()
    with pytest.raises(NetworkError) as err:
        asyncio.run(check_connection(url, deadline=1.5))
    elapsed = time.monotonic() - started
    assert proxy.stalled.is_set(), "the check never got past the login"
    assert 1.4 < elapsed < 3.0, elapsed  # no 10 s spent cancelling the held query
    assert "no answer within 1.5 s" in str(err.value) and err.value.key == "DATABASE_URL"
    assert pg_nossl.password not in str(err.value)


def test_one_ctrl_c_ends_a_stalled_check_through_the_cli(
    stalled: tuple[StallingProxy, str], tmp_path: Path
) -> None:
    proxy, url = stalled
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    argv = [sys.executable, "-m", "wizard", "plan", "--project-dir", str(tmp_path)]
    proc = subprocess.Popen(
        [*argv, "--only", "database", "--set", f"DATABASE_URL={url}"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proxy.stalled.wait(30), "the check never got past the login"
        time.sleep(0.2)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=10)
        elapsed = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == 130, err
    assert elapsed < 3, elapsed
    assert b"Traceback" not in err and b"cancellation" not in err


def test_a_host_name_is_looked_up_without_a_thread_that_holds_exit(
    pg_ssl: PgServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # localhost comes from /etc/hosts: no DNS traffic. The check resolves it itself.
    url = pg_ssl.url(host="localhost")
    info = asyncio.run(check_connection(url))
    assert info.host == "localhost" and info.ssl

    # A resolver that never answers: cut off at the deadline, and the only thread left
    # behind is a daemon (asyncio's executor threads are joined at exit, however long).
    release = threading.Event()
    real = socket.getaddrinfo

    def stuck(host: str, *args: object, **kw: object) -> object:
        if host == "db.stuck.example":
            release.wait(30)
        return real(host, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", stuck)
    before = {t.ident for t in threading.enumerate()}
    started = time.monotonic()
    with pytest.raises(NetworkError) as err:
        asyncio.run(check_connection(pg_ssl.url(host="db.stuck.example"), deadline=1))
    assert time.monotonic() - started < 2.5
    assert "no answer within 1 s" in str(err.value)
    left = [t for t in threading.enumerate() if t.ident not in before]
    assert left and all(t.daemon for t in left), left
    release.set()
