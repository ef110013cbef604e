"""A PostgreSQL that stalls after login: a TCP proxy in front of a real, SSL-less server.

It relays the startup and the whole authentication (SCRAM with the real server), then holds
the first query forever: the client is logged in and never answered, as with a server
frozen mid-session. Only for servers without SSL, whose messages it can read.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager

PROTOCOL_3 = 196608
QUERY_TYPES = frozenset(b"QPBEDSFH")  # anything a logged-in client sends to run a query


def _read(sock: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise ConnectionError("closed")
        out += chunk
    return out


class StallingProxy:
    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.stalled = threading.Event()  # a query arrived and is being held
        self._conns: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream, timeout=10)
            server.settimeout(None)
            self._conns += [client, server]
            threading.Thread(target=self._pump, args=(server, client), daemon=True).start()
            threading.Thread(target=self._client_side, args=(client, server), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass

    def _client_side(self, client: socket.socket, server: socket.socket) -> None:
        try:
            # Untyped messages first: SSL/GSS requests (answered N by the server), then the
            # startup message.
            while True:
                head = _read(client, 8)
                length, code = struct.unpack("!ii", head)
                body = _read(client, length - 8)
                server.sendall(head + body)
                if code == PROTOCOL_3:
                    break
            while True:
                kind = _read(client, 1)
                if kind[0] in QUERY_TYPES:
                    self.stalled.set()
                    return  # hold it: never relayed, never answered
                (length,) = struct.unpack("!i", _read(client, 4))
                server.sendall(kind + struct.pack("!i", length) + _read(client, length - 4))
        except (OSError, ConnectionError):
            pass

    def close(self) -> None:
        self._closed = True
        self.listener.close()
        for conn in self._conns:
            try:
                conn.close()
            except OSError:
                pass


@contextmanager
def stalling_proxy(host: str, port: int) -> Iterator[StallingProxy]:
    proxy = StallingProxy((host, port))
    try:
        yield proxy
    finally:
        proxy.close()
