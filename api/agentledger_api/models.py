"""Request bodies. They check shape only (types, unknown fields, text PostgreSQL cannot store,
integer and time ranges, JSON that could not be sent back): every rule about events is the
database's, which answers with a documented SQLSTATE.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

BIGINT_MAX = 2**63 - 1


MAX_JSON_DEPTH = 64


def _valid_unicode(value: str) -> str:
    # A lone UTF-16 surrogate (e.g. "\\ud800") cannot be encoded for PostgreSQL at all.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (it holds a lone surrogate such as \\ud800)") from None
    return value


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; refusing it here gives a 422 instead of a driver error.
    # (Inside JSON the database refuses it itself, with SQLSTATE 22P05.)
    if "\x00" in value:
        raise ValueError("must not contain the NUL character (\\u0000)")
    return _valid_unicode(value)


def _storable_json(value: Any, depth: int = 0) -> Any:
    """JSON the database stores and the API can send back: finite numbers, valid text, and at most
    MAX_JSON_DEPTH levels of nesting (Python's JSON reader accepts NaN and Infinity; JSON does not)."""
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"is nested more than {MAX_JSON_DEPTH} levels deep")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must not hold NaN or Infinity: they are not JSON numbers")
    if isinstance(value, str):
        _valid_unicode(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _valid_unicode(key)
            _storable_json(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _storable_json(item, depth + 1)
    return value


def _sane_time(value: datetime | None) -> datetime | None:
    # Times the database and the driver both handle: years 1900-9999 in UTC.
    if value is None:
        return value
    if value.tzinfo is None:
        raise ValueError("must carry a time zone, e.g. 2030-01-01T09:00:00Z")
    try:
        year = value.astimezone(UTC).year
    except OverflowError:
        year = 0
    if not 1900 <= year <= 9999:
        raise ValueError("must lie between the years 1900 and 9999")
    return value


def _payload_object(value: Any) -> Any:
    # The payload is a JSON object, or (as older clients send it) a string holding one.
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"a string payload must hold a JSON object; it is not JSON ({exc.msg})") from None
        except (RecursionError, ValueError):
            raise ValueError(
                "a string payload must hold a JSON object that is not absurdly nested "
                "and has no number longer than 4300 digits"
            ) from None
    if not isinstance(value, dict):
        raise ValueError("must be a JSON object, or a string holding one")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
JsonObject = Annotated[dict[str, Any], AfterValidator(_storable_json)]
Payload = Annotated[dict[str, Any], BeforeValidator(_payload_object), AfterValidator(_storable_json)]
Time = Annotated[datetime, AfterValidator(_sane_time)]
EventId = Annotated[int, Field(ge=1, le=BIGINT_MAX)]
# What an integer argument of the database can carry. The ranges the rules allow (a priority, a page
# or claim size) are the database's to state and refuse (AL019); this only keeps a number PostgreSQL
# could not take as an integer from becoming a call of no function.
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
Int32 = Annotated[int, Field(ge=INT32_MIN, le=INT32_MAX)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewEvent(Strict):
    customer_id: Text = Field(examples=["cust-42"])
    event_type: Text = Field(examples=["loan_application"])
    payload: Payload = Field(examples=[{"amount": 25000}])
    priority: Int32 = Field(0, description="Higher runs first; from -32768 to 32767.")
    run_after: Time | None = Field(None, description="Not claimed before this time.")
    correlation_id: UUID | None = None
    caused_by_event_id: EventId | None = None


# Printable ASCII: a header value is read as Latin-1, so anything else would not come back as sent.
# (Its length is the database's rule, the domain ledger.idempotency_key.)
IdempotencyKey = Annotated[str, Field(pattern=r"^[\x21-\x7e]+$")]


class BatchEvent(NewEvent):
    idempotency_key: IdempotencyKey | None = Field(None, description="As the Idempotency-Key header of POST /events.")


class StatusChange(Strict):
    status: Text = Field(examples=["approved"])
    reason: Text | None = None
    result: JsonObject | None = None
    details: JsonObject | None = None
    lease_token: UUID | None = Field(None, description="The lease token, when the event is held under a claim.")


class Verdict(Strict):
    verdict: Literal["approved", "rejected"] = Field(examples=["approved"])
    reason: Text = Field(examples=["income verified against payslips"])


class ClaimRequest(Strict):
    limit: Int32 = 1
    event_types: list[Text] | None = Field(None, max_length=100)


class LeaseRef(Strict):
    lease_token: UUID


class FailReport(Strict):
    lease_token: UUID
    error: Text
    error_type: Text | None = None
    retryable: bool = True


class DecideReport(Strict):
    lease_token: UUID
    decision: Literal["approved", "rejected"]
    reason: Text | None = None
    result: JsonObject | None = None
    keep_lease: bool = Field(
        True, description="Keep the lease to run the follow-up action; false offers the action to POST /claims/actions."
    )


class CompleteReport(Strict):
    lease_token: UUID
    details: JsonObject | None = Field(None, description='What the action did, e.g. {"transfer_id": "T-1"}.')


class ReleaseReport(Strict):
    lease_token: UUID
    reason: Text | None = None
