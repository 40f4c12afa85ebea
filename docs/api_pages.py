"""MkDocs hook: the API reference pages of the generated models, listed from the package.

A page line ``<!-- api: KIND -->`` becomes one mkdocstrings ``:::`` block per class of
``intelliauth_client.models`` of that kind, in alphabetical order, so a model added to the
contract (and generated) appears in the reference without anyone editing a page:

- ``models``: request and response models (everything below that is not an event,
  an envelope or an enum);
- ``events``: the webhook events (``...Event``);
- ``envelopes``: the ``{data, meta}`` envelopes and list pages the facade unwraps;
- ``enums``: the enums, with their values.

A models class is shown with its docstring (its fields, with the contract's descriptions)
but not its methods, which are the same on every model (``to_dict``, ``from_dict``, ...)
and described once on the page. An unknown kind fails the build.
"""

from __future__ import annotations

import enum
import re
from typing import Any, Final

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.pages import Page

_DIRECTIVE: Final = re.compile(r"^<!-- api: (?P<kind>[a-z]+) -->$", re.MULTILINE)
_KINDS: Final = ("models", "events", "envelopes", "enums")


def kind_of(name: str, value: object) -> str:
    """Which reference page the model ``name`` goes on."""
    if isinstance(value, type) and issubclass(value, enum.Enum):
        return "enums"
    if name.endswith("Event"):
        return "events"
    if name.endswith(("Envelope", "List")):
        return "envelopes"
    return "models"


def model_paths(kind: str) -> list[str]:
    """The dotted paths (``intelliauth_client.models.user.User``) of one kind's classes."""
    import intelliauth_client.models as models

    paths = []
    for name in sorted(models.__all__):
        value = getattr(models, name)
        if kind_of(name, value) == kind:
            paths.append(f"{value.__module__}.{value.__qualname__}")
    return paths


def _block(path: str, kind: str) -> str:
    members = "" if kind == "enums" else "\n      members: false"
    return f"::: {path}\n    options:\n      heading_level: 2{members}\n"


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, **_: Any) -> str:
    """Replace each ``<!-- api: KIND -->`` line with the reference blocks of that kind."""

    def expand(match: re.Match[str]) -> str:
        kind = match["kind"]
        if kind not in _KINDS:
            raise PluginError(f"{page.file.src_uri}: unknown API kind {kind!r} (not {_KINDS})")
        return "\n".join(_block(path, kind) for path in model_paths(kind))

    return _DIRECTIVE.sub(expand, markdown)
