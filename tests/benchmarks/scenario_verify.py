"""8: token verification against the floor, joserfc's own decode and claim checks on a cached key.

- ``verify_access_token`` CPU per call on distinct tokens (every call a full verification),
  in-process, against a hand-written check with joserfc (``worker_verify.floor_checker``);
  and on one token again and again, where the SDK's cache of verified tokens answers.
- ``require_token`` in a FastAPI app served by uvicorn on loopback, requests/s under load
  from a separate process, against the same app with the hand-written dependency; with
  the app and the load on separate CPUs (``split``) and on one CPU (``shared``): the worse
  layout is the figure.

Tokens are RS256 access tokens (``typ: at+jwt``) minted once per run with the bench
server's key; the bench server is the issuer (discovery and key set).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from bench_common import (
    HERE,
    LAYOUTS,
    PYTHON,
    ROUNDS,
    Report,
    Row,
    free_port,
    log,
    median,
    scaled,
    worker,
)

SCRIPT = "worker_verify.py"
IN_FLIGHT = 10


def _paired(top: Sequence[float], bottom: Sequence[float]) -> float:
    """The median of per-round ratios (both ran back to back in each round)."""
    return median([a / b for a, b in zip(top, bottom, strict=True)])


@contextmanager
def _app(base: str, variant: str, cpus: list[int]) -> Iterator[str]:
    """The FastAPI app of ``variant`` under uvicorn, pinned to ``cpus``; yields its URL."""
    port = free_port()
    arguments = {"base": base, "variant": variant, "port": port, "cpus": cpus}
    process = subprocess.Popen(
        [PYTHON, "-W", "ignore", str(HERE / SCRIPT), "serve", json.dumps(arguments)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"the {variant} app did not start: {line!r}")
        yield f"http://127.0.0.1:{port}/me"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _in_process(base: str, path: str, same: bool) -> dict[str, list[float]]:
    """µs per verification per block of 100 tokens, SDK and floor side by side, all rounds."""
    rounds: dict[str, list[float]] = {"sdk": [], "floor": []}
    for _ in range(ROUNDS):
        result = worker(
            "verify", script=SCRIPT, base=base, path=path, warmup=scaled(200), block=100, same=same
        )
        for client in rounds:
            rounds[client].extend(result["us"][client])
    return rounds


def _served(base: str, path: str, layout: str, same: bool) -> dict[str, list[float]]:
    """Requests/s of both apps, per burst pair, over ``ROUNDS`` fresh pairs of apps."""
    app_cpus, load_cpus = LAYOUTS[layout]
    rounds: dict[str, list[float]] = {"sdk": [], "floor": []}
    for _ in range(ROUNDS):
        with _app(base, "sdk", app_cpus) as sdk_url, _app(base, "floor", app_cpus) as floor_url:
            result = worker(
                "load",
                script=SCRIPT,
                urls={"sdk": sdk_url, "floor": floor_url},
                path=path,
                bursts=6,
                burst=scaled(500),
                warmup=scaled(300),
                in_flight=IN_FLIGHT,
                same=same,
                cpus=load_cpus,
            )
        for variant in rounds:
            rounds[variant].extend(result["rps"][variant])
    return rounds


def run(base: str, report: Report) -> None:
    """Scenario 8: verification CPU and require_token throughput, each against the floor."""
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as scratch:
        path = str(Path(scratch) / "tokens.json")
        worker("mint", script=SCRIPT, base=base, count=scaled(4000), path=path)

        distinct = _in_process(base, path, same=False)
        repeated = _in_process(base, path, same=True)
        ratio = _paired(distinct["sdk"], distinct["floor"])
        log(
            f"8 verify: sdk {median(distinct['sdk']):.1f} µs, "
            f"floor {median(distinct['floor']):.1f} µs (medians of blocks): {ratio:.2f}"
        )
        report.figures["verify"] = {"distinct": distinct, "repeated": repeated}
        report.rows.append(
            Row(
                "8. verify_access_token CPU/call, distinct RS256 tokens (in-process, "
                "alternating blocks of 100 with the floor)",
                "≤ 1.05 x joserfc floor",
                f"{median(distinct['sdk']):.1f} µs = {ratio:.2f} x floor",
                f"floor (joserfc jwt.decode + JWTClaimsRegistry on a cached key, typ and "
                f"scope by hand) {median(distinct['floor']):.1f} µs",
                ratio <= 1.05,
            )
        )
        report.rows.append(
            Row(
                "8. verify_access_token CPU/call, the same token again (cache of verified tokens)",
                "informational",
                f"{median(repeated['sdk']):.1f} µs = "
                f"{_paired(repeated['sdk'], repeated['floor']):.2f} x floor",
                f"floor (no cache) {median(repeated['floor']):.1f} µs",
                None,
            )
        )

        worst: tuple[float, str] | None = None
        figures: dict[str, dict[str, list[float]]] = {}
        for layout in LAYOUTS:
            served = _served(base, path, layout, same=False)
            cached = _served(base, path, layout, same=True)
            figures[layout] = served
            figures[f"{layout}_same_token"] = cached
            served_ratio = _paired(served["sdk"], served["floor"])
            cached_ratio = _paired(cached["sdk"], cached["floor"])
            log(f"8 require_token {layout}: {served} ({served_ratio:.2f}); same token {cached}")
            report.notes.append(
                f"Scenario 8, require_token, layout {layout} (app on CPU "
                f"{LAYOUTS[layout][0]}, load on CPU {LAYOUTS[layout][1]}, {IN_FLIGHT} in "
                f"flight, medians of {ROUNDS} rounds): distinct tokens SDK "
                f"{median(served['sdk']):.0f} req/s, hand-written dependency "
                f"{median(served['floor']):.0f} req/s ({served_ratio:.2f} x); the same "
                f"token on every request SDK {median(cached['sdk']):.0f} req/s, hand-written "
                f"{median(cached['floor']):.0f} req/s ({cached_ratio:.2f} x)."
            )
            if worst is None or served_ratio < worst[0]:
                worst = (served_ratio, layout)
            report.rows.append(
                Row(
                    f"8. require_token req/s, same bearer on every request ({layout})",
                    "informational",
                    f"{median(cached['sdk']):.0f} req/s = {cached_ratio:.2f} x hand-written",
                    f"hand-written joserfc dependency {median(cached['floor']):.0f} req/s",
                    None,
                )
            )
        report.figures["require_token"] = figures
        assert worst is not None
        ratio, layout = worst
        served = figures[layout]
        others = "; ".join(
            f"{name}: {_paired(figures[name]['sdk'], figures[name]['floor']):.2f} x"
            for name in LAYOUTS
            if name != layout
        )
        report.rows.append(
            Row(
                "8. require_token req/s in a FastAPI app (uvicorn, distinct tokens, worse "
                "CPU layout)",
                "≥ 0.95 x hand-written dependency",
                f"{median(served['sdk']):.0f} req/s = {ratio:.2f} x ({layout})",
                f"hand-written joserfc dependency {median(served['floor']):.0f} req/s"
                + (f"; other layouts {others}" if others else ""),
                ratio >= 0.95,
            )
        )
