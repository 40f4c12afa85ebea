"""``python -m codegen.check --spec PATH --package DIR``: fail if DIR is not what the spec gives.

Regenerates into a temporary folder and compares file by file, so a hand edit of a generated
file, a stale generation after a spec or template change, or a stray file all fail, with a
summary of what differs and the start of each diff.
"""

from __future__ import annotations

import argparse
import difflib
import sys
import tempfile
from pathlib import Path

from codegen import DEFAULT_SPEC, PACKAGE_NAME, REPO_ROOT
from codegen.generator import GenerationError, build_package

_MAX_DIFF_LINES = 40


def _files(root: Path) -> dict[str, Path]:
    return {
        path.relative_to(root).as_posix(): path
        for path in sorted(root.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def compare(expected_root: Path, actual_root: Path) -> list[str]:
    """Human-readable differences between the fresh generation and the committed package."""
    expected, actual = _files(expected_root), _files(actual_root)
    problems: list[str] = []
    for name in sorted(expected.keys() - actual.keys()):
        problems.append(f"missing: {name} (the spec generates it)")
    for name in sorted(actual.keys() - expected.keys()):
        problems.append(f"extra: {name} (not generated from the spec)")
    for name in sorted(expected.keys() & actual.keys()):
        want = expected[name].read_bytes()
        have = actual[name].read_bytes()
        if want == have:
            continue
        diff = list(
            difflib.unified_diff(
                want.decode("utf-8", "replace").splitlines(),
                have.decode("utf-8", "replace").splitlines(),
                fromfile=f"generated/{name}",
                tofile=f"committed/{name}",
                lineterm="",
            )
        )
        shown = "\n".join(f"    {line}" for line in diff[:_MAX_DIFF_LINES])
        more = (
            f"\n    ... {len(diff) - _MAX_DIFF_LINES} more lines"
            if len(diff) > _MAX_DIFF_LINES
            else ""
        )
        problems.append(f"differs: {name}\n{shown}{more}")
    return problems


def main(argv: list[str] | None = None) -> int:
    """Regenerate and compare; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m codegen.check", description=__doc__)
    parser.add_argument("--spec", type=Path, default=DEFAULT_SPEC)
    parser.add_argument("--package", type=Path, default=REPO_ROOT / PACKAGE_NAME)
    arguments = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="intelliauth-check-") as temporary:
        fresh = Path(temporary) / PACKAGE_NAME
        try:
            build_package(arguments.spec, fresh)
        except GenerationError as error:
            print(f"GenerationError: {error}", file=sys.stderr)
            return 1
        problems = compare(fresh, arguments.package)
    if problems:
        print(
            f"codegen.check: {arguments.package} is not what {arguments.spec} generates "
            f"({len(problems)} difference(s)); never edit it by hand, run `make generate`:",
            file=sys.stderr,
        )
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print(f"codegen.check: {arguments.package} matches {arguments.spec}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
