"""Example agents for agentledger workers (`agentledger worker --example`)."""
