"""`agentledger serve`: run the HTTP API, in one process or several.

Settings come from the environment (DATABASE_URL and the AGENTLEDGER_* variables, or a .env file
in the working directory). With --processes N the command binds the listening socket once and
starts N single-process uvicorn servers that accept on it, supervises them, passes SIGTERM and
SIGINT on to them, and exits 0 once they have all stopped cleanly.

Why not uvicorn's own `--workers N`: uvicorn binds that socket with proto 0, the accepted sockets
inherit it, and asyncio enables TCP_NODELAY only on sockets whose proto is IPPROTO_TCP (uvicorn
issue #3149). Nagle's algorithm then holds back each keep-alive response until the client's
delayed ACK. The socket here is created with IPPROTO_TCP, so every accepted connection gets
TCP_NODELAY. Measured here (2 CPUs, other test runs in parallel): 200 sequential GET /healthz on
one keep-alive connection (httpx.Client), per request, median / mean:
                                      asyncio loop        uvloop (uvicorn's default when installed)
    agentledger serve --processes 1   0.8 / 1.4 ms        0.8 / 1.4 ms
    agentledger serve --processes 2   1.1 / 1.8 ms        1.1 / 1.4 ms
    uvicorn --workers 2               44.1 / 45.6 ms      0.9 / 1.0 ms (uvloop sets TCP_NODELAY itself)
    2 processes, SO_REUSEPORT each    0.9 / 1.5 ms        1.0 / 1.4 ms
One socket shared by the processes (rather than a socket per process with SO_REUSEPORT) keeps one
accept queue: a busy process leaves new connections to the others (SO_REUSEPORT hashes each to
a fixed process), `--port 0` means one port, and a second server started by mistake on the same port fails with "address in
use" instead of silently sharing the traffic.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence

from agentledger.cli.common import whole_number
from agentledger.errors import AgentledgerError, UsageError

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
GRACE_SECONDS = 30.0  # how long in-flight requests may take to finish once asked to stop
POLL_SECONDS = 0.1  # how soon the supervisor notices a signal or a process that ended
SERVER_PACKAGES = ("fastapi", "uvicorn")  # the `server` extra
SERVER_HINT = "pip install 'agentledger[server]' (in a checkout: pip install -e '.[server]'; ./run does it)"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("serve", help="run the HTTP API", description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    p.add_argument(
        "--port",
        type=whole_number(0, 65535),
        default=8000,
        help="port to listen on; 0 picks a free one (default: %(default)s)",
    )
    p.add_argument(
        "--processes",
        type=whole_number(1, 256),
        default=1,
        metavar="N",
        help="server processes sharing the listening socket (default: %(default)s)",
    )
    p.add_argument("--log-level", choices=LOG_LEVELS, default=None, help="(default: $AGENTLEDGER_LOG_LEVEL, else info)")
    p.set_defaults(handler=_serve, command_parser=p)


def require_server() -> None:
    """Refuse, with the command that fixes it, when the `server` extra is not installed."""
    missing = [name for name in SERVER_PACKAGES if not _installed(name)]
    if missing:
        raise AgentledgerError(f"the HTTP API needs the `server` extra ({', '.join(missing)} missing): {SERVER_HINT}")


def _installed(package: str) -> bool:
    try:
        return importlib.util.find_spec(package) is not None
    except ImportError:
        return False


def _serve(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    require_server()
    _exit_quietly_on_stop_signals()  # a stop requested while starting up is a clean stop too
    # Read the settings before binding anything: a missing DATABASE_URL is said once, here, not by
    # every process. (The API is imported only here: other commands need not load the web stack.)
    from agentledger_api.settings import ApiSettings, SettingsError

    try:
        settings = ApiSettings.from_env()
    except SettingsError as exc:
        raise UsageError(str(exc)) from None
    level = args.log_level or settings.log_level.lower()
    if level not in LOG_LEVELS:
        raise UsageError(f"AGENTLEDGER_LOG_LEVEL={settings.log_level!r}: expected one of {', '.join(LOG_LEVELS)}")
    sock = listen(args.host, args.port)
    host, port = sock.getsockname()[:2]
    host = f"[{host}]" if ":" in host else host  # an IPv6 address, as a URL writes it
    print(
        f"agentledger: serving http://{host}:{port} with {args.processes} process(es); stop with Ctrl-C or SIGTERM",
        file=sys.stderr,
        flush=True,
    )
    if args.processes == 1:
        return run_server(sock, level)
    return Supervisor(sock, args.processes, level).run()


def listen(host: str, port: int) -> socket.socket:
    """The listening socket, created with proto IPPROTO_TCP so that asyncio sets TCP_NODELAY on
    each connection accepted from it (see the module's docstring)."""
    try:
        family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    except OSError as exc:
        raise AgentledgerError(f"cannot listen on {host}:{port}: {exc}") from None
    try:
        # SO_REUSEADDR, as every server: a restart need not wait for TIME_WAIT of the last run.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise AgentledgerError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def run_server(sock: socket.socket, level: str) -> int:
    """Serve the API on `sock` in this process until SIGTERM or SIGINT; 0 when it stopped cleanly."""
    _exit_quietly_on_stop_signals()
    try:
        # A stop signal during the imports waits until they are done: raised inside an import, the
        # SystemExit could surface wrapped in another error (e.g. from a class's __set_name__).
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        import uvicorn

        from agentledger_api.app import create_app
        from agentledger_api.settings import ApiSettings

        config = uvicorn.Config(
            create_app(ApiSettings.from_env()),
            log_level=level,
            log_config=log_config(level),
            # The app logs one structured line per request (its middleware).
            access_log=False,
            timeout_graceful_shutdown=int(GRACE_SECONDS),
        )
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        uvicorn.Server(config).run(sockets=[sock])
    except SystemExit as exc:  # uvicorn's own exits (3: the app failed to start), and ours
        return exc.code if isinstance(exc.code, int) else 1
    return 0


def _exit_quietly_on_stop_signals() -> None:
    # uvicorn handles SIGTERM and SIGINT while it serves; after a graceful shutdown it raises the
    # signal again for the handler found before it. Exiting 0 there (and if a signal arrives
    # before uvicorn has started) makes a requested stop a success rather than death by a signal.
    def stop(signum: int, frame: object) -> None:
        raise SystemExit(0)

    for sig in STOP_SIGNALS:
        signal.signal(sig, stop)


def log_config(level: str) -> dict:
    """uvicorn's logging, plus the app's own logger (`agentledger.*`) on stderr at the same level."""
    import uvicorn.config

    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    numeric = "DEBUG" if level == "trace" else level.upper()
    config["loggers"]["agentledger"] = {"handlers": ["default"], "level": numeric, "propagate": False}
    return config


class Supervisor:
    """N server processes accepting on one inherited socket.

    The processes run in their own process group, so a Ctrl-C on the terminal reaches only this
    supervisor, which passes one SIGTERM on: uvicorn treats a second SIGINT as "stop without
    waiting for requests", and Ctrl-C would otherwise reach each process twice. A process that
    ends on its own ends the server (exit 1): a process manager restarting everything is easier
    to reason about than a half-running server.
    """

    def __init__(self, sock: socket.socket, processes: int, level: str) -> None:
        self.sock, self.count, self.level = sock, processes, level
        self.signals: list[int] = []
        self.children: list[subprocess.Popen] = []

    def run(self) -> int:
        previous = {sig: signal.signal(sig, self._on_signal) for sig in STOP_SIGNALS}
        try:
            self.children = [self._start() for _ in range(self.count)]
            self.sock.close()  # the processes hold it now; the port is free once they are gone
            while not self.signals and not self._ended():
                time.sleep(POLL_SECONDS)  # a signal cuts the sleep short
            on_their_own = self._ended()
            self._stop()
        finally:
            self._kill_all()  # only does something if the loop above was cut short by an error
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        for child in on_their_own:
            print(
                f"agentledger: server process {child.pid} ended on its own (exit {child.returncode})",
                file=sys.stderr,
                flush=True,
            )
        # Death by our SIGTERM is a clean stop too: a process still starting Python has no handler yet.
        clean = not on_their_own and all(child.returncode in (0, -signal.SIGTERM) for child in self.children)
        return 0 if clean else 1

    def _on_signal(self, signum: int, frame: object) -> None:
        self.signals.append(signum)

    def _start(self) -> subprocess.Popen:
        fd = self.sock.fileno()
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "agentledger.cli.serve",
                "--fd",
                str(fd),
                "--log-level",
                self.level,
                "--parent",
                str(os.getpid()),
            ],
            pass_fds=(fd,),
            process_group=0,
            stdin=subprocess.DEVNULL,
        )

    def _ended(self) -> list[subprocess.Popen]:
        return [child for child in self.children if child.poll() is not None]

    def _stop(self) -> None:
        """SIGTERM to every running process; wait for them, up to GRACE_SECONDS and a few more.
        Another signal to the supervisor meanwhile kills them at once."""
        asked = len(self.signals)
        for child in self.children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + GRACE_SECONDS + 5
        while len(self._ended()) < len(self.children):
            if time.monotonic() > deadline or len(self.signals) > max(asked, 1):
                self._kill_all()
                break
            time.sleep(POLL_SECONDS)

    def _kill_all(self) -> None:
        for child in self.children:
            if child.poll() is None:
                child.kill()
            child.wait()


def child_main(argv: Sequence[str]) -> int:
    """A server process of the supervisor: serve on the inherited socket `--fd`."""
    parser = argparse.ArgumentParser(prog="agentledger serve (server process)")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--log-level", choices=LOG_LEVELS, required=True)
    parser.add_argument("--parent", type=int, required=True)
    args = parser.parse_args(argv)
    _exit_quietly_on_stop_signals()
    _stop_with_parent(args.parent)
    # Family, type and proto are read from the descriptor itself, so proto stays IPPROTO_TCP.
    return run_server(socket.socket(fileno=args.fd), args.log_level)


def _stop_with_parent(parent: int) -> None:
    """Ask Linux for SIGTERM when the supervisor dies (even by SIGKILL), so no process is left
    serving on its own; elsewhere, and if the supervisor is gone already, stop now."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)
    if os.getppid() != parent:
        raise SystemExit(0)


if __name__ == "__main__":
    raise SystemExit(child_main(sys.argv[1:]))
