"""Authorization code with PKCE: auto-approve, S256 checked for real, single-use codes."""

from __future__ import annotations

import httpx
import pytest

from intelliauth_ext.testing import Sandbox

from .helpers import pkce_pair, query_of

pytestmark = pytest.mark.anyio
REDIRECT_URI = "http://127.0.0.1:51234/callback"  # any loopback port matches (RFC 8252 7.3)


async def _authorize(
    http: httpx.AsyncClient, client_id: str, challenge: str | None, **extra: str
) -> httpx.Response:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile email offline_access",
        "state": "xyz-state",
        "nonce": "nonce-0S6-abc",
        **({"code_challenge": challenge, "code_challenge_method": "S256"} if challenge else {}),
        **extra,
    }
    return await http.get("/oauth2/authorize", params=params)


async def test_pkce_round_trip(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    """A public client gets code+state+iss back and redeems it with the right verifier."""
    client = sandbox.add_client(public=True)
    verifier, challenge = pkce_pair()
    redirect = await _authorize(http, client.client_id, challenge)
    assert redirect.status_code == 302
    params = query_of(redirect.headers["location"])
    assert params["state"] == "xyz-state"
    assert params["iss"] == sandbox.url  # RFC 9207
    response = await http.post(
        "/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "client_id": client.client_id,
            "code": params["code"],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
    )
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert {"access_token", "id_token", "refresh_token"} <= tokens.keys()


async def test_a_wrong_verifier_fails_and_burns_the_code(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """A verifier that does not hash to the challenge is invalid_grant; the code is spent."""
    client = sandbox.add_client(public=True)
    verifier, challenge = pkce_pair()
    code = query_of((await _authorize(http, client.client_id, challenge)).headers["location"])[
        "code"
    ]
    wrong_verifier, _ = pkce_pair()
    form = {
        "grant_type": "authorization_code",
        "client_id": client.client_id,
        "code": code,
        "redirect_uri": REDIRECT_URI,
    }
    wrong = await http.post("/oauth2/token", data={**form, "code_verifier": wrong_verifier})
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    retry = await http.post("/oauth2/token", data={**form, "code_verifier": verifier})
    assert retry.json()["error"] == "invalid_grant"


async def test_confidential_client_with_basic_auth(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """The ready confidential client redeems a code with Basic auth plus the verifier."""
    verifier, challenge = pkce_pair()
    location = (await _authorize(http, sandbox.client_id, challenge)).headers["location"]
    response = await http.post(
        "/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": query_of(location)["code"],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        auth=(sandbox.client_id, sandbox.client_secret),
    )
    assert response.status_code == 200, response.text


async def test_missing_pkce_is_an_error_redirect(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    """Without a code_challenge the error goes back to the client (RFC 6749 4.1.2.1)."""
    redirect = await _authorize(http, sandbox.client_id, None)
    assert redirect.status_code == 302
    params = query_of(redirect.headers["location"])
    assert params["error"] == "invalid_request"
    assert params["state"] == "xyz-state"


async def test_an_unregistered_redirect_uri_is_not_followed(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """An unknown redirect_uri gets a 400 from the server itself, never a redirect."""
    _, challenge = pkce_pair()
    response = await http.get(
        "/oauth2/authorize",
        params={
            "response_type": "code",
            "client_id": sandbox.client_id,
            "redirect_uri": "https://evil.example/cb",
            "scope": "openid",
            "state": "state-12345",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_without_auto_approve_the_login_page_signs_in(http: httpx.AsyncClient) -> None:
    """With auto-approve off the browser lands on the login page, whose form signs in."""
    from intelliauth_ext.testing import TEST_USER_EMAIL, TEST_USER_PASSWORD

    sandbox = Sandbox(auto_approve=False)
    _, challenge = pkce_pair()
    async with sandbox.http_client() as browser:
        redirect = await _authorize(browser, sandbox.client_id, challenge)
        login = httpx.URL(redirect.headers["location"])
        assert login.path == "/_sandbox/login"
        page = await browser.get(login)
        assert page.status_code == 200
        assert "<form" in page.text
        submitted = await browser.post(
            "/_sandbox/login",
            data={**dict(login.params), "email": TEST_USER_EMAIL, "password": TEST_USER_PASSWORD},
        )
    assert submitted.status_code == 302
    assert "code" in query_of(submitted.headers["location"])
    sandbox.check_violations()
