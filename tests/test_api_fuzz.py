"""A property-based fuzz of every route: path, query, headers and body, with hypothesis directly.

Beside tests/test_api_schemathesis.py, which generates requests from the schema (valid ones, and
ones that break it the ways schemathesis knows), this fuzz aims at what a schema does not
describe: the inside of values. Each request is valid in every part, steered to what the database
holds (existing ids, the lease token of the event named, registered types, a real cursor), but
for up to two parts, each replaced by a wrong value, so that the wrong value gets past the other
checks to the code that reads it. A part is a parameter, a field of the body (of each item of a
batch), an unknown field, the body as a whole (JSON of any shape, bytes that are not JSON, deep
nesting), its content type, the key (malformed, unknown, absent), or extra query parameters and
headers. Wrong values: a paging cursor is base64 (either alphabet, padded or not) of JSON whose
`after` is a boolean, null, a float, NaN, a huge or negative integer, an object..., or of other
JSON, or of bytes that are not JSON, or text that is not base64; ids are neighbours of bigint's
limits, zero, negative, not numbers; text holds NUL, a lone surrogate, 5,000 characters.

The property, for every request: no 5xx, and every 4xx is problem+json (type, title, status).
(With the boolean-cursor fix of GET /events undone, it finds the 500 on /events/pending and on
/events/{id}/history.)

The operations come from /openapi.json, so a new route is fuzzed without a change here; GET
/events/stream is left out (a valid request opens a stream that does not end; see
tests/test_api_stream.py). Each operation gets MAX_EXAMPLES requests, derandomized, so a run is
repeatable and takes seconds; hypothesis does not stop at the first failure (the findings are
collected, the first of each kind and status reported) and does not shrink. Requests go through
the module's app in process, with its lifespan and pool started, as in the schemathesis test.
hypothesis is installed with schemathesis (the `test` extra).
"""

from __future__ import annotations

import base64
import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest

pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from agentledger_api.app import create_app
from agentledger_api.settings import ApiSettings
from tests.support.api import PROBLEM_JSON, ApiHarness, bearer, event

# Per operation. A longer hunt: AGENTLEDGER_FUZZ_EXAMPLES=2000 ./test tests/test_api_fuzz.py
MAX_EXAMPLES = int(os.environ.get("AGENTLEDGER_FUZZ_EXAMPLES", "80"))
SKIPPED_PATHS = {"/events/stream"}  # an endless SSE response; see the module docstring
EVENT_TYPES = ["loan_application", "fraud_alert", "support_ticket"]  # registered by the deploy
STATUSES = ["queued", "processing", "in_review", "approved", "rejected", "completed", "failed"]
BIGINT_MAX = 2**63 - 1
# Operations with a known 5xx, as "METHOD /path": the reason, shown as the xfail's.
KNOWN_SERVER_ERRORS: dict[str, str] = {}


def operations() -> list[tuple[str, str]]:
    """(method, path) of every operation in the OpenAPI document, but the skipped ones. Read from
    an app that is never started: making it connects to nothing."""
    document = create_app(ApiSettings(database_url="postgresql://unused@127.0.0.1:1/unused")).openapi()
    return [
        (method.upper(), path)
        for path, methods in document["paths"].items()
        if path not in SKIPPED_PATHS
        for method in methods
    ]


# --- values -------------------------------------------------------------------------------------

NASTY_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",  # a lone surrogate: not encodable as UTF-8
    "\u202e",
    "é",
    "𝓤",
    "' OR 1=1 --",
    "%s",
    "%(id)s",
    "{}",
    "null",
    "true",
    "NaN",
    "-0",
    "1e309",
    "0x10",
    "9" * 30,
    "x" * 5000,
]
texts = st.one_of(st.sampled_from(NASTY_TEXT), st.text(max_size=40))
EDGE_INTEGERS = [0, -1, 1, BIGINT_MAX, BIGINT_MAX + 1, -BIGINT_MAX - 1, -BIGINT_MAX - 2, 2**31, 2**64, 10**400]
integers = st.one_of(st.sampled_from(EDGE_INTEGERS), st.integers())
# Values that a reader of JSON must not take for what they resemble: booleans for integers (Python's
# bools are ints), floats for integers, NaN and infinities (Python's json reads them), null, text.
CONFUSING = [True, False, None, 1.0, 1.5, -0.0, float("nan"), float("inf"), "1", [], {}, [1], {"after": 1}]
scalars = st.one_of(st.sampled_from(CONFUSING), st.booleans(), st.none(), integers, st.floats(), texts)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4), max_leaves=10
)
deep = st.integers(min_value=60, max_value=5000).map(lambda depth: "[" * depth + "]" * depth)


def b64(data: bytes, urlsafe: bool, padded: bool) -> str:
    text = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(data).decode()
    return text if padded else text.rstrip("=")


def encoded_json(value: Any, ascii_only: bool) -> bytes:
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


def bad_cursors() -> st.SearchStrategy[str]:
    """Cursors as a client could forge them: base64 (either alphabet, padded or not) of JSON whose
    `after` is anything, of other JSON, of bytes that are not JSON; and text that is not base64."""
    confusing = st.builds(lambda after: {"after": after}, st.sampled_from(CONFUSING))
    inside = st.one_of(
        confusing,
        confusing,
        st.builds(lambda after: {"after": after}, scalars),
        st.builds(lambda after: {"after": after}, json_values),
        st.builds(lambda after, extra: {**extra, "after": after}, integers, st.dictionaries(texts, json_values)),
        json_values,
    )
    content = st.one_of(
        st.builds(encoded_json, inside, st.booleans()),
        st.builds(encoded_json, inside, st.booleans()),
        deep.map(str.encode),
        st.binary(max_size=80),
    )
    return st.one_of(st.builds(b64, content, st.booleans(), st.booleans()), texts)


def datetimes() -> st.SearchStrategy[str]:
    return st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat)


def bad_datetimes() -> st.SearchStrategy[str]:
    return st.one_of(
        st.datetimes().map(datetime.isoformat),  # no time zone
        st.sampled_from(["2024-02-30T00:00:00Z", "infinity", "-infinity", "epoch", "now", "99999-01-01", "0"]),
        texts,
    )


def resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


# --- requests -----------------------------------------------------------------------------------


@dataclass
class Known:
    """What the fuzz steers values to: things the database holds."""

    event_ids: list[int]
    leases: list[tuple[int, str]]  # (event id, lease token) of events claimed with the worker key
    keys: dict[str, str]  # role -> key text
    cursors: list[str]

    def good(self, name: str) -> st.SearchStrategy | None:
        """Values that the database accepts or knows, for a field of this name."""
        return {
            "event_id": st.sampled_from(self.event_ids),
            "caused_by_event_id": st.sampled_from(self.event_ids),
            "lease_token": st.sampled_from([token for _, token in self.leases]),
            "event_type": st.sampled_from(EVENT_TYPES),
            "event_types": st.lists(st.sampled_from(EVENT_TYPES), max_size=3),
            "customer_id": st.from_regex(r"\Acust-[0-9]{1,4}\Z"),
            "status": st.sampled_from(STATUSES),
            "cursor": st.sampled_from(self.cursors),
            "last-event-id": st.integers(min_value=0, max_value=100).map(str),
            "limit": st.integers(min_value=1, max_value=50),
        }.get(name)

    def bad(self, name: str) -> st.SearchStrategy:
        """Values that are wrong for a field of this name, the inside of cursors and ids above all,
        next to arbitrary JSON."""
        special = {
            "cursor": bad_cursors(),
            "event_id": st.one_of(integers, texts, st.sampled_from(["1.0", "1e3", "0x1", " 1", "+1", "１"])),
            "caused_by_event_id": st.one_of(integers, st.sampled_from(CONFUSING)),
            "lease_token": st.one_of(st.uuids().map(str), texts, st.sampled_from(CONFUSING)),
            "last-event-id": st.one_of(integers.map(str), texts),
            "limit": st.one_of(integers, st.sampled_from(CONFUSING)),
            "run_after": bad_datetimes(),
            "created_after": bad_datetimes(),
            "created_before": bad_datetimes(),
        }.get(name)
        return st.one_of(special, special, json_values) if special is not None else st.one_of(json_values, texts)


def valid(schema: dict[str, Any], document: dict[str, Any], known: Known, name: str = "") -> st.SearchStrategy:
    """Values of a JSON schema, steered by the field's name to what the database holds."""
    schema = resolve(schema, document)
    good = known.good(name)
    if good is not None:
        return good
    if "anyOf" in schema or "oneOf" in schema:
        return st.one_of([valid(s, document, known, name) for s in schema.get("anyOf", schema.get("oneOf"))])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "object":
        properties = schema.get("properties", {})
        if not properties:
            return st.dictionaries(st.text(max_size=8), json_values, max_size=3)
        required = set(schema.get("required", []))
        fields = {key: valid(value, document, known, key) for key, value in properties.items()}
        return st.fixed_dictionaries(
            {k: v for k, v in fields.items() if k in required},
            optional={k: v for k, v in fields.items() if k not in required},
        )
    if kind == "array":
        items = valid(schema.get("items", {}), document, known, name)
        return st.lists(items, min_size=max(schema.get("minItems", 0), 1), max_size=3)
    if kind == "string":
        if schema.get("format") == "uuid":
            return st.uuids().map(str)
        if schema.get("format") == "date-time":
            return datetimes()
        return st.sampled_from(schema.get("examples") or ["x"]) | st.text(min_size=1, max_size=20)
    if kind == "integer":
        return st.integers(min_value=int(schema.get("minimum", 0)), max_value=min(int(schema.get("maximum", 100)), 100))
    if kind == "number":
        return st.floats(allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    return st.none()


def fields_of(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The properties of a body's objects: of the body itself, or of the items of an array body."""
    schema = resolve(schema, document)
    for choice in schema.get("anyOf", []):
        if resolve(choice, document).get("type") == "object":
            schema = resolve(choice, document)
    if schema.get("type") == "array":
        schema = resolve(schema.get("items", {}), document)
    return schema.get("properties", {})


@dataclass
class Request:
    method: str
    path: str
    params: list[tuple[str, str]] = field(default_factory=list)
    headers: dict[str, bytes] = field(default_factory=dict)
    content: bytes | None = None

    def show(self) -> str:
        headers = {k: v if k != "authorization" else v[:12] + b"..." for k, v in self.headers.items()}
        body = None if self.content is None else self.content[:300]
        return f"{self.method} {url_of(self)[:400]} headers={headers!r} body={body!r}"


def as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else json.dumps(value)


def header_bytes(value: Any) -> bytes:
    """A header value as bytes a server would accept on the wire: no CR, LF or NUL."""
    return as_text(value).encode("utf-8", "surrogatepass").translate(None, b"\r\n\x00")


def requests(method: str, path: str, document: dict[str, Any], known: Known) -> st.SearchStrategy[Request]:
    """Requests to one operation: every part valid (and steered to what the database holds) but
    for up to two parts, each replaced by a wrong value. A part is a parameter, a field of the body
    (of each item, for a batch), the body as a whole, or the key. So a wrong value deep inside gets
    past the other checks to the code that reads it."""
    operation = document["paths"][path][method.lower()]
    parameters = [p for p in operation.get("parameters", []) if p["in"] in ("path", "query", "header")]
    body_schema = (operation.get("requestBody") or {}).get("content", {}).get("application/json", {}).get("schema")
    body_fields = fields_of(body_schema, document) if body_schema is not None else {}
    parts = [f"{p['in']}:{p['name']}" for p in parameters] + [f"body:{name}" for name in body_fields]
    if body_fields:
        parts.append("body:(unknown field)")
    parts += (
        ["body", "key", "extra query", "extra header"]
        if body_schema is not None
        else ["key", "extra query", "extra header"]
    )
    worker = f"Bearer {known.keys['worker']}"
    keys = sorted(f"Bearer {key}" for key in known.keys.values())
    wrong_keys = st.one_of(
        st.sampled_from([worker.lower(), worker.replace(" ", "  "), worker + "x", worker[:-1], "Basic " + worker[7:]]),
        st.none(),
        st.builds(lambda text: f"Bearer {text}", texts),
        texts,
    )

    @st.composite
    def build(draw: st.DrawFn) -> Request:
        broken = draw(st.sets(st.sampled_from(parts), max_size=2))
        values: dict[str, list[tuple[str, Any]]] = {"path": [], "query": [], "header": []}
        for p in parameters:
            slot = f"{p['in']}:{p['name']}"
            if slot in broken:
                values[p["in"]].append((p["name"], draw(known.bad(p["name"]))))
            elif p.get("required") or draw(st.booleans()):
                values[p["in"]].append((p["name"], draw(valid(p.get("schema", {}), document, known, p["name"]))))
        if "extra query" in broken:
            values["query"] += draw(st.lists(st.tuples(texts, texts), min_size=1, max_size=3))
        if "extra header" in broken:
            names = st.sampled_from(["x-request-id", "accept", "content-encoding", "idempotency-key", "last-event-id"])
            values["header"] += draw(st.lists(st.tuples(names, st.one_of(texts, integers)), min_size=1, max_size=3))

        content = None
        if body_schema is not None and "body" in broken:
            content = draw(
                st.one_of(
                    st.builds(encoded_json, json_values, st.booleans()),
                    st.binary(max_size=100),
                    deep.map(str.encode),
                    st.sampled_from(
                        [b"", b"{", b'{"a": 1,}', b"\xef\xbb\xbf{}", b"NaN", b'{"a": 1, "a": 2}', b"1e999"]
                    ),
                )
            )
        elif body_schema is not None:
            body = draw(valid(body_schema, document, known))
            for item in body if isinstance(body, list) else [body]:
                if not isinstance(item, dict):
                    continue
                for name in body_fields:
                    if f"body:{name}" in broken:
                        item[name] = draw(known.bad(name))
                if "body:(unknown field)" in broken:
                    item[draw(texts)] = draw(json_values)
            content = encoded_json(body, draw(st.booleans()))

        event_id = dict(values["path"]).get("event_id")
        lease = next((lease for lease in known.leases if lease[0] == event_id), None)
        if lease is not None and content is not None and "body:lease_token" not in broken and "body" not in broken:
            decoded = json.loads(content)  # the lease of the event named, so reports pass the token check
            if isinstance(decoded, dict) and "lease_token" in decoded:
                content = encoded_json({**decoded, "lease_token": lease[1]}, True)

        url = path
        for name, value in values["path"]:
            url = url.replace("{" + name + "}", quote(as_text(value).encode("utf-8", "surrogatepass"), safe=""))
        headers = {name: header_bytes(value) for name, value in values["header"]}
        key = draw(wrong_keys) if "key" in broken else draw(st.one_of(st.just(worker), st.sampled_from(keys)))
        if key is not None:
            headers["authorization"] = header_bytes(key)
        if content is not None and "content type" in broken:
            kinds = st.sampled_from(["text/plain", "application/json; charset=latin-1", "multipart/form-data"])
            headers["content-type"] = header_bytes(draw(st.one_of(kinds, texts)))
        elif content is not None:
            headers["content-type"] = b"application/json"
        return Request(method, url, [(name, as_text(value)) for name, value in values["query"]], headers, content)

    return build()


def url_of(request: Request) -> str:
    """The path and the query string, encoded here: a value may hold a lone surrogate, which no
    client would encode (its bytes are then not UTF-8, as a client sending garbage would send)."""
    if not request.params:
        return request.path
    encoded = (
        quote(name.encode("utf-8", "surrogatepass"), safe="")
        + "="
        + quote(value.encode("utf-8", "surrogatepass"), safe="")
        for name, value in request.params
    )
    return request.path + "?" + "&".join(encoded)


# --- the run ------------------------------------------------------------------------------------


@dataclass
class Finding:
    status: int
    request: str
    response: str

    def line(self) -> str:
        return f"{self.status}: {self.request}\n    -> {self.response}"


def problem_of(response: Any) -> str | None:
    """What is wrong with the response, or None."""
    if response.status_code >= 500:
        return "a server error"
    if response.status_code < 400:
        return None
    if not response.headers.get("content-type", "").startswith(PROBLEM_JSON):
        return f"a {response.status_code} that is not problem+json"
    try:
        body = response.json()
    except ValueError:
        return "a problem+json body that is not JSON"
    if not isinstance(body, dict) or not {"type", "title", "status"} <= body.keys():
        return "a problem without type, title and status"
    if body["status"] != response.status_code:
        return "a problem whose status is not the response's"
    return None


def fuzz(
    api: ApiHarness, known: Known, document: dict[str, Any], method: str, path: str
) -> tuple[Counter[int], list[Finding]]:
    """(how many responses of each status, the wrong answers: the first of each kind and status)."""
    findings: dict[tuple[str, int], Finding] = {}
    statuses: Counter[int] = Counter()

    def send(request: Request) -> None:
        response = api.client.request(request.method, url_of(request), headers=request.headers, content=request.content)
        statuses[response.status_code] += 1
        wrong = problem_of(response)
        if wrong is not None and (wrong, response.status_code) not in findings:
            findings[(wrong, response.status_code)] = Finding(
                response.status_code,
                request.show(),
                f"{wrong}: {response.headers.get('content-type')} {response.text[:300]}",
            )

    run = settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # collect, do not shrink
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )(given(request=requests(method, path, document, known))(send))
    run()
    return statuses, list(findings.values())


@pytest.fixture(scope="module")
def hypothesis_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Hypothesis's caches in a temporary directory rather than ./.hypothesis."""
    set_hypothesis_home_dir(tmp_path_factory.mktemp("hypothesis"))
    yield
    set_hypothesis_home_dir(None)


@pytest.fixture(scope="module")
def fuzz_api(module_make_api: Callable[..., ApiHarness]) -> ApiHarness:
    """An app without the request and failure budgets, so that the thousands of requests here,
    many with bad keys, all reach the routes instead of a 429."""
    return module_make_api(requests_per_minute_per_key=0, auth_failures_per_minute=0)


@pytest.fixture(scope="module")
def known(fuzz_api: ApiHarness, hypothesis_home: None) -> Known:
    keys = {role: fuzz_api.new_key(role)[1] for role in ("worker", "submitter", "reviewer", "auditor")}
    submitter = bearer(keys["submitter"])
    event_ids = []
    for n in range(30):
        response = fuzz_api.client.post("/events", json=event(f"cust-{n}", EVENT_TYPES[n % 3]), headers=submitter)
        assert response.status_code == 201, response.text
        event_ids.append(response.json()["id"])
    claimed = fuzz_api.client.post("/claims", json={"limit": 15}, headers=bearer(keys["worker"]))
    assert claimed.status_code == 200, claimed.text
    leases = [(item["id"], item["lease_token"]) for item in claimed.json()["items"]]
    assert leases
    page = fuzz_api.client.get("/events", params={"limit": 5}, headers=submitter).json()
    cursors = [page["next"], base64.urlsafe_b64encode(b'{"after": 0}').decode()]
    return Known(event_ids, leases, keys, cursors)


@pytest.fixture(scope="module")
def document(fuzz_api: ApiHarness) -> dict[str, Any]:
    return fuzz_api.client.get("/openapi.json").json()


def cases() -> list[Any]:
    return [
        pytest.param(
            method,
            path,
            id=f"{method} {path}",
            marks=[pytest.mark.xfail(reason=KNOWN_SERVER_ERRORS[f"{method} {path}"], strict=True)]
            if f"{method} {path}" in KNOWN_SERVER_ERRORS
            else [],
        )
        for method, path in operations()
    ]


@pytest.mark.parametrize(("method", "path"), cases())
def test_no_server_error_and_every_4xx_is_a_problem(
    fuzz_api: ApiHarness, known: Known, document: dict[str, Any], method: str, path: str
) -> None:
    statuses, findings = fuzz(fuzz_api, known, document, method, path)
    sent = statuses.total()
    assert sent >= MAX_EXAMPLES // 2, statuses
    # Not vacuous: requests got past the key check, to the route's own answers.
    assert set(statuses) - {401, 403}, statuses
    report = f"{len(findings)} kind(s) of wrong answer in {sent} requests to {method} {path} ({dict(statuses)}):\n"
    assert not findings, report + "\n".join(f.line() for f in findings)


def test_every_operation_is_fuzzed() -> None:
    """The list comes from the OpenAPI document: the routes known today are all in it."""
    fuzzed = {f"{method} {path}" for method, path in operations()}
    assert {"POST /events", "GET /events", "GET /events/{event_id}/history", "POST /claims"} <= fuzzed
    assert len(fuzzed) >= 19, sorted(fuzzed)
