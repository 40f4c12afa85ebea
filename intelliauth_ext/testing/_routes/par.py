"""``POST /oauth2/par``: pushed authorization requests (RFC 9126), outside the contract.

The client authenticates as at the token endpoint and sends the authorization request's
parameters in the body; they are checked as ``/oauth2/authorize`` would check them, and
stored under a one-time ``request_uri`` the browser then carries (``_fapi.py``). A
``DPoP`` proof sent here binds the code to its key, like ``dpop_jkt`` (RFC 9449 10.1).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from .._authorize import AuthorizationRequest, check_authorization_request
from .._envelopes import NO_STORE, OAuthError, oauth_error_response
from .._fapi import PAR_PATH
from .._routing import SandboxState

__all__ = ["par_routes"]

# Client authentication, not part of the authorization request that is stored.
_CLIENT_AUTHENTICATION = frozenset({"client_secret", "client_assertion", "client_assertion_type"})


def _error_of(redirect: Response) -> OAuthError:
    """The error an authorize check would have redirected with, as a PAR answer (2.3)."""
    query = dict(parse_qsl(urlsplit(redirect.headers.get("location", "")).query))
    return OAuthError(
        query.get("error", "invalid_request"), query.get("error_description", "Invalid request.")
    )


def par_routes(sandbox: SandboxState) -> list[BaseRoute]:
    """The PAR endpoint's route."""

    async def push(request: Request) -> Response:
        request.scope.setdefault("state", {})["beyond_contract"] = True
        body = (await request.body()).decode("utf-8", "replace")
        form = dict(parse_qsl(body, keep_blank_values=True))
        fapi = sandbox.oauth.fapi
        try:
            client = sandbox.oauth.authenticate_client(form, request.headers.get("authorization"))
            params = {k: v for k, v in form.items() if k not in _CLIENT_AUTHENTICATION}
            params.setdefault("client_id", client.client_id)
            if params["client_id"] != client.client_id:
                raise OAuthError("invalid_request", "client_id is not the authenticated client.")
            if "request_uri" in params:
                raise OAuthError("invalid_request", "A pushed request has no request_uri.")
            jkt = fapi.request_jkt(
                request.headers.getlist("dpop"), url=str(request.url), required=False
            )
            if jkt is not None and params.setdefault("dpop_jkt", jkt) != jkt:
                raise OAuthError("invalid_request", "dpop_jkt is not the DPoP proof's key.")
            checked = check_authorization_request(sandbox, params, pushing=True)
            if not isinstance(checked, AuthorizationRequest):
                raise _error_of(checked)
        except OAuthError as exc:
            return oauth_error_response(exc)
        return JSONResponse(fapi.push(client, params), status_code=201, headers=NO_STORE)

    return [Route(PAR_PATH, push, methods=["POST"])]
