"""sqitch.plan: parsing, lookups, and the change and tag ids sqitch computes.

A change id is the SHA-1 of a git-style object, "change <bytes>\\0<info>",
where info lists the project, the project URI (if any), the change name, the
parent change id (the previous change in the plan), the planner, the planned
date, the requires and conflicts, and the note. Tags use "tag ..." likewise.
The ids must match sqitch's exactly: they are the keys of its registry.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from agentledger.errors import PlanError

SYNTAX_VERSION = "1.0.0"

# Punctuation as in Perl's [:punct:] minus "_": names may not start or end with it.
_PUNCT = r"""\-!"#$%&'()*+,./:;<=>?@\[\\\]^`{|}~"""
NAME = (
    rf"(?![{_PUNCT}])"
    r"(?:(?![~/=%^][0-9]+(?:$|[ \t]))[^ \t:@#\\])+"
    rf"(?<![{_PUNCT}])\b"
)
_NAME_RE = re.compile(rf"\A{NAME}\Z")
_TIMESTAMP = r"(?P<yr>[0-9]{4})-(?P<mo>[0-9]{2})-(?P<dy>[0-9]{2})T(?P<hr>[0-9]{2}):(?P<mi>[0-9]{2}):(?P<sc>[0-9]{2})Z"
_TIMESTAMP_RE = re.compile(_TIMESTAMP)
_LINE_RE = re.compile(
    r"^(?P<lspace>[ \t]*)"
    r"(?:(?P<tag>@)|[ \t]*(?P<operator>[+-])[ \t]*)?"
    rf"(?P<name>{NAME})"
    r"(?:[ \t]+)?"
    r"(?:\[(?P<dependencies>[^\]]+)\][ \t]*)?"
    rf"(?:{_TIMESTAMP}[ \t]*)?"
    r"(?:(?P<planner_name>[^<]+)[ \t]+<(?P<planner_email>[^>]+)>)?"
    r"$"
)
_PRAGMA_RE = re.compile(
    r"\A[ \t]*%[ \t]*"
    rf"(?P<name>[^{_PUNCT}](?:[^ \t=]*?[^{_PUNCT} \t])?)"
    r"(?:[ \t]*=[ \t]*(?P<value>.+))?\Z"
)
_DEPEND_RE = re.compile(
    r"\A(?P<conflicts>!?)"
    rf"(?:(?P<project>{NAME}):)?"
    r"(?:(?P<id>[0-9a-f]{40})"
    rf"|(?P<change>{NAME})(?:@(?P<ctag>{NAME}))?"
    rf"|@(?P<tag>{NAME}))\Z"
)
_OFFSET_RE = re.compile(rf"(?<![{_PUNCT}])([~^])(?:(\1)|([0-9]+))?\Z")
_RESERVED = {"ROOT", "HEAD"}
_UNESCAPE = {"\\n": "\n", "\\r": "\r", "\\\\": "\\"}


def _clean_note(note: str | None) -> str:
    """Trim a note and decode the escapes sqitch writes for newlines and backslashes."""
    if not note:
        return ""
    note = note.strip()
    return re.sub(r"\\[\\nr]", lambda m: _UNESCAPE[m.group(0)], note)


def _git_object_id(kind: str, info: str) -> str:
    content = info.encode("utf-8")
    return hashlib.sha1(f"{kind} {len(content)}\0".encode() + content).hexdigest()


def canonical_uri(uri: str) -> str:
    """A conservative form of URI canonicalisation: lower-case scheme and host,
    no default port, "/" for an empty http(s) path."""
    parts = urlsplit(uri)
    if not parts.scheme:
        return uri
    scheme = parts.scheme.lower()
    netloc = parts.netloc
    if parts.hostname is not None:
        host = parts.hostname
        userinfo = netloc.rpartition("@")[0] + "@" if "@" in netloc else ""
        default = {"http": 80, "https": 443, "ftp": 21}.get(scheme)
        port = f":{parts.port}" if parts.port is not None and parts.port != default else ""
        netloc = f"{userinfo}{host.lower()}{port}"
    path = parts.path or ("/" if scheme in {"http", "https"} and netloc else "")
    return urlunsplit((scheme, netloc, path, parts.query, parts.fragment))


@dataclass(eq=False)
class Dependency:
    """One entry of a change's [requires !conflicts] list."""

    plan: Plan = field(repr=False)
    conflicts: bool
    project: str | None  # as written, before "name:"
    change: str | None
    tag: str | None
    given_id: str | None

    @property
    def type(self) -> str:
        return "conflict" if self.conflicts else "require"

    @property
    def key_name(self) -> str:
        parts = [self.change or "", f"@{self.tag}" if self.tag else ""]
        key = "".join(parts)
        return key or (self.given_id or "")

    @cached_property
    def resolved_project(self) -> str | None:
        """The project the dependency belongs to; None when only an unknown id is given."""
        if self.project is not None:
            return self.project
        if self.given_id is None:
            return self.plan.project
        return self.plan.project if self.plan.find(self.given_id) else None

    @property
    def is_internal(self) -> bool:
        return self.resolved_project == self.plan.project

    @cached_property
    def plan_id(self) -> str | None:
        """The id of the change in this plan that the dependency names, if internal."""
        if not self.is_internal:
            return None
        change = self.plan.find(self.key_name)
        if change is None:
            raise PlanError(f'Unable to find change "{self.key_name}" in plan {self.plan.path}')
        return change.id

    def as_string(self) -> str:
        proj = self.resolved_project
        if proj is None or proj == self.plan.project:
            return self.key_name
        return f"{proj}:{self.key_name}"


@dataclass(eq=False)
class Tag:
    plan: Plan = field(repr=False)
    name: str
    change: Change = field(repr=False)
    note: str
    planned_at: datetime
    planner_name: str
    planner_email: str

    @property
    def format_name(self) -> str:
        return "@" + self.name

    @cached_property
    def id(self) -> str:
        lines = [f"project {self.plan.project}"]
        if self.plan.uri:
            lines.append(f"uri {canonical_uri(self.plan.uri)}")
        lines += [
            f"tag {self.format_name}",
            f"change {self.change.id}",
            f"planner {self.planner_name} <{self.planner_email}>",
            f"date {format_timestamp(self.planned_at)}",
        ]
        if self.note:
            lines += ["", self.note]
        return _git_object_id("tag", "\n".join(lines))


@dataclass(eq=False)
class Change:
    plan: Plan = field(repr=False)
    name: str
    note: str
    planned_at: datetime
    planner_name: str
    planner_email: str
    requires: list[Dependency]
    conflicts: list[Dependency]
    parent: Change | None = field(repr=False)
    tags: list[Tag] = field(default_factory=list)
    # Tags whose names suffix the script files of a change that was reworked later.
    rework_tags: list[Tag] = field(default_factory=list)

    @property
    def project(self) -> str:
        return self.plan.project

    @property
    def is_reworked(self) -> bool:
        return bool(self.rework_tags)

    @property
    def format_name_with_tags(self) -> str:
        return " ".join([self.name, *(t.format_name for t in self.tags)])

    @property
    def dependencies(self) -> list[Dependency]:
        return [*self.requires, *self.conflicts]

    @cached_property
    def info(self) -> str:
        lines = [f"project {self.plan.project}"]
        if self.plan.uri:
            lines.append(f"uri {canonical_uri(self.plan.uri)}")
        lines.append(f"change {self.name}")
        if self.parent is not None:
            lines.append(f"parent {self.parent.id}")
        lines += [
            f"planner {self.planner_name} <{self.planner_email}>",
            f"date {format_timestamp(self.planned_at)}",
        ]
        if self.requires:
            lines.append("requires\n  + " + "\n  + ".join(d.as_string() for d in self.requires))
        if self.conflicts:
            lines.append("conflicts\n  - " + "\n  - ".join(d.as_string() for d in self.conflicts))
        if self.note:
            lines += ["", self.note]
        return "\n".join(lines)

    @cached_property
    def id(self) -> str:
        return _git_object_id("change", self.info)


def format_timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Plan:
    """The changes of sqitch.plan in order, with sqitch's lookup rules."""

    def __init__(self, path: Path, project: str, uri: str | None, changes: list[Change]):
        self.path = path
        self.project = project
        self.uri = uri
        self.changes = changes
        self._lookup: dict[str, list[int]] = {}

    def _index(self) -> None:
        # Filled in place: a dependency given by id may look up earlier changes meanwhile.
        lookup: dict[str, list[int]] = {}
        self._lookup = lookup
        for idx, change in enumerate(self.changes):
            lookup.setdefault(change.name, []).append(idx)
            lookup[change.id] = [idx]
            for tag in change.tags:
                lookup[tag.format_name] = [idx]
                lookup[tag.id] = [idx]
        if self.changes:
            lookup["HEAD"] = lookup["@HEAD"] = [len(self.changes) - 1]
            lookup["ROOT"] = lookup["@ROOT"] = [0]

    def __len__(self) -> int:
        return len(self.changes)

    def index_of(self, key: str) -> int | None:
        """Index for a change name, name@tag, @tag, id, HEAD/ROOT, with ^/~ offsets.
        A reworked name alone is ambiguous and raises, as in sqitch."""
        key, offset = split_offset(key)
        idx = self._index_of(key)
        if idx is None or not offset:
            return idx
        idx += offset
        return idx if 0 <= idx < len(self.changes) else None

    def _index_of(self, key: str) -> int | None:
        change, _, tag = key.partition("@")
        if change == "":
            found = self._lookup.get("@" + tag)
            return found[0] if found else None
        found = self._lookup.get(change)
        if not found:
            return None
        if "@" in key:
            tag_idx = self._lookup.get("@" + tag)
            if not tag_idx:
                raise PlanError(f'Unknown tag "@{tag}"')
            for idx in reversed(found):
                if idx <= tag_idx[0]:
                    return idx
            return None
        if len(found) < 2:
            return found[0]
        choices = "\n".join(f"  * {self._tag_qualified(i)}" for i in reversed(found))
        raise PlanError(f'Change "{key}" is ambiguous. Please specify a tag-qualified change:\n{choices}')

    def _tag_qualified(self, idx: int) -> str:
        change = self.changes[idx]
        tags = change.tags or change.rework_tags
        return change.name + (tags[0].format_name if tags else "@HEAD")

    def first_index_of(self, key: str, since: str | None = None) -> int | None:
        key, offset = split_offset(key)
        found = self._lookup.get(key)
        if not found:
            return None
        if since is None:
            idx: int | None = found[0]
        else:
            since_idx = self.index_of(since)
            if since_idx is None:
                raise PlanError(f'Unknown change: "{since}"')
            idx = next((i for i in found if i > since_idx), None)
        if idx is None or not offset:
            return idx
        idx += offset
        return idx if 0 <= idx < len(self.changes) else None

    def find(self, key: str) -> Change | None:
        idx = self.index_of(key) if "@" in key else self.first_index_of(key)
        return None if idx is None else self.changes[idx]

    def index_of_id(self, change_id: str) -> int | None:
        found = self._lookup.get(change_id)
        return found[0] if found else None


def split_offset(key: str) -> tuple[str, int]:
    """Split sqitch's symbolic offsets: "name^" is one change earlier, "name~2" two later."""
    match = _OFFSET_RE.search(key)
    if not match:
        return key, 0
    offset = int(match.group(3)) if match.group(3) else (2 if match.group(2) else 1)
    if match.group(1) == "^":
        offset = -offset
    return key[: match.start()], offset


def parse_plan(path: Path) -> Plan:
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise PlanError(f"Plan file {path} does not exist") from None
    except UnicodeDecodeError as exc:
        raise PlanError(f"Plan file {path} is not valid UTF-8: {exc}") from None
    return _Parser(path).parse(text)


class _Parser:
    def __init__(self, path: Path):
        self.path = path
        self.lineno = 0

    def error(self, message: str) -> PlanError:
        return PlanError(f"Syntax error in {self.path} at line {self.lineno}: {message}")

    def parse(self, text: str) -> Plan:
        lines = text.splitlines()
        pragmas: dict[str, str] = {}
        pos = 0
        # Header: pragmas and comments up to the first blank line.
        while pos < len(lines):
            self.lineno = pos + 1
            line = lines[pos]
            pos += 1
            blank = re.match(r"\A[ \t]*(?:#[ \t]*(?P<note>.+)|$)", line)
            if blank:
                if not blank.group("note"):
                    break
                continue
            line = re.sub(r"[ \t]*(?:#[ \t]*.*)?$", "", line, count=1)
            match = _PRAGMA_RE.match(line)
            if not match:
                raise self.error("Invalid pragma; a blank line must come between pragmas and changes")
            name, value = match.group("name"), match.group("value")
            if name == "project" and (value is None or not _NAME_RE.match(value)):
                raise self.error(f'invalid project name "{value}"')
            pragmas[name] = value if value is not None else "1"

        project = pragmas.get("project")
        if not project:
            raise PlanError(f"Missing %project pragma in {self.path}")
        plan = Plan(self.path, project, pragmas.get("uri"), [])
        self._parse_body(plan, lines, pos)
        return plan

    def _parse_body(self, plan: Plan, lines: list[str], pos: int) -> None:
        changes = plan.changes
        seen_since_tag: dict[str, int] = {}
        line_of: dict[str, int] = {}  # change names and @tags -> line, for dependency order
        by_name: dict[str, Change] = {}
        prev: Change | None = None
        section_start = 0

        for offset, raw in enumerate(lines[pos:]):
            self.lineno = pos + offset + 1
            if re.match(r"\A[ \t]*(?:#[ \t]*.+|#?$)", raw):
                continue
            note_match = re.search(r"[ \t]*(?:#[ \t]*(?P<note>.*))?$", raw)
            assert note_match is not None
            note = _clean_note(note_match.group("note"))
            line = raw[: note_match.start()]
            match = _LINE_RE.match(line)
            if not match or (not match.group("yr") and _TIMESTAMP_RE.search(line)):
                raise self.error(
                    'Invalid name; names must not begin with punctuation, contain "@", ":", "#", '
                    '"\\", or blanks, or end in punctuation or digits following punctuation'
                )
            params = match.groupdict()
            if not params["yr"] and not params["planner_name"]:
                raise self.error("Missing timestamp and planner name and email")
            if not params["yr"]:
                raise self.error("Missing timestamp")
            if not params["planner_name"]:
                raise self.error("Missing planner name and email")
            name = params["name"]
            is_tag = bool(params["tag"])
            if name in _RESERVED:
                raise self.error(f'"{"@" if is_tag else ""}{name}" is a reserved name')
            if re.match(r"[0-9a-f]{40}", name):
                raise self.error(f'"{name}" is invalid because it could be confused with a SHA1 ID')
            try:
                planned_at = datetime(
                    int(params["yr"]),
                    int(params["mo"]),
                    int(params["dy"]),
                    int(params["hr"]),
                    int(params["mi"]),
                    int(params["sc"]),
                    tzinfo=UTC,
                )
            except ValueError as exc:
                raise self.error(f"invalid timestamp: {exc}") from None
            planner_name = params["planner_name"]
            planner_email = params["planner_email"]

            if is_tag:
                if "/" in name:
                    raise self.error(f'Tag "{name}" contains illegal character /')
                if prev is None:
                    raise self.error(f'Tag "{name}" declared without a preceding change')
                if "@" + name in line_of:
                    raise self.error(f'Tag "{name}" duplicates earlier declaration on line {line_of["@" + name]}')
                if params["dependencies"]:
                    raise self.error("Tags may not specify dependencies")
                self._check_dependencies(plan, changes[section_start:], line_of)
                section_start = len(changes)
                tag = Tag(plan, name, prev, note, planned_at, planner_name, planner_email)
                prev.tags.append(tag)
                line_of.update(seen_since_tag)
                line_of["@" + name] = self.lineno
                seen_since_tag = {}
                continue

            if name in seen_since_tag:
                raise self.error(f'Change "{name}" duplicates earlier declaration on line {seen_since_tag[name]}')
            requires, conflicts = self._dependencies(plan, params["dependencies"])
            change = Change(
                plan,
                name,
                note,
                planned_at,
                planner_name,
                planner_email,
                requires,
                conflicts,
                parent=prev,
            )
            seen_since_tag[name] = self.lineno
            if name in by_name:
                self._mark_reworked(changes, by_name[name], section_start)
            by_name[name] = change
            changes.append(change)
            prev = change

        self._check_dependencies(plan, changes[section_start:], line_of)
        plan._index()

    def _dependencies(self, plan: Plan, spec: str | None) -> tuple[list[Dependency], list[Dependency]]:
        requires: list[Dependency] = []
        conflicts: list[Dependency] = []
        seen: set[str] = set()
        for text in (spec or "").split():
            match = _DEPEND_RE.match(text)
            if not match:
                raise self.error(f'"{text}" is not a valid dependency specification')
            if text in seen:
                raise self.error(f'Duplicate dependency "{text}"')
            seen.add(text)
            dep = Dependency(
                plan,
                conflicts=bool(match.group("conflicts")),
                project=match.group("project"),
                change=match.group("change"),
                tag=match.group("ctag") or match.group("tag"),
                given_id=match.group("id"),
            )
            (conflicts if dep.conflicts else requires).append(dep)
        return requires, conflicts

    @staticmethod
    def _mark_reworked(changes: list[Change], original: Change, section_start: int) -> None:
        """A name planned again after a tag reworks the earlier change: its scripts
        now carry a tag suffix. Collect the tags in sqitch's order (latest first)."""
        tags: list[Tag] = []
        for change in reversed(changes[:section_start]):
            if change is original:
                break
            tags.extend(change.tags)
        original.rework_tags.extend([*tags, *original.tags])

    def _check_dependencies(self, plan: Plan, section: list[Change], line_of: dict[str, int]) -> None:
        """Every required change of this project must come earlier in the plan."""
        position: dict[str, int] = {}
        problems: list[str] = []
        for i, change in enumerate(section, start=1):
            for dep in change.requires:
                if dep.project is not None:
                    if dep.project != plan.project:
                        continue
                elif dep.given_id is not None:
                    continue
                key = dep.key_name
                if "@" in key[1:]:
                    name, _, tag = key.partition("@")
                    tag_at = line_of.get("@" + tag)
                    change_at = line_of.get(name)
                    if tag_at and change_at and change_at < tag_at:
                        continue
                elif key in line_of or key in position:
                    continue
                if key == change.name:
                    problems.append(f'Change "{change.name}" cannot require itself')
                else:
                    problems.append(f'Change "{change.name}" requires "{key}", which is not planned before it')
            position[change.name] = i
        if problems:
            raise PlanError("Dependency error(s) detected in " + str(self.path) + ":\n  " + "\n  ".join(problems))
