"""The event a handler receives: what was submitted, and what has been decided so far."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID


@dataclass(frozen=True)
class Event:
    id: int
    customer_id: str
    event_type: str
    status: str  # processing: to decide; approved / rejected: to run the follow-up action
    payload: dict[str, Any]
    priority: int
    attempts: int  # this attempt's number (of the decision, or of the action once decided)
    max_attempts: int
    result: dict[str, Any] | None  # the decision's result, once decided
    decision_reason: str | None
    correlation_id: UUID | None
    caused_by_event_id: int | None
    created_at: datetime

    @property
    def decided(self) -> bool:
        return self.status in ("approved", "rejected")

    @classmethod
    def from_claim(cls, row: dict[str, Any]) -> Event:
        """From a row of api.claim_events / api.claim_actions (its lease stays with the worker)."""
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})
