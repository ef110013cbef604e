"""Human and JSON renderings of plans, applies and status. Never a value."""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TextIO

from providers.text import printable
from wizard.changes import Change

if TYPE_CHECKING:
    from wizard.engine import Session

SYMBOLS = {
    "add": "+",
    "create": "+",
    "apply": "+",
    "update": "~",
    "remove": "-",
    "unknown": "?",
    "unchanged": "=",
    "keep": "!",
    "skip": "–",
    "check": "✓",
    "fail": "✗",
    "missing": "!",
}
COLORS = {"+": "32", "~": "33", "-": "31", "?": "35", "✗": "31", "!": "33"}


def use_color(stream: TextIO) -> bool:
    # no-color.org: NO_COLOR set to any non-empty value turns colour off.
    return stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def render_changes(
    changes: list[Change], *, verbose: bool = False, color: bool = False, label: str = "Plan"
) -> str:
    lines: list[str] = []
    width_t = max((len(c.target) for c in changes), default=8)
    width_a = max((len(c.action) for c in changes), default=8)
    for c in changes:
        if c.action == "unchanged" and not verbose:
            continue
        sym = SYMBOLS.get(c.action, "·")
        text = f"  {sym} {c.action:<{width_a}}  {c.target:<{width_t}}  {c.name}"
        if c.detail:
            text += f"  ({c.detail})"
        text = printable(text)  # names and details can quote a service: text, not escapes
        if color and sym in COLORS:
            text = f"\x1b[{COLORS[sym]}m{text}\x1b[0m"
        lines.append(text)
    counts = Counter(c.action for c in changes)
    summary = ", ".join(f"{n} {a}" for a, n in sorted(counts.items()))
    if not changes:
        summary = "nothing to do"
    lines.append(f"{label}: {summary}.")
    return "\n".join(lines)


def dump_json(obj: dict[str, Any], stream: TextIO | None = None) -> None:
    (stream or sys.stdout).write(json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def operator_sources(session: Session, step_ids: Iterable[str]) -> list[tuple[str, str, str]]:
    """(key, shown value, "from …") for each operator value the given steps use: public
    values in full, secrets as dots only."""
    from wizard.discover import describe_source

    rows: list[tuple[str, str, str]] = []
    for key in session.used_keys(step_ids):
        f = session.catalogue.field(key)
        value = session.values.operator.get(key)
        if f is None or f.kind != "operator" or not value:
            continue
        shown = "••••" if f.secret else value
        rows.append((key, shown, describe_source(session.values.operator_source.get(key))))
    return rows


def render_operator_sources(rows: list[tuple[str, str, str]]) -> str:
    """One line per operator value: ``GITHUB_REPOSITORY  acme/app  (from git remote)``."""
    if not rows:
        return ""
    width = max(len(k) for k, _, _ in rows)
    lines = ["Operator values:"]
    for key, shown, label in rows:
        lines.append(f"  {key:<{width}}  {shown}" + (f"  ({label})" if label else ""))
    return "\n".join(lines)
