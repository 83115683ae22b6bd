"""The example agents as one worker: `agentledger worker --example` runs this `worker`.

Each agent lives in its own module; this one only assembles them. The database comes from
DATABASE_URL (or --db-url) when the worker starts, as a member of agentledger_worker whose login
acts for a principal (`./run` maps its worker login to the agent principal example-agents).
"""

from agentledger_examples import fraud, loans, support
from agentledger_worker import Worker

worker = Worker(name="example-agents", concurrency=10)

worker.handler("loan_application")(loans.underwrite)  # decides...
worker.action("loan_application")(loans.act)  # ...then disburses or sends the letter
worker.handler("fraud_alert")(fraud.triage)
worker.action("fraud_alert")(fraud.act)
worker.handler("support_ticket")(support.copilot)  # decides and completes in one call
worker.action("support_ticket")(support.copilot)  # finishes a decided ticket left by a stopped worker
