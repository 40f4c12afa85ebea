"""JWT verification (``_verification.py``) against a respx provider, and the key set cache.

Keys are generated locally with joserfc; every verification failure names its check.
``FakeProvider`` and ``FakeClock`` (oidc_fakes.py) are shared with test_flow.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import anyio
import httpx
import pytest
import respx
from joserfc import jws
from joserfc.jwk import RSAKey

from intelliauth_ext._errors import (
    APIConnectionError,
    APIResponseValidationError,
    InsecureURLError,
    InternalServerError,
    TokenValidationError,
)
from intelliauth_ext._jwks import JwksCache, parse_jwks
from intelliauth_ext._verification import TokenVerifier, VerifiedToken

from .oidc_fakes import CLIENT_ID, ISSUER, NOW, FakeClock, FakeProvider
from .oidc_fakes import EC_KEY as _EC_KEY
from .oidc_fakes import RSA_KEY as _RSA_KEY

pytestmark = pytest.mark.anyio

API_AUDIENCE = "https://api.example.test"

_RSA_KEY_2 = RSAKey.generate_key(2048, {"kid": "rsa-2", "use": "sig", "alg": "RS256"})
_OTHER_RSA_KEY = RSAKey.generate_key(2048, {"kid": "rsa-1"})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture
def verifier(provider: FakeProvider, clock: FakeClock) -> TokenVerifier:
    """A verifier for the fake provider, discovering its metadata."""
    return TokenVerifier(ISSUER, clock=clock)


async def _fails(check: str, coroutine: Any) -> TokenValidationError:
    with pytest.raises(TokenValidationError) as info:
        await coroutine
    assert info.value.check == check, info.value
    return info.value


# --- discovery, as the verifier uses it ------------------------------------------------


async def test_discovery_is_fetched_once(provider: FakeProvider, verifier: TokenVerifier) -> None:
    """Many verifications, concurrent or not, fetch discovery and the JWKS once."""
    token = provider.id_token()

    async with anyio.create_task_group() as group:
        for _ in range(20):
            group.start_soon(lambda: verifier.verify_id_token(token, audience=CLIENT_ID))
    await verifier.verify_id_token(token, audience=CLIENT_ID)
    assert provider.discovery.call_count == 1
    assert provider.jwks.call_count == 1


async def test_metadata_given_directly_skips_discovery(
    provider: FakeProvider, clock: FakeClock
) -> None:
    """A verifier built from a metadata dict never fetches the discovery document."""
    verifier = TokenVerifier(provider.metadata, clock=clock)
    await verifier.verify_id_token(provider.id_token(), audience=CLIENT_ID)
    assert provider.discovery.call_count == 0


def test_plain_http_issuer_is_refused() -> None:
    """A non-loopback http issuer is refused before any request."""
    with pytest.raises(InsecureURLError):
        TokenVerifier("http://idp.example.test")


def test_loopback_http_issuer_is_allowed() -> None:
    """http on loopback is allowed for local providers."""
    assert "127.0.0.1" in repr(TokenVerifier("http://127.0.0.1:8080"))


async def test_insecure_jwks_uri_is_refused(provider: FakeProvider, clock: FakeClock) -> None:
    """Metadata pointing keys at plain http is refused."""
    provider.metadata["jwks_uri"] = "http://idp.example.test/jwks"
    verifier = TokenVerifier(provider.metadata, clock=clock)
    with pytest.raises(InsecureURLError):
        await verifier.verify_id_token(provider.id_token(), audience=CLIENT_ID)


async def test_given_metadata_without_a_key_set_fails_the_key_check(
    provider: FakeProvider, clock: FakeClock
) -> None:
    """Metadata the app gave with no jwks_uri: check "key" for every token, no ValueError."""
    del provider.metadata["jwks_uri"]
    verifier = TokenVerifier(provider.metadata, clock=clock)
    error = await _fails("key", verifier.verify_id_token(provider.id_token(), audience=CLIENT_ID))
    assert "has no jwks_uri" in str(error)
    assert provider.jwks.call_count == 0


# --- a valid token ---------------------------------------------------------------------


async def test_valid_id_token(provider: FakeProvider, verifier: TokenVerifier) -> None:
    """A well-formed ID token verifies and its claims come back."""
    verified = await verifier.verify_id_token(
        provider.id_token(), audience=CLIENT_ID, nonce="nonce-1"
    )
    assert isinstance(verified, VerifiedToken)
    assert verified.subject == "user-1"
    assert verified["nonce"] == "nonce-1"
    assert verified.expires_at == NOW + 300


async def test_es256_token_verifies(provider: FakeProvider, verifier: TokenVerifier) -> None:
    """An ES256 token verifies with the EC key of the set."""
    token = provider.sign(provider.claims(), key=_EC_KEY, alg="ES256", kid="ec-1")
    assert (await verifier.verify_id_token(token, audience=CLIENT_ID)).subject == "user-1"


async def test_token_without_kid_uses_the_only_fitting_key(
    provider: FakeProvider, verifier: TokenVerifier
) -> None:
    """Without a kid, the one key that fits the algorithm is used."""
    token = provider.sign(provider.claims(), kid=None)
    assert (await verifier.verify_id_token(token, audience=CLIENT_ID)).subject == "user-1"


async def test_token_without_kid_and_several_keys_is_refused(
    provider: FakeProvider, verifier: TokenVerifier
) -> None:
    """Without a kid and with two RS256 keys, the token is refused (OIDC Core 10.1)."""
    provider.published = [_RSA_KEY, _RSA_KEY_2]
    await _fails(
        "key",
        verifier.verify_id_token(provider.sign(provider.claims(), kid=None), audience=CLIENT_ID),
    )


async def test_audience_in_list_with_azp(provider: FakeProvider, verifier: TokenVerifier) -> None:
    """aud as a list containing the client id, with azp naming it, verifies."""
    token = provider.id_token(aud=[CLIENT_ID, "other"], azp=CLIENT_ID)
    assert (await verifier.verify_id_token(token, audience=CLIENT_ID)).subject == "user-1"


async def test_leeway_tolerates_small_skew(provider: FakeProvider, verifier: TokenVerifier) -> None:
    """A token expired 10 s ago, or issued 10 s in the future, passes with the default leeway."""
    token = provider.id_token(exp=int(NOW) - 10, iat=int(NOW) + 10, nbf=int(NOW) + 10)
    await verifier.verify_id_token(token, audience=CLIENT_ID)


# --- every failure names its check -----------------------------------------------------


async def test_bad_signature(provider: FakeProvider, verifier: TokenVerifier) -> None:
    """A token signed by another key under a published kid fails the signature check."""
    token = provider.sign(provider.claims(), key=_OTHER_RSA_KEY)
    await _fails("signature", verifier.verify_id_token(token, audience=CLIENT_ID))


async def test_tampered_payload(provider: FakeProvider, verifier: TokenVerifier) -> None:
    """Changing one claim after signing fails the signature check."""
    header, _, signature = provider.id_token().split(".")
    forged = _b64(json.dumps(provider.claims(sub="admin")).encode())
    await _fails(
        "signature", verifier.verify_id_token(f"{header}.{forged}.{signature}", audience=CLIENT_ID)
    )


async def test_alg_none_is_refused(provider: FakeProvider, verifier: TokenVerifier) -> None:
    """An unsigned token (alg none) fails the algorithm check."""
    header = _b64(json.dumps({"alg": "none", "kid": "rsa-1"}).encode())
    payload = _b64(json.dumps(provider.claims()).encode())
    await _fails("algorithm", verifier.verify_id_token(f"{header}.{payload}.", audience=CLIENT_ID))


async def test_hs256_with_public_key_as_secret_is_refused(
    provider: FakeProvider, verifier: TokenVerifier
) -> None:
    """HS256 keyed with the provider's public key (the key-confusion attack) is refused."""
    public_pem = _RSA_KEY.as_pem(private=False)
    header = _b64(json.dumps({"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(provider.claims()).encode())
    mac = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    error = await _fails(
        "algorithm", verifier.verify_id_token(f"{header}.{payload}.{_b64(mac)}", audience=CLIENT_ID)
    )
    assert "HMAC" in error.message


async def test_disallowed_algorithm(provider: FakeProvider, verifier: TokenVerifier) -> None:
    """PS256 is refused when the metadata allows only RS256 and ES256."""
    token = provider.sign(provider.claims(), key=_OTHER_RSA_KEY, alg="PS256")
    await _fails("algorithm", verifier.verify_id_token(token, audience=CLIENT_ID))


async def test_explicit_allow_list_overrides_metadata(
    provider: FakeProvider, clock: FakeClock
) -> None:
    """With algorithms=["ES256"], an RS256 token is refused although the metadata lists it."""
    verifier = TokenVerifier(ISSUER, algorithms=["ES256"], clock=clock)
    await _fails("algorithm", verifier.verify_id_token(provider.id_token(), audience=CLIENT_ID))


@pytest.mark.parametrize("algorithms", [["none"], ["HS256"], ["RS256", "HS512"], []])
def test_unsafe_allow_lists_are_refused(algorithms: list[str]) -> None:
    """An allow-list with none, an HMAC algorithm, or nothing is a ValueError."""
    with pytest.raises(ValueError, match="algorithm"):
        TokenVerifier(ISSUER, algorithms=algorithms)


async def test_wrong_issuer(provider: FakeProvider, verifier: TokenVerifier) -> None:
    """A token from another issuer fails the issuer check."""
    token = provider.id_token(iss="https://evil.example.test")
    await _fails("issuer", verifier.verify_id_token(token, audience=CLIENT_ID))


async def test_issuer_compared_exactly(provider: FakeProvider, verifier: TokenVerifier) -> None:
    """iss with a trailing slash the metadata does not have is another issuer."""
    await _fails(
        "issuer", verifier.verify_id_token(provider.id_token(iss=ISSUER + "/"), audience=CLIENT_ID)
    )


async def test_wrong_audience(provider: FakeProvider, verifier: TokenVerifier) -> None:
    """A token for another client fails the audience check."""
    await _fails(
        "audience", verifier.verify_id_token(provider.id_token(aud="other"), audience=CLIENT_ID)
    )


async def test_missing_audience(provider: FakeProvider, verifier: TokenVerifier) -> None:
    """A token without aud fails the audience check."""
    await _fails(
        "audience", verifier.verify_id_token(provider.id_token(aud=None), audience=CLIENT_ID)
    )


async def test_several_audiences_without_azp(
    provider: FakeProvider, verifier: TokenVerifier
) -> None:
    """An ID token for several audiences must name the client in azp."""
    token = provider.id_token(aud=[CLIENT_ID, "other"])
    await _fails("audience", verifier.verify_id_token(token, audience=CLIENT_ID))


async def test_azp_of_another_client(provider: FakeProvider, verifier: TokenVerifier) -> None:
    """An ID token whose azp is another client fails the audience check."""
    token = provider.id_token(aud=[CLIENT_ID, "other"], azp="other")
    await _fails("audience", verifier.verify_id_token(token, audience=CLIENT_ID))


async def test_expired(provider: FakeProvider, verifier: TokenVerifier) -> None:
    """A token expired beyond the leeway fails the expiry check."""
    await _fails(
        "expiry", verifier.verify_id_token(provider.id_token(exp=int(NOW) - 31), audience=CLIENT_ID)
    )


async def test_expires_as_clock_moves(
    provider: FakeProvider, verifier: TokenVerifier, clock: FakeClock
) -> None:
    """The same token verifies now and fails once the clock passes exp plus leeway."""
    token = provider.id_token()
    await verifier.verify_id_token(token, audience=CLIENT_ID)
    clock.advance(331)
    await _fails("expiry", verifier.verify_id_token(token, audience=CLIENT_ID))


@pytest.mark.parametrize("exp", [None, "soon", True, float("inf")])
async def test_missing_or_malformed_exp(
    provider: FakeProvider, verifier: TokenVerifier, exp: Any
) -> None:
    """A token without a finite numeric exp fails the expiry check."""
    claims = provider.claims(exp=exp)
    await _fails("expiry", verifier.verify_id_token(provider.sign(claims), audience=CLIENT_ID))


async def test_not_yet_valid(provider: FakeProvider, verifier: TokenVerifier) -> None:
    """A token whose nbf is beyond the leeway fails the not_before check."""
    await _fails(
        "not_before",
        verifier.verify_id_token(provider.id_token(nbf=int(NOW) + 120), audience=CLIENT_ID),
    )


async def test_issued_in_the_future(provider: FakeProvider, verifier: TokenVerifier) -> None:
    """An ID token issued two minutes from now fails the issued_at check."""
    await _fails(
        "issued_at",
        verifier.verify_id_token(provider.id_token(iat=int(NOW) + 120), audience=CLIENT_ID),
    )


async def test_id_token_without_iat(provider: FakeProvider, verifier: TokenVerifier) -> None:
    """An ID token without iat fails the issued_at check (OIDC Core 2)."""
    await _fails(
        "issued_at", verifier.verify_id_token(provider.id_token(iat=None), audience=CLIENT_ID)
    )


async def test_custom_leeway(provider: FakeProvider, verifier: TokenVerifier) -> None:
    """leeway=0 refuses a token expired one second ago."""
    token = provider.id_token(exp=int(NOW) - 1)
    await _fails("expiry", verifier.verify_id_token(token, audience=CLIENT_ID, leeway=0))


async def test_nonce_mismatch(provider: FakeProvider, verifier: TokenVerifier) -> None:
    """An ID token with another nonce fails the nonce check."""
    await _fails(
        "nonce", verifier.verify_id_token(provider.id_token(), audience=CLIENT_ID, nonce="nonce-2")
    )


async def test_nonce_missing(provider: FakeProvider, verifier: TokenVerifier) -> None:
    """An ID token without a nonce fails when one was sent."""
    token = provider.id_token(nonce=None)
    await _fails("nonce", verifier.verify_id_token(token, audience=CLIENT_ID, nonce="nonce-1"))


async def test_id_token_without_sub(provider: FakeProvider, verifier: TokenVerifier) -> None:
    """An ID token without sub is malformed."""
    await _fails(
        "format", verifier.verify_id_token(provider.id_token(sub=None), audience=CLIENT_ID)
    )


async def test_access_token_is_not_an_id_token(
    provider: FakeProvider, verifier: TokenVerifier
) -> None:
    """A token typed at+jwt is refused as an ID token."""
    token = provider.sign(provider.claims(), typ="at+jwt")
    await _fails("type", verifier.verify_id_token(token, audience=CLIENT_ID))


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-jwt",
        "a.b",
        "a.b.c.d.e",
        "!!!.???.###",
        _b64(b"[1]") + "." + _b64(b"{}") + ".sig",
        _b64(b'{"alg": "RS256"') + ".e30.sig",
    ],
)
async def test_malformed_tokens(
    verifier: TokenVerifier, provider: FakeProvider, token: str
) -> None:
    """Garbage is a format failure, never another exception."""
    with pytest.raises(TokenValidationError) as info:
        await verifier.verify_id_token(token, audience=CLIENT_ID)
    assert info.value.check in {"format", "algorithm"}


async def test_payload_not_an_object(provider: FakeProvider, verifier: TokenVerifier) -> None:
    """A correctly signed payload that is a JSON array is a format failure."""
    token = jws.serialize_compact({"alg": "RS256", "kid": "rsa-1"}, b"[1, 2]", _RSA_KEY)
    await _fails("format", verifier.verify_id_token(token, audience=CLIENT_ID))


# --- the JWKS cache --------------------------------------------------------------------


async def test_unknown_kid_triggers_one_refetch(
    provider: FakeProvider, verifier: TokenVerifier, clock: FakeClock
) -> None:
    """After a key rotation, a token with the new kid verifies after one JWKS re-fetch."""
    await verifier.verify_id_token(provider.id_token(), audience=CLIENT_ID)
    clock.advance(3600)
    provider.published = [_RSA_KEY, _RSA_KEY_2]
    token = provider.sign(provider.claims(), key=_RSA_KEY_2, kid="rsa-2")
    assert (await verifier.verify_id_token(token, audience=CLIENT_ID)).subject == "user-1"
    assert provider.jwks.call_count == 2
    await verifier.verify_id_token(token, audience=CLIENT_ID)  # now cached
    assert provider.jwks.call_count == 2


async def test_unknown_kid_refetch_is_rate_limited(
    provider: FakeProvider, verifier: TokenVerifier, clock: FakeClock
) -> None:
    """A flood of unknown kids causes one re-fetch a minute, however many tokens arrive."""
    await verifier.verify_id_token(provider.id_token(), audience=CLIENT_ID)
    assert provider.jwks.call_count == 1
    clock.advance(61)  # the first fetch is old enough to allow one re-fetch
    for number in range(50):
        bogus = provider.sign(provider.claims(), kid=f"bogus-{number}")
        await _fails("key", verifier.verify_id_token(bogus, audience=CLIENT_ID))
    assert provider.jwks.call_count == 2
    clock.advance(30)
    await _fails(
        "key",
        verifier.verify_id_token(provider.sign(provider.claims(), kid="x"), audience=CLIENT_ID),
    )
    assert provider.jwks.call_count == 2
    clock.advance(31)
    await _fails(
        "key",
        verifier.verify_id_token(provider.sign(provider.claims(), kid="y"), audience=CLIENT_ID),
    )
    assert provider.jwks.call_count == 3


async def test_unknown_kid_refetch_is_single_flight(
    provider: FakeProvider, verifier: TokenVerifier, clock: FakeClock
) -> None:
    """Fifty concurrent tokens with a new kid cause one re-fetch, and all verify."""
    await verifier.verify_id_token(provider.id_token(), audience=CLIENT_ID)
    clock.advance(61)
    provider.published = [_RSA_KEY, _RSA_KEY_2]
    token = provider.sign(provider.claims(), key=_RSA_KEY_2, kid="rsa-2")
    results: list[VerifiedToken] = []

    async def verify() -> None:
        results.append(await verifier.verify_id_token(token, audience=CLIENT_ID))

    async with anyio.create_task_group() as group:
        for _ in range(50):
            group.start_soon(verify)
    assert len(results) == 50
    assert provider.jwks.call_count == 2


async def test_rotation_within_the_interval_is_found_after_it(
    provider: FakeProvider, verifier: TokenVerifier, clock: FakeClock
) -> None:
    """A key rotated seconds after the first fetch is found once the interval has passed."""
    await verifier.verify_id_token(provider.id_token(), audience=CLIENT_ID)
    provider.published = [_RSA_KEY_2]
    token = provider.sign(provider.claims(), key=_RSA_KEY_2, kid="rsa-2")
    await _fails("key", verifier.verify_id_token(token, audience=CLIENT_ID))
    clock.advance(60)
    assert (await verifier.verify_id_token(token, audience=CLIENT_ID)).subject == "user-1"


async def test_key_with_other_use_or_alg_is_not_used(
    provider: FakeProvider, verifier: TokenVerifier
) -> None:
    """A key published for encryption, or for another alg, is not a signing key for RS256."""
    enc_key = RSAKey.import_key(_RSA_KEY.as_dict(private=True), {"kid": "rsa-1", "use": "enc"})
    provider.published = [enc_key]
    await _fails("key", verifier.verify_id_token(provider.id_token(), audience=CLIENT_ID))


async def test_jwks_failure_is_not_a_validation_error(
    provider: FakeProvider, verifier: TokenVerifier
) -> None:
    """A JWKS endpoint that fails is an infrastructure error, not a bad token."""
    provider.jwks.mock(side_effect=None, return_value=httpx.Response(503))
    with pytest.raises(InternalServerError):
        await verifier.verify_id_token(provider.id_token(), audience=CLIENT_ID)


async def test_jwks_recovers_after_a_failed_first_fetch(
    provider: FakeProvider, verifier: TokenVerifier, clock: FakeClock
) -> None:
    """A failed first JWKS fetch is remembered for 1 s, then the next call fetches again."""
    jwks = provider._jwks(httpx.Request("GET", f"{ISSUER}/jwks"))
    provider.jwks.mock(side_effect=[httpx.ConnectError("down"), jwks])
    with pytest.raises(APIConnectionError):
        await verifier.verify_id_token(provider.id_token(), audience=CLIENT_ID)
    with pytest.raises(APIConnectionError):  # the backoff: no request
        await verifier.verify_id_token(provider.id_token(), audience=CLIENT_ID)
    assert provider.jwks.call_count == 1
    clock.advance(1)
    assert (await verifier.verify_id_token(provider.id_token(), audience=CLIENT_ID)).subject
    assert provider.jwks.call_count == 2


@pytest.mark.parametrize(
    "body", [b"not json", b"[]", b'{"keys": "x"}', b'{"keys": [{"kty": "XX"}]}']
)
async def test_jwks_without_usable_keys(mock: respx.MockRouter, body: bytes) -> None:
    """A key set with no usable key is an APIResponseValidationError."""
    mock.get(f"{ISSUER}/jwks").respond(200, content=body)
    cache = JwksCache(f"{ISSUER}/jwks")
    with pytest.raises(APIResponseValidationError):
        await cache.find_key(kid="rsa-1", alg="RS256")


def test_parse_jwks_skips_broken_keys() -> None:
    """One malformed key does not hide the good ones."""
    good = _RSA_KEY.as_dict()
    keys = parse_jwks({"keys": [{"kty": "RSA", "n": "!!"}, "junk", {"kty": "PQ"}, good]})
    assert [key.kid for key in keys] == ["rsa-1"]


# --- access tokens ---------------------------------------------------------------------


def _access_claims(provider: FakeProvider, **overrides: Any) -> dict[str, Any]:
    claims = provider.claims(aud=API_AUDIENCE, nonce=None, scope="users:read audit:read")
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


async def test_access_token_with_scopes(provider: FakeProvider, verifier: TokenVerifier) -> None:
    """A JWT access token with the audience and required scopes verifies."""
    token = provider.sign(_access_claims(provider), typ="at+jwt")
    verified = await verifier.verify_access_token(
        token, audience=API_AUDIENCE, required_scopes=["users:read"], require_at_jwt_type=True
    )
    assert verified.scopes == {"users:read", "audit:read"}


async def test_access_token_scp_list(provider: FakeProvider, verifier: TokenVerifier) -> None:
    """Scopes in an scp list (Azure/Okta style) count as well."""
    token = provider.sign(_access_claims(provider, scope=None, scp=["users:read"]))
    await verifier.verify_access_token(token, audience=API_AUDIENCE, required_scopes=["users:read"])


async def test_required_scopes_follow_the_scope_rule(
    provider: FakeProvider, verifier: TokenVerifier
) -> None:
    """A string of required scopes is split like any other; missing ones are named sorted."""
    token = provider.sign(_access_claims(provider, scp="openid"))
    verified = await verifier.verify_access_token(
        token, audience=API_AUDIENCE, required_scopes="users:read,openid users:read"
    )
    assert verified.scopes == {"audit:read", "openid", "users:read"}
    error = await _fails(
        "scope",
        verifier.verify_access_token(token, audience=API_AUDIENCE, required_scopes="z:w a:w"),
    )
    assert error.message.endswith("a:w z:w")


async def test_access_token_missing_scope(provider: FakeProvider, verifier: TokenVerifier) -> None:
    """A token without a required scope fails the scope check, naming the scope."""
    token = provider.sign(_access_claims(provider))
    error = await _fails(
        "scope",
        verifier.verify_access_token(token, audience=API_AUDIENCE, required_scopes=["users:write"]),
    )
    assert "users:write" in error.message


async def test_access_token_wrong_audience(provider: FakeProvider, verifier: TokenVerifier) -> None:
    """An ID token (aud = client id) is not an access token for the API."""
    await _fails(
        "audience", verifier.verify_access_token(provider.id_token(), audience=API_AUDIENCE)
    )


async def test_access_token_type_required(provider: FakeProvider, verifier: TokenVerifier) -> None:
    """With require_at_jwt_type, a token typed JWT fails the type check."""
    token = provider.sign(_access_claims(provider), typ="JWT")
    await _fails(
        "type",
        verifier.verify_access_token(token, audience=API_AUDIENCE, require_at_jwt_type=True),
    )


async def test_access_token_application_at_jwt_type(
    provider: FakeProvider, verifier: TokenVerifier
) -> None:
    """typ application/at+jwt is the same media type as at+jwt."""
    token = provider.sign(_access_claims(provider), typ="application/AT+JWT")
    await verifier.verify_access_token(token, audience=API_AUDIENCE, require_at_jwt_type=True)


async def test_access_token_expired(provider: FakeProvider, verifier: TokenVerifier) -> None:
    """An expired access token fails the expiry check."""
    token = provider.sign(_access_claims(provider, exp=int(NOW) - 100))
    await _fails("expiry", verifier.verify_access_token(token, audience=API_AUDIENCE))


async def test_access_token_without_iat_is_allowed(
    provider: FakeProvider, verifier: TokenVerifier
) -> None:
    """iat is optional for access tokens."""
    token = provider.sign(_access_claims(provider, iat=None))
    await verifier.verify_access_token(token, audience=API_AUDIENCE)


def test_verified_token_repr_hides_header() -> None:
    """VerifiedToken's repr shows the claims, not the header."""
    verified = VerifiedToken(header={"kid": "k"}, claims={"sub": "s"})
    assert "kid" not in repr(verified)
    assert verified.subject == "s"
    assert verified.scopes == frozenset()
    assert verified.expires_at is None
