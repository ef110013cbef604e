"""``dream-pixel-setup rollback``: the guide's Rollback Procedure from the command line.

Lists the recent READY production deployments, promotes the one before the one production
serves (or ``--to``), and waits until production serves it. ``--dry-run`` only lists and
says what it would promote; without ``--yes`` it asks (and refuses without a terminal).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from wizard.errors import UsageError


def configure_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--to", metavar="DEPLOYMENT", help="the deployment id to roll back to")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    p.add_argument("--dry-run", action="store_true", help="list and say what it would promote")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")


def run(args: argparse.Namespace) -> int:
    # Here, not at the top: build_parser imports this module on every run of the CLI.
    from wizard.engine import Session
    from wizard.output import dump_json
    from wizard.rollback import choose, migration_advice, promote, render

    session = Session.open(args.project_dir, args.environment, dry_run=True)
    if session.environment != "production":
        raise UsageError("rollback: only production is rolled back (--environment production)")
    session.load_keyring_credentials(["vercel"])
    ctx = session.step_context("deploy")
    plan = asyncio.run(choose(ctx, args.to))
    human = sys.stderr if args.json else sys.stdout
    for line in render(plan):
        print(line, file=human)
    change = {
        "target": "vercel",
        "resource": "production",
        "action": "update",
        "detail": f"promote {plan.target.id}"
        + (f" (production served {plan.current})" if plan.current else ""),
    }
    advice = migration_advice(plan)
    if args.dry_run:
        print(f"Dry run: would promote {plan.target.id} to production.", file=human)
        if advice:
            print(advice, file=human)
        if args.json:
            dump_json({"environment": "production", "dry_run": True, "changes": [change]})
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            raise UsageError("rollback: pass --yes to roll back without a prompt")
        human.write(f"Promote {plan.target.id} to production? Only 'yes' is accepted: ")
        human.flush()
        if sys.stdin.readline().strip() != "yes":
            print("rollback cancelled: nothing was changed", file=sys.stderr)
            return 1
    from wizard.lock import run_lock

    # Not beside an apply that may be deploying this very project.
    with run_lock(session.project_dir, session.environment, "dream-pixel-setup rollback"):
        asyncio.run(promote(ctx, plan))
    print(f"Production now serves {plan.target.id} (https://{plan.target.url}).", file=human)
    if advice:
        print(advice, file=human)
    if args.json:
        dump_json({"environment": "production", "dry_run": False, "changes": [change]})
    return 0
