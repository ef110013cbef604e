"""How many round trips does the push make the user wait through?

Runs check() then run() of the ``vercel`` and ``github`` steps, both services at the same
time (as the engine does), against the loopback fakes with a fixed delay per request, and
prints elapsed / delay. Target: at most 4 with 20 Vercel keys and 7 GitHub secrets.

    .venv/bin/python tests/benchmarks/push.py [--delay 0.2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.fakes.github import FakeGitHub  # noqa: E402
from tests.fakes.vercel import FakeVercel  # noqa: E402
from wizard.catalogue import Catalogue  # noqa: E402
from wizard.context import StepContext  # noqa: E402
from wizard.steps import github, vercel  # noqa: E402
from wizard.values import ValueStore  # noqa: E402

TARGET_ROUND_TRIPS = 4
VERCEL_KEYS = 20


def _values() -> ValueStore:
    values = ValueStore()
    for i in range(VERCEL_KEYS - 3):
        values.set_app(f"APP_VALUE_{i:02d}", f"value-{i}-pa$$word-ünïcødé", "set")
    values.set_app("SENTRY_ORG", "dream-pixel-org", "set")
    values.set_app("SENTRY_PROJECT", "dream-pixel", "set")
    values.set_app("SENTRY_AUTH_TOKEN", "sntrys_benchmark_token_0000", "set")
    values.operator.update(
        VERCEL_TOKEN="vercel-bench-token",
        VERCEL_ORG_ID="team_bench",
        VERCEL_PROJECT_ID="dream-pixel",
        GITHUB_TOKEN="github-bench-token",
        GITHUB_REPOSITORY="dream-pixel/app",
        SNYK_TOKEN="snyk-bench-token",
    )
    return values


def _ctx(step_id: str, values: ValueStore, env: dict[str, str], project_dir: Path) -> StepContext:
    return StepContext(
        step_id=step_id,
        environment="production",
        project_dir=project_dir,
        dry_run=False,
        values=values,
        catalogue=Catalogue(),
        env=env,
        memory={},
        digest_key=os.urandom(32),
    )


async def _push(v_ctx: StepContext, g_ctx: StepContext) -> None:
    # The engine's order: every check first, then the runs, the two pushes concurrently.
    await asyncio.gather(vercel.check(v_ctx), github.check(g_ctx))
    await asyncio.gather(vercel.run(v_ctx), github.run(g_ctx))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.2, help="seconds added to each request")
    args = parser.parse_args()

    with (
        FakeVercel("vercel-bench-token") as fv,
        FakeGitHub() as fg,
        tempfile.TemporaryDirectory() as tmp,
    ):
        project = fv.add_project("dream-pixel", team_id="team_bench")
        fg.add_token("github-bench-token")
        fg.add_repo("dream-pixel/app")
        fv.delay = fg.delay = args.delay

        values = _values()
        env = {"VERCEL_API_URL": fv.url, "GITHUB_API_URL": fg.url}
        v_ctx = _ctx("vercel", values, env, Path(tmp))
        g_ctx = _ctx("github", values, env, Path(tmp))

        started = time.perf_counter()
        asyncio.run(_push(v_ctx, g_ctx))
        elapsed = time.perf_counter() - started

        stored = sum(1 for c in g_ctx.changes if c.action == "add")
        landed = len(project.envs)
        round_trips = round(elapsed / args.delay)
        print(
            f"vercel: {landed} keys in {len(fv.requests())} requests "
            f"({len(fv.requests('POST'))} POST); github: {stored} secrets in "
            f"{len(fg.requests())} requests (max {fg.max_in_flight} in flight)"
        )
        print(
            f"elapsed {elapsed:.2f} s at {args.delay:.2f} s per request = "
            f"{round_trips} sequential round trips (target <= {TARGET_ROUND_TRIPS})"
        )
        ok = landed == VERCEL_KEYS and stored == 7 and round_trips <= TARGET_ROUND_TRIPS
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
