"""Why generation stopped, as one line: where in the spec, what is wrong, how to fix it.

Every failure of ``make generate`` on a contract it cannot turn into a working client is a
`GenerationError` (a `SpecError` when the spec itself is at fault). The command line prints
``str(error)``, which is always a single line, and never a traceback: a CI job that bumps the
spec shows its user exactly which operation or schema to change.
"""

from __future__ import annotations

__all__ = ["GenerationError", "SpecError"]


def _one_line(text: str) -> str:
    return " ".join(text.split())


class GenerationError(Exception):
    """Generation failed.

    Args:
        problem: What is wrong.
        location: Where in the spec: ``GET /api/v1/users/{user_id}``,
            ``#/components/schemas/User``, or the file itself.
        fix: How to make the spec (or ``codegen/config.yaml``) generate.
    """

    def __init__(self, problem: str, *, location: str = "", fix: str = "") -> None:
        self.problem = _one_line(problem)
        self.location = _one_line(location)
        self.fix = _one_line(fix)
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        fix = f"; to fix: {self.fix}" if self.fix else ""
        return f"{where}{self.problem}{fix}"


class SpecError(GenerationError):
    """The spec cannot be generated as it is (location and fix name the spec's part)."""
