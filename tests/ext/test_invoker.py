"""Tests for intelliauth_ext._invoker: the facade seam, the send loop, retries and errors.

The operations, endpoint modules and models are the committed generated package's.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
import pytest
import respx

from intelliauth_client.facade import OPERATIONS
from intelliauth_client.models.token_request import TokenRequest
from intelliauth_client.models.user import User
from intelliauth_client.models.user_create import UserCreate
from intelliauth_client.models.user_envelope import UserEnvelope
from intelliauth_client.models.user_update import UserUpdate
from intelliauth_client.types import UNSET
from intelliauth_ext import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    InvalidClientError,
    InvalidGrantError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)
from intelliauth_ext._errors import PaginationError
from intelliauth_ext._invoker import Invoker
from intelliauth_ext._timeouts import DEFAULT_TIMEOUT

from .doubles import TENANT, USER, RotatingBearer, StaticBearer

pytestmark = pytest.mark.anyio

GET_USER = OPERATIONS["getUser"]
LIST_USERS = OPERATIONS["listUsers"]
CREATE_USER = OPERATIONS["createUser"]
UPDATE_USER = OPERATIONS["updateUser"]
DELETE_USER = OPERATIONS["deleteUser"]
REQUEST_TOKEN = OPERATIONS["requestToken"]
SIGN_OUT = OPERATIONS["signOut"]
# A GET without parameters or pagination, answering with the contract's Error bodies.
GET_PROFILE = OPERATIONS["getMyProfile"]
PROFILE_PATH = "/api/v1/me/profile"


# The contract's error code index: every code, the status it comes with, and its class.
ERROR_CODES = [
    ("invalid_request", 400, BadRequestError),
    ("validation_failed", 422, UnprocessableEntityError),
    ("unauthenticated", 401, AuthenticationError),
    ("invalid_token", 401, AuthenticationError),
    ("permission_denied", 403, PermissionDeniedError),
    ("not_found", 404, NotFoundError),
    ("conflict", 409, ConflictError),
    ("already_exists", 409, ConflictError),
    ("mfa_required", 401, AuthenticationError),
    ("invalid_credentials", 401, AuthenticationError),
    ("rate_limited", 429, RateLimitError),
    ("internal_error", 500, InternalServerError),
    ("service_unavailable", 503, InternalServerError),
]


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.AsyncHTTPTransport()) as client:
        yield client


def make_invoker(
    http: httpx.AsyncClient,
    *,
    auth: httpx.Auth | None = None,
    max_retries: int = 2,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    base_url: str = TENANT,
) -> Invoker:
    return Invoker(
        http_client=http,
        auth=auth if auth is not None else StaticBearer("tok"),
        base_url=httpx.URL(base_url),
        timeout=timeout,
        max_retries=max_retries,
        headers=httpx.Headers({"User-Agent": "test-agent"}),
    )


REFRESH_FORM = {"grant_type": "refresh_token", "refresh_token": "rt_1"}
CLIENT_CREDENTIALS_FORM = {"grant_type": "client_credentials"}


def envelope(data: Any, **meta: Any) -> dict[str, Any]:
    return {"data": data, "meta": meta}


def error_body(code: str, request_id: str = "req_1") -> dict[str, Any]:
    return {
        "error": code,
        "message": f"{code} happened",
        "details": {"k": 1},
        "request_id": request_id,
    }


async def test_call_builds_the_request_and_returns_the_parsed_envelope(
    router: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    """call() sends _get_kwargs' request with auth and returns _parse_response's value."""
    route = router.get("/api/v1/users/usr%2F01").respond(200, json=envelope(USER))
    result = await make_invoker(http).call(GET_USER, user_id="usr/01")
    assert isinstance(result, UserEnvelope)
    assert result.data == User.from_dict(USER)
    request = route.calls.last.request
    assert request.headers["Authorization"] == "Bearer tok"
    assert request.headers["User-Agent"] == "test-agent"


async def test_tenant_path_prefix_is_kept(
    router: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    """A tenant URL with a path prefix gets operation paths appended after it."""
    route = router.get(f"/t/acme{PROFILE_PATH}").respond(200, json=envelope(USER))
    result = await make_invoker(http, base_url=f"{TENANT}/t/acme/").call(GET_PROFILE)
    assert result.data.id == "usr_01"
    assert route.called


async def test_204_returns_none(router: respx.MockRouter, http: httpx.AsyncClient) -> None:
    """A documented 204 returns what the parser returns: None."""
    router.delete("/api/v1/users/usr_01").respond(204)
    assert await make_invoker(http).call(DELETE_USER, user_id="usr_01") is None


async def test_unknown_field_is_kept_and_bad_enum_is_a_validation_error(
    router: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    """A 2xx parser failure is an APIResponseValidationError, chained, with the request id."""
    router.get("/api/v1/users/a").respond(200, json=envelope({**USER, "nickname": "ada"}))
    user = (await make_invoker(http).call(GET_USER, user_id="a")).data
    assert user.additional_properties == {"nickname": "ada"}

    # Enums are open to new strings (test_generated_facade); a number is no UserStatus.
    router.get("/api/v1/users/b").respond(
        200, json=envelope({**USER, "status": 7}), headers={"X-Request-Id": "req_b"}
    )
    with pytest.raises(APIResponseValidationError) as info:
        await make_invoker(http).call(GET_USER, user_id="b")
    assert isinstance(info.value.__cause__, ValueError)
    assert info.value.request_id == "req_b"
    assert "at $.data.status: Expected `str`, got `int`" in str(info.value)
    assert (info.value.field, info.value.operation) == ("$.data.status", "getUser")


async def test_missing_field_and_non_json_2xx_are_validation_errors(
    router: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    """A missing field or a body that is not JSON never escapes as msgspec's own error."""
    router.get("/api/v1/users/a").respond(200, json=envelope({"id": "a"}))
    router.get("/api/v1/users/b").respond(200, text="<html>oops</html>")
    for user_id, cause, field in (
        ("a", msgspec.ValidationError, "$.data.email"),
        ("b", msgspec.DecodeError, None),
    ):
        with pytest.raises(APIResponseValidationError) as info:
            await make_invoker(http).call(GET_USER, user_id=user_id)
        assert isinstance(info.value.__cause__, cause)
        assert info.value.field == field


async def test_undocumented_2xx_is_a_validation_error(
    router: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    """A 2xx status the operation does not document raises APIResponseValidationError.

    The generated ``UnexpectedStatus`` (whose message is the raw body) is neither its cause
    nor its context; the body stays on ``.response``.
    """
    router.get("/api/v1/users/a").respond(202, json=envelope(USER))
    with pytest.raises(APIResponseValidationError) as info:
        await make_invoker(http).call(GET_USER, user_id="a")
    assert info.value.__cause__ is None
    assert info.value.__context__ is None
    assert "202" in str(info.value)
    assert "ada@example.com" not in "".join(traceback.format_exception(info.value))
    assert info.value.response is not None
    assert b"ada@example.com" in info.value.response.content


@pytest.mark.parametrize(("code", "status", "error_class"), ERROR_CODES)
async def test_every_error_code_maps_to_its_class(
    router: respx.MockRouter,
    http: httpx.AsyncClient,
    code: str,
    status: int,
    error_class: type[APIStatusError],
) -> None:
    """Each error code of the contract's index, with its status, raises its class."""
    router.get("/api/v1/users/a").respond(status, json=error_body(code, request_id="req_42"))
    with pytest.raises(error_class) as info:
        await make_invoker(http, max_retries=0).call(GET_USER, user_id="a")
    error = info.value
    assert type(error) is error_class
    assert (error.status_code, error.code, error.request_id) == (status, code, "req_42")
    assert error.message == f"{code} happened"
    assert error.details == {"k": 1}


async def test_503_html_page_gives_internal_server_error_with_request_id(
    router: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    """A proxy's HTML 503 page is an InternalServerError with the request id and body start."""
    router.get(PROFILE_PATH).respond(
        503,
        html="<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>",
        headers={"X-Request-Id": "req_html"},
    )
    with pytest.raises(InternalServerError) as info:
        await make_invoker(http, max_retries=0).call(GET_PROFILE)
    assert info.value.status_code == 503
    assert info.value.request_id == "req_html"
    assert "503 Service Temporarily Unavailable" in str(info.value)


async def test_oauth_paths_raise_oauth_errors(
    router: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    """/oauth2/* error bodies map to the RFC 6749 OAuthError subclasses."""
    router.post("/oauth2/token").mock(
        side_effect=[
            httpx.Response(400, json={"error": "invalid_grant", "error_description": "expired"}),
            httpx.Response(401, json={"error": "invalid_client"}),
        ]
    )
    invoker = make_invoker(http)
    with pytest.raises(InvalidGrantError) as info:
        await invoker.call(REQUEST_TOKEN, body=TokenRequest.from_dict(REFRESH_FORM))
    assert info.value.error_description == "expired"
    with pytest.raises(InvalidClientError):
        await invoker.call(REQUEST_TOKEN, body=TokenRequest.from_dict(CLIENT_CREDENTIALS_FORM))


async def test_429_with_retry_after_1_is_retried_once_and_succeeds(
    router: respx.MockRouter, http: httpx.AsyncClient, no_backoff_sleep: list[float]
) -> None:
    """A 429 with Retry-After: 1 is retried once, after 1 s, and the retry's answer is returned."""
    route = router.get("/api/v1/users/a").mock(
        side_effect=[
            httpx.Response(429, json=error_body("rate_limited"), headers={"Retry-After": "1"}),
            httpx.Response(200, json=envelope(USER)),
        ]
    )
    result = await make_invoker(http).call(GET_USER, user_id="a")
    assert result.data.id == "usr_01"
    assert route.call_count == 2
    assert no_backoff_sleep == [1.0]


async def test_rate_limit_reset_is_honoured(
    router: respx.MockRouter, http: httpx.AsyncClient, no_backoff_sleep: list[float]
) -> None:
    """Without Retry-After, X-RateLimit-Reset sets the wait."""
    router.get(PROFILE_PATH).mock(
        side_effect=[
            httpx.Response(429, headers={"X-RateLimit-Reset": "3"}),
            httpx.Response(200, json=envelope(USER)),
        ]
    )
    assert (await make_invoker(http).call(GET_PROFILE)).data.id == "usr_01"
    assert no_backoff_sleep == [3.0]


async def test_wait_longer_than_the_cap_raises_at_once(
    router: respx.MockRouter, http: httpx.AsyncClient, no_backoff_sleep: list[float]
) -> None:
    """A Retry-After beyond 60 s raises RateLimitError at once instead of sleeping."""
    route = router.get(PROFILE_PATH).respond(
        429, json=error_body("rate_limited"), headers={"Retry-After": "120"}
    )
    with pytest.raises(RateLimitError) as info:
        await make_invoker(http).call(GET_PROFILE)
    assert info.value.retry_after == 120.0
    assert route.call_count == 1
    assert no_backoff_sleep == []


async def test_transient_errors_are_retried_max_retries_times(
    router: respx.MockRouter, http: httpx.AsyncClient, no_backoff_sleep: list[float]
) -> None:
    """A GET failing with 503 is sent 1 + max_retries times, with jittered backoff, then raises."""
    route = router.get(PROFILE_PATH).respond(503, json=error_body("service_unavailable"))
    with pytest.raises(InternalServerError):
        await make_invoker(http, max_retries=3).call(GET_PROFILE)
    assert route.call_count == 4
    assert len(no_backoff_sleep) == 3
    assert all(0 <= d <= cap for d, cap in zip(no_backoff_sleep, (0.5, 1.0, 2.0), strict=True))


async def test_max_retries_zero_sends_once(
    router: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    """max_retries=0 turns retrying off."""
    route = router.get(PROFILE_PATH).respond(503)
    with pytest.raises(InternalServerError):
        await make_invoker(http, max_retries=0).call(GET_PROFILE)
    assert route.call_count == 1
    with pytest.raises(ValueError, match="max_retries"):
        make_invoker(http, max_retries=-1)


async def test_post_without_idempotency_key_is_not_retried(
    router: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    """A POST to an operation without Idempotency-Key support is sent once."""
    route = router.post("/api/v1/auth/sign-out").respond(503, json={"error": "server_error"})
    with pytest.raises(InternalServerError):
        await make_invoker(http).call(SIGN_OUT)
    assert route.call_count == 1
    assert "Idempotency-Key" not in route.calls.last.request.headers


async def test_a_token_endpoint_post_is_retried_as_a_token_request(
    router: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    """requestToken (oauth_errors): a 503 is retried without a key; the last is a 5xx error."""
    route = router.post("/oauth2/token").respond(503, json={"error": "server_error"})
    with pytest.raises(InternalServerError) as raised:
        await make_invoker(http).call(
            REQUEST_TOKEN, body=TokenRequest.from_dict(CLIENT_CREDENTIALS_FORM)
        )
    assert route.call_count == 3
    assert raised.value.code == "server_error"
    assert "Idempotency-Key" not in route.calls.last.request.headers


async def test_a_token_endpoint_400_is_final_and_an_oauth_error(
    router: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    """requestToken answered invalid_grant: sent once, raised as its OAuthError."""
    route = router.post("/oauth2/token").respond(400, json={"error": "invalid_grant"})
    with pytest.raises(InvalidGrantError):
        await make_invoker(http).call(
            REQUEST_TOKEN, body=TokenRequest.from_dict(CLIENT_CREDENTIALS_FORM)
        )
    assert route.call_count == 1


async def test_patch_without_key_is_not_retried(
    router: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    """A PATCH without Idempotency-Key is not retried after a dropped connection."""
    route = router.patch("/api/v1/users/a").mock(side_effect=httpx.RemoteProtocolError("dropped"))
    with pytest.raises(APIConnectionError):
        await make_invoker(http).call(
            UPDATE_USER, user_id="a", body=UserUpdate.from_dict({"email": "x@example.com"})
        )
    assert route.call_count == 1


async def test_create_retried_after_dropped_connection_sends_the_same_idempotency_key(
    router: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    """A POST create retried after a dropped connection sends the same Idempotency-Key twice."""
    route = router.post("/api/v1/users").mock(
        side_effect=[
            httpx.RemoteProtocolError("Server disconnected without sending a response."),
            httpx.Response(201, json=envelope(USER)),
        ]
    )
    result = await make_invoker(http).call(
        CREATE_USER, body=UserCreate(email="ada@example.com"), idempotency_key=UNSET
    )
    assert result.data.id == "usr_01"
    keys = [call.request.headers.get("Idempotency-Key") for call in route.calls]
    assert len(keys) == 2
    assert keys[0] is not None
    assert keys[0] == keys[1]


async def test_separate_creates_get_separate_keys_and_a_given_key_is_kept(
    router: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    """Each create call gets its own key; a caller's key is sent unchanged."""
    route = router.post("/api/v1/users").respond(201, json=envelope(USER))
    invoker = make_invoker(http)
    body = UserCreate(email="ada@example.com")
    await invoker.call(CREATE_USER, body=body)
    await invoker.call(CREATE_USER, body=body)
    await invoker.call(CREATE_USER, body=body, idempotency_key="mine")
    keys = [call.request.headers["Idempotency-Key"] for call in route.calls]
    assert keys[0] != keys[1]
    assert keys[2] == "mine"


async def test_connection_errors_exhaust_into_api_connection_error(
    router: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    """Connection failures after the last retry raise APIConnectionError from the httpx error."""
    route = router.get(PROFILE_PATH).mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(APIConnectionError) as info:
        await make_invoker(http).call(GET_PROFILE)
    assert not isinstance(info.value, APITimeoutError)
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert route.call_count == 3


async def test_timeouts_raise_api_timeout_error(
    router: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    """An httpx timeout (after retries) raises APITimeoutError."""
    router.get(PROFILE_PATH).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(APITimeoutError) as info:
        await make_invoker(http, max_retries=1).call(GET_PROFILE)
    assert isinstance(info.value.__cause__, httpx.ReadTimeout)


async def test_each_retry_runs_the_auth_flow_again(
    router: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    """Retries sit around the auth flow: every attempt gets a token from a fresh flow."""
    route = router.get(PROFILE_PATH).mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json=envelope(USER))]
    )
    auth = RotatingBearer()
    await make_invoker(http, auth=auth).call(GET_PROFILE)
    tokens = [call.request.headers["Authorization"] for call in route.calls]
    assert tokens == ["Bearer token-1", "Bearer token-2"]


async def test_redirects_are_not_followed_so_authorization_never_leaves(
    router: respx.MockRouter,
) -> None:
    """A 302 to another origin is not followed, even by a following client: APIStatusError."""
    router.get(PROFILE_PATH).respond(302, headers={"Location": "https://evil.test/steal"})
    evil = router.get("https://evil.test/steal").respond(200, json=envelope(USER))
    async with httpx.AsyncClient(follow_redirects=True) as http:
        with pytest.raises(APIStatusError) as info:
            await make_invoker(http).call(GET_PROFILE)
    assert info.value.status_code == 302
    assert not evil.called


async def test_paginate_yields_every_item_of_three_pages_once(
    router: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    """paginate() follows next_cursor across three pages, passing limit and filters each time."""
    users = [{**USER, "id": f"usr_{n}"} for n in range(7)]
    route = router.get("/api/v1/users").mock(
        side_effect=[
            httpx.Response(200, json=envelope(users[0:3], next_cursor="c2")),
            httpx.Response(200, json=envelope(users[3:6], next_cursor="c3")),
            httpx.Response(200, json=envelope(users[6:], next_cursor=None)),
        ]
    )
    paginator = make_invoker(http).paginate(LIST_USERS, email="a@b.c", limit=3, cursor=UNSET)
    ids = [user.id async for user in paginator]
    assert ids == [f"usr_{n}" for n in range(7)]
    params = [dict(call.request.url.params) for call in route.calls]
    assert params == [
        {"email": "a@b.c", "limit": "3"},
        {"email": "a@b.c", "limit": "3", "cursor": "c2"},
        {"email": "a@b.c", "limit": "3", "cursor": "c3"},
    ]


async def test_paginate_await_next_page_and_start_cursor(
    router: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    """Awaiting gives page one; next_page() fetches page two; cursor= starts elsewhere."""
    router.get("/api/v1/users", params={"cursor": "c2"}).respond(
        200, json=envelope([{**USER, "id": "usr_2"}], next_cursor=None)
    )
    router.get("/api/v1/users").respond(200, json=envelope([USER], next_cursor="c2"))
    invoker = make_invoker(http)
    page = await invoker.paginate(LIST_USERS, limit=1)
    assert [u.id for u in page.items] == ["usr_01"]
    assert page.has_next_page()
    second = await page.next_page()
    assert [u.id for u in second.items] == ["usr_2"]
    assert not second.has_next_page()
    started = await invoker.paginate(LIST_USERS, cursor="c2")
    assert [u.id for u in started.items] == ["usr_2"]


async def test_paginate_stops_on_repeated_cursor(
    router: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    """A server repeating a cursor makes the paginator fail instead of looping."""
    router.get("/api/v1/users").respond(200, json=envelope([USER], next_cursor="same"))
    with pytest.raises(PaginationError):
        _ = [user async for user in make_invoker(http).paginate(LIST_USERS)]


async def test_paginate_refuses_a_non_list_operation(
    router: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    """Paginating an operation whose body is no list envelope raises APIResponseValidationError."""
    router.get(PROFILE_PATH).respond(200, json=envelope(USER))
    with pytest.raises(APIResponseValidationError, match="list envelope"):
        await make_invoker(http).paginate(GET_PROFILE)


async def test_one_debug_line_per_attempt(
    router: respx.MockRouter, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Each attempt logs method, path, status, request id, attempt and elapsed ms at DEBUG."""
    router.get(PROFILE_PATH).mock(
        side_effect=[
            httpx.Response(503, headers={"X-Request-Id": "req_a"}),
            httpx.Response(200, json=envelope(USER), headers={"X-Request-Id": "req_b"}),
        ]
    )
    caplog.set_level(logging.DEBUG, logger="intelliauth")
    await make_invoker(http).call(GET_PROFILE)
    lines = [
        r.getMessage() for r in caplog.records if r.name == "intelliauth" and "->" in r.getMessage()
    ]
    assert len(lines) == 2
    assert lines[0].startswith(
        f"GET {PROFILE_PATH} -> 503 request_id=req_a attempt=1/3 elapsed_ms="
    )
    assert lines[1].startswith(
        f"GET {PROFILE_PATH} -> 200 request_id=req_b attempt=2/3 elapsed_ms="
    )
