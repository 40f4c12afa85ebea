"""The generated facade (codegen/facade.py, templates/facade.py.jinja) and its method names."""

from __future__ import annotations

import asyncio
import inspect
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from codegen.generator import GenerationError, build_package
from codegen.naming import method_name
from codegen.spec import iter_operations, load_document

USER = {
    "id": "usr_1",
    "email": "ada@example.com",
    "status": "active",
    "created_at": "2024-05-01T10:00:00+00:00",
}

MINI_SPEC = Path(__file__).parent / "fixtures" / "mini.openapi.yaml"


@pytest.mark.parametrize(
    ("operation_id", "tag", "expected"),
    [
        ("listUsers", "users", "list"),
        ("getUser", "users", "get"),
        ("createUser", "users", "create"),
        ("updateUser", "users", "update"),
        ("deleteUser", "users", "delete"),
        ("listUserGroups", "users", "list_groups"),
        ("importUsers", "users", "import_"),
        ("getUserImport", "users", "get_import"),
        ("addGroupMember", "groups", "add_member"),
        ("removeGroupMember", "groups", "remove_member"),
        ("rotateApplicationSecret", "applications", "rotate_secret"),
        ("listResourceTypes", "resource_types", "list"),
        ("createResourceRelation", "resources", "create_relation"),
        ("checkPermission", "resources", "check_permission"),
        ("batchCheckPermissions", "resources", "batch_check_permissions"),
        ("listFederationConnections", "federation", "list"),
        ("getFederationConnection", "federation", "get"),
        ("rotateWebhookSecret", "webhooks", "rotate_secret"),
        ("listWebhookDeliveries", "webhooks", "list_deliveries"),
        ("sendTestWebhook", "webhooks", "send_test"),
        ("getMyProfile", "me", "get_profile"),
        ("listMySessions", "me", "list_sessions"),
        ("enrollMfaFactor", "me", "enroll_mfa_factor"),
        ("signIn", "auth", "sign_in"),
        ("requestToken", "oauth2", "request_token"),
        ("getUserInfo", "oauth2", "get_user_info"),
    ],
)
def test_method_names(operation_id: str, tag: str, expected: str) -> None:
    """Method names are the operationId minus the tag's noun, in snake_case."""
    assert method_name(operation_id, tag) == expected


def _facade_methods(facade: ModuleType) -> dict[str, str]:
    """operationId -> "attribute.method" read from the generated facade."""
    found: dict[str, str] = {}
    resources = facade.Resources(invoker=None)
    for attribute, resource in vars(resources).items():
        for name, function in inspect.getmembers(type(resource), inspect.isfunction):
            source = inspect.getsource(function)
            for operation_id in facade.OPERATIONS:
                if f'OPERATIONS["{operation_id}"]' in source:
                    found[operation_id] = f"{attribute}.{name}"
    return found


def _check_facade_covers(spec: Path, facade: ModuleType) -> None:
    operation_ids = [raw.operation_id for raw in iter_operations(load_document(spec))]
    assert list(facade.OPERATIONS) == operation_ids
    methods = _facade_methods(facade)
    assert sorted(methods) == sorted(operation_ids)
    for operation_id, where in methods.items():
        operation = facade.OPERATIONS[operation_id]
        attribute, name = where.split(".")
        assert attribute == operation.tag
        assert name == method_name(operation_id, operation.tag)


def test_every_operation_of_the_test_spec_has_a_method(mini_client: ModuleType) -> None:
    """Each operationId of the test spec is a facade method on its tag's resource."""
    from mini_client import facade

    _check_facade_covers(MINI_SPEC, facade)
    assert _facade_methods(facade)["listUserGroups"] == "users.list_groups"
    assert _facade_methods(facade)["addGroupMember"] == "groups.add_member"
    assert _facade_methods(facade)["getMyProfile"] == "me.get_profile"


def test_every_operation_of_the_real_spec_has_a_method(
    real_client: ModuleType, real_spec: Path
) -> None:
    """Each operationId of openapi/intelliauth.openapi.yaml is a facade method, named as above."""
    from real_client import facade

    _check_facade_covers(real_spec, facade)
    methods = _facade_methods(facade)
    expected = {
        "listUsers": "users.list",
        "getUser": "users.get",
        "createUser": "users.create",
        "updateUser": "users.update",
        "deleteUser": "users.delete",
        "listUserGroups": "users.list_groups",
        "addGroupMember": "groups.add_member",
        "rotateApplicationSecret": "applications.rotate_secret",
        "checkPermission": "resources.check_permission",
        "getMyProfile": "me.get_profile",
    }
    assert {k: methods.get(k) for k in expected} == expected


def test_operation_metadata(mini_client: ModuleType) -> None:
    """OPERATIONS carries method, path, module, pagination, idempotency, envelope and scopes."""
    from mini_client.facade import OPERATIONS

    create = OPERATIONS["createUser"]
    assert (create.method, create.path, create.tag) == ("POST", "/api/v1/users", "users")
    assert create.module == "intelliauth_client.api.users.create_user"
    assert (create.paginated, create.idempotency_key, create.envelope) == (False, True, True)
    assert create.scopes == ("users:write",)
    assert OPERATIONS["listUsers"].paginated
    assert not OPERATIONS["deleteUser"].envelope
    assert not OPERATIONS["requestToken"].envelope
    assert OPERATIONS["listUserGroups"].scopes == ("users:read", "groups:read")


def test_oauth_errors_come_from_the_contract(
    mini_client: ModuleType, real_client: ModuleType
) -> None:
    """Operation.oauth_errors: the 4xx answers (429 aside) are OAuthError bodies in the spec."""
    from mini_client.facade import OPERATIONS as MINI
    from real_client.facade import OPERATIONS as REAL

    assert MINI["requestToken"].oauth_errors  # a 400 whose schema is OAuthError
    assert not MINI["createUser"].oauth_errors
    # In the real spec through $ref responses; discovery and keys (only a 429 with an
    # OAuthError body) and every /api/v1 operation keep the status mapping.
    assert sorted(name for name, op in REAL.items() if op.oauth_errors) == [
        "authorize",
        "getUserInfo",
        "introspectToken",
        "requestToken",
        "revokeToken",
    ]
    assert not REAL["getOpenIdConfiguration"].oauth_errors
    assert not REAL["getJwks"].oauth_errors


class RecordingInvoker:
    """An Invoker that records calls and answers with a canned result."""

    def __init__(self, result: Any = None) -> None:
        self.result = result
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.options: list[Any] = []  # each call's RequestOptions (None: none given)

    async def call(self, operation: Any, options: Any = None, /, **kwargs: Any) -> Any:
        self.calls.append((operation.operation_id, kwargs))
        self.options.append(options)
        return self.result

    def paginate(self, operation: Any, options: Any = None, /, **kwargs: Any) -> Any:
        self.calls.append((operation.operation_id, kwargs))
        self.options.append(options)
        return "paginator"


def test_methods_pass_the_endpoint_arguments_and_unwrap(mini_client: ModuleType) -> None:
    """A method passes the endpoint function's keyword arguments and returns `.data`."""
    from mini_client.api.users import create_user
    from mini_client.facade import Resources
    from mini_client.models.user_create import UserCreate
    from mini_client.models.user_envelope import UserEnvelope

    envelope = UserEnvelope.from_dict({"data": USER, "meta": {}})
    invoker = RecordingInvoker(envelope)
    resources = Resources(invoker)
    body = UserCreate(email="ada@example.com")
    user = asyncio.run(resources.users.create(body, idempotency_key="k1"))
    assert user is envelope.data
    assert invoker.calls == [("createUser", {"body": body, "idempotency_key": "k1"})]
    assert invoker.options == [None]  # no per-call option: nothing built
    endpoint_parameters = set(inspect.signature(create_user._get_kwargs).parameters)
    assert set(invoker.calls[0][1]) == endpoint_parameters
    asyncio.run(resources.users.create(body, extra_body={"x": 1}, timeout=3))
    assert (invoker.options[-1].extra_body, invoker.options[-1].timeout) == ({"x": 1}, 3)


def test_paginated_and_bodiless_methods(mini_client: ModuleType) -> None:
    """List methods return the invoker's paginator (cursor passed through); 204 returns None."""
    from mini_client.facade import Resources
    from mini_client.types import UNSET

    invoker = RecordingInvoker()
    resources = Resources(invoker)
    assert resources.users.list_groups("usr_1", limit=10) == "paginator"
    assert invoker.calls[-1] == (
        "listUserGroups",
        {"user_id": "usr_1", "cursor": UNSET, "limit": 10},
    )
    assert asyncio.run(resources.users.delete("usr_1")) is None
    assert invoker.calls[-1] == ("deleteUser", {"user_id": "usr_1"})


def test_signatures_follow_the_design(mini_client: ModuleType) -> None:
    """Path parameters and body are positional, query and header parameters keyword-only."""
    from mini_client.facade import GroupsResource, UsersResource

    kinds = {
        name: parameter.kind.name
        for name, parameter in inspect.signature(UsersResource.create).parameters.items()
    }
    assert kinds == {
        "self": "POSITIONAL_OR_KEYWORD",
        "body": "POSITIONAL_OR_KEYWORD",
        "idempotency_key": "KEYWORD_ONLY",
        "extra_headers": "KEYWORD_ONLY",
        "extra_query": "KEYWORD_ONLY",
        "extra_body": "KEYWORD_ONLY",
        "timeout": "KEYWORD_ONLY",
    }
    assert list(inspect.signature(GroupsResource.add_member).parameters) == [
        "self",
        "group_id",
        "body",
        "extra_headers",
        "extra_query",
        "extra_body",
        "timeout",
    ]
    assert "GET /api/v1/users/{user_id}" in (UsersResource.get.__doc__ or "")
    assert (UsersResource.get.__doc__ or "").startswith("Get a user.")


def _spec_with(tmp_path: Path, change: Any) -> Path:
    document = yaml.safe_load(MINI_SPEC.read_text())
    change(document)
    spec = tmp_path / "changed.openapi.yaml"
    spec.write_text(yaml.safe_dump(document, sort_keys=False))
    return spec


def test_a_method_name_collision_fails_generation(tmp_path: Path) -> None:
    """Two operations that would get the same method name stop the generation."""

    def add_clash(document: dict[str, Any]) -> None:
        document["paths"]["/api/v1/users"]["get"]["operationId"] = "listUser"
        extra = dict(document["paths"]["/api/v1/users"]["get"], operationId="listUsers")
        document["paths"]["/api/v1/all-users"] = {"get": extra}

    with pytest.raises(GenerationError, match=r"'listUser' and 'listUsers' both become users.list"):
        build_package(_spec_with(tmp_path, add_clash), tmp_path / "pkg")


def test_a_schema_named_like_a_generated_name_fails_generation(tmp_path: Path) -> None:
    """A schema called `Client` (or `Response`, or `Operation`) must be renamed first."""

    def add_client(document: dict[str, Any]) -> None:
        document["components"]["schemas"]["Client"] = {"type": "object", "properties": {}}
        document["components"]["schemas"]["Group"]["properties"]["client"] = {
            "$ref": "#/components/schemas/Client"
        }

    with pytest.raises(GenerationError, match="class_overrides"):
        build_package(_spec_with(tmp_path, add_client), tmp_path / "pkg")
    shutil.rmtree(tmp_path / "pkg", ignore_errors=True)
