"""What changed between two versions of the contract, as users of the SDK see it.

The diff is api-smart-diff's (``codegen/apidiff.cjs``, from npm): it resolves ``$ref``s,
merges ``allOf``, matches paths whose parameters were renamed, and classifies each change
for HTTP clients. This module says what each change means for the SDK's surface
(``users.get``, ``User.email``) and classifies it for SDK users, which differs where
generated code is involved:

- an operationId is an "annotation" on the wire, but names a facade method and a module;
- a field removed from a response is harmless to an HTTP client that ignores it, but
  ``user.field`` no longer exists;
- a field retyped, newly required or newly optional changes the model's types for mypy;
- a new enum value is harmless (the generated enums are open), a removed one is not.

A change reached through a ``$ref`` is reported once, where the referenced component changed.
Operations, their parameters and their deprecation are compared here directly (matched by
method and path with parameters blanked, ``codegen.spec.operation_key``), because the
differ's indexes into parameter lists are not stable; everything inside schemas comes from
the differ, and each fact (the enum's values, the ``required`` list) is read back from both
documents.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import attrs
from openapi_python_client.strings import PythonIdentifier

from codegen import REPO_ROOT
from codegen.errors import GenerationError, SpecError
from codegen.naming import method_name
from codegen.spec import iter_operations, operation_key, resolve

__all__ = ["Change", "ContractDiffError", "contract_changes", "describe_schema"]

APIDIFF: Final = REPO_ROOT / "codegen" / "apidiff.cjs"
#: api-smart-diff's class for descriptions, examples and other text.
_DOCUMENTATION: Final = "annotation"
#: Schema keywords whose change retypes a value for typed code.
_TYPE_KEYWORDS: Final = frozenset(
    {"type", "format", "$ref", "items", "oneOf", "anyOf", "allOf", "additionalProperties", "const"}
)
#: Schema keywords that constrain a value without changing its Python type.
_CONSTRAINTS: Final = frozenset(
    {
        "pattern",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "uniqueItems",
        "multipleOf",
    }
)
#: Schema keywords that document a value (or mark it read- or write-only).
_DOCUMENTATION_KEYWORDS: Final = frozenset(
    {"description", "title", "example", "examples", "default", "readOnly", "writeOnly"}
)
#: Where a schema sits in a path below an operation.
_SCHEMA_PARENTS: Final = frozenset({"requestBody", "responses", "parameters"})


class ContractDiffError(GenerationError):
    """The diff could not be run (no node, api-smart-diff missing or failing)."""


@attrs.frozen(order=True)
class Change:
    """One change of the contract, as SDK users see it."""

    breaking: bool
    key: str  # stable and unique: what openapi/breaking-changes-ack.yaml lists
    text: str  # one Markdown sentence


def contract_changes(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[list[Change], int]:
    """The SDK-level changes from `before` to `after`, breaking first, and how many changes
    touched documentation only.

    Raises:
        ContractDiffError: If the diff cannot be run.
    """
    differ = _Differ(before, after)
    return differ.run(_api_diff(before, after)), differ.documentation


def describe_schema(schema: Any) -> str:
    """A schema in a few words: ``string``, ``integer (int64)``, ``User``, ``list of Group``."""
    if not isinstance(schema, Mapping):
        return "nothing"
    if "$ref" in schema:
        return f"`{str(schema['$ref']).rsplit('/', 1)[-1]}`"
    kind = schema.get("type")
    if kind == "array":
        return f"list of {describe_schema(schema.get('items'))}"
    for combinator in ("oneOf", "anyOf", "allOf"):
        if combinator in schema:
            parts = ", ".join(describe_schema(part) for part in schema[combinator])
            return f"{combinator} of {parts}"
    if isinstance(kind, list):
        return " or ".join(map(str, kind))
    text = str(kind or "any value")
    return f"{text} ({schema['format']})" if "format" in schema else text


def _api_diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, Any]]:
    payload = json.dumps({"before": before, "after": after}, default=str)
    try:
        result = subprocess.run(
            ["node", str(APIDIFF)],  # noqa: S607 - node from PATH, like the Postman bundle
            input=payload,
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            check=False,
        )
    except FileNotFoundError as error:
        raise ContractDiffError(
            "node is not on PATH", fix="install Node.js, then `make install-node`"
        ) from error
    if result.returncode != 0:
        raise ContractDiffError(
            f"api-smart-diff failed: {result.stderr.strip()[:300]}",
            fix="run `make install-node` (npm ci installs api-smart-diff)",
        )
    diffs: list[dict[str, Any]] = json.loads(result.stdout)
    return diffs


# -- reading the documents ---------------------------------------------------------------------


def _child(node: Any, key: Any) -> Any:
    if isinstance(node, Mapping):
        return node.get(key, node.get(str(key)))
    if isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
        return node[key]
    return None


def _node(document: Any, path: Sequence[Any]) -> Any:
    for key in path:
        document = _child(document, key)
    return document


def _resolved(document: Mapping[str, Any], node: Any) -> Any:
    try:
        return resolve(document, node)
    except SpecError:
        return node


@attrs.frozen
class _Operation:
    operation_id: str
    method: str
    path: str
    facade: str  # "users.get", or the operationId when it makes no method name
    module: str  # "api.users.get_user"
    raw: Mapping[str, Any]
    parameters: Mapping[tuple[str, str], Mapping[str, Any]]  # (in, name) -> resolved

    @property
    def label(self) -> str:
        return f"`{self.facade}` ({self.operation_id}, {self.method.upper()} {self.path})"


def _operations(document: Mapping[str, Any]) -> dict[tuple[str, str], _Operation]:
    """Every operation, keyed by `operation_key` (so renamed path parameters still match)."""
    found: dict[tuple[str, str], _Operation] = {}
    for raw in iter_operations(document):
        operation_id = str(raw.operation.get("operationId") or raw.location)
        tags = raw.operation.get("tags") or ["default"]
        tag = str(PythonIdentifier(str(tags[0]), "tag"))
        try:
            facade = f"{tag}.{method_name(operation_id, tag)}"
        except SpecError:
            facade = operation_id
        parameters = {}
        for parameter in [
            *raw.path_item.get("parameters", []),
            *raw.operation.get("parameters", []),
        ]:
            resolved = _resolved(document, parameter)
            if isinstance(resolved, Mapping):
                parameters[(str(resolved.get("in")), str(resolved.get("name")))] = resolved
        found[operation_key(raw.method, raw.path)] = _Operation(
            operation_id=operation_id,
            method=raw.method,
            path=raw.path,
            facade=facade,
            module=f"api.{tag}.{PythonIdentifier(operation_id, '')}",
            raw=raw.operation,
            parameters=parameters,
        )
    return found


@attrs.frozen
class _Place:
    """Names a place inside a schema, from its ``.field[].sub`` path, in text and in keys."""

    owner: str  # "User", or "`users.get` (getUser, GET /users/{id}), response 200"
    key_owner: str  # "User", or "getUser response 200"
    model: bool

    def text(self, name: str) -> str:
        if self.model:
            return f"`{self.owner}{name}`"
        return self.owner + (f" `{name.lstrip('.')}`" if name else "")

    def key(self, name: str) -> str:
        return f"{self.key_owner}{name}" if self.model else f"{self.key_owner} {name}".strip()


def _python_name(name: str) -> str:
    return str(PythonIdentifier(name, ""))


def _schema_place(tail: Sequence[Any]) -> tuple[int, str]:
    """Split a path inside a schema into the schema node it reaches and a readable name.

    Returns (how many keys lead to that node, ``.manager.email[]``); the key after it, if
    any, is a keyword of that node (``type``, ``enum``, ``required`` ...).
    """
    index, name = 0, ""
    while index < len(tail):
        key = tail[index]
        if key in {"properties", "patternProperties"} and index + 1 < len(tail):
            name += f".{tail[index + 1]}"
            index += 2
        elif key == "allOf" and index + 1 < len(tail) and isinstance(tail[index + 1], int):
            index += 2  # a part of the same object (alternatives, oneOf/anyOf, are a type)
        elif key == "items":
            name += "[]"
            index += 1
        elif key == "additionalProperties" and index + 1 < len(tail):
            name += "[*]"
            index += 1
        else:
            break
    return index, name


# -- the mapping -------------------------------------------------------------------------------


class _Differ:
    """Maps the differ's changes onto the SDK and classifies them for SDK users."""

    def __init__(self, before: Mapping[str, Any], after: Mapping[str, Any]) -> None:
        self.before, self.after = before, after
        self.old_operations, self.new_operations = _operations(before), _operations(after)
        self.changes: dict[str, Change] = {}
        self.documentation = 0
        self.path_renames: dict[str, str] = {}  # old path template -> new
        self._counted: set[str] = set()

    def add(self, breaking: bool, key: str, text: str) -> None:
        self.changes.setdefault(key, Change(breaking=breaking, key=key, text=text))

    def _document_only(self, where: Sequence[Any]) -> None:
        key = "/".join(map(str, where))
        if key not in self._counted:
            self._counted.add(key)
            self.documentation += 1

    def run(self, diffs: Iterable[Mapping[str, Any]]) -> list[Change]:
        diffs = list(diffs)
        for diff in diffs:
            if list(diff["path"]) == ["paths"] and diff["action"] == "rename":
                self.path_renames[str(diff["before"])] = str(diff["after"])
        self._compare_operations()
        added_models: list[str] = []
        removed_models: list[str] = []
        for diff in diffs:
            path, action, kind = list(diff["path"]), str(diff["action"]), str(diff["type"])
            if any(isinstance(key, str) and key.startswith("x-") for key in path):
                continue  # vendor extensions: no effect on the wire nor on the SDK's API
            retargeted = self._ref_changed(path)
            if retargeted is not None:  # one change where the reference changed, not each inside
                path, action, kind = [*retargeted, "$ref"], "replace", "breaking"
            if path[:1] == ["paths"]:
                self._operation_diff(diff, path, action, kind)
            elif path[:2] == ["components", "schemas"] and len(path) == 3:
                (added_models if action == "add" else removed_models).append(str(path[2]))
            elif path[:2] == ["components", "schemas"]:
                if not self._through_ref(path):
                    place = _Place(str(path[2]), str(path[2]), model=True)
                    self._schema_diff(path[:3], path[3:], action, kind, place)
            elif path[:2] == ["info", "version"]:
                continue  # the entry's heading
            elif path[:1] in (["info"], ["tags"], ["servers"], ["externalDocs"]):
                self._document_only(path[:2])
            elif path[:2] == ["components", "parameters"] or path[:2] == [
                "components",
                "responses",
            ]:
                continue  # seen where they are used: the operations' parameters and responses
            elif kind == _DOCUMENTATION:
                self._document_only(path)
            elif not self._through_ref(path):
                where = "/".join(map(str, path))
                text = str(diff.get("description") or "").strip() or f"{action} at {where}"
                self.add(
                    kind in {"breaking", "unclassified"}, f"changed {where}", f"{text} ({where})."
                )
        self._compare_models(added_models, removed_models)
        return sorted(self.changes.values(), key=lambda change: (not change.breaking, change.key))

    def _through_ref(self, path: Sequence[Any]) -> bool:
        """Whether `path` goes through one ``$ref``, the same in both documents.

        The differ resolves references, so a change inside a component shows at every place
        that refers to it; it is reported once, at the component. A place whose reference
        changed (or became an inline schema) is reported once, as retyped (`_ref_changed`).
        """
        return self._ref_at(path)[0] == "same"

    def _ref_changed(self, path: Sequence[Any]) -> list[Any] | None:
        """The place on `path` whose ``$ref`` changed (or appeared, or went), if any."""
        state, prefix = self._ref_at(path)
        return list(path[:prefix]) if state == "changed" else None

    def _ref_at(self, path: Sequence[Any]) -> tuple[str, int]:
        """("same" | "changed" | "none", length of the prefix where a ``$ref`` was met)."""
        after_path = self._after_path(path)
        before_node: Any = self.before
        after_node: Any = self.after
        for index in range(len(path) - 1):  # a renamed path: old and new templates side by side
            before_node = _child(before_node, path[index])
            after_node = _child(after_node, after_path[index])
            if before_node is None and after_node is None:
                return "none", 0
            ref_before = before_node.get("$ref") if isinstance(before_node, Mapping) else None
            ref_after = after_node.get("$ref") if isinstance(after_node, Mapping) else None
            if ref_before is not None or ref_after is not None:
                return ("same" if ref_before == ref_after else "changed"), index + 1
        return "none", 0

    def _after_path(self, path: Sequence[Any]) -> list[Any]:
        """`path` (the differ names a renamed path by its old template) in the new document."""
        if len(path) > 1 and path[0] == "paths" and path[1] in self.path_renames:
            return ["paths", self.path_renames[path[1]], *path[2:]]
        return list(path)

    def _new(self, path: Sequence[Any]) -> Any:
        return _node(self.after, self._after_path(path))

    # operations, compared directly ------------------------------------------------------

    def _compare_operations(self) -> None:
        added = [op for key, op in self.new_operations.items() if key not in self.old_operations]
        removed = [op for key, op in self.old_operations.items() if key not in self.new_operations]
        by_id = {operation.operation_id: operation for operation in added}
        for old in removed:
            moved = by_id.pop(old.operation_id, None)
            twin = moved or self._renamed_twin(old, list(by_id.values()))
            if moved is not None:
                self._moved(old, moved)
            elif twin is not None:
                by_id.pop(twin.operation_id)
                self._renamed(old, twin, as_far_as_told=True)
            else:
                self.add(
                    True,
                    f"removed operation {old.operation_id}",
                    f"Operation removed: {old.label}.",
                )
        for new in by_id.values():
            self.add(False, f"added operation {new.operation_id}", f"Operation added: {new.label}.")
        for key, previous in self.old_operations.items():
            current = self.new_operations.get(key)
            if current is not None:
                self._compare_operation(previous, current)

    def _renamed_twin(self, old: _Operation, candidates: list[_Operation]) -> _Operation | None:
        """The one added operation that is `old` under another name (same method and content)."""

        def content(operation: _Operation) -> str:
            raw = {
                key: value
                for key, value in operation.raw.items()
                if key not in {"operationId", "summary", "description", "tags"}
            }
            return json.dumps(raw, sort_keys=True, default=str)

        twins = [
            new for new in candidates if new.method == old.method and content(new) == content(old)
        ]
        return twins[0] if len(twins) == 1 else None

    def _renamed(self, old: _Operation, new: _Operation, *, as_far_as_told: bool = False) -> None:
        hedge = " (as far as can be told)" if as_far_as_told else ""
        if (old.method, old.path) == (new.method, new.path):
            text = (
                f"`{old.facade}` ({old.operation_id}) is now `{new.facade}` "
                f"({new.operation_id}), {new.method.upper()} {new.path}"
            )
        else:
            text = f"{old.label} is now {new.label}"
        self.add(
            old.facade != new.facade or old.module != new.module,
            f"renamed operation {old.operation_id} -> {new.operation_id}",
            f"Operation renamed{hedge}: {text}.",
        )

    def _moved(self, old: _Operation, new: _Operation) -> None:
        self.add(
            old.facade != new.facade,
            f"moved operation {old.operation_id}",
            f"Operation moved: {old.label} is now {new.method.upper()} {new.path}"
            + ("" if old.facade == new.facade else f", `{new.facade}`")
            + ".",
        )

    def _compare_operation(self, old: _Operation, new: _Operation) -> None:
        if old.operation_id != new.operation_id:
            self._renamed(old, new)
        elif old.facade != new.facade:
            self.add(
                True,
                f"moved operation {new.operation_id} to {new.facade}",
                f"Operation moved to another resource: `{old.facade}` is now `{new.facade}` "
                f"({new.operation_id}).",
            )
        if (old.raw.get("deprecated") is True) != (new.raw.get("deprecated") is True):
            now = new.raw.get("deprecated") is True
            self.add(
                False,
                f"{'deprecated' if now else 'undeprecated'} operation {new.operation_id}",
                f"{'Deprecated' if now else 'No longer deprecated'}: {new.label}.",
            )
        self._compare_parameters(old, new)
        old_body = _resolved(self.before, old.raw.get("requestBody") or {})
        new_body = _resolved(self.after, new.raw.get("requestBody") or {})
        if bool(old_body) != bool(new_body) or (old_body.get("required") is True) != (
            new_body.get("required") is True
        ):
            self.add(
                bool(new_body) and new_body.get("required") is True or not new_body,
                f"request body of {new.operation_id}",
                f"Request body of {new.label}: "
                + (
                    "removed"
                    if not new_body
                    else "now required"
                    if new_body.get("required")
                    else "now optional"
                )
                + ".",
            )

    def _compare_parameters(self, old: _Operation, new: _Operation) -> None:
        old_path_names = re.findall(r"\{([^{}]+)\}", old.path)
        new_path_names = re.findall(r"\{([^{}]+)\}", new.path)
        renamed = dict(zip(old_path_names, new_path_names, strict=False))
        for (where, name), parameter in old.parameters.items():
            target = (where, renamed.get(name, name) if where == "path" else name)
            other = new.parameters.get(target)
            if other is None:
                self.add(
                    True,
                    f"removed parameter {new.operation_id}.{name}",
                    f"Parameter removed from {new.label}: {where} `{name}`.",
                )
                continue
            if target[1] != name:
                same = _python_name(name) == _python_name(target[1])
                self.add(
                    not same,
                    f"renamed parameter {new.operation_id}.{name} -> {target[1]}",
                    f"Path parameter renamed in {new.label}: `{name}` is now `{target[1]}`"
                    + (f" (the argument stays `{_python_name(name)}`)" if same else "")
                    + ".",
                )
            if (parameter.get("required") is True) != (other.get("required") is True):
                now = other.get("required") is True
                self.add(
                    now,
                    f"{'required' if now else 'optional'} parameter {new.operation_id}.{name}",
                    f"Parameter `{name}` of {new.label} is now "
                    f"{'required' if now else 'optional'}.",
                )
            old_type = describe_schema(_resolved(self.before, parameter.get("schema")))
            new_type = describe_schema(_resolved(self.after, other.get("schema")))
            if old_type != new_type:
                self.add(
                    True,
                    f"retyped parameter {new.operation_id}.{name}",
                    f"Parameter `{name}` of {new.label} was {old_type}, is {new_type}.",
                )
            if (parameter.get("deprecated") is True) != (other.get("deprecated") is True):
                self.add(
                    False,
                    f"deprecated parameter {new.operation_id}.{name}",
                    f"Deprecated: parameter `{name}` of {new.label}.",
                )
        matched = {(w, renamed.get(n, n) if w == "path" else n) for w, n in old.parameters}
        for (where, name), parameter in new.parameters.items():
            if (where, name) not in matched:
                required = parameter.get("required") is True
                self.add(
                    required,
                    f"added parameter {new.operation_id}.{name}",
                    f"{'Required' if required else 'Optional'} {where} parameter added to "
                    f"{new.label}: `{name}`.",
                )

    # inside operations: inline schemas and responses ------------------------------------------

    def _operation_diff(
        self, diff: Mapping[str, Any], path: list[Any], action: str, kind: str
    ) -> None:
        if len(path) < 4 or path[3] not in _SCHEMA_PARENTS or path[3] == "parameters":
            return  # operations and their parameters are compared directly
        operation = self.new_operations.get(
            operation_key(path[2], path[1])
        ) or self.old_operations.get(operation_key(path[2], path[1]))
        if operation is None or self._through_ref(path):
            return
        rest = path[4:]
        if path[3] == "responses" and len(rest) == 1:
            status = str(rest[0])
            success = status.startswith("2")
            self.add(
                success,
                f"{action} response {operation.operation_id} {status}",
                f"Response {status} {'added to' if action == 'add' else 'removed from'} "
                f"{operation.label}" + (" (its return type changes)" if success else "") + ".",
            )
            return
        media = rest[-1] if rest[-2:-1] == ["content"] and len(rest) <= 3 else None
        if media is not None and action in {"add", "remove"}:
            where = "request body" if path[3] == "requestBody" else f"response {rest[0]}"
            # A body the SDK sends in a type the server no longer takes, or an answer it no
            # longer parses the same way, breaks calls; a new request type is one more choice.
            breaking = action == "remove" or path[3] == "responses" and str(rest[0])[:1] == "2"
            self.add(
                breaking,
                f"{action} media type {operation.operation_id} {where} {media}",
                f"{'New' if action == 'add' else 'Removed'} {where} media type `{media}` of "
                f"{operation.label}.",
            )
            return
        if "schema" not in rest:
            if kind == _DOCUMENTATION:
                self._document_only(path)
            return
        where = "request body" if path[3] == "requestBody" else f"response {rest[0]}"
        root = path[: 4 + rest.index("schema") + 1]
        place = _Place(f"{operation.label}, {where}", f"{operation.operation_id} {where}", False)
        self._schema_diff(root, path[len(root) :], action, kind, place)

    # schemas ------------------------------------------------------------------------------

    def _compare_models(self, added: list[str], removed: list[str]) -> None:
        schemas_before = (self.before.get("components") or {}).get("schemas") or {}
        schemas_after = (self.after.get("components") or {}).get("schemas") or {}
        remaining = list(added)
        for name in removed:
            same = [
                other for other in remaining if schemas_after.get(other) == schemas_before.get(name)
            ]
            if len(same) == 1:
                remaining.remove(same[0])
                self.add(
                    True,
                    f"renamed model {name} -> {same[0]}",
                    f"Model renamed (as far as can be told): `{name}` is now `{same[0]}`.",
                )
            else:
                self.add(True, f"removed model {name}", f"Model removed: `{name}`.")
        for name in remaining:
            self.add(False, f"added model {name}", f"Model added: `{name}`.")

    def _schema_diff(
        self, root: list[Any], tail: list[Any], action: str, kind: str, place: _Place
    ) -> None:
        """A change at `tail` inside the schema at `root` (a component or an inline schema)."""
        reached, name = _schema_place(tail)
        node_path = [*root, *tail[:reached]]
        keyword = tail[reached] if reached < len(tail) else None
        subject, key = place.text(name), place.key(name)
        if keyword is None:
            self._schema_node_added_or_removed(node_path, tail[:reached], action, subject, key)
        elif keyword == "enum":
            self._enum_values(node_path, subject, key)
        elif keyword == "required":
            self._required_fields(node_path, place, name)
        elif keyword == "deprecated":
            now = self._new([*node_path, "deprecated"]) is True
            self.add(
                False,
                f"{'deprecated' if now else 'undeprecated'} field {key}",
                f"{'Deprecated' if now else 'No longer deprecated'}: {subject}.",
            )
        elif keyword in _TYPE_KEYWORDS:
            self._retyped(node_path, subject, key)
        elif keyword in _CONSTRAINTS and kind == "breaking":
            self.add(True, f"constrained {key}", f"Constraint tightened: {subject} ({keyword}).")
        elif (
            keyword in _CONSTRAINTS or keyword in _DOCUMENTATION_KEYWORDS or kind == _DOCUMENTATION
        ):
            self._document_only([*node_path, keyword])
        else:
            self.add(
                kind in {"breaking", "unclassified"},
                f"changed {key} {keyword}",
                f"Changed: {subject} ({keyword}).",
            )

    def _retyped(self, node_path: list[Any], subject: str, key: str) -> None:
        before = describe_schema(_node(self.before, node_path))
        after = describe_schema(self._new(node_path))
        if before != after:
            self.add(True, f"retyped {key}", f"Type changed: {subject} was {before}, is {after}.")

    def _schema_node_added_or_removed(
        self, node_path: list[Any], tail: list[Any], action: str, subject: str, key: str
    ) -> None:
        if len(tail) < 2 or tail[-2] not in {"properties", "patternProperties"}:
            self._retyped(node_path, subject, key)
        elif action == "add":
            required = tail[-1] in (self._new([*node_path[:-2], "required"]) or [])
            kind = describe_schema(self._new(node_path))
            self.add(
                required,
                f"added field {key}",
                f"{'Required field' if required else 'Field'} added: {subject} ({kind}).",
            )
        elif action == "remove":
            self.add(True, f"removed field {key}", f"Field removed: {subject}.")

    def _enum_values(self, node_path: list[Any], subject: str, key: str) -> None:
        old_values = _node(self.before, [*node_path, "enum"]) or []
        new_values = self._new([*node_path, "enum"]) or []
        for value in [v for v in new_values if v not in old_values]:
            self.add(
                False, f"added enum value {key} {value}", f"Enum value added: {subject} `{value}`."
            )
        for value in [v for v in old_values if v not in new_values]:
            self.add(
                True,
                f"removed enum value {key} {value}",
                f"Enum value removed: {subject} `{value}`.",
            )

    def _required_fields(self, node_path: list[Any], place: _Place, name: str) -> None:
        old_required = set(_node(self.before, [*node_path, "required"]) or [])
        new_required = set(self._new([*node_path, "required"]) or [])
        for field in sorted(new_required - old_required):
            subject, key = place.text(f"{name}.{field}"), place.key(f"{name}.{field}")
            self.add(True, f"required field {key}", f"Field now required: {subject}.")
        for field in sorted(old_required - new_required):
            subject, key = place.text(f"{name}.{field}"), place.key(f"{name}.{field}")
            self.add(
                True,
                f"optional field {key}",
                f"Field now optional: {subject} (its type gains `Unset`).",
            )
