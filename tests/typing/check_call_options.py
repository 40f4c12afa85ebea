"""Raw responses, per-call options and plain inputs as a user writes them (mypy --strict).

Not collected by pytest: ``make typecheck`` checks it. The ``type: ignore[...]`` lines are
the assertions that a mistake is a type error: with ``warn_unused_ignores`` (strict), an
ignore that no longer silences an error of that code fails the type check.
"""

from __future__ import annotations

from typing import assert_type

import httpx

from intelliauth_client.facade import PageProtocol, RawResponseProtocol
from intelliauth_client.inputs import UserCreateParam
from intelliauth_client.models.user import User
from intelliauth_client.models.user_create import UserCreate
from intelliauth_client.models.user_status import UserStatus
from intelliauth_ext import IntelliAuth, RawResponse, RequestValidationError


async def raw_responses(client: IntelliAuth) -> None:
    """``with_raw_response`` twins: ``parse()`` is typed as the plain method's result."""
    raw = await client.users.with_raw_response.get("usr_01")
    assert_type(raw, RawResponseProtocol[User])
    assert_type(raw.parse(), User)
    assert_type(raw.request_id, str | None)
    assert_type(raw.status_code, int)
    assert_type(raw.headers, httpx.Headers)
    assert_type(raw.http_response, httpx.Response)
    deleted = await client.users.with_raw_response.delete("usr_01")
    assert_type(deleted.parse(), None)
    first = await client.users.with_raw_response.list(limit=10)
    assert_type(first.parse(), PageProtocol[User])
    page = await client.users.list()
    assert_type(page.request_id, str | None)
    assert_type(page.headers, httpx.Headers)
    concrete: RawResponseProtocol[User] = RawResponse[User](
        httpx.Response(200), lambda _: raw.parse()
    )
    assert_type(concrete.parse(), User)


async def per_call_options(client: IntelliAuth) -> None:
    """Every method takes the per-call options, keyword-only."""
    user = await client.users.get(
        "usr_01",
        extra_headers={"X-Trace": "1"},
        extra_query={"expand": "groups"},
        timeout=httpx.Timeout(2.0),
    )
    assert_type(user, User)
    await client.users.get("usr_01", timeout=2)
    await client.users.get("usr_01", timeout=None)
    await client.users.create(UserCreate(email="a@example.com"), extra_body={"note": "x"})
    # extra_body only where the operation has a body.
    await client.users.get("usr_01", extra_body={"x": 1})  # type: ignore[call-arg]
    await client.users.get("usr_01", {"X-Trace": "1"})  # type: ignore[call-arg]


async def plain_inputs(client: IntelliAuth) -> None:
    """Bodies as TypedDict mappings, enums as their values; mistakes are type errors."""
    created = await client.users.create({"email": "a@example.com", "name": "A"})
    assert_type(created, User)
    body: UserCreateParam = {"email": "b@example.com", "send_invitation": True}
    await client.users.create(body)
    typo: UserCreateParam = {"email": "a@example.com", "nmae": "A"}  # type: ignore[typeddict-unknown-key]
    missing: UserCreateParam = {"name": "no email"}  # type: ignore[typeddict-item]
    wrong: UserCreateParam = {"email": 3}  # type: ignore[typeddict-item]
    del typo, missing, wrong
    # In the call, the same mistakes: the mapping fits neither the model nor the TypedDict.
    await client.users.create({"emial": "a@example.com"})  # type: ignore[arg-type]
    await client.users.create({"email": 3})  # type: ignore[arg-type]
    client.users.list(status="active")
    client.users.list(status=UserStatus.ACTIVE)
    client.users.list(status="actve")  # type: ignore[arg-type]
    try:
        await client.users.create({"email": "c@example.com"})
    except RequestValidationError as exc:
        assert_type(exc.field, str)
        value_error: ValueError = exc  # a ValueError subclass
        del value_error
