"""``FileTokenCache``: tokens shared through files, one refresh among concurrent managers."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import anyio
import pytest

from intelliauth_ext import AccessToken, CacheKey, ClientCredentials
from intelliauth_ext.cli._token_cache import FileTokenCache
from intelliauth_ext.testing import Sandbox

KEY = CacheKey.for_client(
    token_url="https://acme.intelliauth.io/oauth2/token",
    client_id="app_1",
    client_secret="s3cret-value",
    scopes=["users:read"],
)


def _token(value: str, lifetime: float = 3600.0) -> AccessToken:
    return AccessToken(access_token=value, expires_at=time.time() + lifetime, lifetime=lifetime)


@pytest.mark.anyio
async def test_set_then_get_round_trips(tmp_path: Path) -> None:
    """A stored token is read back equal, from a 0600 file in a 0700 folder."""
    cache = FileTokenCache(tmp_path / "cache")
    token = _token("tok-1")
    await cache.set(KEY, token)
    assert await cache.get(KEY) == token
    assert stat.S_IMODE(cache.path_for(KEY).stat().st_mode) == 0o600
    assert stat.S_IMODE(cache.directory.stat().st_mode) == 0o700
    assert "s3cret-value" not in cache.path_for(KEY).name


@pytest.mark.anyio
async def test_corrupt_file_reads_as_missing(tmp_path: Path) -> None:
    """A file that is not a stored token is ignored, and replaced on the next fetch."""
    cache = FileTokenCache(tmp_path)
    cache.path_for(KEY).write_text("{not json")
    assert await cache.get(KEY) is None

    async def fetch() -> AccessToken:
        return _token("fresh")

    token = await cache.get_or_fetch(KEY, fetch, lambda token: True)
    assert token.access_token == "fresh"
    assert (await cache.get(KEY) or _token("x")).access_token == "fresh"


@pytest.mark.anyio
async def test_discard_removes_only_the_failed_token(tmp_path: Path) -> None:
    """``discard`` deletes the file only when it still holds the given token."""
    cache = FileTokenCache(tmp_path)
    await cache.set(KEY, _token("new"))
    await cache.discard(KEY, _token("old"))
    assert await cache.get(KEY) is not None
    await cache.discard(KEY, _token("new"))
    assert await cache.get(KEY) is None


@pytest.mark.anyio
async def test_concurrent_managers_send_one_token_request(
    intelliauth_sandbox: Sandbox, tmp_path: Path
) -> None:
    """Ten managers with their own cache objects on one folder cause one token request."""
    managers = [
        ClientCredentials(
            f"{intelliauth_sandbox.url}/oauth2/token",
            intelliauth_sandbox.client_id,
            intelliauth_sandbox.client_secret,
            cache=FileTokenCache(tmp_path),
        )
        for _ in range(10)
    ]
    tokens: list[str] = []

    async def get(manager: ClientCredentials) -> None:
        tokens.append((await manager.get_token()).access_token)

    async with anyio.create_task_group() as group:
        for manager in managers:
            group.start_soon(get, manager)
    for manager in managers:
        await manager.aclose()
    assert len(set(tokens)) == 1
    assert sum(intelliauth_sandbox.served.statuses("requestToken").values()) == 1
