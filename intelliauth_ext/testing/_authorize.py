"""The authorization request of ``/oauth2/authorize``: checking it, and answering it.

RFC 6749 section 4.1.1 with PKCE (RFC 7636 section 4.3) and the ``iss`` response
parameter (RFC 9207); a pushed request's ``request_uri`` (RFC 9126, ``_fapi.py``) stands
for its parameters, and ``dpop_jkt`` binds the code to a DPoP key (RFC 9449 section 10).
The authorize route and the sandbox's login page share it.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode, urlsplit, urlunsplit

import attrs
from starlette.responses import RedirectResponse, Response

from ._envelopes import OAuthError
from ._oauth import redirect_uri_matches, split_scope
from ._routing import SandboxState
from ._tenant import OAuthClient, Record

__all__ = [
    "AuthorizationRequest",
    "authorization_redirect",
    "check_authorization_request",
    "complete_authorization",
]


@attrs.frozen
class AuthorizationRequest:
    """A checked /oauth2/authorize request whose redirect_uri is safe to redirect to."""

    client: OAuthClient
    redirect_uri: str
    state: str | None
    scope: tuple[str, ...]
    code_challenge: str | None
    nonce: str | None
    request_uri: str | None = None
    dpop_jkt: str | None = None


def authorization_redirect(
    sandbox: SandboxState, redirect_uri: str, params: Mapping[str, str | None]
) -> Response:
    """Redirect back to the client with ``params`` (and ``iss``) added to its query."""
    # RFC 9207: `iss` on every authorization response, success or error.
    query = {k: v for k, v in params.items() if v is not None} | {"iss": sandbox.url}
    parts = urlsplit(redirect_uri)
    joined = f"{parts.query}&{urlencode(query)}" if parts.query else urlencode(query)
    return RedirectResponse(urlunsplit(parts._replace(query=joined)), status_code=302)


def check_authorization_request(
    sandbox: SandboxState, params: Mapping[str, str], *, pushing: bool = False
) -> AuthorizationRequest | Response:
    """Check an authorization request (RFC 6749 4.1.1, RFC 7636 4.3).

    Returns the checked request, or the error redirect to send (RFC 6749 4.1.2.1).
    ``pushing``: the request is being pushed (RFC 9126), so it is checked as it is.

    Raises:
        OAuthError: an unknown client or unregistered redirect_uri, or a bad or missing
            pushed request, which must not be redirected to.
    """
    if not pushing:
        params = sandbox.oauth.fapi.resolve(sandbox.tenant.clients, params)
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
        return authorization_redirect(
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
    return AuthorizationRequest(
        client,
        redirect_uri,
        state,
        scope,
        challenge,
        params.get("nonce"),
        request_uri=params.get("request_uri"),
        dpop_jkt=params.get("dpop_jkt") or None,
    )


def complete_authorization(
    sandbox: SandboxState,
    request: AuthorizationRequest,
    user: Record,
    *,
    user_agent: str | None,
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
        dpop_jkt=request.dpop_jkt,
    )
    sandbox.oauth.fapi.consume(request.request_uri)
    return authorization_redirect(
        sandbox, request.redirect_uri, {"code": code, "state": request.state}
    )
