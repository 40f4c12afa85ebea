"""What only the aiohttp integration has (token_middleware), and two aiohttp workers on Redis.

The tests it shares with FastAPI are in test_frameworks.py.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import anyio
import httpx
import pytest
from aiohttp import web
from ext.redis_server import redis_server

from intelliauth_ext import InvalidCallbackError
from intelliauth_ext.testing import TEST_USER_EMAIL, TEST_USER_PASSWORD, Sandbox

from .drivers import serve_aiohttp
from .helpers import AUDIENCE, bearer, mint_token

pytestmark = pytest.mark.anyio

CALLBACK = "http://localhost:8000/callback"
SECRET = "a-32-byte-secret-for-the-two-workers"


async def test_the_middleware_protects_every_route_but_the_public_ones(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    """token_middleware: 401 without a token, 200 with one, public paths open to all."""
    from intelliauth_ext.aiohttp import VERIFIED_TOKEN, intelliauth_context, token_middleware

    async def who(request: web.Request) -> web.Response:
        return web.json_response({"caller": request[VERIFIED_TOKEN].subject})

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application(middlewares=[token_middleware(["users:read"], public=["/health"])])
    app.cleanup_ctx.append(
        intelliauth_context(
            sandbox.url,
            audience=AUDIENCE,
            clock=sandbox.clock,
            client_id=sandbox.client_id,
            client_secret=sandbox.client_secret,
        )
    )
    app.router.add_get("/who", who)
    app.router.add_get("/health", health)
    async with serve_aiohttp(app) as url:
        missing = await http.get(f"{url}/who")
        token = await mint_token(sandbox, http, "users:read")
        allowed = await http.get(f"{url}/who", headers=bearer(token))
        narrow = await mint_token(sandbox, http, "groups:read")
        refused = await http.get(f"{url}/who", headers=bearer(narrow))
        public = await http.get(f"{url}/health")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert (allowed.status_code, allowed.json()) == (200, {"caller": sandbox.client_id})
    assert refused.status_code == 403
    assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]
    assert public.json() == {"ok": True}


async def test_two_workers_share_sign_ins_and_sessions_through_redis(
    sandbox: Sandbox, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    """intelliauth_context(flow_store=, token_set_store=) on two apps (two workers): a
    sign-in started on one completes on the other, once; both serve the session, and
    an expired session is refreshed once for both."""
    from intelliauth_ext import RedisFlowStore, RedisTokenSetStore, TokenSet
    from intelliauth_ext.aiohttp import INTELLIAUTH_INTEGRATION, intelliauth_context

    client = sandbox.add_client(name="web", public=True, redirect_uris=(CALLBACK,))
    scopes = ["openid", "profile", "email", "offline_access"]

    async def login(request: web.Request) -> web.Response:
        flow = request.config_dict[INTELLIAUTH_INTEGRATION].sign_in_flow(
            CALLBACK, scopes, client_id=client.client_id
        )
        started = await flow.start(prompt="login")
        return web.json_response({"url": started.url})

    async def callback(request: web.Request) -> web.Response:
        integration = request.config_dict[INTELLIAUTH_INTEGRATION]
        flow = integration.sign_in_flow(CALLBACK, scopes, client_id=client.client_id)
        try:
            tokens = await flow.complete(str(request.url))
        except InvalidCallbackError as exc:
            return web.json_response({"check": exc.check}, status=400)
        await integration.token_set_store.save("session-1", tokens)
        return web.json_response({"signed_in": True})

    async def access_token(request: web.Request) -> web.Response:
        integration = request.config_dict[INTELLIAUTH_INTEGRATION]
        auth = integration.session_auth("session-1", client_id=client.client_id)
        try:
            return web.json_response({"token": (await auth.get_token_set()).access_token})
        finally:
            await auth.aclose()

    def worker(redis_url: str) -> web.Application:
        app = web.Application()
        app.cleanup_ctx.append(
            intelliauth_context(
                sandbox.url,
                clock=sandbox.clock,
                flow_store=RedisFlowStore(redis_url, secret=SECRET),
                token_set_store=RedisTokenSetStore(redis_url, secret=SECRET),
            )
        )
        app.router.add_get("/login", login)
        app.router.add_get("/callback", callback)
        app.router.add_get("/token", access_token)
        return app

    with redis_server(tmp_path) as redis_url:
        async with serve_aiohttp(worker(redis_url)) as one, serve_aiohttp(worker(redis_url)) as two:
            started = (await http.get(f"{one}/login")).json()
            page = await http.get(started["url"], follow_redirects=True)
            form = {
                name: html.unescape(value)
                for name, value in re.findall(
                    r'type="hidden" name="([^"]+)" value="([^"]*)"', page.text
                )
            }
            form.update(email=TEST_USER_EMAIL, password=TEST_USER_PASSWORD)
            approved = await http.post(f"{sandbox.url}/_sandbox/login", data=form)
            target = httpx.URL(approved.headers["location"]).raw_path.decode()
            assert (await http.get(f"{two}{target}")).json() == {"signed_in": True}
            assert (await http.get(f"{one}{target}")).json() == {"check": "replay"}

            store = RedisTokenSetStore(redis_url, secret=SECRET)
            stored = await store.load("session-1")
            assert stored is not None
            expired = TokenSet.from_dict({**stored.as_dict(), "expires_at": 0})
            await store.save("session-1", expired)
            await store.aclose()
            answers = []

            async def fetch(url: str) -> None:
                answers.append((await http.get(f"{url}/token")).json()["token"])

            async with anyio.create_task_group() as group:
                for _ in range(5):
                    group.start_soon(fetch, one)
                    group.start_soon(fetch, two)
            assert len(set(answers)) == 1
            assert answers[0] != stored.access_token
    assert sandbox.served.statuses("requestToken") == {200: 2}  # the code, one refresh
