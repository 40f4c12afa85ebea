"""The contract the sandbox serves: `openapi/intelliauth.openapi.yaml`, read once per file.

The wheel carries a copy next to this module (the build copies it there: see
``[tool.hatch.build.targets.wheel.force-include]`` in ``pyproject.toml``), so an installed
package serves the contract it was generated from; a checkout serves the repository's file.

The sandbox takes from the spec what a server would configure by hand: which operations
exist (and so which routes to mount), the scopes each one needs (its `security`), whether
it is a paginated list, and whether it takes an `Idempotency-Key`.
"""

from __future__ import annotations

import copy
import functools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import attrs
import yaml

SPEC_ENV: Final = "INTELLIAUTH_SPEC"
SPEC_NAME: Final = "intelliauth.openapi.yaml"
_HTTP_METHODS: Final = ("get", "put", "post", "delete", "patch", "head", "options")


def default_spec_path() -> Path:
    """Return the spec to serve: the first of these that exists.

    1. ``$INTELLIAUTH_SPEC``: another spec file, to try a candidate contract.
    2. ``intelliauth.openapi.yaml`` beside this module: the copy an installed wheel carries.
    3. ``openapi/intelliauth.openapi.yaml`` of the repository, for a checkout (an editable
       install has no copy beside the module).

    Raises:
        FileNotFoundError: none of them exists.
    """
    candidates = [
        *([Path(os.environ[SPEC_ENV])] if os.environ.get(SPEC_ENV) else []),
        Path(__file__).with_name(SPEC_NAME),
        Path(__file__).resolve().parents[2] / "openapi" / SPEC_NAME,
    ]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"the IntelliAuth contract was not found (looked in {', '.join(map(str, candidates))})"
    )


@attrs.frozen
class SpecOperation:
    """What the sandbox needs to know about one operation of the contract."""

    operation_id: str
    method: str  # upper case
    path: str  # template, e.g. "/api/v1/users/{user_id}"
    scope_alternatives: tuple[tuple[str, ...], ...]  # oauth2 requirements; any one suffices
    bearer: bool  # takes a bearer access token (oauth2 / http bearer schemes)
    anonymous_allowed: bool  # an empty requirement `{}` makes the token optional
    paginated: bool
    accepts_idempotency_key: bool
    statuses: frozenset[str]  # documented response statuses ("200", "404", "default"...)

    @property
    def required_scopes(self) -> tuple[str, ...]:
        """The scopes of the first oauth2 requirement (what a 403 names as missing)."""
        return self.scope_alternatives[0] if self.scope_alternatives else ()


@attrs.frozen
class Contract:
    """A loaded spec: the raw document and its operations by operationId."""

    path: Path
    document: Mapping[str, Any]
    operations: Mapping[str, SpecOperation]

    def operation(self, operation_id: str) -> SpecOperation:
        """Return the operation with this id.

        Raises:
            KeyError: the spec has no such operation.
        """
        return self.operations[operation_id]

    def validation_document(self) -> dict[str, Any]:
        """A copy of the spec whose only server is ``/``, so any sandbox host matches."""
        document = copy.deepcopy(dict(self.document))
        document["servers"] = [{"url": "/"}]
        return document


def _resolve(document: Mapping[str, Any], node: Any) -> Any:
    while isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
        ref: str = node["$ref"]
        if not ref.startswith("#/"):
            raise ValueError(f"only local $refs are supported, got {ref}")
        target: Any = document
        for token in ref[2:].split("/"):
            target = target[token.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _build_operation(
    document: Mapping[str, Any], path: str, method: str, item: Mapping[str, Any]
) -> SpecOperation:
    node = item[method]
    security = node.get("security", document.get("security", []))
    schemes = (document.get("components") or {}).get("securitySchemes") or {}

    def takes_bearer(name: str) -> bool:
        scheme = _resolve(document, schemes.get(name, {}))
        kind = scheme.get("type")
        return kind in {"oauth2", "openIdConnect"} or (
            kind == "http" and str(scheme.get("scheme", "")).lower() == "bearer"
        )

    alternatives = tuple(
        tuple(requirement["oauth2"])
        for requirement in security
        if isinstance(requirement, Mapping) and "oauth2" in requirement
    )
    parameters = [
        _resolve(document, raw)
        for raw in [*item.get("parameters", []), *node.get("parameters", [])]
    ]
    names = {(p.get("in"), str(p.get("name", "")).lower()) for p in parameters}
    return SpecOperation(
        operation_id=str(node.get("operationId", f"{method} {path}")),
        method=method.upper(),
        path=path,
        scope_alternatives=alternatives,
        bearer=any(takes_bearer(name) for requirement in security for name in requirement),
        anonymous_allowed=not security or any(not requirement for requirement in security),
        paginated=("query", "cursor") in names and ("query", "limit") in names,
        accepts_idempotency_key=("header", "idempotency-key") in names,
        statuses=frozenset(str(status) for status in node.get("responses", {})),
    )


@functools.lru_cache(maxsize=8)
def _load(path: Path, mtime_ns: int) -> Contract:
    with path.open(encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    if not isinstance(document, dict):
        raise ValueError(f"{path} is not an OpenAPI document")
    operations: dict[str, SpecOperation] = {}
    for template, raw_item in (document.get("paths") or {}).items():
        item = _resolve(document, raw_item)
        for method in _HTTP_METHODS:
            if isinstance(item.get(method), Mapping):
                operation = _build_operation(document, template, method, item)
                operations[operation.operation_id] = operation
    return Contract(path=path, document=document, operations=operations)


def load_contract(path: Path | str | None = None) -> Contract:
    """Return the contract at ``path`` (default: :func:`default_spec_path`), cached per file
    version."""
    resolved = Path(path) if path is not None else default_spec_path()
    return _load(resolved, resolved.stat().st_mtime_ns)
