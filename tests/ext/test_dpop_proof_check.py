"""DPoP proofs checked by a resource server (``_dpop_proof_check.py``, RFC 9449 sections 4.3, 7).

Proofs are made here with joserfc directly, so the checks are pinned independently of the
SDK's own proof maker; the bound tokens come from the respx provider of oidc_fakes.py.
"""

from __future__ import annotations

import uuid
import warnings
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, Key, OctKey, OKPKey, RSAKey

from intelliauth_ext._bearer import BearerTokenError, TokenGuard
from intelliauth_ext._dpop import access_token_hash
from intelliauth_ext._dpop_proof_check import (
    DPoPNonces,
    DPoPProofChecker,
    MemoryReplayCache,
    dpop_challenge,
    normalised_htu,
)
from intelliauth_ext._errors import TokenValidationError
from intelliauth_ext._verification import TokenVerifier

from .oidc_fakes import ISSUER, NOW, FakeClock, FakeProvider

API = "https://api.example.test"
URL = "https://api.example.test/users/usr_01"
CLIENT_KEY = ECKey.generate_key("P-256")
OTHER_KEY = ECKey.generate_key("P-256")
TOKEN = "an-access-token"


def proof(
    key: Key = CLIENT_KEY,
    *,
    alg: str = "ES256",
    typ: str | None = "dpop+jwt",
    jwk: dict[str, Any] | None = None,
    clock: FakeClock | None = None,
    drop: tuple[str, ...] = (),
    **claims: Any,
) -> str:
    """A DPoP proof for GET URL with TOKEN, claims changed by ``claims`` (``drop`` deletes)."""
    payload: dict[str, Any] = {
        "jti": str(uuid.uuid4()),
        "htm": "GET",
        "htu": URL,
        "iat": int(clock.time() if clock is not None else NOW),
        "ath": access_token_hash(TOKEN),
    }
    payload.update(claims)
    for name in drop:
        payload.pop(name)
    header: dict[str, Any] = {
        "alg": alg,
        "jwk": jwk if jwk is not None else key.as_dict(private=False),
    }
    if typ is not None:
        header["typ"] = typ
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)  # EdDSA, deprecated by RFC 9864
        return jwt.encode(header, payload, key, algorithms=[alg])


def checker(clock: FakeClock | None = None, **options: Any) -> DPoPProofChecker:
    return DPoPProofChecker(clock=clock if clock is not None else FakeClock(), **options)


def check(value: str, target: DPoPProofChecker | None = None, **overrides: Any) -> str:
    arguments: dict[str, Any] = {
        "method": "GET",
        "url": URL,
        "access_token": TOKEN,
        "jkt": CLIENT_KEY.thumbprint(),
    }
    arguments.update(overrides)
    return (target if target is not None else checker()).check_proof(value, **arguments)


def refused(check_name: str, value: str, target: DPoPProofChecker | None = None, **kw: Any) -> str:
    with pytest.raises(TokenValidationError) as caught:
        check(value, target, **kw)
    assert caught.value.check == check_name, caught.value
    return caught.value.message


@pytest.mark.parametrize(
    ("key", "alg"),
    [
        (CLIENT_KEY, "ES256"),
        (RSAKey.generate_key(2048), "RS256"),
        (RSAKey.generate_key(2048), "PS256"),
        (OKPKey.generate_key("Ed25519"), "EdDSA"),
        (OKPKey.generate_key("Ed25519"), "Ed25519"),
    ],
)
def test_a_valid_proof_returns_its_key_thumbprint(key: Key, alg: str) -> None:
    """Every asymmetric algorithm of RFC 9449's list passes; the result is the RFC 7638 jkt."""
    assert check(proof(key, alg=alg), jkt=key.thumbprint()) == key.thumbprint()


def test_a_proof_without_ath_is_refused() -> None:
    """ath is required when the proof goes with an access token (RFC 9449 section 7.1)."""
    assert "ath" in refused("dpop_proof", proof(drop=("ath",)))


def test_a_proof_for_another_token_is_refused() -> None:
    """ath must be the hash of this token, not of another one."""
    assert "ath" in refused("dpop_proof", proof(ath=access_token_hash("other-token")))


def test_a_reused_jti_is_refused_within_the_window() -> None:
    """The same proof twice is a replay (RFC 9449 section 11.1); a new jti passes."""
    target = checker()
    value = proof()
    check(value, target)
    assert "replay" in refused("dpop_proof", value, target)
    check(proof(), target)


def test_a_jti_is_forgotten_once_its_proof_is_too_old_anyway() -> None:
    """The cache holds a proof only as long as its iat could pass; then iat refuses it."""
    clock = FakeClock()
    target = checker(clock, window=60, leeway=5)
    value = proof(clock=clock)
    check(value, target)
    clock.advance(66)
    assert "window" in refused("dpop_proof", value, target)
    check(proof(clock=clock), target)
    assert len(target.replay_cache) == 1  # type: ignore[arg-type]


def test_the_replay_cache_is_bounded() -> None:
    """Past max_entries the oldest entries go: memory stays bounded under a flood."""
    cache = MemoryReplayCache(max_entries=3)
    for index in range(10):
        assert cache.remember(f"k{index}", until=NOW + 60, now=NOW)
    assert len(cache) == 3
    assert not cache.remember("k9", until=NOW + 60, now=NOW)


@pytest.mark.parametrize(
    ("claims", "word"),
    [
        ({"htm": "POST"}, "htm"),
        ({"htu": "https://api.example.test/users/usr_02"}, "htu"),
        ({"htu": "https://evil.example.test/users/usr_01"}, "htu"),
        ({"iat": int(NOW) - 200}, "iat"),
        ({"iat": int(NOW) + 200}, "iat"),
        ({"iat": "now"}, "iat"),
        ({"jti": ""}, "jti"),
        ({"jti": 5}, "jti"),
    ],
)
def test_a_claim_that_does_not_fit_the_request_is_refused(
    claims: dict[str, Any], word: str
) -> None:
    """htm, htu, iat and jti are each checked (RFC 9449 section 4.3, checks 8 to 11)."""
    assert word in refused("dpop_proof", proof(**claims))


def test_htu_ignores_query_and_fragment_and_normalises() -> None:
    """The URL compares without query/fragment, after RFC 3986 6.2.2/6.2.3 normalisation."""
    check(proof(htu="HTTPS://API.example.test:443/users/%75sr_01"), url=URL + "?x=1#f")
    assert normalised_htu("http://h.test:80") == "http://h.test/"
    assert normalised_htu("https://h.test/a/./b/../c%2f") == "https://h.test/a/c%2F"
    assert normalised_htu("https://[::1]:8443/x") == "https://[::1]:8443/x"
    with pytest.raises(ValueError, match="absolute"):
        normalised_htu("/relative")


@pytest.mark.parametrize(
    ("make", "word"),
    [
        (lambda: proof(typ="JWT"), "typ"),
        (lambda: proof(typ=None), "typ"),
        (lambda: proof(OctKey.generate_key(256), alg="HS256", jwk={"kty": "oct"}), "alg"),
        (lambda: proof(jwk=OTHER_KEY.as_dict(private=False)), "signature"),
        (lambda: proof(jwk=CLIENT_KEY.as_dict(private=True)), "public"),
        (lambda: proof(jwk={}), "jwk"),
        (lambda: "not.a.jws", "parsed"),
        (lambda: "x" * 9000, "long"),
        (lambda: proof(OTHER_KEY), "bound"),
    ],
)
def test_a_proof_that_is_not_signed_right_is_refused(make: Any, word: str) -> None:
    """typ, an asymmetric alg, a public jwk, the signature by it and cnf.jkt are checked."""
    assert word in refused("dpop_proof", make())


def test_nonces_are_demanded_when_on() -> None:
    """Without the server's current nonce: dpop_nonce; with it (or the previous slot's): ok."""
    clock = FakeClock()
    nonces = DPoPNonces(lifetime=60)
    target = checker(clock, nonces=nonces)
    refused("dpop_nonce", proof(), target)
    refused("dpop_nonce", proof(nonce="made-up"), target)
    current = target.fresh_nonce()
    assert current is not None
    check(proof(nonce=current), target)
    clock.advance(70)
    check(proof(nonce=current, clock=clock), target)
    clock.advance(60)
    refused("dpop_nonce", proof(nonce=current, clock=clock), target)


def test_symmetric_or_unknown_proof_algorithms_can_not_be_configured() -> None:
    """An HMAC allow-list would let anyone holding the token forge proofs."""
    with pytest.raises(ValueError, match="proof algorithms"):
        DPoPProofChecker(algorithms=["HS256"])


def test_the_challenge_names_scheme_error_and_algorithms() -> None:
    """RFC 9449 section 7.1: DPoP scheme, error, description and algs, quoted and safe."""
    value = dpop_challenge(error="invalid_dpop_proof", description='bad "x"', algorithms=["ES256"])
    assert value == 'DPoP error="invalid_dpop_proof", error_description="bad ?x?", algs="ES256"'


# ------------------------------------------------------------- through TokenVerifier / guard


def bound_token(provider: FakeProvider, key: Key = CLIENT_KEY, **claims: Any) -> str:
    """A JWT access token for API, bound to ``key`` unless ``cnf`` is overridden."""
    now = int(provider.clock.time())
    payload = {
        "iss": ISSUER,
        "aud": API,
        "sub": "user-1",
        "iat": now,
        "exp": now + 300,
        "scope": "users:read",
        "cnf": {"jkt": key.thumbprint()},
        **claims,
    }
    return provider.sign({k: v for k, v in payload.items() if v is not None}, typ="at+jwt")


def token_proof(token: str, clock: FakeClock, **claims: Any) -> str:
    return proof(clock=clock, ath=access_token_hash(token), **claims)


@pytest.mark.anyio
async def test_the_verifier_accepts_a_bound_token_with_its_proof(
    provider: FakeProvider, clock: FakeClock
) -> None:
    """verify_access_token with the DPoP header, method and URL checks the proof."""
    verifier = TokenVerifier(ISSUER, clock=clock)
    token = bound_token(provider)
    verified = await verifier.verify_access_token(
        token, audience=API, dpop_proof=token_proof(token, clock), method="GET", url=URL
    )
    assert verified.claims["cnf"] == {"jkt": CLIENT_KEY.thumbprint()}


@pytest.mark.anyio
async def test_the_verifier_refuses_a_bound_token_used_as_bearer(
    provider: FakeProvider, clock: FakeClock
) -> None:
    """RFC 9449 section 7.2: without a proof, a DPoP-bound token is no credential."""
    verifier = TokenVerifier(ISSUER, clock=clock)
    with pytest.raises(TokenValidationError) as caught:
        await verifier.verify_access_token(bound_token(provider), audience=API)
    assert caught.value.check == "dpop_binding"


@pytest.mark.anyio
async def test_the_verifier_refuses_a_proof_with_an_unbound_token(
    provider: FakeProvider, clock: FakeClock
) -> None:
    """A proof does not make an unbound token DPoP-bound: the scheme must match the token."""
    verifier = TokenVerifier(ISSUER, clock=clock)
    token = bound_token(provider, cnf=None)
    await verifier.verify_access_token(token, audience=API)  # fine as Bearer
    with pytest.raises(TokenValidationError) as caught:
        await verifier.verify_access_token(
            token, audience=API, dpop_proof=token_proof(token, clock), method="GET", url=URL
        )
    assert caught.value.check == "dpop_binding"


def guard(clock: FakeClock, **options: Any) -> TokenGuard:
    client: Any = SimpleNamespace(tenant_url=httpx.URL(ISSUER), http_client=None)
    return TokenGuard(client, audience=API, clock=clock, **options)


async def refusal(target: TokenGuard, authorization: str, proofs: list[str]) -> BearerTokenError:
    with pytest.raises(BearerTokenError) as caught:
        await target.authenticate([authorization], dpop=proofs, method="GET", url=URL)
    return caught.value


@pytest.mark.anyio
async def test_the_guard_answers_dpop_refusals_with_a_dpop_challenge(
    provider: FakeProvider, clock: FakeClock
) -> None:
    """Bad proof: 401 invalid_dpop_proof; a bearer-used bound token: 401 invalid_token."""
    target = guard(clock)
    token = bound_token(provider)
    good = token_proof(token, clock)
    verified = await target.authenticate(
        [f"DPoP {token}"], ["users:read"], dpop=[good], method="GET", url=URL
    )
    assert verified.subject == "user-1"

    replayed = await refusal(target, f"DPoP {token}", [good])
    assert (replayed.status_code, replayed.error) == (401, "invalid_dpop_proof")
    assert replayed.headers["WWW-Authenticate"].startswith('DPoP error="invalid_dpop_proof"')

    two = await refusal(target, f"DPoP {token}", [token_proof(token, clock)] * 2)
    assert two.error == "invalid_dpop_proof"

    as_bearer = await refusal(target, f"Bearer {token}", [token_proof(token, clock)])
    assert (as_bearer.status_code, as_bearer.error) == (401, "invalid_token")
    assert as_bearer.headers["WWW-Authenticate"].startswith("DPoP ")


@pytest.mark.anyio
async def test_the_guard_hands_out_a_nonce_when_nonces_are_on(
    provider: FakeProvider, clock: FakeClock
) -> None:
    """use_dpop_nonce comes with a DPoP-Nonce header; a retry with it passes."""
    target = guard(clock, dpop_checker=DPoPProofChecker(clock=clock, nonces=DPoPNonces()))
    token = bound_token(provider)
    first = await refusal(target, f"DPoP {token}", [token_proof(token, clock)])
    assert first.error == "use_dpop_nonce"
    nonce = first.headers["DPoP-Nonce"]
    proofs = [token_proof(token, clock, nonce=nonce)]
    await target.authenticate([f"DPoP {token}"], dpop=proofs, method="GET", url=URL)
