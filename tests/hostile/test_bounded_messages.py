"""Family 4: exception messages stay short, whatever text the server sends.

A server's text reaches messages through error envelopes (``message``), RFC 6749 error
bodies (``error_description``, in a failed or in a 2xx answer), status lines, content
types, field names, and the text of a parser's exception. Each is tried over a real
socket with megabytes of text: ``str(exc)`` stays under 1,000 characters, and the whole
body is still on ``exc.response`` where the body was read.
"""

from __future__ import annotations

import http.server
import json
from typing import Any, Final

import pytest
from ext.servers import LocalServer

from intelliauth_ext import (
    APIResponseValidationError,
    APIStatusError,
    IntelliAuth,
    IntelliAuthError,
    OAuthError,
    StaticToken,
    refresh_tokens,
)

pytestmark = pytest.mark.anyio

MESSAGE_BOUND: Final = 1000
USER: Final = {
    "id": "usr_1",
    "email": "a@example.com",
    "email_verified": True,
    "name": "Ada",
    "status": "active",
    "created_at": "2026-01-02T03:04:05+00:00",
    "updated_at": "2026-01-02T03:04:05+00:00",
}


def route(
    server: LocalServer,
    method: str,
    path: str,
    status: int,
    body: bytes,
    headers: dict[str, str] | None = None,
) -> None:
    server.routes[(method, path)] = lambda h, b: (status, dict(headers or {}), body)


def client_of(server: LocalServer, **options: Any) -> IntelliAuth:
    options = {"auth": StaticToken("tok"), "max_retries": 0, **options}
    return IntelliAuth(server.url, **options)


def assert_bounded(exc: BaseException) -> None:
    text = str(exc)
    assert len(text) < MESSAGE_BOUND, f"{type(exc).__name__}: {len(text)} characters"


async def test_a_10_mb_error_message_gives_a_short_exception(local_server: LocalServer) -> None:
    """A 400 whose envelope's message is 10 MB: a short BadRequestError, the body kept."""
    body = json.dumps({"error": "bad", "message": "m" * 10_000_000}).encode()
    route(local_server, "GET", "/api/v1/users/usr_1", 400, body)
    async with client_of(local_server) as client:
        with pytest.raises(APIStatusError) as info:
            await client.users.get("usr_1")
    assert_bounded(info.value)
    assert info.value.response.content == body


async def test_a_5_mb_error_description_gives_a_short_exception(
    local_server: LocalServer,
) -> None:
    """A 5 MB error_description from the token endpoint: short, through every door."""
    huge = json.dumps({"error": "invalid_grant", "error_description": "d" * 5_000_000})
    route(local_server, "POST", "/oauth2/token", 400, huge.encode())
    url = f"{local_server.url}/oauth2/token"
    with pytest.raises(IntelliAuthError) as info:  # over the 1 MiB limit: too large
        await refresh_tokens(url, "rt", client_id="cid", client_secret="cs")
    assert_bounded(info.value)

    # Under the limit, the description is read, and cut.
    almost = json.dumps({"error": "invalid_grant", "error_description": "d" * 900_000})
    route(local_server, "POST", "/oauth2/token", 400, almost.encode())
    with pytest.raises(OAuthError) as oauth_info:
        await refresh_tokens(url, "rt", client_id="cid", client_secret="cs")
    assert oauth_info.value.error == "invalid_grant"
    assert_bounded(oauth_info.value)
    async with client_of(local_server, auth=None, client_id="cid", client_secret="cs") as client:
        with pytest.raises(OAuthError) as client_info:
            await client.users.get("usr_1")
    assert_bounded(client_info.value)


async def test_an_error_in_a_2xx_token_answer_gives_a_short_exception(
    local_server: LocalServer,
) -> None:
    """A 200 carrying an RFC 6749 error with long code, description and URI: still short."""
    body = {"error": "e" * 100_000, "error_description": "d" * 900_000, "error_uri": "u" * 10_000}
    route(local_server, "POST", "/oauth2/token", 200, json.dumps(body).encode())
    with pytest.raises(OAuthError) as info:
        await refresh_tokens(
            f"{local_server.url}/oauth2/token", "rt", client_id="cid", client_secret="cs"
        )
    assert_bounded(info.value)
    assert len(info.value.error_description or "") < MESSAGE_BOUND


async def test_a_2xx_token_answer_with_many_fields_gives_a_short_exception(
    local_server: LocalServer,
) -> None:
    """A 200 without access_token but with 30,000 field names: the message lists few."""
    body = {f"field_{n:06d}_{'x' * 10}": n for n in range(30_000)}
    route(
        local_server,
        "POST",
        "/oauth2/token",
        200,
        json.dumps(body).encode(),
        {"Content-Type": "application/json; " + "p=v; " * 1000},
    )
    with pytest.raises(OAuthError) as info:
        await refresh_tokens(
            f"{local_server.url}/oauth2/token", "rt", client_id="cid", client_secret="cs"
        )
    assert_bounded(info.value)


async def test_a_long_status_line_gives_a_short_exception(local_server: LocalServer) -> None:
    """A 502 whose reason phrase is 8 KB (and whose body is not JSON): a short message."""

    def answer(h: http.server.BaseHTTPRequestHandler, body: bytes) -> None:
        h.send_response(502, "R" * 8000)
        h.send_header("Content-Length", "4")
        h.end_headers()
        h.wfile.write(b"oops")

    local_server.routes[("GET", "/api/v1/users/usr_1")] = answer
    async with client_of(local_server) as client:
        with pytest.raises(APIStatusError) as info:
            await client.users.get("usr_1")
    assert info.value.status_code == 502
    assert_bounded(info.value)


async def test_a_2xx_that_fails_to_parse_gives_a_short_exception(
    local_server: LocalServer,
) -> None:
    """A user whose created_at is a 5 MB string: the parser's error quotes it, cut."""
    body = json.dumps({"data": {**USER, "created_at": "s" * 5_000_000}, "meta": {}}).encode()
    route(local_server, "GET", "/api/v1/users/usr_1", 200, body)
    async with client_of(local_server) as client:
        with pytest.raises(APIResponseValidationError) as info:
            await client.users.get("usr_1")
    assert_bounded(info.value)
    assert info.value.response.content == body
