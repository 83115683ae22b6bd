"""Response bodies: the shapes the API answers with, for the OpenAPI document and its clients.

Each mirrors a composite type of the database's `api` schema (api.event, api.receipt, api.claim,
api.report, api.audit_entry, api.audit_verdict, api.review) column for column. The database
decides what is in them; these only describe it. A column the database adds later is passed
through (extra="allow") rather than dropped. JSON values (payload, result, details) are returned as
stored; numbers keep their JSON form (an int stays an int).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

JsonValue = Any  # any JSON value, as the database stores it
Number = int | float  # a JSON number as the database wrote it: 0 stays 0, not 0.0


class Answer(BaseModel):
    model_config = ConfigDict(extra="allow")


class Event(Answer):
    """An event: every column of ledger.events except the lease token and change details (api.event)."""

    id: int
    customer_id: str
    event_type: str
    status: str
    payload: dict[str, Any]
    priority: int
    attempts: int
    max_attempts: int
    run_after: datetime | None
    lease_owner: str | None
    lease_expires_at: datetime | None
    idempotency_key: str | None
    result: JsonValue = Field(description="The decision's result, once decided (a JSON object), or null.")
    last_error: str | None
    last_error_type: str | None
    correlation_id: UUID | None
    caused_by_event_id: int | None
    version: int
    changed_by: str | None
    changed_by_kind: str | None
    change_reason: str | None
    created_at: datetime
    updated_at: datetime


class Receipt(Answer):
    """A submitted event's identity and state, without its payload (api.receipt)."""

    id: int
    customer_id: str
    event_type: str
    status: str
    priority: int
    run_after: datetime | None
    idempotency_key: str | None
    correlation_id: UUID | None
    created_at: datetime


class BatchReceipt(Receipt):
    created: bool = Field(description="false when an idempotency key matched an earlier submit")


class Receipts(Answer):
    items: list[BatchReceipt]


class EventPage(Answer):
    items: list[Event]
    next: str | None = Field(description="The cursor of the next page; null on the last one.")


class AuditEntry(Answer):
    """One audit row; hashes in hex (api.audit_entry)."""

    seq: int
    event_id: int
    customer_id: str
    version: int
    from_status: str | None
    to_status: str
    actor: str | None = Field(description="The principal who acted.")
    actor_kind: str | None
    db_user: str | None
    reason: str | None
    details: JsonValue = None
    attempt: int | None
    recorded_at: datetime
    prev_hash: str | None
    hash: str | None
    api_key: str | None = Field(description="The name of the API key used; null when a database login acted.")


class AuditVerdict(Answer):
    """Whether the event's hash chain verifies (from api.verify_audit)."""

    ok: bool | None
    rows_checked: int | None
    broken_seq: int | None
    problem: str | None


class History(Answer):
    """One page of an event's audit trail; `verification` is of the whole chain."""

    event_id: int
    entries: list[AuditEntry]
    verification: AuditVerdict | None
    next: str | None = Field(description="The cursor of the next page; null on the last one.")


class Claim(Answer):
    """A claimed event with its lease token (api.claim)."""

    id: int
    customer_id: str
    event_type: str
    status: str
    payload: dict[str, Any]
    priority: int
    attempts: int
    max_attempts: int
    lease_token: UUID
    lease_expires_at: datetime
    result: JsonValue = None
    decision_reason: str | None
    correlation_id: UUID | None
    caused_by_event_id: int | None
    created_at: datetime


class Claims(Answer):
    items: list[Claim] = Field(description="Empty when there is no work right now.")


class Report(Answer):
    """The answer for one event of a report (api.report): done or already_done."""

    event_id: int
    outcome: str
    status: str | None
    code: str | None
    message: str | None
    lease_expires_at: datetime | None
    run_after: datetime | None


class Review(Answer):
    """An event waiting for review, with the agent's proposal and the approvals so far (api.review)."""

    id: int
    customer_id: str
    event_type: str
    payload: dict[str, Any]
    proposed_status: str | None
    proposed_by: str | None
    proposal_reason: str | None
    result: JsonValue = None
    approvals_required: int | None
    approved_by: list[str] | None
    review_started_at: datetime | None
    created_at: datetime


class Reviews(Answer):
    items: list[Review]


class TypeStatusCount(Answer):
    event_type: str
    status: str
    events: int


class BreachCount(Answer):
    event_type: str
    deadline: str
    events: int
    open: int


class BlockedCount(Answer):
    event_type: str
    events: int


class QueueStats(Answer):
    """api.queue_stats(): the queue at a glance."""

    counts: list[TypeStatusCount]
    oldest_runnable_since: str | None = Field(description="When the longest-waiting runnable event became runnable.")
    oldest_queued_age_seconds: Number
    decided_awaiting_action: int
    leases_expired: int
    deadline_breaches: list[BreachCount] = []
    ordered_blocked: list[BlockedCount] = []
    notification_queue_usage: Number


class Status(Answer):
    status: str
