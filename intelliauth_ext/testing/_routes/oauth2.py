"""OAuth 2.0 and OIDC endpoints: token, authorize, revoke, introspect, userinfo, discovery, JWKS."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from ..._dpop_proof_check import PROOF_ALGORITHMS
from .._authorize import (
    AuthorizationRequest,
    authorization_redirect,
    check_authorization_request,
    complete_authorization,
)
from .._envelopes import NO_STORE, OAuthError
from .._fapi import DPOP_TOKEN_ERRORS, PAR_PATH
from .._oauth import split_scope
from .._routing import Context, OperationRouter, SandboxState
from .._tenant import ALL_GRANT_TYPES, ALL_SCOPES, Record
from .._tokens import ALGORITHM
from .._users import user_claims

router = OperationRouter()
#: What private_key_jwt assertions and DPoP proofs may be signed with: asymmetric only.
FAPI_ALGORITHMS: tuple[str, ...] = tuple(sorted(PROOF_ALGORITHMS))


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
                "private_key_jwt",
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
            # FAPI 2.0 (_fapi.py): private_key_jwt, DPoP and PAR, beyond the contract.
            "token_endpoint_auth_signing_alg_values_supported": list(FAPI_ALGORITHMS),
            "dpop_signing_alg_values_supported": list(FAPI_ALGORITHMS),
            "pushed_authorization_request_endpoint": f"{issuer}{PAR_PATH}",
            "require_pushed_authorization_requests": ctx.sandbox.oauth.fapi.require_par,
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
    try:
        jkt = oauth.fapi.request_jkt(
            ctx.request.headers.getlist("dpop"),
            url=str(ctx.request.url),
            required=client.require_dpop,
        )
    except OAuthError as exc:
        if exc.error in DPOP_TOKEN_ERRORS:  # RFC 9449 codes the contract does not list
            ctx.request.scope["state"]["beyond_contract"] = True
        raise
    if grant_type == "client_credentials":
        result = oauth.client_credentials(client, form, jkt=jkt)
    elif grant_type == "authorization_code":
        result = oauth.authorization_code(client, form, jkt=jkt)
    else:
        result = oauth.refresh(client, form, jkt=jkt)
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
        if not any(s.endswith(":read") for s in split_scope(str(ctx.claims.get("scope", "")))):
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
    scope = split_scope(str((ctx.claims or {}).get("scope", "")))
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
def _auto_approved_user(sandbox: SandboxState, params: Mapping[str, Any]) -> Record | None:
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
    if problems and "request_uri" not in params:  # a pushed request's params were checked
        description = "; ".join(problems)
        return authorization_redirect(
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
        return authorization_redirect(
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
