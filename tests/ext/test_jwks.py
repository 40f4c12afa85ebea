"""Tests for intelliauth_ext._jwks: fetching and caching a key set, and picking a key from it.

The key set is served by the respx provider of oidc_fakes.py; the clock only moves when a
test advances it. How the verifier uses the cache is in test_verification.py.
"""

from __future__ import annotations

import anyio
import httpx
import pytest
import respx
from joserfc.errors import SecurityWarning
from joserfc.jwk import Key, RSAKey

from intelliauth_ext._errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    InternalServerError,
    NotFoundError,
    TokenValidationError,
)
from intelliauth_ext._jwks import DEFAULT_JWKS_REFRESH_INTERVAL, JwksCache, parse_jwks

from .oidc_fakes import EC_KEY, ISSUER, RSA_KEY, FakeClock, FakeProvider

pytestmark = pytest.mark.anyio

JWKS_URI = f"{ISSUER}/jwks"
RSA_KEY_2 = RSAKey.generate_key(2048, {"kid": "rsa-2", "use": "sig", "alg": "RS256"})


def make_cache(
    clock: FakeClock,
    *,
    http_client: httpx.AsyncClient | None = None,
    min_refresh_interval: float = DEFAULT_JWKS_REFRESH_INTERVAL,
) -> JwksCache:
    """A cache of the provider's key set on the test's clock."""
    return JwksCache(
        JWKS_URI,
        http_client=http_client,
        min_refresh_interval=min_refresh_interval,
        clock=clock,
    )


def public(key: Key, **parameters: str) -> Key:
    """The public half of ``key`` with its parameters (kid, use, alg) changed."""
    return RSAKey.import_key({**key.as_dict(private=False), **parameters})


async def key_error(cache: JwksCache, *, kid: str | None, alg: str = "RS256") -> str:
    """The message of the TokenValidationError (check ``key``) that find_key raises."""
    with pytest.raises(TokenValidationError) as info:
        await cache.find_key(kid=kid, alg=alg)
    assert info.value.check == "key"
    return str(info.value)


# -- fetching and caching ---------------------------------------------------------------


async def test_the_key_set_is_fetched_on_first_use_and_kept(
    provider: FakeProvider, clock: FakeClock
) -> None:
    """The first find_key fetches the set (asking for a JWK set); later ones use the cache."""
    cache = make_cache(clock)
    assert repr(cache) == f"JwksCache({JWKS_URI!r}, not fetched)"
    assert provider.jwks.call_count == 0
    rsa = await cache.find_key(kid="rsa-1", alg="RS256")
    ec = await cache.find_key(kid="ec-1", alg="ES256")
    assert (rsa.kid, ec.kid) == ("rsa-1", "ec-1")
    assert provider.jwks.call_count == 1
    assert cache.fetch_count == 1
    assert repr(cache) == f"JwksCache({JWKS_URI!r}, 2 keys)"
    accept = provider.jwks.calls.last.request.headers["accept"]
    assert accept == "application/jwk-set+json, application/json"


async def test_concurrent_first_uses_share_one_fetch(
    provider: FakeProvider, clock: FakeClock
) -> None:
    """Twenty tasks asking for a key before the set is cached cause one fetch."""
    cache = make_cache(clock)
    found: list[Key] = []

    async def find() -> None:
        found.append(await cache.find_key(kid="rsa-1", alg="RS256"))

    async with anyio.create_task_group() as group:
        for _ in range(20):
            group.start_soon(find)
    assert len(found) == 20
    assert provider.jwks.call_count == 1


async def test_a_given_http_client_is_used_and_left_open(
    provider: FakeProvider, clock: FakeClock
) -> None:
    """http_client= is the client that fetches; the cache never closes it."""
    async with httpx.AsyncClient(headers={"X-Caller": "test"}) as http:
        cache = make_cache(clock, http_client=http)
        await cache.find_key(kid="rsa-1", alg="RS256")
        assert not http.is_closed
    assert provider.jwks.calls.last.request.headers["x-caller"] == "test"


# -- unknown kid, rotation and the re-fetch limit --------------------------------------


async def test_an_unknown_kid_refetches_once_then_fails(
    provider: FakeProvider, clock: FakeClock
) -> None:
    """A kid in neither the cached nor the re-fetched set: one re-fetch, then check "key"."""
    cache = make_cache(clock)
    await cache.find_key(kid="rsa-1", alg="RS256")
    clock.advance(DEFAULT_JWKS_REFRESH_INTERVAL)
    message = await key_error(cache, kid="nope")
    assert "kid 'nope'" in message
    assert provider.jwks.call_count == 2
    assert cache.fetch_count == 2


async def test_a_rotated_key_is_found_after_one_refetch(
    provider: FakeProvider, clock: FakeClock
) -> None:
    """After the provider rotates, the new kid is found by one re-fetch; the old one is gone."""
    cache = make_cache(clock)
    await cache.find_key(kid="rsa-1", alg="RS256")
    clock.advance(61)
    provider.published = [RSA_KEY_2]
    assert (await cache.find_key(kid="rsa-2", alg="RS256")).kid == "rsa-2"
    assert provider.jwks.call_count == 2
    await key_error(cache, kid="rsa-1")  # within the interval: not fetched again
    assert provider.jwks.call_count == 2


async def test_refetches_for_unknown_kids_are_rate_limited(
    provider: FakeProvider, clock: FakeClock
) -> None:
    """Unknown kids re-fetch at most once per min_refresh_interval, counted from the last fetch."""
    cache = make_cache(clock, min_refresh_interval=10.0)
    await cache.find_key(kid="rsa-1", alg="RS256")
    for number in range(20):
        await key_error(cache, kid=f"bogus-{number}")
    assert provider.jwks.call_count == 1  # the first fetch was just now
    clock.advance(9.9)
    await key_error(cache, kid="bogus")
    assert provider.jwks.call_count == 1
    clock.advance(0.1)
    for number in range(20):
        await key_error(cache, kid=f"bogus-{number}")
    assert provider.jwks.call_count == 2
    clock.advance(10)
    await key_error(cache, kid="bogus")
    assert provider.jwks.call_count == 3


async def test_concurrent_unknown_kids_cause_one_refetch(
    provider: FakeProvider, clock: FakeClock
) -> None:
    """Twenty tasks with a newly rotated kid share one re-fetch, and all find the key."""
    cache = make_cache(clock)
    await cache.find_key(kid="rsa-1", alg="RS256")
    clock.advance(61)
    provider.published = [RSA_KEY, RSA_KEY_2]
    found: list[Key] = []

    async def find() -> None:
        found.append(await cache.find_key(kid="rsa-2", alg="RS256"))

    async with anyio.create_task_group() as group:
        for _ in range(20):
            group.start_soon(find)
    assert [key.kid for key in found] == ["rsa-2"] * 20
    assert provider.jwks.call_count == 2


async def test_a_failed_refetch_keeps_the_cached_set_and_counts_against_the_limit(
    provider: FakeProvider, clock: FakeClock
) -> None:
    """A re-fetch answering 503 raises; the cached keys still work and no retry comes early."""
    cache = make_cache(clock)
    await cache.find_key(kid="rsa-1", alg="RS256")
    clock.advance(61)
    serving = provider.jwks.side_effect
    provider.jwks.mock(side_effect=None, return_value=httpx.Response(503))
    with pytest.raises(InternalServerError):
        await cache.find_key(kid="rsa-2", alg="RS256")
    assert (await cache.find_key(kid="rsa-1", alg="RS256")).kid == "rsa-1"
    await key_error(cache, kid="rsa-2")  # the failed attempt started the interval
    assert provider.jwks.call_count == 2
    provider.jwks.mock(side_effect=serving)
    provider.published = [RSA_KEY, RSA_KEY_2]
    clock.advance(61)
    assert (await cache.find_key(kid="rsa-2", alg="RS256")).kid == "rsa-2"
    assert (provider.jwks.call_count, cache.fetch_count) == (3, 2)


# -- failures -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "error_class"),
    [
        (httpx.Response(404, json={"error": "not_found"}), NotFoundError),
        (httpx.Response(500), InternalServerError),
        (httpx.Response(503, text="<html>down</html>"), InternalServerError),
        (httpx.ConnectError("refused"), APIConnectionError),
        (httpx.ReadTimeout("slow"), APITimeoutError),
    ],
)
async def test_a_key_set_that_can_not_be_fetched_raises_and_caches_nothing(
    provider: FakeProvider,
    clock: FakeClock,
    answer: httpx.Response | Exception,
    error_class: type[Exception],
) -> None:
    """An error status or a transport failure raises the SDK's error, remembered for 1 s."""
    serving = provider.jwks.side_effect
    provider.jwks.mock(side_effect=[answer])
    cache = make_cache(clock)
    with pytest.raises(error_class) as info:
        await cache.find_key(kid="rsa-1", alg="RS256")
    assert not isinstance(info.value, TokenValidationError)
    if isinstance(answer, httpx.Response):
        assert isinstance(info.value, APIStatusError)
        assert info.value.status_code == answer.status_code
    assert repr(cache).endswith("not fetched)")
    provider.jwks.mock(side_effect=serving)
    with pytest.raises(error_class) as again:  # within the backoff: no request
        await cache.find_key(kid="rsa-1", alg="RS256")
    assert again.value is not info.value
    assert str(again.value) == str(info.value)
    assert provider.jwks.call_count == 1
    clock.advance(1.0)
    assert (await cache.find_key(kid="rsa-1", alg="RS256")).kid == "rsa-1"
    assert (cache.fetch_count, cache.attempt_count) == (1, 2)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"not json", id="not-json"),
        pytest.param(b'{"keys": "\xff\xfe"}', id="invalid-utf8"),
        pytest.param(b"[]", id="array"),
        pytest.param(b'{"keys": "x"}', id="keys-not-a-list"),
        pytest.param(b'{"keys": []}', id="no-keys"),
        pytest.param(b'{"keys": [{"kty": "XX"}, "junk", {"kty": "RSA", "n": "!!"}]}', id="broken"),
        pytest.param(b'{"keys": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", id="deep"),
    ],
)
async def test_a_document_without_usable_keys_is_a_validation_error(
    mock: respx.MockRouter, clock: FakeClock, body: bytes
) -> None:
    """A 200 that is no JWK set with a usable key raises APIResponseValidationError, naming it."""
    mock.get(JWKS_URI).respond(200, content=body)
    cache = make_cache(clock)
    with pytest.raises(APIResponseValidationError, match="key set at 'https://idp"):
        await cache.find_key(kid="rsa-1", alg="RS256")
    assert repr(cache).endswith("not fetched)")


# -- choosing a key -------------------------------------------------------------------


async def test_without_kid_the_only_fitting_key_is_used(
    provider: FakeProvider, clock: FakeClock
) -> None:
    """No kid: the one key of the token's algorithm is used (the EC key does not fit RS256)."""
    cache = make_cache(clock)
    assert (await cache.find_key(kid=None, alg="RS256")).kid == "rsa-1"
    assert (await cache.find_key(kid=None, alg="ES256")).kid == "ec-1"


async def test_without_kid_several_fitting_keys_are_refused(
    provider: FakeProvider, clock: FakeClock
) -> None:
    """No kid and two RS256 keys: check "key" (OIDC Core 10.1), never a guess."""
    provider.published = [RSA_KEY, RSA_KEY_2, EC_KEY]
    cache = make_cache(clock)
    message = await key_error(cache, kid=None)
    assert "no kid and the key set holds 2 RS256 keys" in message


@pytest.mark.parametrize(
    ("published", "alg"),
    [
        pytest.param([public(RSA_KEY, use="enc")], "RS256", id="encryption-key"),
        pytest.param([public(RSA_KEY, alg="RS384")], "RS256", id="other-alg"),
        pytest.param([EC_KEY], "RS256", id="other-key-type"),
        pytest.param([RSA_KEY], "XX256", id="unknown-alg"),
    ],
)
async def test_only_signing_keys_for_the_algorithm_match(
    provider: FakeProvider, clock: FakeClock, published: list[Key], alg: str
) -> None:
    """A key for encryption, for another alg or of another type is not the token's key."""
    provider.published = published
    cache = make_cache(clock)
    kid = published[0].kid
    message = await key_error(cache, kid=kid, alg=alg)
    assert f"no {alg} signing key for kid {kid!r}" in message


async def test_a_key_without_use_or_alg_fits(provider: FakeProvider, clock: FakeClock) -> None:
    """use and alg are optional in a JWK (RFC 7517 4.2, 4.4): a key without them is usable."""
    fields = {
        name: value
        for name, value in RSA_KEY.as_dict(private=False).items()
        if name not in ("alg", "use", "kid")
    }
    bare = RSAKey.import_key({**fields, "kid": "bare"})
    assert (bare.alg, bare.get("use")) == (None, None)
    provider.published = [bare]
    cache = make_cache(clock)
    assert (await cache.find_key(kid="bare", alg="RS256")).kid == "bare"
    assert (await cache.find_key(kid="bare", alg="PS256")).kid == "bare"


# -- parse_jwks -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "document", [{}, {"keys": None}, {"keys": "x"}, {"keys": {"kty": "RSA"}}, {"keys": []}]
)
def test_parse_jwks_without_a_key_list_is_empty(document: dict[str, object]) -> None:
    """A document whose ``keys`` is missing or not a list has no keys."""
    assert parse_jwks(document) == []


def test_parse_jwks_keeps_the_good_keys_in_order() -> None:
    """Entries that are not objects, of an unknown type or malformed are skipped (RFC 7517 5)."""
    document = {
        "keys": [
            "junk",
            RSA_KEY.as_dict(private=False),
            {"kty": "PQ"},
            {"kty": "RSA", "n": "!!"},
            {"kty": "EC"},
            EC_KEY.as_dict(private=False),
        ]
    }
    assert [key.kid for key in parse_jwks(document)] == ["rsa-1", "ec-1"]


def test_symmetric_and_short_rsa_keys_are_skipped_without_a_warning() -> None:
    """An oct key and a 1024-bit RSA key are never used: skipped before joserfc warns.

    Warnings are errors in this suite, as in many apps' test runs: a SecurityWarning from
    importing them would escape from the verifier.
    """
    with pytest.warns(SecurityWarning):
        short = RSAKey.generate_key(1024, {"kid": "short"})
    document = {
        "keys": [
            short.as_dict(private=False),
            {"kty": "oct", "k": "AA", "kid": "secret"},
            {"kty": "RSA", "n": "é", "e": "AQAB"},
            RSA_KEY.as_dict(private=False),
        ]
    }
    assert [key.kid for key in parse_jwks(document)] == ["rsa-1"]
