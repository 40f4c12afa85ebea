"""9: permission checks, CPU per call, against raw aiohttp doing the same POST and decode.

``resources.check_permission`` (one check) and ``resources.batch_check_permissions``
(``BATCH`` checks) with a cached token, 20 in flight, against the same POST with
``json.dumps`` and ``json.loads`` on raw aiohttp (and on raw httpx, for scale). Each
layout of ``LAYOUTS`` pins the bench server and the client (apart, or sharing one CPU);
the worse layout's ratio is the figure.
"""

from __future__ import annotations

from bench_common import (
    LAYOUTS,
    ROUNDS,
    Report,
    Row,
    log,
    median,
    scaled,
    server_pinned,
    where_cpu_goes,
    worker,
)

SCRIPT = "worker_permissions.py"
BATCH = 10
CLIENTS = ("sdk", "aiohttp", "httpx")
TARGET = 1.7


def _paired(rounds: dict[str, list[float]], top: str, bottom: str) -> float:
    return median([a / b for a, b in zip(rounds[top], rounds[bottom], strict=True)])


def run(base: str, report: Report) -> None:
    """Scenario 9: check_permission and batch_check_permissions vs raw aiohttp."""
    figures: dict[str, dict[str, dict[str, list[float]]]] = {}
    for kind in ("single", "batch"):
        for layout, (server_cpus, client_cpus) in LAYOUTS.items():
            rounds: dict[str, list[float]] = {client: [] for client in CLIENTS}
            with server_pinned(base, server_cpus):
                for _ in range(ROUNDS):
                    for client in CLIENTS:
                        result = worker(
                            "check",
                            script=SCRIPT,
                            base=base,
                            client=client,
                            kind=kind,
                            batch=BATCH,
                            requests=scaled(3000 if kind == "single" else 1500),
                            in_flight=20,
                            warmup=scaled(300),
                            cpus=client_cpus,
                        )
                        rounds[client].append(result["us"])
            figures[f"{kind}/{layout}"] = rounds
            shown = ", ".join(f"{client} {median(us):.0f}" for client, us in rounds.items())
            log(f"9 {kind} {layout}: {shown} µs")
        ratios = {
            layout: _paired(figures[f"{kind}/{layout}"], "sdk", "aiohttp") for layout in LAYOUTS
        }
        worst = max(ratios, key=lambda layout: ratios[layout])
        rounds = figures[f"{kind}/{worst}"]
        name = (
            "check_permission" if kind == "single" else f"batch_check_permissions ({BATCH} checks)"
        )
        report.rows.append(
            Row(
                f"9. {name} CPU/call (cached token, 20 in flight, worse CPU layout)",
                f"≤ {TARGET} x raw aiohttp",
                f"{median(rounds['sdk']):.0f} µs = {ratios[worst]:.2f} x raw aiohttp ({worst})",
                f"raw aiohttp (POST + json.loads) {median(rounds['aiohttp']):.0f} µs; raw "
                f"httpx {median(rounds['httpx']):.0f} µs; "
                + "; ".join(f"{layout} {ratio:.2f} x" for layout, ratio in ratios.items()),
                ratios[worst] <= TARGET,
            )
        )
        if ratios[worst] > TARGET and kind == "single":
            report.notes.append(
                f"Scenario 9 misses ≤ {TARGET} x raw aiohttp ({ratios[worst]:.2f} x, {worst}); "
                f"where a check_permission's CPU goes (cProfile on process time): "
                + where_cpu_goes(base, worst, "check_permission")
            )
    report.figures["permissions"] = figures
