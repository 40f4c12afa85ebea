"""Scenario "dpop": CPU per DPoP-bound ``users.get`` beside the Bearer figure, same run.

Each round runs the Bearer client and the DPoP client back to back (``worker_dpop.py``),
each in a fresh process, so the ratio of a round is free of a slow minute on a shared
machine; the report gives the medians, the median of the per-round ratios, and the CPU
of one proof (one signature) for ES256, EdDSA, RS256 and PS256: the difference between
the two ``users.get`` figures is about one ES256 proof.
"""

from __future__ import annotations

from bench_common import ROUNDS, Report, Row, log, median, scaled, worker

#: The algorithms whose proof cost is reported (ES256 is the one the client above uses).
ALGORITHMS = ("ES256", "EdDSA", "RS256", "PS256")


def run(base: str, report: Report) -> None:
    """CPU per users.get with a DPoP-bound token vs a Bearer token, and per proof."""
    per_round: dict[str, list[float]] = {"bearer": [], "dpop": []}
    for round_number in range(ROUNDS):
        for mode in ("bearer", "dpop"):
            result = worker(
                "get_user",
                script="worker_dpop.py",
                base=base,
                mode=mode,
                requests=scaled(5000),
                in_flight=20,
                warmup=scaled(500),
            )
            per_round[mode].append(result["us"])
        log(
            f"dpop round {round_number + 1}/{ROUNDS}: bearer {per_round['bearer'][-1]:.0f} µs, "
            f"dpop {per_round['dpop'][-1]:.0f} µs"
        )
    proofs = worker(
        "proof", script="worker_dpop.py", algorithms=list(ALGORITHMS), proofs=scaled(2000)
    )["us"]
    bearer, dpop = median(per_round["bearer"]), median(per_round["dpop"])
    ratio = median(
        [bound / plain for bound, plain in zip(per_round["dpop"], per_round["bearer"], strict=True)]
    )
    report.figures["dpop"] = {"bearer_us": bearer, "dpop_us": dpop, "proof_us": proofs}
    report.rows.append(
        Row(
            "1. users.get CPU/request with a DPoP-bound token (ES256 proofs, 20 in flight)",
            "reported beside Bearer",
            f"{dpop:.0f} µs vs Bearer {bearer:.0f} µs: +{dpop - bearer:.0f} µs ({ratio:.2f} x)",
            "one proof (one signature): "
            + ", ".join(f"{alg} {proofs[alg]:.0f} µs" for alg in ALGORITHMS),
            None,
        )
    )
