"""`python -m agentledger` runs the command line."""

from agentledger.cli.main import main

raise SystemExit(main())
