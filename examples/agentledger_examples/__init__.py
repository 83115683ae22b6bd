"""Example agents for agentledger workers (`agentledger worker --example`): loan underwriting
(loans.py), fraud triage (fraud.py) and a support copilot (support.py), assembled in agents.py."""
