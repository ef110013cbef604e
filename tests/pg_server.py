"""Real PostgreSQL servers for tests: initdb + pg_ctl on 127.0.0.1, SSL on or off.

The lead imports the fixtures from conftest::

    from tests.pg_server import pg_factory, pg_nossl, pg_ssl  # noqa: F401

``pg_factory`` is session-scoped (one cluster per flavour per xdist worker) and starts
servers lazily, so a session that never asks for PostgreSQL pays nothing. The server runs
as the ``postgres`` user when we are root (PostgreSQL refuses to run as root). The role's
password travels in a file (``initdb --pwfile``), never in a child's argv.

Binaries are found in ``$PG_BIN``, then ``pg_config --bindir``, then
``/usr/lib/postgresql/<newest>/bin`` (Debian's ``postgresql`` package).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

DB_USER = "dreamtest"
PROVIDER_NAMES = ("*.us-east-2.aws.neon.tech", "aws-0-eu-west-1.pooler.supabase.com")
DB_NAME = "postgres"


@dataclass(frozen=True)
class PgServer:
    host: str
    port: int
    user: str
    password: str
    database: str
    ssl: bool
    base: Path

    def url(
        self,
        *,
        password: str | None = None,
        sslmode: str | None = "require",
        host: str | None = None,
        port: int | None = None,
    ) -> str:
        pw = quote(self.password if password is None else password, safe="")
        query = f"?sslmode={sslmode}" if sslmode else ""
        return (
            f"postgresql://{self.user}:{pw}@{host or self.host}:{port or self.port}"
            f"/{self.database}{query}"
        )


def find_pg_bin() -> Path:
    if env := os.environ.get("PG_BIN"):
        return Path(env)
    if pg_config := shutil.which("pg_config"):
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidate = Path(out.stdout.strip())
        if (candidate / "initdb").exists():
            return candidate
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if versions:
        return versions[-1].parent
    if initdb := shutil.which("initdb"):
        return Path(initdb).parent
    raise RuntimeError(
        "PostgreSQL server binaries not found (initdb, pg_ctl): install the Debian package "
        "`postgresql` (apt-get install postgresql) or set PG_BIN"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _self_signed_cert(cert: Path, key: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    # EC keys are generated in milliseconds; RSA would slow every session start.
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    # Provider host names, reached through hostaddr=127.0.0.1 (no DNS):
                    # URLs that verify with this certificate as their own sslrootcert.
                    *(x509.DNSName(name) for name in PROVIDER_NAMES),
                ]
            ),
            critical=False,
        )
        .sign(private, hashes.SHA256())
    )
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )


class _Runner:
    """Runs PostgreSQL binaries as the postgres user when we are root."""

    def __init__(self, bindir: Path, base: Path) -> None:
        self.bindir = bindir
        self.base = base
        self.as_root = os.geteuid() == 0
        self.uid = self.gid = -1
        if self.as_root:
            entry = pwd.getpwnam("postgres")
            self.uid, self.gid = entry.pw_uid, entry.pw_gid

    def own(self, path: Path, mode: int) -> None:
        if self.as_root:
            os.chown(path, self.uid, self.gid)
        path.chmod(mode)

    def run(self, tool: str, *args: str, timeout: float = 60) -> None:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "LANG": "C"}
        proc = subprocess.run(
            [str(self.bindir / tool), *args],
            cwd=self.base,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            user=self.uid if self.as_root else None,
            group=self.gid if self.as_root else None,
            extra_groups=[] if self.as_root else None,
        )
        if proc.returncode != 0:
            log = self.base / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{tool} failed ({proc.returncode}): {proc.stderr[-2000:]}\n{tail}")


def start_pg(*, ssl: bool, bindir: Path | None = None, hba_method: str | None = None) -> PgServer:
    """Create a cluster in a fresh temp dir and start it on 127.0.0.1 on a free port.

    ``hba_method`` (``password``, ``md5``, ``trust``...) replaces scram-sha-256 for TCP
    clients; connections are then logged (``log_connections``)."""
    bindir = bindir or find_pg_bin()
    # Not under pytest's tmp dirs: those are 0700 root and the postgres user must enter.
    base = Path(tempfile.mkdtemp(prefix="dream-pixel-pg-"))
    runner = _Runner(bindir, base)
    runner.own(base, 0o700)
    password = "pw-" + secrets.token_urlsafe(12) + "/:@?"  # URL-special characters on purpose
    pwfile = base / "pwfile"
    pwfile.write_text(password + "\n")
    runner.own(pwfile, 0o600)
    data = base / "data"
    runner.run(
        "initdb",
        "-D",
        str(data),
        "-U",
        DB_USER,
        f"--pwfile={pwfile}",
        "--auth-host=scram-sha-256",
        "--auth-local=scram-sha-256",
        "--encoding=UTF8",
        "--locale=C",
        "--no-sync",
    )
    pwfile.unlink()
    settings = [
        "listen_addresses = '127.0.0.1'",
        "unix_socket_directories = ''",
        "fsync = off",
        "synchronous_commit = off",
        "full_page_writes = off",
        "max_connections = 30",
        "shared_buffers = 16MB",
    ]
    if hba_method:
        (data / "pg_hba.conf").write_text(f"host all all 127.0.0.1/32 {hba_method}\n")
        settings.append("log_connections = on")
    if ssl:
        cert, key = base / "server.crt", base / "server.key"
        _self_signed_cert(cert, key)
        runner.own(cert, 0o644)
        runner.own(key, 0o600)  # PostgreSQL refuses a key others can read
        settings += ["ssl = on", f"ssl_cert_file = '{cert}'", f"ssl_key_file = '{key}'"]
    else:
        settings.append("ssl = off")
    conf = data / "postgresql.conf"
    # A free port can be taken between the probe and the bind: try a few.
    last: Exception | None = None
    for _ in range(3):
        port = free_port()
        with conf.open("a") as f:
            f.write("\n".join([*settings, f"port = {port}"]) + "\n")
        try:
            runner.run(
                "pg_ctl", "-D", str(data), "-l", str(base / "server.log"), "-w", "-t", "30", "start"
            )
            return PgServer("127.0.0.1", port, DB_USER, password, DB_NAME, ssl, base)
        except RuntimeError as exc:
            last = exc
    shutil.rmtree(base, ignore_errors=True)
    raise RuntimeError(f"PostgreSQL did not start: {last}")


def stop_pg(server: PgServer, bindir: Path | None = None) -> None:
    runner = _Runner(bindir or find_pg_bin(), server.base)
    try:
        runner.run("pg_ctl", "-D", str(server.base / "data"), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(server.base, ignore_errors=True)


PgFactory = Callable[..., PgServer]


@pytest.fixture(scope="session")
def pg_factory() -> Iterator[PgFactory]:
    """``pg_factory(ssl=True)``: a running server of that flavour, started once per session."""
    started: dict[bool, PgServer] = {}
    bindir = find_pg_bin()

    def get(*, ssl: bool = True) -> PgServer:
        if ssl not in started:
            started[ssl] = start_pg(ssl=ssl, bindir=bindir)
        return started[ssl]

    yield get
    for server in started.values():
        stop_pg(server, bindir)


@pytest.fixture(scope="session")
def pg_ssl(pg_factory: PgFactory) -> PgServer:
    return pg_factory(ssl=True)


@pytest.fixture(scope="session")
def pg_nossl(pg_factory: PgFactory) -> PgServer:
    return pg_factory(ssl=False)


# -- PgBouncer in transaction mode, in front of the SSL server -----------------------------


@dataclass(frozen=True)
class Bouncer:
    host: str
    port: int
    server: PgServer  # the PostgreSQL behind it

    def url(self, query: str = "sslmode=require") -> str:
        s = self.server
        pw = quote(s.password, safe="")
        return f"postgresql://{s.user}:{pw}@{self.host}:{self.port}/{s.database}?{query}"


def find_pgbouncer() -> str | None:
    return shutil.which("pgbouncer") or next(
        (p for p in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if Path(p).exists()), None
    )


def start_pgbouncer(server: PgServer, binary: str) -> tuple[Bouncer, subprocess.Popen[bytes]]:
    """Debian's pgbouncer, transaction mode, TLS to clients with the server's certificate,
    SCRAM for clients. It refuses to run as root: it runs as the postgres user then."""
    base = server.base / f"pgbouncer-{secrets.token_hex(3)}"
    base.mkdir()
    runner = _Runner(find_pg_bin(), base)
    runner.own(base, 0o700)
    userlist = base / "userlist.txt"
    userlist.write_text(f'"{server.user}" "{server.password}"\n')
    runner.own(userlist, 0o600)
    port = free_port()
    ini = base / "pgbouncer.ini"
    ini.write_text(
        "\n".join(
            [
                "[databases]",
                f"{server.database} = host={server.host} port={server.port} "
                f"dbname={server.database}",
                "[pgbouncer]",
                f"listen_addr = {server.host}",
                f"listen_port = {port}",
                "unix_socket_dir =",
                "pool_mode = transaction",
                "auth_type = scram-sha-256",
                f"auth_file = {userlist}",
                f"logfile = {base / 'pgbouncer.log'}",
                "client_tls_sslmode = allow",
                f"client_tls_cert_file = {server.base / 'server.crt'}",
                f"client_tls_key_file = {server.base / 'server.key'}",
                "server_tls_sslmode = require",
                "ignore_startup_parameters = extra_float_digits",
                "",
            ]
        )
    )
    runner.own(ini, 0o600)
    proc = subprocess.Popen(
        [binary, str(ini)],
        cwd=base,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        user=runner.uid if runner.as_root else None,
        group=runner.gid if runner.as_root else None,
        extra_groups=[] if runner.as_root else None,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            log = base / "pgbouncer.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"pgbouncer exited {proc.returncode}: {err}\n{tail}")
        try:
            socket.create_connection((server.host, port), timeout=1).close()
            return Bouncer(server.host, port, server), proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("pgbouncer did not listen within 15 s")


@pytest.fixture(scope="session")
def pgbouncer(pg_ssl: PgServer) -> Iterator[Bouncer]:
    """A real PgBouncer in transaction mode in front of ``pg_ssl`` (CI installs it)."""
    binary = find_pgbouncer()
    if binary is None:
        pytest.skip("pgbouncer is not installed (Debian: apt-get install pgbouncer)")
    bouncer, proc = start_pgbouncer(pg_ssl, binary)
    yield bouncer
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
