"""The authorization server: client authentication, grants, rotation, revocation, introspection.

Pure protocol logic over the :class:`Tenant`; the HTTP side is ``_routes/oauth2.py``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

import attrs

from intelliauth_ext._scopes import normalise_scopes

from ._envelopes import OAuthError
from ._fapi import FapiState
from ._ids import new_id, new_secret, ulid
from ._tenant import (
    USER_SCOPES,
    AuthorizationCode,
    IssuedAccessToken,
    OAuthClient,
    RefreshToken,
    Tenant,
    TokenFamily,
)
from ._tokens import ACCESS_TOKEN_TYPE, ID_TOKEN_TYPE, InvalidToken, TokenSigner, half_hash

CODE_TTL_SECONDS = 60
ID_TOKEN_TTL_SECONDS = 3600

UserClaims = Callable[[str, tuple[str, ...]], dict[str, Any]]


def s256(verifier: str) -> str:
    """Return the S256 code challenge of a verifier (RFC 7636 section 4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def split_scope(raw: str | None) -> tuple[str, ...]:
    """Read a scope parameter (RFC 6749 section 3.3) with the SDK's one rule.

    Scopes are a set, so the result is sorted and distinct (see ``normalise_scopes``).
    """
    return normalise_scopes(raw)


def redirect_uri_matches(registered: str, offered: str) -> bool:
    """Exact match, except that a loopback redirect may use any port (RFC 8252 section 7.3)."""
    if registered == offered:
        return True
    want, got = urlsplit(registered), urlsplit(offered)
    loopback = want.hostname in {"127.0.0.1", "localhost", "::1"} and want.scheme == "http"
    return loopback and (got.scheme, got.hostname, got.path, got.query) == (
        want.scheme,
        want.hostname,
        want.path,
        want.query,
    )


@attrs.define
class AuthorizationServer:
    """Issues, rotates, revokes and introspects the sandbox's tokens."""

    tenant: Tenant
    signer: TokenSigner
    user_claims: UserClaims
    fapi: FapiState

    # ------------------------------------------------------------ client authentication
    def authenticate_client(
        self, form: Mapping[str, str], authorization: str | None, *, allow_public: bool = True
    ) -> OAuthClient:
        """Authenticate the client of a token-endpoint request.

        client_secret_basic (RFC 6749 section 2.3.1: form-urlencoded id and secret in HTTP
        Basic), client_secret_post (the same in the body), private_key_jwt (RFC 7523: a
        ``client_assertion``, for clients registered with a public key, ``_fapi.py``), or
        none for a public client. Using two methods at once is an ``invalid_request``.

        Raises:
            OAuthError: ``invalid_client`` (401) or ``invalid_request``.
        """
        basic = None
        if "client_assertion" in form or "client_assertion_type" in form:
            if "client_secret" in form or (authorization or "")[:6].lower() == "basic ":
                raise OAuthError(
                    "invalid_request", "Use one client authentication method, not two."
                )
            return self.fapi.authenticate_with_assertion(
                self.tenant.clients, form, self.signer.issuer
            )
        if authorization and authorization[:6].lower() == "basic ":
            try:
                decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
                client_id, _, secret = decoded.partition(":")
                basic = (unquote(client_id.replace("+", " ")), unquote(secret.replace("+", " ")))
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise self._bad_client("Malformed HTTP Basic credentials.", basic=True) from exc
        if basic and "client_secret" in form:
            raise OAuthError("invalid_request", "Use one client authentication method, not two.")
        if basic:
            client_id, secret, method = basic[0], basic[1], "client_secret_basic"
        else:
            client_id = form.get("client_id", "")
            secret = form.get("client_secret", "")
            method = "client_secret_post" if secret else "none"
        client = self.tenant.clients.get(client_id)
        if client is None:
            raise self._bad_client("Unknown client.", basic=basic is not None)
        if client.is_public:
            if method != "none" or not allow_public:
                raise self._bad_client("This client cannot authenticate that way.", basic=False)
            return client
        if method == "none":
            raise self._bad_client("Client authentication is required.", basic=False)
        if client.public_jwk is not None:
            raise self._bad_client("This client authenticates with private_key_jwt.", basic=False)
        if not self._secret_matches(client, secret):
            raise self._bad_client("Wrong client secret.", basic=basic is not None)
        return client

    def _secret_matches(self, client: OAuthClient, secret: str) -> bool:
        """The current secret, or the previous one during a rotation's grace period."""
        assert client.client_secret is not None
        if hmac.compare_digest(secret.encode(), client.client_secret.encode()):
            return True
        retiring = self.tenant.retiring_secrets.get(client.client_id)
        if retiring is None or retiring[1] <= self.signer.clock.now():
            return False
        return hmac.compare_digest(secret.encode(), retiring[0].encode())

    @staticmethod
    def _bad_client(description: str, *, basic: bool) -> OAuthError:
        headers = {"WWW-Authenticate": 'Basic realm="intelliauth"'} if basic else {}
        return OAuthError("invalid_client", description, status=401, headers=headers)

    # ------------------------------------------------------------ issuing
    def issue(
        self,
        client: OAuthClient,
        scope: tuple[str, ...],
        *,
        user_id: str | None = None,
        audience: str | None = None,
        family: TokenFamily | None = None,
        with_refresh: bool = False,
        nonce: str | None = None,
        auth_time: int | None = None,
        jkt: str | None = None,
    ) -> dict[str, Any]:
        """Mint an access token (and optionally a refresh and an ID token); return the
        RFC 6749 section 5.1 token response. With ``jkt`` the tokens are bound to that
        DPoP key (RFC 9449 section 6: ``cnf.jkt``, ``token_type: DPoP``)."""
        now = int(self.signer.clock.now())
        jti = ulid()
        claims: dict[str, Any] = {
            "iss": self.signer.issuer,
            "sub": user_id or client.client_id,
            "aud": audience or self.signer.issuer,
            "exp": now + client.access_token_ttl,
            "iat": now,
            "nbf": now,
            "jti": jti,
            "client_id": client.client_id,
            "scope": " ".join(scope),
        }
        if auth_time is not None:
            claims["auth_time"] = auth_time
        if family is not None and family.session_id is not None:
            claims["sid"] = family.session_id  # OIDC session id: /me/sessions marks it current
        if jkt is not None:
            claims["cnf"] = {"jkt": jkt}
        access_token = self.signer.sign(claims, token_type=ACCESS_TOKEN_TYPE)
        family_id = family.family_id if family is not None else None
        self.tenant.access_tokens[jti] = IssuedAccessToken(jti, client.client_id, family_id)
        if family is not None:
            family.access_token_ids.add(jti)
        response: dict[str, Any] = {
            "access_token": access_token,
            "token_type": "Bearer" if jkt is None else "DPoP",
            "expires_in": client.access_token_ttl,
            "scope": " ".join(scope),
        }
        if with_refresh and family is not None:
            response["refresh_token"] = self._new_refresh(client, family, scope, jkt)
        if user_id is not None and "openid" in scope:
            id_claims = {
                **self.user_claims(user_id, scope),
                "iss": self.signer.issuer,
                "sub": user_id,
                "aud": client.client_id,
                "exp": now + ID_TOKEN_TTL_SECONDS,
                "iat": now,
                "auth_time": auth_time if auth_time is not None else now,
                "at_hash": half_hash(access_token),
            }
            if nonce:
                id_claims["nonce"] = nonce
            response["id_token"] = self.signer.sign(id_claims, token_type=ID_TOKEN_TYPE)
        return response

    def _new_refresh(
        self, client: OAuthClient, family: TokenFamily, scope: tuple[str, ...], jkt: str | None
    ) -> str:
        now = self.signer.clock.now()
        token = new_secret(32)
        self.tenant.refresh_tokens[token] = RefreshToken(
            token=token,
            family_id=family.family_id,
            client_id=client.client_id,
            user_id=family.user_id,
            scope=scope,
            expires_at=now + client.refresh_token_ttl,
            issued_at=now,
            jkt=jkt,
        )
        family.refresh_tokens.append(token)
        return token

    def new_family(
        self, client: OAuthClient, user_id: str | None, session_id: str | None
    ) -> TokenFamily:
        """Start a grant's token family."""
        family = TokenFamily(new_id("fam"), client.client_id, user_id, session_id)
        self.tenant.families[family.family_id] = family
        return family

    def revoke_family(self, family_id: str) -> None:
        """Revoke a family: every refresh token and every access token issued from it."""
        family = self.tenant.families.get(family_id)
        if family is None:
            return
        family.revoked = True
        for jti in family.access_token_ids:
            self.tenant.access_tokens[jti].revoked = True

    def end_session(self, session_id: str) -> None:
        """End a sign-in session: remove it and revoke every token family it started."""
        self.tenant.sessions.remove(session_id)
        for family in self.tenant.families.values():
            if family.session_id == session_id:
                self.revoke_family(family.family_id)

    # ------------------------------------------------------------ grants
    def client_credentials(
        self, client: OAuthClient, form: Mapping[str, str], *, jkt: str | None = None
    ) -> dict[str, Any]:
        """The client credentials grant (RFC 6749 section 4.4); no refresh token."""
        if client.is_public:
            raise OAuthError("unauthorized_client", "Public clients cannot use client_credentials.")
        requested = split_scope(form.get("scope"))
        allowed = tuple(s for s in client.allowed_scopes if s not in USER_SCOPES)
        scope = requested or allowed
        refused = [s for s in scope if s not in allowed]
        if refused:
            raise OAuthError(
                "invalid_scope", f"Scope not allowed for this client: {' '.join(refused)}."
            )
        return self.issue(client, scope, audience=form.get("audience") or None, jkt=jkt)

    def create_code(
        self,
        client: OAuthClient,
        *,
        redirect_uri: str,
        scope: tuple[str, ...],
        user_id: str,
        session_id: str,
        code_challenge: str | None,
        nonce: str | None,
        dpop_jkt: str | None = None,
    ) -> str:
        """Record a one-time authorization code and return it."""
        now = self.signer.clock.now()
        code = new_secret(24)
        self.tenant.codes[code] = AuthorizationCode(
            code=code,
            client_id=client.client_id,
            redirect_uri=redirect_uri,
            scope=scope,
            user_id=user_id,
            session_id=session_id,
            code_challenge=code_challenge,
            nonce=nonce,
            auth_time=int(now),
            expires_at=now + CODE_TTL_SECONDS,
            dpop_jkt=dpop_jkt,
        )
        return code

    def authorization_code(
        self, client: OAuthClient, form: Mapping[str, str], *, jkt: str | None = None
    ) -> dict[str, Any]:
        """The authorization code grant with PKCE (RFC 6749 section 4.1.3, RFC 7636 4.6)."""
        grant = self.tenant.codes.get(form.get("code", ""))
        if grant is None or grant.client_id != client.client_id:
            raise OAuthError("invalid_grant", "Unknown authorization code.")
        if grant.used:
            # RFC 6749 section 4.1.2: a reused code revokes what it produced.
            if grant.family_id:
                self.revoke_family(grant.family_id)
            raise OAuthError("invalid_grant", "The authorization code was already used.")
        grant.used = True
        if grant.expires_at <= self.signer.clock.now():
            raise OAuthError("invalid_grant", "The authorization code has expired.")
        if form.get("redirect_uri", "") != grant.redirect_uri:
            raise OAuthError(
                "invalid_grant", "redirect_uri does not match the authorization request."
            )
        verifier = form.get("code_verifier")
        if grant.code_challenge is not None:
            if not verifier:
                raise OAuthError("invalid_grant", "code_verifier is required (PKCE).")
            if not hmac.compare_digest(s256(verifier), grant.code_challenge):
                raise OAuthError(
                    "invalid_grant", "code_verifier does not match the code_challenge."
                )
        elif verifier:
            raise OAuthError("invalid_grant", "code_verifier given but no code_challenge was sent.")
        if grant.dpop_jkt is not None and grant.dpop_jkt != jkt:
            # RFC 9449 section 10: the code is bound to the key named by dpop_jkt.
            raise OAuthError("invalid_grant", "The code is bound to another DPoP key.")
        family = self.new_family(client, grant.user_id, grant.session_id)
        grant.family_id = family.family_id
        return self.issue(
            client,
            grant.scope,
            user_id=grant.user_id,
            family=family,
            with_refresh="offline_access" in grant.scope and "refresh_token" in client.grant_types,
            nonce=grant.nonce,
            auth_time=grant.auth_time,
            jkt=jkt,
        )

    def refresh(
        self, client: OAuthClient, form: Mapping[str, str], *, jkt: str | None = None
    ) -> dict[str, Any]:
        """The refresh grant with rotation; a reused refresh token revokes its whole family
        (OAuth 2.0 Security BCP, RFC 9700 section 4.14.2)."""
        record = self.tenant.refresh_tokens.get(form.get("refresh_token", ""))
        if record is None or record.client_id != client.client_id:
            raise OAuthError("invalid_grant", "Unknown refresh token.")
        family = self.tenant.families[record.family_id]
        if family.revoked:
            raise OAuthError("invalid_grant", "The refresh token was revoked.")
        if record.used:
            self.revoke_family(family.family_id)
            raise OAuthError(
                "invalid_grant", "Refresh token reuse detected; the whole grant was revoked."
            )
        if record.expires_at <= self.signer.clock.now():
            raise OAuthError("invalid_grant", "The refresh token has expired.")
        if record.jkt is not None and record.jkt != jkt:
            # RFC 9449 section 5: a bound refresh token needs a proof by the same key.
            raise OAuthError("invalid_grant", "The refresh token is bound to another DPoP key.")
        requested = split_scope(form.get("scope")) or record.scope
        widened = [s for s in requested if s not in record.scope]
        if widened:
            raise OAuthError(
                "invalid_scope", f"Cannot widen the grant's scope: {' '.join(widened)}."
            )
        record.used = True
        return self.issue(
            client, requested, user_id=record.user_id, family=family, with_refresh=True, jkt=jkt
        )

    # ------------------------------------------------------------ using tokens
    def access_claims(self, token: str) -> dict[str, Any]:
        """Return the claims of a live access token.

        Raises:
            InvalidToken: not one of ours, expired, or revoked.
        """
        claims = self.signer.verify(token)
        issued = self.tenant.access_tokens.get(str(claims.get("jti")))
        if issued is None or issued.revoked:
            raise InvalidToken("the token was revoked")
        return claims

    def revoke(self, client: OAuthClient, token: str, hint: str | None) -> None:
        """Revoke a token this client holds; unknown tokens are ignored (RFC 7009 2.2).

        ``hint`` only orders the search (RFC 7009 2.1); both kinds are always looked up.
        Revoking a refresh token revokes its grant's access tokens too (RFC 7009 2.1).
        """
        del hint  # the two kinds are told apart cheaply, so the hint changes nothing
        refresh = self.tenant.refresh_tokens.get(token)
        if refresh is not None:
            if refresh.client_id == client.client_id:
                self.revoke_family(refresh.family_id)
            return
        try:
            claims = self.signer.verify(token)
        except InvalidToken:
            return
        issued = self.tenant.access_tokens.get(str(claims.get("jti")))
        if issued is not None and issued.client_id == client.client_id:
            issued.revoked = True

    def introspect(self, token: str) -> dict[str, Any]:
        """Describe a token (RFC 7662 section 2.2); anything not live is ``{active: false}``."""
        refresh = self.tenant.refresh_tokens.get(token)
        if refresh is not None:
            family = self.tenant.families[refresh.family_id]
            if refresh.used or family.revoked or refresh.expires_at <= self.signer.clock.now():
                return {"active": False}
            description: dict[str, Any] = {
                "active": True,
                "token_type": "refresh_token",
                "scope": " ".join(refresh.scope),
                "client_id": refresh.client_id,
                "exp": int(refresh.expires_at),
                "iat": int(refresh.issued_at),
                "iss": self.signer.issuer,
            }
            if refresh.user_id:
                description["sub"] = refresh.user_id
                user = self.tenant.users.get(refresh.user_id)
                if user is not None:
                    description["username"] = user["email"]
            return description
        try:
            claims = self.access_claims(token)
        except InvalidToken:
            return {"active": False}
        user = self.tenant.users.get(str(claims.get("sub")))
        return {
            "active": True,
            "token_type": "DPoP" if "cnf" in claims else "Bearer",
            **({"username": user["email"]} if user is not None else {}),
            **{
                k: claims[k]
                for k in (
                    "scope",
                    "client_id",
                    "sub",
                    "aud",
                    "iss",
                    "exp",
                    "iat",
                    "nbf",
                    "jti",
                    "cnf",
                )
                if k in claims
            },
        }
