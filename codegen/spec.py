"""Reading the OpenAPI document: loading, walking operations, resolving local references."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
from ruamel.yaml import YAML

from codegen import REPO_ROOT

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class SpecError(Exception):
    """The spec cannot be used to generate the client (raised with a readable message)."""


def load_document(path: Path) -> dict[str, Any]:
    """Load a YAML or JSON OpenAPI document the way openapi-python-client does (YAML 1.2, safe).

    Raises:
        SpecError: If the file does not parse or is not a mapping.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SpecError(f"cannot read {path}: {error}") from error
    try:
        document = json.loads(text) if path.suffix == ".json" else YAML(typ="safe").load(text)
    except Exception as error:  # ruamel raises a zoo of error classes
        raise SpecError(f"{path} does not parse: {error}") from error
    if not isinstance(document, dict):
        raise SpecError(f"{path} is not an OpenAPI document (top level is not a mapping)")
    return document


def spec_label(path: Path) -> str:
    """How generated headers name the spec: relative to the repository, else the file name.

    Never an absolute path, so that the output is the same on every machine.
    """
    resolved = path.resolve()
    if resolved.is_relative_to(REPO_ROOT):
        return resolved.relative_to(REPO_ROOT).as_posix()
    return resolved.name


def resolve(document: Mapping[str, Any], node: Any) -> Any:
    """Follow local ``$ref`` pointers (``#/components/...``) until a non-reference node."""
    seen: set[str] = set()
    while isinstance(node, Mapping) and "$ref" in node:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise SpecError(f"only local references are supported, got {ref!r}")
        if ref in seen:
            raise SpecError(f"reference cycle through {ref}")
        seen.add(ref)
        node = document
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


@attrs.frozen
class RawOperation:
    """One operation as written in the spec."""

    path: str
    method: str  # lower case, as in the document
    operation: Mapping[str, Any]
    path_item: Mapping[str, Any]

    @property
    def operation_id(self) -> str:
        """The operationId (a SpecError if missing: every operation needs one)."""
        operation_id = self.operation.get("operationId")
        if not isinstance(operation_id, str) or not operation_id:
            raise SpecError(f"{self.method.upper()} {self.path} has no operationId")
        return operation_id

    def parameters(self, document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        """Path-item and operation parameters, resolved, the operation's winning on a clash."""
        merged: dict[tuple[str, str], Mapping[str, Any]] = {}
        for raw in [*self.path_item.get("parameters", []), *self.operation.get("parameters", [])]:
            parameter = resolve(document, raw)
            merged[(parameter["in"], parameter["name"])] = parameter
        return list(merged.values())


def iter_operations(document: Mapping[str, Any]) -> Iterator[RawOperation]:
    """Every operation of the document, in document order."""
    for path, raw_path_item in (document.get("paths") or {}).items():
        path_item = resolve(document, raw_path_item)
        for method in HTTP_METHODS:
            operation = path_item.get(method)
            if operation is not None:
                yield RawOperation(
                    path=path, method=method, operation=operation, path_item=path_item
                )


def _walk(node: Any, pointer: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    if isinstance(node, Mapping):
        yield pointer, node
        for key, value in node.items():
            yield from _walk(value, f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _walk(item, f"{pointer}/{index}")


def ignored_nullables(document: Mapping[str, Any]) -> list[str]:
    """JSON pointers of ``nullable`` keywords openapi-python-client 0.29.1 would ignore.

    A ``nullable: true`` next to ``$ref`` or a composition is dropped by the generator (and
    means nothing in OpenAPI 3.1), so a null from the server would fail to parse. The 3.1
    way, ``oneOf: [{$ref: ...}, {type: 'null'}]``, generates ``X | None``.
    """
    return [
        pointer
        for pointer, node in _walk(document, "#")
        if isinstance(node.get("nullable"), bool)
        and any(key in node for key in ("$ref", "allOf", "oneOf", "anyOf"))
    ]
