"""Request bodies. They check shape only (types, unknown fields, NUL characters, integer ranges):
every rule about events is the database's, which answers with a documented SQLSTATE.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

BIGINT_MAX = 2**63 - 1


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; refusing it here gives a 422 instead of a driver error.
    if "\x00" in value:
        raise ValueError("must not contain the NUL character (\\u0000)")
    return value


def _payload_object(value: Any) -> Any:
    # The payload is a JSON object, or (as older clients send it) a string holding one.
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"a string payload must hold a JSON object; it is not JSON ({exc.msg})") from None
    if not isinstance(value, dict):
        raise ValueError("must be a JSON object, or a string holding one")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
Payload = Annotated[dict[str, Any], BeforeValidator(_payload_object)]
EventId = Annotated[int, Field(ge=1, le=BIGINT_MAX)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewEvent(Strict):
    customer_id: Text = Field(examples=["cust-42"])
    event_type: Text = Field(examples=["loan_application"])
    payload: Payload = Field(examples=[{"amount": 25000}])
    priority: int = Field(0, ge=-32768, le=32767, description="Higher runs first.")
    run_after: datetime | None = Field(None, description="Not claimed before this time.")
    correlation_id: UUID | None = None
    caused_by_event_id: EventId | None = None


class StatusChange(Strict):
    status: Text = Field(examples=["approved"])
    reason: Text | None = Field(None, max_length=4000)
    result: dict[str, Any] | None = None
    details: dict[str, Any] | None = None
    lease_token: UUID | None = Field(None, description="The lease token, when the event is held under a claim.")


class ClaimRequest(Strict):
    limit: int = Field(1, ge=1, le=1000)
    event_types: list[Text] | None = Field(None, min_length=1, max_length=100)


class LeaseRef(Strict):
    lease_token: UUID


class FailReport(Strict):
    lease_token: UUID
    error: Text = Field(min_length=1, max_length=4000)
    error_type: Text | None = Field(None, max_length=200)
    retryable: bool = True
