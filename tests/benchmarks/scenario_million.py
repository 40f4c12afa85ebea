"""10: a million users streamed through the paginator in constant memory.

``async for user in client.users.list(limit=100)`` over 10,000 pages of 100 from the
bench server on loopback (``/_reset?pages=10000``); resident memory is sampled after the
first 10,000 users and every 100,000 after. The paginator holds one page at a time, so
what grows is what a million-long iteration must keep: the cursors already followed (the
loop check, a few bytes each).
"""

from __future__ import annotations

from bench_common import Report, Row, control, log, scaled, worker

SCRIPT = "worker_million.py"
USERS = 1_000_000
PAGE = 100


def run(base: str, report: Report) -> None:
    """Scenario 10: RSS growth from the first 10,000 users to the last."""
    users = scaled(USERS)
    pages = max(2, users // PAGE)
    control(base, f"/_reset?pages={pages}")
    try:
        result = worker(
            "stream", script=SCRIPT, base=base, warm=10_000, every=max(PAGE, users // 10)
        )
    finally:
        control(base, "/_reset")
    checkpoints = result["checkpoints"]
    first, last = checkpoints[0][1], checkpoints[-1][1]
    growth = last - first
    peak = max(rss for _, rss in checkpoints)
    report.figures["million"] = result
    log(f"10 million: {result['count']} users, {growth:+.2f} MB, {result['cpu_s']:.1f} s CPU")
    report.rows.append(
        Row(
            f"10. stream {result['count']:,} users (pages of {PAGE}): RSS growth after the "
            "first 10,000",
            "≤ 10 MB",
            f"{growth:+.1f} MB ({first:.1f} -> {last:.1f} MB, peak {peak:.1f} MB)",
            f"{result['cpu_s']:.1f} s of client CPU, "
            f"{result['cpu_s'] / result['count'] * 1e6:.2f} µs per user",
            growth <= 10 and result["count"] == pages * PAGE,
        )
    )
