"""Tests for intelliauth_ext._secret: the Secret type, and the objects that hold one."""

from __future__ import annotations

import copy
import pickle

import httpx
import pytest

from intelliauth_ext import (
    AuthorizationCodeFlow,
    ClientCredentials,
    IntelliAuth,
    RefreshingAuth,
    StaticToken,
    TokenSet,
)
from intelliauth_ext._auth._client_auth import ClientSecretBasicAuth
from intelliauth_ext._secret import Secret

VALUE = "cs_SUPERSECRET_value"


def test_repr_str_and_format_show_no_value() -> None:
    """repr, str and an f-string all print a placeholder."""
    secret = Secret(VALUE)
    assert repr(secret) == "Secret('[REDACTED]')"
    assert str(secret) == "[REDACTED]"
    assert f"{secret}" == "[REDACTED]"
    assert secret.reveal() == VALUE


def test_there_is_no_dict_to_show_and_nothing_to_change() -> None:
    """vars() has nothing to show (__slots__); the value can not be replaced or deleted."""
    secret = Secret(VALUE)
    with pytest.raises(TypeError):
        vars(secret)
    with pytest.raises(AttributeError):
        secret._value = "other"
    with pytest.raises(AttributeError):
        del secret._value
    assert secret.reveal() == VALUE


def test_equality_is_between_secrets_and_hashing_is_refused() -> None:
    """Secrets compare with secrets only; a secret is not hashable (no cheap oracle)."""
    assert Secret(VALUE) == Secret(VALUE)
    assert Secret(VALUE) != Secret("other")
    assert Secret(VALUE) != VALUE
    with pytest.raises(TypeError):
        hash(Secret(VALUE))


def test_pickling_is_refused_and_copies_are_the_same_object() -> None:
    """A pickle would hold the value in clear: refused; copy and deepcopy share the object."""
    secret = Secret(VALUE)
    with pytest.raises(TypeError, match="can not be pickled"):
        pickle.dumps(secret)
    assert copy.copy(secret) is secret
    assert copy.deepcopy({"s": secret})["s"] is secret


def test_truthiness_and_type() -> None:
    """A Secret is true when non-empty; only a str can be held."""
    assert Secret(VALUE)
    assert not Secret("")
    with pytest.raises(TypeError):
        Secret(b"bytes")  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_no_holder_shows_the_secret_in_vars_or_repr() -> None:
    """The client, the token managers, the flow and the auths keep their secrets wrapped."""
    tokens = TokenSet(access_token="at_" + VALUE, refresh_token="rt_" + VALUE)
    client = IntelliAuth("https://t.test", client_id="cid", client_secret=VALUE)
    await client.aclose()  # nothing was opened; closed first so that a failure leaks nothing
    holders: list[object] = [
        client,
        ClientCredentials("https://t.test/oauth2/token", "cid", VALUE),
        RefreshingAuth(
            tokens, token_url="https://t.test/oauth2/token", client_id="cid", client_secret=VALUE
        ),
        AuthorizationCodeFlow(
            {
                "issuer": "https://t.test",
                "authorization_endpoint": "https://t.test/oauth2/authorize",
                "token_endpoint": "https://t.test/oauth2/token",
                "jwks_uri": "https://t.test/.well-known/jwks.json",
            },
            "cid",
            "https://app.test/callback",
            client_secret=VALUE,
        ),
        ClientSecretBasicAuth("cid", VALUE),
        StaticToken(VALUE),
    ]
    for holder in holders:
        for text in (repr(holder), str(holder), repr(vars(holder))):
            assert VALUE not in text, type(holder).__name__
        assert "[REDACTED]" in repr(vars(holder)), type(holder).__name__


def test_the_wrapped_secret_is_still_sent() -> None:
    """The auths reveal the value where it is sent: the Authorization header."""
    request = httpx.Request("GET", "https://t.test/x")
    next(StaticToken(VALUE).auth_flow(request))
    assert request.headers["Authorization"] == f"Bearer {VALUE}"
    next(ClientSecretBasicAuth("cid", VALUE).auth_flow(request))
    assert request.headers["Authorization"].startswith("Basic ")
    assert httpx.BasicAuth("cid", VALUE)._auth_header == request.headers["Authorization"]


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # redis.asyncio needs asyncio
async def test_a_redis_cache_built_from_a_url_shows_no_password(anyio_backend: str) -> None:
    """The URL is not kept, and redis-py's own repr of its pool hides the password."""
    from intelliauth_ext import RedisTokenCache

    cache = RedisTokenCache(f"redis://user:{VALUE}@127.0.0.1:6379/0")
    try:
        for text in (repr(cache), str(cache), repr(vars(cache))):
            assert VALUE not in text
    finally:
        await cache.aclose()
