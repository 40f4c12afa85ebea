"""Deprecations: which operations and which model fields the contract marks ``deprecated``.

openapi-python-client 0.29.1 keeps neither mark, so they are read here from the raw document
and handed to the templates as Jinja globals: ``endpoint_deprecation(endpoint)`` (the
message of a deprecated operation, "" otherwise) for the endpoint modules, and
``deprecated_properties(model)`` (the JSON names of a model's deprecated fields) for
``model.py.jinja``. The facade reads operations' marks from ``RawOperation.deprecated``.

A model's deprecated fields are its own marked properties plus those of its ``allOf`` parts,
as for ``x-sensitive`` (``codegen/sensitive.py``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from openapi_python_client.config import Config

from codegen.naming import component_class
from codegen.spec import iter_operations, operation_key, resolve

__all__ = ["DeprecationTable", "field_message", "operation_message"]


def operation_message(name: str, location: str) -> str:
    """The warning for a deprecated operation, e.g. ``users.get_legacy (GET /legacy)``."""
    return (
        f"{name} ({location}) is deprecated by the IntelliAuth API contract "
        "and may be removed in a later version."
    )


def field_message(class_name: str, field: str) -> str:
    """The warning for setting a deprecated field, e.g. ``User.legacy_id``."""
    return (
        f"{class_name}.{field} is deprecated by the IntelliAuth API contract "
        "and may be removed in a later version."
    )


class DeprecationTable:
    """The deprecated operations and model fields of one document."""

    def __init__(self, document: Mapping[str, Any], config: Config) -> None:
        self._document = document
        self._operations = {
            operation_key(raw.method, raw.path): operation_message(raw.operation_id, raw.location)
            for raw in iter_operations(document)
            if raw.deprecated
        }
        schemas: Mapping[str, Any] = (document.get("components") or {}).get("schemas") or {}
        self._fields: dict[str, frozenset[str]] = {}
        for name, schema in schemas.items():
            marked = frozenset(self._marked(schema, seen=set()))
            if marked:
                self._fields[str(component_class(name, schema, config).name)] = marked

    def _marked(self, schema: Any, *, seen: set[str]) -> Iterator[str]:
        if not isinstance(schema, Mapping):
            return
        properties = schema.get("properties")
        if isinstance(properties, Mapping):
            for name, prop in properties.items():
                if isinstance(prop, Mapping) and prop.get("deprecated") is True:
                    yield str(name)
        for part in schema.get("allOf") or []:
            ref = part.get("$ref") if isinstance(part, Mapping) else None
            if isinstance(ref, str):
                if ref not in seen:
                    seen.add(ref)
                    yield from self._marked(resolve(self._document, part), seen=seen)
            else:
                yield from self._marked(part, seen=seen)

    def endpoint(self, endpoint: Any) -> str:
        """The Jinja global ``endpoint_deprecation``: the warning, "" if not deprecated."""
        return self._operations.get(
            operation_key(endpoint.method, endpoint.path.get_untrusted_value()), ""
        )

    def properties(self, model: Any) -> frozenset[str]:
        """The Jinja global ``deprecated_properties``: JSON names of deprecated fields."""
        return self._fields.get(str(model.class_info.name), frozenset())

    def field_message(self, model: Any, python_name: str) -> str:
        """The Jinja global ``deprecated_field_message``."""
        return field_message(str(model.class_info.name), python_name)
