"""The public API as a user writes it, type-checked by ``make typecheck`` (mypy --strict).

Not collected by pytest (the name does not start with ``test_``): it exists to fail the
type check when a public signature or return type changes under users' feet.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import assert_type

from intelliauth_client.facade import PageProtocol, PaginatorProtocol
from intelliauth_client.models.started_mfa_challenge import StartedMfaChallenge
from intelliauth_client.models.user import User
from intelliauth_client.models.user_create import UserCreate
from intelliauth_ext import (
    AsyncPaginator,
    AuthorizationCodeFlow,
    AuthorizationRequest,
    ClientCredentials,
    ConfigurationError,
    DPoPKey,
    FlowStore,
    IntelliAuth,
    IntrospectionResult,
    MfaChallenge,
    NotFoundError,
    Page,
    ProviderMetadata,
    RedisFlowStore,
    RedisTokenSetStore,
    RefreshingAuth,
    ResponseTooLargeError,
    SignedIn,
    SigningKey,
    TokenSet,
    TokenSetStore,
    TokenStoreUnavailableError,
    UserInfoClaims,
    fetch_provider_metadata,
    fetch_userinfo,
    webhooks,
)


async def users(client: IntelliAuth) -> None:
    """The runtime issue's usage, with the types a user relies on."""
    user = await client.users.get("usr_01")
    assert_type(user, User)
    listing = client.users.list(limit=100)
    assert_type(listing, PaginatorProtocol[User])  # the protocol AsyncPaginator satisfies
    async for each in listing:
        assert_type(each, User)
    capped = listing.with_max_items(250)
    assert_type(capped, PaginatorProtocol[User])
    assert_type(capped.max_items, int | None)
    async for each_page in capped.pages():
        assert_type(each_page, PageProtocol[User])
        assert_type(len(each_page), int)
    assert_type(await capped.first_page(), PageProtocol[User])
    page = await client.users.list(limit=10)
    assert_type(page, PageProtocol[User])
    assert_type(page.items, Sequence[User])
    assert_type(page.next_cursor, str | None)
    assert_type(page.has_next_page(), bool)
    assert_type(await page.next_page(), PageProtocol[User])
    assert_type(await client.users.create(UserCreate(email="a@example.com")), User)
    try:
        await client.users.get("missing")
    except NotFoundError as exc:
        assert_type(exc.request_id, str | None)
    big = client.with_options(max_response_bytes=100 * 1024 * 1024)
    assert_type(big.max_response_bytes, int)
    try:
        await big.users.get("usr_01")
    except ResponseTooLargeError as exc:
        assert_type(exc.max_bytes, int)
        assert_type(exc.status_code, int)


def runtime_paginator_is_a_facade_paginator(paginator: AsyncPaginator[User]) -> None:
    """What the runtime returns satisfies the protocols the facade's methods are typed with."""
    as_protocol: PaginatorProtocol[User] = paginator
    capped: PaginatorProtocol[User] = paginator.with_max_items(250)
    widened: PaginatorProtocol[object] = paginator  # covariant, as a read-only view is
    del as_protocol, capped, widened


def runtime_page_is_a_facade_page(page: Page[User]) -> PageProtocol[User]:
    """``intelliauth_ext.Page`` satisfies the facade's page protocol."""
    return page


async def sign_in(client: IntelliAuth) -> TokenSet:
    """The MFA helper returns one of two types; both end in a TokenSet."""
    result = await client.auth.sign_in_with_password("ada@example.com", "pw")
    assert_type(result, SignedIn | MfaChallenge)
    if isinstance(result, MfaChallenge):
        started = await result.start()
        assert_type(started, StartedMfaChallenge)
        result = await result.verify("123456")
    return result.tokens


async def revoke_and_introspect(client: IntelliAuth, token: str) -> bool:
    """The client's revocation and introspection conveniences, by their one name each."""
    await client.revoke(token, token_type_hint="refresh_token")
    result = await client.introspect(token)
    assert_type(result, IntrospectionResult)
    return result.active


async def machine(token_url: str) -> str:
    """ClientCredentials hands out typed tokens."""
    async with ClientCredentials(token_url, "id", "secret", scopes=["users:read"]) as auth:
        return (await auth.get_token()).access_token


def receive(body: bytes, headers: dict[str, str]) -> str:
    """webhooks.verify returns a typed event."""
    event = webhooks.verify(body, headers, ["whsec_a", "whsec_b"])
    return event.id


async def several_workers(redis_url: str, session_id: str) -> TokenSet | None:
    """The Redis stores fit the FlowStore and TokenSetStore seams they plug into."""
    flow_store: FlowStore = RedisFlowStore(redis_url, secret="s" * 32)
    sessions: TokenSetStore = RedisTokenSetStore(redis_url, lease_seconds=5, ttl=86400)
    AuthorizationCodeFlow(
        "https://acme.intelliauth.io", "app", "https://app/cb", flow_store=flow_store
    )
    auth = RefreshingAuth(
        token_url="https://acme.intelliauth.io/oauth2/token",
        client_id="app",
        store=sessions,
        store_key=session_id,
    )
    try:
        return await auth.get_token_set()
    except TokenStoreUnavailableError:
        return None


async def banking_grade(issuer: str, token_url: str, pem: str) -> AuthorizationRequest:
    """private_key_jwt, DPoP and PAR: one argument each, typed keys."""
    dpop = DPoPKey.generate("ES256")
    assert_type(dpop, DPoPKey)
    assert_type(dpop.jkt, str)
    key = SigningKey.from_pem(pem, alg="PS256", kid="k1")
    assert_type(key, SigningKey)
    async with ClientCredentials(token_url, "id", private_key=key, dpop=dpop) as auth:
        assert_type((await auth.get_token()).is_dpop, bool)
    flow = AuthorizationCodeFlow(
        issuer, "id", "https://app.example/cb", private_key=pem, key_id="k1", dpop=dpop, par=True
    )
    return await flow.start()


async def from_the_environment() -> str:
    """IntelliAuth() reads INTELLIAUTH_*; ConfigurationError names the variable missing."""
    try:
        client = IntelliAuth(environ={"INTELLIAUTH_TENANT_URL": "https://a.test"}, auth=None)
    except ConfigurationError as exc:
        assert_type(exc.variable, str)
        return exc.variable
    async with client:
        return str(client.tenant_url)


async def userinfo(issuer: str, access_token: str) -> str | None:
    """Discovery and UserInfo of any provider, typed claims."""
    metadata = await fetch_provider_metadata(issuer)
    assert_type(metadata, ProviderMetadata)
    info = await fetch_userinfo(metadata, access_token, subject="usr_01")
    assert_type(info, UserInfoClaims)
    assert_type(info.email_verified, bool | None)
    assert_type(info.subject, str)
    return info.email
