"""The cache of verified access tokens (``TokenVerifier(verified_cache_size=...)``).

A hit skips the parsing and the signature check, nothing else: every check that depends
on the call or on the time runs again; a token is never accepted past ``exp`` (plus
leeway), nor after the key set it verified under has been replaced (a key rotated out
stops verifying cached tokens when it stops verifying new ones). Signature checks are
counted by wrapping joserfc's ``validate_compact`` where ``_verification`` calls it.
"""

from __future__ import annotations

from typing import Any

import pytest
from joserfc.jwk import RSAKey

import intelliauth_ext._verification as verification
from intelliauth_ext._errors import TokenValidationError
from intelliauth_ext._verification import (
    DEFAULT_LEEWAY,
    MAX_CACHED_TOKEN_LENGTH,
    TokenVerifier,
)

from .oidc_fakes import CLIENT_ID, ISSUER, NOW, FakeClock, FakeProvider
from .oidc_fakes import RSA_KEY as _RSA_KEY

pytestmark = pytest.mark.anyio

API_AUDIENCE = "https://api.example.test"
_ROTATED_KEY = RSAKey.generate_key(2048, {"kid": "rsa-2", "use": "sig", "alg": "RS256"})


@pytest.fixture
def signature_checks(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every signature check the verifier makes, in order."""
    checked: list[object] = []
    original = verification.validate_compact

    def counting(*args: Any, **kwargs: Any) -> bool:
        checked.append(args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(verification, "validate_compact", counting)
    return checked


def _claims(provider: FakeProvider, **overrides: Any) -> dict[str, Any]:
    claims = provider.claims(aud=API_AUDIENCE, nonce=None, scope="users:read audit:read")
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def _token(provider: FakeProvider, **overrides: Any) -> str:
    return provider.sign(_claims(provider, **overrides), typ="at+jwt")


async def _fails(check: str, coroutine: Any) -> TokenValidationError:
    with pytest.raises(TokenValidationError) as info:
        await coroutine
    assert info.value.check == check, info.value
    return info.value


async def test_the_same_token_is_checked_for_its_signature_once(
    provider: FakeProvider, clock: FakeClock, signature_checks: list[object]
) -> None:
    """Ten requests with one bearer token: one signature check, ten verified tokens."""
    verifier = TokenVerifier(ISSUER, clock=clock)
    token = _token(provider)
    results = [
        await verifier.verify_access_token(
            token, audience=API_AUDIENCE, required_scopes=["users:read"]
        )
        for _ in range(10)
    ]
    assert len(signature_checks) == 1
    assert {result.subject for result in results} == {"user-1"}
    assert all(result.claims == results[0].claims for result in results)
    assert provider.jwks.call_count == 1


async def test_a_cached_token_is_refused_once_it_expires(
    provider: FakeProvider, clock: FakeClock, signature_checks: list[object]
) -> None:
    """Accepted up to exp + leeway by the clock of each call, refused after, and forgotten."""
    verifier = TokenVerifier(ISSUER, clock=clock)
    token = _token(provider, exp=int(NOW) + 60)
    await verifier.verify_access_token(token, audience=API_AUDIENCE)
    clock.advance(60 + DEFAULT_LEEWAY)  # exactly at exp + leeway: still accepted
    await verifier.verify_access_token(token, audience=API_AUDIENCE)
    assert len(signature_checks) == 1
    clock.advance(1)
    error = await _fails("expiry", verifier.verify_access_token(token, audience=API_AUDIENCE))
    assert "expired" in error.message
    await _fails("expiry", verifier.verify_access_token(token, audience=API_AUDIENCE))
    assert len(signature_checks) == 2  # the entry was dropped: verified (and refused) again


async def test_a_key_rotated_out_stops_verifying_cached_tokens(
    provider: FakeProvider, clock: FakeClock, signature_checks: list[object]
) -> None:
    """Once a re-fetched key set lacks the key, tokens cached under it are refused too."""
    verifier = TokenVerifier(ISSUER, clock=clock)
    old = _token(provider, exp=int(NOW) + 7200)
    await verifier.verify_access_token(old, audience=API_AUDIENCE)

    # The provider rotates: only the new key is published. Until the verifier learns of
    # it, the old key verifies new tokens and cached ones alike.
    provider.published = [_ROTATED_KEY]
    await verifier.verify_access_token(old, audience=API_AUDIENCE)
    assert provider.jwks.call_count == 1

    clock.advance(61)  # the re-fetch limit has passed
    new = provider.sign(_claims(provider), key=_ROTATED_KEY, kid="rsa-2", typ="at+jwt")
    await verifier.verify_access_token(new, audience=API_AUDIENCE)  # unknown kid: re-fetch
    assert provider.jwks.call_count == 2
    error = await _fails("key", verifier.verify_access_token(old, audience=API_AUDIENCE))
    assert "rsa-1" in error.message
    assert len(signature_checks) == 2  # old once, new once; old's cached entry was not used


async def test_a_cached_token_verifies_again_after_a_refetch_that_keeps_its_key(
    provider: FakeProvider, clock: FakeClock, signature_checks: list[object]
) -> None:
    """A new key set verifies cached tokens from scratch: still accepted if the key stayed."""
    verifier = TokenVerifier(ISSUER, clock=clock)
    token = _token(provider, exp=int(NOW) + 7200)
    await verifier.verify_access_token(token, audience=API_AUDIENCE)
    provider.published = [_RSA_KEY, _ROTATED_KEY]
    clock.advance(61)
    new = provider.sign(_claims(provider), key=_ROTATED_KEY, kid="rsa-2", typ="at+jwt")
    await verifier.verify_access_token(new, audience=API_AUDIENCE)
    await verifier.verify_access_token(token, audience=API_AUDIENCE)
    await verifier.verify_access_token(token, audience=API_AUDIENCE)
    assert len(signature_checks) == 3


@pytest.mark.parametrize(
    ("check", "call"),
    [
        ("audience", {"audience": "https://other.example.test"}),
        ("scope", {"audience": API_AUDIENCE, "required_scopes": ["users:write"]}),
        ("type", {"audience": API_AUDIENCE, "require_at_jwt_type": True}),
    ],
)
async def test_every_check_of_the_call_runs_on_a_hit(
    provider: FakeProvider,
    clock: FakeClock,
    signature_checks: list[object],
    check: str,
    call: dict[str, Any],
) -> None:
    """A cached token is refused for another audience, a missing scope or the wrong typ."""
    verifier = TokenVerifier(ISSUER, clock=clock)
    token = provider.sign(_claims(provider), typ="JWT")
    await verifier.verify_access_token(token, audience=API_AUDIENCE)
    await _fails(check, verifier.verify_access_token(token, **call))
    assert len(signature_checks) == 1


async def test_what_the_caller_does_with_a_result_can_not_change_a_hit(
    provider: FakeProvider, clock: FakeClock
) -> None:
    """Claims and header returned are the caller's own: changing them changes no later check."""
    verifier = TokenVerifier(ISSUER, clock=clock)
    token = _token(provider)
    first = await verifier.verify_access_token(token, audience=API_AUDIENCE)
    first.claims["scope"] = "admin"  # type: ignore[index]
    first.claims["aud"] = "https://other.example.test"  # type: ignore[index]
    first.header["typ"] = "JWT"  # type: ignore[index]
    second = await verifier.verify_access_token(
        token, audience=API_AUDIENCE, required_scopes=["users:read"], require_at_jwt_type=True
    )
    await _fails(
        "scope",
        verifier.verify_access_token(token, audience=API_AUDIENCE, required_scopes=["admin"]),
    )
    assert second.claims["aud"] == API_AUDIENCE
    assert second.claims is not first.claims


async def test_the_cache_is_bounded_oldest_first(
    provider: FakeProvider, clock: FakeClock, signature_checks: list[object]
) -> None:
    """With room for two tokens, a third pushes the first out; it is verified afresh."""
    verifier = TokenVerifier(ISSUER, clock=clock, verified_cache_size=2)
    tokens = [_token(provider, sub=f"user-{number}") for number in range(3)]
    for token in tokens:
        await verifier.verify_access_token(token, audience=API_AUDIENCE)
    await verifier.verify_access_token(tokens[2], audience=API_AUDIENCE)
    await verifier.verify_access_token(tokens[1], audience=API_AUDIENCE)
    assert len(signature_checks) == 3
    assert (await verifier.verify_access_token(tokens[0], audience=API_AUDIENCE)).subject == (
        "user-0"
    )
    assert len(signature_checks) == 4


async def test_no_cache_when_its_size_is_zero(
    provider: FakeProvider, clock: FakeClock, signature_checks: list[object]
) -> None:
    """verified_cache_size=0 checks every signature every time."""
    verifier = TokenVerifier(ISSUER, clock=clock, verified_cache_size=0)
    token = _token(provider)
    for _ in range(3):
        await verifier.verify_access_token(token, audience=API_AUDIENCE)
    assert len(signature_checks) == 3


def test_a_negative_size_is_refused() -> None:
    """A negative cache size is a mistake, not "no cache"."""
    with pytest.raises(ValueError, match="verified_cache_size"):
        TokenVerifier(ISSUER, verified_cache_size=-1)


async def test_id_tokens_and_long_tokens_are_not_cached(
    provider: FakeProvider, clock: FakeClock, signature_checks: list[object]
) -> None:
    """ID tokens are verified once per sign-in anyway; over-long tokens would fill memory."""
    verifier = TokenVerifier(ISSUER, clock=clock)
    id_token = provider.id_token()
    for _ in range(2):
        await verifier.verify_id_token(id_token, audience=CLIENT_ID)
    long_token = _token(provider, padding="x" * MAX_CACHED_TOKEN_LENGTH)
    for _ in range(2):
        await verifier.verify_access_token(long_token, audience=API_AUDIENCE)
    assert len(signature_checks) == 4


async def test_a_failed_token_is_not_cached(
    provider: FakeProvider, clock: FakeClock, signature_checks: list[object]
) -> None:
    """A token refused (here: not yet valid) is verified in full on its next use."""
    verifier = TokenVerifier(ISSUER, clock=clock)
    token = _token(provider, nbf=int(NOW) + 300)
    await _fails("not_before", verifier.verify_access_token(token, audience=API_AUDIENCE))
    clock.advance(300)
    await verifier.verify_access_token(token, audience=API_AUDIENCE)
    await verifier.verify_access_token(token, audience=API_AUDIENCE)
    assert len(signature_checks) == 2
