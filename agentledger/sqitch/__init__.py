"""A sqitch-compatible deployer for PostgreSQL, in Python: `agentledger db` (see README.md here)."""
