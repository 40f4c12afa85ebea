"""Reading the OpenAPI document: loading, walking operations, resolving local references."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
from ruamel.yaml import YAML

from codegen import REPO_ROOT
from codegen.errors import SpecError

__all__ = [
    "HTTP_METHODS",
    "RawOperation",
    "SpecError",
    "dangling_references",
    "ignored_nullables",
    "iter_operations",
    "load_document",
    "normalise",
    "operation_key",
    "resolve",
    "spec_label",
]

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def load_document(path: Path) -> dict[str, Any]:
    """Load a YAML or JSON OpenAPI document the way openapi-python-client does (YAML 1.2, safe).

    The document is `normalise`d, so every tool of the pipeline reads the same contract.

    Raises:
        SpecError: If the file does not parse or is not a mapping.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SpecError(
            f"cannot read the spec ({error.strerror or error})",
            location=spec_label(path),
            fix="pass an existing OpenAPI file as SPEC=",
        ) from error
    try:
        document = json.loads(text) if path.suffix == ".json" else YAML(typ="safe").load(text)
    except Exception as error:  # ruamel raises a zoo of error classes
        raise SpecError(
            f"the spec is not valid {'JSON' if path.suffix == '.json' else 'YAML'}: "
            + _parse_problem(error),
            location=spec_label(path),
            fix="correct the syntax at the line the parser names",
        ) from error
    if not isinstance(document, dict):
        raise SpecError(
            "the spec is not an OpenAPI document (its top level is not a mapping)",
            location=spec_label(path),
            fix="point SPEC= at an OpenAPI 3.x document",
        )
    return normalise(document)


def _parse_problem(error: Exception) -> str:
    """A parser's complaint in a few words, with the line it names."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None)
    if mark is not None and problem:
        return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def normalise(document: dict[str, Any]) -> dict[str, Any]:
    """Read an unquoted status code (``200:``) as the string it means (``'200'``), in place.

    YAML reads ``200:`` as the integer 200, while OpenAPI keys responses by strings (the
    JSON form of the same document has ``"200"``); openapi-python-client's document model
    rejects the integer with a message that names neither the operation nor the cause.
    """
    for path_item in (document.get("paths") or {}).values():
        if not isinstance(path_item, dict):
            continue
        for method in HTTP_METHODS:
            operation = path_item.get(method)
            if not isinstance(operation, dict):
                continue
            responses = operation.get("responses")
            if isinstance(responses, dict) and any(isinstance(key, int) for key in responses):
                operation["responses"] = {
                    str(key) if isinstance(key, int) else key: value
                    for key, value in responses.items()
                }
    return document


def operation_key(method: str, path: str) -> tuple[str, str]:
    """What identifies an operation whatever its path parameters are called.

    ``("get", "/users/{}/badges")`` for ``GET /users/{userId}/badges``: openapi-python-client
    renames path parameters (``{userId}`` becomes ``{user_id}``, ``{from}`` ``{from_}``), and
    OpenAPI forbids two paths that differ only in their parameters' names, so the key matches
    a generated endpoint to the operation of the spec it came from.
    """
    return method.lower(), re.sub(r"\{[^{}]*\}", "{}", path)


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
            raise SpecError(
                f"only local references are supported, got {ref!r}",
                location=str(ref),
                fix="bundle the spec into one document (external $refs inlined)",
            )
        if ref in seen:
            raise SpecError(
                "the reference points back to itself",
                location=ref,
                fix="make the reference chain end at a schema",
            )
        seen.add(ref)
        node = document
        for part in ref[2:].split("/"):
            key = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, Mapping) or key not in node:
                raise SpecError(
                    "the reference points nowhere",
                    location=ref,
                    fix="define the component it names, or correct the $ref",
                )
            node = node[key]
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
            raise SpecError(
                "the operation has no operationId",
                location=self.location,
                fix="give it an operationId (it names the facade method and the endpoint module)",
            )
        return operation_id

    @property
    def location(self) -> str:
        """How messages name the operation: ``GET /api/v1/users/{user_id}``."""
        return f"{self.method.upper()} {self.path}"

    @property
    def deprecated(self) -> bool:
        """Whether the contract marks the operation ``deprecated: true``."""
        return self.operation.get("deprecated") is True

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


def dangling_references(document: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(JSON pointer, target) of every local ``$ref`` that points nowhere.

    openapi-python-client drops the schema holding one, and then every operation using it,
    and says which schema it dropped but not which reference.
    """
    dangling: list[tuple[str, str]] = []
    for pointer, node in _walk(document, "#"):
        target = node.get("$ref")
        if not isinstance(target, str) or not target.startswith("#/"):
            continue
        found: Any = document
        for part in target[2:].split("/"):
            key = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(found, Mapping) or key not in found:
                dangling.append((pointer, target))
                break
            found = found[key]
    return dangling
