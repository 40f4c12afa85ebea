"""A FAPI 2.0-style sign-in, narrated: private_key_jwt, DPoP-bound tokens and PAR.

    make demo                 # runs it after the quickstart
    python examples/fapi.py   # the same: against an embedded sandbox tenant on 127.0.0.1

The sandbox runs with its FAPI setting (``Sandbox(fapi=True, dpop_nonces=True)``): its
FAPI application has no client secret (it signs client assertions with its private key,
RFC 7523), gets only DPoP-bound tokens (RFC 9449, with server nonces) and must push its
authorization requests (RFC 9126). The script then protects an API of its own with
``require_token``, which checks the DPoP proof of every request, and shows that a stolen
token is refused without the key. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
import httpx
from fastapi import Depends, FastAPI

from intelliauth_ext import (
    AuthorizationCodeFlow,
    ClientCredentials,
    DPoPKey,
    IntelliAuth,
    RefreshingAuth,
    VerifiedToken,
)
from intelliauth_ext.fastapi import intelliauth_lifespan, require_token
from intelliauth_ext.testing import Sandbox

REDIRECT_URI = "http://127.0.0.1:8977/callback"
#: The identifier of "your" API, which the tokens for it carry as their audience.
API = "http://accounts.bank.test"


def step(number: int, title: str) -> None:
    """Print a step's heading."""
    print(f"\n{number}. {title}", flush=True)


def say(text: str) -> None:
    """Print one line of a step."""
    print(f"   {text}", flush=True)


def bound_key(token: str) -> str:
    """The ``cnf.jkt`` a JWT access token is bound to (read, not verified: for display)."""
    part = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return str(claims.get("cnf", {}).get("jkt"))


def accounts_api(tenant_url: str) -> FastAPI:
    """Your own API: one route that takes only verified, DPoP-checked tokens."""
    app = FastAPI(lifespan=intelliauth_lifespan(tenant_url, audience=API))

    @app.get("/accounts")
    async def accounts(
        token: Annotated[VerifiedToken, Depends(require_token(["users:read"]))],
    ) -> dict[str, Any]:
        return {"owner": token.subject, "accounts": ["GB33BUKB20201555555555"]}

    return app


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncBaseTransport]:
    """The app in process, its lifespan entered (the IntelliAuth client it verifies with)."""
    async with app.router.lifespan_context(app):
        yield httpx.ASGITransport(app=app)


async def main() -> None:
    """Run the four steps against an embedded FAPI sandbox."""
    async with Sandbox.serve(fapi=True, dpop_nonces=True) as sandbox:
        assert sandbox.fapi_client is not None
        client_id, private_key = sandbox.fapi_client.client_id, sandbox.fapi_private_key
        token_url = f"{sandbox.url}/oauth2/token"
        print(f"A FAPI 2.0-style tenant at {sandbox.url}: PAR, private_key_jwt and DPoP required")

        step(1, "A DPoP key: the tokens will be useless without it")
        dpop = DPoPKey.generate("ES256")
        say(repr(dpop))

        step(2, "Machine to machine: private_key_jwt, no client secret; DPoP-bound token")
        async with IntelliAuth(
            sandbox.url, client_id=client_id, private_key=private_key, key_id="fapi-1", dpop=dpop
        ) as client:
            page = await client.users.list(limit=5)
            say(f"users.list: {len(page.items)} user(s), each call with a fresh DPoP proof")
        say(f"token requests: {sandbox.served.statuses('requestToken')} (a nonce retry, then 200)")

        step(3, "A user signs in: the request is pushed (PAR), the browser sees only its handle")
        flow = AuthorizationCodeFlow(
            sandbox.url,
            client_id,
            redirect_uri=REDIRECT_URI,
            scopes=["openid", "profile", "offline_access"],
            private_key=private_key,
            key_id="fapi-1",
            dpop=dpop,
        )
        request = await flow.start()
        say(f"browser goes to: {request.url}")
        async with httpx.AsyncClient() as browser:  # the sandbox signs Ada in at once
            callback = (await browser.get(request.url)).headers["location"]
        tokens = await flow.complete(callback, expected_state=request.state)
        say(f"token_type {tokens.token_type}, bound to {bound_key(tokens.access_token)}")
        user_auth = RefreshingAuth(
            tokens,
            token_url=token_url,
            client_id=client_id,
            private_key=private_key,
            key_id="fapi-1",
            dpop=dpop,
        )
        async with IntelliAuth(sandbox.url, auth=user_auth) as as_user:
            info = await as_user.oauth2.get_user_info()
            say(f"userinfo: {info.name} ({info.sub})")

        step(4, "Your own API checks the proofs: require_token with DPoP")
        machine = ClientCredentials(
            token_url,
            client_id,
            private_key=private_key,
            key_id="fapi-1",
            dpop=dpop,
            audience=API,
            scopes=["users:read"],
        )
        async with serving(accounts_api(sandbox.url)) as transport:
            async with httpx.AsyncClient(transport=transport, base_url=API, auth=machine) as api:
                answer = await api.get("/accounts")
                say(f"with the key: {answer.status_code} {answer.json()}")
            stolen = (await machine.get_token()).access_token
            async with httpx.AsyncClient(transport=transport, base_url=API) as thief:
                refused = await thief.get(
                    "/accounts", headers={"Authorization": f"Bearer {stolen}"}
                )
            say(f"the same token, stolen and sent as Bearer: {refused.status_code}")
            say(f"  WWW-Authenticate: {refused.headers['www-authenticate']}")
        await machine.aclose()
        await user_auth.aclose()
    print("\nDone.", flush=True)


if __name__ == "__main__":
    anyio.run(main)
