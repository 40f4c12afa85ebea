"""The sandbox's own sign-in page for /oauth2/authorize (outside the contract, under /_sandbox).

GET renders a form carrying the authorization request; POST checks the email, password and,
for a user with a TOTP factor, the one-time code, then redirects back with a code.
"""

from __future__ import annotations

import html
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from .._authorize import AuthorizationRequest, check_authorization_request, complete_authorization
from .._envelopes import OAuthError
from .._routing import SandboxState
from .._tenant import check_password
from .._totp import verify_totp

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in - IntelliAuth sandbox</title></head>
<body>
<h1>Sign in to {client}</h1>
{error}
<form method="post" action="/_sandbox/login">
{hidden}
<label>Email <input name="email" type="email" value="{email}" autofocus></label>
<label>Password <input name="password" type="password"></label>
<label>One-time code (if you use an authenticator) <input name="otp" inputmode="numeric"></label>
<button type="submit">Sign in</button>
</form>
</body></html>
"""
_AUTHORIZATION_FIELDS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "login_hint",
    "prompt",
    "request_uri",
    "dpop_jkt",
)


def _page(
    client_name: str, params: dict[str, str], error: str | None, status: int = 200
) -> Response:
    hidden = "\n".join(
        f'<input type="hidden" name="{name}" value="{html.escape(params[name])}">'
        for name in _AUTHORIZATION_FIELDS
        if params.get(name)
    )
    return HTMLResponse(
        _PAGE.format(
            client=html.escape(client_name),
            error=f'<p role="alert">{html.escape(error)}</p>' if error else "",
            hidden=hidden,
            email=html.escape(params.get("email") or params.get("login_hint") or ""),
        ),
        status_code=status,
    )


def login_routes(sandbox: SandboxState) -> list[BaseRoute]:
    """Return the GET and POST routes of the login page."""

    async def show(request: Request) -> Response:
        params = dict(request.query_params)
        try:
            checked = check_authorization_request(sandbox, params)
        except OAuthError as exc:
            return HTMLResponse(f"<p>{html.escape(exc.description)}</p>", status_code=400)
        if not isinstance(checked, AuthorizationRequest):
            return checked
        return _page(checked.client.name, params, None)

    async def submit(request: Request) -> Response:
        # Parsed by hand: Starlette's form parser would need python-multipart.
        body = (await request.body()).decode("utf-8", "replace")
        params = dict(parse_qsl(body, keep_blank_values=True))
        try:
            checked = check_authorization_request(sandbox, params)
        except OAuthError as exc:
            return HTMLResponse(f"<p>{html.escape(exc.description)}</p>", status_code=400)
        if not isinstance(checked, AuthorizationRequest):
            return checked
        tenant = sandbox.tenant
        user = tenant.user_by_email(params.get("email", ""))
        stored = tenant.passwords.get(user["id"]) if user is not None else None
        if user is None or stored is None or not check_password(params.get("password", ""), stored):
            return _page(checked.client.name, params, "Wrong email or password.", 401)
        if user.get("status") != "active":
            return _page(checked.client.name, params, "This account is not active.", 403)
        secrets = [
            tenant.totp_secrets[f["id"]]
            for f in tenant.factors.values()
            if f["user_id"] == user["id"] and f["type"] == "totp"
        ]
        code = params.get("otp", "").strip()
        if secrets and not any(verify_totp(s, code, sandbox.clock.now()) for s in secrets):
            return _page(checked.client.name, params, "Enter the current one-time code.", 401)
        return complete_authorization(
            sandbox, checked, user, user_agent=request.headers.get("user-agent")
        )

    return [
        Route("/_sandbox/login", show, methods=["GET"]),
        Route("/_sandbox/login", submit, methods=["POST"]),
    ]
