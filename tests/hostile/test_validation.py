"""Family 6: a 2xx body that does not match the contract raises, naming the field.

Over a real loopback server and the SDK's own client: each body below answers a documented
operation with a 200 whose JSON breaks the contract in one place, and the call raises
``APIResponseValidationError`` whose ``field`` is the JSON path of that place and whose
``operation`` is the ``operationId``, never a wrongly typed model. What the contract leaves
open still parses: a value a newer server adds to an enum, a field it adds to an object,
and an integer past 64 bits where the contract sets no maximum (every digit kept).
"""

from __future__ import annotations

import json
from typing import Any, Final

import pytest
from ext.servers import LocalServer

from intelliauth_client.models.user_status import UserStatus
from intelliauth_client.types import Unset
from intelliauth_ext import APIResponseValidationError, IntelliAuth, StaticToken

pytestmark = pytest.mark.anyio

USER: Final = {
    "id": "usr_1",
    "email": "ada@example.com",
    "email_verified": True,
    "name": "Ada Lovelace",
    "status": "active",
    "created_at": "2026-01-02T03:04:05+00:00",
    "updated_at": "2026-01-02T03:04:05Z",
}

GROUP: Final = {
    "id": "grp_1",
    "name": "admins",
    "description": None,
    "member_count": 3,
    "created_at": "2026-01-02T03:04:05+00:00",
    "updated_at": "2026-01-02T03:04:05+00:00",
}


def page(*users: Any, **meta: Any) -> dict[str, Any]:
    """A ``listUsers`` answer holding ``users``, the last page."""
    return {"data": list(users), "meta": {"next_cursor": None, **meta}}


def client_of(server: LocalServer) -> IntelliAuth:
    return IntelliAuth(server.url, auth=StaticToken("tok"), max_retries=0)


async def list_users(server: LocalServer, body: Any) -> Any:
    """The first page of ``users.list()`` when the server answers ``body``."""
    server.json_route("GET", "/api/v1/users", 200, body, headers={"X-Request-Id": "req_v"})
    async with client_of(server) as client:
        return await client.users.list()


HOSTILE_PAGES: Final = {
    "a null email": (page(USER, {**USER, "email": None}), "$.data[1].email"),
    "an id that is a 71-bit number": (
        page(USER, {**USER, "id": 1180591620717411303424}),
        "$.data[1].id",
    ),
    "a name that is an object": (page({**USER, "name": {"x": 1}}), "$.data[0].name"),
    "a created_at without an offset": (
        page(USER, USER, {**USER, "created_at": "2026-01-02T03:04:05"}),
        "$.data[2].created_at",
    ),
    "data sent as a list of pairs": (
        {"data": [list(pair) for pair in USER.items()], "meta": {"next_cursor": None}},
        "$.data[0]",
    ),
    "a missing required field": (
        page({key: value for key, value in USER.items() if key != "email"}),
        "$.data[0].email",
    ),
    "a boolean that is a string": (
        page({**USER, "email_verified": "yes"}),
        "$.data[0].email_verified",
    ),
    "meta without next_cursor": ({"data": [USER], "meta": {}}, "$.meta.next_cursor"),
    "free-form metadata sent as a list of pairs": (
        page({**USER, "metadata": [["plan", "pro"]]}),
        "$.data[0].metadata",
    ),
}


@pytest.mark.parametrize(("body", "field"), HOSTILE_PAGES.values(), ids=list(HOSTILE_PAGES))
async def test_a_page_that_breaks_the_contract_names_the_field(
    local_server: LocalServer, body: Any, field: str
) -> None:
    """users.list() raises APIResponseValidationError with the field's path and the operation."""
    with pytest.raises(APIResponseValidationError) as info:
        await list_users(local_server, body)
    error = info.value
    assert (error.field, error.operation) == (field, "listUsers")
    assert f"at {field}:" in str(error)
    assert "listUsers" in str(error)
    assert (error.status_code, error.request_id) == (200, "req_v")


async def test_one_user_sent_as_a_list_of_pairs_names_data(local_server: LocalServer) -> None:
    """users.get(): the envelope's data as [[key, value], ...] is refused at $.data."""
    body = {"data": [list(pair) for pair in USER.items()], "meta": {}}
    local_server.json_route("GET", "/api/v1/users/usr_1", 200, body)
    async with client_of(local_server) as client:
        with pytest.raises(APIResponseValidationError) as info:
            await client.users.get("usr_1")
    assert (info.value.field, info.value.operation) == ("$.data", "getUser")


@pytest.mark.parametrize(("member_count", "parses"), [(-1, False), (0, True), (2**70, True)])
async def test_integers_are_checked_against_the_contracts_range_and_keep_every_digit(
    local_server: LocalServer, member_count: int, parses: bool
) -> None:
    """member_count has minimum 0 and no maximum: -1 is refused, 2**70 arrives exactly."""
    body = {"data": {**GROUP, "member_count": member_count}, "meta": {}}
    local_server.json_route("GET", "/api/v1/groups/grp_1", 200, body)
    async with client_of(local_server) as client:
        if parses:
            group = await client.groups.get("grp_1")  # the envelope unwrapped
            assert group.member_count == member_count
            assert type(group.member_count) is int
        else:
            with pytest.raises(APIResponseValidationError) as info:
                await client.groups.get("grp_1")
            assert (info.value.field, info.value.operation) == ("$.data.member_count", "getGroup")
            assert "Expected `int` >= 0" in str(info.value)


async def test_what_the_contract_leaves_open_still_parses(local_server: LocalServer) -> None:
    """An unknown enum value, unknown fields (nested too), free-form metadata parse."""
    newer = {**USER, "status": "on_hold", "nickname": "ada", "badge": {"level": 2**70}}
    with_metadata = {**USER, "metadata": {"plan": "pro", "seats": 2**70}}
    first = await list_users(local_server, page(with_metadata, newer, total=2))
    known, user = first.items
    assert known.status is UserStatus.ACTIVE
    assert known.additional_properties == {}
    assert not isinstance(known.metadata, Unset)
    assert known.metadata.additional_properties == {"plan": "pro", "seats": 2**70}
    assert isinstance(user.status, UserStatus)
    assert user.status == "on_hold"
    assert user.status.value == "on_hold"
    assert user.additional_properties == {"nickname": "ada", "badge": {"level": 2**70}}
    assert user.to_dict()["badge"] == {"level": 2**70}
    assert user.to_dict()["status"] == "on_hold"
    assert first.next_cursor is None


async def test_an_unknown_field_does_not_hide_a_broken_known_one(
    local_server: LocalServer,
) -> None:
    """A body with an unknown field takes the second decoding path, which validates too."""
    body = page({**USER, "nickname": "ada"}, {**USER, "nickname": "bob", "email": None})
    with pytest.raises(APIResponseValidationError) as info:
        await list_users(local_server, body)
    assert info.value.field == "$.data[1].email"


async def test_a_body_that_is_not_json_has_no_field(local_server: LocalServer) -> None:
    """A 200 that is not JSON is a validation error too, with no field to name."""
    local_server.routes[("GET", "/api/v1/users")] = lambda handler, body: (200, {}, b"{oops")
    async with client_of(local_server) as client:
        with pytest.raises(APIResponseValidationError) as info:
            await client.users.list()
    assert (info.value.field, info.value.operation) == (None, "listUsers")
    assert json.dumps(USER) not in str(info.value)
