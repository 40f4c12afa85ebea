"""The runtime wired to the real generated facade: usage, open enums, idempotency keys."""

from __future__ import annotations

from typing import Any

import pytest
import respx

from intelliauth_client import facade
from intelliauth_ext import APIResponseValidationError, NotFoundError
from intelliauth_ext._client import IntelliAuth

from .doubles import TENANT, StaticBearer

pytestmark = pytest.mark.anyio

USER = {
    "id": "usr_01",
    "email": "ada@example.com",
    "email_verified": True,
    "name": "Ada Lovelace",
    "status": "active",
    "created_at": "2026-01-02T03:04:05Z",
    "updated_at": "2026-01-02T03:04:05Z",
}


def envelope(data: Any, **meta: Any) -> dict[str, Any]:
    return {"data": data, "meta": meta}


async def test_every_operation_module_is_importable() -> None:
    """Every operation of the facade names an endpoint module with the two seam functions."""
    import importlib

    for operation in facade.OPERATIONS.values():
        module = importlib.import_module(operation.module)
        assert callable(module._get_kwargs)
        assert callable(module._parse_response)


async def test_issue_usage_against_the_generated_facade(router: respx.MockRouter) -> None:
    """get unwraps the envelope, list pages with async for, await gives a page, next_page works."""
    router.get("/api/v1/users/usr_01").respond(200, json=envelope(USER))
    router.get("/api/v1/users", params={"cursor": "c2"}).respond(
        200, json=envelope([{**USER, "id": "usr_02"}], next_cursor=None)
    )
    router.get("/api/v1/users").respond(200, json=envelope([USER], next_cursor="c2"))
    router.get("/api/v1/users/nope").respond(
        404, json={"error": "not_found", "message": "no such user", "request_id": "req_404"}
    )
    async with IntelliAuth(TENANT, auth=StaticBearer("tok")) as client:
        user = await client.users.get("usr_01")
        assert user.email == "ada@example.com"
        assert [u.id async for u in client.users.list(limit=100)] == ["usr_01", "usr_02"]
        page = await client.users.list(limit=10)
        assert (len(page.items), page.next_cursor, page.has_next_page()) == (1, "c2", True)
        nxt = await page.next_page()
        assert [u.id for u in nxt.items] == ["usr_02"]
        with pytest.raises(NotFoundError) as info:
            await client.users.get("nope")
        assert info.value.request_id == "req_404"


async def test_unknown_enum_value_and_unknown_field_parse(router: respx.MockRouter) -> None:
    """A status the client does not know and a field it does not know both parse."""
    router.get("/api/v1/users/usr_01").respond(
        200, json=envelope({**USER, "status": "pending_review", "nickname": "ada"})
    )
    async with IntelliAuth(TENANT, auth=StaticBearer("tok")) as client:
        user = await client.users.get("usr_01")
    assert user.status.value == "pending_review"
    assert user.additional_properties["nickname"] == "ada"


async def test_contract_violation_is_a_validation_error(router: respx.MockRouter) -> None:
    """A 2xx body missing a required field raises APIResponseValidationError."""
    router.get("/api/v1/users/usr_01").respond(200, json=envelope({"id": "usr_01"}))
    async with IntelliAuth(TENANT, auth=StaticBearer("tok")) as client:
        with pytest.raises(APIResponseValidationError):
            await client.users.get("usr_01")


async def test_generated_create_sends_an_idempotency_key(router: respx.MockRouter) -> None:
    """The generated create operation gets an Idempotency-Key from the runtime."""
    from intelliauth_client.models.user_create import UserCreate

    route = router.post("/api/v1/users").respond(201, json=envelope(USER))
    async with IntelliAuth(TENANT, auth=StaticBearer("tok")) as client:
        await client.users.create(UserCreate.from_dict({"email": "ada@example.com"}))
    assert route.calls.last.request.headers.get("Idempotency-Key")
