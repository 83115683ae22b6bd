"""`agentledger audit`: seal the audit trail into a witness outside the database, and verify the
database against that witness.

    agentledger audit seal              # seal now; copy every new seal, signed, to the witness
    agentledger audit seal --every 5    # the sealer: the same every 5 s until SIGTERM or Ctrl-C
    agentledger audit verify            # the database against the witness: 0 intact, 1 tampered
    agentledger audit public-key        # the public key an auditor verifies with

The witness is AGENTLEDGER_WITNESS (a directory, default .agentledger/witness, or
s3://bucket/prefix), the signing key AGENTLEDGER_WITNESS_KEY (default .agentledger/witness-key,
made on first use, mode 0600). See docs/operations.md, "The witness".
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import psycopg

from agentledger import database
from agentledger.audit_check import verify
from agentledger.errors import AgentledgerError, UsageError
from agentledger.witness import (
    Entry,
    EntryExists,
    Seal,
    Witness,
    WitnessProblem,
    key_id,
    key_path,
    load_or_create_key,
    load_private_key,
    make_entry,
    open_witness,
    parse_entry,
    public_pem,
    read_entries,
    trusted_public_key,
)

INTERVAL_ENV = "AGENTLEDGER_SEAL_INTERVAL_SECONDS"
DEFAULT_INTERVAL = 5.0
ACTOR = "sealer"
SEALS_PAGE = 1000
MISMATCH_REPEAT_SECONDS = 60.0


def seal_interval() -> float:
    text = os.environ.get(INTERVAL_ENV) or str(DEFAULT_INTERVAL)
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 86_400:
        raise UsageError(f"{INTERVAL_ENV}={text}: a number of seconds, above 0 and at most 86400")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 86_400:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0 and at most 86400")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "audit", help="seal the audit trail into its witness; verify it", description=__doc__.split("\n\n")[0]
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    db_url = argparse.ArgumentParser(add_help=False)
    db_url.add_argument("--db-url", metavar="URL", help=f"the database (default: ${database.ENV_VAR})")

    seal = actions.add_parser(
        "seal",
        parents=[db_url],
        help="seal now and witness every new seal",
        description="Seal the audit trail (api.seal_audit) and append every seal the witness does not hold yet, "
        "signed. Connect as a member of agentledger_worker or agentledger_auditor.",
    )
    seal.add_argument(
        "--every",
        type=_seconds,
        metavar="SECONDS",
        help=f"keep sealing at this interval until SIGTERM or Ctrl-C (./run passes ${INTERVAL_ENV}, default "
        f"{DEFAULT_INTERVAL:g})",
    )
    seal.add_argument("--actor", default=ACTOR, help="who seals, in ledger.audit_seals (default: %(default)s)")
    seal.set_defaults(handler=_seal, command_parser=seal)

    check = actions.add_parser(
        "verify",
        parents=[db_url],
        help="check the database against the witness",
        description="Recompute, from the rows of the database, every witnessed seal, and check every chain, "
        "event and seal. Exit 0 when intact, 1 at the first problem (named on stdout), 2 on misuse. "
        "Connect as a member of agentledger_auditor or as an administrator.",
    )
    check.add_argument(
        "--seal-interval",
        type=_seconds,
        metavar="SECONDS",
        help=f"the sealer's interval: rows older than twice this that no witnessed seal covers are reported "
        f"(default: ${INTERVAL_ENV}, or {DEFAULT_INTERVAL:g})",
    )
    check.set_defaults(handler=_verify, command_parser=check)

    public = actions.add_parser(
        "public-key",
        help="print the witness's public key (PEM)",
        description="Print the public half of the witness key, for auditors who verify without the private key "
        "(AGENTLEDGER_WITNESS_PUBLIC_KEY).",
    )
    public.set_defaults(handler=_public_key, command_parser=public)


def note(text: str) -> None:
    print(f"agentledger: {text}", file=sys.stderr, flush=True)


@contextmanager
def _connect(args: argparse.Namespace, application_name: str) -> Iterator[psycopg.Connection]:
    conninfo = database.resolve_url(args.db_url)
    try:
        conn = psycopg.connect(conninfo, autocommit=True, application_name=application_name)
    except psycopg.Error as exc:
        raise AgentledgerError(f"cannot connect to {database.display(conninfo)}: {exc}".rstrip()) from None
    try:
        yield conn
    except psycopg.errors.InsufficientPrivilege as exc:
        raise UsageError(
            f"{exc.diag.message_primary}: connect as a member of agentledger_auditor (verify), "
            "agentledger_worker or agentledger_auditor (seal), or as an administrator"
        ) from None
    except psycopg.errors.UndefinedFunction as exc:
        raise UsageError(
            f"{exc.diag.message_primary}: is this release of agentledger deployed? `agentledger db deploy`"
        ) from None
    finally:
        conn.close()


# Sealing ------------------------------------------------------------------------------------------


class Sealer:
    """Seals, then appends to the witness every seal after the last one it holds, each one
    checked to continue the witnessed chain: a database whose seals were rewritten gets nothing
    more witnessed."""

    def __init__(self, witness: Witness, actor: str) -> None:
        self.witness, self.actor = witness, actor
        path = key_path()
        self.key, created = load_or_create_key(path)
        if created:
            note(f"created the witness key {path} (mode 0600), key id {key_id(self.key.public_key())}")
        self.public = self.key.public_key()
        self.prepared = False  # the witness is made ready (directory made, bucket's lock checked) at the first round
        self.last: Entry | None = None

    def _latest_witnessed(self) -> Entry | None:
        newer = self.witness.names(after=self.last.name if self.last else None)
        if not newer:
            return self.last
        return parse_entry(newer[-1], self.witness.read(newer[-1]), self.public)

    def round(self, conn: psycopg.Connection) -> list[Entry]:
        if not self.prepared:
            self.witness.prepare()
            self.prepared = True
        conn.execute("SELECT api.seal_audit(%s)", [self.actor])
        added: list[Entry] = []
        with self.witness.lock():
            self.last = self._latest_witnessed()
            while True:
                rows = conn.execute(
                    "SELECT id, first_seq, last_seq, row_count, prev_digest, digest FROM api.list_seals(%s, %s)",
                    [self.last.seal_id if self.last else 0, SEALS_PAGE],
                ).fetchall()
                for row in rows:
                    seal = Seal(*row)
                    expected = self.last.digest if self.last else None
                    if seal.prev_digest != expected:
                        raise WitnessProblem(
                            f"seal {seal.id} in the database does not continue the witnessed "
                            + (f"seal {self.last.seal_id}" if self.last else "chain, which starts empty")
                            + ": the database's seals were rewritten, and nothing more is witnessed; "
                            "run `agentledger audit verify`"
                        )
                    entry = make_entry(seal, self.last, self.key)
                    try:
                        self.witness.append(entry.name, entry.encoded())
                    except EntryExists:  # another sealer was first: go on from its entry
                        entry = parse_entry(entry.name, self.witness.read(entry.name), self.public)
                        if (entry.digest, entry.prev_digest) != (seal.digest, seal.prev_digest):
                            raise WitnessProblem(
                                f"witness entry {entry.name} holds another seal {seal.id} than the database's"
                            ) from None
                    else:
                        added.append(entry)
                    self.last = entry
                if len(rows) < SEALS_PAGE:
                    return added


def _describe(added: list[Entry], witness: Witness) -> str:
    if len(added) == 1:
        return f"witnessed {added[0].describe()} in {witness.description}"
    rows = sum(e.row_count for e in added)
    return (
        f"witnessed seals {added[0].seal_id} to {added[-1].seal_id} (audit rows up to {added[-1].last_seq}, "
        f"{rows} rows) in {witness.description}"
    )


def _seal(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    witness = open_witness()
    sealer = Sealer(witness, args.actor)
    if args.every is None:
        with _connect(args, "agentledger audit seal") as conn:
            try:
                added = sealer.round(conn)
            except WitnessProblem as exc:
                print(f"refused: {exc}")
                return 1
        if added:
            for entry in added:
                print(f"witnessed {entry.describe()} in {witness.description}")
        elif sealer.last:
            print(f"nothing new to seal: the witness ends at {sealer.last.describe()}")
        else:
            print("nothing to seal yet: the audit trail is empty")
        return 0
    return _seal_continuously(args, sealer)


def _seal_continuously(args: argparse.Namespace, sealer: Sealer) -> int:
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    note(f"sealer: sealing every {args.every:g} s into {sealer.witness.description}, key id {key_id(sealer.public)}")
    conn: psycopg.Connection | None = None
    last_problem, last_said = "", 0.0
    try:
        while not stop.is_set():
            problem = ""
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(
                        database.resolve_url(args.db_url), autocommit=True, application_name="agentledger sealer"
                    )
                added = sealer.round(conn)
                if added:
                    note(f"sealer: {_describe(added, sealer.witness)}")
            except WitnessProblem as exc:
                problem = f"sealer: refused: {exc}"
            except psycopg.Error as exc:
                problem = f"sealer: database error, retrying: {str(exc).strip()}"
                if conn is not None:
                    conn.close()
                conn = None
            except UsageError:
                raise  # a setting to fix: stop, and say which
            except AgentledgerError as exc:  # e.g. object storage out of reach for a while
                problem = f"sealer: {exc}; retrying"
            if problem and (problem != last_problem or time.monotonic() - last_said > MISMATCH_REPEAT_SECONDS):
                note(problem)
                last_said = time.monotonic()
            last_problem = problem
            stop.wait(args.every)
    finally:
        if conn is not None:
            conn.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    note("sealer: stopped")
    return 0


# Verifying ----------------------------------------------------------------------------------------


def _verify(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    interval = args.seal_interval or seal_interval()
    public = trusted_public_key()
    witness = open_witness()
    if not witness.exists():
        raise UsageError(f"the witness {witness.description} does not exist: set AGENTLEDGER_WITNESS")
    started = time.monotonic()
    note(f"reading the witness {witness.description} ...")
    try:
        entries = read_entries(witness, public)
    except WitnessProblem as exc:
        print(f"verify failed: {exc}")
        return 1
    note(f"checking the database against {_count(len(entries), 'witnessed seal')} ...")
    with _connect(args, "agentledger audit verify") as conn:
        report = verify(conn, entries, timedelta(seconds=2 * interval), note)
    if not report.ok:
        print(f"verify failed: {report.problem}")
        return 1
    if entries:
        at = datetime.fromisoformat(entries[-1].witnessed_at).astimezone(UTC)
        witnessed = (
            f"{_count(len(entries), 'witnessed seal')} cover audit rows up to seq {report.witnessed_up_to} "
            f"(the latest witnessed at {at:%Y-%m-%d %H:%M:%S} UTC)"
        )
    else:
        witnessed = "the witness holds no seal yet"
    print(
        f"intact: {_count(report.rows, 'audit row')} of {_count(report.events, 'event')}; {witnessed}; "
        f"{_count(report.unwitnessed_rows, 'newer row')} not witnessed yet ({time.monotonic() - started:.1f} s)"
    )
    return 0


def _count(n: int, thing: str) -> str:
    return f"{n:,} {thing}" + ("" if n == 1 else "s")


def _public_key(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    public = load_private_key(key_path()).public_key()
    print(public_pem(public), end="")
    note(f"key id {key_id(public)}")
    return 0
