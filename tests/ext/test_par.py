"""Pushed authorization requests (RFC 9126) in AuthorizationCodeFlow, over a real server.

The provider is ``FapiProvider``: its authorization endpoint takes only pushed requests
(when ``require_par``), and its PAR endpoint checks the client assertion and DPoP proof.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from intelliauth_ext import (
    APIResponseValidationError,
    AuthorizationCodeFlow,
    DPoPKey,
    InvalidCallbackError,
    InvalidClientError,
    SigningKey,
)

from .auth_fakes import FakeClock
from .fapi_provider import CLIENT_ID, REDIRECT_URI, FapiProvider

pytestmark = pytest.mark.anyio


@pytest.fixture
def provider() -> Iterator[FapiProvider]:
    """A FAPI-style provider on 127.0.0.1 that takes pushed requests only."""
    with FapiProvider().running() as running:
        yield running


@pytest.fixture
def client_key(provider: FapiProvider) -> SigningKey:
    """The client's private_key_jwt key, registered with the provider."""
    key = SigningKey.generate("PS256", kid="k1")
    provider.register_key(CLIENT_ID, key.public_jwk)
    return key


def _flow(provider: FapiProvider, key: SigningKey, **options: Any) -> AuthorizationCodeFlow:
    return AuthorizationCodeFlow(
        provider.url, CLIENT_ID, REDIRECT_URI, ["profile"], private_key=key, **options
    )


async def _browser(url: str) -> str:
    """What a browser does: follow the authorization URL to the callback's Location."""
    async with httpx.AsyncClient() as http:
        response = await http.get(url)
    assert response.status_code == 302, response.text
    return response.headers["Location"]


async def test_par_true_pushes_and_the_url_carries_only_client_id_and_request_uri(
    provider: FapiProvider, client_key: SigningKey
) -> None:
    """par=True: the parameters go to the PAR endpoint; the browser URL has two of them."""
    provider.require_par = False  # pushed because the client asked
    dpop = DPoPKey.generate("ES256")
    flow = _flow(provider, client_key, dpop=dpop, par=True)
    request = await flow.start(prompt="login")
    url = httpx.URL(request.url)
    assert sorted(url.params.keys()) == ["client_id", "request_uri"]
    assert url.params["client_id"] == CLIENT_ID
    pushed = next(iter(provider.pushed.values()))
    assert pushed["state"] == request.state
    assert pushed["dpop_jkt"] == dpop.jkt
    assert pushed["code_challenge_method"] == "S256"
    assert pushed["prompt"] == "login"
    assert provider.assertions[-1]["claims"]["aud"] == provider.url  # the issuer
    assert provider.proofs[-1]["htu"] == provider.par_url  # the push carried a proof
    tokens = await flow.complete(await _browser(request.url), expected_state=request.state)
    assert tokens.token_type == "DPoP"


async def test_par_is_automatic_when_the_metadata_requires_it(
    provider: FapiProvider, client_key: SigningKey
) -> None:
    """require_pushed_authorization_requests in the metadata: pushed without par=True."""
    flow = _flow(provider, client_key)
    request = await flow.start()
    assert "request_uri" in httpx.URL(request.url).params
    tokens = await flow.complete(await _browser(request.url))
    assert tokens.token_type == "Bearer"


async def test_without_par_the_provider_refuses_the_request(
    provider: FapiProvider, client_key: SigningKey
) -> None:
    """par=False sends the parameters in the URL, which this provider does not take."""
    flow = _flow(provider, client_key, par=False)
    request = await flow.start()
    assert "code_challenge" in httpx.URL(request.url).params
    async with httpx.AsyncClient() as http:
        assert (await http.get(request.url)).status_code == 400


async def test_the_sign_in_expires_with_the_request_uri(
    provider: FapiProvider, client_key: SigningKey
) -> None:
    """expires_in 30 s with state_ttl 600 s: the pending sign-in expires after 30 s."""
    provider.par_expires_in = 30
    clock = FakeClock(wall=time.time())
    flow = _flow(provider, client_key, state_ttl=600, clock=clock)
    request = await flow.start()
    assert request.expires_at == pytest.approx(clock.time() + 30)
    callback = await _browser(request.url)
    clock.advance(31)
    with pytest.raises(InvalidCallbackError) as caught:
        await flow.complete(callback)
    assert caught.value.check == "expiry"


async def test_the_push_answers_a_nonce_challenge(
    provider: FapiProvider, client_key: SigningKey
) -> None:
    """The PAR endpoint's use_dpop_nonce is answered once with its nonce."""
    provider.token_nonce = "par-nonce"
    dpop = DPoPKey.generate("ES256")
    request = await _flow(provider, client_key, dpop=dpop).start()
    assert "request_uri" in httpx.URL(request.url).params
    assert provider.refusals == ["token nonce missing"]
    assert provider.proofs[-1]["nonce"] == "par-nonce"


async def test_a_refused_push_raises_the_oauth_error(provider: FapiProvider) -> None:
    """A client the PAR endpoint does not know: InvalidClientError through _errors."""
    stranger = SigningKey.generate("ES256")
    with pytest.raises(InvalidClientError):
        await _flow(provider, stranger).start()


@pytest.mark.parametrize(
    "body",
    [
        {"expires_in": 60},
        {"request_uri": "", "expires_in": 60},
        {"request_uri": "urn:x", "expires_in": 0},
        {"request_uri": "urn:x", "expires_in": "60"},
        {"request_uri": "urn:x\n", "expires_in": 60},
        ["request_uri"],
    ],
)
async def test_a_broken_push_answer_is_a_validation_error(
    provider: FapiProvider, client_key: SigningKey, body: Any
) -> None:
    """A 201 without a usable request_uri and expires_in: APIResponseValidationError."""
    provider.server.json_route("POST", "/par", 201, body)
    with pytest.raises(APIResponseValidationError):
        await _flow(provider, client_key).start()


async def test_the_flow_sets_the_par_parameters_itself(
    provider: FapiProvider, client_key: SigningKey
) -> None:
    """request_uri, request and dpop_jkt are not extras; a push without endpoint is refused."""
    flow = _flow(provider, client_key)
    for name in ("request_uri", "request", "dpop_jkt"):
        with pytest.raises(ValueError, match=name):
            await flow.start(**{name: "x"})
    metadata = {**provider.metadata(), "pushed_authorization_request_endpoint": None}
    flow = AuthorizationCodeFlow(metadata, CLIENT_ID, REDIRECT_URI, par=True)
    with pytest.raises(ValueError, match="pushed_authorization_request_endpoint"):
        await flow.start()
