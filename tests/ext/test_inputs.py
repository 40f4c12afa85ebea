"""Tests for plain inputs (intelliauth_ext._inputs): mappings as bodies, values as enums.

A mapping that does not fit the contract raises ``RequestValidationError`` naming the field,
and the server (a real loopback one that counts requests) receives nothing.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from intelliauth_client.models.application_type import ApplicationType
from intelliauth_client.models.user_create import UserCreate
from intelliauth_client.models.user_status import UserStatus
from intelliauth_ext import BadRequestError, IntelliAuth, RequestValidationError, StaticToken
from intelliauth_ext._inputs import MAX_DEPTH

from .doubles import USER
from .servers import LocalServer

ENVELOPE = {"data": USER, "meta": {"request_id": "req_1"}}


def _client(server: LocalServer) -> IntelliAuth:
    return IntelliAuth(server.url, auth=StaticToken("tok"), max_retries=0)


def _sent(server: LocalServer, index: int = -1) -> Any:
    return json.loads(server.requests[index][3])


@pytest.mark.anyio
async def test_a_mapping_body_is_sent_as_the_model_would_be(local_server: LocalServer) -> None:
    """users.create({...}) sends the keys given; the model sends them plus its defaults."""
    local_server.json_route("POST", "/api/v1/users", 201, ENVELOPE)
    async with _client(local_server) as client:
        user = await client.users.create({"email": "a@example.com", "name": "A"})
        await client.users.create(UserCreate(email="a@example.com", name="A"))
    assert user.id == USER["id"]
    assert _sent(local_server, 0) == {"email": "a@example.com", "name": "A"}
    assert _sent(local_server, 1).items() >= _sent(local_server, 0).items()


@pytest.mark.anyio
async def test_nested_mappings_enum_values_and_models_inside_mappings(
    local_server: LocalServer,
) -> None:
    """Nested lists of mappings, enum values as strings or members, a model inside a mapping."""
    # The server refuses both: what matters here is the request it received.
    refusal = {"error": "validation_failed", "message": "no", "request_id": "r"}
    local_server.json_route("POST", "/api/v1/users/imports", 400, refusal)
    local_server.json_route("POST", "/api/v1/applications", 400, refusal)
    async with _client(local_server) as client:
        body = {
            "users": [{"email": "a@example.com"}, UserCreate(email="b@example.com")],
            "mode": "upsert",
        }
        with pytest.raises(BadRequestError):
            await client.users.import_(body)  # type: ignore[arg-type]  # a model in a mapping
        with pytest.raises(BadRequestError):
            await client.applications.create(
                {"name": "App", "type": ApplicationType.WEB, "grant_types": ["client_credentials"]}
            )
    imported = _sent(local_server, 0)
    assert [user["email"] for user in imported["users"]] == ["a@example.com", "b@example.com"]
    assert imported["mode"] == "upsert"
    created = _sent(local_server, 1)
    assert (created["type"], created["grant_types"]) == ("web", ["client_credentials"])


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"name": "no email"}, "body.email", "missing required field"),
        ({"email": "a@example.com", "nmae": "A"}, "body.nmae", "unknown field"),
        ({"email": 3}, "body.email", "Expected `str`, got `int`"),
        ({"email": "a@example.com", "metadata": []}, "body.metadata", "Expected `object`"),
        ({"email": "a@example.com", "send_invitation": "yes"}, "body.send_invitation", "bool"),
        ({"email": None}, "body.email", "got `null`"),
        ({1: "x"}, "body", "body"),
    ],
)
@pytest.mark.anyio
async def test_a_mapping_that_does_not_fit_is_refused_before_sending(
    local_server: LocalServer, body: dict[Any, Any], field: str, words: str
) -> None:
    """Missing, unknown, mistyped fields: RequestValidationError naming the field, no request."""
    local_server.json_route("POST", "/api/v1/users", 201, ENVELOPE)
    async with _client(local_server) as client:
        with pytest.raises(RequestValidationError) as caught:
            await client.users.create(body)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert words in str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__
    assert local_server.requests == []


@pytest.mark.anyio
async def test_a_nested_problem_names_the_path(local_server: LocalServer) -> None:
    """A wrong field inside a list of mappings is named with its index."""
    async with _client(local_server) as client:
        with pytest.raises(RequestValidationError) as caught:
            await client.users.import_(
                {"users": [{"email": "a@example.com"}, {"email": "b@example.com", "x": 1}]}  # type: ignore[typeddict-unknown-key]
            )
        with pytest.raises(RequestValidationError) as mode:
            await client.users.import_({"users": [], "mode": 7})  # type: ignore[typeddict-item]
    assert caught.value.field == "body.users[1].x"
    assert mode.value.field == "body.mode"
    assert local_server.requests == []


@pytest.mark.anyio
async def test_a_value_in_a_body_is_not_echoed(local_server: LocalServer) -> None:
    """A refused password field is named, its value (a secret) never appears in the message."""
    async with _client(local_server) as client:
        with pytest.raises(RequestValidationError) as caught:
            await client.users.create({"email": "a@example.com", "password": 12345678})  # type: ignore[typeddict-item]
    assert caught.value.field == "body.password"
    assert "12345678" not in str(caught.value)


@pytest.mark.anyio
async def test_a_mapping_nested_past_the_limit_is_refused(local_server: LocalServer) -> None:
    """A mapping nested deeper than MAX_DEPTH is a RequestValidationError, not RecursionError."""
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(MAX_DEPTH * 50):
        node["x"] = {}
        node = node["x"]
    async with _client(local_server) as client:
        with pytest.raises(RequestValidationError, match="nested deeper"):
            await client.users.create({"email": "a@example.com", "metadata": deep})
    assert local_server.requests == []


@pytest.mark.anyio
async def test_enum_parameters_take_the_value_or_the_member(local_server: LocalServer) -> None:
    """users.list(status="active") sends what status=UserStatus.ACTIVE sends."""
    listing = {"data": [USER], "meta": {"request_id": "r", "next_cursor": None}}
    local_server.json_route("GET", "/api/v1/users", 200, listing)
    async with _client(local_server) as client:
        page = await client.users.list(status="active")
        await client.users.list(status=UserStatus.ACTIVE)
        # Enums are open: a value this version does not know yet is sent as given.
        await client.users.list(status="archived")  # type: ignore[arg-type]
    paths = [request[1] for request in local_server.requests]
    assert len(page.items) == 1
    assert "status=active" in paths[0]
    assert paths[0] == paths[1]
    assert "status=archived" in paths[2]


@pytest.mark.anyio
async def test_an_enum_parameter_of_the_wrong_type_is_refused(local_server: LocalServer) -> None:
    """A number for a string enum: RequestValidationError naming the parameter, nothing sent."""
    async with _client(local_server) as client:
        with pytest.raises(RequestValidationError) as caught:
            await client.users.list(status=3)  # type: ignore[arg-type]
    assert caught.value.field == "status"
    assert local_server.requests == []


@pytest.mark.anyio
async def test_models_and_members_are_passed_through_untouched(local_server: LocalServer) -> None:
    """A call given a model and enum members converts nothing (no inputs module import)."""
    import sys

    local_server.json_route("POST", "/api/v1/users", 201, ENVELOPE)
    sys.modules.pop("intelliauth_client.inputs", None)
    async with _client(local_server) as client:
        await client.users.create(UserCreate(email="a@example.com"))
    assert "intelliauth_client.inputs" not in sys.modules
