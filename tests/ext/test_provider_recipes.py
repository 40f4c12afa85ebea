"""One recipe per provider style in the seed documents, end to end on an httpx.AsyncClient."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

import httpx
import pytest
import respx

from intelliauth_ext._auth import ClientCredentials, RefreshingAuth, StaticToken
from intelliauth_ext._token_set import TokenSet

from .auth_fakes import WALL_START, FakeClock

pytestmark = pytest.mark.anyio

FOURTEEN_DAYS = 14 * 24 * 3600


async def test_intelliauth_form_body_with_audience_and_scopes() -> None:
    """Seed 000: form-body client credentials with audience and scopes, expires_in 3600."""
    with respx.mock() as router:
        token_route = router.post("https://acme.intelliauth.test/oauth2/token").respond(
            json={
                "access_token": "ia-1",
                "token_type": "Bearer",
                "expires_in": 3600,
                "scope": "users:read audit:read",
            }
        )
        router.get("https://acme.intelliauth.test/api/v1/me/profile").respond(json={"data": {}})
        auth = ClientCredentials(
            "https://acme.intelliauth.test/oauth2/token",
            "client-id",
            "client-secret",
            audience="https://api.cymmetri.com",
            scopes="users:read audit:read",
        )
        async with httpx.AsyncClient(auth=auth) as http:
            response = await http.get("https://acme.intelliauth.test/api/v1/me/profile")
        assert response.status_code == 200
        assert response.request.headers["authorization"] == "Bearer ia-1"
        assert dict(parse_qsl(token_route.calls[0].request.content.decode())) == {
            "grant_type": "client_credentials",
            "client_id": "client-id",
            "client_secret": "client-secret",
            "audience": "https://api.cymmetri.com",
            "scope": "audit:read users:read",  # sorted: scopes are a set
        }
        assert (await auth.get_token()).scope == ("audit:read", "users:read")


async def test_json_body_client_credentials_with_audience() -> None:
    """Seed 001 (Auth0-style): a JSON token request with audience; no refresh token issued."""
    with respx.mock() as router:
        token_route = router.post("https://auth.intermezzo.ai/oauth/token").respond(
            json={"access_token": "ey.mezzo", "token_type": "Bearer", "expires_in": 86400}
        )
        api = router.get("https://api.intermezzo.ai/v1/things").respond(json={"data": []})
        auth = ClientCredentials(
            "https://auth.intermezzo.ai/oauth/token",
            "RFWrUzk93pUmHCNFuKLto2c239LZKoVO",
            "3wdY-iAPrE8LcYo2X_NhJh38",
            audience="https://api.intermezzo.ai",
            auth_method="client_secret_json",
        )
        async with httpx.AsyncClient(auth=auth) as http:
            for _ in range(3):
                assert (await http.get("https://api.intermezzo.ai/v1/things")).status_code == 200
        request = token_route.calls[0].request
        assert request.headers["content-type"] == "application/json"
        assert json.loads(request.content) == {
            "client_id": "RFWrUzk93pUmHCNFuKLto2c239LZKoVO",
            "client_secret": "3wdY-iAPrE8LcYo2X_NhJh38",
            "audience": "https://api.intermezzo.ai",
            "grant_type": "client_credentials",
        }
        assert token_route.call_count == 1
        assert api.call_count == 3


async def test_form_body_fourteen_day_token_with_expires_at_lifetime_and_reauth_on_401() -> None:
    """Seed 003: "expires_at": 1209600 is a 14-day lifetime; a 401 before then re-authenticates."""
    clock = FakeClock()
    issued = 0

    def issue(request: httpx.Request) -> httpx.Response:
        nonlocal issued
        issued += 1
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        return httpx.Response(
            200,
            json={
                "access_token": f"intigriti-{issued}",
                "expires_at": 1209600,
                "token_type": "Bearer",
                "scope": "external_api",
            },
        )

    revoked: set[str] = set()

    def api(request: httpx.Request) -> httpx.Response:
        token = request.headers["authorization"].removeprefix("Bearer ")
        return httpx.Response(401 if token in revoked else 200, json={})

    with respx.mock() as router:
        router.post("https://login.intigriti.com/connect/token").mock(side_effect=issue)
        router.route(host="api.intigriti.com").mock(side_effect=api)
        auth = ClientCredentials(
            "https://login.intigriti.com/connect/token",
            "intigriti-client",
            "intigriti-secret",
            clock=clock,
        )
        async with httpx.AsyncClient(auth=auth) as http:
            await http.get("https://api.intigriti.com/external/company/v2/programs")
            token = await auth.get_token()
            assert token.lifetime == FOURTEEN_DAYS
            assert token.expires_at == WALL_START + FOURTEEN_DAYS
            clock.advance(FOURTEEN_DAYS - 61)  # reused for (almost) 14 days
            await http.get("https://api.intigriti.com/external/company/v2/programs")
            assert issued == 1
            revoked.add("intigriti-1")  # "request a new access token when the API returns a 401"
            response = await http.get("https://api.intigriti.com/external/company/v2/programs")
            assert response.status_code == 200
            assert response.request.headers["authorization"] == "Bearer intigriti-2"
            assert issued == 2


async def test_static_service_token() -> None:
    """Seed 002 (Authlete): a hand-issued service token on every request; a 401 is final."""
    with respx.mock() as router:
        route = router.get("https://us.authlete.com/api/service/get/list").mock(
            side_effect=[httpx.Response(200, json={}), httpx.Response(401, json={})]
        )
        auth = StaticToken("Bearer svc-token-from-console\n")  # as pasted from the console
        async with httpx.AsyncClient(auth=auth) as http:
            first = await http.get("https://us.authlete.com/api/service/get/list")
            second = await http.get("https://us.authlete.com/api/service/get/list")
        assert first.request.headers["authorization"] == "Bearer svc-token-from-console"
        assert (first.status_code, second.status_code) == (200, 401)
        assert route.call_count == 2


def test_static_service_token_on_a_sync_client() -> None:
    """Seed 002: StaticToken also works on a synchronous httpx.Client; junk is refused."""
    auth = StaticToken("svc-token-from-console")
    with httpx.Client(
        auth=auth,
        transport=httpx.MockTransport(
            lambda request: httpx.Response(200, text=request.headers["authorization"])
        ),
    ) as sync_http:
        assert sync_http.get("https://us.authlete.com/x").text == "Bearer svc-token-from-console"
    with pytest.raises(ValueError, match="header"):
        StaticToken("two words")


async def test_refresh_token_rotation_with_secret_in_json_body() -> None:
    """Seed 001 refresh: JSON body with the client secret; each rotated token is persisted."""
    clock = FakeClock()
    generation = 0
    persisted: list[dict[str, object]] = []

    def token_endpoint(request: httpx.Request) -> httpx.Response:
        nonlocal generation
        body = json.loads(request.content)
        assert body["grant_type"] == "refresh_token"
        assert body["client_secret"] == "your_client_secret"
        if body["refresh_token"] != f"v1.rt-{generation}":
            return httpx.Response(403, json={"error": "invalid_grant"})
        generation += 1
        return httpx.Response(
            200,
            json={
                "access_token": f"at-{generation}",
                "refresh_token": f"v1.rt-{generation}",
                "expires_in": 86400,
                "token_type": "Bearer",
            },
        )

    async def persist(token_set: TokenSet) -> None:
        persisted.append(token_set.as_dict())

    with respx.mock() as router:
        router.post("https://auth.intermezzo.ai/oauth/token").mock(side_effect=token_endpoint)
        router.get("https://api.intermezzo.ai/v1/me").respond(json={})
        auth = RefreshingAuth(
            TokenSet(access_token="at-0", refresh_token="v1.rt-0", expires_at=WALL_START + 86400),
            token_url="https://auth.intermezzo.ai/oauth/token",
            client_id="your_client_id",
            client_secret="your_client_secret",
            auth_method="client_secret_json",
            on_token_update=persist,
            clock=clock,
        )
        async with httpx.AsyncClient(auth=auth) as http:
            for day in range(1, 4):
                clock.advance(86400)
                response = await http.get("https://api.intermezzo.ai/v1/me")
                assert response.request.headers["authorization"] == f"Bearer at-{day}"
    assert [entry["refresh_token"] for entry in persisted] == ["v1.rt-1", "v1.rt-2", "v1.rt-3"]
    restored = TokenSet.from_dict(persisted[-1])
    assert restored.refresh_token == "v1.rt-3"
