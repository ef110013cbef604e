"""The ``.env`` dialect that Next.js reads, byte for byte, and an editor that keeps the user's file.

Next.js loads ``.env.production`` with ``@next/env`` (pinned for the tests in
``tests/node/package-lock.json``; 16.4.6 bundles dotenv 16.3.1 and dotenv-expand's
``expand``). Reading a file there is two passes, both reproduced here:

1. dotenv's ``parse``: CRLF and lone CR become LF; one JavaScript regex (``_LINE``) finds the
   assignments; each value is trimmed, one pair of surrounding quotes (``'`` ``"`` or backtick)
   is removed, and only double-quoted values turn ``\\n`` / ``\\r`` into LF / CR. Nothing else
   is unescaped: ``"a\\"b"`` reads as ``a\\"b``. Unquoted values end at ``#``.
2. dotenv-expand: for every key (JavaScript property order), the value is taken from
   ``process.env`` when the key is there, then ``$NAME`` / ``${NAME}`` / ``${NAME:-default}``
   are replaced from the right, inside every kind of quote, looking up ``process.env``, then
   the default, then the file's own keys (earlier ones already expanded); finally every
   ``\\$`` becomes ``$``. An expansion that never ends overflows Node's stack and Next.js drops
   the whole file (``EnvDocument.load_error`` says so).

Writing escapes every ``$`` as ``\\$`` and picks, per value, the first of these forms that
carries it exactly (each one is checked by parsing it back with the emulation above):

* plain ``KEY=value`` for values without spaces, quotes, ``#`` or backslashes;
* ``KEY="..."`` with LF and CR written as ``\\n`` and ``\\r``;
* ``KEY='...'``, then ``KEY=`...```, with line breaks written literally;
* ``KEY=value`` for any other value free of ``#`` and line breaks;
* ``KEY=${KEY:- }value${KEY:- }``: leading or trailing spaces, or a leading quote, that no
  quoting can carry come from a self-reference's default (``${KEY:-x}`` reads ``x`` whenever
  ``KEY`` is not in ``process.env``, and when it is, Next.js uses that value anyway). Only for
  keys made of letters, digits and ``_``.

See ``format_assignment`` for the values none of these can carry.

Not reproduced: references to names of ``Object.prototype`` members (``$constructor``,
``${toString}``, ``$__proto__``, ...) that the file and ``process.env`` do not define, which
JavaScript resolves to functions or objects; such a reference in a user's file reads here as
an empty string.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from wizard.atomic import write_atomic
from wizard.errors import SetupError
from wizard.files import read_regular, refuse_link

# JavaScript's \s (WhiteSpace and LineTerminator), which String.prototype.trim also strips.
# Python's \s and str.strip() use a different set, so both are spelled out.
_JS_SPACE = (
    "\t\n\v\f\r \u00a0\u1680"
    + "".join(chr(c) for c in range(0x2000, 0x200B))
    + "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_JS_LINE_TERMINATORS = "\n\r\u2028\u2029"
_S = "[" + "".join(re.escape(c) for c in _JS_SPACE) + "]"
_NOT_LT = "[^" + "".join(re.escape(c) for c in _JS_LINE_TERMINATORS) + "]"
_BOL = f"(?<!{_NOT_LT})"  # JavaScript's ^ under the m flag
_EOL = f"(?!{_NOT_LT})"  # JavaScript's $ under the m flag

# dotenv 16.3.1 lib/main.js LINE, with JavaScript's \w, \s, ., ^ and $ spelled out. Group 2
# (the separator) is a capture here only to know where a value-less assignment ends. Inside
# quotes, dotenv's ``(?:\\q|[^q])*`` is spelled ``(?:(?>[^q\\]+)|\\q|\\)*``: the same matches
# tried in the same order (giving back part of a run of plain characters can never let the
# closing quote match, so the run is atomic), without one backtracking step per character,
# which made a long quoted value cost seconds per megabyte.
_LINE = re.compile(
    _BOL
    + _S
    + "*(?:export"
    + _S
    + "+)?([A-Za-z0-9_.-]+)("
    + _S
    + "*="
    + _S
    + "*?|:"
    + _S
    + "+?)("
    + _S
    + r"*'(?:(?>[^'\\]+)|\\'|\\)*'|"
    + _S
    + r'*"(?:(?>[^"\\]+)|\\"|\\)*"|'
    + _S
    + r"*`(?:(?>[^`\\]+)|\\`|\\)*`|[^#\r\n]+)?"
    + _S
    + "*(?:#"
    + _NOT_LT
    + "*)?"
    + _EOL
)
_SURROUNDING_QUOTES = re.compile(_BOL + r"(['\"`])([\s\S]*)\1" + _EOL)
# dotenv-expand's ``(?!(?<=\\))\$...``; the $ comes first so that a search skips ahead fast.
_REFERENCE = re.compile(r"(\$(?<!\\\$)\{?([A-Za-z0-9_]+)(?::-([^}\\]*))?\}?)")
_LINE_TERMINATOR = re.compile("[" + _JS_LINE_TERMINATORS + "]")
_KEY = re.compile(r"[A-Za-z0-9_.-]+")
_WORD_KEY = re.compile(r"[A-Za-z0-9_]+")
_ESCAPED_BYTES = re.compile("[\udc80-\udcff]+")
_QUOTES = "'\"`"

# Node runs out of stack after roughly 4,000-5,000 nested substitutions in one value (it
# depends on V8's frame sizes); V8 strings stop at about 2**29 characters. Past these, the
# emulation reports the same outcome: Next.js drops the file.
MAX_EXPANSION_STEPS = 4000
MAX_EXPANDED_LENGTH = 1 << 24


class UnrepresentableValue(ValueError):
    """No line in a ``.env`` file makes Next.js read exactly this value for this key."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason


class EnvEditConflict(ValueError):
    """The user's file is built so that editing this key would change how other lines read.

    Happens only around the file's own broken lines (e.g. an unterminated quote that would
    swallow an appended line). The file is left unchanged.
    """

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key


class _ExpansionOverflow(Exception):
    """dotenv-expand would recurse until Node's stack overflows (or outgrow V8's strings)."""

    def __init__(self, *, too_long: bool = False) -> None:
        super().__init__()
        self.too_long = too_long


# --- reading -------------------------------------------------------------------------------


def _normalize_newlines(text: str) -> str:
    return re.sub(r"\r\n?", "\n", text)


def _dotenv_value(raw: str | None) -> str:
    """What dotenv's parse keeps of one matched value (before expansion)."""
    value = (raw or "").strip(_JS_SPACE)
    quote = value[:1]
    if _LINE_TERMINATOR.search(value) is not None:
        value = _SURROUNDING_QUOTES.sub(lambda m: m[2], value)
    elif len(value) >= 2 and quote in _QUOTES and value[-1] == quote:
        # One line: the regex can only match the whole value (and scanning it position by
        # position is slow for a long one).
        value = value[1:-1]
    if quote == '"':
        value = value.replace("\\n", "\n").replace("\\r", "\r")
    return value


def dotenv_parse(text: str) -> dict[str, str]:
    """dotenv 16's ``parse``: the file's assignments before expansion, in file order.

    ``__proto__`` is dropped, as assigning a string to it on a JavaScript object does nothing.
    """
    result: dict[str, str] = {}
    for match in _LINE.finditer(_normalize_newlines(text)):
        if match[1] != "__proto__":
            result[match[1]] = _dotenv_value(match[3])
    return result


def _is_array_index(key: str) -> bool:
    return key.isascii() and key.isdigit() and str(int(key)) == key and int(key) < 2**32 - 1


def _js_property_order(keys: list[str]) -> list[str]:
    """JavaScript enumerates integer-like keys first, ascending, then the rest by insertion."""
    indices = sorted((k for k in keys if _is_array_index(k)), key=int)
    return indices + [k for k in keys if not _is_array_index(k)]


def _js_substitution(replacement: str, matched: str, subject: str, position: int) -> str:
    """String.prototype.replace's ``$`` patterns for a string (not regex) search."""
    out: list[str] = []
    i = 0
    while i < len(replacement):
        char = replacement[i]
        follower = replacement[i + 1 : i + 2]
        if char == "$" and follower in ("$", "&", "`", "'"):
            if follower == "$":
                out.append("$")
            elif follower == "&":
                out.append(matched)
            elif follower == "`":
                out.append(subject[:position])
            else:
                out.append(subject[position + len(matched) :])
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


def _last_unescaped_dollar(value: str) -> int:
    index = value.rfind("$")
    while index > 0 and value[index - 1] == "\\":
        index = value.rfind("$", 0, index)
    return index


def _interpolate(
    value: str,
    env: Mapping[str, str],
    parsed: Mapping[str, str],
    *,
    max_steps: int = MAX_EXPANSION_STEPS,
    max_length: int = MAX_EXPANDED_LENGTH,
    on_reference: Callable[[str, int], None] | None = None,
) -> str:
    """dotenv-expand's ``_interpolate``, its recursion turned into a loop.

    ``on_reference(name, length)`` sees every substitution (the name, the value's length
    before it) and may raise to stop the expansion.
    """
    for _ in range(max_steps):
        index = _last_unescaped_dollar(value)
        if index < 0:
            return value
        match = _REFERENCE.search(value, index)
        if match is None or match.start() != index:
            return value
        group, name, default = match[1], match[2], match[3]
        if on_reference is not None:
            on_reference(name, len(value))
        # JavaScript's ||: an empty string falls through to the next source.
        replacement = env.get(name) or default or parsed.get(name) or ""
        position = value.find(group)  # replace() with a string hits the first occurrence
        value = (
            value[:position]
            + _js_substitution(replacement, group, value, position)
            + value[position + len(group) :]
        )
        if len(value) > max_length:
            raise _ExpansionOverflow(too_long=True)
    raise _ExpansionOverflow


def expand_nextjs(parsed: Mapping[str, str], process_env: Mapping[str, str]) -> dict[str, str]:
    """dotenv-expand as ``@next/env`` calls it (``process.env`` not ignored). File order kept.

    Raises ``_ExpansionOverflow`` where Node would overflow its stack.
    """
    result = dict(parsed)
    for key in _js_property_order(list(result)):
        raw = process_env[key] if key in process_env else result[key]
        result[key] = _interpolate(raw, process_env, result).replace("\\$", "$")
    return result


def _as_node_decodes(value: str) -> str:
    """Bytes that are not UTF-8 (kept as surrogate escapes) read as U+FFFD, as Node reads them."""
    return _ESCAPED_BYTES.sub(
        lambda m: m[0].encode("utf-8", "surrogateescape").decode("utf-8", "replace"), value
    )


def parse_value_nextjs(
    text: str, process_env: Mapping[str, str] | None = None
) -> dict[str, str] | None:
    """What ``@next/env`` reads from a file holding ``text``: key -> value, in file order.

    ``process_env`` is the environment Next.js starts with (default: empty). ``None`` means
    Next.js fails to load the file (runaway expansion) and uses none of its keys.
    """
    env = process_env or {}
    parsed = {k: _as_node_decodes(v) for k, v in dotenv_parse(text).items()}
    try:
        return expand_nextjs(parsed, env)
    except _ExpansionOverflow:
        return None


# --- what the wizard can rely on -----------------------------------------------------------

# What `process.env.NAME` / `parsed.NAME` give for these names in JavaScript is a built-in
# (a function, an object), never a variable: Next.js reads "[object ...]" or fails the file.
_PROTOTYPE_NAMES = frozenset(
    {
        "constructor",
        "hasOwnProperty",
        "isPrototypeOf",
        "propertyIsEnumerable",
        "toLocaleString",
        "toString",
        "valueOf",
        "__proto__",
        "__defineGetter__",
        "__defineSetter__",
        "__lookupGetter__",
        "__lookupSetter__",
    }
)
# Names Next.js's own process always has: a reference reads them from there, not the file.
_ENVIRONMENT_NAMES = frozenset({"NODE_ENV", "__NEXT_PROCESSED_ENV"})
# Far below Node's stack (it overflows between 4,000 and 5,000 nested substitutions), far
# above any chain a person writes: past these the wizard cannot be sure what Next.js reads.
MAX_CHECKED_SUBSTITUTIONS = 1000
MAX_CHECKED_LENGTH = 1 << 22  # characters in one expanded value
MAX_CHECKED_WORK = 1 << 26  # characters copied while expanding the whole file
_ESCAPE_FIX = "if the $ is meant literally, escape it as \\$"


@dataclass(frozen=True)
class LoadProblem:
    """Why the wizard will not work from a file: Next.js would reject it, or read it in a way
    the wizard cannot know. Never holds a value."""

    line: int
    key: str
    problem: str
    fix: str

    def describe(self, name: str) -> str:
        return f"{name} line {self.line}: {self.key} {self.problem} — {self.fix}"


class EnvFileRefused(SetupError):
    """An env file the wizard will not read from or write to; nothing was changed or sent."""


class _Stop(Exception):
    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix


def _reference_problem(name: str, defined: Mapping[str, str]) -> _Stop | None:
    if name in _PROTOTYPE_NAMES:
        return _Stop(
            f"refers to ${name}, which Next.js reads as a JavaScript built-in, not a variable",
            f"{_ESCAPE_FIX}, or use another name",
        )
    if name in _ENVIRONMENT_NAMES:
        return _Stop(
            f"refers to ${name}, which Next.js reads from its own process, not from this file",
            f"{_ESCAPE_FIX}, or write the value out",
        )
    if name not in defined:
        return _Stop(
            f"refers to ${name}, which this file does not set: Next.js then reads it from the "
            "environment it runs in, which this wizard cannot see",
            f"{_ESCAPE_FIX} (\\${name}), or define {name} in the file",
        )
    return None


def find_load_problem(text: str) -> LoadProblem | None:
    """The first reason Next.js would not load ``text`` exactly as this module reads it.

    * a ``$`` expansion that never ends, or runs deeper than ``MAX_CHECKED_SUBSTITUTIONS``
      (Node's stack overflows and Next.js ignores the whole file), or grows past
      ``MAX_CHECKED_LENGTH``;
    * a reference to a name the file does not define: Next.js fills it from its own
      environment (the shell, CI, Vercel), so the value depends on where it runs;
    * a reference to a JavaScript built-in name (``$constructor``, ``$hasOwnProperty``...).
    """
    entries = _analyse(text)
    line_of: dict[str, int] = {}
    parsed: dict[str, str] = {}  # dotenv_parse(text), from the same matches
    for entry in entries:
        line_of[entry.key] = entry.line  # the last assignment is the one read
        if entry.key != "__proto__":
            parsed[entry.key] = _as_node_decodes(entry.raw)
    for key, raw in parsed.items():
        for match in _REFERENCE.finditer(raw):
            if stop := _reference_problem(match[2], parsed):
                return LoadProblem(line_of[key], key, stop.problem, stop.fix)

    work = 0
    result = dict(parsed)
    for key in _js_property_order(list(result)):

        def watch(name: str, length: int) -> None:
            nonlocal work
            work += length
            if stop := _reference_problem(name, parsed):
                raise stop
            if work > MAX_CHECKED_WORK:
                raise _Stop(
                    "needs more $ expansion than this wizard checks (over "
                    f"{MAX_CHECKED_WORK >> 20} MB of text)",
                    f"{_ESCAPE_FIX}, or write the values out",
                )

        try:
            value = _interpolate(
                result[key],
                {},
                result,
                max_steps=MAX_CHECKED_SUBSTITUTIONS,
                max_length=MAX_CHECKED_LENGTH,
                on_reference=watch,
            )
        except _Stop as stop:
            return LoadProblem(line_of[key], key, stop.problem, stop.fix)
        except _ExpansionOverflow as overflow:
            return LoadProblem(line_of[key], key, *_runaway(key, parsed[key], overflow))
        result[key] = value.replace("\\$", "$")
    return None


def _runaway(key: str, raw: str, overflow: _ExpansionOverflow) -> tuple[str, str]:
    names = [m[2] for m in _REFERENCE.finditer(raw)]
    via = f" (through ${names[0]})" if names else ""
    if overflow.too_long:
        return (
            f"expands to more than {MAX_CHECKED_LENGTH >> 20} MB{via}, more than this wizard "
            "checks or Next.js handles well",
            f"{_ESCAPE_FIX}, or write the value out",
        )
    if key in names:
        return (
            f"refers to itself (${key}), so it expands without end: Next.js stops with "
            "'Maximum call stack size exceeded' and ignores the whole file",
            _ESCAPE_FIX,
        )
    return (
        f"expands without end, or through more than {MAX_CHECKED_SUBSTITUTIONS:,} nested "
        f"substitutions{via}: Next.js runs out of stack on such a file and ignores all of it",
        f"{_ESCAPE_FIX}, or break the chain of references",
    )


# --- writing --------------------------------------------------------------------------------


def _escape_dollars(value: str) -> str:
    return value.replace("$", "\\$")


# The quote first, then the look behind: a search skips ahead fast.
_BARE = {q: re.compile(re.escape(q) + r"(?<!\\" + re.escape(q) + ")") for q in _QUOTES}
_NOT_PLAIN = re.compile("[" + "".join(re.escape(c) for c in _JS_SPACE + _QUOTES + "#\\") + "]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _has_bare(content: str, quote: str) -> bool:
    """A ``quote`` not right after a backslash (it would end a quoted value early)."""
    return _BARE[quote].search(content) is not None


def _quotable(content: str, quote: str) -> bool:
    """True if ``quote``+content+``quote`` is matched by dotenv's quoted branch wherever it sits.

    The branch is ``q(?:\\\\q|[^q])*q``: a quote inside must follow a backslash, and content
    ending in a backslash would turn the closing quote into an escaped one.
    """
    return not content.endswith("\\") and not _has_bare(content, quote)


def _form_double(value: str) -> str | None:
    if "\\n" in value or "\\r" in value:
        return None  # dotenv would turn these two characters into a line break
    content = _escape_dollars(value).replace("\n", "\\n").replace("\r", "\\r")
    return f'"{content}"' if _quotable(content, '"') else None


def _form_literal(value: str, quote: str) -> str | None:
    if "\r" in value:
        return None  # a CR in the file reads as LF, and only double quotes unescape \r
    content = _escape_dollars(value)
    return f"{quote}{content}{quote}" if _quotable(content, quote) else None


def _form_unquoted(value: str) -> str | None:
    if not value or any(c in value for c in "#\r\n"):
        return None
    if value[0] in _JS_SPACE or value[0] in _QUOTES or value[-1] in _JS_SPACE:
        return None
    return _escape_dollars(value)


def _is_plain(value: str) -> bool:
    """Values that read well unquoted: no spaces, quotes, comment marks or backslashes."""
    return _NOT_PLAIN.search(value) is None


def _form_self_default(key: str, value: str) -> str | None:
    """Unquoted, with leading/trailing spaces or a leading quote supplied by ``${KEY:-...}``."""
    if not _WORD_KEY.fullmatch(key) or not value or any(c in value for c in "#\r\n"):
        return None
    lead_end = 0
    while lead_end < len(value) and (value[lead_end] in _JS_SPACE or value[lead_end] in _QUOTES):
        lead_end += 1
    trail_start = len(value)
    while trail_start > lead_end and value[trail_start - 1] in _JS_SPACE:
        trail_start -= 1
    lead, middle, trail = value[:lead_end], value[lead_end:trail_start], value[trail_start:]
    if not lead and not trail:
        return None
    body = _escape_dollars(middle)
    if trail and body.endswith("\\"):
        return None  # the backslash would escape the reference's $
    # Defaults are never empty: an empty one falls through to the key's own raw text and loops.
    return (
        (f"${{{key}:-{lead}}}" if lead else "") + body + (f"${{{key}:-{trail}}}" if trail else "")
    )


def _reads_back(key: str, line: str, value: str) -> bool:
    """The line alone, followed by a newline, reads as exactly {key: value} in Next.js."""
    matches = list(_LINE.finditer(_normalize_newlines(line + "\n")))
    if len(matches) != 1 or matches[0][1] != key:
        return False
    return parse_value_nextjs(line + "\n") == {key: value}


def _unrepresentable_reason(value: str) -> str:
    needs = []
    if "#" in value:
        needs.append("'#'")
    if "\n" in value or "\r" in value:
        needs.append("a line break")
    if not needs:
        needs.append("leading or trailing spaces or a leading quote")
    blockers = [
        what
        for what, present in (
            ("a carriage return", "\r" in value),
            ("a backslash followed by n or r", "\\n" in value or "\\r" in value),
            ("a trailing backslash", value.endswith("\\")),
            *(
                (f"a {name} not preceded by a backslash", _has_bare(value, q))
                for name, q in (("double quote", '"'), ("single quote", "'"), ("backtick", "`"))
            ),
        )
        if present
    ]
    if len(blockers) > 1:
        blockers[-2:] = [f"{blockers[-2]} and {blockers[-1]}"]
    because = f" because it also has {', '.join(blockers)}" if blockers else ""
    return (
        f"the value needs quotes in a .env file ({', '.join(needs)}), and no quoting lets "
        f"Next.js read it back unchanged{because}. Change the value, or set it in the hosting "
        "provider instead of the .env file"
    )


def _assignment_forms(key: str, value: str) -> Iterator[str]:
    """Every line that carries ``value`` for ``key``, best first, each checked as it is
    needed; raises ``UnrepresentableValue`` up front if there is none."""
    if not _KEY.fullmatch(key) or key == "__proto__":
        raise UnrepresentableValue(
            key, "not a key Next.js reads from .env files (use letters, digits, '_', '.', '-')"
        )
    if "\0" in value:
        raise UnrepresentableValue(
            key, "the value contains a NUL character, which environment variables cannot hold"
        )
    if _SURROGATE.search(value):
        raise UnrepresentableValue(
            key, "the value contains an unpaired UTF-16 surrogate, which UTF-8 cannot encode"
        )
    forms = _checked_forms(key, value)
    first = next(forms, None)
    if first is None:
        raise UnrepresentableValue(key, _unrepresentable_reason(value))
    return itertools.chain([first], forms)


def _checked_forms(key: str, value: str) -> Iterator[str]:
    builders: tuple[Callable[[], str | None], ...] = (
        lambda: _form_unquoted(value) if _is_plain(value) else None,
        lambda: _form_double(value),
        lambda: _form_literal(value, "'"),
        lambda: _form_literal(value, "`"),
        lambda: _form_unquoted(value),
        lambda: _form_self_default(key, value),
    )
    seen: set[str] = set()
    for build in builders:
        body = build()
        if body is None:
            continue
        line = f"{key}={body}"
        if line not in seen and _reads_back(key, line, value):
            seen.add(line)
            yield line


def format_assignment(key: str, value: str) -> str:
    """The ``.env`` text (no trailing newline) that makes Next.js read exactly ``value``.

    Every ``$`` is written ``\\$`` (dotenv-expand unescapes it in all quotings). The result
    may span lines (a value with line breaks that double quotes cannot carry).

    Raises ``UnrepresentableValue`` when the key is not a dotenv key name, or for exactly
    these values:

    * values with a NUL character (``process.env`` cuts it there) or an unpaired surrogate
      (not encodable as UTF-8);
    * values that contain ``#``, LF or CR (so they must be quoted) and that no quoting
      carries: double quotes fail on a ``"`` not preceded by ``\\``, on ``\\n`` or ``\\r`` as
      two characters, and on a trailing ``\\``; single quotes and backticks fail on a CR, on
      their own quote character not preceded by ``\\``, and on a trailing ``\\``;
    * values free of those that still need quoting (leading or trailing whitespace, a leading
      quote, a U+2028/U+2029 line that is itself quoted) where every quoting fails as above
      and the self-reference form is impossible: the key contains ``.`` or ``-``, or the
      trailing whitespace follows a backslash, or (contrived) the value's own text contains
      that ``${KEY:-...}`` reference.

    Examples: ``a#"b'c`d`` (a ``#`` and all three quotes), ``#x\\`` (a ``#`` and a trailing
    backslash), ``"x"`` followed by a CR, ``" C:\\dir\\"`` for a key ``WIN-PATH``.
    """
    return next(_assignment_forms(key, value))


# --- the document ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    key: str
    raw: str  # dotenv's value before expansion (bytes that are not UTF-8 still escaped)
    start: int  # offset in the document text where the key begins
    end: int  # just past the value, or past the separator when there is no value
    line_start: int  # start of the physical line holding the key
    line_end: int  # just past the terminator of the physical line holding ``end``
    line: int  # the number (from 1) of the line holding the key, as an editor counts


def _analyse(text: str) -> list[_Entry]:
    """Every assignment dotenv matches, with offsets into ``text`` itself (CRLF kept)."""
    original_starts = [0]
    normalized_starts = [0]
    for terminator in re.finditer(r"\r\n|\r|\n", text):
        # Lines are identical in both texts; only the terminator shrinks to one LF.
        content_length = terminator.start() - original_starts[-1]
        original_starts.append(terminator.end())
        normalized_starts.append(normalized_starts[-1] + content_length + 1)

    def locate(offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(normalized_starts, offset) - 1
        return line, original_starts[line] + offset - normalized_starts[line]

    def end_of_line(line: int) -> int:
        return original_starts[line + 1] if line + 1 < len(original_starts) else len(text)

    entries = []
    for match in _LINE.finditer(_normalize_newlines(text)):
        key_line, start = locate(match.start(1))
        if match[3] is not None:
            # Spaces before an inline comment belong to it, not to the (trimmed) value.
            value_end = match.end(3) - (len(match[3]) - len(match[3].rstrip(_JS_SPACE)))
        else:
            value_end = match.end(2)
        end_line, end = locate(value_end)
        entries.append(
            _Entry(
                key=match[1],
                raw=_dotenv_value(match[3]),
                start=start,
                end=end,
                line_start=original_starts[key_line],
                line_end=end_of_line(end_line),
                line=key_line + 1,
            )
        )
    return entries


def _signature(entries: list[_Entry]) -> list[tuple[str, str]]:
    return [(e.key, e.raw) for e in entries]


# --- records: a file cut where dotenv's scan provably restarts -------------------------------
#
# Checking an edit by parsing the whole file again costs O(N) per key, O(N^2) to set N keys.
# Most files are a sequence of "records" that dotenv reads independently: blank lines,
# comment lines, and assignments whose value ends on their own line, or, quoted, on a later
# line, with nothing but spaces and a comment after the closing quote. For such a file,
# dotenv's matches are those of each record read alone, in order, because nothing the regex
# does at a record crosses into the next one except runs of whitespace, and every record
# begins (after whitespace) with '#' or a key character: never a quote, '=' or ':', the only
# characters that would let a whitespace run carry a match on. An edit that replaces one
# record by another such record (or appends one) can then be checked on that record alone.
# Files with other lines (garbage, unterminated quotes, a value going on past a quote, a
# U+2028 outside quotes, "KEY:" at the end of a line) are checked whole, as before.

_LT_CHARS = "\n\r\u2028\u2029"
_WS = "[" + "".join(re.escape(c) for c in _JS_SPACE if c not in _LT_CHARS) + "]"
_NOT_LT_CLASS = "[^" + "".join(re.escape(c) for c in _LT_CHARS) + "]"


def _quoted(q: str) -> str:
    # q, then anything but a bare q, never ending on a backslash (it would escape the closing
    # quote), then q: the first bare q closes it, as in dotenv's ``q(?:\\q|[^q])*q``.
    e = re.escape(q)
    return rf"{e}(?:(?>[^{e}\\]+)|\\{e}|\\(?!{e}))*{e}"


_UNQUOTED = (
    "[^"
    + "".join(re.escape(c) for c in _JS_SPACE + _QUOTES + "#")
    + "][^#"
    + "".join(re.escape(c) for c in _LT_CHARS)
    + "]*"
)
_RECORD = re.compile(
    f"{_WS}*(?:#{_NOT_LT_CLASS}*"
    f"|(?:export{_WS}+)?(?P<key>[A-Za-z0-9_.-]+)(?:{_WS}*={_WS}*|:{_WS}+)"
    f"(?:{_quoted(chr(39))}|{_quoted(chr(34))}|{_quoted(chr(96))}|{_UNQUOTED})?"
    f")?{_WS}*(?:#{_NOT_LT_CLASS}*)?(?:\n|\\Z)"
)
_TERMINATOR = re.compile(r"\r\n|\r|\n")


@dataclass
class _Record:
    text: str  # whole lines of the document, terminators as in the file
    entry: _Entry | None  # its one assignment (offsets into ``text``), None for blank/comment


def _record(text: str) -> _Record | None:
    """``text`` (whole lines) as one record, or None when it is not one."""
    normalized = _normalize_newlines(text)
    match = _RECORD.match(normalized)
    if match is None or match.end() != len(normalized):
        return None
    entries = _analyse(text)
    if len(entries) != (0 if match["key"] is None else 1):
        return None
    return _Record(text, entries[0] if entries else None)


def _split_records(text: str) -> list[_Record] | None:
    """The document as records, or None when some part of it is not one."""
    normalized = _normalize_newlines(text)
    original_starts = [0] + [m.end() for m in _TERMINATOR.finditer(text)]
    records: list[_Record] = []
    position = 0  # in ``normalized``
    line = 0
    while position < len(normalized):
        match = _RECORD.match(normalized, position)
        if match is None or match.end() == position:
            return None
        lines = normalized.count("\n", position, match.end())
        if match.end() == len(normalized) and not normalized.endswith("\n"):
            lines += 1  # the last line, without a terminator
        end = original_starts[line + lines] if line + lines < len(original_starts) else len(text)
        record = _record(text[original_starts[line] : end])
        if record is None:
            return None
        records.append(record)
        position, line = match.end(), line + lines
    return records


class EnvDocument:
    """A ``.env`` file as text plus what Next.js reads from it.

    Edits change only the assignments of the keys they touch: comments, blank lines, order,
    ``export`` prefixes, inline comments and unknown keys stay byte for byte, CRLF included.
    Every edit is checked by parsing the result: if the user's own broken lines would make it
    change any other assignment, it raises ``EnvEditConflict`` and changes nothing. For a file
    made of records (see ``_split_records``) the check parses the edited record only, so
    setting N keys costs O(N); other files are parsed whole for every edit.
    """

    def __init__(self, text: str) -> None:
        self._text: str | None = text  # None while ``_records`` holds edits not yet joined
        self._entries: list[_Entry] | None = None
        self._records: list[_Record] | None = None
        self._split_tried = False
        self._last: dict[str, int] = {}  # key -> index of the record of its last assignment

    @classmethod
    def parse(cls, text: str) -> EnvDocument:
        return cls(text)

    @classmethod
    def empty(cls) -> EnvDocument:
        return cls("")

    def __repr__(self) -> str:  # never the values: they are secrets
        return f"EnvDocument(keys={len(self.keys())})"

    def render(self) -> str:
        if self._text is None:
            assert self._records is not None
            self._text = "".join(r.text for r in self._records)
        return self._text

    def _analysis(self) -> list[_Entry]:
        if self._entries is None:
            self._entries = _analyse(self.render())
        return self._entries

    def _split(self) -> list[_Record] | None:
        """The records, cut on first use; None for a file that is not made of records."""
        if not self._split_tried:
            self._split_tried = True
            self._records = _split_records(self.render())
            if self._records is not None:
                for index, record in enumerate(self._records):
                    if record.entry is not None:
                        self._last[record.entry.key] = index
        return self._records

    def _whole(self, text: str, entries: list[_Entry] | None = None) -> None:
        """From now on, a document checked whole (after an edit that is not a record)."""
        self._text, self._entries = text, entries
        self._records, self._split_tried, self._last = None, True, {}

    def keys(self) -> list[str]:
        """The keys Next.js reads from the file, in file order (first occurrence)."""
        return list(dotenv_parse(self.render()))

    def values(self, process_env: Mapping[str, str] | None = None) -> dict[str, str]:
        """What Next.js reads (expanded, ``\\$`` resolved), in file order.

        Expansion sees ``process_env`` (default: empty), as ``process.env`` at load time. Empty
        when Next.js would fail to load the file (see ``load_error``).
        """
        return parse_value_nextjs(self.render(), process_env) or {}

    @property
    def load_error(self) -> str | None:
        """Why Next.js would ignore this whole file, or None when it loads."""
        if parse_value_nextjs(self.render()) is None:
            return (
                "a $ reference in this file expands without end (e.g. KEY=$KEY); Next.js stops "
                "with 'Maximum call stack size exceeded' and ignores the whole file"
            )
        return None

    def load_problem(self) -> LoadProblem | None:
        """Why Next.js would not load this file exactly as the wizard reads it (see
        ``find_load_problem``), or None."""
        return find_load_problem(self.render())

    def get(self, key: str) -> str | None:
        return self.values().get(key)

    def _newline(self) -> str:
        if self._records is not None:
            # Only the last record can lack a terminator: this stops at the first or second.
            for record in self._records:
                first = _TERMINATOR.search(record.text)
                if first is not None:
                    return "\r\n" if first[0] == "\r\n" else "\n"
            return "\n"
        first = _TERMINATOR.search(self.render())
        return "\r\n" if first is not None and first[0] == "\r\n" else "\n"

    def _conflict(self, key: str) -> EnvEditConflict:
        return EnvEditConflict(
            key,
            "the existing file has a line (probably an unterminated quote) that would absorb "
            "this change; fix that line by hand and run again",
        )

    def set(self, key: str, value: str) -> None:
        """Replace the key's effective (last) assignment in place, or append one at the end."""
        forms = _assignment_forms(key, value)  # raises before anything when there is none
        records = self._split()
        for form in forms:
            (line_raw,) = [e.raw for e in _analyse(form + "\n")]
            if records is not None:
                if self._set_record(records, key, form, line_raw):
                    return
            elif self._set_whole(key, form, line_raw):
                return
        raise self._conflict(key)

    def _set_record(self, records: list[_Record], key: str, form: str, line_raw: str) -> bool:
        """Edit one record; an edit that is not a record is checked whole (and then made, the
        document leaving record mode). False: this form does not fit."""
        index = self._last.get(key)
        tail: _Record | None = None
        if index is not None:
            old = records[index]
            assert old.entry is not None
            text = old.text[: old.entry.start] + form + old.text[old.entry.end :]
        else:
            text = form + self._newline()
            last = records[-1] if records else None
            if last is not None and not last.text.endswith(("\n", "\r")):
                tail = _record(last.text + self._newline())
                if tail is None:
                    return self._set_whole(key, form, line_raw)
        record = _record(text)
        if record is None:
            return self._set_whole(key, form, line_raw)
        if record.entry is None or (record.entry.key, record.entry.raw) != (key, line_raw):
            return False  # this record alone already reads otherwise: so would the file
        if index is not None:
            records[index] = record
        else:
            if tail is not None:
                records[-1] = tail
            records.append(record)
            self._last[key] = len(records) - 1
        self._text, self._entries = None, None
        return True

    def _set_whole(self, key: str, form: str, line_raw: str) -> bool:
        """The edit checked by parsing the whole result (and made when it holds)."""
        text = self.render()
        entries = self._analysis()
        before = _signature(entries)
        indices = [i for i, e in enumerate(entries) if e.key == key]
        if indices:
            target = entries[indices[-1]]
            edited = text[: target.start] + form + text[target.end :]
            expected = list(before)
            expected[indices[-1]] = (key, line_raw)
        else:
            edited = text
            if edited and not edited.endswith(("\n", "\r")):
                edited += self._newline()
            edited += form + self._newline()
            expected = [*before, (key, line_raw)]
        after = _analyse(edited)
        if _signature(after) != expected:
            return False
        self._whole(edited, after)
        return True

    def remove(self, key: str) -> None:
        """Remove every assignment of the key: its whole lines when nothing else is on them."""
        records = self._split()
        if records is not None:
            # Each record holds one assignment on lines of its own: dropping whole records
            # leaves records, read as before minus the key.
            if key not in self._last:
                return
            kept = [r for r in records if r.entry is None or r.entry.key != key]
            self._records = kept
            self._last = {r.entry.key: i for i, r in enumerate(kept) if r.entry is not None}
            self._text, self._entries = None, None
            return
        entries = self._analysis()
        doomed = [e for e in entries if e.key == key]
        if not doomed:
            return
        kept_entries = [e for e in entries if e.key != key]
        expected = _signature(kept_entries)
        text = self.render()

        def without(whole_lines: bool) -> str:
            edited = text
            for entry in reversed(doomed):
                shares_line = any(
                    other.start < entry.line_end and other.end > entry.line_start
                    for other in kept_entries
                )
                if whole_lines and not shares_line:
                    edited = edited[: entry.line_start] + edited[entry.line_end :]
                else:
                    edited = edited[: entry.start] + edited[entry.end :]
            return edited

        for candidate in (without(True), without(False)):
            after = _analyse(candidate)
            if _signature(after) == expected:
                self._whole(candidate, after)
                return
        raise self._conflict(key)


def load_env_file(path: Path, *, what: str | None = None, missing_ok: bool = True) -> EnvDocument:
    """The file as a document; a missing file is an empty one.

    Read with ``read_regular``: a link, a device, a FIFO, a directory or a file over its size
    cap raises ``UnsafeFile`` (one line naming ``what``). Bytes that are not UTF-8 are kept as
    they are on rewrite, and read as U+FFFD, as Node does.
    """
    if what is None and path.is_symlink():
        # The project's own file: say why a deliberate link is not followed (read_regular
        # refuses it too, should one appear in between).
        refuse_link(path, what=path.name, hint=_LINK_HINT)
    data = read_regular(path, what=what or path.name, missing_ok=missing_ok)
    if data is None:
        return EnvDocument.empty()
    return EnvDocument.parse(data.decode("utf-8", "surrogateescape"))


def load_checked_env_file(
    path: Path, *, what: str | None = None, missing_ok: bool = True
) -> EnvDocument:
    """``load_env_file``, refusing a file Next.js would not load exactly as the wizard reads it
    (``find_load_problem``): the whole run stops before anything is changed or sent."""
    doc = load_env_file(path, what=what, missing_ok=missing_ok)
    problem = doc.load_problem()
    if problem is not None:
        raise EnvFileRefused(problem.describe(what or path.name) + "; nothing was changed or sent")
    return doc


# Why a deliberate link (a shared file elsewhere) is refused rather than followed or replaced.
_LINK_HINT = (
    "it would have to write secrets where the link points, or silently replace your link "
    "with a regular file; replace the link with a copy of the file if this project should "
    "have its own"
)


def write_env_file(path: Path, doc: EnvDocument) -> None:
    """Write atomically with mode 0600 (whatever mode the old file had); never through or over
    a link (``refuse_link``)."""
    refuse_link(path, what=path.name, hint=_LINK_HINT)
    write_atomic(path, doc.render().encode("utf-8", "surrogateescape"), mode=0o600)
