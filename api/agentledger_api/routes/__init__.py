"""The API's routes, one module per resource. ROUTERS is the order they are mounted in."""

from agentledger_api.routes import events, health, reviews, stream, work

# stream before events: /events/stream must not be taken for /events/{event_id}.
ROUTERS = [health.router, stream.router, events.router, reviews.router, work.router]
