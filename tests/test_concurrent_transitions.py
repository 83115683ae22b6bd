"""Racing status changes on real connections: exactly one wins each race, and the audit trail
tells the same story as the events table."""

from __future__ import annotations

import queue
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

pytestmark = pytest.mark.stress  # racing transitions

EVENTS = 50
RACERS_PER_EVENT = 4  # 50 x 4 = 200 concurrent transitions per round
CONNECTIONS = 40


def submit_events(conninfo: str, count: int) -> list[int]:
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            """SELECT id FROM api.submit_events(
                   (SELECT jsonb_agg(jsonb_build_object('customer_id', 'race-' || g,
                                                        'event_type', 'loan_application',
                                                        'payload', jsonb_build_object('n', g)))
                      FROM generate_series(1, %s) g))""",
            [count],
        ).fetchall()
    return [r[0] for r in rows]


def race(dsns: dict[str, str], attempts: list[tuple[int, str, str]]) -> list[tuple[int, str, str, str]]:
    """Run every (event_id, target_status, actor) at once, each on a session of its actor's login
    (dsns: actor -> DSN of a login acting for that principal); return (event, target, actor, outcome)."""
    sessions = {actor: queue.SimpleQueue[psycopg.Connection]() for actor in dsns}
    connections: list[psycopg.Connection] = []

    def attempt(item: tuple[int, str, str]) -> tuple[int, str, str, str]:
        event_id, target, actor = item
        conn = sessions[actor].get()
        try:
            conn.execute("SELECT api.transition_event(%s, %s, 'race')", [event_id, target])
            return event_id, target, actor, "won"
        except psycopg.Error as exc:
            return event_id, target, actor, exc.sqlstate or "?"
        finally:
            sessions[actor].put(conn)

    try:
        # Every session is open before the race starts.
        for actor, dsn in dsns.items():
            for _ in range(CONNECTIONS // len(dsns)):
                connections.append(psycopg.connect(dsn, autocommit=True))
                sessions[actor].put(connections[-1])
        with ThreadPoolExecutor(CONNECTIONS) as pool:
            return list(pool.map(attempt, attempts))
    finally:
        for conn in connections:
            conn.close()


@pytest.fixture
def worker_dsns(fresh_db: str, login_as) -> dict[str, str]:
    """RACERS_PER_EVENT worker logins, each acting for an agent principal of its own name."""
    dsns = [login_as(fresh_db, "agentledger_worker") for _ in range(RACERS_PER_EVENT)]
    return {conninfo_to_dict(dsn)["user"]: dsn for dsn in dsns}


def test_each_race_has_exactly_one_winner_and_the_audit_agrees(fresh_db: str, worker_dsns: dict[str, str]) -> None:
    ids = submit_events(fresh_db, EVENTS)

    # Round 1: four workers (four principals) claim each queued event at once.
    claims = [(i, "processing", actor) for i in ids for actor in worker_dsns]
    round1 = race(worker_dsns, claims)
    # Round 2: four sessions of each claim's holder (a lease taken through api.transition_event lets
    # the principal holding it act) approve or reject it at once. Once one decision is in, neither
    # decision is a valid move any more.
    holder = {e: actor for e, _, actor, outcome in round1 if outcome == "won"}
    targets = ["approved", "rejected", "approved", "rejected"]
    decisions = [(i, targets[n], holder[i]) for i in ids for n in range(RACERS_PER_EVENT)]
    round2 = race(worker_dsns, decisions)

    for outcomes in (round1, round2):
        winners = Counter(e for e, _, _, outcome in outcomes if outcome == "won")
        assert winners == Counter({i: 1 for i in ids}), "exactly one transition wins per event"
        losers = Counter(outcome for *_, outcome in outcomes if outcome != "won")
        assert set(losers) == {"AL003"}, f"every loser is refused as an invalid transition: {losers}"

    won = {e: (target, actor) for e, target, actor, outcome in round2 if outcome == "won"}
    with psycopg.connect(fresh_db) as conn:
        for event_id in ids:
            status, version = conn.execute(
                "SELECT status::text, version FROM ledger.events WHERE id = %s", [event_id]
            ).fetchone()
            trail = conn.execute(
                """SELECT version, from_status::text, to_status::text, actor
                     FROM api.event_history(%s) ORDER BY seq""",
                [event_id],
            ).fetchall()
            target, actor = won[event_id]
            assert status == target and version == 3
            assert [row[0] for row in trail] == [1, 2, 3], "one audit row per change, no more"
            assert trail[1][1:3] == ("queued", "processing")
            assert trail[2][1:] == ("processing", target, actor), "the audit names the winner"
        verdict = conn.execute("SELECT ok, problem FROM api.verify_audit()").fetchone()
        assert verdict == (True, None)
