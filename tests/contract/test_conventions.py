"""The contract holds to its conventions.

Every test here reads the merged spec, ``openapi/intelliauth.openapi.yaml`` (or the file
named by the ``INTELLIAUTH_SPEC`` environment variable, to try a candidate spec), and
pins one rule of the contract: envelopes, errors, headers, pagination, idempotency,
naming, examples and secrets (every credential marked ``x-sensitive``). Per-operation
rules are parametrized by operationId, so a failure names the operation that broke the
rule.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry
from referencing.jsonschema import DRAFT202012

REPO_ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = Path(
    os.environ.get("INTELLIAUTH_SPEC", str(REPO_ROOT / "openapi" / "intelliauth.openapi.yaml"))
)
SPEC_URI = "urn:intelliauth:openapi"

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PATH_PREFIXES = (
    "/oauth2",
    "/.well-known",
    "/api/v1/auth",
    "/api/v1/me",
    "/api/v1/users",
    "/api/v1/groups",
    "/api/v1/applications",
    "/api/v1/resources",
    "/api/v1/resource-types",
    "/api/v1/federation",
    "/api/v1/webhooks",
)
MIN_OPERATIONS = 70
REQUIRED_ERROR_STATUSES = ("401", "403", "429", "500", "503")
RATE_LIMIT_HEADERS = (
    "Retry-After",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
)
WEBHOOK_HEADERS = ("IntelliAuth-Signature", "IntelliAuth-Event-Id", "IntelliAuth-Event-Type")
# Names that collide with the generated package's own classes (client.py, types.py).
FORBIDDEN_SCHEMA_NAMES = frozenset({"Client", "AuthenticatedClient", "Response"})
CREATE_OPERATION = re.compile(r"^create[A-Z]|^importUsers$")

SCHEMA_REF = "#/components/schemas/"
PARAMETER_REF = "#/components/parameters/"


def _load_spec() -> dict[str, Any]:
    if not SPEC_PATH.is_file():
        return {}
    with SPEC_PATH.open(encoding="utf-8") as handle:
        loaded = yaml.safe_load(handle)
    return loaded if isinstance(loaded, dict) else {}


SPEC = _load_spec()
REGISTRY: Registry[Any] = Registry().with_resource(SPEC_URI, DRAFT202012.create_resource(SPEC))


# ----------------------------------------------------------------- navigation
def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _at(pointer: str) -> Any:
    node: Any = SPEC
    for token in pointer.lstrip("/").split("/") if pointer else []:
        key = token.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def _resolve(node: Any, pointer: str) -> tuple[Any, str]:
    """Follow local ``$ref`` chains; return the target and its JSON pointer."""
    while isinstance(node, Mapping) and "$ref" in node:
        ref = node["$ref"]
        assert isinstance(ref, str), f"{pointer}: $ref must be a string"
        assert ref.startswith("#/"), f"{pointer}: only local refs are allowed, got {ref}"
        pointer = ref[1:]
        node = _at(pointer)
    return node, pointer


def _schema_name(schema: Any) -> str | None:
    if isinstance(schema, Mapping) and isinstance(schema.get("$ref"), str):
        ref: str = schema["$ref"]
        if ref.startswith(SCHEMA_REF):
            return ref.removeprefix(SCHEMA_REF)
    return None


def _is_json(media_type: str) -> bool:
    base = media_type.split(";")[0].strip().lower()
    return base == "application/json" or base.endswith("+json")


@dataclass(frozen=True)
class Operation:
    """One operation of ``paths`` or of the top-level ``webhooks`` section."""

    section: str  # "paths" or "webhooks"
    path: str  # the path template, or the webhook's name
    method: str
    node: Mapping[str, Any]
    pointer: str

    @property
    def label(self) -> str:
        operation_id = self.node.get("operationId")
        return (
            operation_id if isinstance(operation_id, str) else f"{self.method.upper()} {self.path}"
        )

    @property
    def operation_id(self) -> str:
        return str(self.node.get("operationId", ""))

    def parameters(self) -> list[tuple[Mapping[str, Any], Any, str]]:
        """Path-item and operation parameters as (resolved parameter, raw entry, pointer)."""
        item_pointer = self.pointer.rsplit("/", 1)[0]
        item = _at(item_pointer)
        entries = [
            *(
                (raw, f"{item_pointer}/parameters/{i}")
                for i, raw in enumerate(item.get("parameters", []))
            ),
            *(
                (raw, f"{self.pointer}/parameters/{i}")
                for i, raw in enumerate(self.node.get("parameters", []))
            ),
        ]
        merged: dict[tuple[str, str], tuple[Mapping[str, Any], Any, str]] = {}
        for raw, pointer in entries:
            resolved, resolved_pointer = _resolve(raw, pointer)
            merged[(resolved.get("in", ""), resolved.get("name", ""))] = (
                resolved,
                raw,
                resolved_pointer,
            )
        return list(merged.values())

    def responses(self) -> Iterator[tuple[str, Mapping[str, Any], str]]:
        """(status, resolved response, its pointer) for every documented response."""
        for status, raw in (self.node.get("responses") or {}).items():
            response, pointer = _resolve(raw, f"{self.pointer}/responses/{_escape(str(status))}")
            yield str(status), response, pointer

    def request_body(self) -> tuple[Mapping[str, Any], str] | None:
        raw = self.node.get("requestBody")
        if raw is None:
            return None
        body, pointer = _resolve(raw, f"{self.pointer}/requestBody")
        return body, pointer


def _operations(section: str) -> list[Operation]:
    found = []
    for path, item in (SPEC.get(section) or {}).items():
        item_node, item_pointer = _resolve(item, f"/{section}/{_escape(path)}")
        for method in HTTP_METHODS:
            if isinstance(item_node.get(method), Mapping):
                found.append(
                    Operation(section, path, method, item_node[method], f"{item_pointer}/{method}")
                )
    return found


API_OPERATIONS = _operations("paths")
WEBHOOK_OPERATIONS = _operations("webhooks")
ALL_OPERATIONS = API_OPERATIONS + WEBHOOK_OPERATIONS


def _params(operations: list[Operation]) -> list[Any]:
    return [pytest.param(operation, id=operation.label) for operation in operations]


def _is_error(status: str) -> bool:
    return status[:1] in {"4", "5"}


def _is_success(status: str) -> bool:
    return status[:1] == "2"


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


API_V1 = [op for op in API_OPERATIONS if _under(op.path, "/api/v1")]
OAUTH2 = [op for op in API_OPERATIONS if _under(op.path, "/oauth2")]
LISTS = [op for op in API_OPERATIONS if op.operation_id.startswith("list")]
CREATES = [op for op in API_OPERATIONS if CREATE_OPERATION.search(op.operation_id)]
RATE_LIMITED = [
    op for op in API_OPERATIONS if any(status == "429" for status, _, _ in op.responses())
]


# ----------------------------------------------------------------- examples
@dataclass(frozen=True)
class ExampleCase:
    """One example value and the pointer of the schema it must satisfy."""

    label: str
    schema_pointer: str
    value: Any


def _examples_of(holder: Mapping[str, Any], pointer: str) -> Iterator[tuple[str, Any]]:
    """(name, value) for a media type's, parameter's or header's ``example(s)``."""
    if "example" in holder:
        yield "example", holder["example"]
    for name, raw in (holder.get("examples") or {}).items():
        example, _ = _resolve(raw, f"{pointer}/examples/{_escape(name)}")
        if "value" in example:
            yield str(name), example["value"]


def _has_examples(media: Mapping[str, Any]) -> bool:
    return "example" in media or bool(media.get("examples"))


def _example_cases() -> list[ExampleCase]:
    cases: dict[tuple[str, str], ExampleCase] = {}

    def add(label: str, holder: Mapping[str, Any], pointer: str) -> None:
        if "schema" not in holder:
            return
        for name, value in _examples_of(holder, pointer):
            key = (f"{pointer}/{name}", pointer)
            cases.setdefault(key, ExampleCase(f"{label} {name}", f"{pointer}/schema", value))

    for op in ALL_OPERATIONS:
        for parameter, _, parameter_pointer in op.parameters():
            add(f"{op.label} parameter {parameter.get('name')}", parameter, parameter_pointer)
        body = op.request_body()
        if body is not None:
            node, pointer = body
            for media_type, media in (node.get("content") or {}).items():
                add(
                    f"{op.label} request {media_type}",
                    media,
                    f"{pointer}/content/{_escape(media_type)}",
                )
        for status, response, pointer in op.responses():
            for media_type, media in (response.get("content") or {}).items():
                add(
                    f"{op.label} {status} {media_type}",
                    media,
                    f"{pointer}/content/{_escape(media_type)}",
                )
    for name, schema in ((SPEC.get("components") or {}).get("schemas") or {}).items():
        if isinstance(schema, Mapping):
            for index, value in enumerate(schema.get("examples") or []):
                pointer = f"/components/schemas/{_escape(name)}"
                cases.setdefault(
                    (f"{pointer}/examples/{index}", pointer),
                    ExampleCase(f"schema {name} example {index}", pointer, value),
                )
    return list(cases.values())


EXAMPLE_CASES = _example_cases()


def _schema_errors(schema_pointer: str, instance: Any) -> list[str]:
    validator = Draft202012Validator(
        {"$ref": f"{SPEC_URI}#{schema_pointer}"},
        registry=REGISTRY,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
        for error in sorted(validator.iter_errors(instance), key=lambda error: list(error.path))
    ]


def _walk(node: Any, pointer: str = "") -> Iterator[tuple[Mapping[str, Any], str]]:
    """Every mapping of the document except example and default values."""
    if isinstance(node, Mapping):
        yield node, pointer
        for key, child in node.items():
            if key in {"example", "examples", "default", "const"}:
                continue
            yield from _walk(child, f"{pointer}/{_escape(str(key))}")
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _walk(child, f"{pointer}/{index}")


# ======================================================================= tests
def test_spec_file_exists() -> None:
    """The contract file exists and parses as a YAML mapping."""
    assert SPEC, f"{SPEC_PATH} is missing or not a YAML mapping"


def test_spec_validates() -> None:
    """The spec is a valid OpenAPI 3.1 document (openapi-spec-validator)."""
    assert str(SPEC.get("openapi", "")).startswith("3.1."), "the contract is OpenAPI 3.1"
    validate_openapi(SPEC)


def test_operation_count() -> None:
    """The spec describes at least 70 operations."""
    assert len(API_OPERATIONS) >= MIN_OPERATIONS, f"only {len(API_OPERATIONS)} operations"


@pytest.mark.parametrize("prefix", PATH_PREFIXES)
def test_path_prefix_present(prefix: str) -> None:
    """Every path prefix of the integrator surface has at least one operation."""
    assert any(_under(op.path, prefix) for op in API_OPERATIONS), f"no operation under {prefix}"


def test_operation_ids_unique() -> None:
    """No two operations (paths or webhooks) share an operationId."""
    seen: dict[str, str] = {}
    duplicates = []
    for op in ALL_OPERATIONS:
        where = f"{op.method.upper()} {op.path}"
        if op.operation_id in seen:
            duplicates.append(f"{op.operation_id}: {seen[op.operation_id]} and {where}")
        seen.setdefault(op.operation_id, where)
    assert not duplicates, duplicates


@pytest.mark.parametrize("op", _params(ALL_OPERATIONS))
def test_operation_is_documented(op: Operation) -> None:
    """Each operation has an operationId, a summary and a description."""
    assert re.fullmatch(r"[a-z][A-Za-z0-9]*", op.operation_id), "operationId must be lowerCamelCase"
    assert str(op.node.get("summary", "")).strip(), "summary missing"
    assert str(op.node.get("description", "")).strip(), "description missing"


@pytest.mark.parametrize("op", _params(ALL_OPERATIONS))
def test_operation_has_one_declared_tag(op: Operation) -> None:
    """Each operation has exactly one tag, declared in the top-level tags."""
    declared = {tag.get("name") for tag in SPEC.get("tags") or []}
    tags = op.node.get("tags") or []
    assert len(tags) == 1, f"expected one tag, got {tags}"
    assert tags[0] in declared, f"tag {tags[0]!r} is not declared in the top-level tags"


@pytest.mark.parametrize("op", _params(ALL_OPERATIONS))
def test_request_body_has_examples(op: Operation) -> None:
    """Every request body media type carries at least one example."""
    body = op.request_body()
    if body is None:
        return
    content = body[0].get("content") or {}
    assert content, "request body without content"
    missing = [media_type for media_type, media in content.items() if not _has_examples(media)]
    assert not missing, f"request body media types without examples: {missing}"


@pytest.mark.parametrize("op", _params(API_OPERATIONS))
def test_success_json_has_examples(op: Operation) -> None:
    """Every 2xx JSON response carries at least one example."""
    missing = [
        f"{status} {media_type}"
        for status, response, _ in op.responses()
        if _is_success(status)
        for media_type, media in (response.get("content") or {}).items()
        if _is_json(media_type) and not _has_examples(media)
    ]
    assert not missing, f"2xx JSON responses without examples: {missing}"


@pytest.mark.parametrize("case", [pytest.param(case, id=case.label) for case in EXAMPLE_CASES])
def test_example_matches_schema(case: ExampleCase) -> None:
    """Each example validates against its schema (JSON Schema 2020-12, formats checked)."""
    errors = _schema_errors(case.schema_pointer, case.value)
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("op", _params(API_V1))
def test_api_v1_success_is_envelope(op: Operation) -> None:
    """Every /api/v1 2xx JSON body is a named {data, meta} envelope or list."""
    for status, response, _ in op.responses():
        if not _is_success(status):
            continue
        for media_type, media in (response.get("content") or {}).items():
            if not _is_json(media_type):
                continue
            name = _schema_name(media.get("schema"))
            assert name is not None, f"{status} {media_type}: schema must be a named $ref"
            assert name.endswith(("Envelope", "List")), (
                f"{status} {media_type}: expected <Name>Envelope or <Name>List, got {name}"
            )
            schema = SPEC["components"]["schemas"][name]
            assert {"data", "meta"} <= set(schema.get("required", [])), (
                f"{name} must require data and meta"
            )
            meta = "ListMeta" if name.endswith("List") else "Meta"
            assert _schema_name(schema["properties"]["meta"]) == meta, f"{name}.meta must be {meta}"


@pytest.mark.parametrize("op", _params(LISTS))
def test_list_operation_paginates(op: Operation) -> None:
    """list* operations take cursor and limit, document 400, and return a <Name>List."""
    refs = {raw.get("$ref") for _, raw, _ in op.parameters() if isinstance(raw, Mapping)}
    for shared in ("Cursor", "Limit"):
        assert f"{PARAMETER_REF}{shared}" in refs, f"missing {PARAMETER_REF}{shared}"
    success = [(status, response) for status, response, _ in op.responses() if _is_success(status)]
    assert [status for status, _ in success] == ["200"], "a list answers 200 only"
    statuses = {status for status, _, _ in op.responses()}
    assert "400" in statuses, "a limit out of range or a bad cursor is a documented 400"
    media = (success[0][1].get("content") or {}).get("application/json") or {}
    name = _schema_name(media.get("schema"))
    assert name is not None, f"200 must be a $ref to a <Name>List, got {media.get('schema')}"
    assert name.endswith("List"), f"200 must be a <Name>List, got {name}"
    schema = SPEC["components"]["schemas"][name]
    assert {"data", "meta"} <= set(schema.get("required", [])), f"{name} must require data and meta"
    assert schema["properties"]["data"].get("type") == "array", f"{name}.data must be an array"
    assert _schema_name(schema["properties"]["meta"]) == "ListMeta", f"{name}.meta must be ListMeta"


@pytest.mark.parametrize("op", _params(API_V1))
def test_api_v1_errors_use_error_envelope(op: Operation) -> None:
    """Every /api/v1 4xx/5xx response is an application/json Error body."""
    for status, response, _ in op.responses():
        if not _is_error(status):
            continue
        content = response.get("content") or {}
        assert set(content) == {"application/json"}, (
            f"{status}: content must be application/json only"
        )
        schema = content["application/json"].get("schema")
        assert _schema_name(schema) == "Error", f"{status}: schema must be Error, got {schema}"


@pytest.mark.parametrize("op", _params(API_V1))
def test_api_v1_documents_common_errors(op: Operation) -> None:
    """Every /api/v1 operation documents 401, 403, 429, 500, 503, and 404 for a path with an id."""
    statuses = {status for status, _, _ in op.responses()}
    expected = set(REQUIRED_ERROR_STATUSES) | ({"404"} if "{" in op.path else set())
    assert expected <= statuses, f"missing {sorted(expected - statuses)}"


@pytest.mark.parametrize("op", _params(OAUTH2))
def test_oauth2_errors_use_oauth_error(op: Operation) -> None:
    """Every /oauth2 4xx/5xx response is an RFC 6749 OAuthError JSON body."""
    for status, response, _ in op.responses():
        if not _is_error(status):
            continue
        json_media = {k: v for k, v in (response.get("content") or {}).items() if _is_json(k)}
        assert json_media, f"{status}: no JSON body"
        for media_type, media in json_media.items():
            schema = media.get("schema")
            assert _schema_name(schema) == "OAuthError", (
                f"{status} {media_type}: expected OAuthError, got {schema}"
            )


@pytest.mark.parametrize("op", _params(API_OPERATIONS))
def test_responses_document_request_id(op: Operation) -> None:
    """Every response, success or error, documents the X-Request-Id header."""
    missing = [
        status
        for status, response, _ in op.responses()
        if "X-Request-Id" not in (response.get("headers") or {})
    ]
    assert not missing, f"responses without X-Request-Id: {missing}"


@pytest.mark.parametrize("op", _params(RATE_LIMITED))
def test_rate_limited_documents_headers(op: Operation) -> None:
    """Every 429 response documents Retry-After and the X-RateLimit-* headers."""
    for status, response, _ in op.responses():
        if status == "429":
            headers = set(response.get("headers") or {})
            missing = [name for name in RATE_LIMIT_HEADERS if name not in headers]
            assert not missing, f"429 without {missing}"


@pytest.mark.parametrize("op", _params(CREATES))
def test_create_accepts_idempotency_key(op: Operation) -> None:
    """create* operations and importUsers accept the shared Idempotency-Key header."""
    parameters = op.parameters()
    assert any(
        isinstance(raw, Mapping) and raw.get("$ref") == f"{PARAMETER_REF}IdempotencyKey"
        for _, raw, _ in parameters
    ), f"missing {PARAMETER_REF}IdempotencyKey"
    assert any(
        p.get("in") == "header" and p.get("name") == "Idempotency-Key" for p, _, _ in parameters
    ), "IdempotencyKey must be the Idempotency-Key header"


def test_enums_are_named_and_defined_once() -> None:
    """Enums live only as named component schemas, and no two named enums share their values."""
    inline = []
    by_values: dict[frozenset[str], list[str]] = {}
    for node, pointer in _walk(SPEC):
        if not isinstance(node.get("enum"), list):
            continue
        match = re.fullmatch(r"/components/schemas/([^/]+)", pointer)
        if match is None:
            inline.append(pointer)
        else:
            values = frozenset(map(str, node["enum"])) - {"None"}
            by_values.setdefault(values, []).append(match.group(1))
    duplicates = [names for names in by_values.values() if len(names) > 1]
    problems = [f"inline enum at {pointer}: name it in components.schemas" for pointer in inline]
    problems += [f"one enum defined under several names: {names}" for names in duplicates]
    assert not problems, "\n".join(problems)


def test_no_schema_shadows_generated_classes() -> None:
    """No schema is named Client, AuthenticatedClient or Response."""
    names = set((SPEC.get("components") or {}).get("schemas") or {})
    assert not names & FORBIDDEN_SCHEMA_NAMES, sorted(names & FORBIDDEN_SCHEMA_NAMES)


def test_no_nullable_keyword() -> None:
    """No schema uses the 3.0 `nullable` keyword; 3.1 spells it `type: [T, "null"]` or a oneOf."""
    offenders = [pointer for node, pointer in _walk(SPEC) if isinstance(node.get("nullable"), bool)]
    assert not offenders, offenders


def test_webhook_event_types_match_webhooks() -> None:
    """The WebhookEventType enum lists exactly the events of the top-level webhooks section."""
    event_types = set(SPEC["components"]["schemas"]["WebhookEventType"]["enum"])
    assert event_types == set(SPEC.get("webhooks") or {})


@pytest.mark.parametrize("op", _params(WEBHOOK_OPERATIONS))
def test_webhook_delivery_is_signed(op: Operation) -> None:
    """Each webhook documents its signature and event headers and a typed event envelope."""
    headers = {p.get("name"): p for p, _, _ in op.parameters() if p.get("in") == "header"}
    for name in WEBHOOK_HEADERS:
        assert name in headers, f"missing header parameter {name}"
        assert headers[name].get("required") is True, f"{name} must be required"
    assert "HMAC-SHA256" in str(op.node.get("description")), (
        "description must explain the signature"
    )
    body = op.request_body()
    assert body is not None, "a webhook has a request body"
    schema = body[0]["content"]["application/json"]["schema"]
    event, _ = _resolve(schema, "")
    assert event["properties"]["type"].get("const") == op.path, (
        f"event type must be const {op.path!r}"
    )
    assert {"id", "type", "created_at", "data"} <= set(event.get("required", []))


@pytest.mark.parametrize("op", _params(WEBHOOK_OPERATIONS))
def test_webhook_signature_example_verifies(op: Operation) -> None:
    """Each webhook's IntelliAuth-Signature example is the HMAC of its body example."""
    header = next(p for p, _, _ in op.parameters() if p.get("name") == "IntelliAuth-Signature")
    secret = re.search(r"whsec_[A-Za-z0-9_-]+", str(header.get("description")))
    assert secret, "the header description names the secret its example was signed with"
    fields = dict(part.split("=", 1) for part in str(header.get("example")).split(","))
    body = op.request_body()
    assert body is not None
    media = body[0]["content"]["application/json"]
    (_, event), *_ = _examples_of(media, "")
    raw = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    expected = hmac.new(
        secret.group().encode(), f"{fields['t']}.{raw}".encode(), hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(fields["v1"], expected)


# ----------------------------------------------------------------- secrets
SENSITIVE = "x-sensitive"
# A property name looks secret when its last word is one of these (`client_secret`,
# `refresh_token`, `code`, `code_verifier`) or when it holds `otpauth` anywhere.
SECRET_LAST_WORDS = frozenset(
    {"secret", "password", "passcode", "token", "tokens", "code", "verifier", "assertion"}
)
SECRET_ANY_WORDS = frozenset({"otpauth"})
# Secret-looking names that are not credentials, each with the reason.
NOT_SECRET = {
    "/components/schemas/UserInfoAddress/properties/postal_code": "a postal address field",
    "/components/schemas/WebhookDelivery/properties/response_status_code": (
        "the HTTP status the subscriber's endpoint answered"
    ),
}


def _words(name: str) -> list[str]:
    """``client_secret`` -> [client, secret]; ``clientDataJSON`` -> [client, data, json]."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return [word for word in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if word]


def _looks_secret(name: str, schema: Mapping[str, Any]) -> bool:
    words = _words(name)
    return (
        bool(words)
        and (words[-1] in SECRET_LAST_WORDS or bool(SECRET_ANY_WORDS.intersection(words)))
    ) or (schema.get("writeOnly") is True or schema.get("format") == "password")


def _marks_a_secret(schema: Mapping[str, Any]) -> bool:
    """Whether an object schema (with its allOf parts) marks one of its properties."""
    parts = [schema, *(_resolve(part, "")[0] for part in schema.get("allOf") or [])]
    return any(
        isinstance(prop, Mapping) and prop.get(SENSITIVE) is True
        for part in parts
        for prop in (part.get("properties") or {}).values()
    )


def _properties() -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """(pointer, name, schema) for every property of every schema in the document."""
    for node, pointer in _walk(SPEC):
        properties = node.get("properties")
        if not isinstance(properties, Mapping) or pointer.endswith("/properties"):
            continue
        for name, schema in properties.items():
            if isinstance(schema, Mapping):
                yield f"{pointer}/properties/{_escape(str(name))}", str(name), schema


def test_secret_looking_properties_are_marked_sensitive() -> None:
    """A property named like a credential carries x-sensitive, or is listed as not secret.

    A ``$ref`` to an object schema (``SignInAuthenticated.tokens``) is left to that schema,
    which must then mark a property of its own.
    """
    problems = []
    for pointer, name, schema in _properties():
        if not _looks_secret(name, schema) or schema.get(SENSITIVE) is True:
            continue
        if pointer in NOT_SECRET:
            continue
        target, target_pointer = _resolve(schema, pointer)
        if "$ref" in schema and isinstance(target, Mapping):
            if not _marks_a_secret(target):
                problems.append(f"{pointer} -> {target_pointer} marks no property x-sensitive")
            continue
        problems.append(f"{pointer}: add `{SENSITIVE}: true` or list it in NOT_SECRET")
    assert not problems, "\n".join(problems)


def test_sensitive_marks_are_well_formed() -> None:
    """x-sensitive is `true`, on a property schema only; NOT_SECRET names real, unmarked ones."""
    problems = [
        f"{pointer}: {SENSITIVE} must be true on a property, got {node[SENSITIVE]!r}"
        for node, pointer in _walk(SPEC)
        if SENSITIVE in node
        and (node[SENSITIVE] is not True or not re.search(r"/properties/[^/]+$", pointer))
    ]
    properties = {pointer: schema for pointer, _, schema in _properties()}
    for pointer in NOT_SECRET:
        if pointer not in properties:
            problems.append(f"NOT_SECRET lists {pointer}, which is not a property")
        elif properties[pointer].get(SENSITIVE) is True:
            problems.append(f"NOT_SECRET lists {pointer}, which is marked {SENSITIVE}")
    assert not problems, "\n".join(problems)


def test_the_contract_marks_its_credentials() -> None:
    """The credentials the SDK handles are marked: a rename can not drop a mark unnoticed."""
    schemas = SPEC["components"]["schemas"]
    expected = {
        "TokenRequest": {"client_secret", "code", "code_verifier", "refresh_token"},
        "TokenResponse": {"access_token", "refresh_token", "id_token"},
        "RevocationRequest": {"token", "client_secret"},
        "IntrospectionRequest": {"token", "client_secret"},
        "SignInRequest": {"password"},
        "MfaFactorEnrollment": {"secret", "otpauth_uri"},
        "ApplicationSecret": {"client_secret"},
        "WebhookSecret": {"signing_secret"},
    }
    for schema_name, names in expected.items():
        marked = {
            name
            for name, prop in schemas[schema_name]["properties"].items()
            if prop.get(SENSITIVE) is True
        }
        assert names <= marked, f"{schema_name}: {sorted(names - marked)} not marked"
    for schema_name, name in (
        ("ApplicationWithSecret", "client_secret"),
        ("WebhookWithSecret", "signing_secret"),
    ):
        parts = schemas[schema_name]["allOf"]
        assert any(
            (part.get("properties") or {}).get(name, {}).get(SENSITIVE) is True for part in parts
        ), f"{schema_name}.{name} not marked"
