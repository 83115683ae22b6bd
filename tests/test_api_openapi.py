"""The OpenAPI document shows every answer's shape: a schema for every success response, and the
problem+json schema for every error response."""

from __future__ import annotations

from agentledger_api import create_app
from agentledger_api.settings import ApiSettings

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def test_every_response_of_every_operation_has_a_schema() -> None:
    document = create_app(ApiSettings(database_url="postgresql://nowhere/none")).openapi()
    operations = [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]
    assert len(operations) >= 20
    for method, path, operation in operations:
        successes = {status: response for status, response in operation["responses"].items() if status.startswith("2")}
        assert successes, (method, path)
        for status, response in operation["responses"].items():
            content = response.get("content")
            assert content, (method, path, status)
            if status.startswith("2"):
                assert all(media.get("schema") for media in content.values()), (method, path, status, content)
            else:
                assert content == PROBLEM, (method, path, status, content)
