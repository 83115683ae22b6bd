"""agentledger: an event ledger in PostgreSQL, and the tools that run it."""

from importlib.metadata import version

# Written once, in pyproject.toml; matches the newest tag of sqitch.plan (tests/test_version.py).
__version__ = version("agentledger")
