"""``python -m wizard``: ctrl+c or SIGTERM even while the CLI is still importing exits 130
quietly (``main`` takes over the signals once it runs)."""

import signal
import sys


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


if signal.getsignal(signal.SIGTERM) != signal.SIG_IGN:
    signal.signal(signal.SIGTERM, _interrupt)
try:
    from wizard.cli import run
except KeyboardInterrupt:
    sys.stderr.write("interrupted\n")
    raise SystemExit(130) from None

run()
