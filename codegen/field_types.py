"""Field types as msgspec checks them: the contract's rules the generator's types leave out.

openapi-python-client 0.29.1 types a ``date-time`` as ``datetime.datetime`` (which a naive
time satisfies) and an integer as ``int`` (any size); the models are ``msgspec.Struct``
classes, which msgspec checks against their annotations while it decodes a body. So the
annotation carries the rule:

- a ``date-time`` is ``AwareDatetime`` (``intelliauth_client.types``): RFC 3339 requires
  the offset, and msgspec refuses a time without one;
- an ``integer`` or ``number`` with ``minimum``/``maximum`` (or ``exclusiveMinimum``/
  ``exclusiveMaximum``), or an ``int32``/``int64`` format, is ``Annotated[int,
  msgspec.Meta(ge=..., le=...)]``. An integer with neither stays ``int``: the contract allows
  any size there, and msgspec keeps every digit.

``model.py.jinja`` gets a ``field_type(model, property, type_string)`` global. The bounds of a
model's properties are read from the raw document (the generator does not keep them), from
the component schema and its ``allOf`` parts, as ``codegen/sensitive.py`` reads its marks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, Final

from openapi_python_client.config import Config

from codegen.naming import component_class
from codegen.spec import resolve

__all__ = ["FieldTypeTable"]

#: The bounds of the integer formats OpenAPI names.
_FORMAT_BOUNDS: Final = {
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
}

_NUMBER_TYPES: Final = {"integer": "int", "number": "float"}


def _bounds(schema: Mapping[str, Any]) -> dict[str, int | float]:
    """msgspec.Meta's keyword arguments for the numeric bounds of ``schema``."""
    bounds: dict[str, int | float] = {}
    low, high = _FORMAT_BOUNDS.get(str(schema.get("format")), (None, None))
    if low is not None and high is not None:
        bounds.update(ge=low, le=high)
    for keyword, meta in (("minimum", "ge"), ("maximum", "le")):
        value = schema.get(keyword)
        if isinstance(value, int | float) and not isinstance(value, bool):
            bounds[meta] = value
    # OpenAPI 3.1 (JSON Schema 2020-12): the exclusive bounds are numbers of their own.
    for keyword, meta in (("exclusiveMinimum", "gt"), ("exclusiveMaximum", "lt")):
        value = schema.get(keyword)
        if isinstance(value, int | float) and not isinstance(value, bool):
            bounds.pop("ge" if meta == "gt" else "le", None)
            bounds[meta] = value
    return bounds


class FieldTypeTable:
    """The bounded numeric properties of every generated model, keyed by class name."""

    def __init__(self, document: Mapping[str, Any], config: Config) -> None:
        schemas: Mapping[str, Any] = (document.get("components") or {}).get("schemas") or {}
        self._document = document
        self._by_class: dict[str, dict[str, tuple[str, dict[str, int | float]]]] = {}
        for name, schema in schemas.items():
            bounded = dict(self._bounded(schema, seen=set()))
            if bounded:
                self._by_class[str(component_class(name, schema, config).name)] = bounded

    def _bounded(
        self, schema: Any, *, seen: set[str]
    ) -> Iterator[tuple[str, tuple[str, dict[str, int | float]]]]:
        """(JSON name, (Python number type, bounds)) of ``schema``'s and its allOf parts'."""
        if not isinstance(schema, Mapping):
            return
        properties = schema.get("properties")
        if isinstance(properties, Mapping):
            for name, prop in properties.items():
                prop = resolve(self._document, prop) if isinstance(prop, Mapping) else prop
                if not isinstance(prop, Mapping):
                    continue
                number_type = _NUMBER_TYPES.get(str(prop.get("type")))
                bounds = _bounds(prop) if number_type else {}
                if number_type and bounds:
                    yield str(name), (number_type, bounds)
        for part in schema.get("allOf") or []:
            ref = part.get("$ref") if isinstance(part, Mapping) else None
            if isinstance(ref, str):
                if ref in seen:
                    continue
                seen.add(ref)
            yield from self._bounded(resolve(self._document, part), seen=seen)

    def bounded(self) -> Mapping[str, Mapping[str, tuple[str, dict[str, int | float]]]]:
        """Each model class with bounded numbers: JSON name to (type, msgspec.Meta bounds)."""
        return self._by_class

    def field_type(self, model: Any, property: Any, type_string: str) -> str:
        """The Jinja global: the annotation of ``property`` in ``model``'s struct."""
        declared = type_string.replace("datetime.datetime", "AwareDatetime")
        name = property.name
        # The generator keeps JSON names as UntrustedString, whose str() is not the name.
        json_name = str(
            name.get_untrusted_value() if hasattr(name, "get_untrusted_value") else name
        )
        bounded = self._by_class.get(str(model.class_info.name), {}).get(json_name)
        if bounded is None:
            return declared
        number_type, bounds = bounded
        meta = ", ".join(f"{key}={value!r}" for key, value in bounds.items())
        return re.sub(
            rf"\b{number_type}\b", f"Annotated[{number_type}, _msgspec.Meta({meta})]", declared
        )
