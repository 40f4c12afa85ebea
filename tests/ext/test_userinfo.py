"""OIDC UserInfo (``_userinfo.py``): typed claims, errors mapped, bounded, the token hidden."""

from __future__ import annotations

import json
import logging
import traceback
from typing import Any

import httpx
import pytest

from intelliauth_ext import (
    APIConnectionError,
    APIResponseValidationError,
    AuthenticationError,
    ProviderMetadata,
    ResponseTooLargeError,
    UserInfoClaims,
    fetch_userinfo,
)

from .servers import LocalServer

pytestmark = pytest.mark.anyio

ACCESS_TOKEN = "at_USERINFO_SECRET_VALUE_42"
CLAIMS = {
    "sub": "248289761001",
    "name": "Jane Doe",
    "given_name": "Jane",
    "family_name": "Doe",
    "preferred_username": "j.doe",
    "email": "janedoe@example.com",
    "email_verified": True,
    "picture": "http://example.com/janedoe/me.jpg",
    "updated_at": 1311280970,
    "https://example.com/groups": ["admins"],
}


def _metadata(server: LocalServer) -> ProviderMetadata:
    return ProviderMetadata.from_dict(
        {"issuer": server.url, "userinfo_endpoint": f"{server.url}/userinfo"}
    )


def _serve(server: LocalServer, status: int, body: bytes, headers: dict[str, str]) -> None:
    server.routes[("GET", "/userinfo")] = lambda handler, request_body: (status, headers, body)


def _assert_token_hidden(exc: BaseException) -> None:
    """The access token is in no message, repr or traceback of the exception chain."""
    text = "".join(traceback.format_exception(exc))
    assert ACCESS_TOKEN not in text
    assert ACCESS_TOKEN not in repr(exc)


async def test_the_claims_are_read_typed_with_the_token_as_a_bearer_header(
    local_server: LocalServer,
) -> None:
    """OIDC Core 5.3.2's example answer: standard claims typed, the rest in claims."""
    _serve(local_server, 200, json.dumps(CLAIMS).encode(), {})
    info = await fetch_userinfo(_metadata(local_server), ACCESS_TOKEN, subject="248289761001")
    assert isinstance(info, UserInfoClaims)
    assert (info.subject, info.name, info.email, info.email_verified) == (
        "248289761001",
        "Jane Doe",
        "janedoe@example.com",
        True,
    )
    assert (info.given_name, info.family_name, info.preferred_username) == ("Jane", "Doe", "j.doe")
    assert info.updated_at == 1311280970
    assert info.phone_number is None
    assert info["https://example.com/groups"] == ["admins"]
    assert ACCESS_TOKEN not in repr(info)
    ((method, path, headers, _),) = local_server.requests
    assert (method, path) == ("GET", "/userinfo")  # the token never goes in the URL
    assert headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert headers["Accept"] == "application/json"


async def test_an_issuer_url_is_discovered_first(local_server: LocalServer) -> None:
    """Given the issuer, the UserInfo endpoint comes from its discovery document."""
    local_server.json_route(
        "GET",
        "/.well-known/openid-configuration",
        200,
        {"issuer": local_server.url, "userinfo_endpoint": f"{local_server.url}/userinfo"},
    )
    _serve(local_server, 200, b'{"sub": "u1", "email_verified": "yes"}', {})
    info = await fetch_userinfo(local_server.url, ACCESS_TOKEN)
    assert info.subject == "u1"
    assert info.email_verified is None  # not a boolean: not read as one
    assert info.claims["email_verified"] == "yes"


async def test_a_401_is_an_authentication_error_without_the_token(
    local_server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    """An expired token (RFC 6750 3.1): AuthenticationError; the token in no log or message."""
    caplog.set_level(logging.DEBUG)
    _serve(
        local_server,
        401,
        b'{"error": "invalid_token"}',
        {"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )
    with pytest.raises(AuthenticationError) as raised:
        await fetch_userinfo(_metadata(local_server), ACCESS_TOKEN)
    assert raised.value.status_code == 401
    _assert_token_hidden(raised.value)
    assert ACCESS_TOKEN not in caplog.text


@pytest.mark.parametrize(
    ("body", "headers", "match"),
    [
        (b"<html>", {}, "not a JSON object"),
        (b"[]", {}, "not a JSON object"),
        (b"{}", {}, "'sub'"),
        (b'{"sub": 7}', {}, "'sub'"),
        (b"eyJhbGciOiJSUzI1NiJ9.e30.sig", {"Content-Type": "application/jwt"}, "JWT"),
        (b'{"sub": "someone-else"}', {}, "not the ID token's subject"),
    ],
)
async def test_an_unusable_answer_is_a_validation_error(
    local_server: LocalServer, body: bytes, headers: dict[str, str], match: str
) -> None:
    """Not a JSON object, no sub, a signed JWT, another user: APIResponseValidationError."""
    _serve(local_server, 200, body, headers)
    with pytest.raises(APIResponseValidationError, match=match) as raised:
        await fetch_userinfo(_metadata(local_server), ACCESS_TOKEN, subject="248289761001")
    _assert_token_hidden(raised.value)


async def test_an_oversized_answer_is_refused(local_server: LocalServer) -> None:
    """A body over 1 MiB is ResponseTooLargeError, read no further."""
    _serve(local_server, 200, b'{"sub": "u", "pad": "' + b"x" * (2 << 20) + b'"}', {})
    with pytest.raises(ResponseTooLargeError):
        await fetch_userinfo(_metadata(local_server), ACCESS_TOKEN)


async def test_an_unreachable_endpoint_is_a_connection_error() -> None:
    """Nothing listening: APIConnectionError, the token in no message."""
    server = LocalServer()
    url = server.url
    server._server.server_close()
    metadata = ProviderMetadata.from_dict({"issuer": url, "userinfo_endpoint": f"{url}/userinfo"})
    with pytest.raises(APIConnectionError) as raised:
        await fetch_userinfo(metadata, ACCESS_TOKEN)
    _assert_token_hidden(raised.value)


async def test_misuse_is_refused_before_any_request(local_server: LocalServer) -> None:
    """An empty token, or metadata without a UserInfo endpoint: ValueError, nothing sent."""
    with pytest.raises(ValueError, match="access_token"):
        await fetch_userinfo(_metadata(local_server), "")
    no_endpoint = ProviderMetadata.from_dict({"issuer": local_server.url})
    with pytest.raises(ValueError, match="userinfo_endpoint"):
        await fetch_userinfo(no_endpoint, ACCESS_TOKEN)
    assert local_server.requests == []


async def test_the_callers_http_client_is_used_and_left_open(local_server: LocalServer) -> None:
    """http_client= sends the request (its event hooks see it) and stays open."""
    seen: list[str] = []

    async def hook(request: httpx.Request) -> None:
        seen.append(request.url.path)

    _serve(local_server, 200, b'{"sub": "u"}', {})
    async with httpx.AsyncClient(event_hooks={"request": [hook]}) as http:
        info = await fetch_userinfo(_metadata(local_server), ACCESS_TOKEN, http_client=http)
        assert not http.is_closed
    assert (info.subject, seen) == ("u", ["/userinfo"])


def test_from_claims_needs_a_subject() -> None:
    """UserInfoClaims.from_claims without sub is a ValueError; odd types read as None."""
    with pytest.raises(ValueError, match="sub"):
        UserInfoClaims.from_claims({"name": "x"})
    odd: dict[str, Any] = {"sub": "u", "updated_at": True, "name": 3, "locale": "en-GB"}
    info = UserInfoClaims.from_claims(odd)
    assert (info.updated_at, info.name, info.locale) == (None, None, "en-GB")
