"""ReBAC: permission expressions, resource-type validation and the permission check.

Pure logic over the :class:`Tenant`'s resource types, resources and relation tuples; the HTTP
side is ``_routes/resource_types.py`` and ``_routes/resources.py``.

A type's permissions are expressions over its relations and permissions (the contract's
``PermissionDefinition`` grammar)::

    expr     = and_expr *(" or " and_expr)
    and_expr = excl *(" and " excl)
    excl     = primary [" but not " primary]
    primary  = name / name "->" name / "(" expr ")"

A check asks whether a subject holds a relation or permission on a resource. A relation is
held through a tuple naming the subject itself, a ``group_members`` tuple of a group the user
belongs to (from the tenant's group memberships, at check time), or a userset tuple
(``folder#viewer``) whose holders include the subject; ``rel->perm`` follows the ``rel``
tuples that point at resources (``relation: null``) and checks ``perm`` there.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from ._envelopes import ApiError
from ._tenant import Record, Tenant

RESERVED_TYPE_NAMES = frozenset({"user", "group"})
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_TOKEN = re.compile(r"\s*(->|\(|\)|[a-z][a-z0-9_]*|\S)")
_KEYWORDS = frozenset({"or", "and", "but", "not"})


# ---------------------------------------------------------------- expressions
@attrs.frozen
class Name:
    """A relation or permission of the same resource."""

    name: str


@attrs.frozen
class Arrow:
    """``relation->target``: ``target`` evaluated on the resources ``relation`` points at."""

    relation: str
    target: str


@attrs.frozen
class AnyOf:
    """``a or b``."""

    operands: tuple[Expression, ...]


@attrs.frozen
class AllOf:
    """``a and b``."""

    operands: tuple[Expression, ...]


@attrs.frozen
class Exclusion:
    """``a but not b``."""

    base: Expression
    excluded: Expression


Expression = Name | Arrow | AnyOf | AllOf | Exclusion


class ExpressionError(ValueError):
    """A permission expression that does not follow the grammar."""


class _Parser:
    def __init__(self, text: str) -> None:
        self._tokens = [t for t in _TOKEN.findall(text) if t]
        self._position = 0

    def _peek(self) -> str | None:
        return self._tokens[self._position] if self._position < len(self._tokens) else None

    def _take(self, expected: str | None = None) -> str:
        token = self._peek()
        if token is None or (expected is not None and token != expected):
            wanted = repr(expected) if expected else "a name"
            raise ExpressionError(f"expected {wanted} at token {self._position + 1}")
        self._position += 1
        return token

    def parse(self) -> Expression:
        expression = self._expr()
        if self._peek() is not None:
            raise ExpressionError(f"unexpected {self._peek()!r} at token {self._position + 1}")
        return expression

    def _expr(self) -> Expression:
        operands = [self._and_expr()]
        while self._peek() == "or":
            self._take("or")
            operands.append(self._and_expr())
        return operands[0] if len(operands) == 1 else AnyOf(tuple(operands))

    def _and_expr(self) -> Expression:
        operands = [self._excl()]
        while self._peek() == "and":
            self._take("and")
            operands.append(self._excl())
        return operands[0] if len(operands) == 1 else AllOf(tuple(operands))

    def _excl(self) -> Expression:
        base = self._primary()
        if self._peek() == "but":
            self._take("but")
            self._take("not")
            return Exclusion(base, self._primary())
        return base

    def _name(self) -> str:
        token = self._take()
        if token in _KEYWORDS or not _NAME.match(token):
            raise ExpressionError(f"{token!r} is not a relation or permission name")
        return token

    def _primary(self) -> Expression:
        if self._peek() == "(":
            self._take("(")
            inner = self._expr()
            self._take(")")
            return inner
        name = self._name()
        if self._peek() == "->":
            self._take("->")
            return Arrow(name, self._name())
        return Name(name)


@functools.lru_cache(maxsize=1024)
def parse_expression(text: str) -> Expression:
    """Parse a permission expression.

    Raises:
        ExpressionError: the text does not follow the grammar.
    """
    return _Parser(text).parse()


def _references(expression: Expression) -> Iterable[Name | Arrow]:
    """The names and arrows an expression mentions."""
    if isinstance(expression, Name | Arrow):
        yield expression
    elif isinstance(expression, Exclusion):
        yield from _references(expression.base)
        yield from _references(expression.excluded)
    else:
        for operand in expression.operands:
            yield from _references(operand)


# ---------------------------------------------------------------- type definitions
def _invalid(message: str, **details: Any) -> ApiError:
    return ApiError("validation_failed", message, details=details)


def _names_of(definition: Record) -> set[str]:
    return {r["name"] for r in definition["relations"]} | {
        p["name"] for p in definition["permissions"]
    }


def _pointed_types(relation: Record) -> list[str]:
    """The resource types a relation's tuples may point at (``<type>`` subjects)."""
    return [s for s in relation["allowed_subjects"] if "#" not in s and s not in {"user"}]


def validate_type_definition(tenant: Tenant, definition: Record) -> None:
    """Check a resource type's relations and permissions against the tenant's other types.

    ``definition`` has ``name``, ``relations`` and ``permissions``. A referenced type must
    exist or be this one; names must be unique; expressions must parse, name relations or
    permissions that exist, and not refer to each other in a cycle.

    Raises:
        ApiError: ``validation_failed`` naming the offending field.
    """
    own = definition["name"]
    relations: Sequence[Record] = definition["relations"]
    permissions: Sequence[Record] = definition["permissions"]
    relation_names = [r["name"] for r in relations]
    permission_names = [p["name"] for p in permissions]
    for kind, names in (("relations", relation_names), ("permissions", permission_names)):
        duplicate = next((n for n in names if names.count(n) > 1), None)
        if duplicate is not None:
            raise _invalid(f"{kind} has {duplicate!r} twice.", field=kind, name=duplicate)
    clash = set(relation_names) & set(permission_names)
    if clash:
        name = sorted(clash)[0]
        raise _invalid(
            f"{name!r} is both a relation and a permission.", field="permissions", name=name
        )

    def names_on(type_name: str) -> set[str] | None:
        if type_name == own:
            return _names_of(definition)
        other = tenant.resource_types.get(type_name)
        return _names_of(other) if other is not None else None

    for relation in relations:
        for subject in relation["allowed_subjects"]:
            if subject in {"user", "group#member"}:
                continue
            type_name, _, on = subject.partition("#")
            known = names_on(type_name) if type_name not in RESERVED_TYPE_NAMES else None
            if known is None:
                raise _invalid(
                    f"allowed subject {subject!r} of {relation['name']!r} names no resource type.",
                    field="relations",
                    relation=relation["name"],
                    subject=subject,
                )
            if on and on not in known:
                raise _invalid(
                    f"{type_name!r} has no relation or permission {on!r}.",
                    field="relations",
                    relation=relation["name"],
                    subject=subject,
                )

    by_relation = {r["name"]: r for r in relations}
    graph: dict[str, set[str]] = {}
    for permission in permissions:
        try:
            expression = parse_expression(permission["expression"])
        except ExpressionError as exc:
            raise _invalid(
                f"The expression of {permission['name']!r} is invalid: {exc}.",
                field="permissions",
                permission=permission["name"],
            ) from exc
        graph[permission["name"]] = set()
        for reference in _references(expression):
            if isinstance(reference, Name):
                if reference.name not in by_relation and reference.name not in permission_names:
                    raise _invalid(
                        f"{permission['name']!r} refers to {reference.name!r}, which {own!r} "
                        "does not define.",
                        field="permissions",
                        permission=permission["name"],
                    )
                if reference.name in permission_names:
                    graph[permission["name"]].add(reference.name)
                continue
            pointer = by_relation.get(reference.relation)
            pointed = _pointed_types(pointer) if pointer is not None else []
            if not any(reference.target in (names_on(t) or set()) for t in pointed):
                raise _invalid(
                    f"{permission['name']!r}: {reference.relation}->{reference.target} does not "
                    f"lead to a type defining {reference.target!r}.",
                    field="permissions",
                    permission=permission["name"],
                )
    cycle = _find_cycle(graph)
    if cycle:
        raise _invalid(
            f"The permissions refer to each other in a cycle: {' -> '.join(cycle)}.",
            field="permissions",
            cycle=cycle,
        )


def _find_cycle(graph: Mapping[str, set[str]]) -> list[str] | None:
    """Return one cycle of the permission graph (as a path back to its start), or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for successor in sorted(graph.get(node, ())):
            found = visit(successor, [*path, node])
            if found:
                return found
        done.add(node)
        return None

    for start in sorted(graph):
        found = visit(start, [])
        if found:
            return found
    return None


def references_to(tenant: Tenant, type_name: str) -> list[tuple[str, str]]:
    """Return ``(other type, name on this type or "")`` for each other type's reference to
    ``type_name`` (through ``allowed_subjects`` or an arrow)."""
    found: list[tuple[str, str]] = []
    for other in tenant.resource_types.values():
        if other["name"] == type_name:
            continue
        pointers: dict[str, list[str]] = {}
        for relation in other["relations"]:
            pointers[relation["name"]] = _pointed_types(relation)
            for subject in relation["allowed_subjects"]:
                named, _, on = subject.partition("#")
                if named == type_name:
                    found.append((other["name"], on))
        for permission in other["permissions"]:
            for reference in _references(parse_expression(permission["expression"])):
                if isinstance(reference, Arrow) and type_name in pointers.get(
                    reference.relation, []
                ):
                    found.append((other["name"], reference.target))
    return found


# ---------------------------------------------------------------- subjects
def subject_key(subject: Mapping[str, Any]) -> tuple[str, str, str | None]:
    """A hashable identity of a RelationSubject."""
    kind = subject["kind"]
    if kind == "user":
        return ("user", subject["user_id"], None)
    if kind == "group_members":
        return ("group_members", subject["group_id"], None)
    return ("resource", subject["resource_id"], subject.get("relation"))


def subject_type(tenant: Tenant, subject: Mapping[str, Any]) -> str | None:
    """The ``allowed_subjects`` entry a subject is (``user``, ``group#member``, ``folder``,
    ``folder#viewer``), or None when what it names does not exist."""
    kind = subject["kind"]
    if kind == "user":
        return "user" if subject["user_id"] in tenant.users else None
    if kind == "group_members":
        return "group#member" if subject["group_id"] in tenant.groups else None
    resource = tenant.resources.get(subject["resource_id"])
    if resource is None:
        return None
    relation = subject.get("relation")
    return f"{resource['type']}#{relation}" if relation else str(resource["type"])


# ---------------------------------------------------------------- checking
@attrs.define
class PermissionChecker:
    """Answers checks over the tenant's current tuples (one instance per request, so a batch
    sees one snapshot: nothing changes while it runs)."""

    tenant: Tenant

    def defines(self, resource: Record, name: str) -> bool:
        """Whether the resource's type defines ``name`` as a relation or permission."""
        definition = self.tenant.resource_types.get(resource["type"])
        return definition is not None and name in _names_of(definition)

    def check(self, resource_id: str, name: str, subject: Mapping[str, Any]) -> bool:
        """Whether ``subject`` holds relation or permission ``name`` on the resource."""
        return self._holds(resource_id, name, subject_key(subject), frozenset())

    def _holds(
        self,
        resource_id: str,
        name: str,
        subject: tuple[str, str, str | None],
        visiting: frozenset[tuple[str, str]],
    ) -> bool:
        # Tuples can form loops (folder A inside B inside A): a path that comes back to a
        # question it is already asking adds nothing, so it answers False.
        if (resource_id, name) in visiting:
            return False
        visiting = visiting | {(resource_id, name)}
        resource = self.tenant.resources.get(resource_id)
        if resource is None:
            return False
        definition = self.tenant.resource_types.get(resource["type"])
        if definition is None:
            return False
        if any(r["name"] == name for r in definition["relations"]):
            return self._has_relation(resource_id, name, subject, visiting)
        permission = next((p for p in definition["permissions"] if p["name"] == name), None)
        if permission is None:
            return False  # an arrow reached a type without this name
        expression = parse_expression(permission["expression"])
        return self._evaluate(resource_id, expression, subject, visiting)

    def _has_relation(
        self,
        resource_id: str,
        relation: str,
        subject: tuple[str, str, str | None],
        visiting: frozenset[tuple[str, str]],
    ) -> bool:
        for entry in self._tuples(resource_id, relation):
            held_by = subject_key(entry["subject"])
            if held_by == subject:
                return True
            kind, target, via = held_by
            if (
                kind == "group_members"
                and subject[0] == "user"
                and self._member(target, subject[1])
            ):
                return True
            if (
                kind == "resource"
                and via is not None
                and self._holds(target, via, subject, visiting)
            ):
                return True
        return False

    def _evaluate(
        self,
        resource_id: str,
        expression: Expression,
        subject: tuple[str, str, str | None],
        visiting: frozenset[tuple[str, str]],
    ) -> bool:
        if isinstance(expression, Name):
            return self._holds(resource_id, expression.name, subject, visiting)
        if isinstance(expression, Arrow):
            return any(
                self._holds(entry["subject"]["resource_id"], expression.target, subject, visiting)
                for entry in self._tuples(resource_id, expression.relation)
                if entry["subject"]["kind"] == "resource" and not entry["subject"].get("relation")
            )
        if isinstance(expression, AnyOf):
            return any(
                self._evaluate(resource_id, o, subject, visiting) for o in expression.operands
            )
        if isinstance(expression, AllOf):
            return all(
                self._evaluate(resource_id, o, subject, visiting) for o in expression.operands
            )
        return self._evaluate(
            resource_id, expression.base, subject, visiting
        ) and not self._evaluate(resource_id, expression.excluded, subject, visiting)

    def _tuples(self, resource_id: str, relation: str) -> list[Record]:
        return [
            entry
            for entry in self.tenant.relations.values()
            if entry["resource_id"] == resource_id and entry["relation"] == relation
        ]

    def _member(self, group_id: str, user_id: str) -> bool:
        return (
            self.tenant.memberships.find(
                lambda m: m["group_id"] == group_id and m["user_id"] == user_id
            )
            is not None
        )


__all__ = [
    "RESERVED_TYPE_NAMES",
    "ExpressionError",
    "PermissionChecker",
    "parse_expression",
    "references_to",
    "subject_key",
    "subject_type",
    "validate_type_definition",
]
