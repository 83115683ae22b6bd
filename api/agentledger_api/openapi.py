"""The OpenAPI document as the API really answers: errors are problem+json, and keys are required.

FastAPI documents its own 422 body (HTTPValidationError); every error here is an RFC 9457 problem
instead, whatever its status, so each operation documents that, plus the key it needs.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

PUBLIC_PATHS = {"/healthz", "/readyz"}
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {
            "type": "string",
            "description": "The database's SQLSTATE (e.g. AL003), or a word for errors of the API itself.",
        },
        "hint": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
    "additionalProperties": True,
}
PROBLEM = {"content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
ERRORS = {
    "401": "No key, or an unknown or revoked key, or a key of a deactivated principal",
    "403": "The key's role or scope (event types, customers) does not allow this",
    "404": "No such event",
    "409": "The database refused the change (a transition not allowed, a lease held by no one or by another principal, a reused idempotency key, a second approval by one person)",
    "413": "Body or batch too large",
    "422": "Invalid request: malformed JSON, unknown fields, wrong types, or values the database refused",
    "429": "Over the key's request budget; see Retry-After",
    "503": "The database is unavailable; see Retry-After",
}


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            components = schema.setdefault("components", {})
            schemas = components.setdefault("schemas", {})
            schemas.pop("HTTPValidationError", None)
            schemas.pop("ValidationError", None)
            schemas["Problem"] = PROBLEM_SCHEMA
            components["securitySchemes"] = {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key: Authorization: Bearer al_...",
                },
                "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            }
            for path, operations in schema.get("paths", {}).items():
                for operation in operations.values():
                    responses = operation.setdefault("responses", {})
                    public = path in PUBLIC_PATHS
                    for status, description in ERRORS.items():
                        if public and status != "503":
                            responses.pop(status, None)
                            continue
                        responses[status] = {"description": description, **PROBLEM}
                    responses["default"] = {"description": "Any other error", **PROBLEM}
                    if not public:
                        operation["security"] = [{"bearer": []}, {"apiKeyHeader": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
