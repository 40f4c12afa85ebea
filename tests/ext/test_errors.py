"""Tests for intelliauth_ext._errors: the one door from a failed exchange to an exception."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import attrs
import httpx
import pytest
import respx
from hypothesis import given, settings
from hypothesis import strategies as st

from intelliauth_client.facade import OPERATIONS
from intelliauth_client.models.grant_type import GrantType
from intelliauth_client.models.token_request import TokenRequest
from intelliauth_ext import (
    AccessDeniedError,
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    IntelliAuth,
    IntelliAuthError,
    InternalServerError,
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    NotFoundError,
    OAuthError,
    PermissionDeniedError,
    RateLimitError,
    UnauthorizedClientError,
    UnprocessableEntityError,
    UnsupportedGrantTypeError,
    _errors,
)
from intelliauth_ext._errors import (
    MAX_ERROR_BODY_BYTES,
    MAX_MESSAGE_CHARS,
    error_from_response,
    error_from_transport,
    oauth_error_from_fields,
)

from .doubles import TENANT, StaticBearer

REQUEST = httpx.Request("GET", f"{TENANT}/api/v1/users/usr_1")
DEEP_ARRAY = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
FIFTY_MB = 50 * 1024 * 1024


def response(
    status: int, content: bytes = b"", headers: dict[str, str] | None = None, **kwargs: Any
) -> httpx.Response:
    return httpx.Response(status, content=content, headers=headers, request=REQUEST, **kwargs)


def envelope(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": code, "message": message, **extra}


# -- any body, never a raise ---------------------------------------------------------------


@pytest.mark.parametrize("body", [DEEP_ARRAY, DEEP_OBJECT], ids=["array", "object"])
@pytest.mark.parametrize("oauth", [False, True])
def test_a_body_nested_100000_deep_gives_an_exception(body: bytes, oauth: bool) -> None:
    """JSON nested past the recursion limit is a body that is not an envelope, not a crash."""
    exc = error_from_response(response(404, body), oauth=oauth)
    if oauth:
        assert isinstance(exc, InvalidRequestError)
        assert exc.error_description is not None
        assert exc.error_description.startswith("HTTP 404 without an RFC 6749 error body: ")
        assert body[:10].decode() in exc.error_description
    else:
        assert isinstance(exc, NotFoundError)
        assert exc.code is None
        assert exc.message.startswith("HTTP 404 Not Found; body: ")
    assert len(str(exc)) < 2 * MAX_MESSAGE_CHARS
    assert exc.response is not None
    assert exc.response.content == body


@pytest.mark.parametrize("oauth", [False, True])
def test_invalid_utf8_gives_an_exception(oauth: bool) -> None:
    """A body that is not UTF-8 is shown with replacement characters."""
    exc = error_from_response(response(400, b"\xff\xfe\xfa not utf-8 \xc3"), oauth=oauth)
    assert isinstance(exc, BadRequestError | InvalidRequestError)
    assert "\ufffd" in str(exc)
    assert "not utf-8" in str(exc)


def test_an_empty_body_gives_an_exception() -> None:
    """No body at all: the status and its reason, and an explicit empty-body marker."""
    exc = error_from_response(response(503), oauth=False)
    assert isinstance(exc, InternalServerError)
    assert exc.message == "HTTP 503 Service Unavailable; body: <empty body>"
    oauth_exc = error_from_response(response(503), oauth=True)
    assert (oauth_exc.error, oauth_exc.status_code) == ("server_error", 503)


@pytest.mark.parametrize("oauth", [False, True])
def test_a_50_mb_body_gives_a_short_message_and_is_not_decoded(
    oauth: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """50 MB (here valid JSON) is reported by its first bytes; the JSON decoder never runs."""
    decoded: list[int] = []
    original = _errors.json_object

    def recording_json_object(content: bytes) -> Any:
        decoded.append(len(content))
        return original(content)

    monkeypatch.setattr(_errors, "json_object", recording_json_object)
    body = b'{"error": "invalid_grant", "message": "' + b"x" * FIFTY_MB + b'"}'
    exc = error_from_response(response(400, body), oauth=oauth)
    assert isinstance(exc, IntelliAuthError)
    assert decoded == []
    assert len(str(exc)) < 2 * MAX_MESSAGE_CHARS
    assert exc.response is not None
    assert len(exc.response.content) == len(body)


def test_a_body_at_the_cap_is_still_decoded() -> None:
    """Up to MAX_ERROR_BODY_BYTES the envelope is read; its long message is cut."""
    message = "m" * (MAX_ERROR_BODY_BYTES - 100)
    body = httpx.Response(200, json=envelope("conflict", message)).content
    assert len(body) <= MAX_ERROR_BODY_BYTES
    exc = error_from_response(response(409, body), oauth=False)
    assert isinstance(exc, ConflictError)
    assert exc.code == "conflict"
    assert len(exc.message) == MAX_MESSAGE_CHARS
    assert exc.message.endswith("...")


def test_an_unread_streamed_body_counts_as_empty() -> None:
    """A response whose body was never read still maps (``.content`` would raise)."""

    class Stream(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield b"never read"

    unread = httpx.Response(502, stream=Stream(), request=REQUEST)
    exc = error_from_response(unread, oauth=False)
    assert isinstance(exc, InternalServerError)
    assert exc.message.endswith("<empty body>")


@settings(max_examples=300, deadline=None)
@given(
    status=st.integers(min_value=300, max_value=599),
    body=st.one_of(
        st.binary(max_size=512),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda children: (
                st.lists(children, max_size=4)
                | st.dictionaries(
                    st.sampled_from(["error", "message", "details", "request_id", "x"]),
                    children,
                    max_size=4,
                )
            ),
            max_leaves=12,
        ).map(lambda value: httpx.Response(200, json=value).content),
    ),
    headers=st.dictionaries(
        st.sampled_from(["retry-after", "x-request-id", "content-type"]),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
        max_size=3,
    ),
    oauth=st.booleans(),
)
def test_any_status_body_and_headers_give_an_exception(
    status: int, body: bytes, headers: dict[str, str], oauth: bool
) -> None:
    """Whatever arrives, the result is an exception object of the right family."""
    exc = error_from_response(response(status, body, headers), oauth=oauth)
    assert isinstance(exc, OAuthError if oauth else APIStatusError)
    assert len(str(exc)) < 3 * MAX_MESSAGE_CHARS


# -- the status mapping ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (418, APIStatusError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (504, InternalServerError),
    ],
)
def test_the_class_follows_the_status(status: int, expected: type[APIStatusError]) -> None:
    """One class per status (the base class for a 4xx without one), whatever the body says."""
    exc = error_from_response(
        response(status, httpx.Response(200, json=envelope("not_found", "m")).content),
        oauth=False,
    )
    assert type(exc) is expected
    assert exc.status_code == status


def test_a_proxys_html_502_maps_by_status() -> None:
    """An HTML page is not an envelope: no code, the start of the page in the message."""
    page = b"<html>\n<head><title>502 Bad Gateway</title></head>\n<body>nginx</body></html>"
    exc = error_from_response(response(502, page, {"content-type": "text/html"}), oauth=False)
    assert isinstance(exc, InternalServerError)
    assert exc.code is None
    assert exc.details == {}
    assert exc.message.startswith("HTTP 502 Bad Gateway; body: <html> <head><title>502")


def test_the_envelope_gives_code_details_and_request_id() -> None:
    """The platform's envelope fills code, message, details and request_id."""
    body = envelope(
        "already_exists",
        "A user with this email exists.",
        details={"field": "email"},
        request_id="req_body",
    )
    exc = error_from_response(
        response(409, httpx.Response(200, json=body).content, {"x-request-id": "req_header"}),
        oauth=False,
    )
    assert isinstance(exc, ConflictError)
    assert (exc.code, exc.message, exc.request_id) == (
        "already_exists",
        "A user with this email exists.",
        "req_body",
    )
    assert exc.details == {"field": "email"}
    assert str(exc) == "[409 already_exists] A user with this email exists. (request_id=req_body)"


def test_the_request_id_header_is_the_fallback() -> None:
    """Without a request_id in the body, X-Request-Id is used; details that are no object drop."""
    body = httpx.Response(200, json={"error": "bad", "details": [1, 2]}).content
    exc = error_from_response(response(400, body, {"x-request-id": "req_h"}), oauth=False)
    assert exc.request_id == "req_h"
    assert exc.details == {}
    assert exc.message == body.decode()  # no message nor description: the body itself


def test_an_rfc_6749_body_on_a_status_mapped_operation_keeps_its_description() -> None:
    """A status-mapped error whose body is RFC 6749 still reads error and error_description."""
    body = httpx.Response(200, json={"error": "invalid_token", "error_description": "expired"})
    exc = error_from_response(response(401, body.content), oauth=False)
    assert isinstance(exc, AuthenticationError)
    assert (exc.code, exc.message) == ("invalid_token", "expired")


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [("7", 7.0), ("0", 0.0), ("-3", 0.0), ("soon", None), ("nan", None), (None, None)],
)
def test_429_carries_retry_after(retry_after: str | None, expected: float | None) -> None:
    """A 429 is a RateLimitError with the server's Retry-After in seconds (None if unreadable)."""
    headers = {"retry-after": retry_after} if retry_after is not None else {}
    body = httpx.Response(200, json=envelope("rate_limited", "slow down")).content
    exc = error_from_response(response(429, body, headers), oauth=False)
    assert isinstance(exc, RateLimitError)
    assert exc.retry_after == expected
    assert exc.code == "rate_limited"


# -- RFC 6749 bodies -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ("invalid_request", InvalidRequestError),
        ("invalid_client", InvalidClientError),
        ("invalid_grant", InvalidGrantError),
        ("unauthorized_client", UnauthorizedClientError),
        ("unsupported_grant_type", UnsupportedGrantTypeError),
        ("invalid_scope", InvalidScopeError),
        ("access_denied", AccessDeniedError),
        ("temporarily_unavailable", OAuthError),
    ],
)
def test_rfc_6749_bodies_map_by_error_code(error: str, expected: type[OAuthError]) -> None:
    """With oauth=True the body's error code picks the class (the base class if unknown)."""
    body = {
        "error": error,
        "error_description": "The grant is gone.",
        "error_uri": "https://docs.example/errors",
    }
    exc = error_from_response(response(400, httpx.Response(200, json=body).content), oauth=True)
    assert type(exc) is expected
    assert (exc.error, exc.error_description, exc.error_uri) == (
        error,
        "The grant is gone.",
        "https://docs.example/errors",
    )
    assert exc.status_code == 400
    assert exc.response is not None
    assert str(exc) == f"{error}: The grant is gone."


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (401, b"", InvalidClientError),
        (400, b"<html>Bad</html>", InvalidRequestError),
        (500, b"oops", OAuthError),
        (400, b'{"error": 42}', InvalidRequestError),
        (400, b'["invalid_grant"]', InvalidRequestError),
    ],
)
def test_a_failed_oauth_answer_without_an_rfc_6749_body(
    status: int, body: bytes, expected: type[OAuthError]
) -> None:
    """401 is invalid_client, 5xx server_error, anything else invalid_request."""
    exc = error_from_response(response(status, body), oauth=True)
    assert type(exc) is expected
    assert exc.error == {401: "invalid_client", 500: "server_error"}.get(status, "invalid_request")
    assert exc.error_description is not None
    assert exc.error_description.startswith(f"HTTP {status} without an RFC 6749 error body")


def test_oauth_error_from_fields_picks_the_subclass() -> None:
    """An error code from a redirect (no response) maps through the same table."""
    exc = oauth_error_from_fields("access_denied", "The user said no")
    assert isinstance(exc, AccessDeniedError)
    assert (exc.status_code, exc.response) == (None, None)
    assert type(oauth_error_from_fields("brand_new_code")) is OAuthError


# -- transport failures ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "cause",
    [
        httpx.ConnectTimeout("connect"),
        httpx.ReadTimeout("read"),
        httpx.WriteTimeout("write"),
        httpx.PoolTimeout("pool"),
        TimeoutError(),
    ],
)
def test_timeouts_become_api_timeout_error(cause: BaseException) -> None:
    """Every timeout, httpx's or an overall deadline's, is an APITimeoutError."""
    exc = error_from_transport(cause, REQUEST)
    assert isinstance(exc, APITimeoutError)
    assert exc.request is REQUEST
    assert exc.message == (
        f"Request timed out: GET {TENANT}/api/v1/users/usr_1 ({type(cause).__name__})"
    )


def test_other_failures_become_api_connection_error() -> None:
    """A connection failure names the request and the cause, in one format."""
    exc = error_from_transport(httpx.ConnectError("[Errno 111] Connection refused"), REQUEST)
    assert type(exc) is APIConnectionError
    assert exc.request is REQUEST
    assert exc.message == (
        f"Connection error: GET {TENANT}/api/v1/users/usr_1: [Errno 111] Connection refused"
    )


def test_transport_messages_are_redacted_and_bounded() -> None:
    """Secrets in the URL or in the cause never reach the message; long causes are cut."""
    request = httpx.Request(
        "POST", "https://user:pw@idp.example/oauth2/token?client_secret=s3cret&x=1"
    )
    cause = httpx.RemoteProtocolError(
        "peer closed; sent Authorization: Bearer abc.def.ghi and refresh_token=rt_secret "
        + "x" * 5000
    )
    exc = error_from_transport(cause, request)
    for secret in ("s3cret", "pw", "abc.def.ghi", "rt_secret"):
        assert secret not in exc.message
    assert len(exc.message) < 2 * MAX_MESSAGE_CHARS
    assert "[REDACTED]" in exc.message


def test_a_cause_that_can_not_be_shown_is_named_by_its_type() -> None:
    """An exception whose str() fails, or is empty, is named by its class."""

    class Broken(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    assert error_from_transport(Broken(), REQUEST).message.endswith(": Broken")
    assert error_from_transport(httpx.ReadError(""), REQUEST).message.endswith(": ReadError")


# -- through the client: the operation decides, the body can not break it ------------------


@pytest.fixture
async def client() -> AsyncIterator[IntelliAuth]:
    async with IntelliAuth(TENANT, auth=StaticBearer("tok"), max_retries=0) as sdk:
        yield sdk


@pytest.mark.anyio
async def test_get_user_answering_a_100000_deep_body_raises_not_found(
    client: IntelliAuth, router: respx.MockRouter
) -> None:
    """client.users.get on a 404 whose body is nested 100,000 deep: NotFoundError."""
    router.get("/api/v1/users/usr_1").respond(404, content=DEEP_ARRAY)
    with pytest.raises(NotFoundError) as info:
        await client.users.get("usr_1")
    assert info.value.message.startswith("HTTP 404 Not Found; body: [[[")


@pytest.mark.anyio
async def test_an_oauth_operation_raises_oauth_errors(
    client: IntelliAuth, router: respx.MockRouter
) -> None:
    """requestToken's contract documents RFC 6749 errors: its 400 is an InvalidGrantError."""
    router.post("/oauth2/token").respond(
        400, json={"error": "invalid_grant", "error_description": "code used"}
    )
    body = TokenRequest(grant_type=GrantType.AUTHORIZATION_CODE, code="c")
    with pytest.raises(InvalidGrantError) as info:
        await client.oauth2.request_token(body)
    assert (info.value.status_code, info.value.error_description) == (400, "code used")


@pytest.mark.anyio
async def test_the_operation_flag_decides_not_the_path(
    client: IntelliAuth, router: respx.MockRouter
) -> None:
    """The same RFC 6749 body maps by Operation.oauth_errors, wherever the path points."""
    oauth_body = {"error": "invalid_grant", "error_description": "gone"}
    router.get("/api/v1/users/usr_1").respond(400, json=oauth_body)
    router.post("/oauth2/token").respond(400, json=oauth_body)

    as_oauth = attrs.evolve(OPERATIONS["getUser"], oauth_errors=True)
    with pytest.raises(InvalidGrantError):
        await client.invoker.call(as_oauth, user_id="usr_1")

    as_status = attrs.evolve(OPERATIONS["requestToken"], oauth_errors=False)
    body = TokenRequest(grant_type=GrantType.CLIENT_CREDENTIALS)
    with pytest.raises(BadRequestError) as info:
        await client.invoker.call(as_status, body=body)
    assert info.value.code == "invalid_grant"


@pytest.mark.anyio
async def test_a_failed_connection_goes_through_error_from_transport(
    client: IntelliAuth, router: respx.MockRouter
) -> None:
    """The invoker's connection errors carry the one message format."""
    router.get("/api/v1/users/usr_1").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(APIConnectionError) as info:
        await client.users.get("usr_1")
    assert info.value.message == f"Connection error: GET {TENANT}/api/v1/users/usr_1: refused"
    assert isinstance(info.value.__cause__, httpx.ConnectError)
