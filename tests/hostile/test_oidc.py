"""Families 1 and 2 for OIDC: hostile discovery documents and key sets, providers in an outage.

Every test talks to a real identity provider on loopback (``LocalProvider``,
identity_provider.py) whose discovery or key set endpoint answers as a hostile or broken
server would. The guards and what they do:

- a discovery document or key set that is not what it should be (no ``jwks_uri``, one
  without a host or with another scheme, fields of the wrong type, another issuer,
  megabyte strings, 100,000 levels of nesting, invalid UTF-8) raises a documented
  ``IntelliAuthError`` with a short message, never a ``ValueError`` or a
  ``RecursionError``; hypothesis generates the documents;
- concurrent callers share one fetch (200 verifications against a failing key set make
  1 request, 100 against a failing discovery endpoint 1), each bounded by its own
  deadline, and one fetch is cut at ``fetch_timeout``: 4 verifications against a hanging
  key set all fail after one timeout, not after 1, 2, 3 and 4;
- a failure is remembered with backoff (1, 2, 4 ... 60 s): under 1,000 verifications a
  second, a failing provider receives 6 requests in the first minute and 1 a minute after;
- the last good key set keeps verifying tokens while a re-fetch fails;
- ``at_hash`` and ``c_hash`` are checked with the hash of each algorithm.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Final, TypeVar

import anyio
import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from ext.auth_fakes import FakeClock
from fastapi import Depends, FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intelliauth_ext import (
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthorizationCodeFlow,
    InsecureURLError,
    IntelliAuthError,
    InternalServerError,
    NotFoundError,
    TokenValidationError,
    TokenVerifier,
    VerifiedToken,
    fetch_provider_metadata,
)
from intelliauth_ext.aiohttp import VERIFIED_TOKEN, intelliauth_context
from intelliauth_ext.aiohttp import require_token as aiohttp_require_token
from intelliauth_ext.fastapi import intelliauth_lifespan
from intelliauth_ext.fastapi import require_token as fastapi_require_token

from .identity_provider import (
    AUDIENCE,
    CLIENT_ID,
    DISCOVERY_PATH,
    JWKS_PATH,
    KEYS_BY_ALG,
    NOW,
    RSA_KEY,
    LocalProvider,
    b64url,
    expected_hash,
    unsigned_token,
)

pytestmark = pytest.mark.anyio
T = TypeVar("T")

#: The longest message any exception of these tests may have.
MESSAGE_BOUND: Final = 600
DEEP: Final = b"[" * 100_000 + b"]" * 100_000
HYPOTHESIS: Final = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def make_verifier(
    provider: LocalProvider, clock: FakeClock, http: httpx.AsyncClient
) -> Callable[..., TokenVerifier]:
    """Makes fresh verifiers of the provider's tokens, discovering it over the socket."""

    def make(**options: Any) -> TokenVerifier:
        return TokenVerifier(provider.issuer, clock=clock, http_client=http, **options)

    return make


async def outcome(call: Awaitable[T]) -> T | BaseException:
    """What ``call`` returns, or what it raises (anything but a cancellation)."""
    try:
        return await call
    except Exception as exc:
        return exc


def assert_documented(result: object) -> None:
    """``result`` is a success (a token, metadata), or an SDK exception with a short message."""
    if not isinstance(result, BaseException):
        return
    assert isinstance(result, IntelliAuthError), repr(result)
    assert len(str(result)) <= MESSAGE_BOUND, len(str(result))


def document(provider_url: str, **fields: Any) -> bytes:
    """The provider's discovery document, ``fields`` changed (None deletes one)."""
    body: dict[str, Any] = {"issuer": provider_url, "jwks_uri": f"{provider_url}{JWKS_PATH}"}
    body.update(fields)
    return json.dumps({name: value for name, value in body.items() if value is not None}).encode()


# -- family 1: hostile discovery documents ------------------------------------------------


HOSTILE_DISCOVERY: Final[dict[str, Callable[[str], bytes]]] = {
    "no-jwks_uri": lambda issuer: document(issuer, jwks_uri=None),
    "jwks_uri-file": lambda issuer: document(issuer, jwks_uri="file:///etc/passwd"),
    "jwks_uri-no-host": lambda issuer: document(issuer, jwks_uri="https:///etc/passwd"),
    "jwks_uri-scheme-only": lambda issuer: document(issuer, jwks_uri="http://"),
    "jwks_uri-empty": lambda issuer: document(issuer, jwks_uri=""),
    "jwks_uri-bad-port": lambda issuer: document(issuer, jwks_uri="https://[::1"),
    "jwks_uri-number": lambda issuer: document(issuer, jwks_uri=5),
    "jwks_uri-list": lambda issuer: document(issuer, jwks_uri=["https://a.test/jwks"]),
    "jwks_uri-huge": lambda issuer: document(issuer, jwks_uri="https://" + "a" * 500_000),
    "jwks_uri-plain-http": lambda issuer: document(
        issuer, jwks_uri="http://a.test/" + "x" * 60_000
    ),
    "jwks_uri-deep": lambda issuer: (
        document(issuer, jwks_uri=None)[:-1] + b', "jwks_uri": ' + DEEP + b"}"
    ),
    "no-issuer": lambda issuer: document(issuer, issuer=None),
    "other-issuer": lambda issuer: document(issuer, issuer="https://evil.test"),
    "huge-issuer": lambda issuer: document(issuer, issuer="https://" + "i" * 500_000),
    "issuer-list": lambda issuer: document(issuer, issuer=[issuer]),
    "algs-string": lambda issuer: document(issuer, id_token_signing_alg_values_supported="RS256"),
    "algs-nested": lambda issuer: document(issuer, id_token_signing_alg_values_supported=[["x"]]),
    "deep": lambda issuer: DEEP,
    "deep-object": lambda issuer: b'{"a": ' * 100_000 + b"1" + b"}" * 100_000,
    "invalid-utf8": lambda issuer: b'{"issuer": "\xff\xfe\xfd"}',
    "lone-surrogate": lambda issuer: document(issuer, jwks_uri="https://a.test/\ud800"),
    "array": lambda issuer: b"[]",
    "null": lambda issuer: b"null",
    "html": lambda issuer: b"<html><body>It works!</body></html>",
    "empty": lambda issuer: b"",
    "nan": lambda issuer: b'{"issuer": NaN, "jwks_uri": Infinity}',
}


@pytest.mark.parametrize("case", sorted(HOSTILE_DISCOVERY))
async def test_a_hostile_discovery_document_is_a_documented_error(
    provider: LocalProvider,
    make_verifier: Callable[..., TokenVerifier],
    case: str,
) -> None:
    """verify_access_token and verify_id_token raise a short IntelliAuthError, not the token's."""
    provider.answer(DISCOVERY_PATH, 200, HOSTILE_DISCOVERY[case](provider.issuer))
    verifier = make_verifier()
    id_token = provider.sign(provider.claims(aud=CLIENT_ID), typ="JWT")
    for result in (
        await outcome(verifier.verify_access_token(provider.access_token(), audience=AUDIENCE)),
        await outcome(verifier.verify_id_token(id_token, audience=CLIENT_ID)),
    ):
        assert_documented(result)
        # The provider's fault, not the token's: a resource server answers 503, not 401.
        assert isinstance(result, APIResponseValidationError | InsecureURLError), repr(result)


@pytest.mark.parametrize(
    "endpoint",
    [
        pytest.param(None, id="missing"),
        pytest.param("https:///authorize", id="no-host"),
        pytest.param("file:///etc/passwd", id="file"),
        pytest.param(7, id="number"),
    ],
)
async def test_a_hostile_authorization_endpoint_is_a_documented_error(
    provider: LocalProvider, clock: FakeClock, endpoint: object
) -> None:
    """AuthorizationCodeFlow.start() with a broken endpoint: a documented error, no ValueError."""
    provider.answer(DISCOVERY_PATH, 200, document(provider.issuer, authorization_endpoint=endpoint))
    flow = AuthorizationCodeFlow(provider.issuer, CLIENT_ID, "http://127.0.0.1/cb", clock=clock)
    with pytest.raises(IntelliAuthError) as caught:
        await flow.start()
    assert isinstance(caught.value, APIResponseValidationError | InsecureURLError)
    assert_documented(caught.value)


def _hostile_values() -> st.SearchStrategy[Any]:
    leaves = (
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False)
        | st.text(max_size=30)
        | st.sampled_from(
            [
                "",
                "file:///etc/passwd",
                "https:///x",
                "http://",
                "http://example.com/jwks",
                "https://[::1",
                "javascript:alert(1)",
                "https://a.test/\ud800",
                "x" * 100_000,
            ]
        )
    )
    return st.recursive(
        leaves,
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(max_size=5), children, max_size=3)
        ),
        max_leaves=8,
    )


_DISCOVERY_FIELDS: Final = (
    "issuer",
    "jwks_uri",
    "authorization_endpoint",
    "token_endpoint",
    "id_token_signing_alg_values_supported",
    "token_endpoint_auth_methods_supported",
    "authorization_response_iss_parameter_supported",
)


#: Stands for the provider's URL in generated documents (its port is known only at run time).
PROVIDER_URL: Final = "http://provider.invalid"


@st.composite
def discovery_bodies(draw: st.DrawFn) -> bytes:
    """A discovery document with any field hostile (or right), or hostile bytes."""
    issuer = PROVIDER_URL
    kind = draw(st.sampled_from(["fields", "fields", "fields", "raw", "deep-field"]))
    if kind == "raw":
        return draw(st.binary(max_size=200) | st.sampled_from([DEEP, b"\xff" * 10, b"{"]))
    fields: dict[str, Any] = {"issuer": issuer, "jwks_uri": f"{issuer}{JWKS_PATH}"}
    for name in draw(st.lists(st.sampled_from(_DISCOVERY_FIELDS), unique=True, max_size=4)):
        fields[name] = draw(_hostile_values())
    body = json.dumps(fields).encode()
    if kind == "deep-field":
        deep_field = draw(st.sampled_from(_DISCOVERY_FIELDS)).encode()
        body = body[:-1] + b', "' + deep_field + b'": ' + DEEP + b"}"
    return body


@HYPOTHESIS
@given(body=discovery_bodies(), status=st.sampled_from([200, 200, 200, 404, 500, 302]))
async def test_generated_discovery_documents_give_documented_errors(
    provider: LocalProvider,
    make_verifier: Callable[..., TokenVerifier],
    http: httpx.AsyncClient,
    body: bytes,
    status: int,
) -> None:
    """Any generated discovery answer: the token verifies, or a short IntelliAuthError."""
    provider.answer(
        DISCOVERY_PATH, status, body.replace(PROVIDER_URL.encode(), provider.issuer.encode())
    )
    verifier = make_verifier()
    assert_documented(
        await outcome(verifier.verify_access_token(provider.access_token(), audience=AUDIENCE))
    )
    assert_documented(await outcome(fetch_provider_metadata(provider.issuer, http_client=http)))


# -- family 1: hostile key sets ------------------------------------------------------------


_KEY_FIELDS: Final = ("kty", "kid", "use", "alg", "n", "e", "crv", "x", "y", "key_ops")


@st.composite
def jwks_bodies(draw: st.DrawFn) -> bytes:
    """A key set whose keys have hostile fields (the real key among them or not)."""
    kind = draw(st.sampled_from(["keys", "keys", "keys", "raw", "deep-key"]))
    if kind == "raw":
        return draw(st.binary(max_size=200) | st.sampled_from([DEEP, b'{"keys": 5}', b"[]"]))
    keys: list[Any] = []
    for _ in range(draw(st.integers(0, 3))):
        key: dict[str, Any] = dict(RSA_KEY.as_dict(private=False))
        for name in draw(st.lists(st.sampled_from(_KEY_FIELDS), unique=True, max_size=4)):
            key[name] = draw(_hostile_values())
        keys.append(key)
    if draw(st.booleans()):
        keys.append(draw(_hostile_values()))
    if draw(st.booleans()):
        keys.insert(draw(st.integers(0, len(keys))), RSA_KEY.as_dict(private=False))
    body = json.dumps({"keys": keys}).encode()
    if kind == "deep-key":
        body = b'{"keys": [{"kty": "RSA", "kid": "rsa-1", "n": ' + DEEP + b"}]}"
    return body


@HYPOTHESIS
@given(body=jwks_bodies(), status=st.sampled_from([200, 200, 200, 404, 503]))
async def test_generated_key_sets_give_documented_errors(
    provider: LocalProvider,
    make_verifier: Callable[..., TokenVerifier],
    body: bytes,
    status: int,
) -> None:
    """Any generated key set answer: the token verifies, or a short IntelliAuthError."""
    provider.answer(JWKS_PATH, status, body)
    verifier = make_verifier()
    token = provider.access_token()
    assert_documented(await outcome(verifier.verify_access_token(token, audience=AUDIENCE)))


@pytest.mark.parametrize(
    ("path", "status", "error_class"),
    [
        (DISCOVERY_PATH, 200, APIResponseValidationError),
        (DISCOVERY_PATH, 500, InternalServerError),
        (JWKS_PATH, 200, APIResponseValidationError),
        (JWKS_PATH, 503, InternalServerError),
        (JWKS_PATH, 404, NotFoundError),
    ],
)
async def test_a_100000_deep_body_is_a_documented_error(
    provider: LocalProvider,
    make_verifier: Callable[..., TokenVerifier],
    path: str,
    status: int,
    error_class: type[IntelliAuthError],
) -> None:
    """100,000 nested arrays from discovery or the key set: the documented error, no recursion."""
    provider.answer(path, status, DEEP)
    verifier = make_verifier()
    with pytest.raises(error_class) as caught:
        await verifier.verify_access_token(provider.access_token(), audience=AUDIENCE)
    assert_documented(caught.value)


@pytest.mark.parametrize(
    "header",
    [
        pytest.param({"alg": "RS256", "kid": "k" * 60_000}, id="huge-kid"),
        pytest.param({"alg": "X" * 60_000}, id="huge-alg"),
        pytest.param({"alg": "HS" + "6" * 60_000}, id="huge-hmac-alg"),
        pytest.param({"alg": "RS256", "kid": "rsa-1", "typ": "t" * 60_000}, id="huge-typ"),
    ],
)
async def test_a_hostile_token_header_gives_a_short_message(
    make_verifier: Callable[..., TokenVerifier],
    header: dict[str, str],
) -> None:
    """A kid, alg or typ of 60,000 characters: TokenValidationError with a short message."""
    encoded = b64url(json.dumps(header).encode())
    token = f"{encoded}.{b64url(b'{}')}.{b64url(b'sig')}"
    verifier = make_verifier()
    with pytest.raises(TokenValidationError) as caught:
        await verifier.verify_access_token(token, audience=AUDIENCE, require_at_jwt_type=True)
    assert_documented(caught.value)


# -- family 2: one fetch for many callers ---------------------------------------------------


async def test_200_verifications_against_a_failing_key_set_make_one_request(
    provider: LocalProvider,
    make_verifier: Callable[..., TokenVerifier],
) -> None:
    """200 concurrent tokens with distinct unknown kids, JWKS answering 503: 1 request, twice."""
    provider.answer(JWKS_PATH, 503, b'{"error": "temporarily_unavailable"}')
    verifier = make_verifier()
    tokens = [unsigned_token(f"kid-{number}") for number in range(200)]
    results: list[object] = []

    async def verify(token: str) -> None:
        results.append(await outcome(verifier.verify_access_token(token, audience=AUDIENCE)))

    for _ in range(2):  # a second wave, within the backoff, makes no request at all
        async with anyio.create_task_group() as group:
            for token in tokens:
                group.start_soon(verify, token)
    assert len(results) == 400
    assert all(isinstance(result, InternalServerError) for result in results), results[:3]
    assert provider.requests_to(JWKS_PATH) == 1
    assert provider.requests_to(DISCOVERY_PATH) == 1


async def test_100_verifications_against_a_failing_discovery_make_one_request(
    provider: LocalProvider,
    make_verifier: Callable[..., TokenVerifier],
) -> None:
    """100 concurrent verifications, discovery answering 503: 1 discovery request, none to JWKS."""
    provider.answer(DISCOVERY_PATH, 503, b"<html>maintenance</html>", content_type="text/html")
    verifier = make_verifier()
    token = provider.access_token()
    results: list[object] = []

    async def verify() -> None:
        results.append(await outcome(verifier.verify_access_token(token, audience=AUDIENCE)))

    for _ in range(2):
        async with anyio.create_task_group() as group:
            for _ in range(100):
                group.start_soon(verify)
    assert all(isinstance(result, InternalServerError) for result in results), results[:3]
    assert (provider.requests_to(DISCOVERY_PATH), provider.requests_to(JWKS_PATH)) == (1, 0)


async def test_4_verifications_against_a_hanging_key_set_end_after_one_timeout(
    provider: LocalProvider,
    make_verifier: Callable[..., TokenVerifier],
) -> None:
    """A JWKS that never answers: 4 concurrent callers all fail after ~1 fetch timeout.

    With fetches in a queue under a lock they ended after 1, 2, 3 and 4 timeouts.
    """
    provider.hang(JWKS_PATH)
    timeout = 0.5
    verifier = make_verifier(fetch_timeout=timeout)
    await verifier.metadata()  # discovery is not what this test times
    ended: list[float] = []
    results: list[object] = []
    started = time.monotonic()

    async def verify() -> None:
        results.append(
            await outcome(verifier.verify_access_token(provider.access_token(), audience=AUDIENCE))
        )
        ended.append(time.monotonic() - started)

    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            for _ in range(4):
                group.start_soon(verify)
    assert all(isinstance(result, APITimeoutError) for result in results), results
    assert max(ended) < 2 * timeout, ended
    assert provider.requests_to(JWKS_PATH) == 1


async def test_a_trickling_key_set_is_cut_at_the_fetch_timeout(
    provider: LocalProvider,
    make_verifier: Callable[..., TokenVerifier],
) -> None:
    """A JWKS sending a byte every 50 ms (no read ever times out): cut after fetch_timeout."""
    provider.trickle(JWKS_PATH)
    timeout = 0.5
    verifier = make_verifier(fetch_timeout=timeout)
    await verifier.metadata()
    started = time.monotonic()
    with anyio.fail_after(10), pytest.raises(APITimeoutError) as caught:
        await verifier.verify_access_token(provider.access_token(), audience=AUDIENCE)
    assert time.monotonic() - started < 2 * timeout
    assert_documented(caught.value)


async def test_each_waiter_is_bounded_by_its_own_deadline(
    provider: LocalProvider,
    make_verifier: Callable[..., TokenVerifier],
) -> None:
    """A waiter with a 0.1 s deadline leaves then; the shared fetch goes on for the others."""
    provider.hang(JWKS_PATH)
    verifier = make_verifier(fetch_timeout=1.0)
    await verifier.metadata()
    token = provider.access_token()
    left_after: list[float] = []
    results: list[object] = []
    started = time.monotonic()

    async def impatient() -> None:
        await anyio.sleep(0.05)  # joins the fetch the other task started
        with anyio.move_on_after(0.1):
            await verifier.verify_access_token(token, audience=AUDIENCE)
        left_after.append(time.monotonic() - started)

    async def patient() -> None:
        results.append(await outcome(verifier.verify_access_token(token, audience=AUDIENCE)))

    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(patient)
            group.start_soon(impatient)
    assert left_after[0] < 0.5, left_after
    assert isinstance(results[0], APITimeoutError)
    assert provider.requests_to(JWKS_PATH) == 1


async def test_a_cancelled_first_caller_does_not_cost_a_second_request(
    provider: LocalProvider,
    make_verifier: Callable[..., TokenVerifier],
) -> None:
    """The caller that started the fetch is cancelled: the fetch goes on, shared, and ends once."""
    provider.hang(JWKS_PATH)
    verifier = make_verifier(fetch_timeout=0.5)
    await verifier.metadata()
    token = provider.access_token()
    results: list[object] = []

    async def first() -> None:
        # Shielded, the fetch outlives this deadline; the caller gets its end (at most
        # fetch_timeout later), with the fetch's error or its own cancellation.
        with anyio.move_on_after(0.05):
            await outcome(verifier.verify_access_token(token, audience=AUDIENCE))

    async def later() -> None:
        await anyio.sleep(0.01)
        results.append(await outcome(verifier.verify_access_token(token, audience=AUDIENCE)))

    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(first)
            for _ in range(3):
                group.start_soon(later)
    assert all(isinstance(result, APITimeoutError) for result in results), results
    assert provider.requests_to(JWKS_PATH) == 1


# -- family 2: a failing provider, minute after minute ---------------------------------------


async def _a_minute_of_traffic(
    verifier: TokenVerifier, clock: FakeClock, token: str, *, per_second: int = 1_000
) -> int:
    """``per_second`` verifications a second for 60 s of the clock; how many verified."""
    verified = 0
    step = 1.0 / per_second
    for _ in range(60 * per_second):
        result = await outcome(verifier.verify_access_token(token, audience=AUDIENCE))
        assert_documented(result)
        verified += isinstance(result, VerifiedToken)
        clock.advance(step)
    return verified


@pytest.mark.parametrize("path", [JWKS_PATH, DISCOVERY_PATH])
async def test_a_failing_provider_sees_a_handful_of_requests_a_minute(
    provider: LocalProvider,
    clock: FakeClock,
    make_verifier: Callable[..., TokenVerifier],
    path: str,
) -> None:
    """1,000 verifications/s against a failing endpoint: 6 requests in minute 1, 1 in minute 2.

    The backoff waits 1, 2, 4, 8, 16, 32, then 60 s: attempts at 0, 1, 3, 7, 15 and 31 s.
    """
    provider.answer(path, 503, b'{"error": "down"}')
    verifier = make_verifier()
    token = provider.access_token(exp=int(NOW) + 3 * 3600)
    assert await _a_minute_of_traffic(verifier, clock, token) == 0
    assert provider.requests_to(path) == 6
    assert await _a_minute_of_traffic(verifier, clock, token) == 0
    assert provider.requests_to(path) == 7
    # The provider comes back: within the current wait (at most 60 s) tokens verify again.
    if path == JWKS_PATH:
        provider.serve_keys()
    else:
        provider.serve_metadata()
    assert await _a_minute_of_traffic(verifier, clock, token, per_second=10) > 0
    assert provider.requests_to(path) == 8


async def test_unknown_kids_during_an_outage_cost_one_request_a_minute(
    provider: LocalProvider,
    clock: FakeClock,
    make_verifier: Callable[..., TokenVerifier],
) -> None:
    """A cached key set, the JWKS down, 100 unknown-kid tokens a second: 1 re-fetch a minute."""
    verifier = make_verifier()
    await verifier.verify_access_token(provider.access_token(), audience=AUDIENCE)
    provider.answer(JWKS_PATH, 503, b"")
    clock.advance(60)
    for second in range(120):
        for number in range(100):
            token = unsigned_token(f"kid-{second}-{number}", exp=int(NOW) + 3600)
            assert_documented(await outcome(verifier.verify_access_token(token, audience=AUDIENCE)))
        clock.advance(1)
    assert provider.requests_to(JWKS_PATH) == 1 + 2  # the first fetch, then one a minute


async def test_the_last_good_key_set_verifies_while_a_refresh_fails(
    provider: LocalProvider,
    clock: FakeClock,
    make_verifier: Callable[..., TokenVerifier],
) -> None:
    """A re-fetch for a rotated kid fails: the cached keys still verify; the new kid, later."""
    verifier = make_verifier()
    token = provider.access_token(exp=int(NOW) + 3600)
    await verifier.verify_access_token(token, audience=AUDIENCE)
    provider.answer(JWKS_PATH, 503, b'{"error": "down"}')
    clock.advance(61)
    with pytest.raises(InternalServerError):  # the re-fetch for the new kid failed
        await verifier.verify_access_token(unsigned_token("rotated"), audience=AUDIENCE)
    for _ in range(100):
        verified = await verifier.verify_access_token(token, audience=AUDIENCE)
        assert verified.subject == "user-1"
        clock.advance(1)
    assert provider.requests_to(JWKS_PATH) == 2
    provider.serve_keys()
    assert (await verifier.verify_access_token(token, audience=AUDIENCE)).subject == "user-1"


async def test_a_failure_is_answered_with_a_copy_of_its_error(
    provider: LocalProvider,
    make_verifier: Callable[..., TokenVerifier],
) -> None:
    """The remembered failure is raised as a fresh exception each time: tracebacks never pile up."""
    provider.answer(JWKS_PATH, 503, b'{"error": "down", "message": "maintenance"}')
    verifier = make_verifier()
    errors: list[APIStatusError] = []
    for _ in range(3):
        with pytest.raises(APIStatusError) as caught:
            await verifier.verify_access_token(provider.access_token(), audience=AUDIENCE)
        errors.append(caught.value)
    assert len({id(error) for error in errors}) == 3
    assert {(error.status_code, error.code, str(error)) for error in errors} == {
        (503, "down", str(errors[0]))
    }
    assert provider.requests_to(JWKS_PATH) == 1


# -- at_hash and c_hash ------------------------------------------------------------------------

_HASH_OF: Final = {
    "RS256": "sha256",
    "PS256": "sha256",
    "ES256": "sha256",
    "RS384": "sha384",
    "PS384": "sha384",
    "ES384": "sha384",
    "RS512": "sha512",
    "PS512": "sha512",
    "ES512": "sha512",
    "Ed25519": "sha512",
}
ACCESS_TOKEN: Final = "jHkWEdUXMU1BwAsC4vtUsZwnNuhCjxhlD9GTGzeHtMw"
CODE: Final = "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk"


def _id_token(provider: LocalProvider, alg: str, **claims: Any) -> str:
    return provider.sign(provider.claims(aud=CLIENT_ID, **claims), alg=alg, typ="JWT")


@pytest.mark.parametrize("alg", sorted(KEYS_BY_ALG))
async def test_at_hash_and_c_hash_are_checked_with_the_hash_of_the_alg(
    provider: LocalProvider, make_verifier: Callable[..., TokenVerifier], alg: str
) -> None:
    """Right hashes pass; a hash of another token, or with another function, fails its check."""
    verifier = make_verifier()
    hash_name = _HASH_OF[alg]
    good = _id_token(
        provider,
        alg,
        at_hash=expected_hash(ACCESS_TOKEN, hash_name),
        c_hash=expected_hash(CODE, hash_name),
    )
    verified = await verifier.verify_id_token(
        good, audience=CLIENT_ID, access_token=ACCESS_TOKEN, code=CODE
    )
    assert verified.subject == "user-1"
    other_hash = "sha256" if hash_name != "sha256" else "sha512"
    for claim, value in (("at_hash", ACCESS_TOKEN), ("c_hash", CODE)):
        for wrong in (
            expected_hash(value + "x", hash_name),
            expected_hash(value, other_hash),
            "",
            5,
            "x" * 10_000,
        ):
            bad = _id_token(provider, alg, **{claim: wrong})
            with pytest.raises(TokenValidationError) as caught:
                await verifier.verify_id_token(
                    bad, audience=CLIENT_ID, access_token=ACCESS_TOKEN, code=CODE
                )
            assert caught.value.check == claim
            assert_documented(caught.value)


async def test_hashes_are_checked_only_against_what_is_given(
    provider: LocalProvider,
    make_verifier: Callable[..., TokenVerifier],
) -> None:
    """Without access_token= or code=, a present at_hash or c_hash can not be checked: no error."""
    verifier = make_verifier()
    token = _id_token(provider, "RS256", at_hash="wrong", c_hash="wrong")
    assert (await verifier.verify_id_token(token, audience=CLIENT_ID)).subject == "user-1"
    absent = _id_token(provider, "RS256")
    verified = await verifier.verify_id_token(
        absent, audience=CLIENT_ID, access_token=ACCESS_TOKEN, code=CODE
    )
    assert verified.subject == "user-1"  # optional in the code flow (OIDC Core 3.1.3.6)


# -- family 1: the framework integrations answer 503 while keys can not be had ---------------

INTEGRATION_CASES: Final = [
    "no-jwks_uri",
    "jwks_uri-file",
    "jwks_uri-no-host",
    "jwks_uri-huge",
    "deep",
    "invalid-utf8",
    "huge-issuer",
]


def _fastapi_app() -> FastAPI:
    app = FastAPI(lifespan=None)

    @app.get("/users")
    async def users(
        token: Annotated[VerifiedToken, Depends(fastapi_require_token(["users:read"]))],
    ) -> dict[str, str | None]:
        return {"caller": token.subject}

    return app


async def test_fastapi_require_token_answers_503_for_a_hostile_discovery_document(
    provider: LocalProvider, clock: FakeClock
) -> None:
    """require_token: 200 with a good provider; 503 without a challenge for each hostile one."""
    token = provider.access_token(scope="users:read", exp=int(NOW) + 3600)
    for case in [None, *INTEGRATION_CASES]:
        if case is not None:
            provider.answer(DISCOVERY_PATH, 200, HOSTILE_DISCOVERY[case](provider.issuer))
        app = _fastapi_app()
        lifespan = intelliauth_lifespan(provider.issuer, audience=AUDIENCE, clock=clock)
        async with (
            lifespan(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as api,
        ):
            response = await api.get("/users", headers={"Authorization": f"Bearer {token}"})
        if case is None:
            assert response.status_code == 200, response.text
            continue
        assert response.status_code == 503, (case, response.text)
        assert "www-authenticate" not in response.headers
        assert response.json()["detail"]["error"] == "temporarily_unavailable"


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # aiohttp's server runs on asyncio
async def test_aiohttp_require_token_answers_503_for_a_hostile_discovery_document(
    provider: LocalProvider, clock: FakeClock
) -> None:
    """@require_token and TokenGuard under aiohttp: 200, then 503 for each hostile provider."""
    token = provider.access_token(scope="users:read", exp=int(NOW) + 3600)

    @aiohttp_require_token(["users:read"])
    async def users(request: web.Request) -> web.Response:
        return web.json_response({"caller": request[VERIFIED_TOKEN].subject})

    for case in [None, *INTEGRATION_CASES]:
        if case is not None:
            provider.answer(DISCOVERY_PATH, 200, HOSTILE_DISCOVERY[case](provider.issuer))
        app = web.Application()
        app.cleanup_ctx.append(intelliauth_context(provider.issuer, audience=AUDIENCE, clock=clock))
        app.router.add_get("/users", users)
        async with TestClient(TestServer(app)) as api:
            response = await api.get("/users", headers={"Authorization": f"Bearer {token}"})
            body = await response.json()
        if case is None:
            assert response.status == 200, body
            continue
        assert response.status == 503, (case, body)
        assert "WWW-Authenticate" not in response.headers
        assert body["error"] == "temporarily_unavailable"
