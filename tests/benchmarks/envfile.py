"""How editing an env file grows with its size: it should be linear in the number of keys.

    .venv/bin/python tests/benchmarks/envfile.py [--sizes 1000,5000,20000]

For each size N, three timings (each the best of ``--runs``):

* ``empty``: set N keys into an empty document, then render it (a first ``apply``, or a
  large ``--env-file``);
* ``existing``: parse a file of N keys (comments, ``export``, quoted and multi-line values,
  an inline comment here and there), read its values as the engine does, set every key to a
  new value, then render (an ``apply`` that changes everything);
* ``load``: parse that file and check that Next.js would load it (``load_problem``), as
  ``Session.open`` does.

Then the growth: time(N_last) / time(N_first) divided by N_last / N_first. Linear is 1.0,
quadratic is N_last / N_first. Exits 1 when a growth is above ``--limit`` (default 2.0).
Not a pytest test: timings on a shared machine are no pass/fail signal for CI.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from wizard import envfile  # noqa: E402
from wizard.envfile import EnvDocument  # noqa: E402


def _value(i: int, generation: str) -> str:
    kind = i % 5
    if kind == 0:
        return f"{generation}-plain-{i:06d}-sk_live_abcdef0123456789"
    if kind == 1:
        return f"{generation} with spaces {i} # and a hash"
    if kind == 2:
        return f"{generation}-pa$$word-{i}-${{NOT_A_REF}}"
    if kind == 3:
        return f"postgres://user:{generation}{i}@db.example.com:6543/postgres?sslmode=require"
    return f"-----BEGIN KEY-----\n{generation}{i:06d}\n-----END KEY-----"


def _items(n: int, generation: str) -> list[tuple[str, str]]:
    return [(f"KEY_{i:06d}", _value(i, generation)) for i in range(n)]


def _existing_file(n: int) -> str:
    lines: list[str] = ["# Production settings, kept by hand\n", "\n"]
    for i, (key, value) in enumerate(_items(n, "old")):
        if i % 50 == 0:
            lines.append(f"# --- section {i // 50} ---\n")
        if i % 7 == 0:
            lines.append(f"export {key}={value.split()[0].replace('$', '')}  # why\n")
        elif "\n" in value:
            lines.append(f'{key}="{value}"\n')  # a real multi-line value
        else:
            lines.append(envfile.format_assignment(key, value) + "\n")
    return "".join(lines)


def _empty(n: int) -> Callable[[], None]:
    items = _items(n, "new")

    def run() -> None:
        doc = EnvDocument.empty()
        for key, value in items:
            doc.set(key, value)
        doc.render()

    return run


def _existing(n: int) -> Callable[[], None]:
    text = _existing_file(n)
    items = _items(n, "new")

    def run() -> None:
        doc = EnvDocument.parse(text)
        doc.values()
        for key, value in items:
            doc.set(key, value)
        doc.render()

    return run


def _load(n: int) -> Callable[[], None]:
    text = _existing_file(n)

    def run() -> None:
        doc = EnvDocument.parse(text)
        check = getattr(doc, "load_problem", None)
        if check is not None:
            check()
        else:
            _ = doc.load_error

    return run


def _best(run: Callable[[], None], runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,5000,20000", help="numbers of keys")
    parser.add_argument("--runs", type=int, default=3, help="best of this many runs")
    parser.add_argument("--limit", type=float, default=2.0, help="highest growth accepted")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    cases = {"empty": _empty, "existing": _existing, "load": _load}
    times: dict[str, list[float]] = {name: [] for name in cases}
    print(f"{'keys':>8}  " + "  ".join(f"{name:>12}" for name in cases))
    for n in sizes:
        row = []
        for name, make in cases.items():
            seconds = _best(make(n), args.runs)
            times[name].append(seconds)
            row.append(f"{seconds:>11.3f}s")
        print(f"{n:>8}  " + "  ".join(row), flush=True)
    scale = sizes[-1] / sizes[0]
    worst = 0.0
    print(f"growth from {sizes[0]} to {sizes[-1]} keys (x{scale:g}); 1.0 is linear:")
    for name, series in times.items():
        growth = (series[-1] / series[0]) / scale
        worst = max(worst, growth)
        print(f"  {name:>8}: time x{series[-1] / series[0]:.1f}, growth {growth:.2f}")
    return 1 if worst > args.limit else 0


if __name__ == "__main__":
    sys.exit(main())
