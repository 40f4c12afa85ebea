"""Plain inputs: a request body given as a mapping, an enum given as its value.

Each facade method accepts, for a body, the generated model or a mapping typed with the
generated ``TypedDict`` (``intelliauth_client.inputs``), and for an enum parameter the
enum or its string value. The generated ``Operation.inputs`` names the arguments that may
need converting; this module converts them before the request is built, so a mapping that
does not fit the contract raises ``RequestValidationError`` (a ``ValueError``) naming the
field, and nothing is sent.

A mapping is checked against the generated ``msgspec`` structure of its schema (required
keys, unknown keys, types, ``const`` values, date-time strings), then turned into the
model with the model's own ``from_dict``. Enums are open (a value this version does not
know yet is kept, as in responses), so any string is accepted for one. Nothing here runs
for a call given models and enums: the invoker tests ``operation.inputs`` first.
"""

from __future__ import annotations

import enum
import importlib
import re
from collections.abc import Mapping
from typing import Any, Final, Protocol

import msgspec

from intelliauth_ext._errors import RequestValidationError

__all__ = ["InputOperation", "accept_inputs"]

#: How deep a mapping given as a body may nest (the contract's bodies nest a few levels).
MAX_DEPTH: Final = 64

_MSGSPEC_PATH = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>.*)`)?$", re.DOTALL)
_MSGSPEC_FIELD = re.compile(r"field `(?P<field>[^`]*)`")


class InputOperation(Protocol):
    """The fields of the generated ``facade.Operation`` read here."""

    @property
    def operation_id(self) -> str: ...
    @property
    def inputs(self) -> tuple[str, ...]: ...


def accept_inputs(operation: InputOperation, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` with each mapping body and each enum value converted to its model or enum.

    Returns ``kwargs`` itself when nothing needed converting.

    Raises:
        RequestValidationError: A mapping or value that does not fit the contract.
    """
    converted: dict[str, Any] | None = None
    for name in operation.inputs:
        value = kwargs.get(name)
        if not _is_plain(value):
            continue
        conversion = _conversion(operation.operation_id, name)
        if converted is None:
            converted = dict(kwargs)
        converted[name] = _convert(conversion, name, value)
    return kwargs if converted is None else converted


def _is_plain(value: object) -> bool:
    """Whether ``value`` is a mapping, an enum's plain value, or a list holding one."""
    if isinstance(value, Mapping):
        return True
    if isinstance(value, str | int) and not isinstance(value, enum.Enum | bool):
        return True
    return isinstance(value, list | tuple) and any(_is_plain(item) for item in value)


def _conversion(operation_id: str, name: str) -> Any:
    """The generated ``Conversion`` of one argument of one operation."""
    # Imported on first need: a call given models and enums never loads the module.
    inputs = importlib.import_module("intelliauth_client.inputs")
    return inputs.CONVERSIONS[operation_id][name]


def _class(conversion: Any) -> Any:
    """The model or enum class a conversion names, imported on first use."""
    return getattr(importlib.import_module(conversion.module), conversion.name)


def _convert(conversion: Any, name: str, value: Any) -> Any:
    """The model or enum member(s) for the plain ``value`` of argument ``name``."""
    if conversion.kind == "body":
        return _body(conversion, name, value)
    enum_class = _class(conversion)
    if conversion.kind == "enum_list":
        if not isinstance(value, list | tuple):
            raise RequestValidationError(
                f"{name}: expected a list of {conversion.name} values", field=name
            )
        return [_enum(enum_class, f"{name}[{i}]", item) for i, item in enumerate(value)]
    return _enum(enum_class, name, value)


def _enum(enum_class: Any, field: str, value: Any) -> Any:
    """The member of ``enum_class`` for ``value`` (open enums keep an unknown string)."""
    if isinstance(value, enum.Enum):
        return value
    try:
        return enum_class(value)
    except ValueError:
        known = ", ".join(repr(member.value) for member in enum_class)
        raise RequestValidationError(
            f"{field}: {value!r} is not a {enum_class.__name__} (one of {known})", field=field
        ) from None


def _plain(value: Any, field: str, depth: int = 0) -> Any:
    """``value`` with generated models inside it turned into their dicts."""
    if depth > MAX_DEPTH:
        raise RequestValidationError(f"{field}: nested deeper than {MAX_DEPTH} levels", field=field)
    if isinstance(value, Mapping):
        return {key: _plain(item, f"{field}.{key}", depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item, f"{field}[{i}]", depth + 1) for i, item in enumerate(value)]
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and not isinstance(value, type):
        return to_dict()
    return value


def _body(conversion: Any, name: str, value: Any) -> Any:
    """The model for a mapping body, checked against the contract first."""
    try:
        builtins = msgspec.to_builtins(_plain(value, name))
    except (TypeError, ValueError) as exc:  # a key that is not a string, an unknown type
        raise RequestValidationError(f"{name}: {exc}", field=name) from None
    try:
        msgspec.convert(builtins, conversion.check)
    except msgspec.ValidationError as exc:
        field, message = _located(name, str(exc))
        raise RequestValidationError(
            f"{field}: {message} (the {conversion.name} schema)", field=field
        ) from None
    try:
        return _class(conversion).from_dict(builtins)
    except Exception as exc:
        # The check above passed, so this is a shape it can not express (a oneOf of
        # objects); the exception's text may quote the value, so only its class is told.
        raise RequestValidationError(
            f"{name}: does not fit the {conversion.name} schema ({type(exc).__name__})",
            field=name,
        ) from None


def _located(name: str, message: str) -> tuple[str, str]:
    """The field path and the message of a ``msgspec.ValidationError``'s text."""
    match = _MSGSPEC_PATH.match(message)
    path = name
    if match is not None:
        message = match.group("message")
        path += match.group("path") or ""
    named = _MSGSPEC_FIELD.search(message)
    if named is not None and message.startswith("Object"):
        path += f".{named.group('field')}"
    return path, message
