"""Which operations the sandbox has answered, and with which statuses (for coverage checks)."""

from __future__ import annotations

from collections import Counter

__all__ = ["ServedLog"]


class ServedLog:
    """Counts the responses the sandbox sent, by operationId and status code.

    ``sandbox.served.succeeded()`` is the set of operations answered with a 2xx or 3xx at
    least once: an end-to-end suite compares it with the spec's operations to find any it
    never exercised.
    """

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, int]] = Counter()

    def record(self, operation_id: str, status: int) -> None:
        """Count one response."""
        self._counts[operation_id, status] += 1

    def statuses(self, operation_id: str) -> dict[int, int]:
        """The status codes sent for ``operation_id``, with how often."""
        return {
            status: count
            for (operation, status), count in self._counts.items()
            if operation == operation_id
        }

    def succeeded(self) -> frozenset[str]:
        """The operations answered with a 2xx or 3xx at least once."""
        return frozenset(operation for operation, status in self._counts if status < 400)

    def clear(self) -> None:
        """Forget everything counted so far."""
        self._counts.clear()
