"""Scenario refresh_fleet: 8 processes refresh one expired user session, with and without a
shared ``RedisTokenSetStore``, against a rotating refresh grant with reuse detection.

Each round stores the session expired (``rt-0``), starts 8 worker processes
(worker_refresh_fleet.py) and lets each make 50 concurrent ``get_token_set()`` calls at
once; the bench server's refresh route answers after 100 ms, so the processes overlap.
With the store, one process refreshes under the lease and the others adopt its tokens;
without it (a ``RefreshingAuth`` per process, one refresh at a time within each), every
process sends ``rt-0``, and the server takes the second use for theft and revokes the
family.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from typing import Any

from bench_common import HERE, PEER_ROUNDS, PYTHON, Report, Row, control, log, redis_server

PROCESSES = 8
CONCURRENCY = 50
SESSION = "bench-session"


async def _store_expired_session(redis_url: str, prefix: str) -> None:
    from intelliauth_ext import RedisTokenSetStore, TokenSet

    store = RedisTokenSetStore(redis_url, prefix=prefix)
    expired = TokenSet(access_token="at-0", refresh_token="rt-0", expires_at=time.time() - 10)
    await store.save(SESSION, expired)
    await store.aclose()


def _round(base: str, redis_url: str | None, prefix: str) -> dict[str, Any]:
    """One expiry seen by every process at once; the server's counts and the workers'."""
    control(base, "/_reset?token_delay=0.1")
    if redis_url is not None:
        asyncio.run(_store_expired_session(redis_url, prefix))
    arguments = json.dumps(
        {
            "base": base,
            "redis_url": redis_url,
            "prefix": prefix,
            "session": SESSION,
            "concurrency": CONCURRENCY,
        }
    )
    members = [
        subprocess.Popen(
            [PYTHON, "-W", "ignore", str(HERE / "worker_refresh_fleet.py"), "member", arguments],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    for member in members:
        assert member.stdout is not None
        line = member.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"a refresh_fleet member did not start: {line!r}")
    for member in members:
        assert member.stdin is not None
        member.stdin.write("go\n")
        member.stdin.flush()
    results = []
    for member in members:
        stdout, _ = member.communicate(timeout=120)
        if member.returncode != 0:
            raise RuntimeError("a refresh_fleet member failed")
        results.append(json.loads(stdout.strip().splitlines()[-1]))
    stats = control(base, "/_stats")
    failed = sum(n for result in results for kind, n in result["outcomes"].items() if kind != "ok")
    waits = [result["longest"] for result in results if not result["refreshes"]]
    return {
        "refresh_requests": stats["refresh_requests"],
        "invalid_grants": stats["invalid_grants"],
        "failed_calls": failed,
        "longest_non_leader_wait": max(waits) if waits else None,
    }


def run(base: str, report: Report) -> None:
    """Refresh requests per expiry, shared store against none, side by side."""
    name = f"8. refresh fleet: {PROCESSES} processes x {CONCURRENCY} calls on one expired session"
    with redis_server() as redis_url:
        if redis_url is None:
            report.rows.append(
                Row(name, "1 refresh with the store", "skipped: no redis-server", "", None)
            )
            return
        shared, alone = [], []
        for number in range(PEER_ROUNDS):
            shared.append(_round(base, redis_url, f"bench:refresh:{number}:{time.time()}:"))
            alone.append(_round(base, None, ""))
            log(f"refresh_fleet round {number + 1}: store {shared[-1]}, none {alone[-1]}")
    control(base, "/_reset?token_delay=0")
    report.figures["refresh_fleet"] = {"store": shared, "none": alone}
    calls = PROCESSES * CONCURRENCY

    def summary(rounds: list[dict[str, Any]]) -> str:
        return "; ".join(
            f"{r['refresh_requests']} refresh, {r['invalid_grants']} invalid_grant, "
            f"{r['failed_calls']}/{calls} calls failed"
            for r in rounds
        )

    longest = [r["longest_non_leader_wait"] for r in shared if r["longest_non_leader_wait"]]
    wait = f" (longest non-leader wait {max(longest) * 1000:.0f} ms)" if longest else ""
    report.rows.append(
        Row(
            f"{name} (100 ms rotating refresh grant, reuse revokes the family)",
            "1 refresh request per expiry with RedisTokenSetStore, 0 invalid_grant",
            f"RedisTokenSetStore: {summary(shared)}{wait} | without: {summary(alone)}",
            "no peer shares a session's refresh across processes",
            all(r["refresh_requests"] == 1 and r["failed_calls"] == 0 for r in shared),
        )
    )
