"""Native-app token stores: a keyring entry or a user-only file; one refresh across processes."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import keyring
import pytest
from keyring.backends import fail
from keyrings.alt.file import PlaintextKeyring  # type: ignore[import-untyped]

from intelliauth_ext import (
    FileTokenSetStore,
    KeyringTokenSetStore,
    RefreshingAuth,
    TokenSet,
    TokenStoreError,
    native_token_set_store,
)
from intelliauth_ext._token_set_store import MAX_STORED_BYTES
from intelliauth_ext.testing import Sandbox

from .native_apps import Browser, native_flow

pytestmark = pytest.mark.anyio

KEY = "default:app_cli@https://acme.intelliauth.io"
TOKENS = TokenSet(
    access_token="access-secret-1",
    refresh_token="refresh-secret-1",
    id_token="id-secret-1",
    scope="openid offline_access",
    expires_at=2_000_000_000.0,
)
WORKER = Path(__file__).with_name("native_store_worker.py")


@pytest.fixture
def plaintext_keyring(tmp_path: Path) -> Iterator[PlaintextKeyring]:
    """keyrings.alt's file backend, in the test's folder, as the keyring in use."""
    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "keyring" / "keyring_pass.cfg")
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture(params=["file", "keyring"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, plaintext_keyring: PlaintextKeyring
) -> FileTokenSetStore | KeyringTokenSetStore:
    """Each store: the file one in the test's folder, the keyring one on keyrings.alt."""
    if request.param == "file":
        return FileTokenSetStore(tmp_path / "tokens")
    return KeyringTokenSetStore(lock_directory=tmp_path / "locks")


async def test_save_load_delete(store: FileTokenSetStore | KeyringTokenSetStore) -> None:
    """A saved token set loads back equal; a deleted key loads as None, twice without error."""
    assert await store.load(KEY) is None
    await store.save(KEY, TOKENS)
    assert await store.load(KEY) == TOKENS
    await store.delete(KEY)
    assert await store.load(KEY) is None
    await store.delete(KEY)


async def test_no_token_in_a_repr(store: FileTokenSetStore | KeyringTokenSetStore) -> None:
    """Neither the store's repr nor a loaded token set's shows a token."""
    await store.save(KEY, TOKENS)
    shown = repr(store) + repr(await store.load(KEY))
    assert "secret" not in shown


async def test_the_file_is_the_users_alone(tmp_path: Path) -> None:
    """Folder 0700, file 0600, named after the profile, holding JSON; no temp file left."""
    store = FileTokenSetStore(tmp_path / "tokens")
    await store.save(KEY, TOKENS)
    path = store.path_for(KEY)
    assert path.name.startswith("default_app_cli_")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.directory.stat().st_mode) == 0o700
    assert [entry.name for entry in store.directory.iterdir()] == [path.name]
    await store.save(KEY, attrs.evolve(TOKENS, access_token="access-secret-2"))
    assert (await store.load(KEY) or TOKENS).access_token == "access-secret-2"


async def test_the_default_folder_is_the_users_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a folder, the file store writes to $XDG_CONFIG_HOME/intelliauth/tokens."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    store = FileTokenSetStore()
    await store.save(KEY, TOKENS)
    assert store.path_for(KEY).parent == tmp_path / "config" / "intelliauth" / "tokens"


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"[]", b'{"refresh_token": "x"}', b'{"error": "invalid_grant"}', b"\xff\xfe"],
)
async def test_corrupt_file_is_a_token_store_error(tmp_path: Path, content: bytes) -> None:
    """A file that is not a token set raises TokenStoreError naming the file, not its content."""
    store = FileTokenSetStore(tmp_path)
    store.path_for(KEY).write_bytes(content)
    with pytest.raises(TokenStoreError, match="does not hold a token set") as info:
        await store.load(KEY)
    assert str(store.path_for(KEY)) in str(info.value)


async def test_a_huge_file_is_not_read_whole(tmp_path: Path) -> None:
    """A file over MAX_STORED_BYTES is refused (bounded read), as a TokenStoreError."""
    store = FileTokenSetStore(tmp_path)
    store.path_for(KEY).write_bytes(b'{"access_token": "' + b"a" * MAX_STORED_BYTES + b'"}')
    with pytest.raises(TokenStoreError, match="longer than"):
        await store.load(KEY)


async def test_a_planted_symlink_is_not_followed(tmp_path: Path) -> None:
    """A symlink where the token file should be is refused, not read."""
    store = FileTokenSetStore(tmp_path)
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text('{"access_token": "planted"}')
    store.path_for(KEY).symlink_to(elsewhere)
    with pytest.raises(TokenStoreError, match="can not read"):
        await store.load(KEY)


async def test_a_corrupt_keyring_entry_is_a_token_store_error(
    plaintext_keyring: PlaintextKeyring, tmp_path: Path
) -> None:
    """An entry that is not a token set raises TokenStoreError naming the entry."""
    plaintext_keyring.set_password("intelliauth", KEY, "{oops")
    store = KeyringTokenSetStore(lock_directory=tmp_path)
    with pytest.raises(TokenStoreError, match="keyring entry"):
        await store.load(KEY)


async def test_the_keyring_is_chosen_when_it_stores(
    plaintext_keyring: PlaintextKeyring, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``native_token_set_store`` is the keyring's with a backend, the file's without one."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    chosen = native_token_set_store()
    assert isinstance(chosen, KeyringTokenSetStore)
    assert chosen.backend is plaintext_keyring
    keyring.set_keyring(fail.Keyring())  # type: ignore[no-untyped-call]
    assert isinstance(native_token_set_store(), FileTokenSetStore)
    with pytest.raises(RuntimeError, match="no system keyring"):
        KeyringTokenSetStore()


async def test_refresh_returns_what_another_holder_stored(
    store: FileTokenSetStore | KeyringTokenSetStore,
) -> None:
    """A stale caller gets the stored newer token set; the refresh function is not called."""
    newer = attrs.evolve(TOKENS, access_token="access-secret-2", refresh_token="refresh-2")
    await store.save(KEY, newer)

    async def must_not_run(_: TokenSet) -> TokenSet:
        raise AssertionError("refreshed although another holder had")

    assert await store.refresh(KEY, TOKENS, must_not_run) == newer


async def test_refresh_and_rotation_are_persisted(
    store: FileTokenSetStore | KeyringTokenSetStore, intelliauth_sandbox: Sandbox
) -> None:
    """RefreshingAuth on the store: each rotated refresh token is written to the store."""
    flow = native_flow(intelliauth_sandbox)
    tokens = await flow.sign_in_with_browser(open_browser=Browser().follow, timeout=30)
    await store.save(KEY, tokens)
    auth = flow.refreshing_auth(store=store, store_key=KEY)
    first = await auth.refresh()
    second = await auth.refresh()
    await auth.aclose()
    assert len({tokens.refresh_token, first.refresh_token, second.refresh_token}) == 3
    assert await store.load(KEY) == second
    # A new run of the program loads the stored session and uses it.
    again = flow.refreshing_auth(store=store, store_key=KEY)
    assert await again.get_token_set() == second
    await again.aclose()


def _refresh_requests(sandbox: Sandbox) -> int:
    return sum(sandbox.served.statuses("requestToken").values())


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("kind", ["file", "keyring"])
async def test_two_processes_refresh_once(
    kind: str, intelliauth_sandbox: Sandbox, tmp_path: Path
) -> None:
    """Two processes started together on one expired session spend the refresh token once."""
    flow = native_flow(intelliauth_sandbox)
    tokens = await flow.sign_in_with_browser(open_browser=Browser().follow, timeout=30)
    expired = attrs.evolve(tokens, expires_at=time.time() - 10)
    data_home = tmp_path / "data"
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(data_home),
        "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
    }
    if kind == "file":
        await FileTokenSetStore(tmp_path / "tokens").save(KEY, expired)
    else:
        backend = PlaintextKeyring()
        backend.file_path = str(data_home / "python_keyring" / "keyring_pass.cfg")
        await KeyringTokenSetStore(backend=backend, lock_directory=tmp_path).save(KEY, expired)
    before = _refresh_requests(intelliauth_sandbox)
    go = tmp_path / "go"
    args = [str(tmp_path / "tokens"), f"{intelliauth_sandbox.url}/oauth2/token", flow.client_id]
    workers = [
        subprocess.Popen(  # noqa: ASYNC220 - started together, waited for below
            [sys.executable, str(WORKER), kind, *args, KEY, str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    go.touch()
    outputs = [worker.communicate(timeout=60) for worker in workers]
    for worker, (_, stderr) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, stderr
    printed = {stdout.strip() for stdout, _ in outputs}
    assert len(printed) == 1  # both use the one new access token
    assert printed != {tokens.access_token}
    assert _refresh_requests(intelliauth_sandbox) - before == 1


async def test_refreshing_auth_needs_a_stored_session(tmp_path: Path) -> None:
    """An empty store: the first call says the user must sign in (InvalidGrantError)."""
    from intelliauth_ext import InvalidGrantError

    auth = RefreshingAuth(
        token_url="https://acme.intelliauth.io/oauth2/token",
        client_id="app_cli",
        store=FileTokenSetStore(tmp_path),
        store_key=KEY,
    )
    with pytest.raises(InvalidGrantError, match="must sign in"):
        await auth.get_token_set()
    await auth.aclose()
