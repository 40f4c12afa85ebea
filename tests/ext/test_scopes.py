"""One scope rule: sorted, distinct, non-empty; strings split on whitespace and commas."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from intelliauth_ext._auth import AccessToken, CacheKey
from intelliauth_ext._flow import AuthorizationCodeFlow
from intelliauth_ext._scopes import normalise_scopes
from intelliauth_ext._token_endpoints import IntrospectionResult
from intelliauth_ext._token_set import TokenSet
from intelliauth_ext._verification import VerifiedToken
from intelliauth_ext.cli._config import load_settings
from intelliauth_ext.testing._oauth import split_scope

#: A value with repeats, an empty entry, a comma and mixed whitespace, out of order.
MESSY = "users:write openid\tusers:read,,users:write \n email"
CANONICAL = ("email", "openid", "users:read", "users:write")

_METADATA = {
    "issuer": "https://idp.example.test",
    "authorization_endpoint": "https://idp.example.test/authorize",
    "token_endpoint": "https://idp.example.test/token",
}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ()),
        ("", ()),
        (" , ", ()),
        ("b a", ("a", "b")),
        ("a,b  a", ("a", "b")),
        (["b", "a", "b", ""], ("a", "b")),
        (("x y", "w,z"), ("w", "x", "y", "z")),
        (iter(["c", "a"]), ("a", "c")),
        (MESSY, CANONICAL),
    ],
)
def test_the_rule(value: object, expected: tuple[str, ...]) -> None:
    """Strings and iterables of strings give the same sorted, distinct tuple."""
    assert normalise_scopes(value) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [5, [1, "a"], b"users:read", [None]])
def test_other_types_are_a_type_error(value: object) -> None:
    """Anything but a string, an iterable of strings or None is a TypeError."""
    with pytest.raises(TypeError):
        normalise_scopes(value)  # type: ignore[arg-type]


@given(st.lists(st.text(alphabet="abc:, \t", max_size=8), max_size=8))
def test_normalising_is_idempotent_and_order_free(values: list[str]) -> None:
    """Normalising twice changes nothing, and the order of the input does not matter."""
    once = normalise_scopes(values)
    assert normalise_scopes(once) == once
    assert normalise_scopes(reversed(values)) == once
    assert normalise_scopes(" ".join(values)) == once
    assert list(once) == sorted(set(once))
    assert all(scope and "," not in scope and not any(c.isspace() for c in scope) for scope in once)


def _config_scopes(value: str) -> tuple[str, ...]:
    env = {"INTELLIAUTH_TENANT_URL": "https://t.example.test", "INTELLIAUTH_SCOPES": value}
    return load_settings(environ=env, path=Path("/nonexistent")).scopes


def _introspected(value: str) -> tuple[str, ...]:
    return IntrospectionResult.from_dict({"active": True, "scope": value}).scope


def _verified(value: str) -> tuple[str, ...]:
    return tuple(sorted(VerifiedToken(header={}, claims={"scope": value}).scopes))


#: Every place that takes or reads scopes, fed the same value.
READERS: dict[str, Callable[[str], tuple[str, ...]]] = {
    "TokenSet": lambda value: TokenSet(access_token="a", scope=value).scope,
    "AccessToken": lambda value: AccessToken("a", expires_at=0.0, lifetime=1.0, scope=value).scope,
    "CacheKey": lambda value: CacheKey(token_url="u", client_id="c", scopes=value).scopes,
    "AuthorizationCodeFlow": lambda value: (
        AuthorizationCodeFlow(_METADATA, "client", "https://app.example.test/cb", value).scopes
    ),
    "IntrospectionResult": _introspected,
    "VerifiedToken": _verified,
    "cli profile": _config_scopes,
    "sandbox": split_scope,
}


@pytest.mark.parametrize("reader", READERS.values(), ids=READERS.keys())
def test_every_reader_applies_the_rule(reader: Callable[[str], tuple[str, ...]]) -> None:
    """Each place scopes enter the SDK (or the sandbox) gives the canonical form."""
    assert reader(MESSY) == CANONICAL
