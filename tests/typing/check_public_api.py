"""The public API as a user writes it, type-checked by ``make typecheck`` (mypy --strict).

Not collected by pytest (the name does not start with ``test_``): it exists to fail the
type check when a public signature or return type changes under users' feet.
"""

from __future__ import annotations

from typing import assert_type

from intelliauth_client.facade import Page, Paginator
from intelliauth_client.models.user import User
from intelliauth_client.models.user_create import UserCreate
from intelliauth_ext import (
    ClientCredentials,
    IntelliAuth,
    MfaChallenge,
    NotFoundError,
    SignedIn,
    TokenSet,
    webhooks,
)


async def users(client: IntelliAuth) -> None:
    """The runtime issue's usage, with the types a user relies on."""
    user = await client.users.get("usr_01")
    assert_type(user, User)
    listing = client.users.list(limit=100)
    assert_type(listing, Paginator[User])  # the protocol AsyncPaginator satisfies
    async for each in listing:
        assert_type(each, User)
    page = await client.users.list(limit=10)
    assert_type(page, Page[User])
    assert_type(page.next_cursor, str | None)
    assert_type(await page.next_page(), Page[User])
    assert_type(await client.users.create(UserCreate(email="a@example.com")), User)
    try:
        await client.users.get("missing")
    except NotFoundError as exc:
        assert_type(exc.request_id, str | None)


async def sign_in(client: IntelliAuth) -> TokenSet:
    """The MFA helper returns one of two types; both end in a TokenSet."""
    result = await client.auth.sign_in("ada@example.com", "pw")
    assert_type(result, SignedIn | MfaChallenge)
    if isinstance(result, MfaChallenge):
        result = await result.verify("123456")
    return result.tokens


async def machine(token_url: str) -> str:
    """ClientCredentials hands out typed tokens."""
    async with ClientCredentials(token_url, "id", "secret", scopes=["users:read"]) as auth:
        return (await auth.get_token()).access_token


def receive(body: bytes, headers: dict[str, str]) -> str:
    """webhooks.verify returns a typed event."""
    event = webhooks.verify(body, headers, ["whsec_a", "whsec_b"])
    return event.id
