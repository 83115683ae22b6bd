"""The notification channels of agentledger: one name each, as the database's functions send them
with pg_notify (db/functions/*.sql). Every LISTEN in Python names its channel through these;
tests/test_channels.py holds this list equal to the channels the SQL notifies."""

from __future__ import annotations

# New work: {"queued": {type: n}} after submits (and releases, retries, settled lines), or
# {"actions": {type: n}} when decided events' follow-up actions wait. Workers and the API's live
# feed listen here.
WORK_CHANNEL = "agentledger_work"
# Missed deadlines: {"decide": {type: n}, "review": {type: n}} from api.mark_deadline_breaches.
ESCALATIONS_CHANNEL = "agentledger_escalations"

CHANNELS = frozenset({WORK_CHANNEL, ESCALATIONS_CHANNEL})
