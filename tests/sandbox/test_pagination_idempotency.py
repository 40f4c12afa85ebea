"""Cursor pagination across pages, and idempotent replay of creates."""

from __future__ import annotations

import httpx
import pytest

from .conftest import TokenFactory
from .helpers import bearer

pytestmark = pytest.mark.anyio


async def test_pages_cover_every_user_once(http: httpx.AsyncClient, token: TokenFactory) -> None:
    """limit=2 over 5 new users (plus the test user) walks 3 pages, newest first, no repeats."""
    headers = bearer(await token())
    for n in range(5):
        created = await http.post(
            "/api/v1/users", json={"email": f"p{n}@example.com"}, headers=headers
        )
        assert created.status_code == 201
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await http.get("/api/v1/users", params=params, headers=headers)).json()
        pages += 1
        seen.extend(user["email"] for user in page["data"])
        cursor = page["meta"]["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen[:5] == [f"p{n}@example.com" for n in reversed(range(5))]
    assert len(seen) == len(set(seen)) == 6


async def test_a_cursor_is_bound_to_its_filters(
    http: httpx.AsyncClient, token: TokenFactory
) -> None:
    """A cursor used with other filters, or forged, is 400 invalid_request."""
    headers = bearer(await token())
    for n in range(3):
        await http.post("/api/v1/users", json={"email": f"c{n}@example.com"}, headers=headers)
    first = (await http.get("/api/v1/users", params={"limit": 1}, headers=headers)).json()
    cursor = first["meta"]["next_cursor"]
    other = await http.get(
        "/api/v1/users", params={"limit": 1, "cursor": cursor, "q": "c1"}, headers=headers
    )
    assert other.status_code == 400
    assert other.json()["error"] == "invalid_request"
    forged = await http.get("/api/v1/users", params={"cursor": "abc.def"}, headers=headers)
    assert forged.status_code == 400


async def test_filters(http: httpx.AsyncClient, token: TokenFactory) -> None:
    """email, status and q narrow the listing."""
    headers = bearer(await token())
    created = await http.post(
        "/api/v1/users", json={"email": "Lin@Example.com", "name": "Lin Qi"}, headers=headers
    )
    user_id = created.json()["data"]["id"]
    await http.patch(f"/api/v1/users/{user_id}", json={"status": "suspended"}, headers=headers)
    by_email = await http.get("/api/v1/users", params={"email": "lin@example.com"}, headers=headers)
    assert [u["id"] for u in by_email.json()["data"]] == [user_id]
    suspended = await http.get("/api/v1/users", params={"status": "suspended"}, headers=headers)
    assert [u["id"] for u in suspended.json()["data"]] == [user_id]
    by_text = await http.get("/api/v1/users", params={"q": "lin q"}, headers=headers)
    assert [u["id"] for u in by_text.json()["data"]] == [user_id]


async def test_replayed_create_returns_the_first_result(
    http: httpx.AsyncClient, token: TokenFactory
) -> None:
    """The same Idempotency-Key and body give the first 201 again; one user exists."""
    headers = {**bearer(await token()), "Idempotency-Key": "key-1"}
    body = {"email": "once@example.com"}
    first = await http.post("/api/v1/users", json=body, headers=headers)
    second = await http.post("/api/v1/users", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    listed = await http.get("/api/v1/users", params={"email": "once@example.com"}, headers=headers)
    assert len(listed.json()["data"]) == 1


async def test_a_reused_key_with_another_body_conflicts(
    http: httpx.AsyncClient, token: TokenFactory
) -> None:
    """Reusing a key for a different request is 409 conflict."""
    headers = {**bearer(await token()), "Idempotency-Key": "key-2"}
    await http.post("/api/v1/users", json={"email": "a@example.com"}, headers=headers)
    clash = await http.post("/api/v1/users", json={"email": "b@example.com"}, headers=headers)
    assert clash.status_code == 409
    assert clash.json()["error"] == "conflict"
