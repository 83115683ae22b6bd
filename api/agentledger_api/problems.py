"""Errors as `application/problem+json` (RFC 9457): type, title, status, detail, and the code.

Database refusals keep the database's SQLSTATE as `code`, with its message as `detail` and its
hint as `hint`. SQLSTATE_STATUS is the mapping; a test holds it equal to the table of docs/errors.md.
Errors of the API itself carry a word as `code`: validation, unauthorized, forbidden,
rate_limited, too_large, headers_too_large, replay_too_deep, not_found, method_not_allowed, unavailable, schema_not_deployed,
internal.
"""

from __future__ import annotations

from typing import Any

import psycopg
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_TYPE = "https://agentledger.invalid/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"

# SQLSTATE -> (HTTP status, title). Codes missing here are server faults: 500, logged in full.
SQLSTATE_STATUS: dict[str, tuple[int, str]] = {
    "AL001": (404, "No such event"),
    "AL002": (422, "Unknown event type"),
    "AL003": (409, "Transition not allowed"),
    "AL004": (409, "Idempotency key reused with another body"),
    "AL005": (413, "Too large"),
    "AL006": (422, "Invalid customer_id"),
    "AL007": (422, "Payload is not a JSON object"),
    "AL008": (422, "Reason required"),
    "AL009": (409, "Lease not held"),
    "AL011": (403, "The audit trail is append-only"),
    "AL012": (409, "Events are records"),
    "AL013": (413, "Batch too large"),
    "AL014": (409, "Wrong isolation level"),
    "AL015": (409, "API key name in use"),
    "AL016": (404, "No such API key"),
    "AL017": (403, "The proposer cannot review"),
    "AL018": (409, "Already approved by this reviewer"),
    "AL019": (422, "Value out of range"),
    "AL020": (422, "Unknown value"),
    "AL021": (422, "Malformed argument"),
    "23514": (422, "Value not allowed"),
    "22P02": (422, "Value not readable"),
    "22P05": (422, "Text contains a NUL character"),
    "28000": (401, "Not authenticated"),
    "42501": (403, "Not allowed"),
}
# Not refusals of the request: the database is busy or away. The client should retry.
UNAVAILABLE_SQLSTATES = {
    "57014",
    "55P03",
    "40001",
    "40P01",
    "53300",
    "57P01",
    "57P02",
    "57P03",
    "08000",
    "08003",
    "08006",
    "08001",
    "08004",
}


class Problem(Exception):
    """An error the API answers with, as problem+json."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        code: str | None = None,
        hint: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status, self.title, self.detail = status, title, detail
        self.code, self.hint, self.headers, self.extra = code, hint, headers or {}, extra or {}

    @classmethod
    def from_database(cls, exc: psycopg.Error) -> Problem:
        code = exc.sqlstate or ""
        diag = exc.diag
        if code in SQLSTATE_STATUS:
            status, title = SQLSTATE_STATUS[code]
            # 28000: the key was revoked, or its principal deactivated, since it was cached here.
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            return cls(status, title, diag.message_primary, code=code, hint=diag.message_hint, headers=headers)
        if code in UNAVAILABLE_SQLSTATES or isinstance(exc, psycopg.OperationalError):
            return unavailable(code or None)
        raise exc  # a fault, not a refusal: the generic handler logs it and answers 500

    def body(self, request_id: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_TYPE + (self.code or str(self.status)),
            "title": self.title,
            "status": self.status,
        }
        if self.detail:
            body["detail"] = self.detail
        if self.code:
            body["code"] = self.code
        if self.hint:
            body["hint"] = self.hint
        body.update(self.extra)
        if request_id:
            body["request_id"] = request_id
        return body

    def render(self, request_id: str | None = None) -> JSONResponse:
        """The one rendering of a problem: every error the API answers goes through here (the route
        handlers' errors through `error_response`, the middleware's own as an ASGI response)."""
        return JSONResponse(
            self.body(request_id), status_code=self.status, headers=self.headers, media_type=PROBLEM_MEDIA_TYPE
        )


def request_id_of(request: Request) -> str | None:
    request_id: str | None = getattr(request.state, "request_id", None)
    return request_id


def unavailable(code: str | None = None) -> Problem:
    return Problem(
        503,
        "Database unavailable",
        "The database did not answer in time; retry shortly.",
        code=code or "unavailable",
        headers={"Retry-After": "2"},
    )


def internal() -> Problem:
    return Problem(
        500, "Internal error", "The server failed; the request id identifies it in the logs.", code="internal"
    )


def problem_for(request: Request, exc: Exception) -> Problem:
    """The problem that answers an exception raised while handling `request`."""
    if isinstance(exc, Problem):
        return exc
    if isinstance(exc, psycopg.Error):
        try:
            return Problem.from_database(exc)
        except psycopg.Error:
            request.app.state.log.exception("database fault", extra={"request_id": request_id_of(request)})
            return internal()
    if isinstance(exc, RequestValidationError):
        return validation_problem(exc)
    if isinstance(exc, StarletteHTTPException):
        return http_problem(exc)
    request.app.state.log.exception("unhandled error", extra={"request_id": request_id_of(request)})
    return internal()


def validation_problem(exc: RequestValidationError) -> Problem:
    errors = [
        {
            "loc": [str(part) for part in error.get("loc", ())],
            "msg": error.get("msg", ""),
            "type": error.get("type", ""),
        }
        for error in exc.errors()
    ]
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    detail = f"{'.'.join(first['loc'])}: {first['msg']}" if first["loc"] else str(first["msg"])
    return Problem(422, "Invalid request", detail, code="validation", extra={"errors": errors})


def http_problem(exc: StarletteHTTPException) -> Problem:
    if exc.status_code == 400:
        # The body could not be read as JSON at all (bad UTF-8, absurd nesting): a malformed request.
        return Problem(422, "Invalid request", f"The body is not readable JSON: {exc.detail}", code="validation")
    title, code = {404: ("Not found", "not_found"), 405: ("Method not allowed", "method_not_allowed")}.get(
        exc.status_code, ("HTTP error", "http_error")
    )
    return Problem(
        exc.status_code, title, str(exc.detail) if exc.detail else None, code=code, headers=dict(exc.headers or {})
    )


async def error_response(request: Request, exc: Exception) -> JSONResponse:
    """The exception handler of the app, for every kind of error (see app.py)."""
    return problem_for(request, exc).render(request_id_of(request))
