"""wizard.envfile against the real Next.js loader (@next/env from tests/node, run by node).

Values reach node only inside the .env.production files, never in argv.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wizard import atomic
from wizard.cli import main
from wizard.envfile import (
    MAX_CHECKED_SUBSTITUTIONS,
    EnvDocument,
    EnvEditConflict,
    UnrepresentableValue,
    format_assignment,
    load_env_file,
    parse_value_nextjs,
    write_env_file,
)
from wizard.files import UnsafeFile

NODE_DIR = Path(__file__).parent / "node"
LOADER = NODE_DIR / "nextenv_load.js"
# What process.env holds while @next/env parses the file: node gets only NODE_ENV, and Next.js
# sets __NEXT_PROCESSED_ENV before parsing.
NODE_ENV = {"NODE_ENV": "production"}
PARSE_ENV = {**NODE_ENV, "__NEXT_PROCESSED_ENV": "true"}
JS_SPACE = (
    "\t\n\v\f\r \u00a0\u1680"
    + "".join(chr(c) for c in range(0x2000, 0x200B))
    + "\u2028\u2029\u202f\u205f\u3000\ufeff"
)

PEM = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgevZzL1gdAFr88hb2\n"
    "OF/2NxApJCzGCEDdfSp6VQO30hyhRANCAAQRWz+jn65BtOMvdyHKcvjBeBSDZH2r\n"
    "1RTwjmYSi9R/zpBnuQ4EiMnCqfMPWiZqB4QdbAd0E7oH50VpuZ1P087G\n"
    "-----END PRIVATE KEY-----\n"
)
HOSTILE = [
    "pa$$word",
    "${HOME}",
    "$HOME",
    "x\\$y",
    'a"b',
    "a\\\\b",
    "a\\b",
    "it's",
    PEM,
    PEM.rstrip("\n"),
    PEM.replace("\n", "\\n"),
    "abc#def",
    "#starts",
    "  leading",
    "trailing  ",
    "  both  ",
    "",
    " ",
    "\t",
    "l1\\nl2",
    "l1\nl2",
    "cr\rlf\n",
    "\r\n",
    "`back`",
    "'single'",
    '"double"',
    "'",
    '"',
    "`",
    "$",
    "$$",
    "\\",
    "ends\\",
    " spaced\\",
    "${A:-x}",
    "$&$`$'",
    "\\$",
    "$1",
    "postgres://u:p%40ss@db.example.com:6543/postgres?sslmode=require",
    "https://example.com/#frag",
    "sk_live_abc123",
    "ünïcödé 🎉 テスト",
    "\ufeffbom",
    "line\u2028sep",
    "a\u2028'b'",
    "\u00a0nbsp\u00a0",
    "a=b",
    "export X=1",
    "x # not a comment",
    "{}",
    "}",
    "\\'",
    '\\"',
]


class NextEnv:
    """One long-lived node process running tests/node/nextenv_load.js."""

    def __init__(self, node: str, env: dict[str, str] | None = None) -> None:
        self._proc = subprocess.Popen(
            [node, str(LOADER)],
            cwd=NODE_DIR,
            env=env or NODE_ENV,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )

    def load(self, folder: Path) -> dict[str, Any]:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(f"{folder}\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        assert line, "the node loader exited; run it by hand to see why"
        result: dict[str, Any] = json.loads(line)
        return result

    def read(self, text: str | bytes) -> tuple[dict[str, str] | None, list[list[str]]]:
        """What Next.js reads from a .env.production holding ``text`` (None: file rejected)."""
        with tempfile.TemporaryDirectory() as tmp:
            data = text.encode("utf-8") if isinstance(text, str) else text
            (Path(tmp) / ".env.production").write_bytes(data)
            result = self.load(Path(tmp))
        if result["errors"]:
            return None, []
        (loaded,) = result["files"]
        return dict(loaded["env"]), loaded["env"]

    def close(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        self._proc.wait(timeout=10)


def _node() -> str:
    if not (NODE_DIR / "node_modules" / "@next" / "env" / "package.json").is_file():
        pytest.fail(
            "tests/node/node_modules is missing: run `npm ci --prefix tests/node` "
            "(installs the pinned @next/env these tests check the .env dialect against)"
        )
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: install Node.js 20+, then `npm ci --prefix tests/node`")
    return node


@pytest.fixture(scope="session")
def next_env() -> Iterator[NextEnv]:
    env = NextEnv(_node())
    yield env
    env.close()


# Next.js started from a shell (or CI, or Vercel) whose environment holds names the file uses.
OUTSIDE_ENV = {**NODE_ENV, "UNSET": "set-outside", "LOG_DIR": "/var/log/shell"}


@pytest.fixture(scope="session")
def next_env_outside() -> Iterator[NextEnv]:
    env = NextEnv(_node(), OUTSIDE_ENV)
    yield env
    env.close()


def _bare(value: str, quote: str) -> bool:
    return any(c == quote and (i == 0 or value[i - 1] != "\\") for i, c in enumerate(value))


def documented_unrepresentable_must_quote(value: str) -> bool:
    """format_assignment's docstring, for values holding '#', LF or CR, restated."""
    double_ok = not ("\\n" in value or "\\r" in value or _bare(value, '"') or value.endswith("\\"))
    single_ok = not ("\r" in value or _bare(value, "'") or value.endswith("\\"))
    backtick_ok = not ("\r" in value or _bare(value, "`") or value.endswith("\\"))
    return not (double_ok or single_ok or backtick_ok)


def check_unrepresentable_is_documented(key: str, value: str) -> None:
    if "\0" in value or any("\ud800" <= c <= "\udfff" for c in value):
        return
    if any(c in value for c in "#\r\n"):
        assert documented_unrepresentable_must_quote(value)
        return
    assert documented_unrepresentable_must_quote(value)
    needs_quotes = (
        not value
        or value[0] in JS_SPACE + "'\"`"
        or value[-1] in JS_SPACE
        or "\u2028" in value
        or "\u2029" in value
    )
    assert needs_quotes


def write_and_read(
    next_env: NextEnv, tmp: Path, values: dict[str, str]
) -> tuple[dict[str, str] | None, EnvDocument]:
    doc = EnvDocument.empty()
    for key, value in values.items():
        doc.set(key, value)
    path = tmp / ".env.production"
    write_env_file(path, doc)
    got, _ = next_env.read(path.read_bytes())
    return got, doc


# --- round trips through @next/env ----------------------------------------------------------


def test_hostile_values_read_back_exactly(next_env: NextEnv, tmp_path: Path) -> None:
    values = {f"HOSTILE_{i}": v for i, v in enumerate(HOSTILE)}
    values["dotted.key-name"] = "  needs quotes #1 "
    got, doc = write_and_read(next_env, tmp_path, values)
    assert got == values
    assert doc.values() == values
    assert load_env_file(tmp_path / ".env.production").values() == values


def test_every_dollar_is_escaped() -> None:
    for value in ("pa$$word", "$HOME", "${HOME}", "x$"):
        line = format_assignment("K", value)
        assert line.count("\\$") == value.count("$") == line.count("$")


def test_pem_key_stays_on_one_line() -> None:
    assert "\n" not in format_assignment("PRIVATE_KEY", PEM)


def test_plain_values_are_unquoted() -> None:
    assert format_assignment("DATABASE_URL", HOSTILE[38]) == f"DATABASE_URL={HOSTILE[38]}"


hostile_chars = st.sampled_from(
    [*"$ {}'\"`\\#\n\r\t=:-_.x", "\u2028", "\u2029", "\ufeff", "\u00a0", "é", "🎉", "\0"]
)
any_char = st.characters(exclude_categories=["Cs"])
value_text = st.one_of(
    st.text(alphabet=hostile_chars, max_size=12),
    st.text(alphabet=st.one_of(hostile_chars, any_char), max_size=30),
    st.text(alphabet=st.sampled_from(list("ab1 $\\'\"#")), max_size=8),
    st.sampled_from(HOSTILE),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(value_text, min_size=25, max_size=50), st.booleans())
def test_random_values_read_back_exactly(
    next_env: NextEnv, values: list[str], dotted: bool
) -> None:
    wanted: dict[str, str] = {}
    for i, value in enumerate(values):
        key = f"k.{i}-x" if dotted and i % 3 == 0 else f"KEY_{i}"
        try:
            format_assignment(key, value)
        except UnrepresentableValue as exc:
            assert exc.key == key
            check_unrepresentable_is_documented(key, value)
            continue
        if any(c in value for c in "#\r\n"):
            assert not documented_unrepresentable_must_quote(value)
        wanted[key] = value
    if not wanted:
        return
    with tempfile.TemporaryDirectory() as tmp:
        got, doc = write_and_read(next_env, Path(tmp), wanted)
        assert got == wanted
        assert doc.values() == wanted
        assert stat.S_IMODE((Path(tmp) / ".env.production").stat().st_mode) == 0o600


# --- our parser against @next/env on arbitrary files ----------------------------------------

KEYS = ["A", "B", "C", "D_1", "a.b", "x-y", "0", "7", "12", "__proto__", "export", "NODE_ENV"]
REFS = ["A", "B", "C", "D_1", "NODE_ENV", "UNSET", "__NEXT_PROCESSED_ENV"]
tokens = st.one_of(
    st.sampled_from(
        [
            "'",
            '"',
            "`",
            "#",
            "\\",
            "\\n",
            "\\r",
            "\\$",
            "$",
            " ",
            "\t",
            "x",
            "1",
            "é",
            "\u2028",
            "\ufeff",
            "$&",
            "$`",
            ":-",
            "}",
            "{",
            "\n",
        ]
    ),
    st.sampled_from(REFS).map(lambda r: f"${r}"),
    st.sampled_from(REFS).map(lambda r: f"${{{r}}}"),
    st.sampled_from(REFS).map(lambda r: f"${{{r}:-d}}"),
)
assignment = st.builds(
    lambda prefix, key, sep, value: prefix + key + sep + "".join(value),
    st.sampled_from(["", " ", "\t", "export ", "export\t", "  export  "]),
    st.sampled_from(KEYS),
    st.sampled_from(["=", " = ", "= ", ": ", ":", " :\t", "=\t"]),
    st.lists(tokens, max_size=8),
)
other_line = st.sampled_from(["", "# comment", "  # A=1", "garbage", " ", "=x", "A", "'"])
file_text = st.builds(
    lambda lines, terminators, final: "".join(
        line + terminators[i % len(terminators)] for i, line in enumerate(lines)
    )[: None if final else -1],
    st.lists(st.one_of(assignment, assignment, other_line), min_size=1, max_size=10),
    st.lists(st.sampled_from(["\n", "\n", "\r\n", "\r"]), min_size=1, max_size=3),
    st.booleans(),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    file_text, st.sampled_from([k for k in KEYS if k not in ("__proto__", "NODE_ENV")]), value_text
)
def test_parser_and_edits_agree_with_nextjs(
    next_env: NextEnv, next_env_outside: NextEnv, text: str, key: str, value: str
) -> None:
    ours = parse_value_nextjs(text, PARSE_ENV)
    # A runaway expansion (ours is None) can take node seconds of exponential string growth
    # before its stack overflows: test_runaway_expansion_drops_the_file_like_nextjs covers it.
    if ours is not None:
        theirs, order = next_env.read(text)
        assert ours == theirs
        assert [k for k, _ in order] == _js_order(list(ours))
    # A file the wizard accepts reads the same in Next.js wherever it runs; the others are
    # refused, and all those Next.js drops among them.
    if EnvDocument.parse(text).load_problem() is None:
        assert ours is not None
        theirs_outside, _ = next_env_outside.read(text)
        assert theirs_outside == ours

    doc = EnvDocument.parse(text)
    try:
        doc.set(key, value)
    except (UnrepresentableValue, EnvEditConflict):
        assert doc.render() == text
        return
    edited = doc.render()
    ours_after = parse_value_nextjs(edited, PARSE_ENV)
    if ours_after is not None:
        theirs_after, _ = next_env.read(edited)
        assert ours_after == theirs_after
        assert ours_after[key] == value


def _js_order(keys: list[str]) -> list[str]:
    def is_index(k: str) -> bool:
        return k.isdigit() and str(int(k)) == k

    return sorted((k for k in keys if is_index(k)), key=int) + [k for k in keys if not is_index(k)]


def test_bytes_that_are_not_utf8_read_like_node(next_env: NextEnv, tmp_path: Path) -> None:
    data = b"A=\xff\xfeok\nB=${A}\xc3\nC='\xe2\x82'\nD=\xc3${C}\xa9\n"
    path = tmp_path / ".env.production"
    path.write_bytes(data)
    theirs, _ = next_env.read(data)
    doc = load_env_file(path)
    assert doc.values(PARSE_ENV) == theirs
    doc.set("E", "new")
    write_env_file(path, doc)
    assert path.read_bytes() == data + b"E=new\n"


def test_runaway_expansion_drops_the_file_like_nextjs(next_env: NextEnv) -> None:
    for text in ("A=$A\n", "A=x$A\n", "B=$&\nA=$B\nOK=1\n", "A=${A:-}\n"):
        theirs, _ = next_env.read(text)
        assert theirs is None
        doc = EnvDocument.parse(text)
        assert doc.values() == {}
        assert doc.load_error is not None
    assert EnvDocument.parse("A=1\n").load_error is None


# --- editing keeps the user's file ----------------------------------------------------------

USER_FILE = (
    "# Production settings\r\n"
    "\r\n"
    "export DATABASE_URL=postgres://old  # the pooler\r\n"
    "UNKNOWN_KEY='keep me'\r\n"
    "  # indented comment\r\n"
    'MULTI="line one\r\n'
    'line two"\r\n'
    "DUP=first\r\n"
    "STRIPE_SECRET_KEY: sk_old\r\n"
    "DUP=second\r\n"
    "TAIL=$DUP"
)


def test_set_changes_only_the_assignment(next_env: NextEnv) -> None:
    doc = EnvDocument.parse(USER_FILE)
    doc.set("DATABASE_URL", "postgres://new")
    doc.set("STRIPE_SECRET_KEY", "sk_$new")
    doc.set("MULTI", "one line")
    doc.set("DUP", "third")
    doc.set("NEW_KEY", "a b")
    assert doc.render() == (
        "# Production settings\r\n"
        "\r\n"
        "export DATABASE_URL=postgres://new  # the pooler\r\n"
        "UNKNOWN_KEY='keep me'\r\n"
        "  # indented comment\r\n"
        'MULTI="one line"\r\n'
        "DUP=first\r\n"
        "STRIPE_SECRET_KEY=sk_\\$new\r\n"
        "DUP=third\r\n"
        "TAIL=$DUP\r\n"
        'NEW_KEY="a b"\r\n'
    )
    expected = {
        "DATABASE_URL": "postgres://new",
        "UNKNOWN_KEY": "keep me",
        "MULTI": "one line",
        "DUP": "third",
        "STRIPE_SECRET_KEY": "sk_$new",
        "TAIL": "third",
        "NEW_KEY": "a b",
    }
    assert doc.values() == expected
    assert list(doc.values()) == list(expected)
    assert doc.keys() == list(expected)
    assert doc.get("TAIL") == "third"
    assert doc.get("MISSING") is None
    theirs, _ = next_env.read(doc.render())
    assert theirs == {**expected, "TAIL": "third"}


def test_set_keeps_an_inline_comment() -> None:
    doc = EnvDocument.parse("A=1\nB='two words' # why\n")
    doc.set("B", "two words")
    assert doc.render() == 'A=1\nB="two words" # why\n'
    assert doc.values() == {"A": "1", "B": "two words"}


def test_remove_takes_whole_lines_and_keeps_the_rest() -> None:
    doc = EnvDocument.parse(USER_FILE)
    doc.remove("DUP")
    doc.remove("MULTI")
    doc.remove("NOT_THERE")
    assert doc.render() == (
        "# Production settings\r\n"
        "\r\n"
        "export DATABASE_URL=postgres://old  # the pooler\r\n"
        "UNKNOWN_KEY='keep me'\r\n"
        "  # indented comment\r\n"
        "STRIPE_SECRET_KEY: sk_old\r\n"
        "TAIL=$DUP"
    )
    assert doc.keys() == ["DATABASE_URL", "UNKNOWN_KEY", "STRIPE_SECRET_KEY", "TAIL"]
    assert doc.get("TAIL") == ""


def test_append_after_a_file_without_final_newline() -> None:
    doc = EnvDocument.parse("A=1")
    doc.set("B", "2")
    assert doc.render() == "A=1\nB=2\n"
    empty = EnvDocument.empty()
    empty.set("A", "")
    assert empty.render() == 'A=""\n'
    assert empty.values() == {"A": ""}


def test_edit_that_an_unterminated_quote_would_swallow_is_refused() -> None:
    text = 'A="open\n'
    doc = EnvDocument.parse(text)
    with pytest.raises(EnvEditConflict) as caught:
        doc.set("B", 'x "# y')
    assert caught.value.key == "B"
    assert doc.render() == text


def test_unrepresentable_values_name_the_key_and_not_the_value() -> None:
    for value in ("#sec\\", "sec#\"'`", "sec\0ret", "sec\ud800", "secret\r'\"`\n"):
        with pytest.raises(UnrepresentableValue) as caught:
            format_assignment("MY_KEY", value)
        assert caught.value.key == "MY_KEY"
        assert str(caught.value).startswith("MY_KEY: ")
        assert "sec" not in str(caught.value)
    with pytest.raises(UnrepresentableValue):
        format_assignment("BAD KEY", "x")
    with pytest.raises(UnrepresentableValue):
        format_assignment("__proto__", "x")


def test_leading_space_with_trailing_backslash_uses_a_self_default(next_env: NextEnv) -> None:
    line = format_assignment("WIN_PATH", " C:\\dir\\")
    assert line == "WIN_PATH=${WIN_PATH:- }C:\\dir\\"
    theirs, _ = next_env.read(line + "\n")
    assert theirs == {"WIN_PATH": " C:\\dir\\"}
    with pytest.raises(UnrepresentableValue):
        format_assignment("WIN-PATH", " C:\\dir\\")


def test_repr_shows_no_values() -> None:
    assert "hunter2" not in repr(EnvDocument.parse("PASSWORD=hunter2\n"))


# --- files ---------------------------------------------------------------------------------


def test_load_missing_file_is_empty(tmp_path: Path) -> None:
    doc = load_env_file(tmp_path / ".env.production")
    assert doc.render() == ""
    assert doc.values() == {}


def test_write_makes_0600_over_a_0644_file(tmp_path: Path) -> None:
    path = tmp_path / ".env.production"
    path.write_text("A=1\n")
    path.chmod(0o644)
    doc = load_env_file(path)
    doc.set("B", "2")
    write_env_file(path, doc)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == "A=1\nB=2\n"
    assert sorted(os.listdir(tmp_path)) == [".env.production"]


def test_write_atomic_honours_the_mode_past_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        atomic.write_atomic(tmp_path / "public.txt", "x", mode=0o644)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "public.txt").stat().st_mode) == 0o644


@pytest.mark.parametrize("failing", ["replace", "fsync", "write"])
def test_failed_write_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    path = tmp_path / ".env.production"
    path.write_text("A=old\n")

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, failing, boom)
    doc = EnvDocument.parse("A=new\n")
    with pytest.raises(OSError, match="disk full"):
        write_env_file(path, doc)
    monkeypatch.undo()
    assert path.read_text() == "A=old\n"
    assert sorted(os.listdir(tmp_path)) == [".env.production"]


def test_write_refuses_a_symlink_and_leaves_it(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text("untouched")
    link = tmp_path / ".env.production"
    link.symlink_to(elsewhere)
    with pytest.raises(UnsafeFile, match="symbolic link"):
        write_env_file(link, EnvDocument.parse("A=1\n"))
    with pytest.raises(UnsafeFile, match="symbolic link"):
        atomic.write_atomic(link, "A=1\n")
    assert link.is_symlink() and os.readlink(link) == str(elsewhere)
    assert elsewhere.read_text() == "untouched"
    assert sorted(os.listdir(tmp_path)) == [".env.production", "elsewhere"]


# --- a file Next.js would not load exactly as we read it stops everything (issue 12, 2) ------

VERCEL_TOKEN = "vercel_envfile_TOKEN_0c4e8a2f6b1d"
TEAM = "team_envfile"


def cli(project: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """``wizard.cli.main`` as a user runs it: exit code, stdout, stderr."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        for key, value in (env or {}).items():
            mp.setenv(key, value)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([*args[:1], "--project-dir", str(project), *args[1:]])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def vercel(tmp_path: Path) -> Iterator[tuple[Any, dict[str, str]]]:
    """A Vercel stand-in the run would push to: it must receive no request at all."""
    from tests.fakes.vercel import FakeVercel

    with FakeVercel(VERCEL_TOKEN) as fake:
        fake.add_project("dream-pixel", team_id=TEAM)
        env = {
            "VERCEL_TOKEN": VERCEL_TOKEN,
            "VERCEL_ORG_ID": TEAM,
            "VERCEL_PROJECT_ID": "dream-pixel",
            "VERCEL_API_URL": fake.url,
            "NO_COLOR": "1",
        }
        yield fake, env


# Each: a file, the line and key named, and what Next.js (the real @next/env) does with it.
REFUSED = [
    # The example: Next.js drops the whole file (stack overflow).
    ("NEXTAUTH_URL=https://x.example\nLOG_DIR=$LOG_DIR/app\n", 2, "LOG_DIR", "rejects"),
    ("A=1\nB=${C}\nC=x$B\n", 2, "B", "rejects"),  # a loop through two keys
    ("A=$hasOwnProperty\n", 1, "A", "rejects"),  # a built-in Next.js calls and fails on
    ("A=ok\nB=x$constructor\n", 2, "B", "differs"),  # read as "x[object global]"
    ("A=${UNSET}/x\n", 1, "A", "differs"),  # whatever the shell or CI holds
    ("A=${UNSET:-fallback}\n", 1, "A", "differs"),
    ("# logs\nLOG=${LOG_DIR}/app\n", 2, "LOG", "differs"),
    ("A=x\nB=$NODE_ENV\n", 2, "B", "differs"),  # "production" in Next.js, not the file's
]


@pytest.mark.parametrize(("text", "line", "key", "nextjs"), REFUSED)
def test_what_is_refused_is_what_nextjs_rejects_or_reads_otherwise(
    next_env: NextEnv, next_env_outside: NextEnv, text: str, line: int, key: str, nextjs: str
) -> None:
    problem = EnvDocument.parse(text).load_problem()
    assert problem is not None and (problem.line, problem.key) == (line, key)
    ours = EnvDocument.parse(text).values()
    if nextjs == "rejects":
        assert next_env.read(text)[0] is None
    else:
        theirs, _ = next_env_outside.read(text)
        assert theirs is not None and theirs != ours


def test_deep_chains_are_refused_well_before_nodes_stack_ends(next_env: NextEnv) -> None:
    def chain(n: int) -> str:
        return "".join(f"A{i}=$A{i + 1}\n" for i in range(n)) + f"A{n}=end\n"

    # Node overflows somewhere between 4,000 and 5,000 nested substitutions (V8's frames):
    # the wizard refuses from 1,000 on, far from where it could guess wrong.
    assert next_env.read(chain(6000))[0] is None
    assert next_env.read(chain(MAX_CHECKED_SUBSTITUTIONS))[0] is not None
    problem = EnvDocument.parse(chain(MAX_CHECKED_SUBSTITUTIONS + 1)).load_problem()
    assert problem is not None and problem.key == "A0" and "substitutions" in problem.problem
    assert EnvDocument.parse(chain(MAX_CHECKED_SUBSTITUTIONS - 1)).load_problem() is None
    # Doubling values grow past what V8 or this check handles: refused, not computed.
    doubling = "A=" + "x" * 64 + "\n" + "".join(f"B{i}=$B{i - 1}$B{i - 1}\n" for i in range(1, 30))
    doubling = doubling.replace("$B0", "$A")
    problem = EnvDocument.parse(doubling).load_problem()
    assert problem is not None and "MB" in problem.problem


def test_files_the_wizard_accepts_read_the_same_everywhere(next_env_outside: NextEnv) -> None:
    text = (
        "A=1\nB=${A}x\nC=\\$UNSET\nW=${W:- }padded\nD=$B$B\nDATA_DIR=/srv/data\n"
        "E=${DATA_DIR}/app\nF='single $A'\nG=\"$E\"\n"
    )
    doc = EnvDocument.parse(text)
    assert doc.load_problem() is None
    theirs, _ = next_env_outside.read(text)
    assert theirs == doc.values(PARSE_ENV)


@pytest.mark.parametrize("command", [["plan"], ["apply", "--yes"], ["--plain"]])
def test_refused_file_stops_plan_apply_and_the_wizard_before_anything(
    tmp_path: Path, vercel: tuple[Any, dict[str, str]], command: list[str]
) -> None:
    fake, env = vercel
    project = tmp_path / "app"
    project.mkdir()
    text = "# production\r\nNEXTAUTH_URL=https://x.example\r\nLOG_DIR=$LOG_DIR/app\r\nOK=1\r\n"
    env_file = project / ".env.production"
    env_file.write_bytes(text.encode())
    env_file.chmod(0o644)
    before = env_file.stat()
    if command[0] != "--plain":
        command = [*command, "--only", "secrets,env-file,vercel"]
    code, _, err = cli(project, *command, env=env)
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: .env.production line 3: LOG_DIR refers to itself")
    assert "escape it as \\$" in lines[0] and "nothing was changed or sent" in lines[0]
    assert env_file.read_bytes() == text.encode()
    after = env_file.stat()
    assert (after.st_mtime_ns, after.st_ino, stat.S_IMODE(after.st_mode)) == (
        before.st_mtime_ns,
        before.st_ino,
        0o644,
    )
    assert sorted(os.listdir(project)) == [".env.production"]  # no state, no .gitignore
    assert fake.requests() == []


def test_refused_file_leaves_status_and_reset_working(tmp_path: Path) -> None:
    env_file = tmp_path / ".env.production"
    env_file.write_text("LOG_DIR=$LOG_DIR/app\n")
    assert cli(tmp_path, "status")[0] == 0
    assert cli(tmp_path, "reset", "--yes")[0] == 0
    assert env_file.read_text() == "LOG_DIR=$LOG_DIR/app\n"


def test_refused_env_file_input_names_its_line(tmp_path: Path) -> None:
    given = tmp_path / "given.env"
    given.write_text("# from the vault\nSENTRY_AUTH_TOKEN=abc\nSTRIPE_SECRET_KEY=sk_live_$HOME\n")
    code, _, err = cli(tmp_path, "plan", "--env-file", str(given))
    assert code == 1
    assert err.strip().splitlines() == [
        f"error: --env-file {given} line 3: STRIPE_SECRET_KEY refers to $HOME, which this file "
        "does not set: Next.js then reads it from the environment it runs in, which this "
        "wizard cannot see — if the $ is meant literally, escape it as \\$ (\\$HOME), or define "
        "HOME in the file; nothing was changed or sent"
    ]
    assert not (tmp_path / ".env.production").exists()


# --- only regular files, never through a link (issue 12, point 5) ---------------------------


def cli_process(project: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The installed entry point in a child process: a hang fails the test (timeout)."""
    import sys

    return subprocess.run(
        [sys.executable, "-m", "wizard", "--project-dir", str(project), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "NO_COLOR": "1"},
        stdin=subprocess.DEVNULL,
        check=False,
    )


@pytest.mark.parametrize("command", [["plan"], ["apply", "--yes"]])
def test_env_file_linked_outside_is_refused_and_left_alone(
    tmp_path: Path, home: Path, vercel: tuple[Any, dict[str, str]], command: list[str]
) -> None:
    fake, env = vercel
    bashrc = home / ".bashrc"
    bashrc.write_text("export GITHUB_TOKEN=ghp_fromTheBashrc0123456789\nalias ll='ls -l'\n")
    shared = tmp_path / "shared" / "prod.env"  # a deliberate link to a shared file
    shared.parent.mkdir()
    shared.write_text("NEXTAUTH_URL=https://x.example\n")
    for target in (bashrc, shared):
        project = tmp_path / f"app-{target.name}"
        project.mkdir()
        link = project / ".env.production"
        link.symlink_to(target)
        before = target.read_bytes()
        code, out, err = cli(project, *command, "--only", "secrets,env-file,vercel", env=env)
        assert code == 1
        (line,) = err.strip().splitlines()
        assert line.startswith(f"error: .env.production is a symbolic link to {target}; ")
        assert "silently replace your link with a regular file" in line
        assert "ghp_" not in out + err
        assert link.is_symlink() and os.readlink(link) == str(target)
        assert target.read_bytes() == before
    assert fake.requests() == []


def test_env_file_link_to_a_device_or_a_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    zero = tmp_path / "zero"
    zero.mkdir()
    (zero / ".env.production").symlink_to("/dev/zero")
    proc = cli_process(zero, "plan")
    assert proc.returncode == 1
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error: .env.production is a symbolic link to /dev/zero; ")

    fifo = tmp_path / "fifo"
    fifo.mkdir()
    os.mkfifo(fifo / ".env.production")
    proc = cli_process(fifo, "apply", "--yes")
    assert proc.returncode == 1
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error: .env.production is a named pipe (FIFO), not a regular file")
    assert stat.S_ISFIFO(os.lstat(fifo / ".env.production").st_mode)


@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "directory", "link", "missing", "huge"])
def test_env_file_option_takes_only_a_regular_file(tmp_path: Path, home: Path, kind: str) -> None:
    project = tmp_path / "app"
    project.mkdir()
    given = tmp_path / "given.env"
    expected = {
        "dev-zero": "is a device, not a regular file",
        "fifo": "is a named pipe (FIFO), not a regular file",
        "directory": "is a directory",
        "link": f"is a symbolic link to {home / '.bashrc'}",
        "missing": "no such file",
        "huge": "more than the 4096 KB this wizard reads",
    }[kind]
    if kind == "dev-zero":
        given = Path("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(given)
    elif kind == "directory":
        given.mkdir()
    elif kind == "link":
        (home / ".bashrc").write_text("export GITHUB_TOKEN=ghp_fromTheBashrc0123456789\n")
        given.symlink_to(home / ".bashrc")
    elif kind == "huge":
        given.write_bytes(b"A=" + b"x" * (5 << 20) + b"\n")
    proc = cli_process(project, "plan", "--env-file", str(given), timeout=30)
    assert proc.returncode == 1
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"error: --env-file {given}")
    assert expected in line
    assert "ghp_" not in proc.stdout + proc.stderr
    assert sorted(os.listdir(project)) == []


def test_gitignore_link_is_refused_and_left_alone(tmp_path: Path) -> None:
    shared = tmp_path / "global-gitignore"
    shared.write_text("node_modules/\n")
    project = tmp_path / "app"
    project.mkdir()
    (project / ".gitignore").symlink_to(shared)
    code, _, err = cli(project, "apply", "--yes", "--only", "secrets,env-file", "--set", "X=1")
    assert code == 1
    (line,) = err.strip().splitlines()
    assert line.startswith(f"error: .gitignore is a symbolic link to {shared}")
    assert shared.read_text() == "node_modules/\n"
    assert (project / ".gitignore").is_symlink()
    assert not (project / ".env.production").exists()


# --- never write secrets into a file git tracks (issue 12, point 6) --------------------------


def git(project: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=project,
        check=True,
        capture_output=True,
    )


def test_tracked_env_file_is_refused_with_how_to_untrack(tmp_path: Path) -> None:
    project = tmp_path / "app"
    project.mkdir()
    git(project, "init", "-q")
    env_file = project / ".env.production"
    text = "# committed by mistake\nOLD_TOKEN=committed-secret-value\n"
    env_file.write_text(text)
    git(project, "add", ".env.production")
    git(project, "commit", "-q", "-m", "oops")
    want = "GOOD_VALUE=1"

    code, out, err = cli(project, "plan", "--only", "secrets,env-file", "--set", want)
    assert code == 1
    problem = next(line for line in err.splitlines() if "tracked by git" in line)
    assert "git rm --cached .env.production" in problem and "rotate" in problem
    assert "committed-secret-value" not in out + err

    code, _, err = cli(project, "apply", "--yes", "--only", "secrets,env-file", "--set", want)
    assert code == 1 and "git rm --cached .env.production" in err
    assert env_file.read_text() == text
    assert not (project / ".gitignore").exists()

    # Untracked (the fix the message gives), the same run goes through.
    git(project, "rm", "-q", "--cached", ".env.production")
    code, _, err = cli(project, "apply", "--yes", "--only", "secrets,env-file", "--set", want)
    assert code == 0, err
    assert load_env_file(env_file).values()["GOOD_VALUE"] == "1"


# --- editing costs O(N): records checked alone agree with whole-file checks (issue 12, 12) ---

record_line = st.one_of(
    st.sampled_from(["", " ", "\t", "# c", "  # c 'x' \"y\"", "\ufeff", "\u00a0# nbsp"]),
    st.builds(
        lambda prefix, key, sep, value, comment: prefix + key + sep + value + comment,
        st.sampled_from(["", " ", "export ", "\texport\t"]),
        st.sampled_from(["A", "B", "C", "a.b", "x-y", "7", "export", "__proto__"]),
        st.sampled_from(["=", " = ", ": ", "=\t", ":", "= "]),
        st.one_of(
            st.sampled_from(
                [
                    "",
                    "x",
                    "x y",
                    "'q'",
                    '"d"',
                    "`b`",
                    "'a\\'b'",
                    '"l1\nl2"',
                    "'l1\n\nl2'",
                    "`a\nb`",
                    '"open',
                    "'x' y",
                    "x\u2028y",
                    '"\u2028"',
                    "\\$X",
                    "a#b",
                    "'",
                    '"x\\"',
                ]
            ),
            st.text(alphabet=st.sampled_from(list("ab $\\'\"#=:\n")), max_size=6),
        ),
        st.sampled_from(["", " # why", "#x", "  "]),
    ),
    st.sampled_from(["garbage", "=x", "'", "A", "export", "export\n=1", ":"]),
)
record_text = st.builds(
    lambda lines, terminator, final: terminator.join(lines) + (terminator if final else ""),
    st.lists(record_line, min_size=0, max_size=12),
    st.sampled_from(["\n", "\r\n", "\r"]),
    st.booleans(),
)
edit = st.one_of(
    st.tuples(st.just("set"), st.sampled_from(["A", "B", "C", "a.b", "NEW", "N2"]), value_text),
    st.tuples(st.just("remove"), st.sampled_from(["A", "B", "NEW"]), st.just("")),
)


def _whole_document(text: str) -> EnvDocument:
    doc = EnvDocument.parse(text)
    doc._whole(text)  # every edit checked by parsing the whole file: the reference
    return doc


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(record_text, file_text), st.lists(edit, min_size=1, max_size=6))
def test_record_checks_make_the_same_edits_as_whole_file_checks(
    text: str, edits: list[tuple[str, str, str]]
) -> None:
    fast, reference = EnvDocument.parse(text), _whole_document(text)
    for action, key, value in edits:
        outcomes = []
        for doc in (fast, reference):
            try:
                if action == "set":
                    doc.set(key, value)
                else:
                    doc.remove(key)
                outcomes.append("ok")
            except (UnrepresentableValue, EnvEditConflict) as exc:
                outcomes.append(type(exc).__name__)
        assert outcomes[0] == outcomes[1]
        assert fast.render() == reference.render()
        assert fast.values(PARSE_ENV) == reference.values(PARSE_ENV)


def test_typical_files_are_edited_record_by_record(monkeypatch: pytest.MonkeyPatch) -> None:
    import wizard.envfile as envfile

    text = (
        "# Production\r\n\r\nexport DATABASE_URL=postgres://old  # pooler\r\n"
        "PEM=\"-----BEGIN-----\r\nabc\r\n-----END-----\"\r\nQUOTED='a b'\r\nEMPTY=\r\n"
        "SPACED: x\r\nLAST=1"
    )
    doc = EnvDocument.parse(text)
    whole_parses = 0
    real = envfile._analyse

    def counting(t: str) -> list[Any]:
        nonlocal whole_parses
        if len(t) >= len(text):
            whole_parses += 1
        return real(t)

    monkeypatch.setattr(envfile, "_analyse", counting)
    for i in range(200):
        doc.set(f"KEY_{i}", f"value {i} #{i}")
    doc.set("DATABASE_URL", "postgres://new")
    doc.set("PEM", "one line")
    doc.set("LAST", "2")
    doc.remove("QUOTED")
    assert whole_parses == 0  # no edit parsed the whole file
    rendered = doc.render()
    assert rendered.startswith(
        "# Production\r\n\r\nexport DATABASE_URL=postgres://new  # pooler\r\n"
        'PEM="one line"\r\nEMPTY=\r\nSPACED: x\r\nLAST=2\r\nKEY_0="value 0 #0"\r\n'
    )
    monkeypatch.undo()
    reference = _whole_document(text)
    for i in range(200):
        reference.set(f"KEY_{i}", f"value {i} #{i}")
    reference.set("DATABASE_URL", "postgres://new")
    reference.set("PEM", "one line")
    reference.set("LAST", "2")
    reference.remove("QUOTED")
    assert reference.render() == rendered
