"""What every benchmark scenario shares: settings, the report rows, the server and worker processes.

Scenarios live in ``run_benchmarks.py`` and in ``scenario_<name>.py`` modules, which import
from here (never from ``run_benchmarks``, which runs as ``__main__``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.request import urlopen

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PYTHON = sys.executable
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
PEER_ROUNDS = int(os.environ.get("BENCH_PEER_ROUNDS", "3"))
SCALE = float(os.environ.get("BENCH_SCALE", "1"))  # below 1: a quick smoke run, not a report
STRICT = os.environ.get("BENCH_STRICT") == "1"


PEERS = ("sdk", "httpx", "httpx_aiohttp", "aiohttp", "authlib", "httpx_auth")
LABELS = {
    "sdk": "IntelliAuth (default)",
    "httpx": "raw httpx (default transport)",
    "httpx_aiohttp": "raw httpx + httpx-aiohttp transport",
    "aiohttp": "raw aiohttp",
    "authlib": "Authlib AsyncOAuth2Client",
    "httpx_auth": "httpx-auth OAuth2ClientCredentials",
}


@dataclass
class Row:
    """One line of the report table."""

    scenario: str
    target: str
    measured: str
    peers: str
    passed: bool | None  # None: informational


@dataclass
class Report:
    """Everything measured, for the table, the chart and the notes."""

    rows: list[Row] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


#: CPUs of (the server, the client) per layout: apart, and sharing one CPU (the issue's
#: two ways to measure; the worse of the two is a scenario's figure). One CPU: shared only.
LAYOUTS: dict[str, tuple[list[int], list[int]]] = (
    {"split": ([0], [1]), "shared": ([0], [0])}
    if len(os.sched_getaffinity(0)) >= 2 and {0, 1} <= os.sched_getaffinity(0)
    else {"shared": ([0], [0])}
)


@contextmanager
def server_pinned(base: str, cpus: Sequence[int]) -> Iterator[None]:
    """The bench server pinned to ``cpus`` inside the block; free on every CPU after it."""
    control(base, "/_pin?cpus=" + ",".join(map(str, cpus)))
    try:
        yield
    finally:
        everywhere = sorted(os.sched_getaffinity(0))
        control(base, "/_pin?cpus=" + ",".join(map(str, everywhere)))


def where_cpu_goes(base: str, layout: str, operation: str) -> str:
    """A missed target's profile: ``operation`` run under cProfile in ``layout``, as a sentence."""
    from worker_profile import describe  # the worker's own module, for its one formatter

    server_cpus, client_cpus = LAYOUTS[layout]
    with server_pinned(base, server_cpus):
        profile = worker(
            "calls",
            script="worker_profile.py",
            base=base,
            operation=operation,
            requests=scaled(3000),
            warmup=scaled(300),
            cpus=client_cpus,
        )
    return describe(profile)


def log(message: str) -> None:
    """Progress on stderr (stdout is not used)."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def scaled(count: int) -> int:
    """``count`` times ``BENCH_SCALE``, at least 1."""
    return max(1, int(count * SCALE))


def median(values: Sequence[float]) -> float:
    """The median of ``values``."""
    return float(statistics.median(values))


# -- processes -----------------------------------------------------------------------------


@contextmanager
def bench_server() -> Iterator[str]:
    """The canned API as a separate process; yields its base URL."""
    process = subprocess.Popen(
        [PYTHON, str(HERE / "bench_server.py")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().split()
        if len(line) != 2 or line[0] != "port":
            raise RuntimeError(f"the benchmark server did not start: {line!r}")
        yield f"http://127.0.0.1:{line[1]}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def control(base: str, path: str) -> dict[str, Any]:
    """GET/POST one of the server's ``/_stats`` or ``/_reset`` routes."""
    with urlopen(f"{base}{path}", data=b"" if path.startswith("/_reset") else None) as answer:  # noqa: S310 - loopback
        result: dict[str, Any] = json.loads(answer.read())
    return result


def worker(
    measurement: str, *, script: str = "bench_worker.py", **arguments: Any
) -> dict[str, Any]:
    """Run one measurement of ``script`` (a worker module) in a fresh process; its JSON result."""
    completed = subprocess.run(
        [PYTHON, "-W", "ignore", str(HERE / script), measurement, json.dumps(arguments)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"{measurement} {arguments} failed:\n{completed.stdout}\n{completed.stderr}"
        )
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@contextmanager
def redis_server() -> Iterator[str | None]:
    """A throwaway redis-server on loopback (no persistence), or None if not installed."""
    executable = shutil.which("redis-server")
    if executable is None:
        yield None
        return
    port = free_port()
    process = subprocess.Popen(
        [
            executable,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)
