"""private_key_jwt and client_secret_jwt (RFC 7523 section 2.2) wherever the SDK authenticates.

The provider is ``FapiProvider``: a real loopback server that checks each assertion with
joserfc (signature by the registered key, iss/sub/aud/exp, a never-seen jti).
"""

from __future__ import annotations

import base64
import json
import logging
import pickle
import subprocess
import sys
import traceback
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from intelliauth_ext import (
    ClientCredentials,
    IntelliAuth,
    InvalidClientError,
    RefreshingAuth,
    SigningKey,
    introspect_token,
    revoke_token,
)
from intelliauth_ext._auth._client_auth import ClientAuth
from intelliauth_ext._token_endpoints import request_token

from .fapi_provider import CLIENT_ID, FapiProvider

pytestmark = pytest.mark.anyio

ALGORITHMS = ["RS256", "PS256", "ES256", "EdDSA"]


@pytest.fixture
def provider() -> Iterator[FapiProvider]:
    """A FAPI-style provider on 127.0.0.1."""
    with FapiProvider().running() as running:
        yield running


def _registered(provider: FapiProvider, alg: str = "ES256", kid: str = "k1") -> SigningKey:
    key = SigningKey.generate(alg, kid=kid)
    provider.register_key(CLIENT_ID, key.public_jwk)
    return key


def _private_pem(key: SigningKey) -> str:
    pem = key._key.as_pem(private=True)
    return pem.decode() if isinstance(pem, bytes) else pem


def _private_jwk(key: SigningKey) -> dict[str, Any]:
    return dict(key._key.as_dict(private=True))


@pytest.mark.parametrize("alg", ALGORITHMS)
@pytest.mark.parametrize("form", ["pem", "jwk"])
async def test_client_credentials_with_each_algorithm_and_key_form(
    provider: FapiProvider, alg: str, form: str
) -> None:
    """RS256, PS256, ES256 and EdDSA keys, from PEM or JWK, get a token; kid is the key_id."""
    key = _registered(provider, alg)
    material: Any
    if form == "pem":
        # A PEM carries no algorithm: RSA keys sign RS256 unless told; PS256 is asked for.
        material = (
            SigningKey.from_pem(_private_pem(key), alg=alg)
            if alg == "PS256"
            else (_private_pem(key))
        )
    else:
        material = {**_private_jwk(key), "alg": alg}
    async with ClientCredentials(
        provider.token_url, CLIENT_ID, private_key=material, key_id="k1"
    ) as auth:
        token = await auth.get_token()
    assert token.access_token
    assertion = provider.assertions[-1]
    assert assertion["header"]["alg"] == alg
    assert assertion["header"]["kid"] == "k1"
    claims = assertion["claims"]
    assert claims["iss"] == claims["sub"] == CLIENT_ID
    assert claims["aud"] == provider.token_url
    assert claims["exp"] - claims["iat"] == 60
    form_sent = provider.token_requests[-1]
    assert "client_secret" not in form_sent


async def test_each_request_has_a_fresh_assertion(provider: FapiProvider) -> None:
    """Two token requests carry two assertions with different jti (a replay is refused)."""
    key = _registered(provider)
    async with ClientCredentials(provider.token_url, CLIENT_ID, private_key=key) as auth:
        await auth.get_token()
        auth.invalidate()
        await auth.get_token()
    jtis = [assertion["claims"]["jti"] for assertion in provider.assertions]
    assert len(jtis) == 2
    assert jtis[0] != jtis[1]


async def test_a_replayed_assertion_is_refused_by_the_server(provider: FapiProvider) -> None:
    """The server's jti check is real: the same assertion sent twice fails the second time."""
    key = _registered(provider)
    client = ClientAuth.create(client_id=CLIENT_ID, private_key=key)
    request = client.request(provider.token_url, {"grant_type": "client_credentials"})
    async with httpx.AsyncClient() as http:
        first = await http.send(request)
        second = await http.send(request)
    assert first.status_code == 200
    assert second.status_code == 400
    assert provider.refusals[-1] == "assertion jti replayed"


async def test_assertion_audience_can_be_the_issuer(provider: FapiProvider) -> None:
    """assertion_audience= sets aud (FAPI 2.0 providers expect their issuer)."""
    key = _registered(provider)
    async with ClientCredentials(
        provider.token_url, CLIENT_ID, private_key=key, assertion_audience=provider.url
    ) as auth:
        await auth.get_token()
    assert provider.assertions[-1]["claims"]["aud"] == provider.url


async def test_a_key_the_provider_does_not_know_is_invalid_client(
    provider: FapiProvider,
) -> None:
    """An assertion signed by another key is refused: InvalidClientError, no key in it."""
    _registered(provider)
    other = SigningKey.generate("ES256")
    auth = ClientCredentials(provider.token_url, CLIENT_ID, private_key=other, max_retries=0)
    with pytest.raises(InvalidClientError) as caught:
        await auth.get_token()
    await auth.aclose()
    assert _private_jwk(other)["d"] not in "".join(traceback.format_exception(caught.value))


async def test_client_secret_jwt(provider: FapiProvider) -> None:
    """client_secret_jwt signs the assertion with the secret (HS256)."""
    provider.client_secrets[CLIENT_ID] = "s3cret-s3cret-s3cret-s3cret-s3cret!"
    async with ClientCredentials(
        provider.token_url,
        CLIENT_ID,
        "s3cret-s3cret-s3cret-s3cret-s3cret!",
        auth_method="client_secret_jwt",
    ) as auth:
        await auth.get_token()
    assert provider.assertions[-1]["header"]["alg"] == "HS256"
    assert "client_secret" not in provider.token_requests[-1]


async def test_refresh_revoke_and_introspect_use_the_assertion(provider: FapiProvider) -> None:
    """RefreshingAuth, revoke_token and introspect_token authenticate with private_key_jwt."""
    key = _registered(provider)
    tokens = await request_token(
        provider.token_url,
        {"grant_type": "client_credentials"},
        client_id=CLIENT_ID,
        private_key=key,
    )
    refreshing = RefreshingAuth(
        tokens, token_url=provider.token_url, client_id=CLIENT_ID, private_key=key
    )
    refreshed = await refreshing.refresh()
    await refreshing.aclose()
    assert refreshed.access_token != tokens.access_token
    assert provider.token_requests[-1]["grant_type"] == "refresh_token"

    introspected = await introspect_token(
        f"{provider.url}/oauth2/introspect",
        refreshed.access_token,
        client_id=CLIENT_ID,
        private_key=key,
    )
    assert introspected.active
    await revoke_token(
        f"{provider.url}/oauth2/revoke",
        refreshed.access_token,
        client_id=CLIENT_ID,
        private_key=key,
    )
    assert refreshed.access_token not in provider.access_tokens
    audiences = [assertion["claims"]["aud"] for assertion in provider.assertions]
    assert audiences[-1] == f"{provider.url}/oauth2/revoke"  # the endpoint's own URL


async def test_intelliauth_revoke_and_introspect_with_a_private_key(
    provider: FapiProvider,
) -> None:
    """IntelliAuth(private_key=...) revokes and introspects through the generated operations."""
    key = _registered(provider)
    async with IntelliAuth(provider.url, client_id=CLIENT_ID, private_key=key) as client:
        tokens = await request_token(
            provider.token_url,
            {"grant_type": "client_credentials"},
            client_id=CLIENT_ID,
            private_key=key,
        )
        assert (await client.introspect(tokens.access_token)).active
        await client.revoke(tokens.access_token)
        assert not (await client.introspect(tokens.access_token)).active
    claims = provider.assertions[-1]["claims"]
    assert claims["aud"] == provider.token_url


async def test_the_private_key_never_shows(
    provider: FapiProvider, caplog: pytest.LogCaptureFixture
) -> None:
    """No repr, str, vars() view, log line, pickle or exception shows the private key."""
    key = _registered(provider)
    pem = _private_pem(key)
    private_d = _private_jwk(key)["d"]
    caplog.set_level(logging.DEBUG)
    auth = ClientCredentials(provider.token_url, CLIENT_ID, private_key=pem, key_id="k1")
    await auth.get_token()
    client = IntelliAuth(provider.url, client_id=CLIENT_ID, private_key=pem)
    shown = [repr(auth), str(auth), repr(client), repr(key), repr(auth._client)]
    shown += [repr(value) for value in vars(auth).values()]
    shown += [repr(value) for value in vars(client).values()]
    shown.append(caplog.text)
    for text in shown:
        assert "PRIVATE KEY" not in text
        assert private_d not in text
    with pytest.raises(TypeError):
        vars(key)
    with pytest.raises(TypeError):
        pickle.dumps(key)
    await auth.aclose()
    await client.aclose()


@pytest.mark.parametrize(
    "material",
    [
        "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5IGF0IGFsbA==\n-----END PRIVATE KEY-----\n",
        '{"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA", "d": "c2VjcmV0LWQ"}',
        {"kty": "oct", "k": "c2VjcmV0LWs"},
        "hunter2-not-a-key",
    ],
)
def test_a_broken_key_is_a_value_error_without_the_key(material: Any) -> None:
    """A key that can not be loaded raises ValueError whose text and chain hold none of it."""
    with pytest.raises(ValueError, match="private key") as caught:
        ClientCredentials("https://auth.example.test/token", CLIENT_ID, private_key=material)
    text = "".join(traceback.format_exception(caught.value))
    for secret in ("bm90IGEga2V5", "c2VjcmV0", "hunter2"):
        assert secret not in text
    assert caught.value.__cause__ is None


def test_a_public_key_or_short_rsa_key_is_refused() -> None:
    """Only private keys sign; RSA under 2048 bits is refused; alg must fit the key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = SigningKey.generate("ES256")
    with pytest.raises(ValueError, match="private"):
        SigningKey.from_jwk(key.public_jwk)
    short = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - refused
    pem = short.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(ValueError, match="too short"):
        SigningKey.from_pem(pem)
    with pytest.raises(ValueError, match="needs an RSA key"):
        SigningKey.from_jwk(_private_jwk(key), alg="PS256")


def test_method_and_credentials_must_agree() -> None:
    """private_key_jwt needs a key; a key with a secret method, or key_id alone, is refused."""
    key = SigningKey.generate("ES256")
    url = "https://auth.example.test/token"
    with pytest.raises(ValueError, match="needs a private_key"):
        ClientCredentials(url, CLIENT_ID, "s", auth_method="private_key_jwt")
    with pytest.raises(ValueError, match="private_key_jwt, not"):
        ClientCredentials(url, CLIENT_ID, "s", private_key=key, auth_method="client_secret_post")
    with pytest.raises(ValueError, match="key_id"):
        ClientCredentials(url, CLIENT_ID, "s", key_id="k1")
    with pytest.raises(ValueError, match="client_secret"):
        IntelliAuth("https://acme.example.test", client_id=CLIENT_ID)
    with pytest.raises(ValueError, match="not both"):
        IntelliAuth(
            "https://acme.example.test", client_id=CLIENT_ID, client_secret="s", private_key=key
        )


def test_the_assertion_claims_without_a_server() -> None:
    """The form of a private_key_jwt request: assertion type, client_id, a JWT, no secret."""
    key = SigningKey.generate("ES256", kid="k9")
    client = ClientAuth.create(client_id=CLIENT_ID, private_key=key)
    request = client.request("https://auth.example.test/token", {"grant_type": "x"})
    form = dict(
        pair.split("=", 1)
        for pair in request.content.decode().split("&")  # no escapes here
    )
    assert form["client_assertion_type"] == (
        "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
    )
    header = json.loads(base64.urlsafe_b64decode(form["client_assertion"].split(".")[0] + "=="))
    assert header == {"typ": "JWT", "alg": "ES256", "kid": "k9"}
    assert "Authorization" not in request.headers


def test_a_secret_client_never_loads_the_jose_library() -> None:
    """Bearer with a secret costs no joserfc import; a private key loads it when given."""
    code = (
        "import asyncio, sys\n"
        "from intelliauth_ext import IntelliAuth, SigningKey\n"
        "client = IntelliAuth('https://tenant.example', client_id='id', client_secret='s')\n"
        "print('joserfc' in sys.modules)\n"
        "asyncio.run(client.aclose())\n"
        "SigningKey.generate('ES256')\n"
        "print('joserfc' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "True"]
