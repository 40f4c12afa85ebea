"""``make bench``: the SDK against its peers, side by side in one run (issue 7).

Starts the canned server (``bench_server.py``) as its own process on 127.0.0.1, runs every
measurement in fresh client processes (``bench_worker.py``), interleaving the libraries
round by round so that a noisy neighbour hurts them all alike, and writes
``docs/benchmarks.md`` (the table) and ``docs/benchmarks.png`` (the chart). Every figure
is a median over rounds, and every target is checked against a figure from this run.

Environment: ``BENCH_ROUNDS`` (default 5) rounds for scenarios 1, 2 and 5,
``BENCH_PEER_ROUNDS`` (default 3) for scenarios 3 and 4 (process fleets);
``BENCH_SCALE`` (default 1) scales the request counts, for a quick smoke run;
``BENCH_STRICT=1`` makes a missed target exit 1 (by default the report is the result and
the exit code is 0).
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import (
    HERE,
    LABELS,
    LAYOUTS,
    PEER_ROUNDS,
    PEERS,
    PYTHON,
    REPO,
    ROUNDS,
    STRICT,
    Report,
    Row,
    bench_server,
    control,
    log,
    median,
    redis_server,
    scaled,
    server_pinned,
    where_cpu_goes,
    worker,
)

sys.path.insert(0, str(REPO))
from codegen.importtime import import_microseconds


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = []
    for package in ("httpx", "aiohttp", "httpx-aiohttp", "authlib", "httpx-auth", "redis"):
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package} (not installed)")
    load = os.getloadavg()
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version() + f" ({platform.python_implementation()})",
        "os": f"{platform.system()} {platform.release()}",
        "libraries": ", ".join(versions),
        "load": f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
    }


# -- scenarios -------------------------------------------------------------------------------


def scenario_get_user(base: str, report: Report) -> None:
    """1: CPU per users.get, 20 in flight, 5,000 requests, against every peer.

    In each CPU layout of ``LAYOUTS`` (the server and the client apart, then sharing one
    CPU); the worse layout's ratios are the figures, the other's are shown beside them.
    """
    layouts: dict[str, dict[str, list[float]]] = {}
    for layout, (server_cpus, client_cpus) in LAYOUTS.items():
        per_round: dict[str, list[float]] = {peer: [] for peer in PEERS}
        with server_pinned(base, server_cpus):
            for round_number in range(ROUNDS):
                for peer in PEERS:
                    result = worker(
                        "get_user",
                        base=base,
                        client=peer,
                        requests=scaled(5000),
                        in_flight=20,
                        warmup=scaled(500),
                        cpus=client_cpus,
                    )
                    per_round[peer].append(result["us"])
                log(
                    f"1 get_user {layout} round {round_number + 1}/{ROUNDS}: "
                    + ", ".join(f"{peer} {values[-1]:.0f}" for peer, values in per_round.items())
                )
        layouts[layout] = per_round

    def paired(layout: str, numerator: str, denominator: str) -> float:
        # The median of the per-round ratios: both libraries ran back to back in each
        # round, so a slow minute on a shared machine cancels out of each ratio.
        rounds = layouts[layout]
        pairs = zip(rounds[numerator], rounds[denominator], strict=True)
        return median([top / bottom for top, bottom in pairs])

    # The worse layout: the higher SDK / raw aiohttp ratio.
    worst = max(layouts, key=lambda layout: paired(layout, "sdk", "aiohttp"))
    per_round = layouts[worst]
    us = {peer: median(values) for peer, values in per_round.items()}
    report.figures["get_user"] = us
    report.figures["get_user_rounds"] = layouts
    vs_httpx = paired(worst, "sdk", "httpx")
    vs_aiohttp = paired(worst, "sdk", "aiohttp")
    others = [layout for layout in layouts if layout != worst]
    beside = "".join(
        f"; {layout}: {paired(layout, 'sdk', 'aiohttp'):.2f} x raw aiohttp, "
        f"{paired(layout, 'sdk', 'httpx'):.2f} x raw httpx"
        for layout in others
    )
    peers = "; ".join(f"{LABELS[peer]} {us[peer]:.0f} µs" for peer in PEERS if peer != "sdk")
    report.rows.append(
        Row(
            "1. users.get CPU/request (cached token, 20 in flight, 5,000 requests, worse CPU "
            "layout)",
            "≤ 0.18 x raw httpx (no worse than before issue 18)",
            f"{us['sdk']:.0f} µs = {vs_httpx:.2f} x raw httpx ({worst}){beside}",
            peers,
            vs_httpx <= 0.18,
        )
    )
    report.rows.append(
        Row(
            "1. users.get CPU/request vs raw aiohttp (worse CPU layout)",
            "≤ 1.7 x raw aiohttp",
            f"{vs_aiohttp:.2f} x raw aiohttp ({worst})",
            f"raw httpx + httpx-aiohttp {paired(worst, 'httpx_aiohttp', 'aiohttp'):.2f} x raw "
            f"aiohttp; raw httpx {paired(worst, 'httpx', 'aiohttp'):.2f} x raw aiohttp; Authlib "
            f"{paired(worst, 'authlib', 'httpx'):.2f} x raw httpx; httpx-auth "
            f"{paired(worst, 'httpx_auth', 'httpx'):.2f} x raw httpx",
            vs_aiohttp <= 1.7,
        )
    )
    if vs_aiohttp > 1.7:
        report.notes.append(
            f"Scenario 1 misses ≤ 1.7 x raw aiohttp ({vs_aiohttp:.2f} x, {worst}); where a "
            f"users.get's CPU goes (cProfile on process time, {worst} layout): "
            + where_cpu_goes(base, worst, "get_user")
        )


def scenario_list(base: str, report: Report) -> None:
    """2: per-item model parsing overhead; the paginator against a hand-written loop."""
    pages: dict[tuple[str, int], list[float]] = {}
    for round_number in range(ROUNDS):
        for client in ("sdk", "raw"):
            for limit in (1, 100):
                result = worker(
                    "list_page",
                    base=base,
                    client=client,
                    limit=limit,
                    requests=scaled(300),
                    warmup=scaled(30),
                )
                pages.setdefault((client, limit), []).append(result["us"])
        log(f"2 list_page round {round_number + 1}/{ROUNDS}")
    # Per item: what a 100-user page costs over a 1-user page, so that every per-request
    # cost (auth, headers, the transport) cancels out; the raw loop's per-item cost is the
    # JSON decode on the same transport.
    per_item_rounds = {
        client: [
            (big - small) / 99
            for big, small in zip(pages[(client, 100)], pages[(client, 1)], strict=True)
        ]
        for client in ("sdk", "raw")
    }
    sdk_item, raw_item = median(per_item_rounds["sdk"]), median(per_item_rounds["raw"])
    wire_overhead = sdk_item - raw_item
    # The figure of record is measured without the network: the difference of four
    # in-flight medians above moves by a couple of µs per item from run to run on a
    # shared machine, more than the target itself.
    breakdowns = [worker("parse_breakdown") for _ in range(ROUNDS)]
    parts = {key: median([b[key] for b in breakdowns]) for key in breakdowns[0]}
    typed, decode = parts["typed"], parts["json_decode"]
    ratio = typed / decode
    report.figures["per_item"] = {"sdk": typed, "raw": decode, "overhead": typed - decode}
    report.rows.append(
        Row(
            "2. users.list page of 100 users: decode + validate + build the models",
            "≤ 1.0 x json.loads of the same bytes",
            f"{ratio:.2f} x: {typed:.2f} µs/item for UserList.from_json (msgspec decodes, "
            f"checks and builds in one pass) against {decode:.2f} µs/item for json.loads "
            f"alone (in-process, median of {ROUNDS}); over the wire {wire_overhead:+.1f} "
            f"µs/item against the raw loop ({sdk_item:.1f} - {raw_item:.1f})",
            f"json.loads {decode:.2f} µs/item; the SDK before msgspec (from_dict on "
            f"json.loads, no checks) {parts['from_dict']:.2f} µs/item; httpx.AsyncClient on "
            f"the SDK's aiohttp transport + response.json(): {raw_item:.1f} µs/item over the "
            f"wire; page of 100: SDK {median(pages[('sdk', 100)]):.0f} µs, "
            f"raw {median(pages[('raw', 100)]):.0f} µs",
            ratio <= 1.0,
        )
    )
    report.notes.append(
        "Scenario 2, a page of 100 users parsed in-process (µs per item, best of 9 repeats, "
        f"median of {ROUNDS} processes): json.loads alone {decode:.2f}; UserList.from_json "
        f"{typed:.2f} (msgspec decodes the bytes straight into the model structs, checking "
        "every type, null, required field, date-time offset and integer range as it goes); "
        f"a page whose every user carries an unknown field {parts['unknown_fields']:.2f} "
        "(the second path: the unknown members set aside, msgspec checks and builds the "
        "rest, each object's unknown members put in its additional_properties); from_dict "
        "on json.loads, the "
        f"pre-msgspec parse, which checked nothing, {parts['from_dict']:.2f}."
    )

    walks: dict[str, list[float]] = {"sdk": [], "raw": []}
    for round_number in range(ROUNDS):
        for client in ("sdk", "raw"):
            walks[client].append(
                worker("iterate_users", base=base, client=client, requests=2)["ms"]
            )
        log(f"2 iterate_users round {round_number + 1}/{ROUNDS}")
    sdk_ms, raw_ms = median(walks["sdk"]), median(walks["raw"])
    report.figures["iterate"] = {"sdk": sdk_ms, "raw": raw_ms}
    report.rows.append(
        Row(
            "2. iterate 10,000 users (100 pages of 100): paginator vs hand loop",
            "≤ 1.3 x hand-written cursor loop",
            f"{sdk_ms:.0f} ms = {sdk_ms / raw_ms:.2f} x hand loop",
            f"hand loop (httpx.AsyncClient on the SDK's aiohttp transport, dicts) {raw_ms:.0f} ms",
            sdk_ms / raw_ms <= 1.3,
        )
    )


def _stalls(result: dict[str, Any], windows: list[list[float]]) -> tuple[float, float]:
    """(longest stall overlapping the first token request, longest stall overall), in ms."""
    tick = 0.001
    start, end = windows[0] if windows else (0.0, 0.0)
    during = overall = 0.0
    for slept_at, woke_at in result["samples"]:
        late = max(0.0, woke_at - slept_at - tick) * 1000
        overall = max(overall, late)
        # The lateness runs from when the ticker was due to when it ran; it counts when
        # that interval overlaps the token request's time at the server.
        if slept_at + tick < end and woke_at > start:
            during = max(during, late)
    return during, overall


def scenario_cold_start(base: str, report: Report) -> None:
    """3: 1,000 concurrent first calls, a 300 ms token request, event-loop lateness."""
    results: dict[str, dict[str, list[float]]] = {}
    for round_number in range(PEER_ROUNDS):
        for client in ("sdk", "httpx_auth"):
            control(base, "/_reset?token_delay=0.3")
            # httpx-auth at 100: its default httpx pool (100 connections) degrades with
            # many queued requests (300 take 9 s, 1,000 hit PoolTimeout after 60 s).
            concurrency = 1000 if client == "sdk" else 100
            result = worker("cold_start", base=base, client=client, concurrency=concurrency)
            stats = control(base, "/_stats")
            during, overall = _stalls(result, stats["token_windows"])
            figures = results.setdefault(client, {"tokens": [], "during": [], "overall": []})
            figures["tokens"].append(stats["token_requests"])
            figures["during"].append(during)
            figures["overall"].append(overall)
        log(
            f"3 cold_start round {round_number + 1}/{PEER_ROUNDS}: "
            + ", ".join(
                f"{client} tokens {f['tokens'][-1]:.0f} stall {f['during'][-1]:.1f} ms"
                for client, f in results.items()
            )
        )
    control(base, "/_reset?token_delay=0")
    sdk, peer = results["sdk"], results["httpx_auth"]
    report.figures["cold_start"] = {
        client: {name: median(values) for name, values in figures.items()}
        for client, figures in results.items()
    }
    report.rows.append(
        Row(
            "3. cold start: 1,000 concurrent first calls",
            "exactly 1 token request",
            f"{sorted(set(map(int, sdk['tokens'])))} token request(s) per run",
            f"httpx-auth, 100 first calls: {sorted(set(map(int, peer['tokens'])))}",
            all(count == 1 for count in sdk["tokens"]),
        )
    )
    report.rows.append(
        Row(
            "3. longest event-loop stall while the 300 ms token request is in flight",
            "≤ 5 ms",
            f"{median(sdk['during']):.1f} ms",
            f"httpx-auth (100 first calls) {median(peer['during']):.0f} ms "
            f"= {median(peer['during']) / max(median(sdk['during']), 0.01):.0f} x the SDK's",
            median(sdk["during"]) <= 5.0,
        )
    )
    report.notes.append(
        "Scenario 3: a ticker task sleeps 1 ms in a loop and records how late it wakes; a "
        "stall counts when the time the ticker was late overlaps the token request's time at "
        "the server (received to answered; both processes read CLOCK_MONOTONIC). Longest "
        "stall over the whole run, which includes starting the 1,000 calls before the token "
        "request and resuming the 999 waiters in one loop iteration when the token arrives: "
        f"SDK {median(sdk['overall']):.0f} ms, httpx-auth (100 calls) "
        f"{median(peer['overall']):.0f} ms. Not a target: that is the CPU cost of 1,000 "
        "first calls run back to back, not the token request."
    )
    report.notes.append(
        "Scenario 3, httpx-auth: run with 100 concurrent first calls, not 1,000. On httpx's "
        "default transport (100 connections) 1,000 queued requests make httpcore's pool "
        "degrade (measured while writing this suite: 300 calls took 9 s, 1,000 ended in "
        "PoolTimeout after 60 s), which has nothing to do with the token request; its stall "
        "is the blocking token round trip whatever the concurrency."
    )


def _fleet_round(base: str, redis_url: str | None, prefix: str) -> int:
    """Eight processes, 100 concurrent first calls each, started together; token requests."""
    control(base, "/_reset?token_delay=0.1")
    arguments = json.dumps(
        {"base": base, "redis_url": redis_url, "prefix": prefix, "concurrency": 100}
    )
    members = [
        subprocess.Popen(
            [PYTHON, "-W", "ignore", str(HERE / "bench_worker.py"), "fleet_member", arguments],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    for member in members:
        assert member.stdout is not None
        line = member.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"a fleet member did not start: {line!r}")
    for member in members:
        assert member.stdin is not None
        member.stdin.write("go\n")
        member.stdin.flush()
    for member in members:
        member.communicate(timeout=120)
        if member.returncode != 0:
            raise RuntimeError("a fleet member failed")
    count: int = control(base, "/_stats")["token_requests"]
    return count


def scenario_fleet(base: str, report: Report) -> None:
    """4: 8 processes x 100 first calls: 1 token request with Redis, 8 without."""
    with redis_server() as redis_url:
        if redis_url is None:
            report.rows.append(
                Row(
                    "4. shared cache: 8 processes x 100 first calls",
                    "1 with Redis",
                    "skipped: no redis-server (make install-system)",
                    "",
                    None,
                )
            )
            return
        with_redis, without = [], []
        for round_number in range(PEER_ROUNDS):
            with_redis.append(_fleet_round(base, redis_url, f"bench:{round_number}:{time.time()}:"))
            without.append(_fleet_round(base, None, ""))
            log(f"4 fleet round {round_number + 1}: redis {with_redis[-1]}, none {without[-1]}")
    control(base, "/_reset?token_delay=0")
    report.figures["fleet"] = {"redis": with_redis, "none": without}
    report.rows.append(
        Row(
            "4. shared cache: 8 processes x 100 concurrent first calls (100 ms token request)",
            "1 token request with RedisTokenCache, 8 without",
            f"Redis: {with_redis}; in-memory: {without} (per round)",
            "no peer has a cross-process cache",
            all(n == 1 for n in with_redis) and all(n == 8 for n in without),
        )
    )


#: Fresh interpreters per import statement in scenario 5.
IMPORT_RUNS = 20


def scenario_import(report: Report) -> None:
    """5: what users write, ``from intelliauth_ext import IntelliAuth``, against ``import httpx``.

    Fresh interpreters, alternating, ``-X importtime`` cumulative times of each statement's
    top-level imports (httpx included for the SDK); the median of :data:`IMPORT_RUNS`.
    """
    env_python = PYTHON
    statements = {
        "httpx": ("import httpx", ["httpx"]),
        "client": ("from intelliauth_ext import IntelliAuth", ["intelliauth_ext"]),
        "sdk": ("import intelliauth_ext", ["intelliauth_ext"]),
        "aiohttp": ("import aiohttp", ["aiohttp"]),
    }
    # Bytecode caches as an installed package has them (the environment may disable them).
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    for statement, packages in statements.values():
        import_microseconds(statement, packages, env_python)
    times: dict[str, list[float]] = {name: [] for name in statements}
    for _ in range(IMPORT_RUNS):
        for name, (statement, packages) in statements.items():
            times[name].append(import_microseconds(statement, packages, env_python) / 1000)
    ms = {name: median(values) for name, values in times.items()}
    report.figures["import"] = ms
    ratio = ms["client"] / ms["httpx"]
    log(f"5 import: {ms}")
    report.rows.append(
        Row(
            f"5. import time (-X importtime, median of {IMPORT_RUNS} fresh interpreters)",
            "≤ 1.0 x import httpx",
            f"from intelliauth_ext import IntelliAuth {ms['client']:.1f} ms"
            f" = {ratio:.2f} x import httpx",
            f"import httpx {ms['httpx']:.1f} ms; import intelliauth_ext {ms['sdk']:.1f} ms"
            f" = {ms['sdk'] / ms['httpx']:.2f} x; import aiohttp {ms['aiohttp']:.1f} ms",
            ratio <= 1.0,
        )
    )


def _timed(command: list[str]) -> tuple[float, int]:
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        log(f"{' '.join(command)} exited {completed.returncode}: {completed.stderr[-500:]}")
    return time.perf_counter() - started, completed.returncode


def scenario_codegen(report: Report) -> None:
    """6: wall time of make generate (into a scratch folder) and make check-generated."""
    rounds = 3
    generate, check = [], []
    codes = set()
    with tempfile.TemporaryDirectory(prefix="bench-generate-") as scratch:
        # A copy of the spec and a scratch OUT: the same work as `make generate`, without
        # rewriting the checked-in bundles and package (others may be editing them).
        spec = Path(scratch) / "openapi" / "intelliauth.openapi.yaml"
        spec.parent.mkdir()
        shutil.copy(REPO / "openapi" / "intelliauth.openapi.yaml", spec)
        out = Path(scratch) / "intelliauth_client"
        for round_number in range(rounds):
            seconds, code = _timed(
                ["make", "--no-print-directory", "generate", f"SPEC={spec}", f"OUT={out}"]
            )
            generate.append(seconds)
            codes.add(("generate", code))
            seconds, code = _timed(["make", "--no-print-directory", "check-generated"])
            check.append(seconds)
            codes.add(("check-generated", code))
            log(f"6 codegen round {round_number + 1}: {generate[-1]:.1f} s, {check[-1]:.1f} s")
    report.figures["codegen"] = {"generate": median(generate), "check": median(check)}
    failed = sorted(name for name, code in codes if code != 0)
    report.rows.append(
        Row(
            "6. make generate (wall time)",
            "< 15 s",
            f"{median(generate):.1f} s",
            "",
            median(generate) < 15 and "generate" not in failed,
        )
    )
    report.rows.append(
        Row(
            "6. make check-generated (wall time)",
            "< 20 s",
            f"{median(check):.1f} s"
            + (" (exited non-zero: drift)" if "check-generated" in failed else ""),
            "",
            median(check) < 20,
        )
    )


def scenario_soak(base: str, report: Report) -> None:
    """7: 50,000 requests on one client: RSS growth after the first 5,000; fds after aclose."""
    result = worker("soak", base=base, requests=scaled(50_000), warm=scaled(5000), in_flight=20)
    checkpoints = result["checkpoints"]
    after_warm, after_all = checkpoints[0][1], checkpoints[-1][1]
    growth = after_all - after_warm
    report.figures["soak"] = result
    log(f"7 soak: {growth:.2f} MB, leaked {result['leaked']}")
    report.rows.append(
        Row(
            "7. soak: RSS growth from request 5,000 to 50,000 (one client)",
            "≤ 10 MB",
            f"{growth:+.1f} MB ({after_warm:.1f} -> {after_all:.1f} MB)",
            "",
            growth <= 10,
        )
    )
    report.rows.append(
        Row(
            "7. soak: file descriptors left open after aclose()",
            "0",
            f"{len(result['leaked'])} ({result['fds_before']} before the client, "
            f"{result['fds_while_open']} while open, {result['fds_after']} after aclose)",
            "",
            not result["leaked"],
        )
    )


# -- the report ----------------------------------------------------------------------------


def write_markdown(report: Report, about: dict[str, str], seconds: float, path: Path) -> None:
    """docs/benchmarks.md: the machine, the table, the notes."""
    verdict = {True: "pass", False: "**miss**", None: "n/a"}
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (tests/benchmarks/run_benchmarks.py); do not edit by hand.",
        "Every figure is from the same run, a median over rounds; each library runs in a fresh",
        "client process against a canned server in another process on 127.0.0.1, and CPU is",
        "the client process's own user+sys time (`time.process_time`) around the measured",
        "requests only. Rounds interleave the libraries, so a noisy neighbour affects them all.",
        "",
        f"Machine: {about['nproc']} CPUs ({about['cpu']}), Python {about['python']}, "
        f"{about['os']}; load average at start {about['load']}.",
        f"Libraries: {about['libraries']}.",
        "Ratios of scenario 1 are medians of per-round ratios (the libraries of a round run "
        "back to back); microseconds are medians over rounds.",
        f"Rounds: {ROUNDS} for scenarios 1, 2 and 5 (x2), {PEER_ROUNDS} for scenarios 3 and 4, "
        f"3 for scenario 6, one soak; run took "
        f"{seconds / 60:.1f} min.",
        "",
        "| Scenario | Target | Measured | Peers (same run) | Result |",
        "|---|---|---|---|---|",
    ]
    # By scenario number (the soak runs before the import and codegen scenarios).
    for row in sorted(report.rows, key=lambda row: int(row.scenario.split(".", 1)[0])):
        cells = [row.scenario, row.target, row.measured, row.peers or "-", verdict[row.passed]]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    lines += ["", "![benchmarks](benchmarks.png)", "", "## Notes", ""]
    lines += [f"- {note}" for note in report.notes]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_chart(report: Report, path: Path) -> None:
    """docs/benchmarks.png: one panel per scenario with a figure to compare."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures = report.figures
    fig, axes = plt.subplots(2, 3, figsize=(16, 9))
    fig.suptitle("IntelliAuth SDK benchmarks (medians, one run)")

    ax = axes[0][0]
    if "get_user" in figures:
        us = figures["get_user"]
        names = list(PEERS)
        colours = ["tab:green" if name == "sdk" else "tab:gray" for name in names]
        ax.barh([LABELS[name] for name in names], [us[name] for name in names], color=colours)
        ax.axvline(0.18 * us["httpx"], color="tab:red", linestyle="--", label="0.18 x raw httpx")
        ax.axvline(
            1.7 * us["aiohttp"], color="tab:orange", linestyle=":", label="1.7 x raw aiohttp"
        )
        ax.invert_yaxis()
        ax.set_xlabel("client CPU µs per users.get")
        ax.set_title("1. CPU per request (20 in flight)")
        ax.legend(fontsize=8)

    ax = axes[0][1]
    if "per_item" in figures and "iterate" in figures:
        item = figures["per_item"]
        ax.bar(
            ["json.loads alone", "SDK: decode + validate + models"],
            [item["raw"], item["sdk"]],
            color=["tab:gray", "tab:green"],
        )
        ax.axhline(item["raw"], color="tab:red", linestyle="--", label="1.0 x json.loads")
        ax.set_ylabel("client CPU µs per list item")
        walk = figures["iterate"]
        ax.set_title(
            f"2. list parsing per item; 10,000 users: paginator {walk['sdk']:.0f} ms, "
            f"hand loop {walk['raw']:.0f} ms",
            fontsize=9,
        )
        ax.legend(fontsize=8)

    ax = axes[0][2]
    if "cold_start" in figures:
        cold = figures["cold_start"]
        ax.bar(
            ["IntelliAuth", "httpx-auth"],
            [max(cold["sdk"]["during"], 0.01), max(cold["httpx_auth"]["during"], 0.01)],
            color=["tab:green", "tab:gray"],
        )
        ax.axhline(5, color="tab:red", linestyle="--", label="5 ms")
        ax.set_yscale("log")
        ax.set_ylabel("longest event-loop stall, ms (log)")
        ax.set_title("3. stall during a 300 ms token request")
        ax.legend(fontsize=8)

    ax = axes[1][0]
    if "import" in figures:
        ms = figures["import"]
        ax.bar(
            ["import\nhttpx", "import\nIntelliAuth", "import\nintelliauth_ext", "import\naiohttp"],
            [ms["httpx"], ms["client"], ms["sdk"], ms["aiohttp"]],
            color=["tab:gray", "tab:green", "tab:green", "tab:gray"],
        )
        ax.axhline(ms["httpx"], color="tab:red", linestyle="--", label="1.0 x httpx")
        ax.set_ylabel("ms (-X importtime, median)")
        ax.set_title("5. import time")
        ax.legend(fontsize=8)

    ax = axes[1][1]
    if "codegen" in figures or "fleet" in figures:
        labels, values, limits = [], [], []
        if "codegen" in figures:
            labels += ["make generate", "make check-generated"]
            values += [figures["codegen"]["generate"], figures["codegen"]["check"]]
            limits += [15, 20]
        ax.bar(labels, values, color="tab:green")
        for index, limit in enumerate(limits):
            ax.hlines(limit, index - 0.4, index + 0.4, color="tab:red", linestyle="--")
        ax.set_ylabel("seconds (wall)")
        fleet = figures.get("fleet")
        title = "6. codegen"
        if fleet:
            title += f"; 4. fleet token requests: Redis {fleet['redis']}, none {fleet['none']}"
        ax.set_title(title, fontsize=9)

    ax = axes[1][2]
    if "soak" in figures:
        points = figures["soak"]["checkpoints"]
        ax.plot([n for n, _ in points], [rss for _, rss in points], marker="o", color="tab:green")
        ax.axhline(points[0][1] + 10, color="tab:red", linestyle="--", label="+10 MB")
        ax.set_xlabel("requests")
        ax.set_ylabel("RSS, MB")
        ax.set_title("7. soak: resident memory")
        ax.legend(fontsize=8)

    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _wanted(name: str) -> bool:
    """Whether scenario ``name`` runs: all of them, or those named in ``BENCH_ONLY=a,b``."""
    only = os.environ.get("BENCH_ONLY")
    return not only or name in only.split(",")


def main() -> int:
    """Run every scenario, write the report and the chart; 0 even when a target is missed."""
    started = time.perf_counter()
    about = machine()
    log(f"machine: {about}")
    report = Report()
    # Scenarios against the bench server, in order; new ones live in scenario_<name>.py
    # modules and are added here as one line each.
    served: list[tuple[str, Callable[[str, Report], None]]] = [
        ("get_user", scenario_get_user),
        ("list", scenario_list),
        ("cold_start", scenario_cold_start),
        ("fleet", scenario_fleet),
        ("soak", scenario_soak),
        ("refresh_fleet", __import__("scenario_refresh_fleet").run),
        ("dpop", __import__("scenario_dpop").run),
        ("otel", lambda base, report: __import__("scenario_otel").run(base, report)),
        ("verify", importlib.import_module("scenario_verify").run),
        ("permissions", importlib.import_module("scenario_permissions").run),
        ("million", importlib.import_module("scenario_million").run),
    ]
    with bench_server() as base:
        for name, scenario in served:
            if _wanted(name):
                scenario(base, report)
    if _wanted("import"):
        scenario_import(report)
    if _wanted("codegen"):
        scenario_codegen(report)
    seconds = time.perf_counter() - started
    docs = REPO / "docs"
    write_markdown(report, about, seconds, docs / "benchmarks.md")
    write_chart(report, docs / "benchmarks.png")
    log(f"wrote docs/benchmarks.md and docs/benchmarks.png in {seconds:.0f} s")
    misses = [row.scenario for row in report.rows if row.passed is False]
    for row in report.rows:
        log(f"{'MISS' if row.passed is False else 'ok  '} {row.scenario}: {row.measured}")
    return 1 if misses and STRICT else 0


if __name__ == "__main__":
    sys.exit(main())
