"""Tests for per-call options (intelliauth_ext._request_options): headers, query, body, timeout."""

from __future__ import annotations

import json
import time
from typing import Any, ClassVar

import anyio
import httpx
import pytest

from intelliauth_client.models.user_create import UserCreate
from intelliauth_ext import APITimeoutError, IntelliAuth, StaticToken
from intelliauth_ext._request_options import merge_request_options
from intelliauth_ext._timeouts import DEFAULT_TIMEOUT

from .doubles import USER
from .servers import LocalServer

ENVELOPE = {"data": USER, "meta": {"request_id": "req_1"}}
LIST = {"data": [USER], "meta": {"request_id": "req_1", "next_cursor": None}}


def _client(server: LocalServer, **options: Any) -> IntelliAuth:
    return IntelliAuth(server.url, auth=StaticToken("tok"), **options)


def _headers(server: LocalServer, index: int = -1) -> dict[str, str]:
    return {name.lower(): value for name, value in server.requests[index][2].items()}


@pytest.mark.anyio
async def test_extra_headers_are_sent_and_win_over_the_clients(local_server: LocalServer) -> None:
    """extra_headers go on this call only, over default_headers; Authorization stays the SDK's."""
    local_server.json_route("GET", "/api/v1/users/usr_01", 200, ENVELOPE)
    async with _client(local_server, default_headers={"X-Team": "a", "X-Keep": "k"}) as client:
        await client.users.get("usr_01", extra_headers={"X-Trace": "1", "x-team": "b"})
        await client.users.get("usr_01")
    first, second = _headers(local_server, 0), _headers(local_server, 1)
    assert (first["x-trace"], first["x-team"], first["x-keep"]) == ("1", "b", "k")
    assert first["authorization"] == "Bearer tok"
    assert "x-trace" not in second
    assert second["x-team"] == "a"


@pytest.mark.anyio
async def test_extra_headers_may_not_set_authorization(local_server: LocalServer) -> None:
    """An Authorization in extra_headers is refused before anything is sent."""
    local_server.json_route("GET", "/api/v1/users/usr_01", 200, ENVELOPE)
    async with _client(local_server) as client:
        with pytest.raises(ValueError, match="Authorization"):
            await client.users.get("usr_01", extra_headers={"authorization": "Bearer other"})
    assert local_server.requests == []


@pytest.mark.anyio
async def test_extra_query_is_added_to_the_operations(local_server: LocalServer) -> None:
    """extra_query adds parameters and replaces one of the same name, on every page."""
    local_server.json_route("GET", "/api/v1/users", 200, LIST)
    async with _client(local_server) as client:
        page = await client.users.list(limit=5, extra_query={"expand": "groups", "limit": 7})
    assert len(page.items) == 1
    query = httpx.URL(local_server.requests[0][1]).params
    assert query["expand"] == "groups"
    assert query.get_list("limit") == ["7"]


@pytest.mark.anyio
async def test_extra_body_is_merged_into_the_body_object(local_server: LocalServer) -> None:
    """extra_body fields are added to the JSON body, replacing one of the same name."""
    local_server.json_route("POST", "/api/v1/users", 201, ENVELOPE)
    async with _client(local_server) as client:
        await client.users.create(
            UserCreate(email="ada@example.com", name="Ada"),
            extra_body={"beta_flag": True, "name": "Ada L."},
        )
    sent = json.loads(local_server.requests[0][3])
    assert (sent["email"], sent["name"], sent["beta_flag"]) == ("ada@example.com", "Ada L.", True)


@pytest.mark.anyio
async def test_an_idempotency_key_in_extra_headers_is_kept_across_retries(
    local_server: LocalServer,
) -> None:
    """A caller's Idempotency-Key from extra_headers is the one every attempt carries."""
    answers = iter([(503, {}, b'{"error":"unavailable","message":"busy"}')])

    def handler(h: object, body: bytes) -> tuple[int, dict[str, str], bytes]:
        return next(answers, (201, {}, json.dumps(ENVELOPE).encode()))

    local_server.routes[("POST", "/api/v1/users")] = handler
    async with _client(local_server, max_retries=2) as client:
        await client.users.create(
            UserCreate(email="ada@example.com"), extra_headers={"Idempotency-Key": "key-1"}
        )
    keys = [_headers(local_server, i)["idempotency-key"] for i in range(len(local_server.requests))]
    assert keys == ["key-1", "key-1"]


@pytest.mark.anyio
async def test_an_idempotency_key_that_contradicts_the_parameter_is_refused(
    local_server: LocalServer,
) -> None:
    """idempotency_key= and a different extra_headers Idempotency-Key: ValueError, nothing sent."""
    async with _client(local_server) as client:
        with pytest.raises(ValueError, match="Idempotency-Key"):
            await client.users.create(
                UserCreate(email="ada@example.com"),
                idempotency_key="a",
                extra_headers={"Idempotency-Key": "b"},
            )
        local_server.json_route("POST", "/api/v1/users", 201, ENVELOPE)
        await client.users.create(
            UserCreate(email="ada@example.com"),
            idempotency_key="a",
            extra_headers={"Idempotency-Key": "a"},
        )
    assert len(local_server.requests) == 1  # the refused call sent nothing
    assert _headers(local_server, 0)["idempotency-key"] == "a"


def _sleeping_route(server: LocalServer, seconds: float) -> None:
    """GET /api/v1/users/usr_01 answers after ``seconds`` (or when the server stops)."""

    def handler(h: object, body: bytes) -> tuple[int, dict[str, str], bytes]:
        server.release.wait(seconds)
        return 200, {}, json.dumps(ENVELOPE).encode()

    server.routes[("GET", "/api/v1/users/usr_01")] = handler


@pytest.mark.anyio
async def test_a_per_call_timeout_shorter_than_the_clients_applies(
    local_server: LocalServer,
) -> None:
    """timeout=0.3 on a call to a server that answers in 5 s fails in well under 5 s."""
    _sleeping_route(local_server, 5.0)
    async with _client(local_server, timeout=30, max_retries=0) as client:
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            await client.users.get("usr_01", timeout=0.3)
        assert time.monotonic() - started < 2.0


@pytest.mark.anyio
async def test_a_per_call_timeout_longer_than_the_clients_applies(
    local_server: LocalServer,
) -> None:
    """timeout=5 lets a call wait for a 0.6 s answer that the client's 0.2 s would cut."""
    _sleeping_route(local_server, 0.6)
    async with _client(local_server, timeout=0.2, max_retries=0) as client:
        with pytest.raises(APITimeoutError):
            await client.users.get("usr_01")
        user = await client.users.get("usr_01", timeout=httpx.Timeout(5.0))
        assert user.id == "usr_01"
        user = await client.users.get("usr_01", timeout=None)  # no limit at all
        assert user.id == "usr_01"


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_the_timeout_applies_on_a_users_own_http_client(
    local_server: LocalServer, anyio_backend: str
) -> None:
    """With http_client= (not the SDK's pool), the per-call timeout still applies."""
    _sleeping_route(local_server, 5.0)
    async with (
        httpx.AsyncClient() as http,
        IntelliAuth(
            local_server.url, auth=StaticToken("tok"), http_client=http, max_retries=0
        ) as client,
    ):
        with anyio.fail_after(3):
            with pytest.raises(APITimeoutError):
                await client.users.get("usr_01", timeout=0.3)


def test_merge_refuses_extra_body_for_a_body_that_is_not_an_object() -> None:
    """extra_body needs an object body: a list body is a ValueError."""

    class Options:
        extra_headers = None
        extra_query = None
        extra_body: ClassVar[dict[str, int]] = {"x": 1}
        timeout = None

    with pytest.raises(ValueError, match="extra_body"):
        merge_request_options({"json": [1, 2]}, Options(), default_timeout=DEFAULT_TIMEOUT)


def test_merge_without_a_timeout_keeps_the_clients() -> None:
    """An UNSET timeout gives None (the client's); None gives no limit at all."""
    from intelliauth_client.types import UNSET

    class Options:
        extra_headers = None
        extra_query = None
        extra_body = None
        timeout: object = UNSET

    kwargs, timeout = merge_request_options({}, Options(), default_timeout=DEFAULT_TIMEOUT)
    assert (kwargs, timeout) == ({}, None)
    Options.timeout = None
    assert merge_request_options({}, Options(), default_timeout=DEFAULT_TIMEOUT)[1] == (
        httpx.Timeout(None)
    )


def test_no_options_builds_no_options_object() -> None:
    """A call given no per-call option hands the invoker None (nothing to merge)."""
    from intelliauth_client.facade import RequestOptions, _request_options
    from intelliauth_client.types import UNSET

    assert _request_options(None, None, None, UNSET) is None
    assert _request_options(None, None, None, 2) == RequestOptions(timeout=2)
