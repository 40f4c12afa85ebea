"""MkDocs hook: pages include README sections by heading, so the README stays the one source.

A page line ``<!-- readme: Retries -->`` is replaced by the body of the README section
whose heading is ``Retries`` (any level), up to the next heading of the same or a higher
level; its sub-headings come along, shifted so the section sits under the page's title.
A heading that no longer exists fails the build, so a renamed README section can not
silently empty a page. (pymdownx.snippets needs markers inside the README; headings are
markers the README already has.)

The hook also publishes ``docs/benchmarks.png`` next to the benchmarks page, which
includes ``docs/benchmarks.md`` with pymdownx.snippets.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Final

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

ROOT: Final = Path(__file__).resolve().parents[1]
README: Final = ROOT / "README.md"
#: Files outside docs_dir that pages refer to, published at these site paths.
EXTRA_FILES: Final = {"benchmarks.png": ROOT / "docs" / "benchmarks.png"}

_DIRECTIVE: Final = re.compile(r"^<!-- readme: (?P<title>.+?) -->$", re.MULTILINE)
_HEADING: Final = re.compile(r"^(?P<hashes>#{1,6}) (?P<title>.+?)\s*$")
_FENCE: Final = re.compile(r"^(```|~~~)")


def _sections(text: str) -> dict[str, tuple[int, list[str]]]:
    """Each heading's level and the lines of its section, headings in fences ignored."""
    headings: list[tuple[int, str, int]] = []
    lines = text.splitlines()
    in_fence = False
    for number, line in enumerate(lines):
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        match = None if in_fence else _HEADING.match(line)
        if match:
            headings.append((len(match["hashes"]), match["title"], number))
    sections: dict[str, tuple[int, list[str]]] = {}
    for index, (level, title, start) in enumerate(headings):
        end = next((n for lvl, _, n in headings[index + 1 :] if lvl <= level), len(lines))
        sections[title] = (level, lines[start + 1 : end])
    return sections


def _shifted(lines: list[str], level: int) -> str:
    """The section's lines with sub-headings moved up so level + 1 becomes ``##``."""
    shift = level - 1
    out: list[str] = []
    in_fence = False
    for line in lines:
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match and shift:
            line = "#" * max(2, len(match["hashes"]) - shift) + " " + match["title"]
        out.append(line)
    return "\n".join(out).strip("\n")


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, **_: Any) -> str:
    """Replace each ``<!-- readme: TITLE -->`` line with that README section."""
    if not _DIRECTIVE.search(markdown):
        return markdown
    sections = _sections(README.read_text(encoding="utf-8"))

    def include(match: re.Match[str]) -> str:
        title = match["title"]
        if title not in sections:
            raise PluginError(
                f"{page.file.src_uri}: README.md has no section {title!r} (was it renamed?)"
            )
        level, lines = sections[title]
        return _shifted(lines, level)

    return _DIRECTIVE.sub(include, markdown)


def on_files(files: Files, config: MkDocsConfig, **_: Any) -> Files:
    """Publish the files of ``EXTRA_FILES`` that live outside ``docs_dir``."""
    for uri, source in EXTRA_FILES.items():
        if source.exists() and files.get_file_from_path(uri) is None:
            files.append(File.generated(config, uri, abs_src_path=str(source)))
    return files
