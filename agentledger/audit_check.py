"""`agentledger audit verify`: the audit trail in the database against its witness.

Nothing here trusts the database's own functions or stored seals. From the rows of
`ledger.audit_log`, read in one snapshot, it recomputes:
- each row's hash from its content (the bytes `ledger._audit_hash` hashes, rebuilt here), and
  each event's chain: the first row at version 1, every next row linked to the one before;
- for each witnessed seal, the rows in its range (after the previous seal's last seq, up to its
  own): how many there are, which must be the seal's row count (sequences leave gaps when a
  transaction rolls back, so the count is what proves no row was removed), and their digest,
  which must be the witnessed one;
- each event's status and version against the head of its chain.
Then every witnessed seal must still be in `ledger.audit_seals`, unchanged; and rows that no
witnessed seal covers must be younger than twice the seal interval.

The first problem found is the answer, with the audit row, event, seal or witness entry it is about.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg

from agentledger.witness import Entry

# The columns ledger._audit_hash hashes, in its order; enums and jsonb as their text.
ROWS = """
SELECT seq, customer_id, event_id, version, from_status::text, to_status::text, actor, actor_kind::text,
       db_user, reason, details::text, attempt, recorded_at, api_key, prev_hash, hash
  FROM ledger.audit_log ORDER BY seq"""
SEALS = "SELECT id, first_seq, last_seq, row_count, encode(prev_digest, 'hex'), encode(digest, 'hex') FROM ledger.audit_seals ORDER BY id"
EVENTS = "SELECT id, status::text, version FROM ledger.events ORDER BY id"
PROGRESS_SECONDS = 5.0


def row_hash(
    prev_hash: bytes | None,
    seq: int,
    customer_id: str,
    event_id: int,
    version: int,
    from_status: str | None,
    to_status: str,
    actor: str,
    actor_kind: str,
    db_user: str,
    reason: str | None,
    details: str | None,
    attempt: int,
    recorded_at: datetime,
    api_key: str | None,
) -> bytes:
    """ledger._audit_hash, recomputed: sha256 of the previous hash and the text PostgreSQL gives
    `jsonb_build_array(...)` of the row (its strings escaped as escape_json does, the time in UTC
    as an ISO 8601 timestamp whose fraction drops trailing zeros, the details as jsonb's text)."""
    utc = recorded_at.astimezone(UTC)
    moment = utc.strftime("%Y-%m-%dT%H:%M:%S") + (f".{utc.microsecond:06d}".rstrip("0") if utc.microsecond else "")
    parts = [
        str(seq),
        _json(customer_id),
        str(event_id),
        str(version),
        _json(from_status),
        _json(to_status),
        _json(actor),
        _json(actor_kind),
        _json(db_user),
        _json(reason),
        details if details is not None else "null",
        str(attempt),
        _json(moment),
    ]
    if api_key is not None:  # appended only when a key was used, as ledger._audit_hash does
        parts.append(_json(api_key))
    text = "[" + ", ".join(parts) + "]"
    return hashlib.sha256((prev_hash or b"") + text.encode()).digest()


def _json(value: str | None) -> str:
    # Python escapes exactly what PostgreSQL's escape_json escapes: " \ and the control characters
    # (\b \f \n \r \t by name, the others as \u00xx); everything else is written as it is.
    return "null" if value is None else json.dumps(value, ensure_ascii=False)


@dataclass
class Report:
    rows: int = 0
    events: int = 0
    seals_witnessed: int = 0
    witnessed_up_to: int = 0
    unwitnessed_rows: int = 0
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclass
class _Range:
    """The rows of one witnessed seal, as found."""

    entry: Entry
    after_seq: int  # the previous seal's last seq (0 before the first)
    rows: int = 0
    digest: hashlib._Hash | None = None


class _Found(Exception):
    def __init__(self, problem: str) -> None:
        self.problem = problem


def verify(
    conn: psycopg.Connection,
    entries: list[Entry],
    max_unwitnessed_age: timedelta,
    progress: Callable[[str], None],
) -> Report:
    """Check the database on conn (autocommit) against the witness entries (read and checked by
    agentledger.witness.read_entries)."""
    report = Report(seals_witnessed=len(entries), witnessed_up_to=entries[-1].last_seq if entries else 0)
    with conn.transaction():
        # One snapshot for the rows, the events and the seals.
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        now = conn.execute("SELECT now()").fetchone()[0]  # type: ignore[index]
        try:
            heads, stale = _check_rows(conn, entries, now - max_unwitnessed_age, report, progress)
            _check_events(conn, heads)
            _check_seals(conn, entries)
            if stale is not None:
                raise _Found(stale)
        except _Found as found:
            report.problem = found.problem
    return report


def _ranges(entries: list[Entry]) -> Iterator[_Range]:
    after = 0
    for entry in entries:
        yield _Range(entry, after)
        after = entry.last_seq


def _close(current: _Range) -> None:
    entry = current.entry
    if current.rows != entry.row_count:
        raise _Found(
            f"witnessed seal {entry.seal_id} covers {entry.row_count} audit rows with seq "
            f"{current.after_seq + 1} to {entry.last_seq}; the database has {current.rows} there: rows were "
            + ("deleted" if current.rows < entry.row_count else "added")
        )
    found = (current.digest or _start(current)).hexdigest()
    if found != entry.digest:
        raise _Found(
            f"the audit rows of witnessed seal {entry.seal_id} (seq {entry.first_seq} to {entry.last_seq}, "
            f"{entry.row_count} rows) no longer hash to its witnessed digest: rows were changed and their hashes "
            "recomputed"
        )


def _start(current: _Range) -> hashlib._Hash:
    return hashlib.sha256(bytes.fromhex(current.entry.prev_digest) if current.entry.prev_digest else b"")


def _check_rows(
    conn: psycopg.Connection,
    entries: list[Entry],
    stale_before: datetime,
    report: Report,
    progress: Callable[[str], None],
) -> tuple[dict[int, tuple[str, int]], str | None]:
    """Every row in seq order. Returns the head (status, version) of each event's chain, and the
    first row older than stale_before that no witnessed seal covers, described (or None)."""
    chains: dict[int, tuple[bytes, int, str]] = {}  # event -> (hash, version, status) of its last row
    ranges = _ranges(entries)
    current = next(ranges, None)
    stale: str | None = None
    next_progress = time.monotonic() + PROGRESS_SECONDS
    with conn.cursor(name="agentledger_audit_verify") as cursor:
        cursor.itersize = 10_000
        cursor.execute(ROWS)
        for row in cursor:
            (seq, customer_id, event_id, version, from_status, to_status, actor, actor_kind, db_user, reason,
             details, attempt, recorded_at, api_key, prev_hash, stored) = row  # fmt: skip
            report.rows += 1
            while current is not None and seq > current.entry.last_seq:
                _close(current)
                current = next(ranges, None)
            expected = row_hash(
                prev_hash, seq, customer_id, event_id, version, from_status, to_status, actor, actor_kind, db_user,
                reason, details, attempt, recorded_at, api_key,
            )  # fmt: skip
            if bytes(stored) != expected:
                raise _Found(
                    f"audit row {seq} of event {event_id} does not match its hash: it was changed after it was written"
                )
            previous = chains.get(event_id)
            if previous is None and (version != 1 or prev_hash is not None):
                raise _Found(
                    f"the audit trail of event {event_id} starts at row {seq}, version {version}: its earlier rows were deleted"
                )
            if previous is not None and (bytes(prev_hash or b"") != previous[0] or version != previous[1] + 1):
                raise _Found(
                    f"audit row {seq} of event {event_id} does not follow the row before it (version {previous[1]}): "
                    "a row between them was deleted or changed"
                )
            chains[event_id] = (expected, version, to_status)
            if current is not None:
                if current.digest is None:
                    current.digest = _start(current)
                current.digest.update(expected)
                current.rows += 1
            else:
                report.unwitnessed_rows += 1
                if stale is None and recorded_at < stale_before:
                    stale = (
                        f"audit row {seq} of event {event_id}, written at {recorded_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC, "
                        "is in no witnessed seal "
                        + (
                            f"(the witness ends at seq {entries[-1].last_seq})"
                            if entries
                            else "(the witness holds no seal)"
                        )
                        + ": is the sealer running?"
                    )
            if time.monotonic() > next_progress:
                progress(f"checked {report.rows:,} audit rows (up to seq {seq}) ...")
                next_progress = time.monotonic() + PROGRESS_SECONDS
    while current is not None:
        _close(current)
        current = next(ranges, None)
    report.events = len(chains)
    return {event: (status, version) for event, (_, version, status) in chains.items()}, stale


def _check_events(conn: psycopg.Connection, heads: dict[int, tuple[str, int]]) -> None:
    seen = 0
    for event_id, status, version in conn.execute(EVENTS):
        head = heads.get(event_id)
        if head is None:
            raise _Found(f"event {event_id} has no audit trail: its rows were deleted")
        if head != (status, version):
            raise _Found(
                f"event {event_id} is {status} at version {version} but its audit trail ends at {head[0]}, version "
                f"{head[1]}: later rows were deleted or the event was changed without audit"
            )
        seen += 1
    if seen != len(heads):
        missing = min(set(heads) - {row[0] for row in conn.execute("SELECT id FROM ledger.events")})
        raise _Found(f"event {missing} has an audit trail but the event itself was deleted")


def _check_seals(conn: psycopg.Connection, entries: list[Entry]) -> None:
    seals = {row[0]: row for row in conn.execute(SEALS)}
    witnessed = {entry.seal_id for entry in entries}
    for entry in entries:
        seal = seals.get(entry.seal_id)
        if seal is None:
            raise _Found(f"witnessed {entry.describe()} is missing from the database: seals were deleted")
        if seal[1:] != (entry.first_seq, entry.last_seq, entry.row_count, entry.prev_digest, entry.digest):
            raise _Found(f"seal {entry.seal_id} in the database differs from its witnessed copy: it was rewritten")
    if entries:
        extra = sorted(i for i in seals if i < entries[-1].seal_id and i not in witnessed)
        if extra:
            raise _Found(
                f"seal {extra[0]} in the database lies between witnessed seals but was never witnessed: it was added afterwards"
            )
