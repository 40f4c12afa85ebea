"""One worker process of the session fleet tests: rounds of concurrent calls on one session.

Usage: python redis_session_worker.py REDIS_URL TOKEN_URL API_URL PREFIX SESSION CALLS LEASE
Prints "ready", then for each "go" line on stdin runs a round and prints its JSON result;
"quit" ends it. A round is what a web worker does for requests of one session: a
``RefreshingAuth`` on the shared ``RedisTokenSetStore`` and CALLS concurrent API calls.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter

import anyio
import anyio.to_thread
import httpx

from intelliauth_ext import RedisTokenSetStore, RefreshingAuth


async def run_round(
    store: RedisTokenSetStore, token_url: str, api_url: str, session: str, calls: int
) -> dict[str, object]:
    auth = RefreshingAuth(
        token_url=token_url,
        client_id="web-app",
        client_secret="web-secret",
        store=store,
        store_key=session,
        max_retries=0,
    )
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    started = time.monotonic()

    async def call(http: httpx.AsyncClient) -> None:
        begin = time.monotonic()
        try:
            response = await http.get(api_url)
            statuses[str(response.status_code)] += 1
        except Exception as exc:
            statuses[type(exc).__name__] += 1
        latencies.append(time.monotonic() - begin)

    async with (
        httpx.AsyncClient(auth=auth, trust_env=False) as http,
        anyio.create_task_group() as group,
    ):
        for _ in range(calls):
            group.start_soon(call, http)
    await auth.aclose()
    return {
        "statuses": dict(statuses),
        "refreshes": auth.refreshes,
        "longest": max(latencies),
        "elapsed": time.monotonic() - started,
        "finished_at": time.time(),
    }


async def main(argv: list[str]) -> None:
    redis_url, token_url, api_url, prefix, session, calls, lease = argv
    store = RedisTokenSetStore(redis_url, prefix=prefix, lease_seconds=float(lease))
    await store.load(session)  # connect before the first round
    print("ready", flush=True)
    while (await anyio.to_thread.run_sync(sys.stdin.readline)).strip() == "go":
        result = await run_round(store, token_url, api_url, session, int(calls))
        print(json.dumps(result), flush=True)
    await store.aclose()


if __name__ == "__main__":
    anyio.run(main, sys.argv[1:])
