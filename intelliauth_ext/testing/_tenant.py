"""The tenant's state: OAuth clients, users and their secrets, groups, sessions, grants.

API-facing records (users, groups, sessions, factors, import jobs) are kept as plain dicts
shaped like the contract's schemas, so routes return them as they are; what the API never
shows (password hashes, TOTP secrets, refresh tokens) lives in typed records beside them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from typing import Any

import attrs

from ._clock import SandboxClock, rfc3339
from ._ids import new_id, new_secret
from ._one_time_codes import OneTimeCodes
from ._store import Collection
from ._webauthn import WebAuthnState

Record = dict[str, Any]

ALL_SCOPES: tuple[str, ...] = (
    "openid",
    "profile",
    "email",
    "offline_access",
    "users:read",
    "users:write",
    "groups:read",
    "groups:write",
    "applications:read",
    "applications:write",
    "resources:read",
    "resources:write",
    "federation:read",
    "federation:write",
    "webhooks:read",
    "webhooks:write",
)
# Scopes about a signed-in user: meaningless for a client acting as itself.
USER_SCOPES: frozenset[str] = frozenset({"openid", "profile", "email", "offline_access"})
ALL_GRANT_TYPES: tuple[str, ...] = ("client_credentials", "authorization_code", "refresh_token")


@attrs.define
class OAuthClient:
    """A registered OAuth client (an application of the tenant)."""

    client_id: str
    client_secret: str | None  # None for public clients (auth method "none")
    name: str
    application_id: str = attrs.field(factory=lambda: new_id("app"))
    allowed_scopes: tuple[str, ...] = ALL_SCOPES
    grant_types: tuple[str, ...] = ALL_GRANT_TYPES
    redirect_uris: tuple[str, ...] = ()
    auth_methods: tuple[str, ...] = ("client_secret_basic", "client_secret_post")
    access_token_ttl: int = 3600
    refresh_token_ttl: int = 30 * 24 * 3600
    # FAPI (_fapi.py): the public JWK of a private_key_jwt client, which has no secret;
    # whether its tokens must be DPoP-bound, and its authorization requests pushed.
    public_jwk: dict[str, Any] | None = None
    require_dpop: bool = False
    require_par: bool = False

    @property
    def is_public(self) -> bool:
        """Whether the client has no credentials (SPA, native): PKCE is then mandatory."""
        return self.client_secret is None and self.public_jwk is None

    def __repr__(self) -> str:
        # Never print the secret.
        return (
            f"OAuthClient(client_id={self.client_id!r}, name={self.name!r}, "
            f"public={self.is_public})"
        )


@attrs.define
class AuthorizationCode:
    """A one-time code from /oauth2/authorize, waiting to be exchanged at /oauth2/token."""

    code: str
    client_id: str
    redirect_uri: str
    scope: tuple[str, ...]
    user_id: str
    session_id: str
    code_challenge: str | None
    nonce: str | None
    auth_time: int
    expires_at: float
    used: bool = False
    dpop_jkt: str | None = None  # the key the tokens must be bound to (RFC 9449 10)
    family_id: str | None = None  # the refresh family it produced, revoked on code reuse


@attrs.define
class RefreshToken:
    """One refresh token of a rotation family."""

    token: str
    family_id: str
    client_id: str
    user_id: str | None
    scope: tuple[str, ...]
    expires_at: float
    issued_at: float
    used: bool = False
    jkt: str | None = None  # bound to this DPoP key (RFC 9449 section 5)


@attrs.define
class TokenFamily:
    """A grant's chain of rotated refresh tokens and the access tokens issued from it."""

    family_id: str
    client_id: str
    user_id: str | None
    session_id: str | None
    revoked: bool = False
    access_token_ids: set[str] = attrs.field(factory=set)
    refresh_tokens: list[str] = attrs.field(factory=list)


@attrs.define
class IssuedAccessToken:
    """What the sandbox remembers of an access token: enough to revoke it."""

    jti: str
    client_id: str
    family_id: str | None
    revoked: bool = False


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """Return ``salt$digest`` (PBKDF2-SHA256; few iterations: this is a test tenant)."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 1000)
    return f"{salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches a :func:`hash_password` result."""
    salt_hex, _, _ = stored.partition("$")
    return hmac.compare_digest(hash_password(password, salt=bytes.fromhex(salt_hex)), stored)


@attrs.define
class Tenant:
    """Everything the sandbox knows, in memory."""

    clock: SandboxClock
    clients: dict[str, OAuthClient] = attrs.field(factory=dict)
    users: Collection[Record] = attrs.field(factory=lambda: Collection("user"))
    passwords: dict[str, str] = attrs.field(factory=dict)  # user_id -> hash
    groups: Collection[Record] = attrs.field(factory=lambda: Collection("group"))
    memberships: Collection[Record] = attrs.field(factory=lambda: Collection("membership"))
    sessions: Collection[Record] = attrs.field(factory=lambda: Collection("session"))
    factors: Collection[Record] = attrs.field(factory=lambda: Collection("mfa_factor"))
    totp_secrets: dict[str, str] = attrs.field(factory=dict)  # factor_id -> base32 secret
    # SMS and email factors: where their codes go, and the codes sent (_one_time_codes.py).
    one_time_codes: OneTimeCodes = attrs.field(factory=OneTimeCodes)
    imports: Collection[Record] = attrs.field(factory=lambda: Collection("user_import"))
    import_rows: dict[str, list[Any]] = attrs.field(factory=dict)  # import job id -> rows
    codes: dict[str, AuthorizationCode] = attrs.field(factory=dict)
    refresh_tokens: dict[str, RefreshToken] = attrs.field(factory=dict)
    families: dict[str, TokenFamily] = attrs.field(factory=dict)
    access_tokens: dict[str, IssuedAccessToken] = attrs.field(factory=dict)
    mfa_flows: dict[str, Record] = attrs.field(factory=dict)
    # WebAuthn ceremonies and passkeys (routes: webauthn.py); the factors stay in `factors`.
    webauthn: WebAuthnState = attrs.field(factory=WebAuthnState)
    # --- applications, ReBAC and federation (routes: applications.py, resource_types.py,
    # resources.py, federation.py; permission evaluation: _rebac.py) ---
    applications: Collection[Record] = attrs.field(factory=lambda: Collection("application"))
    # client_id -> (previous secret, accepted until): a rotation's grace period.
    retiring_secrets: dict[str, tuple[str, float]] = attrs.field(factory=dict)
    resource_types: Collection[Record] = attrs.field(factory=lambda: Collection("resource_type"))
    resources: Collection[Record] = attrs.field(factory=lambda: Collection("resource"))
    relations: Collection[Record] = attrs.field(factory=lambda: Collection("relation"))
    federation_connections: Collection[Record] = attrs.field(
        factory=lambda: Collection("federation_connection")
    )
    federation_secrets: dict[str, str] = attrs.field(factory=dict)  # connection id -> secret
    # --- end of applications, ReBAC and federation ---

    def add_client(
        self,
        *,
        name: str = "Sandbox client",
        public: bool = False,
        scopes: Iterable[str] = ALL_SCOPES,
        grant_types: Iterable[str] = ALL_GRANT_TYPES,
        redirect_uris: Iterable[str] = ("http://127.0.0.1/callback", "http://localhost/callback"),
        public_jwk: dict[str, Any] | None = None,
        require_dpop: bool = False,
        require_par: bool = False,
    ) -> OAuthClient:
        """Register a client (confidential with a fresh secret or a public JWK for
        private_key_jwt, or public) and return it."""
        methods = ("none",) if public else ("client_secret_basic", "client_secret_post")
        client = OAuthClient(
            client_id=new_secret(12),
            client_secret=None if public or public_jwk is not None else new_secret(32),
            name=name,
            allowed_scopes=tuple(scopes),
            grant_types=tuple(grant_types),
            redirect_uris=tuple(redirect_uris),
            auth_methods=("private_key_jwt",) if public_jwk is not None else methods,
            public_jwk=public_jwk,
            require_dpop=require_dpop,
            require_par=require_par,
        )
        self.clients[client.client_id] = client
        return client

    def user_by_email(self, email: str) -> Record | None:
        """Return the user with this email (case-insensitive), or None."""
        wanted = email.casefold()
        return self.users.find(lambda user: str(user.get("email", "")).casefold() == wanted)

    def new_session(
        self,
        user_id: str,
        *,
        client_id: str | None,
        user_agent: str | None,
        ip_address: str | None,
        lifetime: int = 30 * 24 * 3600,
    ) -> Record:
        """Open a sign-in session for ``user_id`` and return its record.

        ``user_id`` and ``client_id`` are kept on the record for the sandbox's own lookups;
        the API view (``_routes/me.py``) leaves them out.
        """
        now = self.clock.isoformat()
        client = self.clients.get(client_id or "")
        session_id = new_id("ses")
        session: Record = {
            "id": session_id,
            "user_id": user_id,
            "client_id": client_id,
            "application_id": client.application_id if client is not None else None,
            "ip_address": ip_address or "127.0.0.1",
            "user_agent": user_agent,
            "location": None,
            "created_at": now,
            "last_active_at": now,
            "expires_at": rfc3339(self.clock.now() + lifetime),
        }
        return self.sessions.add(session_id, session)
