"""``dream-pixel-setup verify``: argparse glue around ``wizard.verify``.

The lead's CLI builds the subparser with ``configure_parser``, resolves the default URL
(NEXTAUTH_URL from ``.env.<environment>``) and whether the cloudflare step ran, then calls
``run``. Output: human lines (or one JSON object with ``--json``) on stdout, problems on
stderr as one line each; exit 0 when no check failed, 1 otherwise, 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import TextIO

from wizard.verify import (
    DEFAULT_TIMEOUT,
    HEALTH_PATH,
    RATE_LIMIT_MAX_REQUESTS,
    VerifyUrlError,
    render_text,
    run_checks,
)


def configure_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--url",
        help="the deployed site to check (default: NEXTAUTH_URL from .env.<environment>)",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help='print one JSON object: {"url": ..., "checks": [{"id", "status", "detail", ...}]}',
    )
    p.add_argument(
        "--check-rate-limit",
        action="store_true",
        help=(
            f"also send up to {RATE_LIMIT_MAX_REQUESTS} requests to {HEALTH_PATH} and expect a "
            "429; this IP then stays limited until the site's window (15 minutes) ends"
        ),
    )


def use_color(stream: TextIO) -> bool:
    """https://no-color.org: a non-empty NO_COLOR turns colour off; so does a non-terminal."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def run(args: argparse.Namespace, default_url: str | None, expect_cloudflare: bool) -> int:
    url = getattr(args, "url", None) or default_url
    if not url:
        environment = getattr(args, "environment", None)
        env_file = f".env.{environment}" if isinstance(environment, str) else ".env.<environment>"
        print(f"verify: no URL: pass --url or set NEXTAUTH_URL in {env_file}", file=sys.stderr)
        return 1
    # Not a CLI flag (the 5 s health budget is the guide's); tests set it on the namespace.
    timeout = float(getattr(args, "timeout", None) or DEFAULT_TIMEOUT)
    try:
        report = asyncio.run(
            run_checks(
                url,
                check_rate_limit=bool(getattr(args, "check_rate_limit", False)),
                expect_cloudflare=expect_cloudflare,
                timeout=timeout,
            )
        )
    except VerifyUrlError as exc:
        print(f"verify: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("verify: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the user gets one line, never a traceback
        print(f"verify: unexpected error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if getattr(args, "json", False):
        print(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        print(render_text(report, color=use_color(sys.stdout)))
    return 1 if report.failed else 0
