"""One "run of a command-line tool" for test_native_token_stores: refresh a stored session.

``python native_store_worker.py STORE DIRECTORY TOKEN_URL CLIENT_ID KEY GO_FILE``: waits
until GO_FILE exists (so that two workers start together), then asks ``RefreshingAuth``
(on a ``FileTokenSetStore`` in DIRECTORY, or the keyring when STORE is ``keyring``) for the
session's token set, due for refresh, and prints its access token.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import anyio

from intelliauth_ext import FileTokenSetStore, KeyringTokenSetStore, RefreshingAuth, TokenSetStore


async def main(store_kind: str, directory: str, token_url: str, client_id: str, key: str) -> None:
    store: TokenSetStore = (
        KeyringTokenSetStore(lock_directory=Path(directory) / "locks")
        if store_kind == "keyring"
        else FileTokenSetStore(Path(directory))
    )
    auth = RefreshingAuth(token_url=token_url, client_id=client_id, store=store, store_key=key)
    try:
        print((await auth.get_token_set()).access_token)
    finally:
        await auth.aclose()


if __name__ == "__main__":
    go_file = Path(sys.argv[6])
    deadline = time.monotonic() + 30
    while not go_file.exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    anyio.run(main, sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
