"""Servers that abuse DPoP nonces, PAR answers and token types, on a real loopback server.

* a token endpoint or resource that demands a new nonce on every request gets one retry,
  never a loop;
* a ``DPoP-Nonce`` that is huge or holds characters RFC 9449 section 8.1 forbids is not
  remembered (nor put into a proof);
* the nonces a key remembers are bounded, whatever origins a server sends it to;
* a PAR endpoint that answers a huge body, or keeps failing, raises the documented errors;
* a ``dpop`` token type in any case is a DPoP token; a DPoP token to a client without a
  key is refused.
"""

from __future__ import annotations

import base64
import http.server
import json
from typing import Any

import httpx
import pytest
from ext.servers import LocalServer

from intelliauth_ext import (
    AuthorizationCodeFlow,
    ClientCredentials,
    DPoPKey,
    InternalServerError,
    OAuthError,
    ResponseTooLargeError,
)
from intelliauth_ext._dpop import MAX_REMEMBERED_NONCES

pytestmark = pytest.mark.anyio

Answer = tuple[int, dict[str, str], bytes]


def _claims(jws: str) -> dict[str, Any]:
    payload = jws.split(".")[1]
    value = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert isinstance(value, dict)
    return value


def _token_answer(token_type: str = "DPoP") -> Answer:
    body = {"access_token": "at-1", "token_type": token_type, "expires_in": 300}
    return 200, {}, json.dumps(body).encode()


async def test_a_token_endpoint_that_always_wants_a_new_nonce_gets_two_requests(
    local_server: LocalServer,
) -> None:
    """400 use_dpop_nonce with a fresh nonce each time: one retry, then the OAuthError."""
    count = 0

    def token(handler: http.server.BaseHTTPRequestHandler, body: bytes) -> Answer:
        nonlocal count
        count += 1
        error = json.dumps({"error": "use_dpop_nonce"}).encode()
        return 400, {"DPoP-Nonce": f"n{count}"}, error

    local_server.routes[("POST", "/token")] = token
    auth = ClientCredentials(f"{local_server.url}/token", "c", "s", dpop=DPoPKey.generate())
    with pytest.raises(OAuthError) as caught:
        await auth.get_token()
    await auth.aclose()
    assert caught.value.error == "use_dpop_nonce"
    assert count == 2


@pytest.mark.parametrize("nonce", ["x" * 5000, "bad nonce", 'quote"d', "back\\slash", "caf\u00e9"])
async def test_a_malformed_nonce_is_not_remembered(local_server: LocalServer, nonce: str) -> None:
    """A nonce over 1 KiB or outside NQCHAR is ignored: no proof carries it."""
    proofs: list[str] = []

    def token(handler: http.server.BaseHTTPRequestHandler, body: bytes) -> Answer:
        proofs.append(handler.headers["DPoP"])
        return 200, {"DPoP-Nonce": nonce.encode("utf-8").decode("latin-1")}, _token_answer()[2]

    local_server.routes[("POST", "/token")] = token
    dpop = DPoPKey.generate()
    async with ClientCredentials(f"{local_server.url}/token", "c", "s", dpop=dpop) as auth:
        await auth.get_token()
        auth.invalidate()
        await auth.get_token()
    assert dpop.nonce_for(local_server.url) is None
    assert all("nonce" not in _claims(proof) for proof in proofs)


def test_remembered_nonces_are_bounded() -> None:
    """Nonces from many origins: at most MAX_REMEMBERED_NONCES kept, the newest ones."""
    dpop = DPoPKey.generate()
    for port in range(1000, 1000 + MAX_REMEMBERED_NONCES + 50):
        request = httpx.Request("GET", f"https://api.example.test:{port}/")
        dpop.learn_nonce(httpx.Response(200, headers={"DPoP-Nonce": "n"}, request=request))
    assert len(dpop._nonces) == MAX_REMEMBERED_NONCES
    assert dpop.nonce_for("https://api.example.test:1000/") is None
    assert dpop.nonce_for(f"https://api.example.test:{1000 + MAX_REMEMBERED_NONCES + 49}/")


async def test_a_resource_that_always_challenges_is_not_looped(
    local_server: LocalServer,
) -> None:
    """A resource answering use_dpop_nonce forever sees a bounded number of requests."""
    calls = 0

    def resource(handler: http.server.BaseHTTPRequestHandler, body: bytes) -> Answer:
        nonlocal calls
        calls += 1
        challenge = {"WWW-Authenticate": 'DPoP error="use_dpop_nonce"', "DPoP-Nonce": f"r{calls}"}
        return 401, challenge, b""

    local_server.routes[("POST", "/token")] = lambda handler, body: _token_answer()
    local_server.routes[("GET", "/api")] = resource
    async with (
        ClientCredentials(f"{local_server.url}/token", "c", "s", dpop=DPoPKey.generate()) as auth,
        httpx.AsyncClient(auth=auth) as http,
    ):
        response = await http.get(f"{local_server.url}/api")
    assert response.status_code == 401
    assert calls == 3  # the request, its nonce retry, the replay with a new token


async def test_token_type_case_is_ignored_and_a_keyless_client_refuses_dpop(
    local_server: LocalServer,
) -> None:
    """'dpop' is DPoP for a client with a key; a client without one refuses the token."""
    local_server.routes[("POST", "/token")] = lambda handler, body: _token_answer("dpop")
    async with ClientCredentials(
        f"{local_server.url}/token", "c", "s", dpop=DPoPKey.generate()
    ) as auth:
        assert (await auth.get_token()).authorization == "DPoP at-1"
    async with ClientCredentials(f"{local_server.url}/token", "c", "s") as keyless:
        with pytest.raises(OAuthError, match="dpop="):
            await keyless.get_token()


def _par_metadata(server: LocalServer) -> dict[str, Any]:
    return {
        "issuer": server.url,
        "authorization_endpoint": f"{server.url}/authorize",
        "token_endpoint": f"{server.url}/token",
        "pushed_authorization_request_endpoint": f"{server.url}/par",
        "require_pushed_authorization_requests": True,
    }


async def test_a_huge_par_answer_stops_at_the_limit(local_server: LocalServer) -> None:
    """A 201 of 2 MiB: ResponseTooLargeError, read no further than the 1 MiB bound."""
    huge = b'{"request_uri": "' + b"x" * (2 * 1024 * 1024) + b'", "expires_in": 60}'
    local_server.routes[("POST", "/par")] = lambda handler, body: (201, {}, huge)
    flow = AuthorizationCodeFlow(
        _par_metadata(local_server), "c", "http://127.0.0.1/cb", client_secret="s"
    )
    with pytest.raises(ResponseTooLargeError):
        await flow.start()


async def test_a_failing_par_endpoint_is_an_internal_server_error(
    local_server: LocalServer,
) -> None:
    """503 on every push: retried as token requests are, then InternalServerError."""
    count = 0

    def par(handler: http.server.BaseHTTPRequestHandler, body: bytes) -> Answer:
        nonlocal count
        count += 1
        return 503, {}, b"<html>down</html>"

    local_server.routes[("POST", "/par")] = par
    flow = AuthorizationCodeFlow(
        _par_metadata(local_server), "c", "http://127.0.0.1/cb", client_secret="s"
    )
    with pytest.raises(InternalServerError):
        await flow.start()
    assert count == 3  # the first attempt and the two retries of token requests
