"""agentledger workers: the agents' side of agentledger.

    from agentledger_worker import Worker

    worker = Worker(dsn, name="fraud-triage-1", concurrency=10)

    @worker.handler("fraud_alert")
    async def triage(event, ctx):
        return ctx.approve(result={"score": 0.1})

Talks to PostgreSQL through the worker role and the api functions only; needs no web framework.
The database login must act for a principal (`agentledger principals add NAME --kind agent --login
LOGIN`), the actor of the worker's steps; `name` labels this worker instance on its claims.
"""

from agentledger_worker.context import Context, LeaseLost, Refused, SentToReview
from agentledger_worker.event import Event
from agentledger_worker.outcomes import Complete, Decision, Fail
from agentledger_worker.worker import Worker

__all__ = ["Complete", "Context", "Decision", "Event", "Fail", "LeaseLost", "Refused", "SentToReview", "Worker"]
