"""What only the aiohttp integration has: token_middleware on a real aiohttp server.

The tests it shares with FastAPI are in test_frameworks.py.
"""

from __future__ import annotations

import httpx
import pytest
from aiohttp import web

from intelliauth_ext.testing import Sandbox

from .drivers import serve_aiohttp
from .helpers import AUDIENCE, bearer, mint_token

pytestmark = pytest.mark.anyio


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
