"""``python -m codegen --spec PATH --out DIR``: generate the client package from the spec."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from codegen import DEFAULT_SPEC, PACKAGE_NAME, REPO_ROOT
from codegen.generator import GenerationError, generate


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
        print(f"codegen: generation failed: {error}", file=sys.stderr)
        return 1
    print(
        f"codegen: {arguments.out} from {arguments.spec}: {summary.operations} operations, "
        f"{summary.models} models and enums, {summary.files} files in {summary.seconds:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
