"""The command line: the contract in design.md.

``dream-pixel-setup`` alone opens the Textual wizard (``--plain``: questionary);
``plan``/``apply``/``status``/``reset``/``verify`` run without a UI. Expected failures
print one line per problem on stderr and exit 1; Ctrl-C exits 130.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn, TextIO

from providers.errors import ProviderError
from providers.text import printable
from wizard import __version__
from wizard.errors import SetupError, UsageError, ValidationFailed

SUBCOMMANDS = ("plan", "apply", "status", "reset", "verify", "rollback")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # Bad usage is exit 1 under the contract (argparse would say 2).
        self.exit(1, f"{self.prog}: {message} (see --help)\n")


def _common(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    d = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--project-dir",
        type=Path,
        default=d,
        metavar="DIR",
        help="the Dream Pixel checkout (default: .)",
    )
    parser.add_argument(
        "--environment",
        choices=("production", "preview", "development"),
        default=d,
        help="which .env.<environment> and Vercel target (default: production)",
    )


def _inputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env-file", type=Path, metavar="FILE", help="read app values from FILE")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="an app value (repeatable)"
    )
    parser.add_argument("--only", metavar="STEP,...", help="run only these steps")
    parser.add_argument("--skip", metavar="STEP,...", help="skip these steps")
    parser.add_argument(
        "--github-environment",
        metavar="NAME",
        help="store GitHub secrets in this Actions environment",
    )
    parser.add_argument(
        "--rotate",
        metavar="KEY,...",
        help="regenerate these generated secrets (NEXTAUTH_SECRET, JWT_SECRET)",
    )
    parser.add_argument(
        "--deploy-timeout",
        metavar="MINUTES",
        help="watch a production build for at most this long (default 20)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="fail the github step when a workflow uses a secret or variable nobody set",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="also list unchanged entries")


def _steps_epilog() -> str:
    from wizard.catalogue import STEPS

    width = max(len(s.id) for s in STEPS)
    lines = [
        textwrap.fill(
            s.summary,
            78,
            initial_indent=f"  {s.id:<{width}}  ",
            subsequent_indent=" " * (width + 4),
        )
        for s in STEPS
    ]
    return "steps (for --only and --skip), in order:\n" + "\n".join(lines)


def _about(text: str) -> str:
    return textwrap.fill(text, 78)


def build_parser() -> argparse.ArgumentParser:
    epilog, raw = _steps_epilog(), argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog="dream-pixel-setup",
        description="Configure Dream Pixel's services, secrets, .env file, Vercel and GitHub. "
        "With no command, opens the interactive wizard.",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"dream-pixel-setup {__version__}")
    _common(parser, suppress=False)
    parser.add_argument(
        "--dry-run", action="store_true", help="preview every change, change nothing"
    )
    parser.add_argument(
        "--plain", action="store_true", help="line-by-line prompts instead of the full-screen app"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser(
        "plan",
        help="show every change apply would make (a dry run)",
        description=_about(
            "Read what is there (env file, Vercel's and GitHub's entries, each "
            "service) and list every change apply would make. Writes nothing anywhere and sends "
            "no mutating request."
        ),
        epilog=epilog,
        formatter_class=raw,
    )
    _common(p, suppress=True)
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="exit 0 with no changes, 2 with changes pending",
    )
    _inputs(p)

    p = sub.add_parser(
        "apply",
        help="provision, write .env.<environment>, push to Vercel and GitHub",
        description=_about(
            "Check every value offline and every credential live, show the plan, ask, "
            "then provision each service, write .env.<environment> and push to Vercel and GitHub. "
            "Finished steps are kept: a rerun continues where a failure stopped."
        ),
        epilog=epilog,
        formatter_class=raw,
    )
    _common(p, suppress=True)
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    p.add_argument("--dry-run", action="store_true", default=argparse.SUPPRESS, help="same as plan")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    _inputs(p)

    p = sub.add_parser(
        "status",
        help="which steps are done, pending, failed or skipped",
        description=_about(
            "Show the saved progress of each step (with the reason a step was skipped "
            "or failed). Reads only the state file; contacts nothing."
        ),
        epilog=epilog,
        formatter_class=raw,
    )
    _common(p, suppress=True)
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")

    p = sub.add_parser(
        "reset",
        help="forget progress and stored operator credentials",
        description=_about(
            "Forget the saved progress of every step and the operator credentials "
            "kept in the OS keyring. .env.<environment>, Vercel, GitHub and the services are left "
            "as they are."
        ),
        epilog=epilog,
        formatter_class=raw,
    )
    _common(p, suppress=True)
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")

    from wizard import cli_verify

    p = sub.add_parser(
        "verify",
        help="run the post-deployment checklist against the live site",
        description=_about(
            "Run the deployment guide's post-deployment checklist against the live "
            "site: health route, HTTPS and certificate, security headers, caching, Cloudflare, the "
            "Stripe webhook route and (with --check-rate-limit) the rate limit. Reads only."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(p, suppress=True)
    cli_verify.configure_parser(p)

    from wizard import cli_rollback

    p = sub.add_parser(
        "rollback",
        help="promote the previous READY production deployment (the guide's Rollback Procedure)",
    )
    _common(p, suppress=True)
    cli_rollback.configure_parser(p)
    return parser


def _err(line: str) -> None:
    # Every stderr line may quote a service or the state file: never a control sequence.
    sys.stderr.write(printable(line.rstrip()) + "\n")


_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n))


def _terminate(_signum: int, frame: FrameType | None) -> None:
    """SIGTERM (and SIGHUP) end the run as ctrl+c does: through the SIGINT handler in force
    (asyncio's, which cancels the running task and raises KeyboardInterrupt once it is
    unwound, or Python's, which raises it at once), so the same cleanup runs, exit 130."""
    handler = signal.getsignal(signal.SIGINT)
    if callable(handler):
        handler(signal.SIGINT, frame)
        return
    raise KeyboardInterrupt


def _interrupted() -> int:
    # A second signal while saying so must not turn into a traceback.
    with contextlib.suppress(ValueError):
        for number in _SIGNALS:
            signal.signal(number, signal.SIG_IGN)
    with contextlib.suppress(Exception):
        _err("interrupted: finished steps are saved; run again to continue")
    return 130


def main(argv: Sequence[str] | None = None, *, exiting: bool = False) -> int:
    """The CLI. ``exiting`` (the console script): the process ends right after, so once the
    work is over a late signal is ignored instead of turning a finished run into a crash."""
    previous: dict[int, Any] = {}
    try:
        try:
            for number in _SIGNALS:
                if signal.getsignal(number) == signal.SIG_IGN:
                    continue  # ignored on purpose (nohup, a background job): stays so
                handler = _terminate if number != signal.SIGINT else signal.default_int_handler
                previous[number] = signal.signal(number, handler)
        except ValueError:  # not the main thread: signals are not ours to handle
            pass
        return _main(argv)
    except KeyboardInterrupt:
        return _interrupted()
    finally:
        # In-process callers (tests, an embedding program) get their handlers back.
        with contextlib.suppress(ValueError, TypeError):
            for number, handler in previous.items():
                signal.signal(number, signal.SIG_IGN if exiting else handler)


def run() -> NoReturn:
    """The console script (and ``python -m wizard``): ``main``, then the exit.

    After an interrupt the exit is immediate: CPython would otherwise turn a ctrl+c that
    arrived inside an ``exec`` (a dataclass being built by a lazy import) into a second,
    fatal SIGINT at exit, and a thread still blocked in a read would hold the exit up."""
    try:
        code = main(exiting=True)
    except KeyboardInterrupt:  # one that landed while main was already handing back
        code = _interrupted()
    if code == 130:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(130)
    sys.exit(code)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.project_dir = args.project_dir or Path.cwd()
    args.environment = args.environment or "production"
    try:
        return _dispatch(args)
    except ValidationFailed as exc:
        for problem in exc.problems:
            _err(f"error: {problem}")
        _err("nothing was written or sent")
        _json_errors(args, exc.problems)
        return 1
    except (SetupError, ProviderError) as exc:
        _err(f"error: {exc}")
        _json_errors(args, [str(exc)])
        return 1
    except OSError as exc:
        _err(f"error: {exc.strerror or exc} ({getattr(exc, 'filename', '') or ''})")
        return 1
    except Exception as exc:
        # A bug, not an expected failure. Its message or traceback could quote a value, so
        # only the type is shown unless the developer asks for the whole thing.
        if os.environ.get("DREAM_PIXEL_DEBUG"):
            raise
        _err(
            f"internal error ({type(exc).__name__}): nothing more is shown, as it could hold a "
            "secret; rerun with DREAM_PIXEL_DEBUG=1 to see the traceback, and report it"
        )
        return 1


def _json_errors(args: argparse.Namespace, errors: list[str]) -> None:
    """With --json, a refused run still prints its one JSON object (scripts parse stdout)."""
    if not getattr(args, "json", False) or args.command not in ("plan", "apply"):
        return
    from wizard.output import dump_json

    dump_json({"environment": args.environment, "changes": [], "errors": errors})


def _dispatch(args: argparse.Namespace) -> int:
    from wizard.engine import Inputs, Session, parse_set, parse_step_list

    command = args.command
    if command == "verify":
        return _verify(args)
    if command == "rollback":
        from wizard import cli_rollback

        return cli_rollback.run(args)
    if command == "status":
        return _status(args)
    if command == "reset":
        return _reset(args)

    inputs = Inputs()
    if command in ("plan", "apply"):
        inputs = Inputs(
            sets=parse_set(args.set),
            env_file=args.env_file,
            only=parse_step_list(args.only, "--only") or None,
            skip=parse_step_list(args.skip, "--skip"),
            rotate=[k.strip() for k in (args.rotate or "").split(",") if k.strip()],
        )
        if inputs.only and not set(inputs.only) - set(inputs.skip):
            raise UsageError("--only and --skip together leave no step to run")
        bad = [k for k in inputs.rotate if k not in ("NEXTAUTH_SECRET", "JWT_SECRET")]
        if bad:
            raise UsageError(
                "--rotate: only NEXTAUTH_SECRET and JWT_SECRET can be rotated, "
                f"not {', '.join(bad)}"
            )
        if args.github_environment:
            inputs.sets["github_environment"] = args.github_environment
        if args.deploy_timeout:
            inputs.sets["deploy_timeout"] = args.deploy_timeout
        if args.strict:
            inputs.sets["github_strict"] = "yes"
    dry_run = bool(getattr(args, "dry_run", False)) or command == "plan"
    if command is None and not _has_terminal():
        # Both front ends ask questions: without a terminal they would write escape codes
        # into a pipe and wait forever. Say what `apply` needs instead, at once (no lock).
        from wizard.plain import refuse_without_tty

        session = Session.open(args.project_dir, args.environment, inputs=inputs, dry_run=True)
        session.load_keyring_credentials(session.selection())
        refuse_without_tty(session, sys.stderr)
        return 1
    # One run that may write at a time; taken before the state is read, so a run that
    # waited for another sees what that one did.
    with _run_lock(args, command, dry_run=dry_run):
        session = Session.open(args.project_dir, args.environment, inputs=inputs, dry_run=dry_run)
        _warn_secret_sets(session)
        _warn_if_not_the_app(session.project_dir)

        if command is None:
            if args.plain:
                from wizard.plain import run_plain

                session.load_keyring_credentials()
                return run_plain(session, dry_run=dry_run)
            from screens.app import run_app

            return run_app(session, dry_run=dry_run)
        session.load_keyring_credentials(session.selection())
        return _plan_or_apply(args, session, dry_run=dry_run)


def _has_terminal() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def _run_lock(
    args: argparse.Namespace, command: str | None, *, dry_run: bool
) -> contextlib.AbstractContextManager[None]:
    if dry_run or command not in (None, "apply"):
        return contextlib.nullcontext()
    from wizard.lock import run_lock

    name = "dream-pixel-setup " + (command or ("--plain" if args.plain else "(the wizard)"))
    from wizard.state import project_folder

    project_dir = project_folder(args.project_dir)
    return run_lock(project_dir, args.environment, name, on_wait=lambda text: _err(f"note: {text}"))


def _warn_secret_sets(session: object) -> None:
    from wizard.engine import Session

    assert isinstance(session, Session)
    keys = []
    for key, value in session.inputs.sets.items():
        f = session.catalogue.field(key)
        if value and f is not None and f.kind == "app" and session.is_secret(key):
            keys.append(key)
    if keys:
        _err(
            f"warning: --set {', '.join(keys)}: a secret on the command line can be read by "
            "other users of this machine (ps, /proc) and stays in your shell history; prefer "
            "--env-file FILE or the wizard's prompt"
        )


def _plan_or_apply(args: argparse.Namespace, session: object, *, dry_run: bool) -> int:
    from wizard.destinations import render_destinations
    from wizard.engine import Session
    from wizard.output import dump_json, operator_sources, render_changes, use_color

    assert isinstance(session, Session)
    as_json = bool(args.json)
    color = use_color(sys.stdout)
    if not dry_run and not args.yes:
        if not sys.stdin.isatty():
            raise UsageError("apply: pass --yes to apply without a prompt (or run `plan` first)")
        # With --json, stdout carries the JSON object alone.
        human = sys.stderr if as_json else sys.stdout
        _confirm_remembered(session, human)
        preview = asyncio.run(session.plan())
        _print_notices(preview.notices)
        if preview.failures:
            return _report_failures(preview.failures)
        print(render_destinations(session.destinations()), file=human)
        _print_operator_sources(session, human)
        print(f"Changes for {session.environment}:", file=human)
        print(render_changes(preview.changes, verbose=args.verbose, color=color), file=human)
        if not preview.pending_changes:
            print("Nothing to apply.", file=human)
            return 0
        human.write("Apply these changes? Only 'yes' is accepted: ")
        human.flush()
        answer = sys.stdin.readline()
        if answer.strip() != "yes":
            _err("apply cancelled: nothing was changed")
            return 1

    def progress(step_id: str, status: str, message: str | None) -> None:
        if not as_json and not dry_run and status in ("done", "failed"):
            mark = "✓" if status == "done" else "✗"
            _err(f"{mark} {step_id}")

    def output(step_id: str, line: str) -> None:
        _err(f"  {step_id} │ {line}")  # redacted by the step; stdout stays the report's

    result = asyncio.run(
        session.plan() if dry_run else session.apply(on_step=progress, on_output=output)
    )
    if as_json:
        dump_json(
            {
                "environment": session.environment,
                "dry_run": dry_run,
                "destinations": [d.to_json() for d in session.destinations()],
                "operator_sources": {
                    key: session.values.operator_source.get(key)
                    for key, _, _ in operator_sources(session, session.selection())
                },
                "changes": [c.to_json() for c in result.changes],
                "notices": result.notices,
                "failures": [{"step": s, "message": m} for s, m in result.failures.items()],
            }
        )
    else:
        if dry_run or args.yes:  # an interactive apply showed them with its preview
            _print_operator_sources(session, sys.stdout)
    if not as_json and (result.changes or not result.failures):
        _print_notices(result.notices)
        print(render_destinations(session.destinations()))
        title = "Plan" if dry_run else "Applied"
        print(
            f"{title} for {session.environment}"
            f"{' (dry run: nothing was changed)' if dry_run else ''}:"
        )
        print(
            render_changes(
                result.changes, verbose=args.verbose, color=color, label=title.split()[0]
            )
        )
    if result.failures:
        return _report_failures(result.failures)
    if dry_run and getattr(args, "detailed_exitcode", False):
        return 2 if result.pending_changes else 0
    if not dry_run:
        _verify_live_site(session, as_json=as_json, color=color)
    return 0


def _verify_live_site(session: object, *, as_json: bool, color: bool) -> None:
    """End on a verified site: once production is deployed and Vercel reports its domain
    configured, the guide's post-deployment checklist runs against NEXTAUTH_URL."""
    from wizard.engine import Session
    from wizard.verify import VerifyUrlError, render_text, run_checks

    assert isinstance(session, Session)
    url = session.values.app.get("NEXTAUTH_URL")
    if not url or not session.site_is_live():
        return
    expect_cloudflare = session.status("cloudflare") == "done"
    try:
        report = asyncio.run(run_checks(url, expect_cloudflare=expect_cloudflare))
    except VerifyUrlError as exc:
        _err(f"verify: {exc}")
        return
    human = sys.stderr if as_json else sys.stdout
    print(f"Verifying {url}:", file=human)
    print(render_text(report, color=color), file=human)
    if report.failed:
        _err(
            "note: the site is deployed, but some checks failed: fix them, then run "
            "`dream-pixel-setup verify`"
        )


def _confirm_remembered(session: object, human: TextIO) -> None:
    """At a terminal, destinations remembered from the last run are shown and asked
    about; without one (``--yes``), they are refused until the operator gives them."""
    from wizard.engine import Session

    assert isinstance(session, Session)
    lines = session.remembered_lines()
    if not lines:
        return
    print("Remembered from the last run (not given now):", *lines, sep="\n", file=human)
    human.write("Send to these destinations? Only 'yes' is accepted: ")
    human.flush()
    if sys.stdin.readline().strip() == "yes":
        session.confirm_remembered(True)


def _print_operator_sources(session: object, stream: TextIO) -> None:
    """Which operator value came from where (environment, gh, git remote, …)."""
    from wizard.engine import Session
    from wizard.output import operator_sources, render_operator_sources

    assert isinstance(session, Session)
    text = render_operator_sources(operator_sources(session, session.selection()))
    if text:
        print(text, file=stream)


def _print_notices(notices: list[str]) -> None:
    for notice in dict.fromkeys(notices):
        _err(f"note: {notice}")


def _report_failures(failures: dict[str, str]) -> int:
    # One line per cause: a refused GitHub token fails the github and safeguards steps alike.
    steps: dict[str, list[str]] = {}
    for step_id, message in failures.items():
        steps.setdefault(message, []).append(step_id)
    for message, ids in steps.items():
        _err(f"error: [{', '.join(ids)}] {message}")
    return 1


def _status(args: argparse.Namespace) -> int:
    from wizard.catalogue import STEPS
    from wizard.output import dump_json
    from wizard.state import load_state, project_folder

    project_dir = project_folder(args.project_dir)
    state = load_state(project_dir, args.environment)
    rows = []
    for s in STEPS:
        st = state.steps.get(s.id)
        rows.append(
            {
                "id": s.id,
                "status": st.status if st else "pending",
                "reason": st.reason if st else None,
            }
        )
    if args.json:
        dump_json({"environment": args.environment, "steps": rows})
        return 0
    marks = {"done": "✓", "pending": "·", "failed": "✗", "skipped": "–"}
    print(f"Progress for {args.environment}:")
    for s, r in zip(STEPS, rows, strict=True):
        line = f"  {marks.get(str(r['status']), '?')} {s.title:<14} {r['status']}"
        if r["reason"]:
            # The state file is not trusted: its text is shown, never acted on.
            line += f"  ({printable(str(r['reason']))})"
        print(line)
    return 0


def _reset(args: argparse.Namespace) -> int:
    if args.dry_run:
        raise UsageError("reset has no dry run: `status` shows what would be forgotten")
    from wizard.lock import run_lock
    from wizard.state import project_folder, state_path

    project_dir = project_folder(args.project_dir)
    # Under the run lock (when there is a folder to hold it in): an apply that has not
    # saved yet is waited for, not taken for "nothing saved".
    held = (
        run_lock(
            project_dir,
            args.environment,
            "dream-pixel-setup reset",
            on_wait=lambda text: _err(f"note: {text}"),
        )
        if os.path.lexists(state_path(project_dir, args.environment).parent)
        else contextlib.nullcontext()
    )
    with held:
        return _reset_held(args, project_dir)


def _reset_held(args: argparse.Namespace, project_dir: Path) -> int:
    from wizard.engine import forget_progress

    if not _anything_saved(project_dir, args.environment):
        print(f"Nothing saved for {args.environment}: no progress and no stored credentials.")
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            raise UsageError("reset: pass --yes to reset without a prompt")
        answer = input(f"Forget all progress for {args.environment} and stored credentials? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            _err("reset cancelled")
            return 1
    forget_progress(project_dir, args.environment)
    print(f"Progress for {args.environment} forgotten. .env.{args.environment} was left as it is.")
    return 0


def _anything_saved(project_dir: Path, environment: str) -> bool:
    """Progress for this environment, or an operator credential in the keyring."""
    from wizard.catalogue import load_catalogue
    from wizard.credentials import CredentialStore, scoped_account
    from wizard.state import state_path

    if os.path.lexists(state_path(project_dir, environment)):
        return True
    store = CredentialStore(dict(os.environ))
    return any(
        store.get(scoped_account(project_dir, environment, f.key))
        for f in load_catalogue(project_dir).all_fields()
        if f.kind == "operator" and f.secret
    )


def _warn_if_not_the_app(project_dir: Path) -> None:
    """The wizard configures a Next.js checkout: without package.json this is likely not it."""
    if (project_dir / "package.json").is_file():
        return
    _err(
        f"warning: no package.json in {project_dir.resolve()}: is this the Dream Pixel "
        "checkout? (run from it, or pass --project-dir)"
    )


def _verify(args: argparse.Namespace) -> int:
    from wizard import cli_verify
    from wizard.envfile import load_env_file
    from wizard.state import load_state

    project_dir = args.project_dir.resolve()
    doc = load_env_file(project_dir / f".env.{args.environment}")
    state = load_state(project_dir, args.environment)
    cf = state.steps.get("cloudflare")
    return cli_verify.run(
        args,
        default_url=doc.get("NEXTAUTH_URL"),
        expect_cloudflare=bool(cf and cf.status == "done"),
    )
