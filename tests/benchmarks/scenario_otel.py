"""Scenario ``otel``: scenario 1's CPU per ``users.get`` with OpenTelemetry, against without.

Issue 17's bar: with ``opentelemetry-api`` installed but no tracer provider configured, a
call costs no more than 5 % over an install where ``opentelemetry`` can not be imported.
Each round runs the three modes of ``worker_otel.py`` back to back (blocked, unconfigured,
configured), each in a fresh process, so a noisy minute on a shared machine weighs on all
three; the ratios are medians of the per-round ratios. The configured figure (a real SDK
tracer provider, spans dropped by the exporter) is informational.
"""

from __future__ import annotations

from bench_common import ROUNDS, Report, Row, log, median, scaled, worker

MODES = ("blocked", "unconfigured", "configured")
#: The most an installed, unconfigured OpenTelemetry may add to a call's CPU.
MAX_UNCONFIGURED_RATIO = 1.05


def run(base: str, report: Report) -> None:
    """Measure, then add the rows and figures to ``report``."""
    per_round: dict[str, list[float]] = {mode: [] for mode in MODES}
    for round_number in range(ROUNDS):
        for mode in MODES:
            result = worker(
                "get_user",
                script="worker_otel.py",
                base=base,
                otel=mode,
                requests=scaled(5000),
                in_flight=20,
                warmup=scaled(500),
            )
            if result["otel_loaded"] != (mode != "blocked"):
                raise RuntimeError(f"otel mode {mode}: the SDK's OpenTelemetry state is wrong")
            per_round[mode].append(result["us"])
        log(
            f"otel round {round_number + 1}/{ROUNDS}: "
            + ", ".join(f"{mode} {values[-1]:.1f} µs" for mode, values in per_round.items())
        )

    def ratio(mode: str) -> float:
        pairs = zip(per_round[mode], per_round["blocked"], strict=True)
        return median([top / bottom for top, bottom in pairs])

    us = {mode: median(values) for mode, values in per_round.items()}
    unconfigured, configured = ratio("unconfigured"), ratio("configured")
    report.figures["otel"] = {
        "us": us,
        "rounds": per_round,
        "ratios": {"unconfigured": unconfigured, "configured": configured},
    }
    report.rows.append(
        Row(
            "1. users.get CPU/request, OpenTelemetry installed but not configured",
            f"≤ {MAX_UNCONFIGURED_RATIO:.2f} x without OpenTelemetry",
            f"{us['unconfigured']:.0f} µs = {unconfigured:.3f} x without ({us['blocked']:.0f} µs)",
            f"SDK configured (spans made, exporter drops them): {us['configured']:.0f} µs "
            f"= {configured:.2f} x",
            unconfigured <= MAX_UNCONFIGURED_RATIO,
        )
    )
    report.notes.append(
        "Scenario 1 with OpenTelemetry (tests/benchmarks/scenario_otel.py): the same "
        "users.get loop in three fresh processes per round, opentelemetry blocked from "
        "import, importable with no tracer provider, and with an SDK tracer provider "
        f"(batch processor, discarding exporter); ratios are medians of per-round ratios "
        f"over {ROUNDS} rounds."
    )
