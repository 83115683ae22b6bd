"""Loading sqitch scripts the way psql would read them, and running them.

sqitch hands each script to `psql --file` with ON_ERROR_STOP. Here the text is
sent as one simple-query string instead, so anything psql would have handled
itself must be dealt with first:

- `\\i` / `\\include` (relative to the project directory, psql's working
  directory under sqitch) and `\\ir` / `\\include_relative` (relative to the
  including script) are inlined;
- any other meta-command is refused, naming the script and line, because
  sending it to the server would run something else than psql runs;
- `:name`, `:'name'` and `:"name"` are replaced for the variables sqitch sets
  (`registry` and the configured `*.variables`), as psql would.

Backslashes and colons only mean this outside string literals, quoted
identifiers, dollar quotes and comments, so the text is lexed like psql does.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from agentledger.errors import ScriptError

INCLUDE = {"i", "include"}
INCLUDE_RELATIVE = {"ir", "include_relative"}

_IDENT = re.compile(r"[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_$\u0080-\U0010ffff]*")
_NUMBER = re.compile(r"[0-9][0-9A-Za-z_.]*")
_DOLLAR_QUOTE = re.compile(r"\$(?:[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_\u0080-\U0010ffff]*)?\$")
_VARIABLE = re.compile(
    r":(?:(?P<bare>[A-Za-z0-9_\u0080-\U0010ffff]+)"
    r"|'(?P<lit>[A-Za-z0-9_\u0080-\U0010ffff]+)'"
    r"|\"(?P<ident>[A-Za-z0-9_\u0080-\U0010ffff]+)\")"
)
_META_NAME = re.compile(r"[^\s\\]*")


@dataclass
class _Segment:
    out_start: int
    path: Path
    file_start: int
    file_text: str = field(repr=False)
    verbatim: bool = True


@dataclass
class LoadedScript:
    path: Path
    sql: str
    segments: list[_Segment]

    def locate(self, position: int) -> tuple[Path, int]:
        """File and line of a 1-based character position in `sql` (as the server reports)."""
        offset = max(position - 1, 0)
        starts = [s.out_start for s in self.segments]
        idx = bisect.bisect_right(starts, offset) - 1
        if idx < 0:
            return self.path, 1
        seg = self.segments[idx]
        file_offset = seg.file_start + (offset - seg.out_start if seg.verbatim else 0)
        return seg.path, seg.file_text.count("\n", 0, file_offset) + 1


def quote_literal(value: str) -> str:
    """As psql's :'var': a standard string, or an E'' string when it holds backslashes."""
    quoted = value.replace("'", "''")
    if "\\" in value:
        return " E'" + quoted.replace("\\", "\\\\") + "'"
    return "'" + quoted + "'"


def quote_ident(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


class _Loader:
    def __init__(self, project_root: Path, variables: dict[str, str], show: Callable[[Path], str]):
        self.project_root = project_root
        self.variables = variables
        self.show = show
        self.parts: list[str] = []
        self.length = 0
        self.segments: list[_Segment] = []
        self.stack: list[Path] = []

    def emit(self, piece: str, path: Path, file_start: int, file_text: str, verbatim: bool = True) -> None:
        if not piece:
            return
        self.segments.append(_Segment(self.length, path, file_start, file_text, verbatim))
        self.parts.append(piece)
        self.length += len(piece)

    def load(self, path: Path) -> None:
        resolved = path.resolve()
        if resolved in self.stack:
            chain = " -> ".join(self.show(p) for p in [*self.stack, resolved])
            raise ScriptError(f"include cycle: {chain}")
        try:
            text = path.read_bytes().decode("utf-8")
        except FileNotFoundError:
            raise ScriptError(f"script {self.show(path)} does not exist") from None
        except UnicodeDecodeError as exc:
            raise ScriptError(f"script {self.show(path)} is not valid UTF-8: {exc}") from None
        self.stack.append(resolved)
        self._lex(path, text)
        self.stack.pop()

    def _lex(self, path: Path, text: str) -> None:
        n = len(text)
        i = 0
        start = 0  # beginning of text not yet emitted

        while i < n:
            c = text[i]
            if c == "-" and text.startswith("--", i):
                end = text.find("\n", i)
                i = n if end < 0 else end
            elif c == "/" and text.startswith("/*", i):
                i = _skip_block_comment(text, i)
            elif c == "'":
                i = _skip_string(text, i, escapes=False)
            elif c == '"':
                i = _skip_quoted_identifier(text, i)
            elif c == "$":
                match = _DOLLAR_QUOTE.match(text, i)
                if match:
                    close = text.find(match.group(0), match.end())
                    i = n if close < 0 else close + len(match.group(0))
                else:
                    i += 1
            elif c == "_" or c.isalpha() or ord(c) >= 0x80:
                match = _IDENT.match(text, i)
                i = match.end() if match else i + 1
                # E'...' is the one string form where a backslash escapes a quote.
                if match and match.group(0) in ("E", "e") and i < n and text[i] == "'":
                    i = _skip_string(text, i, escapes=True)
            elif c.isdigit():
                match = _NUMBER.match(text, i)
                i = match.end() if match else i + 1
            elif c == ":":
                if text.startswith("::", i):
                    i += 2
                    continue
                match = _VARIABLE.match(text, i)
                name = match and (match.group("bare") or match.group("lit") or match.group("ident"))
                if not match or name not in self.variables:
                    i += 1
                    continue
                self.emit(text[start:i], path, start, text)
                value = self.variables[name]
                if match.group("lit"):
                    value = quote_literal(value)
                elif match.group("ident"):
                    value = quote_ident(value)
                self.emit(value, path, i, text, verbatim=False)
                i = start = match.end()
            elif c == "\\":
                self.emit(text[start:i], path, start, text)
                if i + 1 < n and text[i + 1] in ";:":
                    # psql's escapes for a literal ";" or ":" in a query.
                    self.emit(text[i + 1], path, i + 1, text)
                    i = start = i + 2
                    continue
                i = start = self._meta_command(path, text, i)
            else:
                i += 1
        self.emit(text[start:n], path, start, text)

    def _meta_command(self, path: Path, text: str, at: int) -> int:
        """Handle the meta-command at `at` (a backslash); return where its line ends."""
        line = text.count("\n", 0, at) + 1
        where = f"{self.show(path)}:{line}"
        match = _META_NAME.match(text, at + 1)
        assert match is not None
        name = match.group(0)
        end = text.find("\n", at)
        end = len(text) if end < 0 else end
        if name not in INCLUDE | INCLUDE_RELATIVE:
            shown = "\\" + name if name else "\\\\"
            raise ScriptError(
                f"{where}: psql meta-command {shown} is not supported "
                "(only the includes \\i and \\ir are); run this change with sqitch"
            )
        argument = _include_argument(text[match.end() : end], where)
        target = Path(argument)
        if not target.is_absolute():
            base = path.parent if name in INCLUDE_RELATIVE else self.project_root
            target = base / target
        if not target.exists():
            raise ScriptError(f"{where}: included file {argument} not found (looked for {self.show(target)})")
        self.load(target)
        if self.parts and not self.parts[-1].endswith("\n"):
            self.emit("\n", path, end, text, verbatim=False)
        return end


def _include_argument(rest: str, where: str) -> str:
    rest = rest.strip()
    if rest.startswith("'"):
        match = re.match(r"'((?:[^']|'')*)'\s*$", rest)
        if not match:
            raise ScriptError(f"{where}: cannot read the file name of the include")
        return match.group(1).replace("''", "'")
    parts = rest.split()
    if len(parts) != 1 or parts[0].startswith(":") or "`" in parts[0]:
        raise ScriptError(f"{where}: an include needs exactly one plain or quoted file name")
    return parts[0]


def _skip_block_comment(text: str, i: int) -> int:
    depth = 0
    n = len(text)
    while i < n:
        if text.startswith("/*", i):
            depth += 1
            i += 2
        elif text.startswith("*/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    return n


def _skip_string(text: str, i: int, escapes: bool) -> int:
    n = len(text)
    j = i + 1
    while j < n:
        ch = text[j]
        if escapes and ch == "\\":
            j += 2
            continue
        if ch == "'":
            if j + 1 < n and text[j + 1] == "'":
                j += 2
                continue
            return j + 1
        j += 1
    return n


def _skip_quoted_identifier(text: str, i: int) -> int:
    n = len(text)
    j = i + 1
    while j < n:
        if text[j] == '"':
            if j + 1 < n and text[j + 1] == '"':
                j += 2
                continue
            return j + 1
        j += 1
    return n


def load_script(
    path: Path,
    project_root: Path,
    variables: dict[str, str],
    show: Callable[[Path], str] = str,
) -> LoadedScript:
    loader = _Loader(project_root, variables, show)
    loader.load(path)
    return LoadedScript(path, "".join(loader.parts), loader.segments)


class ScriptFailed(Exception):
    """A script raised an error in the database."""

    def __init__(self, script: LoadedScript, error: psycopg.Error, show: Callable[[Path], str]):
        self.script = script
        self.error = error
        diag = error.diag
        path, line = script.path, None
        if diag.statement_position:
            path, line = script.locate(int(diag.statement_position))
        self.where = show(path) + (f":{line}" if line else "")
        super().__init__(self.describe())

    @property
    def sqlstate(self) -> str | None:
        return self.error.sqlstate

    def describe(self) -> str:
        diag = self.error.diag
        severity = diag.severity or "ERROR"
        message = diag.message_primary or str(self.error).strip()
        state = f" (SQLSTATE {self.sqlstate})" if self.sqlstate else ""
        lines = [f"{self.where}: {severity}:  {message}{state}"]
        for label, value in (("DETAIL", diag.message_detail), ("HINT", diag.message_hint), ("CONTEXT", diag.context)):
            if value:
                lines.append(f"{label}:  {value.rstrip()}")
        return "\n".join(lines)


def run_script(
    conninfo: str,
    script: LoadedScript,
    show: Callable[[Path], str],
    on_notice: Callable[[str], None],
) -> None:
    """Run a script in a session of its own, as psql does: nothing set by one
    script leaks into the next, and an unfinished transaction is rolled back."""
    try:
        conn = psycopg.connect(conninfo, autocommit=True)
    except psycopg.Error as exc:
        raise ScriptError(f"cannot connect to run {show(script.path)}: {exc}") from None
    with conn:
        where = show(script.path)
        conn.add_notice_handler(lambda d: on_notice(f"{where}: {d.severity}:  {d.message_primary}"))
        try:
            conn.execute(script.sql)
        except psycopg.Error as exc:
            raise ScriptFailed(script, exc, show) from None
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            # psql would quietly roll it back on exit; the change would look deployed.
            raise ScriptError(f"{where} left a transaction open (missing COMMIT?); it was rolled back")
