"""Discriminated unions: the table the union template uses to dispatch on the discriminator.

openapi-python-client 0.29.1 parses ``discriminator`` but ignores it: a ``oneOf`` is parsed by
trying the variants in order, so the first variant whose required fields are present wins
(a SAML connection parses as an OIDC one if both share ``id``, ``name`` and ``protocol``).
This module reads every ``oneOf``/``anyOf`` with a ``discriminator`` from the raw document and
hands the ``union_property.py.jinja`` template a ``discriminator_dispatch(property)`` function
that returns, for a union property, the discriminator property and its value -> variant table.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import attrs
from openapi_python_client.config import Config
from openapi_python_client.parser.properties import ModelProperty

from codegen.naming import component_class
from codegen.spec import SpecError

_SCHEMAS_PREFIX = "#/components/schemas/"


@attrs.frozen
class Dispatch:
    """How to dispatch one union: ``variants`` pairs a discriminator value with its model."""

    property_name: str
    variants: tuple[tuple[str, ModelProperty], ...]


@attrs.frozen
class _Discriminated:
    property_name: str
    class_by_value: tuple[tuple[str, str], ...]  # (discriminator value, class name)


def _walk(node: Any, pointer: str = "#") -> Iterator[tuple[str, Mapping[str, Any]]]:
    if isinstance(node, Mapping):
        yield pointer, node
        for key, value in node.items():
            escaped = str(key).replace("~", "~0").replace("/", "~1")
            yield from _walk(value, f"{pointer}/{escaped}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _walk(item, f"{pointer}/{index}")


def _schema_name(ref: object, pointer: str) -> str:
    if not isinstance(ref, str) or not ref.startswith(_SCHEMAS_PREFIX):
        raise SpecError(
            f"a discriminated variant must be a $ref to a component schema, got {ref!r}",
            location=pointer,
            fix="move the variant under components/schemas and refer to it with $ref",
        )
    return ref[len(_SCHEMAS_PREFIX) :]


class DiscriminatorTable:
    """Every discriminated union of a document, keyed by the set of its variants' classes."""

    def __init__(self, document: Mapping[str, Any], config: Config) -> None:
        schemas: Mapping[str, Any] = (document.get("components") or {}).get("schemas") or {}

        self._by_variants: dict[frozenset[str], _Discriminated] = {}
        for pointer, node in _walk(document):
            discriminator = node.get("discriminator")
            variants = node.get("oneOf") or node.get("anyOf")
            if not isinstance(discriminator, Mapping) or not isinstance(variants, list):
                continue

            def class_name(ref: object, pointer: str = pointer) -> str:
                name = _schema_name(ref, pointer)
                if name not in schemas:
                    raise SpecError(
                        f"the discriminator mapping points to a missing schema {ref!r}",
                        location=f"{pointer}/discriminator",
                        fix="define that schema, or correct the mapping",
                    )
                return str(component_class(name, schemas[name], config).name)

            property_name = discriminator.get("propertyName")
            if not isinstance(property_name, str):
                raise SpecError(
                    "the discriminator has no propertyName",
                    location=f"{pointer}/discriminator",
                    fix="name the property whose value selects the variant",
                )
            variant_refs = [variant["$ref"] for variant in variants if "$ref" in variant]
            mapping: Mapping[str, object] = discriminator.get("mapping") or {}
            pairs = [(str(value), class_name(ref)) for value, ref in mapping.items()]
            mapped = {class_name(ref) for ref in mapping.values()}
            # Implicit mapping (OpenAPI 3.1, 4.8.25): the value is the schema's name.
            pairs += [
                (_schema_name(ref, pointer), class_name(ref))
                for ref in variant_refs
                if class_name(ref) not in mapped
            ]
            key = frozenset(class_name(ref) for ref in variant_refs)
            entry = _Discriminated(property_name=property_name, class_by_value=tuple(pairs))
            if self._by_variants.setdefault(key, entry) != entry:
                raise SpecError(
                    f"two discriminated unions over {sorted(key)} disagree on how to dispatch",
                    location=pointer,
                    fix="give both unions the same propertyName and mapping",
                )

    def __len__(self) -> int:
        return len(self._by_variants)

    def dispatch(self, union: Any) -> Dispatch | None:
        """The dispatch for a ``UnionProperty`` (the Jinja global), or None if not discriminated."""
        models = {
            str(inner.class_info.name): inner
            for inner in union.inner_properties
            if isinstance(inner, ModelProperty)
        }
        entry = self._by_variants.get(frozenset(models))
        if entry is None:
            return None
        return Dispatch(
            property_name=entry.property_name,
            variants=tuple(
                (value, models[name]) for value, name in entry.class_by_value if name in models
            ),
        )
