"""GET /events/stream over real HTTP (a uvicorn process): live changes arrive as Server-Sent
Events, and a reconnect with Last-Event-ID replays exactly what was missed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import psycopg
import pytest

from tests.support import databases
from tests.support.processes import free_port

REPLAY_ROWS = 20  # AGENTLEDGER_STREAM_REPLAY_ROWS of the server


@pytest.fixture
def server(fresh_db: str, login_as) -> Iterator[tuple[str, dict[str, str], str]]:
    """(base URL, headers with a worker key, superuser DSN) of a running API process."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": login_as(fresh_db, "agentledger_api"),
        "AGENTLEDGER_KEY_CACHE_SECONDS": "1",
        "AGENTLEDGER_STREAM_REPLAY_ROWS": str(REPLAY_ROWS),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "agentledger_api:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=databases.REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail(
                "the API did not become ready: " + (process.stdout.read() if process.poll() is not None else "")
            )
        with psycopg.connect(fresh_db, autocommit=True) as conn:
            conn.execute("SELECT api.create_principal('stream-reader', 'agent')")
            key = conn.execute("SELECT api.create_api_key('stream-reader', 'worker')").fetchone()[0]
        yield base, {"Authorization": f"Bearer {key}"}, fresh_db
    finally:
        process.terminate()
        process.wait(timeout=10)


def read_ids(base: str, headers: dict[str, str], count: int, found: list[int], ready: threading.Event) -> None:
    """Collect the ids of `count` stream messages into `found`."""
    with httpx.stream("GET", base + "/events/stream", headers=headers, timeout=10) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        ready.set()
        for line in response.iter_lines():
            if line.startswith("id: "):
                found.append(int(line[4:]))
                if len(found) == count:
                    return


def submit(base: str, headers: dict[str, str], n: int) -> int:
    response = httpx.post(
        base + "/events",
        headers=headers,
        json={"customer_id": "cust-stream", "event_type": "loan_application", "payload": {"n": n}},
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_live_changes_arrive_and_a_resume_replays_what_was_missed(server) -> None:
    base, headers, admin_dsn = server
    live: list[int] = []
    ready = threading.Event()
    reader = threading.Thread(target=read_ids, args=(base, headers, 3, live, ready))
    reader.start()
    assert ready.wait(10)
    time.sleep(0.3)  # the stream starts at "now": let it take its position before the submits
    ids = [submit(base, headers, n) for n in range(3)]
    reader.join(10)
    assert not reader.is_alive(), f"three messages should have arrived, got {live}"

    with psycopg.connect(admin_dsn) as conn:
        seqs = [
            r[0]
            for r in conn.execute(
                "SELECT seq FROM ledger.audit_log WHERE event_id = ANY(%s) ORDER BY seq", [ids]
            ).fetchall()
        ]
    assert live == seqs, "each submit is one message, its id the audit seq, in order"

    # While nobody listens, two more changes; a reconnect from the last id seen gets both, in order.
    missed = [submit(base, headers, n) for n in (3, 4)]
    resumed: list[int] = []
    read_ids(base, {**headers, "Last-Event-ID": str(live[-1])}, 2, resumed, threading.Event())
    with psycopg.connect(admin_dsn) as conn:
        expected = [
            r[0]
            for r in conn.execute(
                "SELECT seq FROM ledger.audit_log WHERE event_id = ANY(%s) ORDER BY seq", [missed]
            ).fetchall()
        ]
    assert resumed == expected


def test_a_replay_is_bounded_except_for_auditors(server) -> None:
    """Last-Event-ID: 0 once the trail is longer than AGENTLEDGER_STREAM_REPLAY_ROWS: 410 with what
    to do instead; a recent position replays; an auditor key replays from the start."""
    base, headers, admin_dsn = server
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute("SELECT api.submit_event('cust-deep', 'loan_application', '{}') FROM generate_series(1, 25)")
        seqs = [r[0] for r in conn.execute("SELECT seq FROM ledger.audit_log ORDER BY seq").fetchall()]
        conn.execute("SELECT api.create_principal('deep-auditor', 'human')")
        auditor = conn.execute("SELECT api.create_api_key('deep-auditor', 'auditor')").fetchone()[0]
    assert len(seqs) > REPLAY_ROWS
    with httpx.stream("GET", base + "/events/stream", headers={**headers, "Last-Event-ID": "0"}, timeout=10) as refused:
        assert refused.status_code == 410 and refused.headers["content-type"].startswith("application/problem+json")
        problem = json.loads(refused.read())
    assert problem["code"] == "replay_too_deep" and "AGENTLEDGER_STREAM_REPLAY_ROWS" in problem["detail"], problem

    recent: list[int] = []
    read_ids(base, {**headers, "Last-Event-ID": str(seqs[-4])}, 3, recent, threading.Event())
    assert recent == seqs[-3:]

    everything: list[int] = []
    read_ids(
        base, {"Authorization": f"Bearer {auditor}", "Last-Event-ID": "0"}, len(seqs), everything, threading.Event()
    )
    assert everything == seqs


def test_each_message_names_the_principal_and_the_key(server) -> None:
    base, headers, _ = server
    messages: list[dict] = []
    ready = threading.Event()

    def read() -> None:
        with httpx.stream("GET", base + "/events/stream", headers=headers, timeout=10) as response:
            ready.set()
            for line in response.iter_lines():
                if line.startswith("data: "):
                    messages.append(json.loads(line[6:]))
                    return

    reader = threading.Thread(target=read)
    reader.start()
    assert ready.wait(10)
    time.sleep(0.3)
    event_id = submit(base, headers, 1)
    reader.join(10)
    assert [(m["event_id"], m["to_status"], m["actor"], m["actor_kind"], m["api_key"]) for m in messages] == [
        (event_id, "queued", "stream-reader", "agent", "stream-reader")
    ]


def test_a_key_that_reads_only_some_events_may_not_read_the_stream(server) -> None:
    """The stream shows every customer's changes: a key limited to types or customers, or a
    submitter key (which reads only its principal's submissions), gets 403."""
    base, _, admin_dsn = server
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute("SELECT api.create_principal('branch-7', 'agent')")
        keys = [
            conn.execute("SELECT api.create_api_key('branch-7', 'worker', p_customers => 'b7-%')").fetchone()[0],
            conn.execute(
                "SELECT api.create_api_key('branch-7', 'worker', 'branch-7-fraud', ARRAY['fraud_alert'])"
            ).fetchone()[0],
            conn.execute("SELECT api.create_api_key('branch-7', 'submitter', 'branch-7-intake')").fetchone()[0],
        ]
    for key in keys:
        response = httpx.get(base + "/events/stream", headers={"Authorization": f"Bearer {key}"}, timeout=5)
        assert response.status_code == 403 and response.json()["code"] == "forbidden", response.text


def test_the_stream_needs_a_key(server) -> None:
    base, _, _ = server
    response = httpx.get(base + "/events/stream", timeout=5)
    assert response.status_code == 401


def test_a_change_that_commits_late_is_not_skipped(server) -> None:
    """A submit whose transaction stays open while later ones commit holds a lower seq: the stream
    waits for it and delivers every change in seq order."""
    base, headers, admin_dsn = server
    live: list[int] = []
    ready = threading.Event()
    reader = threading.Thread(target=read_ids, args=(base, headers, 4, live, ready))
    reader.start()
    assert ready.wait(10)
    time.sleep(0.3)
    with psycopg.connect(admin_dsn) as slow:
        slow.execute("SELECT api.submit_event('cust-late', 'loan_application', '{}')")  # holds its seq
        fast = [submit(base, headers, n) for n in range(3)]
        time.sleep(0.6)  # several polls see the later rows while the early one is still open
        slow.commit()
    reader.join(10)
    assert not reader.is_alive(), f"four messages should have arrived, got {live}"
    with psycopg.connect(admin_dsn) as conn:
        seqs = [
            r[0]
            for r in conn.execute(
                "SELECT seq FROM ledger.audit_log WHERE customer_id IN ('cust-late', 'cust-stream') ORDER BY seq"
            ).fetchall()
        ]
    assert live == seqs, "the late commit's change is delivered, first, and nothing twice"
    assert len(fast) == 3


def test_concurrent_streams_share_one_feed(server) -> None:
    """However many clients subscribe at once, a process reads the trail through one feed."""
    base, headers, admin_dsn = server
    readers = []
    for _ in range(6):
        found: list[int] = []
        ready = threading.Event()
        thread = threading.Thread(target=read_ids, args=(base, headers, 1, found, ready), daemon=True)
        thread.start()
        readers.append((thread, ready, found))
    for _, ready, _ in readers:
        assert ready.wait(10)
    time.sleep(0.5)
    with psycopg.connect(admin_dsn) as conn:
        listeners = conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE application_name = 'agentledger-api-feed' AND datname = current_database()"
        ).fetchone()[0]
    assert listeners == 1
    submit(base, headers, 1)
    for thread, _, found in readers:
        thread.join(10)
        assert len(found) == 1, "every subscriber got the change"


def test_a_revoked_key_ends_its_stream(server) -> None:
    base, _, admin_dsn = server
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute("SELECT api.create_principal('short-lived', 'human')")
        key = conn.execute("SELECT api.create_api_key('short-lived', 'auditor')").fetchone()[0]
    started = time.monotonic()
    with httpx.stream(
        "GET", base + "/events/stream", headers={"Authorization": f"Bearer {key}"}, timeout=15
    ) as response:
        assert response.status_code == 200
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute("SELECT api.revoke_api_key('short-lived', 'test')")
        for _ in response.iter_lines():
            pass  # the stream ends by itself once the key is checked again
    assert time.monotonic() - started < 10, "ended within a few key-cache periods (1 s here)"
