"""Every example in the spec parses into its generated model and serializes back unchanged."""

from __future__ import annotations

import datetime
import importlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from codegen.generator import load_config
from codegen.naming import component_class
from codegen.spec import iter_operations, load_document, resolve

_SCHEMAS = "#/components/schemas/"

MINI_SPEC = Path(__file__).parent / "fixtures" / "mini.openapi.yaml"


def _media_examples(
    document: Mapping[str, Any], media: Mapping[str, Any]
) -> Iterator[tuple[str, Any]]:
    if "example" in media:
        yield "example", media["example"]
    for name, example in (media.get("examples") or {}).items():
        resolved = resolve(document, example)
        if "value" in resolved:
            yield name, resolved["value"]


def collect_examples(spec: Path) -> list[tuple[str, str, Any]]:
    """(where, component schema name, example) for every example whose schema is a $ref."""
    document = load_document(spec)
    found: list[tuple[str, str, Any]] = []

    def add(where: str, content: Mapping[str, Any]) -> None:
        for media_type, media in content.items():
            ref = (media.get("schema") or {}).get("$ref", "")
            if not ref.startswith(_SCHEMAS):
                continue
            for name, value in _media_examples(document, media):
                found.append((f"{where} {media_type} {name}", ref[len(_SCHEMAS) :], value))

    for raw in iter_operations(document):
        where = raw.operation_id
        body = resolve(document, raw.operation.get("requestBody") or {})
        add(f"{where} request", body.get("content") or {})
        for status, response in (raw.operation.get("responses") or {}).items():
            add(f"{where} {status}", resolve(document, response).get("content") or {})
    for name, schema in ((document.get("components") or {}).get("schemas") or {}).items():
        values = [schema["example"]] if "example" in schema else []
        values += list(schema.get("examples") or [])
        found += [(f"schema {name} #{i}", name, value) for i, value in enumerate(values)]
    return found


def _same(expected: Any, actual: Any) -> bool:
    """Equal documents, where two timestamps are equal if they are the same instant."""
    if isinstance(expected, Mapping) and isinstance(actual, Mapping):
        return expected.keys() == actual.keys() and all(
            _same(expected[k], actual[k]) for k in expected
        )
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(map(_same, expected, actual))
    if isinstance(expected, str) and isinstance(actual, str) and expected != actual:
        try:
            return datetime.datetime.fromisoformat(expected) == datetime.datetime.fromisoformat(
                actual
            )
        except ValueError:
            return False
    return bool(expected == actual)


def _round_trip(package: ModuleType, spec: Path, tmp_path: Path) -> list[str]:
    document = load_document(spec)
    schemas = document["components"]["schemas"]
    config = load_config(spec, tmp_path)
    failures: list[str] = []
    checked = 0
    for where, schema_name, example in collect_examples(spec):
        info = component_class(schema_name, schemas[schema_name], config)
        try:
            module = importlib.import_module(f"{package.__name__}.models.{info.module_name}")
        except ModuleNotFoundError:
            continue  # a union or a primitive: no model to parse into
        cls = getattr(module, info.name)
        try:
            if hasattr(cls, "from_dict"):
                serialized = cls.from_dict(example).to_dict()
            else:  # an enum
                serialized = cls(example).value
        except Exception as error:  # report every failing example, not just the first
            failures.append(f"{where} ({info.name}): {type(error).__name__}: {error}")
            continue
        checked += 1
        if not _same(example, serialized):
            failures.append(f"{where} ({info.name}): {example!r} came back as {serialized!r}")
    assert checked, f"no example of {spec} maps to a model"
    return failures


def test_mini_spec_examples_round_trip(mini_client: ModuleType, tmp_path: Path) -> None:
    """Every example of the test spec parses into its model and serializes back equal."""
    assert _round_trip(mini_client, MINI_SPEC, tmp_path) == []


def test_mini_spec_has_examples_to_check() -> None:
    """The collector finds request, response and component examples (so the test has teeth)."""
    wheres = [where for where, _, _ in collect_examples(MINI_SPEC)]
    assert any("request" in where for where in wheres)
    assert any(" 200 " in where for where in wheres)
    assert any(" page" in where for where in wheres)  # a named example behind a $ref


def test_real_spec_examples_round_trip(
    real_client: ModuleType, real_spec: Path, tmp_path: Path
) -> None:
    """Every example of openapi/intelliauth.openapi.yaml parses into its model and back."""
    assert _round_trip(real_client, real_spec, tmp_path) == []


@pytest.mark.parametrize(
    ("expected", "actual", "same"),
    [
        ("2024-05-01T10:00:00Z", "2024-05-01T10:00:00+00:00", True),
        ("2024-05-01T10:00:00Z", "2024-05-01T11:00:00+00:00", False),
        ({"a": [1, "x"]}, {"a": [1, "x"]}, True),
        ({"a": 1}, {"a": 1, "b": None}, False),
    ],
)
def test_comparison_treats_timestamps_as_instants(expected: Any, actual: Any, same: bool) -> None:
    """The round-trip comparison only forgives differently written equal timestamps."""
    assert _same(expected, actual) is same
