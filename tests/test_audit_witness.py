"""The witness outside the database: `agentledger audit seal` and `agentledger audit verify`, run as
processes against real PostgreSQL.

Each tamper case is done the way an attacker with a superuser login would: triggers disabled, rows
rewritten, hashes and seals recomputed so that the database's own check, api.verify_audit(),
answers ok. `agentledger audit verify` must still exit 1 and name the problem. The S3 witness runs
against a real moto_server process with Object Lock (tests/test_audit_witness_s3.py).
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from agentledger.audit_check import row_hash
from agentledger.witness import load_or_create_key
from tests.support import databases
from tests.support.docs import code_blocks, section

AGENTLEDGER = [sys.executable, "-m", "agentledger"]

# What an attacker runs after a rewrite so that the database's own check passes: every row's hash
# and link recomputed per event, every seal recomputed from the rows in its range (a seal left with
# no row is deleted).
RECOMPUTE = """
DO $$
DECLARE
    r record;
    s record;
    v_prev bytea;
    v_event bigint;
    v_version integer;
    v_digest bytea;
    v_after bigint := 0;
BEGIN
    FOR r IN SELECT * FROM ledger.audit_log ORDER BY event_id, seq LOOP
        IF v_event IS DISTINCT FROM r.event_id THEN
            v_prev := NULL;
            v_event := r.event_id;
            v_version := 0;
        END IF;
        v_version := v_version + 1;
        UPDATE ledger.audit_log a
           SET prev_hash = v_prev, version = v_version,
               from_status = CASE WHEN v_version = 1 THEN NULL ELSE a.from_status END,
               hash = ledger._audit_hash(v_prev, a.seq, a.customer_id, a.event_id, v_version,
                                         CASE WHEN v_version = 1 THEN NULL ELSE a.from_status END, a.to_status,
                                         a.actor, a.actor_kind, a.db_user, a.reason, a.details, a.attempt,
                                         a.recorded_at, a.api_key)
         WHERE a.seq = r.seq
        RETURNING a.hash INTO v_prev;
    END LOOP;
    FOR s IN SELECT * FROM ledger.audit_seals ORDER BY id LOOP
        IF NOT EXISTS (SELECT 1 FROM ledger.audit_log a WHERE a.seq > v_after AND a.seq <= s.last_seq) THEN
            DELETE FROM ledger.audit_seals WHERE id = s.id;
            CONTINUE;
        END IF;
        UPDATE ledger.audit_seals z
           SET (first_seq, row_count, prev_digest, digest) =
               (SELECT min(a.seq), count(*), v_digest,
                       sha256(coalesce(v_digest, ''::bytea) || string_agg(a.hash, ''::bytea ORDER BY a.seq))
                  FROM ledger.audit_log a WHERE a.seq > v_after AND a.seq <= s.last_seq)
         WHERE z.id = s.id
        RETURNING z.digest INTO v_digest;
        v_after := s.last_seq;
    END LOOP;
END
$$"""


def tamper(db: str, *statements: str, recompute: bool = True) -> None:
    """Run statements as a superuser with the rules switched off, then (by default) recompute every
    hash and seal; the database's own verification must then answer ok."""
    with psycopg.connect(db) as conn:
        for table in ("ledger.events", "ledger.audit_log", "ledger.audit_seals"):
            conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        for statement in statements:
            conn.execute(statement)
        if recompute:
            conn.execute(RECOMPUTE)
        for table in ("ledger.events", "ledger.audit_log", "ledger.audit_seals"):
            conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
    assert query(db, "SELECT ok, problem FROM api.verify_audit()") == [(True, None)], (
        "the tampering leaves nothing the database's own check can see"
    )


def query(db: str, statement: str, params: list | None = None) -> list[tuple]:
    with psycopg.connect(db, autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


@dataclass
class Audit:
    """`agentledger audit ...` as a process, on one database, witness and key."""

    db: str
    witness: Path
    key: Path
    env: dict[str, str]

    def __call__(self, *args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*AGENTLEDGER, "audit", *args],
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        key = self.key.read_text() if self.key.exists() else None
        if key:
            secret = "".join(key.strip().splitlines()[1:-1])
            assert secret not in done.stdout.replace("\n", "") and secret not in done.stderr.replace("\n", ""), (
                "the private key is never printed"
            )
        return done


def audit_env(db: str, witness: str, key: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTLEDGER_", "AWS_"))}
    env.update({"DATABASE_URL": db, "AGENTLEDGER_WITNESS": witness, "AGENTLEDGER_WITNESS_KEY": str(key)})
    return env


@pytest.fixture
def audit(fresh_db: str, tmp_path: Path) -> Audit:
    witness, key = tmp_path / "witness", tmp_path / "keys" / "witness-key"
    return Audit(fresh_db, witness, key, audit_env(fresh_db, str(witness), key))


def work(db: str, customers: str = "abc") -> list[int]:
    """An event per customer: the first approved by an agent, the last (of several) cancelled."""
    ids = [
        query(db, "SELECT id FROM api.submit_event(%s, 'loan_application', %s)", [f"cust-{c}", '{"amount": 1200}'])[0][
            0
        ]
        for c in customers
    ]
    query(db, "SELECT api.transition_event(%s, 'processing')", [ids[0]])
    query(
        db,
        "SELECT api.transition_event(%s, 'approved', p_reason => 'income covers it', p_details => %s)",
        [ids[0], '{"model": "dti-v2", "confidence": 0.93, "note": "é \\"quoted\\" \\t tab"}'],
    )
    if len(ids) > 1:
        query(db, "SELECT api.cancel_event(%s, 'customer withdrew')", [ids[-1]])
    return ids


def seal_ids(db: str) -> list[int]:
    """The ids of the database's seals, oldest first. A copy of the test template may start at any
    id: seals made in tests that rolled back still used up theirs."""
    return [seal_id for (seal_id,) in query(db, "SELECT id FROM ledger.audit_seals ORDER BY id", [])]


def sealed(audit: Audit) -> str:
    done = audit("seal")
    assert done.returncode == 0, done.stderr
    return done.stdout


def fails_with(audit: Audit, *expected: str, **env: str) -> str:
    done = audit("verify", **env)
    assert done.returncode == 1, f"exit {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    line = done.stdout.strip()
    assert line.startswith("verify failed: ") and "\n" not in line, line
    for text in expected:
        assert text in line, line
    print(line)
    return line


def test_an_intact_trail_verifies_and_the_witness_is_private(audit: Audit) -> None:
    work(audit.db)
    out = sealed(audit)
    assert out.startswith("witnessed seal "), out
    assert stat.S_IMODE(audit.key.stat().st_mode) == 0o600, "the key is made with mode 0600"
    assert stat.S_IMODE(audit.witness.stat().st_mode) == 0o700
    entries = sorted(audit.witness.glob("*.json"))
    assert entries and all(stat.S_IMODE(e.stat().st_mode) == 0o600 for e in entries)
    entry = json.loads(entries[0].read_text())
    seal = query(
        audit.db,
        "SELECT id, first_seq, last_seq, row_count, encode(digest, 'hex') FROM ledger.audit_seals ORDER BY id LIMIT 1",
    )[0]
    assert (entry["seal_id"], entry["first_seq"], entry["last_seq"], entry["row_count"], entry["digest"]) == seal
    assert entry["prev_digest"] is None and entry["prev_entry"] is None and entry["key_id"].startswith("ed25519:")
    assert entry["signature"] and entry["witnessed_at"]

    work(audit.db, "de")
    assert sealed(audit).startswith("witnessed seal ")
    second = json.loads(sorted(audit.witness.glob("*.json"))[-1].read_text())
    assert second["prev_digest"] == entry["digest"] and second["prev_entry"], "the witness is a chain"
    assert sealed(audit).startswith("nothing new to seal: the witness ends at seal ")

    work(audit.db, "f")  # newer than the witness, but young: not a problem
    done = audit("verify")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("intact: ") and "2 witnessed seals" in done.stdout, done.stdout
    assert "newer rows not witnessed yet" in done.stdout

    public = audit("public-key")
    assert public.returncode == 0 and public.stdout.startswith("-----BEGIN PUBLIC KEY-----"), public.stderr
    public_file = audit.key.parent / "witness.pub"
    public_file.write_text(public.stdout)
    done = audit("verify", AGENTLEDGER_WITNESS_PUBLIC_KEY=str(public_file), AGENTLEDGER_WITNESS_KEY="/nonexistent")
    assert done.returncode == 0, "an auditor verifies with the public key alone: " + done.stdout + done.stderr


def test_an_edited_row_with_its_chain_and_seal_recomputed_is_found(audit: Audit) -> None:
    ids = work(audit.db)
    sealed(audit)
    tamper(
        audit.db, f"UPDATE ledger.audit_log SET reason = 'forged approval' WHERE event_id = {ids[0]} AND version = 2"
    )
    fails_with(audit, "the audit rows of witnessed seal ", "no longer hash to its witnessed digest")


def test_deleting_every_seal_is_found(audit: Audit) -> None:
    work(audit.db)
    sealed(audit)
    tamper(audit.db, "DELETE FROM ledger.audit_seals", recompute=False)
    fails_with(audit, "witnessed seal ", "is missing from the database: seals were deleted")


def test_an_event_erased_with_its_audit_rows_is_found(audit: Audit) -> None:
    ids = work(audit.db)
    sealed(audit)
    tamper(
        audit.db,
        f"DELETE FROM ledger.audit_log WHERE event_id = {ids[1]}",
        f"DELETE FROM ledger.events WHERE id = {ids[1]}",
    )
    fails_with(audit, "witnessed seal ", "the database has ", "rows were deleted")


def test_tail_rows_deleted_and_the_event_rolled_back_are_found(audit: Audit) -> None:
    ids = work(audit.db)
    sealed(audit)
    cancelled = ids[-1]
    tamper(
        audit.db,
        f"DELETE FROM ledger.audit_log WHERE event_id = {cancelled} AND version = 2",
        f"UPDATE ledger.events SET status = 'queued', version = 1 WHERE id = {cancelled}",
    )
    fails_with(audit, "witnessed seal ", "rows were deleted")


def test_a_whole_alternative_history_recomputed_by_the_database_is_found(audit: Audit) -> None:
    work(audit.db)
    sealed(audit)
    work(audit.db, "de")
    sealed(audit)
    # Every row rewritten, every hash and seal recomputed: a consistent, different past.
    tamper(
        audit.db,
        "UPDATE ledger.audit_log SET actor = 'someone-else', reason = coalesce(reason, 'rewritten')",
        'UPDATE ledger.audit_log SET details = \'{"model": "other"}\' WHERE details IS NOT NULL',
    )
    fails_with(audit, "the audit rows of witnessed seal ", "no longer hash to its witnessed digest")
    # ... and the sealer witnesses nothing that continues it.
    work(audit.db, "g")
    done = audit("seal")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "does not continue the witnessed seal" in done.stdout, done.stdout


def test_seals_rewritten_over_intact_rows_are_found(audit: Audit) -> None:
    work(audit.db)
    sealed(audit)
    work(audit.db, "de")
    sealed(audit)
    # Two seals merged into one: the rows are untouched, the seals recomputed and consistent.
    tamper(
        audit.db,
        "DELETE FROM ledger.audit_seals WHERE id = (SELECT max(id) FROM ledger.audit_seals)",
        "UPDATE ledger.audit_seals SET last_seq = (SELECT max(seq) FROM ledger.audit_log)",
    )
    first = seal_ids(audit.db)[0]
    fails_with(audit, f"seal {first} in the database differs from its witnessed copy: it was rewritten")


def test_rows_no_witnessed_seal_covers_are_reported_once_old(audit: Audit) -> None:
    work(audit.db)
    sealed(audit)
    event = work(audit.db, "x")[0]
    assert audit("verify").returncode == 0, "young rows may wait for the next seal"
    time.sleep(1.1)
    fails_with(
        audit,
        f"of event {event}, written at ",
        "is in no witnessed seal (the witness ends at seq ",
        "is the sealer running?",
        AGENTLEDGER_SEAL_INTERVAL_SECONDS="0.5",
    )
    done = audit("verify", "--seal-interval", "0.2")
    assert done.returncode == 1 and "is in no witnessed seal" in done.stdout, done.stdout


def test_an_unsealed_trail_with_an_empty_witness_is_reported(audit: Audit) -> None:
    work(audit.db)
    audit.witness.mkdir(mode=0o700)
    done = audit("public-key")  # makes no key: only a sealer does
    assert done.returncode == 2 and "no witness key" in done.stderr, done.stderr
    load_or_create_key(audit.key)
    time.sleep(0.3)
    fails_with(audit, "is in no witnessed seal (the witness holds no seal)", AGENTLEDGER_SEAL_INTERVAL_SECONDS="0.1")


def test_a_changed_or_removed_witness_entry_is_found(audit: Audit) -> None:
    for customers in ("a", "b", "c"):
        work(audit.db, customers)
        sealed(audit)
    first, middle, _last = sorted(audit.witness.glob("*.json"))
    middle.unlink()
    fails_with(audit, "does not follow entry", "an entry between them was removed or altered")

    entry = json.loads(first.read_text())
    entry["row_count"] += 1
    first.write_text(json.dumps(entry))
    fails_with(audit, f"the signature of witness entry {first.name} does not verify")


def test_misuse_exits_2(audit: Audit, tmp_path: Path) -> None:
    work(audit.db)
    sealed(audit)
    no_db = {k: v for k, v in audit.env.items() if k != "DATABASE_URL"}
    done = subprocess.run([*AGENTLEDGER, "audit", "verify"], env=no_db, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "no database given" in done.stderr, done.stderr
    done = audit("verify", AGENTLEDGER_WITNESS=str(tmp_path / "nowhere"))
    assert done.returncode == 2 and "does not exist" in done.stderr, done.stderr
    done = audit("verify", AGENTLEDGER_WITNESS_KEY=str(tmp_path / "no-key"))
    assert done.returncode == 2 and "no witness key" in done.stderr, done.stderr
    audit.key.chmod(0o644)
    done = audit("verify")
    assert done.returncode == 2 and "may be read by other users" in done.stderr, done.stderr
    audit.key.chmod(0o600)
    done = audit("verify", "--seal-interval", "soon")
    assert done.returncode == 2, done.stderr


def test_the_sealer_keeps_sealing_until_sigterm(audit: Audit) -> None:
    sealer = subprocess.Popen(
        [*AGENTLEDGER, "audit", "seal", "--every", "0.2"],
        env=audit.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for customers in ("ab", "cd"):
            work(audit.db, customers)
            last = query(audit.db, "SELECT max(seq) FROM ledger.audit_log")[0][0]
            deadline = time.monotonic() + 30
            while not any(json.loads(p.read_text())["last_seq"] >= last for p in audit.witness.glob("*.json")):
                assert time.monotonic() < deadline and sealer.poll() is None, "the sealer witnesses new rows"
                time.sleep(0.1)
        sealer.send_signal(signal.SIGTERM)
        out, err = sealer.communicate(timeout=30)
    finally:
        if sealer.poll() is None:
            sealer.kill()
            sealer.wait()
    assert sealer.returncode == 0, err
    assert "sealer: sealing every 0.2 s" in err and "sealer: witnessed seal" in err and "sealer: stopped" in err, err
    assert "created the witness key" in err
    secret = "".join(audit.key.read_text().strip().splitlines()[1:-1])
    assert secret not in err.replace("\n", "") and secret not in out.replace("\n", "")
    done = audit("verify")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_documented_commands_run(audit: Audit, tmp_path: Path) -> None:
    # tests/test_readme_commands.py counts this block as covered here.
    [block] = code_blocks(section("Sealing and verifying"), "sh")
    test_url = f"postgresql://{databases.USER}@{databases.HOST}:{databases.PORT}/{databases.dbname(audit.db)}"
    for documented, used in [
        ("postgresql://postgres@127.0.0.1:5432/agentledger", test_url),
        ("/srv/witness/agentledger", str(audit.witness)),
        ("/etc/agentledger/witness-key", str(audit.key)),
        (".venv/bin/agentledger", str(databases.REPO_ROOT / ".venv" / "bin" / "agentledger")),
    ]:
        assert documented in block, f"the documented commands changed: {documented!r}"
        block = block.replace(documented, used)
    work(audit.db)
    env = {k: v for k, v in databases.client_env().items() if not k.startswith(("AGENTLEDGER_", "DATABASE_URL"))}
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(f"witnessed seal {seal_ids(audit.db)[0]} "), done.stdout
    assert done.stdout.count("intact: ") == 2, done.stdout
    assert (tmp_path / "witness.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert stat.S_IMODE(audit.key.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "recorded_at",
    [
        "2026-01-01 12:00:00+00",
        "2026-01-01 12:00:00.5+00",
        "2026-06-30 23:59:59.000001+02",
        "2026-03-01 00:00:00.12+05:30",
    ],
)
def test_row_hashes_are_recomputed_as_the_database_computes_them(fresh_db: str, recorded_at: str) -> None:
    """agentledger audit verify recomputes ledger._audit_hash outside the database: the same bytes
    for every character, time and JSON value."""
    awkward = "".join(chr(c) for c in range(1, 32)) + ' "quoted" \\ back/slash é ß 漢字 \U0001f600 \u2028 \x7f'
    details = json.dumps({"b": [1, 2.50, 1e-7, None, True], "a": {"nested": awkward}, "": 12345678901234567890})
    cases = [  # (prev_hash, actor, reason, details, api_key: None when a login acted)
        (None, awkward, awkward, None, None),
        (bytes(32), "ops", None, details, awkward),
        (b"\x01" * 32, "agent-7", "", "{}", "agent-7-key"),
    ]
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        for prev_hash, actor, reason, detail, api_key in cases:
            from_status = None if prev_hash is None else "queued"
            stored, text, at = conn.execute(
                "SELECT ledger._audit_hash(%s, 42, 'cust-1', 7, 3, %s, 'processing', %s, 'agent', 'db-login', %s,"
                " %s::jsonb, 2, %s::timestamptz, %s), %s::jsonb::text, %s::timestamptz",
                [prev_hash, from_status, actor, reason, detail, recorded_at, api_key, detail, recorded_at],
            ).fetchone()
            computed = row_hash(
                prev_hash,
                42,
                "cust-1",
                7,
                3,
                from_status,
                "processing",
                actor,
                "agent",
                "db-login",
                reason,
                text,
                2,
                at,
                api_key,
            )
            assert computed == bytes(stored), (actor, reason, detail, recorded_at, api_key)
