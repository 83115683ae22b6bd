"""What a handler returns: the next step of its event.

Handlers build these through their context (`ctx.approve(...)`, `ctx.reject(...)`,
`ctx.complete(...)`, `ctx.fail(...)`, `ctx.retry(...)`); the worker reports each one to the
database, which decides whether the step is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The audit trail takes reasons and errors of at most this many characters (the domain ledger.reason
# refuses longer ones, 23514): an exception's text is cut to it so that the failure itself is never
# refused.
MAX_TEXT = 4000


@dataclass(frozen=True)
class Decision:
    """approved or rejected, with the reason and the result the audit trail keeps."""

    decision: str
    reason: str | None = None
    result: dict[str, Any] | None = None


@dataclass(frozen=True)
class Complete:
    """The follow-up action succeeded; details say what it did."""

    details: dict[str, Any] | None = None


@dataclass(frozen=True)
class Fail:
    """The attempt failed. A retryable failure goes back to the queue with back-off while attempts
    remain; otherwise the event fails for good."""

    error: str
    error_type: str | None = None
    retryable: bool = False


Outcome = Decision | Complete | Fail


def from_exception(exc: BaseException) -> Fail:
    """A handler that raised: retried with back-off; its message and type land in the audit trail."""
    kind = type(exc)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    return Fail(error=shorten(str(exc) or name), error_type=shorten(name, 200), retryable=True)


def shorten(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
