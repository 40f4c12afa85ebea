"""``python -m codegen --spec PATH --out DIR``: generate the client package from the spec.

A contract that cannot become a working client ends the run with exit code 1 and one line on
stderr, ``GenerationError: <where in the spec>: <what>; to fix: <how>``, never a traceback
(``CODEGEN_DEBUG=1`` shows the traceback of an unexpected failure).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from codegen import DEFAULT_SPEC, PACKAGE_NAME, REPO_ROOT
from codegen.generator import GenerationError, generate
from codegen.spec import spec_label


def main(argv: list[str] | None = None) -> int:
    """Run the generator; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m codegen", description=__doc__)
    parser.add_argument("--spec", type=Path, default=DEFAULT_SPEC, help="the OpenAPI document")
    parser.add_argument(
        "--out", type=Path, default=REPO_ROOT / PACKAGE_NAME, help="where the package goes"
    )
    arguments = parser.parse_args(argv)
    try:
        summary = generate(arguments.spec, arguments.out)
    except GenerationError as error:
        print(f"GenerationError: {error}", file=sys.stderr)
        return 1
    except Exception as error:
        if os.environ.get("CODEGEN_DEBUG"):
            raise
        # Still one line: a CI log shows what failed; CODEGEN_DEBUG=1 shows where.
        problem = " ".join(f"{type(error).__name__}: {error}".split())[:300]
        print(
            f"GenerationError: {spec_label(arguments.spec)}: unexpected failure in codegen "
            f"({problem}); to fix: report it with the spec (CODEGEN_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return 1
    print(
        f"codegen: {arguments.out} from {arguments.spec}: {summary.operations} operations, "
        f"{summary.models} models and enums, {summary.files} files in {summary.seconds:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
