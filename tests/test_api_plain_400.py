"""Where the promise "every error is problem+json" stops: requests the HTTP parser refuses.

A request whose request line or headers cannot be parsed never reaches the application, so no
handler of it can answer. uvicorn answers it itself (with httptools, the parser `agentledger serve`
uses): 400, a plain-text body, and the connection closed. docs/http-api.md ("Errors") says so,
with this list; these tests send the raw bytes over a socket to the real server and hold both to
what it does. A request that parses, however wrong, is the application's and gets problem+json.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests.support import databases
from tests.support.processes import free_port
from tests.support.servers import Server, serving

PLAIN_BODY = b"Invalid HTTP request received."
HOST = b"Host: 127.0.0.1\r\n"

REFUSED_BY_THE_PARSER = {
    "a header name with a space": b"GET /healthz HTTP/1.1\r\n" + HOST + b"Bad Header: 1\r\n\r\n",
    "a non-ASCII request line": "GET /événements HTTP/1.1\r\n".encode() + HOST + b"\r\n",
    "an invalid Content-Length": b"POST /events HTTP/1.1\r\n" + HOST + b"Content-Length: abc\r\n\r\n",
    "a bare LF": b"GET /healthz HTTP/1.1\n" + HOST.replace(b"\r\n", b"\n") + b"\n",
    "a request target of 64 KiB": b"GET /" + b"a" * 65_535 + b" HTTP/1.1\r\n" + HOST + b"\r\n",
    "a header line without a colon": b"GET /healthz HTTP/1.1\r\n" + HOST + b"NoColon\r\n\r\n",
    "a control character in a header value": b"GET /healthz HTTP/1.1\r\n" + HOST + b"X-A: a\x01b\r\n\r\n",
    "two Content-Lengths": b"POST /events HTTP/1.1\r\n" + HOST + b"Content-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    "an unknown HTTP version": b"GET /healthz HTTP/9.9\r\n" + HOST + b"\r\n",
    "not HTTP at all (TLS)": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`agentledger serve`, as deployed. The parser answers before any database call, so the
    database it is given is a port nobody listens on."""
    env = {**databases.client_env(), "DATABASE_URL": f"postgresql://nobody@127.0.0.1:{free_port()}/none"}
    with serving(env, tmp_path_factory.mktemp("plain400"), "--log-level", "warning", program="agentledger") as server:
        yield server


def exchange(server: Server, raw: bytes) -> tuple[bytes, dict[bytes, bytes], bytes]:
    """Send raw bytes, read until the server closes; (status line, headers, body)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(raw)
        answer = b""
        while chunk := sock.recv(65536):  # the server closes the connection after its 400
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *lines = head.split(b"\r\n")
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(b":") for line in lines)}
    return status, headers, body


@pytest.mark.parametrize("raw", REFUSED_BY_THE_PARSER.values(), ids=REFUSED_BY_THE_PARSER.keys())
def test_a_request_the_parser_refuses_gets_uvicorns_plain_400(server: Server, raw: bytes) -> None:
    status, headers, body = exchange(server, raw)
    assert status == b"HTTP/1.1 400 Bad Request", (status, headers, body)
    assert headers[b"content-type"] == b"text/plain; charset=utf-8"
    assert headers[b"connection"] == b"close"
    assert b"x-request-id" not in headers  # the application never saw it
    assert body == PLAIN_BODY


def test_a_request_that_parses_gets_problem_json_however_wrong(server: Server) -> None:
    """Just inside the parser's limits: a target of 64 KiB less one byte, on a path that does not
    exist, and a header value with a non-ASCII byte; the application answers with a problem."""
    raw = b"GET /" + b"a" * 65_534 + b" HTTP/1.1\r\n" + HOST + "X-Note: é\r\nConnection: close\r\n\r\n".encode()
    status, headers, body = exchange(server, raw)
    assert status == b"HTTP/1.1 404 Not Found", (status, headers, body)
    assert headers[b"content-type"] == b"application/problem+json"
    assert b"x-request-id" in headers and b'"code":"not_found"' in body


def test_the_docs_say_where_the_promise_stops() -> None:
    errors = (databases.REPO_ROOT / "docs" / "http-api.md").read_text().split("## Errors", 1)[1]
    assert PLAIN_BODY.decode() in errors
    for case in ("bare LF", "Content-Length", "64 KiB", "header name"):
        assert case in errors, case


def test_the_server_keeps_serving_after_refusing(server: Server) -> None:
    exchange(server, REFUSED_BY_THE_PARSER["a bare LF"])
    status, _, body = exchange(server, b"GET /healthz HTTP/1.1\r\n" + HOST + b"Connection: close\r\n\r\n")
    assert status == b"HTTP/1.1 200 OK" and body == b'{"status":"ok"}'
