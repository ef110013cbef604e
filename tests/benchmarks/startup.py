"""Time to first paint: the wizard against an empty Textual app, in the same run.

    .venv/bin/python tests/benchmarks/startup.py [--runs N]

Each sample is a fresh interpreter (imports included, as a user pays them) that opens
the app headless and exits right after the first screen has been painted; the parent
times the whole process. The wizard sample also opens a ``Session`` on an empty
project, as the CLI does before ``run_app``. Prints the medians and their ratio; exits
1 when the wizard takes 2x the empty app or more (the goal is 1.3x).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

EMPTY = """
from textual.app import App

class Empty(App[int]):
    def on_mount(self) -> None:
        self.call_after_refresh(self.exit, 0)

Empty().run(headless=True, size=(80, 24))
"""

WIZARD = """
import sys
from pathlib import Path

from wizard.engine import Session
from screens.app import WizardApp

class FirstPaint(WizardApp):
    # Textual runs every class's on_mount (the wizard's first), so no super() call.
    def on_mount(self) -> None:
        if sys.argv[2] == "frame":
            self.call_after_refresh(self.exit, 0)
        else:
            self.set_interval(0.002, self._page_ready)

    def _page_ready(self) -> None:
        if self.wizard is not None and self.wizard.pane is not None:
            self.call_after_refresh(self.exit, 0)

session = Session.open(Path(sys.argv[1]), env={})
FirstPaint(session).run(headless=True, size=(80, 24))
"""

GOAL, LIMIT = 1.3, 2.0


def sample(code: str, project: Path, env: dict[str, str], until: str = "frame") -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", code, str(project), until],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project, home = Path(tmp, "app"), Path(tmp, "home")
        project.mkdir()
        home.mkdir()
        (project / "package.json").write_text("{}\n")
        env = {
            **os.environ,
            "HOME": str(home),
            "PYTHONPATH": str(ROOT),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        }
        # Installed packages (textual) ship compiled bytecode; let ours be cached too, as
        # `pip install .` does, or every sample pays for compiling the wizard's sources.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        # Warm the OS file cache and the bytecode caches first.
        sample(EMPTY, project, env)
        sample(WIZARD, project, env, "page")
        empty: list[float] = []
        frame: list[float] = []
        page: list[float] = []
        for _ in range(args.runs):  # interleaved, so drift hits all alike
            empty.append(sample(EMPTY, project, env))
            frame.append(sample(WIZARD, project, env, "frame"))
            page.append(sample(WIZARD, project, env, "page"))
    e, f, p = (statistics.median(x) for x in (empty, frame, page))
    ratio = f / e
    print(f"empty Textual app, first paint:  {e * 1000:7.1f} ms (median of {args.runs})")
    print(f"wizard, first paint (frame):     {f * 1000:7.1f} ms  {f / e:5.2f}x")
    print(f"wizard, first step page painted: {p * 1000:7.1f} ms  {p / e:5.2f}x")
    verdict = "goal met" if ratio <= GOAL else ("over the goal" if ratio < LIMIT else "TOO SLOW")
    print(f"first paint ratio {ratio:.2f}x: {verdict} (goal <= {GOAL}x, limit < {LIMIT}x)")
    return 0 if ratio < LIMIT else 1


if __name__ == "__main__":
    raise SystemExit(main())
