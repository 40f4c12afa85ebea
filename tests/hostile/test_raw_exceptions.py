"""Family 1: no raw exception on any path the issue names.

A JSON body nested 100,000 levels deep made ``RecursionError`` escape from
``client.users.get``, ``client.revoke``, ``client.introspect`` (then ``revoke_token`` and
``introspect_token``) and ``TokenVerifier.verify_access_token``. Here each path gets such
bodies, as an error and as a success, from a real server on loopback (aiohttp transport
under asyncio, httpx's under trio), and must raise the documented exception with a short
message, or succeed where the body does not matter. The verifier's path (hostile
discovery documents and key sets) is in test_oidc.py; ``generate_code_verifier`` with a
length that is no whole number raises the documented ``ValueError``.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Final

import pytest
from ext.servers import LocalServer
from hypothesis import given
from hypothesis import strategies as st

from intelliauth_ext import (
    APIResponseValidationError,
    APIStatusError,
    IntelliAuth,
    IntelliAuthError,
    OAuthError,
)
from intelliauth_ext.pkce import generate_code_verifier

MESSAGE_BOUND: Final = 600
DEEP_BODIES: Final = {
    "deep-array": b"[" * 100_000 + b"]" * 100_000,
    "deep-object": b'{"a": ' * 100_000 + b"1" + b"}" * 100_000,
    "deep-in-envelope": b'{"error": "x", "message": "m", "details": '
    + b"[" * 100_000
    + b"]" * 100_000
    + b"}",
}
STATUSES: Final = [200, 400, 401, 404, 429, 500, 503]
Answer = tuple[int, dict[str, str], bytes]


@pytest.fixture
async def client(local_server: LocalServer) -> AsyncIterator[IntelliAuth]:
    """A client with credentials on the local server, whose token endpoint works."""
    token = {"access_token": "tok", "token_type": "Bearer", "expires_in": 3600}
    local_server.json_route("POST", "/oauth2/token", 200, token)
    async with IntelliAuth(
        local_server.url, client_id="c", client_secret="s", max_retries=0, timeout=10.0
    ) as client:
        yield client


def calls(client: IntelliAuth) -> dict[str, tuple[str, str, Callable[[], Awaitable[Any]]]]:
    """Each path: its method, its path on the server, and the call."""
    return {
        "users.get": ("GET", "/api/v1/users/usr_1", lambda: client.users.get("usr_1")),
        "revoke": ("POST", "/oauth2/revoke", lambda: client.revoke("a-token")),
        "introspect": ("POST", "/oauth2/introspect", lambda: client.introspect("a-token")),
    }


def _always(answer: Answer, handler: object, request_body: bytes) -> Answer:
    """A route answering ``answer`` to every request."""
    return answer


def expected_error(path: str, status: int) -> type[IntelliAuthError] | None:
    """What ``path`` raises for a deeply nested body with ``status``; None: it succeeds."""
    if status >= 400:
        # RFC 6749 endpoints answer OAuthErrors, but a 429 or 5xx is an outage there too
        # (``token_error``); the API answers its status errors.
        outage = status == 429 or status >= 500
        return APIStatusError if path == "users.get" or outage else OAuthError
    return {"users.get": APIResponseValidationError, "introspect": OAuthError}.get(path)


@pytest.mark.anyio
@pytest.mark.parametrize("path", ["users.get", "revoke", "introspect"])
async def test_a_deeply_nested_body_gives_the_documented_exception(
    local_server: LocalServer, client: IntelliAuth, path: str
) -> None:
    """100,000 levels of nesting, any status: the documented exception, or a success."""
    method, target, call = calls(client)[path]
    for body, content in DEEP_BODIES.items():
        for status in STATUSES:
            answer: Answer = (status, {}, content)
            local_server.routes[(method, target)] = functools.partial(_always, answer)
            expected = expected_error(path, status)
            if expected is None:  # RFC 7009: the body of a 200 to a revocation means nothing
                await call()
                continue
            with pytest.raises(expected) as caught:
                await call()
            assert len(str(caught.value)) <= MESSAGE_BOUND, (body, status)


@given(
    length=st.floats(allow_nan=True)
    | st.booleans()
    | st.none()
    | st.text(max_size=5)
    | st.integers().filter(lambda number: not 43 <= number <= 128)
    | st.lists(st.integers(), max_size=2)
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.fractions()
)
def test_a_verifier_length_that_is_no_whole_number_in_range_is_a_value_error(
    length: object,
) -> None:
    """43.5, True, "64", None, 42, 10**400 ...: ValueError, as documented, never TypeError."""
    with pytest.raises(ValueError, match="43 to 128 characters"):
        generate_code_verifier(length)  # type: ignore[arg-type]


@given(length=st.integers(43, 128))
def test_every_whole_length_in_range_gives_a_verifier_of_that_length(length: int) -> None:
    """The lengths RFC 7636 allows give verifiers of exactly that length."""
    assert len(generate_code_verifier(length)) == length
