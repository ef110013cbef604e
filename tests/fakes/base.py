"""A small real-HTTP fake-service framework for tests.

Each fake (Vercel, GitHub, Stripe, ...) is a ``FakeService`` with routes that behave
like the service: status codes, error bodies, auth. Tests inject faults (429 with
Retry-After, 502, a dropped response after the handler ran, per-request delay, and the
misbehaving servers: one that never answers, one that trickles its body, one whose body
is huge) and read the request log. Everything listens on 127.0.0.1 on a free port.

A fake whose class names a ``spec`` (``tests/api-specs/<spec>.json.gz``, the vendor's own
OpenAPI document) checks every request it receives and every answer it gives against it
(``tests.fakes.openapi``). What deviates is kept in ``VIOLATIONS``; the suite's autouse
fixture fails the test that caused it. Injected faults are the test's doing and not checked.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, parse_qsl, urlsplit

from tests.fakes import openapi

# Deviations from the vendors' descriptions, across every fake of this process, in order.
VIOLATIONS: list[openapi.Violation] = []
_VIOLATIONS_LOCK = threading.Lock()


def record_violations(found: list[openapi.Violation]) -> None:
    if found:
        with _VIOLATIONS_LOCK:
            VIOLATIONS.extend(found)


def take_violations() -> list[openapi.Violation]:
    """Every deviation recorded since the last call (and forget them)."""
    with _VIOLATIONS_LOCK:
        out = list(VIOLATIONS)
        VIOLATIONS.clear()
        return out


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # from the route pattern

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode(), keep_blank_values=True)

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    @property
    def bearer(self) -> str | None:
        auth = self.headers.get("authorization", "")
        return auth[7:] if auth.lower().startswith("bearer ") else None


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    # Why this answer leaves the vendor's description on purpose (a misbehaviour the test
    # simulates, like an injected fault); such an answer is not checked against the spec.
    off_spec: str = ""


@dataclass
class Fault:
    status: int = 0  # 0 with drop=True: run the handler, then close without answering
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    method: str | None = None
    path: str | None = None  # regex matched against the path
    drop: bool = False
    times: int = 1
    # Misbehaving servers (the handler does not run):
    stall: bool = False  # read the request, never answer (until the fake stops)
    trickle: float = 0.0  # send the headers, then one body byte every `trickle` seconds
    size: int = 0  # a body of `size` bytes, streamed (never built in memory)
    length: bool = True  # False: no Content-Length, the body ends when the connection does


Handler = Callable[[Request], Reply]


class FakeService:
    # The vendor's OpenAPI document this fake stands in for (tests/api-specs/<spec>.json.gz).
    spec: ClassVar[str | None] = None

    def __init__(self) -> None:
        # False only for a test that sends a deviating request on purpose.
        self.conformance = True
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._faults: list[Fault] = []
        self.log: list[Request] = []
        self.delay = 0.0
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.in_flight = 0
        self.max_in_flight = 0
        self._stopping = threading.Event()

    # -- declaration -------------------------------------------------------
    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        def deco(fn: Handler) -> Handler:
            self.add_route(method, pattern, fn)
            return fn

        return deco

    def add_route(self, method: str, pattern: str, fn: Handler) -> None:
        regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")
        self._routes.append((method.upper(), regex, fn))

    def inject(self, status: int = 0, **kwargs: Any) -> None:
        with self.lock:
            self._faults.append(Fault(status=status, **kwargs))

    def requests(self, method: str | None = None, path: str | None = None) -> list[Request]:
        with self.lock:
            return [
                r
                for r in self.log
                if (method is None or r.method == method)
                and (path is None or re.search(path, r.path))
            ]

    # -- lifecycle ---------------------------------------------------------
    def start(self) -> str:
        service = self
        if self.spec is not None:
            openapi.load(self.spec)  # parsed once, before any request is timed

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _serve(self) -> None:
                service._handle(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self.url

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._stopping.set()  # releases stalled and trickling handlers
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeService:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- dispatch ----------------------------------------------------------
    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self._faults:
                if (fault.method is None or fault.method == method) and (
                    fault.path is None or re.search(fault.path, path)
                ):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            self._handle_inner(h)
        finally:
            with self.lock:
                self.in_flight -= 1

    def _handle_inner(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        length = int(h.headers.get("content-length") or 0)
        body = h.rfile.read(length) if length else b""
        req = Request(
            method=h.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in h.headers.items()},
            body=body,
        )
        with self.lock:
            self.log.append(req)
        operation = self._check_request(req, parts.query)
        if self.delay:
            time.sleep(self.delay)
        fault = self._take_fault(req.method, req.path)
        if fault is not None and (fault.stall or fault.trickle or fault.size):
            try:
                self._misbehave(h, fault)
            except OSError:
                pass  # the client gave up and closed: that is the point
            h.close_connection = True
            return
        if fault is not None and not fault.drop:
            self._send(h, Reply(fault.status, fault.body, fault.headers))
            return
        reply = self._dispatch(req)
        if fault is not None and fault.drop:
            # The work was done but the answer is lost: the client must not redo it twice.
            h.close_connection = True
            h.connection.shutdown(2)
            return
        if operation is not None and not reply.off_spec:
            self._check_response(req, operation, reply)
        self._send(h, reply)

    def _misbehave(self, h: BaseHTTPRequestHandler, fault: Fault) -> None:
        if fault.stall:
            self._stopping.wait()
            return
        h.send_response(fault.status or 200)
        h.send_header("Content-Type", "application/json")
        if fault.size:
            if fault.length:
                h.send_header("Content-Length", str(fault.size))
            else:
                h.send_header("Connection", "close")
            h.end_headers()
            chunk = b" " * 65536
            left = fault.size
            while left > 0 and not self._stopping.is_set():
                h.wfile.write(chunk[: min(left, len(chunk))])
                left -= len(chunk)
            return
        payload = json.dumps(fault.body if fault.body is not None else {}).encode()
        payload += b" " * 64  # long enough that no client waits it out in a test
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        h.wfile.flush()
        for i in range(len(payload)):
            h.wfile.write(payload[i : i + 1])
            h.wfile.flush()
            if self._stopping.wait(fault.trickle):
                return

    # -- conformance to the vendor's OpenAPI document ---------------------------------
    def full(self, req: Request, status: int, body: Any) -> Any:
        """``body`` with what the vendor's answer to ``req`` always carries filled in.

        A stand-in models the fields the wizard reads; the vendor sends many more. The rest
        come from the vendor's document (its examples, else plain values of the right type),
        so the answer has the vendor's full shape, and what the fake sets is still checked.
        """
        assert self.spec is not None
        spec = openapi.load(self.spec)
        return spec.complete(body, spec.response_schema(req.method, req.path, status))

    def fill(self, req: Request, reply: Reply) -> Reply:
        """``reply`` with its body completed by ``full``."""
        return Reply(reply.status, self.full(req, reply.status, reply.body), reply.headers)

    def _check_request(self, req: Request, raw_query: str) -> openapi.Operation | None:
        if self.spec is None or not self.conformance:
            return None
        try:
            operation, found = openapi.load(self.spec).check_request(
                req.method,
                req.path,
                parse_qsl(raw_query, keep_blank_values=True),
                req.headers,
                req.body,
            )
        except Exception as exc:  # a checker bug must fail the test, not hang the client
            found = [openapi.Violation(self.spec, req.method, req.path, f"checker error: {exc!r}")]
            operation = None
        record_violations(found)
        return operation

    def _check_response(self, req: Request, operation: openapi.Operation, reply: Reply) -> None:
        assert self.spec is not None
        payload, ctype = self._payload(reply)
        try:
            found = openapi.load(self.spec).check_response(
                operation, req.method, req.path, reply.status, ctype, payload
            )
        except Exception as exc:
            found = [openapi.Violation(self.spec, req.method, req.path, f"checker error: {exc!r}")]
        record_violations(found)

    def _dispatch(self, req: Request) -> Reply:
        allowed = False
        for method, regex, fn in self._routes:
            m = regex.match(req.path)
            if not m:
                continue
            allowed = True
            if method == req.method:
                req.params = m.groupdict()
                with self.lock:
                    return fn(req)
        if allowed:
            return Reply(405, {"message": "Method Not Allowed"})
        return Reply(404, {"message": "Not Found"})

    @staticmethod
    def _payload(reply: Reply) -> tuple[bytes, str]:
        """The bytes sent and their content type (what a client sees)."""
        if isinstance(reply.body, bytes):
            payload = reply.body
        elif isinstance(reply.body, str):
            payload = reply.body.encode()
        elif reply.body is None and reply.status in (204, 304):
            payload = b""
        else:
            payload = json.dumps(reply.body).encode()
        headers = {k.lower(): v for k, v in reply.headers.items()}
        ctype = headers.get("content-type", "")
        if not ctype and payload and not isinstance(reply.body, bytes | str):
            ctype = "application/json"
        return payload, ctype

    def _send(self, h: BaseHTTPRequestHandler, reply: Reply) -> None:
        payload, ctype = self._payload(reply)
        h.send_response(reply.status)
        headers = {k.lower(): v for k, v in reply.headers.items()}
        if "content-type" not in headers and ctype:
            h.send_header("Content-Type", ctype)
        for k, v in reply.headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(payload)
