"""OAuth 2.0 and OIDC endpoints: token, authorize, revoke, introspect, userinfo, discovery, JWKS."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import attrs
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from .._envelopes import NO_STORE, OAuthError
from .._oauth import redirect_uri_matches, split_scope
from .._tenant import ALL_GRANT_TYPES, ALL_SCOPES, OAuthClient, Record
from .._tokens import ALGORITHM
from . import Context, OperationRouter

if TYPE_CHECKING:
    from .._sandbox import Sandbox

router = OperationRouter()


# ---------------------------------------------------------------- discovery
@router.operation("getOpenIdConfiguration")
async def get_openid_configuration(ctx: Context) -> Response:
    """OIDC Discovery 1.0 section 3, plus RFC 8414 fields for revocation and introspection."""
    issuer = ctx.sandbox.url
    return JSONResponse(
        {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/oauth2/authorize",
            "token_endpoint": f"{issuer}/oauth2/token",
            "userinfo_endpoint": f"{issuer}/oauth2/userinfo",
            "jwks_uri": f"{issuer}/.well-known/jwks.json",
            "revocation_endpoint": f"{issuer}/oauth2/revoke",
            "introspection_endpoint": f"{issuer}/oauth2/introspect",
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": list(ALL_GRANT_TYPES),
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [ALGORITHM],
            "scopes_supported": list(ALL_SCOPES),
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "email",
                "email_verified",
                "name",
            ],
            "authorization_response_iss_parameter_supported": True,
        }
    )


@router.operation("getJwks")
async def get_jwks(ctx: Context) -> Response:
    """The public signing keys (RFC 7517)."""
    return JSONResponse(ctx.sandbox.signer.jwks())


# ---------------------------------------------------------------- token endpoint
@router.operation("requestToken")
async def request_token(ctx: Context) -> Response:
    """RFC 6749 section 3.2: client_credentials, authorization_code (PKCE), refresh_token."""
    form = ctx.form()
    oauth = ctx.sandbox.oauth
    client = oauth.authenticate_client(form, ctx.request.headers.get("authorization"))
    grant_type = form.get("grant_type", "")
    if grant_type not in ALL_GRANT_TYPES:
        raise OAuthError("unsupported_grant_type", f"Unsupported grant_type {grant_type!r}.")
    if grant_type not in client.grant_types:
        raise OAuthError("unauthorized_client", f"This client may not use {grant_type}.")
    if grant_type == "client_credentials":
        result = oauth.client_credentials(client, form)
    elif grant_type == "authorization_code":
        result = oauth.authorization_code(client, form)
    else:
        result = oauth.refresh(client, form)
    return JSONResponse(result, headers=NO_STORE)


@router.operation("revokeToken")
async def revoke_token(ctx: Context) -> Response:
    """RFC 7009: 200 whether or not the token was known."""
    form = ctx.form()
    client = ctx.sandbox.oauth.authenticate_client(form, ctx.request.headers.get("authorization"))
    token = form.get("token")
    if not token:
        raise OAuthError("invalid_request", "token is required.")
    hint = form.get("token_type_hint")
    if hint and hint not in {"access_token", "refresh_token"}:
        raise OAuthError("unsupported_token_type", f"Unsupported token_type_hint {hint!r}.")
    ctx.sandbox.oauth.revoke(client, token, hint)
    return Response(status_code=200)


@router.operation("introspectToken")
async def introspect_token(ctx: Context) -> Response:
    """RFC 7662: the caller is a confidential client, or holds a bearer token with a
    ``*:read`` scope; inactive tokens say only ``{"active": false}``."""
    form = ctx.form()
    if ctx.claims is not None:
        if not any(s.endswith(":read") for s in str(ctx.claims.get("scope", "")).split()):
            raise OAuthError(
                "invalid_token", "Introspection needs a token with a *:read scope.", status=401
            )
    else:
        ctx.sandbox.oauth.authenticate_client(
            form, ctx.request.headers.get("authorization"), allow_public=False
        )
    token = form.get("token")
    if not token:
        raise OAuthError("invalid_request", "token is required.")
    return JSONResponse(ctx.sandbox.oauth.introspect(token), headers=NO_STORE)


@router.operation("getUserInfo")
async def get_user_info(ctx: Context) -> Response:
    """OIDC Core section 5.3: claims about the token's user, filtered by its scopes."""
    from .users import user_claims

    scope = tuple(str((ctx.claims or {}).get("scope", "")).split())
    user = ctx.sandbox.tenant.users.get(ctx.subject)
    if user is None or "openid" not in scope:
        raise OAuthError(
            "insufficient_scope",
            "userinfo needs a user's token with the openid scope.",
            status=403,
            headers={"WWW-Authenticate": 'Bearer error="insufficient_scope", scope="openid"'},
        )
    return JSONResponse({"sub": user["id"], **user_claims(user, scope)})


# ---------------------------------------------------------------- authorize
@attrs.frozen
class AuthorizationRequest:
    """A checked /oauth2/authorize request whose redirect_uri is safe to redirect to."""

    client: OAuthClient
    redirect_uri: str
    state: str | None
    scope: tuple[str, ...]
    code_challenge: str | None
    nonce: str | None


def _redirect(sandbox: Sandbox, redirect_uri: str, params: Mapping[str, str | None]) -> Response:
    # RFC 9207: `iss` on every authorization response, success or error.
    query = {k: v for k, v in params.items() if v is not None} | {"iss": sandbox.url}
    parts = urlsplit(redirect_uri)
    joined = f"{parts.query}&{urlencode(query)}" if parts.query else urlencode(query)
    return RedirectResponse(urlunsplit(parts._replace(query=joined)), status_code=302)


def check_authorization_request(
    sandbox: Sandbox, params: Mapping[str, str]
) -> AuthorizationRequest | Response:
    """Check an authorization request (RFC 6749 4.1.1, RFC 7636 4.3).

    Returns the checked request, or the error redirect to send (RFC 6749 4.1.2.1).

    Raises:
        OAuthError: an unknown client or unregistered redirect_uri, which must not be
            redirected to.
    """
    client = sandbox.tenant.clients.get(params.get("client_id", ""))
    redirect_uri = params.get("redirect_uri", "")
    if client is None:
        raise OAuthError("invalid_request", "Unknown client_id.")
    if not redirect_uri or not any(
        redirect_uri_matches(r, redirect_uri) for r in client.redirect_uris
    ):
        raise OAuthError("invalid_request", "redirect_uri is not registered for this client.")
    state = params.get("state")

    def fail(error: str, description: str) -> Response:
        return _redirect(
            sandbox,
            redirect_uri,
            {"error": error, "error_description": description, "state": state},
        )

    if params.get("response_type") != "code":
        return fail("unsupported_response_type", "Only response_type=code is supported.")
    if "authorization_code" not in client.grant_types:
        return fail("unauthorized_client", "This client may not use the authorization code grant.")
    scope = split_scope(params.get("scope")) or ("openid",)
    refused = [s for s in scope if s not in client.allowed_scopes]
    if refused:
        return fail("invalid_scope", f"Scope not allowed for this client: {' '.join(refused)}.")
    challenge = params.get("code_challenge") or None
    if challenge is not None and params.get("code_challenge_method", "plain") != "S256":
        return fail("invalid_request", "Only code_challenge_method=S256 is supported.")
    if challenge is None:
        # The contract requires PKCE of every client, confidential ones included.
        return fail("invalid_request", "PKCE is required: send code_challenge (S256).")
    return AuthorizationRequest(client, redirect_uri, state, scope, challenge, params.get("nonce"))


def complete_authorization(
    sandbox: Sandbox, request: AuthorizationRequest, user: Record, *, user_agent: str | None
) -> Response:
    """Sign ``user`` in: open a session, mint a code, redirect back with code, state and iss."""
    session = sandbox.tenant.new_session(
        user["id"],
        client_id=request.client.client_id,
        user_agent=user_agent,
        ip_address="127.0.0.1",
    )
    code = sandbox.oauth.create_code(
        request.client,
        redirect_uri=request.redirect_uri,
        scope=request.scope,
        user_id=user["id"],
        session_id=session["id"],
        code_challenge=request.code_challenge,
        nonce=request.nonce,
    )
    return _redirect(sandbox, request.redirect_uri, {"code": code, "state": request.state})


def _auto_approved_user(sandbox: Sandbox, params: Mapping[str, Any]) -> Record | None:
    if not sandbox.auto_approve or params.get("prompt") == "login":
        return None
    hint = params.get("login_hint")
    if hint:
        return sandbox.tenant.users.get(hint) or sandbox.tenant.user_by_email(hint)
    return sandbox.test_user


@router.operation("authorize")
async def authorize(ctx: Context) -> Response:
    """Redirect back with a code (auto-approve) or to the sandbox's login page."""
    params = dict(ctx.request.query_params)
    try:
        checked = check_authorization_request(ctx.sandbox, params)
    except OAuthError as exc:
        # No redirect to an unverified URI (RFC 6749 4.1.2.1): answer 400 here, as HTML
        # for a browser or as an OAuthError body when the caller prefers JSON.
        if "application/json" in ctx.request.headers.get("accept", ""):
            raise
        page = f"<!doctype html><title>Sign-in error</title><p>{html.escape(exc.description)}</p>"
        return HTMLResponse(page, status_code=400)
    if not isinstance(checked, AuthorizationRequest):
        return checked
    problems = ctx.request.scope.get("state", {}).get("contract_problems")
    if problems:
        description = "; ".join(problems)
        return _redirect(
            ctx.sandbox,
            checked.redirect_uri,
            {"error": "invalid_request", "error_description": description, "state": checked.state},
        )
    user = _auto_approved_user(ctx.sandbox, params)
    if user is not None and user.get("status") == "active":
        return complete_authorization(
            ctx.sandbox, checked, user, user_agent=ctx.request.headers.get("user-agent")
        )
    if params.get("prompt") == "none":
        return _redirect(
            ctx.sandbox,
            checked.redirect_uri,
            {
                "error": "login_required",
                "error_description": "Sign-in is required.",
                "state": checked.state,
            },
        )
    return RedirectResponse(
        f"{ctx.sandbox.url}/_sandbox/login?{urlencode(params)}", status_code=302
    )
