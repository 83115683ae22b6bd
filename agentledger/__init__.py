"""agentledger: an event ledger in PostgreSQL, and the tools that run it."""

__version__ = "0.1.0"
