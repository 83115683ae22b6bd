"""The API's routes, one module per resource. ROUTERS is the order they are mounted in."""

from agentledger_api.routes import events, health

ROUTERS = [health.router, events.router]
