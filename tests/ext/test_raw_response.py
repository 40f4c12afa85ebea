"""Tests for with_raw_response (intelliauth_ext._raw_response): status, headers, parse()."""

from __future__ import annotations

import json

import httpx
import pytest

from intelliauth_client.models.user import User
from intelliauth_ext import (
    APIResponseValidationError,
    IntelliAuth,
    NotFoundError,
    Page,
    RawResponse,
    StaticToken,
)
from intelliauth_ext.testing import Sandbox

from .doubles import USER as DOUBLE_USER
from .servers import LocalServer

USER = {**DOUBLE_USER, "id": "usr_1"}
META = {"request_id": "req_body"}


def _client(server: LocalServer) -> IntelliAuth:
    return IntelliAuth(server.url, auth=StaticToken("tok"), max_retries=0)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # the sandbox serves on asyncio only
@pytest.mark.anyio
async def test_request_id_is_the_servers_x_request_id_on_a_real_tenant(anyio_backend: str) -> None:
    """Against the sandbox, .request_id is exactly the X-Request-Id header the server sent."""
    async with Sandbox.serve() as sandbox:
        user = sandbox.add_user("grace@example.com")
        async with IntelliAuth(
            sandbox.url, client_id=sandbox.client_id, client_secret=sandbox.client_secret
        ) as client:
            raw = await client.users.with_raw_response.get(user["id"])
            assert isinstance(raw, RawResponse)
            assert raw.request_id is not None
            assert raw.request_id == raw.http_response.headers["X-Request-Id"]
            assert raw.request_id.startswith("req_")
            parsed = raw.parse()
            assert parsed == await client.users.get(user["id"])
            assert parsed.email == "grace@example.com"


@pytest.fixture
def user_server(local_server: LocalServer) -> LocalServer:
    local_server.json_route(
        "GET",
        "/api/v1/users/usr_1",
        200,
        {"data": USER, "meta": META},
        headers={"X-Request-Id": "req_42", "X-RateLimit-Remaining": "99", "ETag": '"v7"'},
    )
    return local_server


@pytest.mark.anyio
async def test_raw_response_carries_status_headers_and_the_plain_result(
    user_server: LocalServer,
) -> None:
    """Status, headers, request id and http_response of a 2xx; parse() is the plain result."""
    async with _client(user_server) as client:
        raw = await client.users.with_raw_response.get("usr_1")
        plain = await client.users.get("usr_1")
    assert raw.status_code == 200
    assert raw.request_id == "req_42"
    assert raw.headers["x-ratelimit-remaining"] == "99"
    assert raw.headers["etag"] == '"v7"'
    assert isinstance(raw.http_response, httpx.Response)
    assert json.loads(raw.http_response.content)["data"]["id"] == "usr_1"
    parsed = raw.parse()
    assert isinstance(parsed, User)  # the envelope's data, as the plain method returns
    assert parsed == plain
    assert raw.parse() is parsed  # parsed once
    assert "req_42" in repr(raw)
    assert "200" in repr(raw)


@pytest.mark.anyio
async def test_a_body_that_does_not_parse_fails_at_parse_not_at_the_call(
    local_server: LocalServer,
) -> None:
    """Headers stay readable when the body breaks the contract; parse() raises."""
    local_server.json_route(
        "GET", "/api/v1/users/usr_1", 200, {"data": {"id": 1}}, headers={"X-Request-Id": "r"}
    )
    async with _client(local_server) as client:
        raw = await client.users.with_raw_response.get("usr_1")
        assert raw.request_id == "r"
        with pytest.raises(APIResponseValidationError):
            raw.parse()
        with pytest.raises(APIResponseValidationError):
            await client.users.get("usr_1")


@pytest.mark.anyio
async def test_an_error_status_raises_as_the_plain_method_does(local_server: LocalServer) -> None:
    """A 404 raises NotFoundError, with the request id, from the raw method too."""
    local_server.json_route(
        "GET",
        "/api/v1/users/usr_x",
        404,
        {"error": "not_found", "message": "no such user", "request_id": "req_404"},
        headers={"X-Request-Id": "req_404"},
    )
    async with _client(local_server) as client:
        with pytest.raises(NotFoundError) as caught:
            await client.users.with_raw_response.get("usr_x")
    assert caught.value.request_id == "req_404"


@pytest.mark.anyio
async def test_a_204_parses_to_none(local_server: LocalServer) -> None:
    """An operation without a body: status 204 and parse() None."""
    local_server.routes[("DELETE", "/api/v1/users/usr_1")] = lambda handler, body: (
        204,
        {"X-Request-Id": "req_del"},
        b"",
    )
    async with _client(local_server) as client:
        raw = await client.users.with_raw_response.delete("usr_1")
    assert (raw.status_code, raw.request_id, raw.parse()) == (204, "req_del", None)


def _list_route(server: LocalServer) -> None:
    """Two pages of users; each answer has its own X-Request-Id."""

    def handler(h: object, body: bytes) -> tuple[int, dict[str, str], bytes]:
        path = server.requests[-1][1]
        second = "cursor=c2" in path
        page = {
            "data": [{**USER, "id": "usr_2" if second else "usr_1"}],
            "meta": {**META, "next_cursor": None if second else "c2"},
        }
        request_id = "req_page2" if second else "req_page1"
        return 200, {"X-Request-Id": request_id}, json.dumps(page).encode()

    server.routes[("GET", "/api/v1/users")] = handler


@pytest.mark.anyio
async def test_list_raw_response_is_the_first_pages_and_parses_to_that_page(
    local_server: LocalServer,
) -> None:
    """with_raw_response.list(): the first page's response; parse() the Page, which pages on."""
    _list_route(local_server)
    async with _client(local_server) as client:
        raw = await client.users.with_raw_response.list(limit=1)
        assert raw.request_id == "req_page1"
        page = raw.parse()
        assert isinstance(page, Page)
        assert [user.id for user in page.items] == ["usr_1"]
        assert page.request_id == "req_page1"
        following = await page.next_page()
        assert following.request_id == "req_page2"
        assert following.headers["x-request-id"] == "req_page2"
        assert [user.id for user in following.items] == ["usr_2"]
    assert len(local_server.requests) == 2


@pytest.mark.anyio
async def test_every_page_carries_its_own_request_id_and_headers(
    local_server: LocalServer,
) -> None:
    """Iterating pages of the plain paginator: each page has its answer's headers."""
    _list_route(local_server)
    async with _client(local_server) as client:
        request_ids = [page.request_id async for page in client.users.list().pages()]
        first = await client.users.list()
    assert request_ids == ["req_page1", "req_page2"]
    assert first.headers["x-request-id"] == "req_page1"


def test_a_page_without_a_response_has_no_request_id() -> None:
    """A page from a fetcher that gives no response: empty headers, request_id None."""

    async def fetch(cursor: str | None) -> tuple[list[int], None]:
        return [1], None

    page = Page(items=[1], next_cursor=None, fetch=fetch)
    assert page.request_id is None
    assert len(page.headers) == 0
