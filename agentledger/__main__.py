"""`python -m agentledger` runs the command line."""

from agentledger.cli import main

raise SystemExit(main())
