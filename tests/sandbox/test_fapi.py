"""The sandbox's FAPI 2.0 side: private_key_jwt, DPoP-bound tokens, PAR (``_fapi.py``).

Assertions and proofs are made here with joserfc directly, so the sandbox is pinned
independently of the SDK's client side; the SDK's own flows run in tests/e2e.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from intelliauth_ext._dpop import access_token_hash
from intelliauth_ext.testing import Sandbox

from .helpers import bearer, pkce_pair, query_of

pytestmark = pytest.mark.anyio
REDIRECT_URI = "http://127.0.0.1:51234/callback"
TOKEN_URL = "/oauth2/token"


class FapiClient:
    """The FAPI client's side, by hand: its signing key and a DPoP key."""

    def __init__(self, sandbox: Sandbox, dpop_key: ECKey | None = None) -> None:
        assert sandbox.fapi_client is not None
        self.sandbox = sandbox
        self.client_id = sandbox.fapi_client.client_id
        self.key = ECKey.import_key(sandbox.fapi_private_key)
        self.dpop_key = dpop_key if dpop_key is not None else ECKey.generate_key("P-256")

    def assertion(self, *, key: ECKey | None = None, **overrides: Any) -> dict[str, str]:
        """The form fields of a private_key_jwt client authentication (RFC 7523 2.2)."""
        now = int(self.sandbox.clock.now())
        claims: dict[str, Any] = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.sandbox.url + TOKEN_URL,
            "jti": str(uuid.uuid4()),
            "iat": now,
            "exp": now + 60,
            **overrides,
        }
        signed = jwt.encode({"alg": "ES256", "kid": "fapi-1"}, claims, key or self.key)
        return {
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": signed,
        }

    def proof(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        nonce: str | None = None,
        key: ECKey | None = None,
        drop: tuple[str, ...] = (),
    ) -> str:
        """A DPoP proof (RFC 9449 section 4.2) for ``method`` ``path`` of the sandbox."""
        key = key or self.dpop_key
        claims: dict[str, Any] = {
            "jti": str(uuid.uuid4()),
            "htm": method,
            "htu": self.sandbox.url + path,
            "iat": int(self.sandbox.clock.now()),
        }
        if token is not None:
            claims["ath"] = access_token_hash(token)
        if nonce is not None:
            claims["nonce"] = nonce
        for name in drop:
            claims.pop(name)
        header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.as_dict(private=False)}
        return jwt.encode(header, claims, key)

    async def client_credentials(
        self, http: httpx.AsyncClient, *, nonce: str | None = None
    ) -> httpx.Response:
        data = {"grant_type": "client_credentials", "scope": "users:read", **self.assertion()}
        headers = {"DPoP": self.proof("POST", TOKEN_URL, nonce=nonce)}
        return await http.post(TOKEN_URL, data=data, headers=headers)


@pytest.fixture
def sandbox() -> Sandbox:
    """A FAPI sandbox, contract validation on."""
    return Sandbox(validate=True, fapi=True)


@pytest.fixture
def fapi(sandbox: Sandbox) -> FapiClient:
    return FapiClient(sandbox)


def _payload(token: str) -> dict[str, Any]:
    """The claims of a JWT, unverified (the sandbox signed it; its shape is under test)."""
    part = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


async def test_the_metadata_advertises_fapi(http: httpx.AsyncClient, sandbox: Sandbox) -> None:
    """private_key_jwt, DPoP algorithms, the PAR endpoint and its requirement are listed."""
    metadata = (await http.get("/.well-known/openid-configuration")).json()
    assert "private_key_jwt" in metadata["token_endpoint_auth_methods_supported"]
    assert "ES256" in metadata["dpop_signing_alg_values_supported"]
    assert "HS256" not in metadata["dpop_signing_alg_values_supported"]
    assert metadata["pushed_authorization_request_endpoint"] == sandbox.url + "/oauth2/par"
    assert metadata["require_pushed_authorization_requests"] is True


async def test_without_the_setting_par_is_offered_not_required() -> None:
    """A plain sandbox still speaks PAR and DPoP, but requires neither."""
    plain = Sandbox(validate=True)
    async with plain.http_client() as http:
        metadata = (await http.get("/.well-known/openid-configuration")).json()
    assert metadata["require_pushed_authorization_requests"] is False
    assert plain.fapi_client is None
    with pytest.raises(RuntimeError, match="fapi=True"):
        plain.fapi_private_key  # noqa: B018 - the property raises


async def test_client_credentials_give_a_dpop_bound_token(
    http: httpx.AsyncClient, fapi: FapiClient
) -> None:
    """private_key_jwt plus a proof: token_type DPoP, cnf.jkt the proof key's thumbprint."""
    response = await fapi.client_credentials(http)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "DPoP"
    assert _payload(body["access_token"])["cnf"] == {"jkt": fapi.dpop_key.thumbprint()}


async def test_the_api_demands_the_proof_of_a_bound_token(
    http: httpx.AsyncClient, fapi: FapiClient
) -> None:
    """With a proof: 200. As Bearer, without ath, replayed, by another key: 401 DPoP."""
    token = (await fapi.client_credentials(http)).json()["access_token"]
    path = "/api/v1/users"
    proof = fapi.proof("GET", path, token=token)
    headers = {"Authorization": f"DPoP {token}", "DPoP": proof}
    assert (await http.get(path, headers=headers)).status_code == 200

    replayed = await http.get(path, headers=headers)
    assert replayed.status_code == 401
    assert replayed.headers["www-authenticate"].startswith(
        'DPoP realm="intelliauth", error="invalid_dpop_proof"'
    )

    as_bearer = await http.get(path, headers=bearer(token))
    assert as_bearer.status_code == 401
    assert 'error="invalid_token"' in as_bearer.headers["www-authenticate"]

    no_ath = fapi.proof("GET", path, token=token, drop=("ath",))
    refused = await http.get(path, headers={"Authorization": f"DPoP {token}", "DPoP": no_ath})
    assert refused.status_code == 401
    assert "ath" in refused.json()["message"]

    other_key = fapi.proof("GET", path, token=token, key=ECKey.generate_key("P-256"))
    stolen = await http.get(path, headers={"Authorization": f"DPoP {token}", "DPoP": other_key})
    assert stolen.status_code == 401

    wrong_url = fapi.proof("GET", "/api/v1/groups", token=token)
    elsewhere = await http.get(path, headers={"Authorization": f"DPoP {token}", "DPoP": wrong_url})
    assert elsewhere.status_code == 401


async def test_the_fapi_client_must_use_dpop_and_its_key(
    http: httpx.AsyncClient, fapi: FapiClient, sandbox: Sandbox
) -> None:
    """No proof: invalid_dpop_proof; a secret, another key or a replayed assertion: 401."""
    data = {"grant_type": "client_credentials", **fapi.assertion()}
    no_proof = await http.post(TOKEN_URL, data=data)
    assert (no_proof.status_code, no_proof.json()["error"]) == (400, "invalid_dpop_proof")

    dpop = {"DPoP": fapi.proof("POST", TOKEN_URL)}
    replayed = await http.post(TOKEN_URL, data=data, headers=dpop)  # the same assertion
    assert (replayed.status_code, replayed.json()["error"]) == (401, "invalid_client")

    forged = {"grant_type": "client_credentials", **fapi.assertion(key=ECKey.generate_key("P-256"))}
    refused = await http.post(
        TOKEN_URL, data=forged, headers={"DPoP": fapi.proof("POST", TOKEN_URL)}
    )
    assert refused.status_code == 401

    wrong_audience = {"grant_type": "client_credentials", **fapi.assertion(aud="https://elsewhere")}
    refused = await http.post(
        TOKEN_URL, data=wrong_audience, headers={"DPoP": fapi.proof("POST", TOKEN_URL)}
    )
    assert refused.status_code == 401

    secret = {
        "grant_type": "client_credentials",
        "client_id": fapi.client_id,
        "client_secret": "guess",
    }
    assert (await http.post(TOKEN_URL, data=secret)).status_code == 401
    sandbox.check_violations()


async def push(
    http: httpx.AsyncClient, fapi: FapiClient, challenge: str, **extra: str
) -> httpx.Response:
    data = {
        "response_type": "code",
        "client_id": fapi.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile offline_access",
        "state": "s-1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **fapi.assertion(aud=fapi.sandbox.url),
        **extra,
    }
    return await http.post("/oauth2/par", data=data)


async def test_code_flow_with_par_dpop_refresh_and_userinfo(
    http: httpx.AsyncClient, fapi: FapiClient
) -> None:
    """PAR, then a code bound to the DPoP key, refreshed and used at userinfo with proofs."""
    plain = await http.get(
        "/oauth2/authorize",
        params={"client_id": fapi.client_id, "response_type": "code", "redirect_uri": REDIRECT_URI},
    )
    assert plain.status_code == 400  # PAR is required

    verifier, challenge = pkce_pair()
    pushed = await push(http, fapi, challenge, dpop_jkt=fapi.dpop_key.thumbprint())
    assert pushed.status_code == 201, pushed.text
    request_uri = pushed.json()["request_uri"]
    assert pushed.json()["expires_in"] > 0

    browser = {"client_id": fapi.client_id, "request_uri": request_uri}
    redirect = await http.get("/oauth2/authorize", params=browser)
    assert redirect.status_code == 302, redirect.text
    code = query_of(redirect.headers["location"])["code"]
    assert (await http.get("/oauth2/authorize", params=browser)).status_code == 400  # one-time

    exchange = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
        **fapi.assertion(),
    }
    tokens = await http.post(
        TOKEN_URL, data=exchange, headers={"DPoP": fapi.proof("POST", TOKEN_URL)}
    )
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert body["token_type"] == "DPoP"

    userinfo = "/oauth2/userinfo"
    headers = {
        "Authorization": f"DPoP {body['access_token']}",
        "DPoP": fapi.proof("GET", userinfo, token=body["access_token"]),
    }
    me = await http.get(userinfo, headers=headers)
    assert me.status_code == 200, me.text

    refresh = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    other = FapiClient(fapi.sandbox)  # another DPoP key: the refresh token is bound
    refused = await http.post(
        TOKEN_URL,
        data={**refresh, **fapi.assertion()},
        headers={"DPoP": other.proof("POST", TOKEN_URL)},
    )
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")


async def test_a_code_bound_by_dpop_jkt_needs_that_key(
    http: httpx.AsyncClient, fapi: FapiClient
) -> None:
    """RFC 9449 section 10: the code exchange must prove the dpop_jkt key."""
    verifier, challenge = pkce_pair()
    pushed = await push(http, fapi, challenge, dpop_jkt=fapi.dpop_key.thumbprint())
    browser = {"client_id": fapi.client_id, "request_uri": pushed.json()["request_uri"]}
    code = query_of((await http.get("/oauth2/authorize", params=browser)).headers["location"])[
        "code"
    ]
    other = FapiClient(fapi.sandbox)
    exchange = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
        **fapi.assertion(),
    }
    refused = await http.post(
        TOKEN_URL, data=exchange, headers={"DPoP": other.proof("POST", TOKEN_URL)}
    )
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")


async def test_a_pushed_request_expires_and_is_checked(
    http: httpx.AsyncClient, fapi: FapiClient, sandbox: Sandbox
) -> None:
    """A bad pushed request is refused at once; a request_uri dies after expires_in."""
    _, challenge = pkce_pair()
    bad = await push(http, fapi, challenge, redirect_uri="https://evil.example/cb")
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_request")
    no_pkce = await push(http, fapi, challenge, code_challenge_method="plain")
    assert no_pkce.status_code == 400
    pushed = await push(http, fapi, challenge)
    sandbox.clock.advance(pushed.json()["expires_in"] + 1)
    browser = {"client_id": fapi.client_id, "request_uri": pushed.json()["request_uri"]}
    assert (await http.get("/oauth2/authorize", params=browser)).status_code == 400


async def test_nonces_are_demanded_and_handed_out() -> None:
    """With dpop_nonces: use_dpop_nonce and a DPoP-Nonce, at the token endpoint and the API."""
    sandbox = Sandbox(validate=True, fapi=True, dpop_nonces=True)
    fapi = FapiClient(sandbox)
    async with sandbox.http_client() as http:
        first = await fapi.client_credentials(http)
        assert (first.status_code, first.json()["error"]) == (400, "use_dpop_nonce")
        nonce = first.headers["dpop-nonce"]
        second = await fapi.client_credentials(http, nonce=nonce)
        assert second.status_code == 200, second.text
        token = second.json()["access_token"]
        path = "/api/v1/users"
        headers = {"Authorization": f"DPoP {token}", "DPoP": fapi.proof("GET", path, token=token)}
        refused = await http.get(path, headers=headers)
        assert refused.status_code == 401
        assert 'error="use_dpop_nonce"' in refused.headers["www-authenticate"]
        nonce = refused.headers["dpop-nonce"]
        proof = fapi.proof("GET", path, token=token, nonce=nonce)
        ok = await http.get(path, headers={"Authorization": f"DPoP {token}", "DPoP": proof})
        assert ok.status_code == 200, ok.text
    sandbox.check_violations()


@pytest.mark.parametrize(
    ("audience", "status"),
    [(["ISSUER", "https://other.test"], 200), ([{"not": "a string"}], 401), (7, 401)],
)
async def test_an_assertion_audience_may_be_a_list(
    http: httpx.AsyncClient, fapi: FapiClient, audience: Any, status: int
) -> None:
    """aud is a string or a list holding the issuer or the endpoint; other shapes: 401."""
    if isinstance(audience, list) and "ISSUER" in audience:
        audience = [fapi.sandbox.url, *audience[1:]]
    data = {"grant_type": "client_credentials", **fapi.assertion(aud=audience)}
    response = await http.post(
        TOKEN_URL, data=data, headers={"DPoP": fapi.proof("POST", TOKEN_URL)}
    )
    assert response.status_code == status, response.text
