"""The contract variants of the spec-bump corpus (tests/codegen/test_variants.py).

Each variant is a change a platform release could make to the contract, applied to a copy of
tests/codegen/fixtures/mini.openapi.yaml (plus an ``auth`` operation, which the hand-written
``IntelliAuth`` needs). The rule they enforce: a variant either generates a client that
imports, passes ``mypy --strict`` and answers its new operations through ``IntelliAuth``
(``calls``), or fails with one ``GenerationError`` line that names the place in the spec and
the fix (``error``, a regular expression the line must match).

A `Call` is Python source run inside ``async def`` with ``client`` (an ``IntelliAuth`` on a
loopback server), ``models`` (the generated models package), ``File`` and ``io`` in scope; the
server answers with ``responses`` in order and records the requests, which ``requests``
(a list of ``"METHOD /path?query"``) must match; ``check`` is an expression on ``result``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import yaml

MINI_SPEC = Path(__file__).parent / "fixtures" / "mini.openapi.yaml"

Document = dict[str, Any]

USER = {
    "id": "usr_1",
    "email": "ada@example.com",
    "status": "active",
    "created_at": "2024-05-01T10:00:00Z",
}
EMPTY_PAGE = {"data": [], "meta": {"next_cursor": None}}
GADGET = {"id": "g1", "name": "G"}


@attrs.frozen
class Reply:
    """One answer of the loopback server."""

    status: int = 200
    json: Any = None
    content: bytes | None = None
    content_type: str = "application/json"


@attrs.frozen
class Call:
    """One call through ``IntelliAuth`` and what must come of it."""

    source: str
    requests: tuple[str, ...] = ()
    replies: tuple[Reply, ...] = ()
    check: str = "True"
    warns: bool = False  # a DeprecationWarning is expected
    request_body: str | None = None  # a substring the (last) request body must contain


@attrs.frozen
class Variant:
    """One contract change and its expected outcome."""

    name: str
    kind: str  # what the issue calls it
    change: Callable[[Document], None]
    calls: tuple[Call, ...] = ()
    error: str | None = None  # the GenerationError line must match this (re.search)
    raw_yaml: str | None = None  # the spec as text instead (for documents YAML cannot dump)

    @property
    def generates(self) -> bool:
        """Whether the variant must generate (else it must fail with `error`)."""
        return self.error is None


def base_document() -> Document:
    """The mini spec plus an ``auth`` operation (``IntelliAuth`` imports ``AuthResource``)."""
    document: Document = yaml.safe_load(MINI_SPEC.read_text(encoding="utf-8"))
    document["tags"].append({"name": "auth", "description": "Sign-in and sign-out."})
    document["paths"]["/auth/sign-out"] = {
        "post": {
            "operationId": "signOut",
            "tags": ["auth"],
            "summary": "Sign out",
            "responses": {"204": {"description": "Signed out."}},
        }
    }
    return document


def generate_variant(spec: str, package_dir: str) -> str:
    """Generate one variant's package (in a worker process): "" or the GenerationError line."""
    from codegen.generator import GenerationError, build_package

    try:
        build_package(Path(spec), Path(package_dir))
    except GenerationError as error:
        return str(error)
    return ""


def render(variant: Variant) -> str:
    """The variant's spec, as YAML text."""
    if variant.raw_yaml is not None:
        return variant.raw_yaml
    document = base_document()
    variant.change(document)
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


# -- building blocks --------------------------------------------------------------------------


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def json_response(description: str, schema: dict[str, Any], status: str = "200") -> dict[str, Any]:
    return {
        status: {"description": description, "content": {"application/json": {"schema": schema}}}
    }


def envelope(document: Document, name: str, data: dict[str, Any], *, page: bool = False) -> str:
    """Add ``<name>`` = ``{data, meta}`` (a list page when `page`); returns its name."""
    document["components"]["schemas"][name] = {
        "type": "object",
        "required": ["data", "meta"],
        "properties": {
            "data": {"type": "array", "items": data} if page else data,
            "meta": ref("ListMeta" if page else "Meta"),
        },
    }
    return name


def path_parameter(name: str, description: str = "") -> dict[str, Any]:
    parameter: dict[str, Any] = {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
    }
    if description:
        parameter["description"] = description
    return parameter


def operation(
    operation_id: str, tag: str | None, responses: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    result: dict[str, Any] = {"operationId": operation_id}
    if tag is not None:
        result["tags"] = [tag]
    result["summary"] = operation_id
    result.update(extra)
    result["responses"] = responses
    return result


def add_tag(document: Document, name: str, description: str = "") -> None:
    document["tags"].append({"name": name, "description": description or f"The {name}."})


# -- the variants that generate -----------------------------------------------------------------


def new_tag_and_operations(document: Document) -> None:
    add_tag(document, "badges", "Badges users earn.")
    schemas = document["components"]["schemas"]
    schemas["Badge"] = {
        "type": "object",
        "required": ["id", "name"],
        "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
    }
    schemas["BadgeCreate"] = {
        "type": "object",
        "required": ["name"],
        "properties": {"name": {"type": "string", "description": "What the badge says."}},
    }
    envelope(document, "BadgeEnvelope", ref("Badge"))
    envelope(document, "BadgeList", ref("Badge"), page=True)
    document["paths"]["/api/v1/badges"] = {
        "get": operation(
            "listBadges",
            "badges",
            json_response("A page of badges.", ref("BadgeList")),
            parameters=[
                {"$ref": "#/components/parameters/Cursor"},
                {"$ref": "#/components/parameters/Limit"},
            ],
        ),
        "post": operation(
            "createBadge",
            "badges",
            json_response("The new badge.", ref("BadgeEnvelope"), "201"),
            requestBody={
                "required": True,
                "content": {"application/json": {"schema": ref("BadgeCreate")}},
            },
        ),
    }


def plain_inputs(document: Document) -> None:
    """Bodies and enums of awkward shapes, given as plain mappings and strings.

    Keys that are no Python identifiers (``x-serial``, ``from``), a date-time, a schema that
    contains itself, a ``oneOf`` of two objects (checked loosely), a ``const``, an enum
    whose values are builtin names on a resource with a ``list`` method, and a file body
    (no plain form).
    """
    add_tag(document, "gadgets", "Gadgets.")
    schemas = document["components"]["schemas"]
    schemas["GadgetKind"] = {"type": "string", "enum": ["list", "type"]}
    schemas["Gadget"] = {
        "type": "object",
        "required": ["id", "name"],
        "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
    }
    for name, field in (("Circle", "radius"), ("Square", "side")):
        schemas[name] = {
            "type": "object",
            "required": [field],
            "properties": {field: {"type": "number"}},
        }
    schemas["GadgetCreate"] = {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string"},
            "x-serial": {"type": "string"},
            "from": {"type": "string"},
            "made_at": {"type": "string", "format": "date-time"},
            "kind": ref("GadgetKind"),
            "version": {"const": "v1"},
            "parts": {"type": "array", "items": ref("GadgetCreate")},
            "shape": {"oneOf": [ref("Circle"), ref("Square")]},
        },
    }
    envelope(document, "GadgetEnvelope", ref("Gadget"))
    envelope(document, "GadgetList", ref("Gadget"), page=True)
    document["paths"]["/api/v1/gadgets"] = {
        "get": operation(
            "listGadgets",
            "gadgets",
            json_response("A page of gadgets.", ref("GadgetList")),
            parameters=[
                {"name": "kind", "in": "query", "schema": ref("GadgetKind")},
                {"name": "cursor", "in": "query", "schema": {"type": "string"}},
            ],
        ),
        "post": operation(
            "createGadget",
            "gadgets",
            json_response("The new gadget.", ref("GadgetEnvelope"), "201"),
            requestBody={
                "required": True,
                "content": {"application/json": {"schema": ref("GadgetCreate")}},
            },
        ),
    }
    document["paths"]["/api/v1/gadgets/photos"] = {
        "post": operation(
            "uploadGadgetPhoto",
            "gadgets",
            json_response("The gadget.", ref("GadgetEnvelope"), "201"),
            requestBody={
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["file"],
                            "properties": {"file": {"type": "string", "format": "binary"}},
                        }
                    }
                },
            },
        ),
    }


def new_fields_and_enum_values(document: Document) -> None:
    schemas = document["components"]["schemas"]
    schemas["UserStatus"]["enum"].append("locked")
    schemas["User"]["properties"]["department"] = {"type": "string"}
    schemas["Group"]["properties"]["member_count"] = {"type": "integer"}


def camel_case_path_parameter(document: Document) -> None:
    envelope(document, "GroupPage", ref("Group"), page=True)
    document["paths"]["/api/v1/users/{userId}/badges"] = {
        "parameters": [path_parameter("userId", "The user's id.")],
        "get": operation(
            "getUserBadges", "users", json_response("The user's badges.", ref("GroupPage"))
        ),
    }


def keyword_path_parameters(document: Document) -> None:
    add_tag(document, "transfers")
    document["components"]["schemas"]["Transfer"] = {
        "type": "object",
        "required": ["from", "class"],
        "properties": {"from": {"type": "string"}, "class": {"type": "string"}},
    }
    document["paths"]["/api/v1/transfers/{from}/{class}"] = {
        "parameters": [path_parameter("from"), path_parameter("class")],
        "get": operation("getTransfer", "transfers", json_response("A transfer.", ref("Transfer"))),
    }


def dashed_path_parameter(document: Document) -> None:
    add_tag(document, "tenants")
    document["paths"]["/api/v1/tenants/{tenant-id}/settings"] = {
        "parameters": [path_parameter("tenant-id")],
        "get": operation(
            "getTenantSettings", "tenants", json_response("The settings.", ref("Meta"))
        ),
    }


def client_path_parameter(document: Document) -> None:
    add_tag(document, "clients")
    document["paths"]["/api/v1/clients/{client}"] = {
        "parameters": [path_parameter("client")],
        "delete": operation("deleteClient", "clients", {"204": {"description": "Deleted."}}),
    }


def renamed_path_parameter(document: Document) -> None:
    paths = document["paths"]
    item = paths.pop("/api/v1/users/{user_id}")
    item["parameters"] = [path_parameter("userId", "The user's id.")]
    paths["/api/v1/users/{userId}"] = item


def no_content_operation(document: Document) -> None:
    document["paths"]["/api/v1/users/{user_id}/lock"] = {
        "parameters": [{"$ref": "#/components/parameters/UserId"}],
        "post": operation("lockUser", "users", {"204": {"description": "Locked."}}),
    }


def file_download(document: Document) -> None:
    document["paths"]["/api/v1/users/{user_id}/avatar"] = {
        "parameters": [{"$ref": "#/components/parameters/UserId"}],
        "get": operation(
            "getUserAvatar",
            "users",
            {
                "200": {
                    "description": "The avatar image.",
                    "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
                }
            },
        ),
    }


def multipart_upload(document: Document) -> None:
    document["paths"]["/api/v1/users/{user_id}/avatar"] = {
        "parameters": [{"$ref": "#/components/parameters/UserId"}],
        "put": operation(
            "uploadUserAvatar",
            "users",
            {"204": {"description": "Uploaded."}},
            requestBody={
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["file"],
                            "properties": {
                                "file": {"type": "string", "format": "binary"},
                                "caption": {"type": "string"},
                            },
                        }
                    }
                },
            },
        ),
    }


def recursive_schema(document: Document) -> None:
    add_tag(document, "org-units", "The organisation chart.")
    document["components"]["schemas"]["OrgUnit"] = {
        "type": "object",
        "required": ["id", "children"],
        "properties": {
            "id": {"type": "string"},
            "children": {"type": "array", "items": ref("OrgUnit")},
            "parent": {"oneOf": [ref("OrgUnit"), {"type": "null"}]},
        },
    }
    envelope(document, "OrgUnitEnvelope", ref("OrgUnit"))
    document["paths"]["/api/v1/org-units/{unit_id}"] = {
        "parameters": [path_parameter("unit_id")],
        "get": operation(
            "getOrgUnit", "org-units", json_response("The unit.", ref("OrgUnitEnvelope"))
        ),
    }


def allof_schema(document: Document) -> None:
    add_tag(document, "admins")
    schemas = document["components"]["schemas"]
    schemas["User"].pop("additionalProperties")
    schemas["AdminUser"] = {
        "allOf": [
            ref("User"),
            {
                "type": "object",
                "required": ["permissions"],
                "properties": {"permissions": {"type": "array", "items": {"type": "string"}}},
            },
        ]
    }
    envelope(document, "AdminEnvelope", ref("AdminUser"))
    document["paths"]["/api/v1/admins/{user_id}"] = {
        "parameters": [{"$ref": "#/components/parameters/UserId"}],
        "get": operation("getAdmin", "admins", json_response("The admin.", ref("AdminEnvelope"))),
    }


def deprecated_operation(document: Document) -> None:
    document["paths"]["/api/v1/users/{user_id}"]["get"]["deprecated"] = True


def deprecated_field(document: Document) -> None:
    schemas = document["components"]["schemas"]
    schemas["User"]["properties"]["display_name"]["deprecated"] = True
    schemas["UserCreate"]["properties"]["display_name"]["deprecated"] = True


def renamed_operation(document: Document) -> None:
    document["paths"]["/api/v1/users/{user_id}"]["get"]["operationId"] = "fetchUser"


def removed_operation(document: Document) -> None:
    del document["paths"]["/api/v1/users/{user_id}"]["delete"]


def unquoted_status_codes(document: Document) -> None:
    for path_item in document["paths"].values():
        for method, operation_ in path_item.items():
            if method != "parameters":
                operation_["responses"] = {int(k): v for k, v in operation_["responses"].items()}


def cursor_without_limit(document: Document) -> None:
    document["paths"]["/api/v1/groups"] = {
        "get": operation(
            "listGroups",
            "groups",
            json_response("A page of groups.", ref("GroupList")),
            parameters=[{"$ref": "#/components/parameters/Cursor"}],
        )
    }


def operation_without_tags(document: Document) -> None:
    document["paths"]["/api/v1/health"] = {
        "get": operation("getHealth", None, json_response("Health.", ref("Meta")))
    }


def kebab_case_operation_id(document: Document) -> None:
    document["paths"]["/api/v1/users/{user_id}/sessions"] = {
        "parameters": [{"$ref": "#/components/parameters/UserId"}],
        "get": operation(
            "list-user-sessions", "users", json_response("The sessions.", ref("GroupList"))
        ),
    }


def query_parameters_named_like_builtins(document: Document) -> None:
    names = [
        *("type", "id", "list", "format", "client", "self", "from"),
        # names the generated functions use for their own locals
        *("response", "warnings", "params", "kwargs"),
    ]
    document["paths"]["/api/v1/search/users"] = {
        "get": operation(
            "searchUsers",
            "users",
            json_response("Matching users.", ref("UserList")),
            deprecated=True,  # its method then uses `warnings` next to a parameter of that name
            parameters=[
                {
                    "name": name,
                    "in": "query",
                    "description": f"Filter by {name}.",
                    "schema": {"type": "string"},
                }
                for name in names
            ],
        )
    }


def typed_additional_properties(document: Document) -> None:
    add_tag(document, "quotas")
    schemas = document["components"]["schemas"]
    schemas["Quotas"] = {
        "type": "object",
        "properties": {"plan": {"type": "string"}},
        "additionalProperties": {"type": "integer"},
    }
    schemas["GroupsByName"] = {"type": "object", "additionalProperties": ref("Group")}
    envelope(document, "QuotasEnvelope", ref("Quotas"))
    envelope(document, "GroupsByNameEnvelope", ref("GroupsByName"))
    document["paths"]["/api/v1/quotas"] = {
        "get": operation("getQuotas", "quotas", json_response("Quotas.", ref("QuotasEnvelope")))
    }
    document["paths"]["/api/v1/quotas/groups"] = {
        "get": operation(
            "getQuotaGroups", "quotas", json_response("Groups.", ref("GroupsByNameEnvelope"))
        )
    }


def ref_responses(document: Document) -> None:
    responses = document["components"]["responses"]
    responses["UserResponse"] = {
        "description": "The user.",
        "content": {"application/json": {"schema": ref("UserEnvelope")}},
    }
    responses["NoContent"] = {"description": "Done."}
    item = document["paths"]["/api/v1/users/{user_id}"]
    item["get"]["responses"]["200"] = {"$ref": "#/components/responses/UserResponse"}
    item["delete"]["responses"]["204"] = {"$ref": "#/components/responses/NoContent"}


def schemas_named_like_facade_imports(document: Document) -> None:
    add_tag(document, "pipeline")
    schemas = document["components"]["schemas"]
    for name in ("Protocol", "Sequence", "AsyncIterator"):
        schemas[name] = {
            "type": "object",
            "required": ["name"],
            "properties": {"name": {"type": "string"}},
        }
        document["paths"][f"/api/v1/pipeline/{name.lower()}"] = {
            "get": operation(f"get{name}", "pipeline", json_response(name, ref(name)))
        }


def enum_named_protocol(document: Document) -> None:
    schemas = document["components"]["schemas"]
    schemas["Protocol"] = schemas.pop("ConnectionProtocol")
    for name in ("OidcConnection", "SamlConnection"):
        schemas[name]["properties"]["protocol"] = ref("Protocol")
    document["paths"]["/api/v1/federation/connections"]["get"]["parameters"].append(
        {"name": "protocol", "in": "query", "schema": ref("Protocol")}
    )


def optional_oneof_body(document: Document) -> None:
    schemas = document["components"]["schemas"]
    schemas["TextNote"] = {
        "type": "object",
        "required": ["text"],
        "properties": {"text": {"type": "string"}},
    }
    schemas["LinkNote"] = {
        "type": "object",
        "required": ["url"],
        "properties": {"url": {"type": "string"}},
    }
    document["paths"]["/api/v1/users/{user_id}/notes"] = {
        "parameters": [{"$ref": "#/components/parameters/UserId"}],
        "post": operation(
            "addUserNote",
            "users",
            {"204": {"description": "Added."}},
            requestBody={
                "required": False,
                "content": {
                    "application/json": {"schema": {"oneOf": [ref("TextNote"), ref("LinkNote")]}}
                },
            },
        ),
    }


# -- the variants that must fail, with one line ---------------------------------------------------


def schema_named_operation(document: Document) -> None:
    document["components"]["schemas"]["Operation"] = {
        "type": "object",
        "properties": {"id": {"type": "string"}},
    }
    document["components"]["schemas"]["Group"]["properties"]["operation"] = ref("Operation")


def schema_named_response(document: Document) -> None:
    document["components"]["schemas"]["Response"] = {
        "type": "object",
        "properties": {"ok": {"type": "boolean"}},
    }
    document["paths"]["/api/v1/ping"] = {
        "get": operation("ping", "users", json_response("Pong.", ref("Response")))
    }


def schema_named_like_a_model_import(document: Document) -> None:
    document["components"]["schemas"]["TypeVar"] = {
        "type": "object",
        "properties": {"bound": {"type": "string"}},
    }
    document["components"]["schemas"]["Group"]["properties"]["type_var"] = ref("TypeVar")


def method_name_collision(document: Document) -> None:
    document["paths"]["/api/v1/users"]["get"]["operationId"] = "listUser"
    clash = copy.deepcopy(document["paths"]["/api/v1/users"]["get"])
    clash["operationId"] = "listUsers"
    document["paths"]["/api/v1/all-users"] = {"get": clash}


def dangling_reference(document: Document) -> None:
    document["components"]["schemas"]["Group"]["properties"]["owner"] = ref("Nowhere")


def body_with_two_content_types(document: Document) -> None:
    content = document["paths"]["/oauth2/token"]["post"]["requestBody"]["content"]
    content["application/json"] = {"schema": ref("TokenRequest")}


def nullable_next_to_ref(document: Document) -> None:
    document["components"]["schemas"]["User"]["properties"]["manager"] = {
        **ref("UserRef"),
        "nullable": True,
    }


def missing_operation_id(document: Document) -> None:
    del document["paths"]["/api/v1/me"]["get"]["operationId"]


def operation_id_without_a_name(document: Document) -> None:
    document["paths"]["/api/v1/me"]["get"]["operationId"] = "_"


def path_template_mismatch(document: Document) -> None:
    paths = document["paths"]
    paths["/api/v1/users/{id}/groups"] = paths.pop("/api/v1/users/{user_id}/groups")


def malformed_responses(document: Document) -> None:
    document["paths"]["/api/v1/me"]["get"]["responses"] = "oops"


def unchanged(document: Document) -> None:
    """No change (a variant whose spec is given as text)."""


_GET_USER = Call(
    "await client.users.get('usr_1')",
    requests=("GET /api/v1/users/usr_1",),
    replies=(Reply(json={"data": USER, "meta": {}}),),
    check="result.email == 'ada@example.com'",
)

VARIANTS: tuple[Variant, ...] = (
    Variant(
        "plain_inputs",
        "bodies as mappings, enums as strings",
        plain_inputs,
        calls=(
            Call(
                "await client.gadgets.create({'name': 'G', 'x-serial': 'S1', 'from': 'me', "
                "'made_at': '2024-05-01T10:00:00Z', 'kind': 'list', 'version': 'v1', "
                "'parts': [{'name': 'P', 'shape': {'side': 2}}], 'shape': {'radius': 1.5}})",
                requests=("POST /api/v1/gadgets",),
                replies=(Reply(201, {"data": {"id": "g1", "name": "G"}, "meta": {}}),),
                check="result.name == 'G'",
                request_body='"x-serial":"S1"',
            ),
            Call(
                "[gadget.id async for gadget in client.gadgets.list(kind='type')]",
                requests=("GET /api/v1/gadgets?kind=type",),
                replies=(Reply(json={"data": [GADGET], "meta": {"next_cursor": None}}),),
                check="result == ['g1']",
            ),
            Call(
                "(await client.gadgets.with_raw_response.create({'name': 'H'})).parse()",
                requests=("POST /api/v1/gadgets",),
                replies=(Reply(201, {"data": {"id": "g2", "name": "H"}, "meta": {}}),),
                check="result.id == 'g2'",
                request_body='{"name":"H"}',
            ),
        ),
    ),
    Variant(
        "new_tag_and_operations",
        "new operations and tags",
        new_tag_and_operations,
        calls=(
            Call(
                "await client.badges.create(models.BadgeCreate(name='Gold'))",
                requests=("POST /api/v1/badges",),
                replies=(Reply(201, {"data": {"id": "bdg_1", "name": "Gold"}, "meta": {}}),),
                check="isinstance(result, models.Badge) and result.name == 'Gold'",
                request_body='"name":"Gold"',
            ),
            Call(
                "[badge.id async for badge in client.badges.list(limit=2)]",
                requests=("GET /api/v1/badges?limit=2", "GET /api/v1/badges?cursor=c2&limit=2"),
                replies=(
                    Reply(
                        json={"data": [{"id": "b1", "name": "A"}], "meta": {"next_cursor": "c2"}}
                    ),
                    Reply(
                        json={"data": [{"id": "b2", "name": "B"}], "meta": {"next_cursor": None}}
                    ),
                ),
                check="result == ['b1', 'b2']",
            ),
        ),
    ),
    Variant(
        "new_fields_and_enum_values",
        "new fields and enum values",
        new_fields_and_enum_values,
        calls=(
            Call(
                "await client.users.get('usr_1')",
                requests=("GET /api/v1/users/usr_1",),
                replies=(
                    Reply(
                        json={"data": {**USER, "status": "locked", "department": "R&D"}, "meta": {}}
                    ),
                ),
                check="result.department == 'R&D' and result.status is models.UserStatus.LOCKED",
            ),
        ),
    ),
    Variant(
        "camel_case_path_parameter",
        "renamed path parameters (camelCase)",
        camel_case_path_parameter,
        calls=(
            Call(
                "await client.users.get_badges('usr 1')",
                requests=("GET /api/v1/users/usr%201/badges",),
                replies=(
                    Reply(
                        json={"data": [{"id": "g1", "name": "G"}], "meta": {"next_cursor": None}}
                    ),
                ),
                check="[group.id for group in result] == ['g1']",
            ),
        ),
    ),
    Variant(
        "keyword_path_parameters",
        "renamed path parameters (keywords)",
        keyword_path_parameters,
        calls=(
            Call(
                "await client.transfers.get('acc_1', 'gold')",
                requests=("GET /api/v1/transfers/acc_1/gold",),
                replies=(Reply(json={"from": "acc_1", "class": "gold"}),),
                check="(result.from_, result.class_) == ('acc_1', 'gold')",
            ),
        ),
    ),
    Variant(
        "dashed_path_parameter",
        "renamed path parameters (dashes)",
        dashed_path_parameter,
        calls=(
            Call(
                "await client.tenants.get_settings('acme')",
                requests=("GET /api/v1/tenants/acme/settings",),
                replies=(Reply(json={"request_id": "req_1"}),),
                check="result.request_id == 'req_1'",
            ),
        ),
    ),
    Variant(
        "client_path_parameter",
        "renamed path parameters (client)",
        client_path_parameter,
        calls=(
            Call(
                "await client.clients.delete('cli_1')",
                requests=("DELETE /api/v1/clients/cli_1",),
                replies=(Reply(204),),
                check="result is None",
            ),
        ),
    ),
    Variant(
        "renamed_path_parameter",
        "renamed path parameters (an existing operation's)",
        renamed_path_parameter,
        calls=(_GET_USER,),
    ),
    Variant(
        "no_content_operation",
        "204 answers",
        no_content_operation,
        calls=(
            Call(
                "await client.users.lock('usr_1')",
                requests=("POST /api/v1/users/usr_1/lock",),
                replies=(Reply(204),),
                check="result is None",
            ),
        ),
    ),
    Variant(
        "file_download",
        "file downloads",
        file_download,
        calls=(
            Call(
                "await client.users.get_avatar('usr_1')",
                requests=("GET /api/v1/users/usr_1/avatar",),
                replies=(Reply(content=b"\x89PNG-bytes", content_type="image/png"),),
                check="isinstance(result, File) and result.payload.read() == b'\\x89PNG-bytes'",
            ),
        ),
    ),
    Variant(
        "multipart_upload",
        "multipart uploads",
        multipart_upload,
        calls=(
            Call(
                "await client.users.upload_avatar('usr_1', models.UploadUserAvatarBody("
                "file=File(payload=io.BytesIO(b'PNGDATA'), file_name='me.png', "
                "mime_type='image/png'), caption='me'))",
                requests=("PUT /api/v1/users/usr_1/avatar",),
                replies=(Reply(204),),
                check="result is None",
                request_body="PNGDATA",
            ),
        ),
    ),
    Variant(
        "recursive_schema",
        "recursive schemas",
        recursive_schema,
        calls=(
            Call(
                "await client.org_units.get('ou_1')",
                requests=("GET /api/v1/org-units/ou_1",),
                replies=(
                    Reply(
                        json={
                            "data": {
                                "id": "ou_1",
                                "children": [{"id": "ou_2", "children": [], "parent": None}],
                                "parent": None,
                            },
                            "meta": {},
                        }
                    ),
                ),
                check="result.children[0].id == 'ou_2' and result.parent is None",
            ),
        ),
    ),
    Variant(
        "allof_schema",
        "allOf schemas",
        allof_schema,
        calls=(
            Call(
                "await client.admins.get('usr_1')",
                requests=("GET /api/v1/admins/usr_1",),
                replies=(Reply(json={"data": {**USER, "permissions": ["all"]}, "meta": {}}),),
                check="result.email == 'ada@example.com' and result.permissions == ['all']",
            ),
        ),
    ),
    Variant(
        "deprecated_operation",
        "deprecated operations",
        deprecated_operation,
        calls=(attrs.evolve(_GET_USER, warns=True),),
    ),
    Variant(
        "deprecated_field",
        "deprecated fields",
        deprecated_field,
        calls=(
            Call(  # parsing a deprecated field the server still sends does not warn
                "await client.users.get('usr_1')",
                requests=("GET /api/v1/users/usr_1",),
                replies=(Reply(json={"data": {**USER, "display_name": "Ada"}, "meta": {}}),),
                check="result.display_name == 'Ada'",
            ),
            Call(  # setting it does
                "await client.users.create(models.UserCreate(email='a@x.io', display_name='A'))",
                requests=("POST /api/v1/users",),
                replies=(Reply(201, {"data": USER, "meta": {}}),),
                check="result.id == 'usr_1'",
                warns=True,
            ),
        ),
    ),
    Variant(
        "renamed_operation",
        "renamed operations",
        renamed_operation,
        calls=(
            Call(
                "(await client.users.fetch('usr_1'), hasattr(client.users, 'get'))",
                requests=("GET /api/v1/users/usr_1",),
                replies=(Reply(json={"data": USER, "meta": {}}),),
                check="result[0].id == 'usr_1' and result[1] is False",
            ),
        ),
    ),
    Variant(
        "removed_operation",
        "removed operations",
        removed_operation,
        calls=(
            Call("hasattr(client.users, 'delete')", check="result is False"),
            _GET_USER,
        ),
    ),
    Variant(
        "unquoted_status_codes",
        "unquoted status codes (200: instead of '200':)",
        unquoted_status_codes,
        calls=(_GET_USER,),
    ),
    Variant(
        "cursor_without_limit",
        "a cursor query parameter without limit",
        cursor_without_limit,
        calls=(
            Call(
                "[group.name async for group in client.groups.list()]",
                requests=("GET /api/v1/groups", "GET /api/v1/groups?cursor=next"),
                replies=(
                    Reply(
                        json={"data": [{"id": "g1", "name": "A"}], "meta": {"next_cursor": "next"}}
                    ),
                    Reply(
                        json={"data": [{"id": "g2", "name": "B"}], "meta": {"next_cursor": None}}
                    ),
                ),
                check="result == ['A', 'B']",
            ),
        ),
    ),
    Variant(
        "operation_without_tags",
        "operations without tags",
        operation_without_tags,
        calls=(
            Call(
                "await client.default.get_health()",
                requests=("GET /api/v1/health",),
                replies=(Reply(json={"request_id": "req_9"}),),
                check="result.request_id == 'req_9'",
            ),
        ),
    ),
    Variant(
        "kebab_case_operation_id",
        "kebab-case operationIds",
        kebab_case_operation_id,
        calls=(
            Call(
                "await client.users.list_sessions('usr_1')",
                requests=("GET /api/v1/users/usr_1/sessions",),
                replies=(Reply(json=EMPTY_PAGE),),
                check="result == []",
            ),
        ),
    ),
    Variant(
        "query_parameters_named_like_builtins",
        "query parameters named like builtins, client or self",
        query_parameters_named_like_builtins,
        calls=(
            Call(
                "[u.id for u in await client.users.search(type_='t', id='i', list_='l', "
                "format_='f', client_query='c', self_='s', from_='x', response_='r', "
                "warnings='w', params='p', kwargs='k')]",
                requests=(
                    "GET /api/v1/search/users?type=t&id=i&list=l&format=f&client=c&self=s&from=x"
                    "&response=r&warnings=w&params=p&kwargs=k",
                ),
                replies=(Reply(json={"data": [USER], "meta": {"next_cursor": None}}),),
                check="result == ['usr_1']",
                warns=True,
            ),
        ),
    ),
    Variant(
        "typed_additional_properties",
        "typed additionalProperties",
        typed_additional_properties,
        calls=(
            Call(
                "await client.quotas.get()",
                requests=("GET /api/v1/quotas",),
                replies=(Reply(json={"data": {"plan": "pro", "users": 10}, "meta": {}}),),
                check="result.plan == 'pro' and result['users'] == 10",
            ),
            Call(
                "await client.quotas.get_groups()",
                requests=("GET /api/v1/quotas/groups",),
                replies=(Reply(json={"data": {"admins": {"id": "g1", "name": "A"}}, "meta": {}}),),
                check="isinstance(result['admins'], models.Group)",
            ),
        ),
    ),
    Variant(
        "ref_responses",
        "$ref responses",
        ref_responses,
        calls=(
            _GET_USER,
            Call(
                "await client.users.delete('usr_1')",
                requests=("DELETE /api/v1/users/usr_1",),
                replies=(Reply(204),),
                check="result is None",
            ),
        ),
    ),
    Variant(
        "schemas_named_like_facade_imports",
        "schemas named Protocol, Sequence, AsyncIterator (the facade's imports)",
        schemas_named_like_facade_imports,
        calls=(
            Call(
                "await client.pipeline.get_protocol()",
                requests=("GET /api/v1/pipeline/protocol",),
                replies=(Reply(json={"name": "p"}),),
                check="type(result).__name__ == 'Protocol' and result.name == 'p'",
            ),
            Call(
                "await client.pipeline.get_async_iterator()",
                requests=("GET /api/v1/pipeline/asynciterator",),
                replies=(Reply(json={"name": "a"}),),
                check="result.name == 'a'",
            ),
        ),
    ),
    Variant(
        "enum_named_protocol",
        "an enum named Protocol",
        enum_named_protocol,
        calls=(
            Call(
                "[c.protocol async for c in client.federation.list(protocol=models.Protocol.SAML)]",
                requests=("GET /api/v1/federation/connections?limit=50&protocol=saml",),
                replies=(
                    Reply(
                        json={
                            "data": [{"id": "fc_1", "name": "S", "protocol": "saml"}],
                            "meta": {"next_cursor": None},
                        }
                    ),
                ),
                check="result == [models.Protocol.SAML]",
            ),
        ),
    ),
    Variant(
        "optional_oneof_body",
        "an optional oneOf request body",
        optional_oneof_body,
        calls=(
            Call(
                "await client.users.add_note('usr_1')",
                requests=("POST /api/v1/users/usr_1/notes",),
                replies=(Reply(204),),
                check="result is None",
            ),
            Call(
                "await client.users.add_note('usr_1', models.LinkNote(url='https://x.io'))",
                requests=("POST /api/v1/users/usr_1/notes",),
                replies=(Reply(204),),
                check="result is None",
                request_body='"url":"https://x.io"',
            ),
        ),
    ),
    # -- must fail --------------------------------------------------------------------------
    Variant(
        "schema_named_operation",
        "a schema named like the facade's own Operation",
        schema_named_operation,
        error=r"^#/components/schemas/Operation: .*shadow.*Operation.*to fix: .*class_overrides",
    ),
    Variant(
        "schema_named_response",
        "a schema named like the generated Response",
        schema_named_response,
        error=r"^#/components/schemas/Response: .*shadow.*to fix: .*class_overrides",
    ),
    Variant(
        "schema_named_like_a_model_import",
        "a schema named like a name the model modules import (TypeVar)",
        schema_named_like_a_model_import,
        error=r"^#/components/schemas/TypeVar: .*shadow.*typing.*to fix: .*class_overrides",
    ),
    Variant(
        "method_name_collision",
        "two operations that make the same method name",
        method_name_collision,
        error=r"GET /api/v1/users and GET /api/v1/all-users: .*users\.list.*to fix: rename one",
    ),
    Variant(
        "dangling_reference",
        "a $ref to a schema that does not exist",
        dangling_reference,
        error=r"#/components/schemas/(Group|Nowhere).*to fix:",
    ),
    Variant(
        "body_with_two_content_types",
        "a request body with two content types",
        body_with_two_content_types,
        error=r"^POST /oauth2/token: .*several content types.*to fix: keep one",
    ),
    Variant(
        "nullable_next_to_ref",
        "nullable next to $ref",
        nullable_next_to_ref,
        error=r"^#/components/schemas/User/properties/manager: .*to fix: write oneOf",
    ),
    Variant(
        "missing_operation_id",
        "an operation without operationId",
        missing_operation_id,
        error=r"^GET /api/v1/me: the operation has no operationId; to fix: give it",
    ),
    Variant(
        "operation_id_without_a_name",
        "an operationId that makes no Python name",
        operation_id_without_a_name,
        error=r"GET /api/v1/me: .*operationId.*to fix:",
    ),
    Variant(
        "path_template_mismatch",
        "a path whose template does not match its parameters",
        path_template_mismatch,
        error=r"^GET /api/v1/users/\{id\}/groups: .*to fix:",
    ),
    Variant(
        "malformed_responses",
        "responses that are not a mapping",
        malformed_responses,
        error=r"^#/paths/~1api~1v1~1me/get/responses: the spec is not a valid OpenAPI document",
    ),
    Variant(
        "swagger_2",
        "a Swagger 2.0 document",
        unchanged,
        raw_yaml="swagger: '2.0'\ninfo: {title: x, version: '1'}\npaths: {}\n",
        error=r"^#/: the spec is not a valid OpenAPI document: Field required \(`openapi`\)",
    ),
    Variant(
        "invalid_yaml",
        "a spec that is not YAML",
        unchanged,
        raw_yaml="openapi: 3.1.0\ninfo: {title: x\npaths: {}\n",
        error=r"\.yaml: the spec is not valid YAML.*to fix: correct the syntax",
    ),
)
