"""The README's python examples pass ``mypy --strict``, as a user's code would be checked.

Each ``python`` block becomes the body of an ``async def`` in a module of its own (so that
snippets with a top-level ``await`` or ``async for`` are valid), after a prelude that
declares, with its type, the one placeholder snippets leave to the reader: ``client`` (as
tests/test_readme.py runs them). One mypy run checks every block; an error names the
block's heading and its line within the block.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import attrs
import mypy.api

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

#: The placeholders snippets use without defining them: what the reader has at hand. The
#: prelude's imports are private aliases, so a block that forgets an import still fails.
PRELUDE = """\
from __future__ import annotations

import intelliauth_ext as _ext

client: _ext.IntelliAuth


async def readme_block() -> None:
"""

_HEADING = re.compile(r"^#{1,6} (?P<title>.+?)\s*$")
_MYPY_LINE = re.compile(r"^(?:.*[/\\])?(?P<file>readme_block_\d+\.py):(?P<line>\d+): (?P<rest>.*)$")
_FENCE = re.compile(r"^(```|~~~)(?P<info>.*)$")


@attrs.frozen
class Block:
    """One python block of the README."""

    heading: str
    first_line: int  # the README line of the block's first code line (1-based)
    code: str


def python_blocks(text: str) -> list[Block]:
    """Every ``python`` fenced block, with the heading it sits under."""
    blocks: list[Block] = []
    heading = "(top)"
    fence: tuple[str, int, list[str]] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if fence is None:
            match = _FENCE.match(line)
            if match:
                fence = (match["info"].strip(), number + 1, [])
            elif heading_match := _HEADING.match(line):
                heading = heading_match["title"]
        elif _FENCE.match(line):
            info, first_line, lines = fence
            if info == "python":
                blocks.append(Block(heading, first_line, "\n".join(lines) + "\n"))
            fence = None
        else:
            fence[2].append(line)
    return blocks


def module_source(block: Block) -> str:
    """The block as the body of ``readme_block()``, after the prelude."""
    return PRELUDE + textwrap.indent(block.code, "    ", lambda line: bool(line.strip()))


def test_the_readme_has_python_blocks() -> None:
    """The extraction finds the README's examples (the check below is not vacuous)."""
    headings = {block.heading for block in python_blocks(README.read_text(encoding="utf-8"))}
    assert {"Using the client", "MFA sign-in", "Pagination", "Receiving webhooks"} <= headings


def test_every_python_block_passes_mypy_strict(tmp_path: Path) -> None:
    """``mypy --strict`` accepts every python block of the README, placeholders typed."""
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    prelude_lines = PRELUDE.count("\n")
    files: dict[str, Block] = {}
    for index, block in enumerate(blocks):
        path = tmp_path / f"readme_block_{index:02d}.py"
        path.write_text(module_source(block), encoding="utf-8")
        files[path.name] = block
    stdout, stderr, status = mypy.api.run(
        [
            "--strict",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            # The project's cache: warm after `make typecheck`, so this run checks the
            # blocks and reuses the analysis of the SDK and its dependencies.
            "--cache-dir",
            str(ROOT / ".mypy_cache"),
            "--no-error-summary",
            "--show-error-codes",
            *(str(tmp_path / name) for name in files),
        ]
    )
    problems: list[str] = []
    for line in stdout.splitlines():
        match = _MYPY_LINE.match(line)
        if match is None:
            problems.append(line)
            continue
        block = files[match["file"]]
        offset = int(match["line"]) - prelude_lines - 1
        problems.append(
            f"README section {block.heading!r}, block line {offset + 1} "
            f"(README.md:{block.first_line + offset}): {match['rest']}"
        )
    assert not stderr, stderr
    assert status == 0, "\n".join(problems)
