"""What only the FastAPI integration has: examples/fastapi_app.py on uvicorn, and lazy imports.

The tests it shares with aiohttp are in test_frameworks.py.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI

from intelliauth_ext import IntelliAuth, VerifiedToken
from intelliauth_ext.fastapi import require_token
from intelliauth_ext.testing import Sandbox

from .drivers import DRIVERS, AppDriver, Service
from .helpers import AUDIENCE, bearer, challenge, mint_token

pytestmark = pytest.mark.anyio


@pytest.fixture
def app_driver() -> AppDriver:
    """The FastAPI example only (overrides the per-framework fixture of conftest.py)."""
    return DRIVERS["fastapi"]()


async def test_a_malformed_authorization_header_is_an_invalid_request(
    service: Service, http: httpx.AsyncClient
) -> None:
    """'Bearer' with a token that is not a b64token: 400 invalid_request."""
    response = await http.get(f"{service.url}/users", headers={"Authorization": "Bearer a b"})
    assert response.status_code == 400
    assert challenge(response)["error"] == "invalid_request"


async def test_introspection_accepts_a_live_token_and_refuses_a_revoked_one(
    app_driver: AppDriver, sandbox: Sandbox, admin: IntelliAuth, http: httpx.AsyncClient
) -> None:
    """With introspection on, the tenant's word counts: a revoked JWT is refused at once."""
    app = app_driver.create_app(
        audience=AUDIENCE,
        introspection=True,
        tenant_url=sandbox.url,
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
    )
    token = await mint_token(sandbox, http, "users:read")
    async with app_driver.serve(app) as url:
        live = await http.get(f"{url}/users", headers=bearer(token))
        await admin.revoke(token)
        revoked = await http.get(f"{url}/users", headers=bearer(token))
    assert live.status_code == 200, live.text
    assert live.json()["caller"] == sandbox.client_id
    assert revoked.status_code == 401
    assert challenge(revoked)["error"] == "invalid_token"


def test_importing_the_sdk_does_not_import_the_frameworks() -> None:
    """`import intelliauth_ext` leaves FastAPI out; only intelliauth_ext.fastapi imports it."""
    code = (
        "import sys, intelliauth_ext, intelliauth_ext.webhooks\n"
        "from intelliauth_ext import IntelliAuth, TokenVerifier\n"
        "assert 'fastapi' not in sys.modules and 'aiohttp.web' not in sys.modules\n"
        "import intelliauth_ext.fastapi\n"
        "assert 'fastapi' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


async def _users(
    token: Annotated[VerifiedToken, Depends(require_token(["users:read"]))],
) -> dict[str, str | None]:
    """A route behind require_token (module level: FastAPI resolves its annotations here)."""
    return {"sub": token.subject}


def test_require_token_declares_the_bearer_scheme_in_the_openapi_document() -> None:
    """Routes behind require_token carry the HTTPBearer scheme (one dependency does both)."""
    app = FastAPI()
    app.get("/users")(_users)
    document = app.openapi()
    assert document["components"]["securitySchemes"] == {
        "HTTPBearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "An IntelliAuth access token",
        }
    }
    operation = document["paths"]["/users"]["get"]
    assert operation["security"] == [{"HTTPBearer": []}]
    assert "parameters" not in operation  # nothing of the dependency leaks in as a query
