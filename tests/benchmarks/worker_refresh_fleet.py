"""One process of the refresh_fleet benchmark: concurrent calls on one expired user session.

Usage: ``python worker_refresh_fleet.py member <json arguments>`` (the argv/JSON convention
of bench_worker.py). Arguments: ``base`` (the bench server), ``redis_url`` and ``prefix``
(None: no shared store, this process refreshes alone), ``session`` (the store key) and
``concurrency``. Prints "ready", waits for a line on stdin, makes ``concurrency``
concurrent ``get_token_set()`` calls on a ``RefreshingAuth``, and prints its JSON result
as the last stdout line.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from typing import Any

CLIENT_ID = "bench-client"
CLIENT_SECRET = "bench-secret"  # a fixture value for the canned server


async def member(args: dict[str, Any]) -> dict[str, Any]:
    """The calls of one process; its refresh requests, outcomes and longest wait."""
    from intelliauth_ext import RedisTokenSetStore, RefreshingAuth, TokenSet

    token_url = f"{args['base']}/oauth2/refresh"
    store = None
    if args["redis_url"]:
        store = RedisTokenSetStore(args["redis_url"], prefix=args["prefix"])
        auth = RefreshingAuth(
            token_url=token_url,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            store=store,
            store_key=args["session"],
            max_retries=0,
        )
        await store.load(args["session"])  # connect before the start signal
    else:  # the session as every process read it at sign-in: expired, rt-0
        expired = TokenSet(access_token="at-0", refresh_token="rt-0", expires_at=time.time() - 10)
        auth = RefreshingAuth(
            expired,
            token_url=token_url,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            max_retries=0,
        )
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    outcomes: Counter[str] = Counter()
    waits: list[float] = []

    async def call() -> None:
        started = time.monotonic()
        try:
            await auth.get_token_set()
            outcomes["ok"] += 1
        except Exception as exc:  # counted: the benchmark reports them
            outcomes[type(exc).__name__] += 1
        waits.append(time.monotonic() - started)

    await asyncio.gather(*(call() for _ in range(args["concurrency"])))
    await auth.aclose()
    if store is not None:
        await store.aclose()
    return {"refreshes": auth.refreshes, "outcomes": dict(outcomes), "longest": max(waits)}


MEASUREMENTS = {"member": member}


def main() -> None:
    """Run the named measurement and print its JSON result as the last stdout line."""
    name, raw = sys.argv[1], sys.argv[2]
    result = asyncio.run(MEASUREMENTS[name](json.loads(raw)))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
