"""The `agentledger` command line: main.py builds the parser and runs a command; each other module
is one command group (`agentledger db`, `keys`, `events`, `stats`, `serve`, `run`, `worker`), and
common.py holds what several of them share.

This package imports nothing by itself, so `python -m agentledger.cli.serve` (a server process of
`agentledger serve --processes N`) loads only what it needs.
"""
