"""The worker protocol under real concurrency: many claimers, rescues racing reports, and zombie
holders whose leases were taken away. Every test runs on real connections to a private database
and checks the end state against the events table and the audit trail, event by event."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import psycopg
import pytest
from psycopg.rows import namedtuple_row
from psycopg.types.json import Jsonb

from tests.support import databases

pytestmark = pytest.mark.stress  # concurrent claimers and rescues racing reports

SUBMIT_BATCH = 1000  # ledger.settings.max_batch_size
LEASE = timedelta(seconds=30)  # the default ledger.settings.lease_duration
REFUSED = ("refused", "AL009")
DONE = ("done", None)

# The SQL type of every api argument these tests pass, so psycopg's guesses never pick an overload.
ARG_TYPES = {
    "p_worker": "text",
    "p_limit": "integer",
    "p_event_types": "text[]",
    "p_event_ids": "bigint[]",
    "p_lease_tokens": "uuid[]",
    "p_decisions": "text[]",
    "p_reasons": "text[]",
    "p_results": "jsonb[]",
    "p_keep_lease": "boolean",
    "p_details": "jsonb[]",
    "p_errors": "text[]",
    "p_error_types": "text[]",
    "p_retryable": "boolean[]",
    "p_reason": "text",
    "p_now": "timestamptz",
}


def connect(conninfo: str) -> psycopg.Connection:
    """An autocommit connection: every api call is its own transaction, as for a real worker."""
    return psycopg.connect(conninfo, autocommit=True)


def api(conn: psycopg.Connection, function: str, **args: object) -> list:
    """SELECT * FROM api.<function>(name => value, ...); rows come back as named tuples."""
    params = ", ".join(f"{name} => %({name})s::{ARG_TYPES[name]}" for name in args)
    with conn.cursor(row_factory=namedtuple_row) as cur:
        return cur.execute(f"SELECT * FROM api.{function}({params})", args).fetchall()


def submit(conn: psycopg.Connection, count: int, event_type: str = "loan_application") -> list[int]:
    """Submit count events in batches of SUBMIT_BATCH; their ids in order."""
    ids: list[int] = []
    for first in range(0, count, SUBMIT_BATCH):
        last = min(first + SUBMIT_BATCH, count)
        rows = conn.execute(
            """SELECT id FROM api.submit_events(
                   (SELECT jsonb_agg(jsonb_build_object('customer_id', 'cust-' || g,
                                                        'event_type', %s::text,
                                                        'payload', jsonb_build_object('n', g))
                                     ORDER BY g)
                      FROM generate_series(%s::integer, %s::integer) g))""",
            [event_type, first, last - 1],
        ).fetchall()
        ids.extend(r[0] for r in rows)
    return ids


def outcomes(reports: list) -> dict[int, tuple[str, str | None]]:
    """event id -> (outcome, code) of a report's answer."""
    return {r.event_id: (r.outcome, r.code) for r in reports}


def set_lease(conn: psycopg.Connection, duration: str) -> None:
    conn.execute("UPDATE ledger.settings SET lease_duration = %s::interval", [duration])


def events_by_id(conn: psycopg.Connection, ids: list[int]) -> dict[int, tuple]:
    with conn.cursor(row_factory=namedtuple_row) as cur:
        rows = cur.execute(
            """SELECT id, status::text AS status, result, attempts, version, lease_owner,
                      lease_token, lease_expires_at
                 FROM ledger.events WHERE id = ANY (%s::bigint[])""",
            [ids],
        ).fetchall()
    return {r.id: r for r in rows}


def whole_rows(conn: psycopg.Connection, ids: list[int]) -> dict[int, dict]:
    """event id -> every column of its ledger.events row, to compare before and after."""
    rows = conn.execute(
        "SELECT e.id, to_jsonb(e) FROM ledger.events e WHERE e.id = ANY (%s::bigint[])", [ids]
    ).fetchall()
    return dict(rows)


def audit_trails(conn: psycopg.Connection, ids: list[int]) -> dict[int, list[tuple]]:
    """event id -> its audit rows as (version, from, to, actor, actor kind), in order."""
    rows = conn.execute(
        """SELECT event_id, version, from_status::text, to_status::text, actor, actor_kind::text
             FROM ledger.audit_log WHERE event_id = ANY (%s::bigint[]) ORDER BY seq""",
        [ids],
    ).fetchall()
    trails: dict[int, list[tuple]] = defaultdict(list)
    for event_id, *row in rows:
        trails[event_id].append(tuple(row))
    return trails


def assert_audit_verifies(conn: psycopg.Connection) -> None:
    ok, problem = conn.execute("SELECT ok, problem FROM api.verify_audit()").fetchone()
    assert ok, problem


SUBMITTED = (1, None, "queued", databases.USER, "human")  # the administrator submits every event


def claimed_by(worker: str, version: int = 2) -> tuple:
    return (version, "queued", "processing", worker, "agent")


# --- 1. Many claimers -------------------------------------------------------------------------

CLAIMERS = 8
CLAIM_EVENTS = 10_000
CLAIM_SIZE = 50


def claim_and_finish_until_empty(conninfo: str, worker: str, start: threading.Barrier) -> list[tuple[int, UUID]]:
    """One worker's loop: claim a batch, decide it keeping the lease, complete it; until no work.
    Returns (event id, lease token) of every claim."""
    claimed: list[tuple[int, UUID]] = []
    with connect(conninfo) as conn:
        start.wait()
        while claims := api(conn, "claim_events", p_worker=worker, p_limit=CLAIM_SIZE):
            ids = [c.id for c in claims]
            tokens = [c.lease_token for c in claims]
            decided = api(
                conn,
                "decide_events",
                p_event_ids=ids,
                p_lease_tokens=tokens,
                p_decisions=["approved"] * len(ids),
                p_keep_lease=True,
            )
            assert set(outcomes(decided).values()) == {DONE}, decided
            completed = api(conn, "complete_events", p_event_ids=ids, p_lease_tokens=tokens)
            assert set(outcomes(completed).values()) == {DONE}, completed
            claimed.extend(zip(ids, tokens, strict=False))
    return claimed


def test_concurrent_claimers_take_every_event_exactly_once(fresh_db: str, login_as) -> None:
    """8 workers, each an agent with a worker-role login of its own, claim 10,000 events in batches
    of 50 at the same time and finish what they claim. No event lands in two claims, every event is
    claimed and completed under a lease token of its own, the audit trail holds exactly one
    queued -> processing row per event naming the worker that got it, and the hash chain
    verifies."""
    with connect(fresh_db) as conn:
        ids = submit(conn, CLAIM_EVENTS)
    start = threading.Barrier(CLAIMERS, timeout=60)
    names = [f"claimer-{n}" for n in range(CLAIMERS)]
    logins = {name: login_as(fresh_db, "agentledger_worker", principal=name) for name in names}
    with ThreadPoolExecutor(CLAIMERS) as pool:
        futures = [pool.submit(claim_and_finish_until_empty, logins[name], name, start) for name in names]
        claims = {name: f.result() for name, f in zip(names, futures, strict=False)}

    times_claimed = Counter(i for got in claims.values() for i, _ in got)
    assert [i for i, n in times_claimed.items() if n > 1] == [], "no event is claimed twice"
    assert set(times_claimed) == set(ids), "every event is claimed"
    tokens = {token for got in claims.values() for _, token in got}
    assert len(tokens) == CLAIM_EVENTS, "every claim has a lease token of its own"
    claimer_of = {i: name for name, got in claims.items() for i, _ in got}
    with connect(fresh_db) as admin:
        statuses = Counter(e.status for e in events_by_id(admin, ids).values())
        assert statuses == Counter({"completed": CLAIM_EVENTS})
        claim_rows = admin.execute(
            """SELECT event_id, count(*), min(actor) FROM ledger.audit_log
                WHERE from_status = 'queued' AND to_status = 'processing' GROUP BY event_id"""
        ).fetchall()
        assert {e: (n, actor) for e, n, actor in claim_rows} == {i: (1, claimer_of[i]) for i in ids}
        assert_audit_verifies(admin)


# --- 2. Rescue racing reports -----------------------------------------------------------------

RACE_ROUNDS = 500
RACERS = 20  # events per round, each reported by its own connection: 10,000 races in all
ROUND_SPACING = timedelta(hours=1)  # more than two leases, so rounds never see each other's leases
JUST_BEFORE = timedelta(milliseconds=1)

# What the holder does with its event while the rescuer frees expired leases.
DECIDE_KEEP = "decide, keeping the lease"
DECIDE_HAND_OFF = "decide, handing the action off"
COMPLETE_APPROVED = "complete an approval"
COMPLETE_REJECTED = "complete a rejection"
KINDS = (DECIDE_KEEP, DECIDE_HAND_OFF, COMPLETE_APPROVED, COMPLETE_REJECTED)
DECISION = {
    DECIDE_KEEP: "approved",
    DECIDE_HAND_OFF: "rejected",
    COMPLETE_APPROVED: "approved",
    COMPLETE_REJECTED: "rejected",
}


@dataclass(frozen=True)
class Race:
    event_id: int
    token: UUID
    kind: str
    expires_at: datetime


def hold_events(holder: psycopg.Connection, clock: datetime, round_no: int) -> list[Race]:
    """Claim RACERS events at `clock`; decide (keeping the lease) those whose race is a completion.
    Every lease then expires at clock + LEASE. The kinds rotate so each racer meets each kind."""
    claims = api(holder, "claim_events", p_worker="holder", p_limit=RACERS, p_now=clock)
    assert len(claims) == RACERS
    races = [
        Race(c.id, c.lease_token, KINDS[(n + round_no) % len(KINDS)], c.lease_expires_at) for n, c in enumerate(claims)
    ]
    to_decide = [r for r in races if r.kind in (COMPLETE_APPROVED, COMPLETE_REJECTED)]
    decided = api(
        holder,
        "decide_events",
        p_event_ids=[r.event_id for r in to_decide],
        p_lease_tokens=[r.token for r in to_decide],
        p_decisions=[DECISION[r.kind] for r in to_decide],
        p_results=[Jsonb({"decided_before_race": r.event_id}) for r in to_decide],
        p_keep_lease=True,
        p_now=clock,
    )
    assert set(outcomes(decided).values()) == {DONE}
    return races


def race_report(conn: psycopg.Connection, race: Race) -> tuple[str, str | None]:
    """The holder's report on its event, sent just before the lease expires."""
    now = race.expires_at - JUST_BEFORE
    ids, tokens = [race.event_id], [race.token]
    if race.kind in (DECIDE_KEEP, DECIDE_HAND_OFF):
        reports = api(
            conn,
            "decide_events",
            p_event_ids=ids,
            p_lease_tokens=tokens,
            p_decisions=[DECISION[race.kind]],
            p_results=[Jsonb({"decided_in_race": race.event_id})],
            p_keep_lease=race.kind == DECIDE_KEEP,
            p_now=now,
        )
    else:
        reports = api(
            conn,
            "complete_events",
            p_event_ids=ids,
            p_lease_tokens=tokens,
            p_details=[Jsonb({"action": "sent"})],
            p_now=now,
        )
    return outcomes(reports)[race.event_id]


def run_in_lockstep(parties: list[Callable[[int], None]], prepare: Callable[[int], None], rounds: int) -> None:
    """Each round: prepare(round) on this thread, then release every party at once (a barrier) and
    wait for all of them to finish before the next round."""
    start = threading.Barrier(len(parties) + 1, timeout=60)
    finish = threading.Barrier(len(parties) + 1, timeout=60)

    def loop(party: Callable[[int], None]) -> None:
        try:
            for round_no in range(rounds):
                start.wait()
                party(round_no)
                finish.wait()
        except BaseException:
            start.abort()
            finish.abort()
            raise

    with ThreadPoolExecutor(len(parties)) as pool:
        futures = [pool.submit(loop, party) for party in parties]
        try:
            for round_no in range(rounds):
                prepare(round_no)
                start.wait()
                finish.wait()
        except threading.BrokenBarrierError:
            pass  # a party failed: its exception is raised below
        except BaseException:
            start.abort()
            finish.abort()
            raise
        for future in futures:
            future.result()


def expected_trail(race: Race, holder_won: bool) -> list[tuple]:
    trail = [SUBMITTED, claimed_by("holder")]
    decision = DECISION[race.kind]
    if race.kind in (COMPLETE_APPROVED, COMPLETE_REJECTED):
        trail.append((3, "processing", decision, "holder", "agent"))
        if holder_won:
            trail.append((4, decision, "completed", "holder", "agent"))
    elif holder_won:
        trail.append((3, "processing", decision, "holder", "agent"))
    else:
        trail.append((3, "processing", "queued", "rescuer", "system"))
    return trail


def check_race(race: Race, answer: tuple, rescue_report, event, trail: list[tuple]) -> str:
    """Exactly one side won, and the event ends the way the winner left it: a completion is never
    undone, a decision never lost, a refused report changes nothing. Returns the winner."""
    where = f"event {race.event_id} ({race.kind}): holder answered {answer}, rescue {rescue_report}"
    assert answer in (DONE, REFUSED), where
    holder_won = answer == DONE
    assert holder_won == (rescue_report is None), f"exactly one side wins: {where}"
    decision = DECISION[race.kind]
    if race.kind in (COMPLETE_APPROVED, COMPLETE_REJECTED):
        # The decision made before the race stands whoever wins; the rescue only ends the lease.
        assert event.result == {"decided_before_race": race.event_id}, where
        assert (event.status, event.lease_token) == (("completed", None) if holder_won else (decision, None)), where
    elif holder_won:
        assert event.result == {"decided_in_race": race.event_id}, where
        kept = race.token if race.kind == DECIDE_KEEP else None
        assert (event.status, event.lease_token) == (decision, kept), where
    else:
        assert (event.status, event.lease_token, event.result, event.attempts) == ("queued", None, None, 1), where
    if not holder_won:
        assert (rescue_report.outcome, rescue_report.status) == ("done", event.status), where
    assert trail == expected_trail(race, holder_won), where
    assert event.version == len(trail), f"one audit row per status change: {where}"
    return "holder" if holder_won else "rescue"


def test_rescue_racing_the_holders_report_never_loses_or_undoes_work(fresh_db: str, login_as) -> None:
    """10,000 races, 20 per round: the holder of each event reports on it (a decision of an event
    in processing, or the completion of one decided under a kept lease) 1 ms before its lease
    expires, on its own connection, while api.rescue_expired_leases runs at the moment of expiry
    on another; a barrier releases all 21 transactions together, so reports and the rescue
    contend for the same rows. Exactly one side wins each race: if the report answered done, the
    event shows that decision or completion (a completed event is never re-queued, a decision never
    lost) and the rescue did not touch it; otherwise the report was refused with AL009 and the
    event is queued again, or its decision stands with the action offered again. Every status
    change has exactly one audit row, and the hash chain verifies.

    Each round runs at its own synthetic clock, an hour before the previous round's, so what a
    round leaves (re-queued events, kept leases) is never due in a later round: every event races
    exactly once, and each rescue frees only its own round's events. The holder and the rescuer are
    two agents whose logins are members of agentledger_owner, as only the owner may pass p_now."""
    holder_dsn = login_as(fresh_db, "agentledger_owner", principal="holder")
    rescuer_dsn = login_as(fresh_db, "agentledger_owner", principal="rescuer")
    with connect(fresh_db) as admin:
        submit(admin, RACE_ROUNDS * RACERS)
        now = admin.execute("SELECT now()").fetchone()[0]
    clocks = [now + ROUND_SPACING * (RACE_ROUNDS - r) for r in range(RACE_ROUNDS)]
    this_round: list[Race] = []
    races: list[Race] = []
    holder_answers: dict[int, tuple[str, str | None]] = {}
    rescued: dict[int, object] = {}
    stray_rescues: list[int] = []

    connections = [connect(rescuer_dsn)] + [connect(holder_dsn) for _ in range(RACERS + 1)]
    rescuer, holder, reporters = connections[0], connections[1], connections[2:]

    def prepare(round_no: int) -> None:
        this_round[:] = hold_events(holder, clocks[round_no], round_no)
        races.extend(this_round)

    def reporter(n: int) -> Callable[[int], None]:
        def report(_: int) -> None:
            race = this_round[n]
            holder_answers[race.event_id] = race_report(reporters[n], race)

        return report

    def rescue(round_no: int) -> None:
        ours = {r.event_id for r in this_round}
        for report in api(rescuer, "rescue_expired_leases", p_limit=1000, p_now=clocks[round_no] + LEASE):
            if report.event_id not in ours or report.event_id in rescued:
                stray_rescues.append(report.event_id)
            rescued[report.event_id] = report

    try:
        run_in_lockstep([reporter(n) for n in range(RACERS)] + [rescue], prepare, RACE_ROUNDS)
    finally:
        for conn in connections:
            conn.close()

    assert stray_rescues == [], "each rescue frees only its own round's events, each once"
    assert len(races) == RACE_ROUNDS * RACERS
    with connect(fresh_db) as admin:
        ids = [r.event_id for r in races]
        events, trails = events_by_id(admin, ids), audit_trails(admin, ids)
        wins = Counter(
            check_race(
                race,
                holder_answers[race.event_id],
                rescued.get(race.event_id),
                events[race.event_id],
                trails[race.event_id],
            )
            for race in races
        )
        assert_audit_verifies(admin)
    assert wins["holder"] and wins["rescue"], f"both sides win some races, or nothing raced: {wins}"


# --- 3. Zombie holders ------------------------------------------------------------------------

ZOMBIES = 1000
WORKER = "underwriter-7"  # A and B are this principal, on the same login: only the lease token tells them apart
SECOND_REPORTS = ("complete_events", "fail_events", "heartbeat_events", "release_events")


def zombie_report(conn: psycopg.Connection, function: str, ids: list[int], tokens: list[UUID]) -> list:
    """A report as A's handler would send it, with A's old lease tokens."""
    extra: dict[str, object] = {}
    if function == "decide_events":
        extra = {"p_decisions": ["rejected"] * len(ids), "p_results": [Jsonb({"by": "zombie"})] * len(ids)}
    elif function == "complete_events":
        extra = {"p_details": [Jsonb({"by": "zombie"})] * len(ids)}
    elif function == "fail_events":
        extra = {"p_errors": ["zombie timed out"] * len(ids)}
    return api(conn, function, p_event_ids=ids, p_lease_tokens=tokens, **extra)


def test_a_zombie_holder_is_fenced_by_its_lease_token_not_its_name(fresh_db: str, login_as) -> None:
    """1,000 trials, run as batches and checked one by one: worker A claims an event under a lease
    that expires at once, the rescue re-queues it, and worker B (another connection, same login,
    so the SAME principal, and the same worker name) claims it and approves it keeping the lease. Then A, unaware,
    reports on it with its old token: a decision in every trial, and in addition a completion, a
    failure, a heartbeat or a release. All are refused with AL009, 1000 of 1000, and none changes
    the event: B's decision, result and lease (not even its expiry) stand, B can still complete it,
    the audit trail shows only A's claim, the rescue and B's work, and the chain verifies. After
    B's completion A's token is still refused, not taken as a repeat of B's report."""
    worker_dsn = login_as(fresh_db, "agentledger_worker", principal=WORKER)
    rescuer_dsn = login_as(fresh_db, "agentledger_worker", principal="lease-rescue")
    with (
        connect(fresh_db) as admin,
        connect(worker_dsn) as a,
        connect(worker_dsn) as b,
        connect(rescuer_dsn) as rescuer,
    ):
        ids = submit(admin, ZOMBIES)
        set_lease(admin, "1 microsecond")  # A's leases are over by its next transaction
        a_claims = api(a, "claim_events", p_worker=WORKER, p_limit=ZOMBIES)
        set_lease(admin, "30 seconds")
        rescues = api(rescuer, "rescue_expired_leases", p_limit=ZOMBIES)
        assert {(r.event_id, r.status) for r in rescues} == {(i, "queued") for i in ids}

        b_claims = api(b, "claim_events", p_worker=WORKER, p_limit=ZOMBIES)
        assert [c.id for c in b_claims] == [c.id for c in a_claims] == ids
        b_tokens = {c.id: c.lease_token for c in b_claims}
        b_decided = api(
            b,
            "decide_events",
            p_event_ids=ids,
            p_lease_tokens=[b_tokens[i] for i in ids],
            p_decisions=["approved"] * ZOMBIES,
            p_results=[Jsonb({"by": "B", "event": i}) for i in ids],
            p_keep_lease=True,
        )
        assert set(outcomes(b_decided).values()) == {DONE}
        b_expiry = {r.event_id: r.lease_expires_at for r in b_decided}
        events = events_by_id(admin, ids)
        for i in ids:
            e = events[i]
            assert (e.status, e.result, e.lease_owner, e.lease_token, e.lease_expires_at) == (
                "approved",
                {"by": "B", "event": i},
                WORKER,
                b_tokens[i],
                b_expiry[i],
            ), f"event {i}"
        as_b_left_them = whole_rows(admin, ids)

        a_tokens = {c.id: c.lease_token for c in a_claims}
        answers: dict[int, list] = defaultdict(list)
        for report in zombie_report(a, "decide_events", ids, [a_tokens[i] for i in ids]):
            answers[report.event_id].append(report)
        for n, function in enumerate(SECOND_REPORTS):
            group = ids[n :: len(SECOND_REPORTS)]
            for report in zombie_report(a, function, group, [a_tokens[i] for i in group]):
                answers[report.event_id].append(report)

        assert sorted(answers) == ids and {len(got) for got in answers.values()} == {2}
        not_refused = {
            i: got
            for i, got in answers.items()
            if any((r.outcome, r.code, r.status) != (*REFUSED, "approved") for r in got)
        }
        assert not_refused == {}, f"{len(not_refused)} of {ZOMBIES} trials let A's old token act"
        after_zombie = whole_rows(admin, ids)
        changed = [i for i in ids if after_zombie[i] != as_b_left_them[i]]
        assert changed == [], "A's refused reports leave every column of B's events as it was"

        b_completed = api(b, "complete_events", p_event_ids=ids, p_lease_tokens=[b_tokens[i] for i in ids])
        assert set(outcomes(b_completed).values()) == {DONE}, "B's lease survived the zombie"
        late = zombie_report(a, "complete_events", ids, [a_tokens[i] for i in ids])
        assert outcomes(late) == {i: REFUSED for i in ids}, "not already_done: B's report, not A's"

        trails = audit_trails(admin, ids)
        for i in ids:
            assert trails[i] == [
                SUBMITTED,
                claimed_by(WORKER),
                (3, "processing", "queued", "lease-rescue", "system"),
                claimed_by(WORKER, version=4),
                (5, "processing", "approved", WORKER, "agent"),
                (6, "approved", "completed", WORKER, "agent"),
            ], f"event {i}"
        assert_audit_verifies(admin)
