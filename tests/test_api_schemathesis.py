"""Property-based tests of the HTTP API against its own OpenAPI schema, with schemathesis.

For every operation in /openapi.json, schemathesis generates requests from the schema: valid ones
(positive mode) and ones that break it (negative mode), a bounded and derandomized number of each,
so a run is repeatable and takes seconds. Each request goes to the real app (its lifespan and pool
started by the harness, on the module's private deployed database, connected as a login role in
agentledger_api) with the Authorization header of a real key, and each response is checked:

- not_a_server_error: no 5xx, whatever the input;
- response_schema_conformance: the body matches the schema documented for its status and media
  type. schemathesis skips a response whose media type the schema does not document, so a
  `+json` response (application/problem+json) is also validated here against the schema
  documented as application/json for its status: the check `json_suffix_schema_conformance`;
- content_type_conformance: the Content-Type is one documented for its status.

Every route declares its response model (agentledger_api.responses), so on 2xx schema conformance
checks each body against the shape the OpenAPI document shows.

The fuzzing runs once per key role and the tests assert on what it found, one check per test:
a worker key (may call every operation here) with MAX_EXAMPLES per operation and mode, and a
submitter key (refused with 403 on the worker endpoints, which must still not fail) with fewer.

GET /events/stream is left out: a valid request opens a Server-Sent Events stream that does not
end, which the in-process client cannot cut short. tests/test_api_stream.py covers it.

Not checked on purpose: status_code_conformance (every operation documents its errors as
problem+json, with a default for any other status, so it cannot fail) and negative_data_rejection (the API accepts some inputs the schema does not describe, such as a
payload sent as a string holding a JSON object, for older clients).

Requests are sent through the harness's TestClient, not schemathesis's own ASGI client: that one
would start the app's lifespan a second time, on another event loop.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

pytest.importorskip("schemathesis")

import jsonschema_rs
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from tests.support.api import ApiHarness, event

MAX_EXAMPLES = {"worker": 25, "submitter": 10}  # per operation and generation mode
SKIPPED_PATHS = {"/events/stream"}  # an endless SSE response; see the module docstring
PRELOADED_EVENTS = 50  # events the steered cases read and change (see steered())
EVENT_TYPES = ["loan_application", "fraud_alert", "support_ticket"]  # registered by the deploy
STATUSES = ["queued", "processing", "approved", "rejected", "completed", "failed"]
CHECKS = {
    "not_a_server_error": not_a_server_error,
    "response_schema_conformance": response_schema_conformance,
    "content_type_conformance": content_type_conformance,
}
SUFFIX_CHECK = "json_suffix_schema_conformance"


@dataclass
class Finding:
    check: str
    operation: str  # e.g. "POST /events"
    status: int
    request: str  # the request, as a curl command (the key filtered out)
    message: str

    def line(self) -> str:
        return f"{self.operation} -> {self.status} [{self.check}]: {self.request}\n    {self.message}"


@dataclass
class Fuzzed:
    """What one run over every operation found; how many requests it sent, and their statuses."""

    role: str
    requests: int = 0
    operations: list[str] = field(default_factory=list)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)

    def of(self, *checks: str) -> list[Finding]:
        return [f for f in self.findings if f.check in checks]

    def report(self, *checks: str) -> str:
        found = self.of(*checks)
        head = f"{len(found)} finding(s) in {self.requests} requests with a {self.role} key\n"
        return head + "\n".join(f.line() for f in found[:30])


def fuzz(api: ApiHarness, role: str, event_ids: list[int]) -> Fuzzed:
    """Send MAX_EXAMPLES[role] generated requests per operation and mode; collect every failed
    check (the first example of each check, operation and status) without stopping at the first.
    The key is one of the principal that submitted the preloaded events (INTAKE): a submitter
    reads only what its principal submitted."""
    headers = api.key(role, principal=INTAKE)
    raw_schema = api.client.get("/openapi.json").json()
    schema = schemathesis.openapi.from_dict(raw_schema)
    result = Fuzzed(role)
    seen: set[tuple[str, str, int]] = set()

    def record(check: str, case: Any, status: int, message: str) -> None:
        key = (check, case.operation.label, status)
        if key not in seen:
            seen.add(key)
            result.findings.append(
                Finding(check, case.operation.label, status, case.as_curl_command(headers=headers), message[:600])
            )

    def send(case: Any) -> None:
        kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
        response = api.client.request(**httpx_kwargs(kwargs))
        result.requests += 1
        result.statuses[(case.operation.label, response.status_code)] += 1
        for name, check in CHECKS.items():
            try:
                case.validate_response(response, checks=[check], headers=headers)
            except FailureGroup as group:
                record(
                    name,
                    case,
                    response.status_code,
                    "; ".join(f"{f.title}: {f.message}".strip() for f in group.exceptions),
                )
        problem = json_suffix_conformance(raw_schema, case.operation.path, case.operation.method, response)
        if problem:
            record(SUFFIX_CHECK, case, response.status_code, problem)

    for operation_result in schema.get_all_operations():
        operation = operation_result.ok()
        if operation.path in SKIPPED_PATHS:
            continue
        result.operations.append(operation.label)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            cases = operation.as_strategy(generation_mode=mode)
            if mode is GenerationMode.POSITIVE:
                cases = st.one_of(cases, steered(cases, event_ids))
            run = settings(
                max_examples=MAX_EXAMPLES[role],
                derandomize=True,
                database=None,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                print_blob=False,
            )(given(case=cases)(send))
            try:
                run()
            except Unsatisfiable:  # negative mode of an operation with nothing to get wrong
                assert mode is GenerationMode.NEGATIVE, operation.label
    return result


def steered(cases: st.SearchStrategy, event_ids: list[int]) -> st.SearchStrategy:
    """The same cases, with the fields that the schema leaves open but the database checks made
    realistic: a registered event type, a valid customer id, the id of an existing event, a real
    status. Without this, nearly every valid-by-schema submit is refused (422) and every read
    misses (404), and the success paths would hardly be exercised."""

    def apply(drawn: tuple[Any, str, str, int, str]) -> Any:
        case, event_type, customer_id, event_id, status = drawn
        if "event_id" in (case.path_parameters or {}):
            case.path_parameters = {**case.path_parameters, "event_id": event_id}
        if isinstance(case.body, dict) and "event_type" in case.body:
            case.body = {**case.body, "event_type": event_type, "customer_id": customer_id}
        elif isinstance(case.body, dict) and "status" in case.body:  # PATCH /events/{id}/status
            case.body = {**case.body, "status": status}
            if case.query and "status" in case.query:
                case.query = {**case.query, "status": status}
        elif isinstance(case.body, list):
            case.body = [
                {**item, "event_type": event_type, "customer_id": customer_id}
                if isinstance(item, dict) and "event_type" in item
                else item
                for item in case.body
            ]
        return case

    return st.tuples(
        cases,
        st.sampled_from(EVENT_TYPES),
        st.from_regex(r"\Acust-[0-9]{1,6}\Z"),
        st.sampled_from(event_ids),
        st.sampled_from(STATUSES),
    ).map(apply)


def json_suffix_conformance(raw_schema: dict[str, Any], path: str, method: str, response: Any) -> str | None:
    """For a `+json` response whose media type the schema does not document: its body against the
    schema documented as application/json for its status. None if it conforms or does not apply."""
    media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if not media_type.endswith("+json"):
        return None
    responses = raw_schema["paths"][path][method.lower()].get("responses", {})
    content = (responses.get(str(response.status_code)) or {}).get("content", {})
    if media_type in content or "application/json" not in content:
        return None
    documented = content["application/json"].get("schema")
    if documented is None:
        return None
    validator = jsonschema_rs.validator_for({**documented, "components": raw_schema.get("components", {})})
    errors = [
        f"{'/'.join(map(str, e.instance_path)) or '(body)'}: {e.message}"
        for e in validator.iter_errors(response.json())
    ]
    if not errors:
        return None
    return (
        f"{media_type} body does not match the application/json schema documented for "
        f"{response.status_code}: " + "; ".join(errors[:3])
    )


def httpx_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """schemathesis serializes a case for `requests`; the harness's TestClient speaks httpx."""
    out = {k: kwargs[k] for k in ("method", "url", "headers", "params") if kwargs.get(k)}
    if "json" in kwargs:
        out["json"] = kwargs["json"]
    data = kwargs.get("data")
    if data is not None:
        out["content" if isinstance(data, (bytes, str)) else "data"] = data
    if kwargs.get("files"):
        out["files"] = kwargs["files"]
    return out


@pytest.fixture(scope="module")
def hypothesis_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Hypothesis keeps caches (and, unless told otherwise, examples) in ./.hypothesis; this
    module's runs keep them in a temporary directory instead of the working tree."""
    set_hypothesis_home_dir(tmp_path_factory.mktemp("hypothesis"))
    yield
    set_hypothesis_home_dir(None)


@pytest.fixture(scope="module")
def fuzzed(module_api: ApiHarness, hypothesis_home: None) -> Callable[[str], Fuzzed]:
    """fuzzed(role): the findings of the run with a key of that role (run once, on first use)."""
    module_api.principal(INTAKE, "human")
    submitter = module_api.key("submitter", principal=INTAKE)
    event_ids = []
    for n in range(PRELOADED_EVENTS):
        response = module_api.client.post("/events", json=event(f"cust-{n}"), headers=submitter)
        assert response.status_code == 201, response.text
        event_ids.append(response.json()["id"])
    runs: dict[str, Fuzzed] = {}

    def get(role: str) -> Fuzzed:
        if role not in runs:
            runs[role] = fuzz(module_api, role, event_ids)
        return runs[role]

    return get


ROLES = ["worker", "submitter"]
INTAKE = "fuzz-intake"  # the principal of every key of the runs (kind human: it may hold any role)


@pytest.mark.parametrize("role", ROLES)
def test_no_server_errors(fuzzed: Callable[[str], Fuzzed], role: str) -> None:
    run = fuzzed(role)
    assert len(run.operations) >= 17 and run.requests >= len(run.operations) * MAX_EXAMPLES[role]
    # The run is not vacuous: generated events were accepted, and reads found preloaded ones.
    assert run.statuses[("POST /events", 201)] > 0, run.statuses
    assert run.statuses[("GET /events/{event_id}", 200)] > 0, run.statuses
    assert not run.of("not_a_server_error"), run.report("not_a_server_error")


@pytest.mark.parametrize("role", ROLES)
def test_responses_conform_to_the_schema(fuzzed: Callable[[str], Fuzzed], role: str) -> None:
    run = fuzzed(role)
    checks = ("response_schema_conformance", SUFFIX_CHECK)
    assert not run.of(*checks), run.report(*checks)


@pytest.mark.parametrize("role", ROLES)
def test_content_types_conform_to_the_schema(fuzzed: Callable[[str], Fuzzed], role: str) -> None:
    run = fuzzed(role)
    assert not run.of("content_type_conformance"), run.report("content_type_conformance")
