"""DPoP on the client side (RFC 9449): keys, proofs, nonces, bound tokens, caches, downgrades.

The provider is ``FapiProvider``, a real loopback server that checks every proof with
joserfc (signature by the ``jwk`` header, htm, htu, iat, jti, nonce, ath, the token's key).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from intelliauth_ext import (
    AccessToken,
    AuthorizationCodeFlow,
    ClientCredentials,
    DPoPKey,
    InMemoryTokenCache,
    InvalidGrantError,
    OAuthError,
    RefreshingAuth,
    SigningKey,
)
from intelliauth_ext._dpop import access_token_hash, is_nonce_challenge, proof_url

from .fapi_provider import CLIENT_ID, REDIRECT_URI, FapiProvider

pytestmark = pytest.mark.anyio


@pytest.fixture
def provider() -> Iterator[FapiProvider]:
    """A FAPI-style provider on 127.0.0.1."""
    with FapiProvider().running() as running:
        yield running


@pytest.fixture
def client_key(provider: FapiProvider) -> SigningKey:
    """The client's private_key_jwt key, registered with the provider."""
    key = SigningKey.generate("ES256", kid="k1")
    provider.register_key(CLIENT_ID, key.public_jwk)
    return key


def _segments(jws: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = jws.split(".")
    decode = lambda part: json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # noqa: E731
    return decode(header), decode(payload)


def _manager(provider: FapiProvider, key: SigningKey, dpop: DPoPKey, **options: Any) -> Any:
    return ClientCredentials(
        provider.token_url, CLIENT_ID, private_key=key, dpop=dpop, max_retries=0, **options
    )


# -- the key and its proofs ----------------------------------------------------------


@pytest.mark.parametrize("alg", ["ES256", "RS256", "PS256", "EdDSA"])
def test_jkt_is_the_rfc_7638_thumbprint(alg: str) -> None:
    """jkt is SHA-256 over the required members in lexicographic order, base64url."""
    key = DPoPKey.generate(alg)
    jwk = key.public_jwk
    required = {
        "EC": ("crv", "kty", "x", "y"),
        "RSA": ("e", "kty", "n"),
        "OKP": ("crv", "kty", "x"),
    }
    members = {name: jwk[name] for name in required[jwk["kty"]]}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    expected = base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=")
    assert key.jkt == expected.decode()
    assert "d" not in jwk


def test_keys_load_from_pem_and_jwk() -> None:
    """from_pem and from_jwk give the same key (same jkt) as the one exported."""
    key = DPoPKey.generate("ES256")
    pem = key._key.as_pem(private=True)
    assert DPoPKey.from_pem(pem).jkt == key.jkt
    assert DPoPKey.from_jwk(key._key.as_dict(private=True)).jkt == key.jkt
    assert DPoPKey.from_jwk(json.dumps(key._key.as_dict(private=True))).jkt == key.jkt
    assert isinstance(DPoPKey.from_pem(pem), DPoPKey)
    with pytest.raises(ValueError, match="unsupported"):
        DPoPKey.generate("HS256")


def test_a_proof_has_every_member() -> None:
    """typ, alg, the public jwk; htm, htu without query or fragment, iat, jti, ath, nonce."""
    key = DPoPKey.generate("ES256", kid="ignored-in-proofs")
    proof = key.proof(
        "get", "https://api.example.test/v1/users?limit=1#x", access_token="tok", nonce="n-1"
    )
    header, claims = _segments(proof)
    assert header["typ"] == "dpop+jwt"
    assert header["alg"] == "ES256"
    assert header["jwk"] == key.public_jwk
    assert "kid" not in header
    assert claims["htm"] == "GET"
    assert claims["htu"] == "https://api.example.test/v1/users"
    assert claims["ath"] == access_token_hash("tok")
    expected_ath = base64.urlsafe_b64encode(hashlib.sha256(b"tok").digest()).rstrip(b"=")
    assert claims["ath"] == expected_ath.decode()
    assert claims["nonce"] == "n-1"
    assert isinstance(claims["iat"], int)
    second = _segments(key.proof("GET", "https://api.example.test/v1/users"))[1]
    assert second["jti"] != claims["jti"]
    assert "ath" not in second
    assert "nonce" not in second


def test_nonces_are_remembered_per_server() -> None:
    """A DPoP-Nonce is kept for its origin only; a malformed one is ignored."""
    key = DPoPKey.generate()
    request = httpx.Request("GET", "https://a.example.test/x?y=1")
    key.learn_nonce(httpx.Response(200, headers={"DPoP-Nonce": "abc"}, request=request))
    assert key.nonce_for("https://a.example.test/other") == "abc"
    assert key.nonce_for("https://b.example.test/x") is None
    assert key.nonce_for("https://a.example.test:8443/x") is None
    key.learn_nonce(httpx.Response(200, headers={"DPoP-Nonce": 'a"b'}, request=request))
    assert key.nonce_for("https://a.example.test/") == "abc"
    assert proof_url("https://a.example.test/p?q#f") == "https://a.example.test/p"


def test_nonce_challenges_are_recognised() -> None:
    """401 with a DPoP use_dpop_nonce challenge (a resource), 400 use_dpop_nonce (a token
    endpoint), each with a nonce."""
    from intelliauth_ext._auth._token_endpoint import wants_dpop_nonce

    request = httpx.Request("GET", "https://a.example.test/")
    challenge = {"WWW-Authenticate": 'DPoP error="use_dpop_nonce"', "DPoP-Nonce": "n"}
    assert is_nonce_challenge(httpx.Response(401, headers=challenge, request=request))
    no_nonce = {"WWW-Authenticate": 'DPoP error="use_dpop_nonce"'}
    assert not is_nonce_challenge(httpx.Response(401, headers=no_nonce, request=request))
    other = {"WWW-Authenticate": 'DPoP error="invalid_token"', "DPoP-Nonce": "n"}
    assert not is_nonce_challenge(httpx.Response(401, headers=other, request=request))
    body = {"error": "use_dpop_nonce"}
    token_answer = httpx.Response(400, json=body, headers={"DPoP-Nonce": "n"}, request=request)
    assert wants_dpop_nonce(token_answer)
    assert not is_nonce_challenge(token_answer)
    assert not wants_dpop_nonce(httpx.Response(400, json=body, request=request))


def test_the_dpop_key_never_shows() -> None:
    """repr shows alg, kid and thumbprint; vars() has nothing to show; pickling is refused."""
    key = DPoPKey.generate("ES256")
    private_d = key._key.as_dict(private=True)["d"]
    assert private_d not in repr(key)
    assert key.jkt in repr(key)
    with pytest.raises(TypeError):
        vars(key)


# -- bound tokens over the wire --------------------------------------------------------


async def test_client_credentials_sends_dpop_bound_tokens_with_proofs(
    provider: FapiProvider, client_key: SigningKey
) -> None:
    """The token is DPoP-bound; each API request carries DPoP <token> and a proof with ath."""
    dpop = DPoPKey.generate("ES256")
    async with _manager(provider, client_key, dpop) as auth:
        token = await auth.get_token()
        assert token.token_type == "DPoP"
        async with httpx.AsyncClient(auth=auth) as http:
            first = await http.get(provider.resource_url, params={"q": "1"})
            second = await http.get(provider.resource_url)
    assert first.json() == {"sub": "usr_01", "bound": True}
    assert second.status_code == 200
    resource_proofs = [proof for proof in provider.proofs if "ath" in proof]
    assert len(resource_proofs) == 2
    assert resource_proofs[0]["jti"] != resource_proofs[1]["jti"]
    assert provider.proofs[0]["htu"] == provider.token_url
    assert "ath" not in provider.proofs[0]


async def test_a_proof_without_ath_is_refused_by_the_server(
    provider: FapiProvider, client_key: SigningKey
) -> None:
    """The server's ath check is real: a proof made without the token fails."""
    dpop = DPoPKey.generate("ES256")
    async with _manager(provider, client_key, dpop) as auth:
        token = await auth.get_token()
    headers = {"Authorization": f"DPoP {token.access_token}"}
    headers["DPoP"] = dpop.proof("GET", provider.resource_url)
    async with httpx.AsyncClient() as http:
        response = await http.get(provider.resource_url, headers=headers)
    assert response.status_code == 401
    assert provider.refusals[-1] == "proof ath missing or wrong"


async def test_token_endpoint_nonce_is_retried_once_and_remembered(
    provider: FapiProvider, client_key: SigningKey
) -> None:
    """400 use_dpop_nonce + DPoP-Nonce: sent again with the nonce; later requests carry it."""
    provider.token_nonce = "server-nonce-1"
    dpop = DPoPKey.generate("ES256")
    async with _manager(provider, client_key, dpop) as auth:
        await auth.get_token()
        assert len(provider.token_requests) == 2  # refused once, then accepted
        assert provider.proofs[-1]["nonce"] == "server-nonce-1"
        auth.invalidate()
        await auth.get_token()
    assert len(provider.token_requests) == 3  # the nonce was known: no second refusal
    assert provider.refusals == ["token nonce missing"]


async def test_resource_nonce_is_retried_once_and_remembered(
    provider: FapiProvider, client_key: SigningKey
) -> None:
    """401 with WWW-Authenticate DPoP error=use_dpop_nonce: one retry with it, then known."""
    provider.resource_nonce = "rs-nonce"
    dpop = DPoPKey.generate("ES256")
    async with _manager(provider, client_key, dpop) as auth, httpx.AsyncClient(auth=auth) as http:
        response = await http.get(provider.resource_url)
        assert response.status_code == 200
        assert provider.resource_calls == 2
        await http.get(provider.resource_url)
        assert provider.resource_calls == 3
        assert len(provider.token_requests) == 1  # the nonce cost no new token
    assert dpop.nonce_for(provider.url) == "rs-nonce"


async def test_a_nonce_challenge_is_answered_only_once(
    provider: FapiProvider, client_key: SigningKey
) -> None:
    """A server that keeps demanding a nonce gets one nonce retry, then its 401: no loop."""
    provider.always_challenge = True
    dpop = DPoPKey.generate("ES256")
    async with _manager(provider, client_key, dpop) as auth, httpx.AsyncClient(auth=auth) as http:
        response = await http.get(provider.resource_url)
    assert response.status_code == 401
    # the request, its one nonce retry, then the ordinary 401 path: a new token, one replay
    assert provider.resource_calls == 3
    assert len(provider.token_requests) == 2


async def test_refresh_tokens_are_bound_to_the_key(
    provider: FapiProvider, client_key: SigningKey
) -> None:
    """A refresh with a proof by the same key works; by another key it is refused."""
    dpop = DPoPKey.generate("ES256")
    async with _manager(provider, client_key, dpop) as auth:
        await auth.get_token()
    issued = provider.refresh_tokens.copy()
    from intelliauth_ext._token_endpoints import request_token

    tokens = await request_token(
        provider.token_url,
        {"grant_type": "client_credentials"},
        client_id=CLIENT_ID,
        private_key=client_key,
        dpop=dpop,
    )
    assert tokens.token_type == "DPoP"
    assert issued
    refreshing = RefreshingAuth(
        tokens, token_url=provider.token_url, client_id=CLIENT_ID, private_key=client_key, dpop=dpop
    )
    async with httpx.AsyncClient(auth=refreshing) as http:
        refreshed = await refreshing.refresh()
        assert refreshed.token_type == "DPoP"
        assert (await http.get(provider.resource_url)).json()["bound"] is True
    await refreshing.aclose()
    thief = RefreshingAuth(
        refreshed,
        token_url=provider.token_url,
        client_id=CLIENT_ID,
        private_key=client_key,
        dpop=DPoPKey.generate("ES256"),
    )
    with pytest.raises(InvalidGrantError):
        await thief.refresh()
    await thief.aclose()
    assert provider.refusals[-1] == "refresh token bound to another key"
    with pytest.raises(ValueError, match="dpop="):
        RefreshingAuth(
            refreshed, token_url=provider.token_url, client_id=CLIENT_ID, private_key=client_key
        )


async def test_two_dpop_keys_never_share_a_cached_token(
    provider: FapiProvider, client_key: SigningKey
) -> None:
    """Two managers of one client and cache, with different DPoP keys: two tokens."""
    cache = InMemoryTokenCache()
    first_key, second_key = DPoPKey.generate("ES256"), DPoPKey.generate("ES256")
    async with (
        _manager(provider, client_key, first_key, cache=cache) as first,
        _manager(provider, client_key, second_key, cache=cache) as second,
        _manager(provider, client_key, first_key, cache=cache) as third,
    ):
        one, two, three = await first.get_token(), await second.get_token(), await third.get_token()
        assert one.access_token != two.access_token
        assert three.access_token == one.access_token  # same key: shared, as before
        assert first.cache_key.digest() != second.cache_key.digest()
        for manager in (first, second):
            async with httpx.AsyncClient(auth=manager) as http:
                assert (await http.get(provider.resource_url)).status_code == 200
    assert len(provider.token_requests) == 2


async def test_a_bearer_cache_entry_is_not_a_dpop_one(client_key: SigningKey) -> None:
    """The jkt is part of the cache key: a Bearer manager's entry is not a DPoP manager's."""
    url = "https://auth.example.test/token"
    bearer = ClientCredentials(url, CLIENT_ID, private_key=client_key)
    bound = ClientCredentials(url, CLIENT_ID, private_key=client_key, dpop=DPoPKey.generate())
    assert bearer.cache_key != bound.cache_key
    assert bearer.cache_key.digest() != bound.cache_key.digest()
    assert bound.cache_key.dpop_jkt == bound.dpop.jkt  # type: ignore[union-attr]


def test_a_dpop_token_survives_a_shared_cache_round_trip() -> None:
    """as_dict / from_dict keep the DPoP token type; an unknown type is not read back."""
    token = AccessToken(access_token="t", expires_at=2e9, lifetime=60, token_type="DPoP")
    again = AccessToken.from_dict(token.as_dict())
    assert again is not None
    assert again.is_dpop
    assert again.authorization == "DPoP t"
    assert AccessToken.from_dict({**token.as_dict(), "token_type": "mac"}) is None


async def test_a_bearer_downgrade_is_refused(
    provider: FapiProvider, client_key: SigningKey
) -> None:
    """DPoP asked, Bearer issued: OAuthError unsupported_token_type, unless allowed."""
    provider.issue_bearer = True
    async with _manager(provider, client_key, DPoPKey.generate()) as auth:
        with pytest.raises(OAuthError) as caught:
            await auth.get_token()
    assert caught.value.error == "unsupported_token_type"
    assert "allow_bearer_downgrade" in str(caught.value)
    async with _manager(
        provider, client_key, DPoPKey.generate(), allow_bearer_downgrade=True
    ) as auth:
        token = await auth.get_token()
        assert token.token_type == "Bearer"
        async with httpx.AsyncClient(auth=auth) as http:
            response = await http.get(provider.resource_url)
        assert response.json() == {"sub": "usr_01", "bound": False}
        assert "DPoP" not in response.request.headers


async def test_a_dpop_token_without_a_key_is_refused(
    provider: FapiProvider, client_key: SigningKey
) -> None:
    """A manager without dpop= does not use a DPoP token it can not prove (RFC 6749 7.1)."""
    from intelliauth_ext._auth._access_token import check_bearer
    from intelliauth_ext._token_set import TokenSet

    with pytest.raises(OAuthError, match="dpop="):
        check_bearer(TokenSet(access_token="t", token_type="DPoP"))


async def test_the_code_flow_sends_dpop_jkt_and_gets_bound_tokens(
    provider: FapiProvider, client_key: SigningKey
) -> None:
    """dpop_jkt goes into the authorization request; the exchange gets DPoP-bound tokens."""
    provider.require_par = False
    dpop = DPoPKey.generate("ES256")
    flow = AuthorizationCodeFlow(
        provider.url,
        CLIENT_ID,
        REDIRECT_URI,
        ["profile"],
        private_key=client_key,
        dpop=dpop,
        par=False,
    )
    request = await flow.start()
    assert httpx.URL(request.url).params["dpop_jkt"] == dpop.jkt
    async with httpx.AsyncClient() as http:
        callback = (await http.get(request.url)).headers["Location"]
    tokens = await flow.complete(callback, expected_state=request.state)
    assert tokens.token_type == "DPoP"
    assert provider.access_tokens[tokens.access_token] == dpop.jkt
    exchange = provider.token_requests[-1]
    assert exchange["grant_type"] == "authorization_code"
    assert "client_assertion" in exchange


async def test_a_code_bound_to_another_key_is_refused(
    provider: FapiProvider, client_key: SigningKey
) -> None:
    """The server binds the code to dpop_jkt: a flow whose key changed can not redeem it."""
    provider.require_par = False
    flow = AuthorizationCodeFlow(
        provider.url,
        CLIENT_ID,
        REDIRECT_URI,
        ["profile"],
        private_key=client_key,
        dpop=DPoPKey.generate(),
        par=False,
    )
    request = await flow.start()
    flow.dpop = DPoPKey.generate()
    async with httpx.AsyncClient() as http:
        callback = (await http.get(request.url)).headers["Location"]
    with pytest.raises(InvalidGrantError):
        await flow.complete(callback)


async def test_refreshing_auth_answers_a_resource_nonce_challenge(
    provider: FapiProvider, client_key: SigningKey
) -> None:
    """RefreshingAuth sends DPoP tokens with proofs and retries a use_dpop_nonce 401 once."""
    from intelliauth_ext._token_endpoints import request_token

    dpop = DPoPKey.generate("EdDSA")
    tokens = await request_token(
        provider.token_url,
        {"grant_type": "client_credentials"},
        client_id=CLIENT_ID,
        private_key=client_key,
        dpop=dpop,
    )
    provider.resource_nonce = "rs-nonce-2"
    refreshing = RefreshingAuth(
        tokens, token_url=provider.token_url, client_id=CLIENT_ID, private_key=client_key, dpop=dpop
    )
    async with httpx.AsyncClient(auth=refreshing) as http:
        response = await http.get(provider.resource_url)
    await refreshing.aclose()
    assert response.json() == {"sub": "usr_01", "bound": True}
    assert provider.resource_calls == 2
    assert refreshing.refreshes == 0  # a nonce is no reason to refresh
    assert provider.proofs[-1]["nonce"] == "rs-nonce-2"
