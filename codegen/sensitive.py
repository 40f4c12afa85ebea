"""Secret fields: which properties of which model the contract marks ``x-sensitive: true``.

openapi-python-client 0.29.1 keeps no vendor extension on the properties it parses, so the
marks are read here from the raw document. ``model.py.jinja`` gets a
``sensitive_properties(model)`` global: the JSON names of the model's secret fields, for
which it writes a ``__repr__`` that prints ``'[REDACTED]'`` in their place.

A model's secret fields are its own marked properties plus those of its ``allOf`` parts
(``ApplicationWithSecret`` is ``Application`` and an inline part holding
``client_secret``). A mark anywhere else (an inline object nested in a property, which
would become a model of its own) is refused, so that no mark can be dropped silently.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

from openapi_python_client.config import Config

from codegen.naming import component_class
from codegen.spec import SpecError, resolve

__all__ = ["SENSITIVE", "SensitiveTable"]

#: The vendor extension that marks a property as a credential.
SENSITIVE: Final = "x-sensitive"

_SCHEMAS_POINTER = "#/components/schemas"


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _marks(node: Any, pointer: str) -> Iterator[str]:
    """The JSON pointer of every schema in ``node`` that carries the extension."""
    if isinstance(node, Mapping):
        if SENSITIVE in node:
            yield pointer
        for key, value in node.items():
            yield from _marks(value, f"{pointer}/{_escape(str(key))}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _marks(item, f"{pointer}/{index}")


class SensitiveTable:
    """The secret fields of every generated model, keyed by the model's class name."""

    def __init__(self, document: Mapping[str, Any], config: Config) -> None:
        schemas: Mapping[str, Any] = (document.get("components") or {}).get("schemas") or {}
        self._document = document
        self._covered: set[str] = set()
        self._by_class: dict[str, frozenset[str]] = {}
        for name, schema in schemas.items():
            pointer = f"{_SCHEMAS_POINTER}/{_escape(name)}"
            marked = frozenset(self._marked(schema, pointer, seen=set()))
            if marked:
                self._by_class[str(component_class(name, schema, config).name)] = marked
        stray = sorted(set(_marks(document, "#")) - self._covered)
        if stray:
            raise SpecError(
                f"`{SENSITIVE}` is only honoured on a property of a component schema (or of "
                f"one of its allOf parts), and must be `true` there; found at {stray}"
            )

    def _marked(self, schema: Any, pointer: str, *, seen: set[str]) -> Iterator[str]:
        """The marked property names of ``schema`` and of its ``allOf`` parts."""
        if not isinstance(schema, Mapping):
            return
        properties = schema.get("properties")
        if isinstance(properties, Mapping):
            for name, prop in properties.items():
                if isinstance(prop, Mapping) and prop.get(SENSITIVE) is True:
                    self._covered.add(f"{pointer}/properties/{_escape(str(name))}")
                    yield str(name)
        for index, part in enumerate(schema.get("allOf") or []):
            ref = part.get("$ref") if isinstance(part, Mapping) else None
            if isinstance(ref, str):
                if ref in seen:
                    continue
                seen.add(ref)
                yield from self._marked(resolve(self._document, part), ref, seen=seen)
            else:
                yield from self._marked(part, f"{pointer}/allOf/{index}", seen=seen)

    def __len__(self) -> int:
        return len(self._by_class)

    def classes(self) -> Mapping[str, frozenset[str]]:
        """Each model class with secret fields, and their JSON names."""
        return dict(self._by_class)

    def properties(self, model: Any) -> frozenset[str]:
        """The Jinja global: the JSON names of ``model``'s secret fields (empty if none)."""
        return self._by_class.get(str(model.class_info.name), frozenset())
