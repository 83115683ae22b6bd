"""One ASGI middleware for what every request shares: a request id, limits on the headers and the
body, one structured log line, and the metrics. Written against ASGI directly: it runs on every request,
and Starlette's BaseHTTPMiddleware would add a task and a copy per request.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import MutableMapping
from typing import Any

from agentledger_api.database import REQUEST_DEADLINE, RequestDeadline
from agentledger_api.problems import Problem, internal

REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class BodyTooLarge(BaseException):  # not Exception: FastAPI turns any Exception from receive() into a 400
    pass


class RequestContext:
    def __init__(
        self,
        app: Any,
        max_body_bytes: int,
        metrics: Any,
        log: logging.Logger,
        max_header_bytes: int = 16 * 1024,
        max_headers: int = 100,
    ) -> None:
        self.app, self.max_body_bytes, self.metrics, self.log = app, max_body_bytes, metrics, log
        self.max_header_bytes, self.max_headers = max_header_bytes, max_headers

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        raw_headers = scope.get("headers") or []
        headers = dict(raw_headers)
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        response_started = False
        deadline = RequestDeadline()  # shared by the request's database calls (database.py)
        deadline_token = REQUEST_DEADLINE.set(deadline)

        async def send_with_id(message: MutableMapping[str, Any]) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                deadline.open = False  # a stream's later calls are bounded one by one
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        received = 0

        async def receive_limited() -> MutableMapping[str, Any]:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge
            return message

        try:
            declared = int(headers.get(b"content-length", b"0") or 0)
        except ValueError:
            declared = 0
        try:
            too_many = self._headers_problem(raw_headers)
            if too_many is not None:
                # Refused before any route, key check or database call sees the request.
                await too_many.render(request_id)(scope, receive, send_with_id)
                return
            if declared > self.max_body_bytes:
                raise BodyTooLarge
            await self.app(scope, receive_limited, send_with_id)
        except BodyTooLarge:
            if not response_started:
                await self._too_large().render(request_id)(scope, receive, send_with_id)
        except Exception:
            # Caught here, inside the request's context, so the 500 carries its request id too.
            self.log.exception("unhandled error (request_id %s)", request_id)
            if not response_started:
                await internal().render(request_id)(scope, receive, send_with_id)
        finally:
            # Tasks started by the request (the audit feed's poller) keep a copy of its context:
            # the request's deadline must not bound them once it is over.
            deadline.open = False
            REQUEST_DEADLINE.reset(deadline_token)
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.observe(scope["method"], template, status, elapsed)
            caller = scope["state"].get("caller")
            self.log.info(
                json.dumps(
                    {
                        "method": scope["method"],
                        "path": scope["path"],
                        "route": template,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                        "request_id": request_id,
                        "key": getattr(caller, "name", None),  # the key's name, never the key
                        "principal": getattr(caller, "principal", None),
                    }
                )
            )

    def _headers_problem(self, raw_headers: list[tuple[bytes, bytes]]) -> Problem | None:
        size = sum(len(name) + len(value) for name, value in raw_headers)
        if len(raw_headers) <= self.max_headers and size <= self.max_header_bytes:
            return None
        return Problem(
            431,
            "Request headers too large",
            f"The request has {len(raw_headers)} headers of {size} bytes; the limits are {self.max_headers} "
            f"headers (AGENTLEDGER_MAX_HEADERS) of {self.max_header_bytes} bytes in all (AGENTLEDGER_MAX_HEADER_BYTES).",
            code="headers_too_large",
            headers={"Connection": "close"},
        )

    def _too_large(self) -> Problem:
        return Problem(
            413,
            "Request body too large",
            f"The body is over the limit of {self.max_body_bytes} bytes (AGENTLEDGER_MAX_BODY_BYTES).",
            code="too_large",
            headers={"Connection": "close"},
        )
