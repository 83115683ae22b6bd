"""`agentledger run`: everything needed to try agentledger, in one command.

1. The database: the server of DATABASE_URL when it is set; otherwise a private embedded PostgreSQL
   in `.agentledger/` of the project (see agentledger.embedded), whose data survives a restart.
2. The schema, deployed with `agentledger db deploy`'s code (not sqitch).
3. Login roles for the API (a member of agentledger_api) and for the example workers (a member of
   agentledger_worker, mapped to the agent principal example-agents, the actor of their steps),
   never superusers; a development API key (role worker) of the agent principal dev, and a reviewer
   key for each of two human principals, dev-reviewer-1 and dev-reviewer-2 (four eyes are two
   principals). The database keeps only a key's sha256, so each key is also kept in `.agentledger/`
   (mode 0600), for later runs to use it again (the output names the files, never a key). Loans
   above 10,000 get the example review policy (two reviewers) unless loan_application has a policy
   already.
4. The HTTP API (`agentledger serve`) as its role on 127.0.0.1; once /readyz answers, the processes
   of EXTRA_PROCESSES: the example workers (`agentledger worker --example`) as theirs, and the
   sealer (`agentledger audit seal --every N`), which witnesses the audit trail in
   `.agentledger/witness`. Then where to look is printed on stdout.

SIGINT (Ctrl-C) or SIGTERM stops the processes in reverse order (the workers, then the API), then
PostgreSQL, and the command exits 0; a second signal stops them at once. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import io
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from agentledger import database
from agentledger.cli.audit import seal_interval
from agentledger.cli.common import whole_number
from agentledger.cli.serve import GRACE_SECONDS, require_server
from agentledger.database import one
from agentledger.embedded import EmbeddedPostgres, child_setup, stop_process
from agentledger.errors import AgentledgerError
from agentledger.sqitch.console import Console
from agentledger.sqitch.deploy import MODES, deploy
from agentledger.sqitch.project import Project, find_project_dir
from agentledger.sqitch.session import DeploySession

HOST = "127.0.0.1"
STATE_DIR = ".agentledger"
DATABASE = "agentledger"  # the embedded server's database
API_ROLE = "agentledger_dev_api"
WORKER_ROLE = "agentledger_dev_worker"
# Settings of a group role do not pass to its members (see docs/operations.md, Roles); both roles get them.
ROLE_SETTINGS = (("statement_timeout", "15s"), ("lock_timeout", "5s"), ("idle_in_transaction_session_timeout", "30s"))
KEY_FILE = "dev-api-key"
KEY_NAME = "dev"  # the development key's name, and its principal's
KEY_ROLE = "worker"
KEY_KIND = "agent"
# Two reviewers, each a person of their own (four eyes are two principals), so that a loan above the
# example review policy's limit can get its four-eyes approval: (principal and key name, key file).
REVIEWER_KEYS = (("dev-reviewer-1", "dev-reviewer-1-key"), ("dev-reviewer-2", "dev-reviewer-2-key"))
# The agent principal WORKER_ROLE acts for: the actor of the example workers' steps.
WORKER_PRINCIPAL = "example-agents"
# The names tried for a principal or a key when `name` is taken: name, name-2, name-3, ...
SUFFIXES = range(2, 10_000)
# The example review policy: loans above 10,000 need two reviewers. Set only where loan_application
# has no policy yet, so a DBA's own policy is kept.
EXAMPLE_POLICY = """INSERT INTO ledger.review_policies (event_type, payload_field, payload_above, approvals_required)
                    VALUES ('loan_application', 'amount', 10000, 2) ON CONFLICT (event_type) DO NOTHING"""
READY_SECONDS = 60.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass(frozen=True)
class RunContext:
    """What a process started beside the API may need."""

    project_dir: Path
    api_url: str
    api_key: str
    database_url: str  # as the administrator who deployed the schema
    worker_database_url: str  # as WORKER_ROLE, a member of agentledger_worker


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)  # added to this command's environment
    # Sent when a second signal hurries the stop (a worker then releases what it holds); SIGKILL
    # follows 5 s later if the process is still there.
    hurry_signal: int = signal.SIGKILL


def example_workers(ctx: RunContext) -> ProcessSpec:
    """`agentledger worker --example`: the example agents, as WORKER_ROLE."""
    return ProcessSpec(
        f"the example workers (agentledger worker --example) as {WORKER_ROLE}",
        [sys.executable, "-m", "agentledger", "worker", "--example"],
        {database.ENV_VAR: ctx.worker_database_url},
        hurry_signal=signal.SIGTERM,
    )


def sealer(ctx: RunContext) -> ProcessSpec:
    """`agentledger audit seal --every N`: seals the audit trail every AGENTLEDGER_SEAL_INTERVAL_SECONDS
    and copies each seal, signed, to the witness (.agentledger/witness unless AGENTLEDGER_WITNESS
    names another), as WORKER_ROLE."""
    every = f"{seal_interval():g}"
    return ProcessSpec(
        f"the sealer (agentledger audit seal --every {every}) as {WORKER_ROLE}",
        [sys.executable, "-m", "agentledger", "audit", "seal", "--every", every],
        {database.ENV_VAR: ctx.worker_database_url},
        hurry_signal=signal.SIGTERM,
    )


# The processes that run beside the API: each entry returns the process to start once the API
# answers; they are stopped (SIGTERM) before the API, the last started first.
EXTRA_PROCESSES: list[Callable[[RunContext], ProcessSpec]] = [example_workers, sealer]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "run",
        help="run everything locally: database, schema, dev key and the API",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument(
        "--port", type=whole_number(1, 65535), default=8000, help=f"port of the API on {HOST} (default: %(default)s)"
    )
    p.add_argument(
        "--project-dir",
        default=None,
        metavar="DIR",
        help=f"the agentledger checkout: its sqitch plan is deployed and {STATE_DIR}/ is kept in it "
        "(default: the checkout this package lives in)",
    )
    p.set_defaults(handler=_run, command_parser=p)


class StopRequested(BaseException):
    """SIGINT or SIGTERM arrived: stop everything and exit 0."""


class Stopper:
    """The first signal asks for a stop, which happens between steps; a second one while a step is
    still blocked leaves it at once, and, while stopping, kills what is still running."""

    def __init__(self) -> None:
        self.signals: list[int] = []
        self.stopping = False
        self._previous: dict[int, object] = {}

    def install(self) -> None:
        self._previous = {sig: signal.signal(sig, self._on_signal) for sig in STOP_SIGNALS}

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]

    def _on_signal(self, signum: int, frame: object) -> None:
        self.signals.append(signum)
        if len(self.signals) == 2 and not self.stopping:
            raise StopRequested

    def requested(self) -> bool:
        return bool(self.signals)

    def hurry(self) -> bool:
        return len(self.signals) > 1

    def check(self) -> None:
        if self.signals:
            raise StopRequested


class Progress:
    """`agentledger: step ...` lines on stderr, completed with the result and the time taken."""

    def __init__(self) -> None:
        self._step: tuple[str, float] | None = None
        self._line_open = False

    def start(self, text: str, own_line: bool = False) -> None:
        """own_line: other output (a server's) follows, so the result gets a line of its own."""
        self._close_line()
        print(f"agentledger: {text} ...", end="\n" if own_line else "", file=sys.stderr, flush=True)
        self._step, self._line_open = (text, time.monotonic()), not own_line

    def done(self, result: str = "done") -> float:
        assert self._step is not None
        text, started = self._step
        elapsed = time.monotonic() - started
        if self._line_open:
            print(f" {result} ({elapsed:.1f} s)", file=sys.stderr, flush=True)
        else:
            print(f"agentledger: {text}: {result} ({elapsed:.1f} s)", file=sys.stderr, flush=True)
        self._step, self._line_open = None, False
        return elapsed

    def note(self, text: str) -> None:
        self._close_line()
        print(f"agentledger: {text}", file=sys.stderr, flush=True)

    def _close_line(self) -> None:
        if self._line_open:
            print(file=sys.stderr, flush=True)
            self._line_open = False


def _run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    require_server()  # before anything starts: the API is the point of the command
    project = Project(find_project_dir(args.project_dir))
    state = project.root / STATE_DIR
    progress = Progress()

    def show(path: Path) -> str:
        try:
            return str(path.relative_to(project.root))
        except ValueError:
            return str(path)

    _check_port_free(args.port)
    stopper = Stopper()
    stopper.install()
    embedded: EmbeddedPostgres | None = None
    children: list[tuple[str, subprocess.Popen]] = []
    hurry_signals: dict[int, int] = {}  # pid -> the signal a hurried stop sends
    ended_on_its_own: tuple[str, subprocess.Popen] | None = None
    try:
        _private_dir(state)
        url = os.environ.get(database.ENV_VAR)
        if url:
            admin = database.to_conninfo(url)
            progress.note(f"using the database of {database.ENV_VAR}: {database.display(admin)}")
            shown_database = database.display(admin)
        else:
            embedded = EmbeddedPostgres(state, progress.note, show)
            progress.start(f"starting embedded PostgreSQL in {show(embedded.data_dir)}")
            embedded.start(stopper.requested)
            stopper.check()
            progress.done(f"PostgreSQL {embedded.version} ready on a Unix socket in {show(embedded.socket_dir)}")
            _create_database(embedded.conninfo("postgres"), DATABASE)
            admin = embedded.conninfo(DATABASE)
            shown_database = f'psql "{embedded.url(DATABASE)}"'

        progress.start("deploying schema")
        progress.done(_deploy(project, admin))
        stopper.check()

        progress.start(
            f"preparing the login roles {API_ROLE} and {WORKER_ROLE}, the principals, the development API keys "
            "and the example review policy"
        )
        access = _prepare_access(admin, state, embedded is None, show)
        progress.done()
        progress.note(access.worker_note)
        for key in (access.key, *access.reviewer_keys):
            progress.note(key.note)
        progress.note(access.policy_note)
        stopper.check()

        api_url = f"http://{HOST}:{args.port}"
        progress.start(f"starting the API on {api_url} as {API_ROLE}", own_line=True)
        env = {**os.environ, database.ENV_VAR: access.api_conninfo}
        children.append(
            (
                "the API",
                _spawn(
                    [sys.executable, "-m", "agentledger", "serve", "--host", HOST, "--port", str(args.port)],
                    env,
                    project.root,
                ),
            )
        )
        _wait_until_ready(f"{api_url}/readyz", children[-1][1], stopper)
        progress.done("ready")

        context = RunContext(project.root, api_url, access.key.key, admin, access.worker_conninfo)
        for make in EXTRA_PROCESSES:
            spec = make(context)
            progress.note(f"starting {spec.name}")
            children.append((spec.name, _spawn(spec.argv, {**os.environ, **spec.env}, project.root)))
            hurry_signals[children[-1][1].pid] = spec.hurry_signal

        _print_where_to_look(api_url, access, shown_database)
        ended_on_its_own = _wait(children, stopper)
    except StopRequested:
        pass
    finally:
        stopper.stopping = True
        if stopper.signals:
            progress.note(f"stopping ({signal.Signals(stopper.signals[0]).name}) ...")
        elif ended_on_its_own:
            name, process = ended_on_its_own
            progress.note(f"{name} stopped on its own (exit {process.returncode}); stopping the rest ...")
        database_started = embedded is not None and embedded.process is not None
        for _name, process in reversed(children):
            stop_process(
                process,
                signal.SIGTERM,
                GRACE_SECONDS + 5,
                stopper.hurry,
                hurry_signals.get(process.pid, signal.SIGKILL),
            )
        if embedded is not None:
            embedded.stop(stopper.hurry)
        if children or database_started:
            progress.note(
                "stopped" + (f"; the data stays in {show(state)} for the next run" if database_started else "")
            )
        stopper.restore()
    return 1 if ended_on_its_own else 0


def _check_port_free(port: int) -> None:
    """Fail before starting anything when the API could not listen (e.g. another run is going)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError as exc:
            raise AgentledgerError(
                f"cannot listen on {HOST}:{port}: {exc.strerror or exc}; is another "
                "`agentledger run` going? Choose another port with --port"
            ) from None


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, exist_ok=True)
    path.chmod(0o700)  # it holds the data, the socket and the development key


def _create_database(maintenance: str, name: str) -> None:
    with psycopg.connect(maintenance, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _deploy(project: Project, conninfo: str) -> str:
    """`agentledger db deploy`, its sqitch-style lines kept aside unless it fails."""
    out = io.StringIO()
    session = DeploySession(project, conninfo, Console(out=out, err=out))
    mode = project.config.get("deploy.mode") or "all"
    try:
        code = deploy(session, None, mode if mode in MODES else "all")
    except AgentledgerError as exc:
        raise AgentledgerError(f"deploying the schema failed: {exc}\n{out.getvalue()}".rstrip()) from None
    finally:
        session.close()
    if code != 0:
        raise AgentledgerError(f"deploying the schema failed:\n{out.getvalue()}".rstrip())
    deployed = sum(1 for line in out.getvalue().splitlines() if line.startswith("  + "))
    return f"{deployed} changes deployed" if deployed else "up to date"


@dataclass(frozen=True)
class DevKey:
    name: str
    principal: str  # who acts with it
    key: str
    file: str  # where it is kept, as shown to the user
    note: str  # how it was made or found, for the progress lines


@dataclass(frozen=True)
class Access:
    api_conninfo: str
    worker_conninfo: str
    key: DevKey  # the development key, role worker
    reviewer_keys: tuple[DevKey, ...]  # of two human principals
    worker_note: str  # which principal WORKER_ROLE acts for
    policy_note: str


def _prepare_access(admin: str, state: Path, with_password: bool, show: Callable[[Path], str]) -> Access:
    """The login roles of the API and the example workers, the principals, the development keys and
    the example review policy; each is created only when missing."""
    try:
        conn = psycopg.connect(admin, autocommit=True, application_name="agentledger run")
    except psycopg.Error as exc:
        raise AgentledgerError(f"cannot connect to {database.display(admin)}: {exc}".rstrip()) from None
    with conn:
        api_conninfo = _login_role(
            conn, admin, API_ROLE, "agentledger_api", "the API", "agentledger api", with_password
        )
        worker_conninfo = _login_role(
            conn, admin, WORKER_ROLE, "agentledger_worker", "a worker", "agentledger worker", with_password
        )
        worker_note = _login_principal(conn, WORKER_ROLE, WORKER_PRINCIPAL)
        key = _dev_key(conn, KEY_NAME, KEY_KIND, KEY_ROLE, state / KEY_FILE, show)
        reviewers = tuple(_dev_key(conn, name, "human", "reviewer", state / file, show) for name, file in REVIEWER_KEYS)
        added = conn.execute(EXAMPLE_POLICY).rowcount
    policy_note = (
        "set the example review policy: loan_application above 10,000 needs two reviewers"
        if added
        else "loan_application already has a review policy; kept as it is"
    )
    return Access(api_conninfo, worker_conninfo, key, reviewers, worker_note, policy_note)


def _dev_key(
    conn: psycopg.Connection, name: str, kind: str, role: str, key_file: Path, show: Callable[[Path], str]
) -> DevKey:
    """The key kept in key_file if the database takes it; else a new key of the principal `name` of
    this kind (made when missing), named after it, written to key_file. A key kept from before
    principals existed acts for the principal of its own name, which the upgrade gave it."""
    kept = key_file.read_text().strip() if key_file.is_file() else ""
    found = (
        conn.execute("SELECT name, principal FROM api.authenticate_api_key(%s)", (kept,)).fetchone() if kept else None
    )
    if found is not None:
        return DevKey(
            found[0],
            found[1],
            kept,
            show(key_file),
            f"development API key {found[0]} ({role}) of {found[1]}, read from {show(key_file)}",
        )
    principal, made = _principal(conn, name, kind)
    taken = {r[0] for r in conn.execute("SELECT name FROM api.list_api_keys()")}
    fresh = next(n for n in _names(principal) if n not in taken)
    key = one(conn.execute("SELECT api.create_api_key(%s, %s, %s)", (principal, role, fresh)))[0]
    _write_private(key_file, key + "\n")
    why = " (replacing a key this database does not take)" if kept else ""
    return DevKey(
        fresh,
        principal,
        key,
        show(key_file),
        f"created the development API key {fresh} ({role}) of the {'new ' if made else ''}{kind} principal "
        f"{principal}; the database keeps only its sha256, so it is also kept in {show(key_file)} (mode 0600){why} "
        "for later runs to use it again",
    )


def _names(name: str) -> Iterator[str]:
    yield name
    for suffix in SUFFIXES:
        yield f"{name}-{suffix}"


def _principal(conn: psycopg.Connection, name: str, kind: str) -> tuple[str, bool]:
    """The active principal `name` of this kind, else a new one named `name` (or name-2, ... when a
    principal of another kind, or a deactivated one, has the name); and whether it was made now."""
    known = {r[0]: (r[1], r[2]) for r in conn.execute("SELECT name, kind, active FROM api.list_principals()")}
    for candidate in _names(name):
        if candidate not in known:
            conn.execute("SELECT api.create_principal(%s, %s)", (candidate, kind))
            return candidate, True
        if known[candidate] == (kind, True):
            return candidate, False
    raise AgentledgerError(f"no free principal name like {name}")  # not reached: the names run out first


def _login_principal(conn: psycopg.Connection, login: str, name: str) -> str:
    """The principal `login` acts for: the one it is mapped to, else a new agent principal `name`
    (or name-2, ... when taken) mapped to it. A note saying which."""
    mapped = conn.execute(
        "SELECT name, kind, active FROM api.list_principals() WHERE %s = ANY (logins)", (login,)
    ).fetchone()
    if mapped is None:
        known = {r[0] for r in conn.execute("SELECT name FROM api.list_principals()")}
        fresh = next(n for n in _names(name) if n not in known)
        conn.execute("SELECT api.create_principal(%s, 'agent', %s)", (fresh, login))
        return f"created the agent principal {fresh}; the example workers' login {login} acts for it"
    principal, kind, active = mapped
    if not active:
        raise AgentledgerError(
            f"the example workers' login {login} acts for the principal {principal}, which was deactivated, so "
            f"the workers could not act. As an administrator, map the login anew: DELETE FROM "
            f"ledger.principal_logins WHERE login = '{login}'; then start again"
        )
    return f"the example workers' login {login} acts for the {kind} principal {principal}"


def _login_role(
    conn: psycopg.Connection, admin: str, name: str, group: str, who: str, application_name: str, with_password: bool
) -> str:
    """The login role `name`, a member of `group` and never a superuser: created or repaired when
    needed; its connection string (with a fresh password when the server is one's own)."""
    role = sql.Identifier(name)
    row = conn.execute("SELECT rolsuper, rolcanlogin FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
    if row is None:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(role))
        for setting, value in ROLE_SETTINGS:
            conn.execute(sql.SQL("ALTER ROLE {} SET {} = {}").format(role, sql.Identifier(setting), sql.Literal(value)))
    elif row[0]:
        raise AgentledgerError(
            f"the role {name} is a superuser, and {who} never runs as one: ALTER ROLE {name} NOSUPERUSER"
        )
    elif not row[1]:
        conn.execute(sql.SQL("ALTER ROLE {} LOGIN").format(role))
    if not one(conn.execute("SELECT pg_has_role(%s, %s, 'MEMBER')", (name, group)))[0]:
        conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(group), role))
    overrides: dict[str, str] = {"user": name, "application_name": application_name}
    if with_password:
        # A server of one's own may want a password: a fresh one each run, held only by the process.
        password = secrets.token_urlsafe(24)
        # Set as a SCRAM verifier made here: the password itself never reaches the server or its logs.
        verifier = database.scram_sha256_verifier(password)
        conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(role, sql.Literal(verifier)))
        overrides["password"] = password
    return make_conninfo(admin, **overrides)


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(text)


def _spawn(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen:
    """A child in its own process group (a Ctrl-C on the terminal reaches only this command, which
    stops things in order), sent SIGTERM if this command dies."""
    return subprocess.Popen(
        argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, process_group=0, preexec_fn=child_setup(signal.SIGTERM)
    )


def _wait_until_ready(url: str, process: subprocess.Popen, stopper: Stopper) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while True:
        stopper.check()
        if process.poll() is not None:
            raise AgentledgerError(f"the API exited while starting (exit {process.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise AgentledgerError(f"{url} did not answer 200 within {READY_SECONDS:g} s")
        time.sleep(0.1)


def _wait(children: list[tuple[str, subprocess.Popen]], stopper: Stopper) -> tuple[str, subprocess.Popen] | None:
    """Until a stop is asked for (None) or a child ends on its own (that child)."""
    while not stopper.requested():
        for name, process in children:
            if process.poll() is not None:
                return name, process
        time.sleep(0.1)
    return None


def _print_where_to_look(api_url: str, access: Access, shown_database: str) -> None:
    # The keys are never printed (terminals and CI logs keep what they show): only their files.
    auth = f'-H "Authorization: Bearer $(cat {access.key.file})"'
    body = '{"customer_id": "cust-42", "event_type": "loan_application", "payload": {"amount": 8000, "income": 60000}}'
    reviewers = ", ".join(f"{k.principal} ({k.file})" for k in access.reviewer_keys)
    print(
        f"""
agentledger is running.
  API docs:  {api_url}/docs
  API key:   in {access.key.file}   ({access.key.name} of {access.key.principal}, role {KEY_ROLE})
  reviewers: {reviewers}
  database:  {shown_database}

The example workers decide and complete loan_application, fraud_alert and support_ticket
events. Submit one:
  curl -s -X POST {api_url}/events {auth} -H 'Content-Type: application/json' -d '{body}'
Its audit trail, queued to completed (ID is the "id" the submit answered):
  curl -s {api_url}/events/ID/history {auth}
A loan above 10,000 waits in review for both reviewers: GET /reviews, POST /events/ID/reviews
(the README's Walkthrough shows how).

Stop with Ctrl-C: the data, the roles and the keys stay for the next run.
""",
        flush=True,
    )
