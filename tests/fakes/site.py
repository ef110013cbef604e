"""A configurable local website standing in for the deployed Dream Pixel app.

A real HTTP/1.1 server (stdlib ``ThreadingHTTPServer``, optionally TLS) on 127.0.0.1 and a
free port. Tests set each route's status, headers, body and delay, the headers every
response carries (what next.config.mjs ``headers()`` would add), a per-route "answer 429
after N requests" limit, and read back how many requests each route received.
``good_site()`` builds a site that does everything the deployment guide asks.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

GOOD_HEADERS = {
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains; preload",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self' 'unsafe-inline' https://js.stripe.com; "
        "frame-ancestors 'none'"
    ),
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
STATIC_JS = "/_next/static/chunks/main-app-9a1b2c3d.js"
STATIC_CSS = "/_next/static/css/app-4f2c.css"
IMMUTABLE = "public, max-age=31536000, immutable"
HOME_HTML = f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="{STATIC_CSS}" data-precedence="next">
<script src="{STATIC_JS}" async=""></script><title>Dream Pixel</title></head>
<body><main>Dream Pixel</main></body></html>"""


@dataclass
class Page:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | str = b""
    delay: float = 0.0  # seconds before answering
    limit: int | None = None  # answer 429 to every request after this many


@dataclass
class Hit:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out and hang up are part of the tests: keep stderr quiet.
        pass


class FakeSite:
    def __init__(self, *, tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[tuple[str, str], Page] = {}
        self.default_headers: dict[str, str] = {}
        self.hits: list[Hit] = []
        self._counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._tls = tls
        self._server: _Server | None = None

    # -- configuration -----------------------------------------------------------------
    def route(self, path: str, page: Page | None = None, *, method: str = "GET", **kw: Any) -> Page:
        """Set (replace) the page at ``method path``; keyword arguments build a Page."""
        page = page or Page(**kw)
        self.routes[(method.upper(), path)] = page
        return page

    def remove(self, path: str, method: str = "GET") -> None:
        self.routes.pop((method.upper(), path), None)

    def count(self, path: str, method: str = "GET") -> int:
        with self._lock:
            return self._counts[(method.upper(), path)]

    @property
    def total(self) -> int:
        with self._lock:
            return len(self.hits)

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> str:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            server_header = "fake-site"

            def log_message(self, *args: Any) -> None:
                pass

            def version_string(self) -> str:
                # send_response() writes this as the one Server header.
                return self.server_header

            def _serve(self) -> None:
                site._handle(self)

            do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _serve

        self._server = _Server(("127.0.0.1", 0), Handler)
        if self._tls is not None:
            self._server.socket = self._tls.wrap_socket(self._server.socket, server_side=True)
        # A short poll keeps stop() (shutdown waits for one poll) fast.
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self.url

    @property
    def url(self) -> str:
        assert self._server is not None
        scheme = "https" if self._tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._stopping.set()  # cuts delayed answers short
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeSite:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- serving -----------------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        path = urlsplit(h.path).path
        length = int(h.headers.get("content-length") or 0)
        body = h.rfile.read(length) if length else b""
        key = (h.command, path)
        with self._lock:
            self.hits.append(
                Hit(h.command, path, {k.lower(): v for k, v in h.headers.items()}, body)
            )
            self._counts[key] += 1
            n = self._counts[key]
        page = self.routes.get(key)
        if page is None:
            page = Page(404, {"Content-Type": "text/plain"}, "not found")
        elif page.limit is not None and n > page.limit:
            page = Page(
                429, {"Retry-After": "900", "Content-Type": "text/plain"}, "too many requests"
            )
        if page.delay and self._stopping.wait(page.delay):
            return
        payload = page.body.encode() if isinstance(page.body, str) else page.body
        merged = {k.lower(): (k, v) for k, v in self.default_headers.items()}
        merged.update({k.lower(): (k, v) for k, v in page.headers.items()})
        h.server_header = merged.pop("server", ("", "fake-site"))[1]  # type: ignore[attr-defined]
        h.send_response(page.status)
        for name, value in merged.values():
            h.send_header(name, value)
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(payload)


def good_site(*, tls: ssl.SSLContext | None = None) -> FakeSite:
    """Everything right: security headers everywhere, immutable static assets, a no-store
    health route, a webhook route that refuses unsigned events."""
    site = FakeSite(tls=tls)
    site.default_headers.update(GOOD_HEADERS)
    site.route(
        "/", status=200, headers={"Content-Type": "text/html; charset=utf-8"}, body=HOME_HTML
    )
    for path, kind in ((STATIC_JS, "application/javascript"), (STATIC_CSS, "text/css")):
        site.route(path, headers={"Content-Type": kind, "Cache-Control": IMMUTABLE}, body="/**/")
    site.route(
        "/api/health",
        headers={"Content-Type": "application/json", "Cache-Control": "no-store, must-revalidate"},
        body=json.dumps({"status": "ok"}),
    )
    site.route(
        "/api/webhooks/stripe",
        method="POST",
        status=400,
        headers={"Content-Type": "application/json", "Cache-Control": "no-store"},
        body=json.dumps({"error": "No signatures found matching the expected signature"}),
    )
    return site
