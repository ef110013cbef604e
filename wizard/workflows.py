"""Which secrets and variables the repository's GitHub Actions workflows use, file and line.

The `github` step compares them with what it pushes and what the repository (or the chosen
Actions environment) holds, so a deploy workflow that reads ``secrets.VERCEL_TOKEN`` while
nobody set it is caught before the first push to main, not by a red run afterwards.

Workflows are parsed with a real YAML parser (anchors, aliases, block scalars, flow style);
references are looked for where GitHub evaluates expressions: inside ``${{ … }}`` in any
string, and in the whole value of an ``if:`` key (an expression even without ``${{``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from wizard.errors import SetupError
from wizard.files import read_regular

WORKFLOWS_DIR = Path(".github") / "workflows"
# A repository has a handful; the cap only guards against a planted pile of files.
MAX_WORKFLOWS = 200
MAX_WORKFLOW_BYTES = 512 * 1024
# Always provided by GitHub to every run.
BUILTIN_SECRETS = frozenset({"GITHUB_TOKEN"})

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
# secrets.NAME, secrets['NAME'], secrets["NAME"] (and vars.…); GitHub's names are
# case-insensitive, so a match is normalised to upper case.
_REFERENCE = re.compile(
    rf"\b(secrets|vars)\s*(?:\.\s*({_NAME})|\[\s*'({_NAME})'\s*\]|\[\s*\"({_NAME})\"\s*\])"
)
_EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


@dataclass(frozen=True)
class Reference:
    kind: str  # "secrets" | "vars"
    name: str  # upper case, as GitHub stores it
    file: str  # relative to the project, e.g. .github/workflows/deploy.yml
    line: int  # 1-based

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class Scan:
    references: list[Reference]
    # Files that could not be read or parsed: a notice each (GitHub would not run them
    # either), never a failure of the step.
    unreadable: list[str]

    def names(self, kind: str) -> set[str]:
        return {r.name for r in self.references if r.kind == kind}

    def missing(self, kind: str, present: set[str]) -> list[Reference]:
        """References to names not in ``present`` (upper case), first use of each name."""
        have = {p.upper() for p in present}
        if kind == "secrets":
            have |= BUILTIN_SECRETS
        seen: set[str] = set()
        out: list[Reference] = []
        for ref in self.references:
            if ref.kind != kind or ref.name in have or ref.name in seen:
                continue
            seen.add(ref.name)
            out.append(ref)
        return out

    def uses(self, kind: str, name: str) -> list[Reference]:
        return [r for r in self.references if r.kind == kind and r.name == name.upper()]


def _expressions(value: str, whole: bool) -> list[tuple[int, str]]:
    """(offset, text) of each part of ``value`` GitHub evaluates as an expression."""
    if whole and "${{" not in value:
        return [(0, value)]
    return [(m.start(1), m.group(1)) for m in _EXPRESSION.finditer(value)]


def _references_in(value: str, whole: bool) -> list[tuple[int, str, str]]:
    out: list[tuple[int, str, str]] = []
    for offset, text in _expressions(value, whole):
        for m in _REFERENCE.finditer(text):
            name = m.group(2) or m.group(3) or m.group(4)
            out.append((offset + m.start(), m.group(1), name.upper()))
    return out


def _line_of(source: str, node: object, value: str, offset: int, needle: str) -> int:
    """The 1-based line of a reference: found in the node's own source text when it is
    there verbatim (block scalars, plain and quoted strings), else the node's first line."""
    start = node.start_mark  # type: ignore[attr-defined]
    end = node.end_mark  # type: ignore[attr-defined]
    span = source[start.index : end.index]
    # Which occurrence of the same text within the value this is.
    nth = value[:offset].count(needle)
    pos = -1
    for _ in range(nth + 1):
        pos = span.find(needle, pos + 1)
        if pos < 0:
            return int(start.line) + 1
    return int(start.line) + span[:pos].count("\n") + 1


def scan_source(source: str, file: str) -> list[Reference]:
    """The references in one workflow's text. Raises yaml.YAMLError on invalid YAML."""
    import yaml  # only the github step needs it: keep it off the start path

    root = yaml.compose(source, Loader=yaml.SafeLoader)
    if root is None:
        return []
    found: list[Reference] = []
    visited: set[int] = set()
    # (node, is the value of an `if:` key). Iterative, and each node once: an alias
    # shares its anchor's node, so a "billion laughs" file costs what its text costs.
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, whole = stack.pop()
        if id(node) in visited:
            continue
        visited.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            value = str(node.value)
            for offset, kind, name in _references_in(value, whole):
                m = _REFERENCE.match(value, offset)
                needle = m.group(0) if m else f"{kind}.{name}"
                line = _line_of(source, node, value, offset, needle)
                found.append(Reference(kind, name, file, line))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((child, False) for child in reversed(node.value))
        elif isinstance(node, yaml.MappingNode):
            for key, child in reversed(node.value):
                is_if = isinstance(key, yaml.ScalarNode) and key.value == "if"
                stack.append((child, is_if))
                stack.append((key, False))
    found.sort(key=lambda r: (r.line, r.kind, r.name))
    return found


def scan_workflows(project_dir: Path) -> Scan:
    """Every secrets./vars. reference in ``.github/workflows/*.yml|*.yaml``."""
    import yaml

    folder = project_dir / WORKFLOWS_DIR
    if folder.is_symlink() or not folder.is_dir():
        return Scan([], [])
    paths = sorted(p for p in folder.iterdir() if p.suffix in (".yml", ".yaml"))
    references: list[Reference] = []
    unreadable: list[str] = []
    for path in paths[:MAX_WORKFLOWS]:
        rel = path.relative_to(project_dir).as_posix()
        try:
            data = read_regular(path, what=rel, max_bytes=MAX_WORKFLOW_BYTES)
        except SetupError as exc:
            unreadable.append(str(exc))
            continue
        if data is None:
            continue
        try:
            references.extend(scan_source(data.decode("utf-8"), rel))
        except UnicodeDecodeError:
            unreadable.append(f"{rel}: not UTF-8 text")
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = f" line {mark.line + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or "invalid YAML"
            unreadable.append(f"{rel}{at}: {problem}")
        except RecursionError:
            unreadable.append(f"{rel}: nested too deeply")
    if len(paths) > MAX_WORKFLOWS:
        unreadable.append(f"{WORKFLOWS_DIR.as_posix()}: only the first {MAX_WORKFLOWS} read")
    return Scan(references, unreadable)
