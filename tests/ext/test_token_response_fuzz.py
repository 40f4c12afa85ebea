"""Hypothesis: whatever a token endpoint answers, a token or a documented error comes out."""

from __future__ import annotations

import contextlib
import json
import math
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intelliauth_ext._auth import AccessToken, ClientCredentials, RefreshingAuth
from intelliauth_ext._auth._access_token import access_token_from_response
from intelliauth_ext._errors import InternalServerError, OAuthError, RateLimitError
from intelliauth_ext._token_set import TokenSet

from .auth_fakes import TOKEN_URL, FakeClock

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
token_like = st.one_of(
    st.text(max_size=30),
    st.from_regex(r"[A-Za-z0-9._~+/-]{1,40}", fullmatch=True),
    json_values,
)
lifetime_like = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["3600", " 60 ", "1e309", "-5", "NaN", "inf", "", "soon", "0x10"]),
    json_values,
)
token_objects = st.fixed_dictionaries(
    {},
    optional={
        "access_token": token_like,
        "token_type": st.sampled_from(["Bearer", "bearer", "BEARER", "DPoP", "mac", ""])
        | json_values,
        "expires_in": lifetime_like,
        "expires_at": lifetime_like,
        "scope": json_values,
        "refresh_token": token_like,
        "error": st.sampled_from(["invalid_grant", "invalid_client", "weird_error", ""])
        | json_values,
        "error_description": json_values,
    },
)


def encode(body: Any) -> bytes:
    return json.dumps(body, allow_nan=True).encode()


bodies = st.one_of(
    token_objects.map(encode),
    json_values.map(encode),
    st.binary(max_size=200),
    st.text(max_size=100).map(str.encode),
    st.just(b"[" * 5000 + b"]" * 5000),  # deeper than json.loads can go
    st.just(b"\xff\xfe{}"),
)
statuses = st.sampled_from([200, 201, 204, 299, 301, 400, 401, 403, 404, 429, 500, 503])
content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "text/html",
        "application/x-www-form-urlencoded",
        "",
    ]
)


def response(status: int, content_type: str, body: bytes) -> httpx.Response:
    headers = {"content-type": content_type} if content_type else {}
    return httpx.Response(
        status, headers=headers, content=body, request=httpx.Request("POST", TOKEN_URL)
    )


@settings(max_examples=600, deadline=None)
@given(status=statuses, content_type=content_types, body=bodies)
def test_any_token_response_gives_a_token_or_an_oauth_error(
    status: int, content_type: str, body: bytes
) -> None:
    """Random statuses, content types and bodies: an AccessToken or an OAuthError, nothing else."""
    try:
        token = access_token_from_response(
            response(status, content_type, body), clock=FakeClock(), default_lifetime=3600
        )
    except OAuthError as exc:
        error: OAuthError | None = exc
    else:
        error = None
    if error is not None:
        assert error.error
        assert str(error)
        return
    assert isinstance(token, AccessToken)
    assert token.authorization.startswith("Bearer ")
    assert math.isfinite(token.expires_at)
    assert 0 < token.lifetime <= 366 * 24 * 3600


@settings(max_examples=600, deadline=None)
@given(body=token_objects)
def test_any_token_object_gives_a_token_or_an_oauth_error(body: dict[str, Any]) -> None:
    """Random token-shaped JSON objects on a 200: a usable token or an OAuthError."""
    try:
        token = access_token_from_response(
            response(200, "application/json", encode(body)), clock=FakeClock(), default_lifetime=60
        )
    except OAuthError:
        return
    assert token.access_token == body["access_token"]
    assert token.lifetime > 0


@pytest.mark.anyio
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(status=statuses, content_type=content_types, body=bodies)
async def test_managers_raise_only_oauth_errors(
    status: int, content_type: str, body: bytes
) -> None:
    """Through the managers: an OAuthError, or after the retries a 429/5xx status error."""
    documented: tuple[type[Exception], ...] = (OAuthError,)
    if status == 429:
        documented = (RateLimitError,)  # the status decides, whatever the body says
    elif status >= 500:
        documented = (InternalServerError,)

    def handler(request: httpx.Request) -> httpx.Response:
        return response(status, content_type, body)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        clock = FakeClock()
        cc = ClientCredentials(TOKEN_URL, "c", "s", http_client=http, clock=clock)
        with contextlib.suppress(*documented):
            await cc.get_token()
        refreshing = RefreshingAuth(
            TokenSet(access_token="a", refresh_token="r", expires_at=0),
            token_url=TOKEN_URL,
            client_id="c",
            http_client=http,
            clock=clock,
        )
        try:
            token_set = await refreshing.get_token_set()
        except documented:
            return
        assert token_set.refresh_token
