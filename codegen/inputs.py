"""Plain inputs: what ``intelliauth_client/inputs.py`` contains, computed from the parsed spec.

A request body whose schema is an object may be given as the generated model or as a plain
mapping; an enum parameter as the enum or its value (docs/design/facade.md, "Plain
inputs"). For each object schema a body reaches, this module computes two types that
``templates/inputs.py.jinja`` renders:

- a ``TypedDict`` (``UserCreateParam``): what a caller's mapping is typed with, so that a
  key that is not in the schema, or a value of the wrong type, is a type error;
- a private ``msgspec.Struct`` (``_UserCreateCheck``): what the runtime checks the mapping
  against before anything is sent (``intelliauth_ext._inputs``): required and unknown keys,
  types, ``const`` values, date-time strings. Unknown keys are refused unless the schema
  declares ``additionalProperties``.

msgspec can not tell the members of a union apart when two of them take the same JSON
type (two objects, a string and a date-time): such a union is checked as ``Any`` here and
left to the model's ``from_dict``. A body with a file, or a ``oneOf`` body, has no plain
form: it takes the model only.
"""

from __future__ import annotations

import keyword
from collections.abc import Iterable
from typing import Any

import attrs
from openapi_python_client.parser.properties import (
    AnyProperty,
    BooleanProperty,
    ConstProperty,
    DateProperty,
    DateTimeProperty,
    EnumProperty,
    FloatProperty,
    IntProperty,
    ListProperty,
    LiteralEnumProperty,
    ModelProperty,
    NoneProperty,
    StringProperty,
    UnionProperty,
    UuidProperty,
)

__all__ = [
    "InputConversion",
    "InputField",
    "InputModel",
    "Inputs",
    "InputsBuilder",
    "UnsupportedInput",
]

#: The JSON type each check type takes, for telling whether msgspec can split a union.
_STRING, _NUMBER, _BOOLEAN, _NULL, _OBJECT, _ARRAY, _ANY = (
    "string",
    "number",
    "boolean",
    "null",
    "object",
    "array",
    "any",
)


class UnsupportedInput(Exception):  # noqa: N818 - a signal, caught in this package
    """A property with no plain form (a file): its body takes the model only."""


@attrs.frozen
class InputField:
    """One key of a ``TypedDict`` and the matching field of its check structure."""

    key: str  # the JSON name
    python_name: str  # the check structure's field name
    required: bool
    param_type: str  # the TypedDict's annotation
    check_type: str  # the msgspec annotation


@attrs.frozen
class InputModel:
    """One object schema's ``TypedDict`` and check structure."""

    model_class: str
    param_class: str
    check_class: str
    description: str
    fields: tuple[InputField, ...]
    closed: bool  # unknown keys are refused
    class_syntax: bool  # every key is a plain identifier: `class X(TypedDict)` can spell it


@attrs.frozen
class InputConversion:
    """One argument of one operation the runtime may convert."""

    operation_id: str
    argument: str  # the endpoint function's keyword
    kind: str  # "body", "enum" or "enum_list"
    module: str  # where the model or enum class lives
    name: str  # the model or enum class
    check: str  # the check structure of a body, "" for an enum


@attrs.frozen
class Inputs:
    """Everything ``templates/inputs.py.jinja`` renders."""

    models: tuple[InputModel, ...]
    conversions: tuple[InputConversion, ...]


def _raw_name(prop: Any) -> str:
    name = prop.name
    return str(name.get_untrusted_value() if hasattr(name, "get_untrusted_value") else name)


def _literal(values: Iterable[Any]) -> str:
    return f"_typing.Literal[{', '.join(repr(value) for value in values)}]"


def _plain_key(key: str) -> bool:
    return key.isidentifier() and not keyword.iskeyword(key) and not key.startswith("__")


class InputsBuilder:
    """Collects the ``TypedDict`` and check structure of every object schema a body reaches."""

    def __init__(self, package_name: str) -> None:
        self._package = package_name
        self._models: dict[str, InputModel | None] = {}  # None while being built
        self._unsupported: set[str] = set()  # models with no plain form (a file inside)
        self.conversions: list[InputConversion] = []

    def _model_module(self, prop: Any) -> str:
        return f"{self._package}.models.{prop.class_info.module_name}"

    def body(self, operation_id: str, prop: Any) -> str | None:
        """The ``TypedDict`` a body may be given as (None: the model only), registered."""
        if not isinstance(prop, ModelProperty) or str(prop.class_info.name) in self._unsupported:
            return None
        before = dict(self._models)
        try:
            param_type, _kind = self._model(prop)
        except UnsupportedInput:
            # Forget every model begun for this body: one may refer to the unsupported one.
            self._models = before
            self._unsupported.add(str(prop.class_info.name))
            return None
        model = self._models[str(prop.class_info.name)]
        if model is None or param_type != model.param_class:
            return None  # a free-form object: the model only
        self.conversions.append(
            InputConversion(
                operation_id=operation_id,
                argument="body",
                kind="body",
                module=self._model_module(prop),
                name=str(prop.class_info.name),
                check=model.check_class,
            )
        )
        return model.param_class

    def enum_parameter(self, operation_id: str, argument: str, prop: Any) -> str | None:
        """The values an enum parameter may also be given as (a ``Literal``), registered."""
        kind = "enum"
        inner = prop
        if isinstance(prop, ListProperty):
            kind, inner = "enum_list", prop.inner_property
        if not isinstance(inner, EnumProperty):
            return None
        self.conversions.append(
            InputConversion(
                operation_id=operation_id,
                argument=argument,
                kind=kind,
                module=self._model_module(inner),
                name=str(inner.class_info.name),
                check="",
            )
        )
        return _literal(inner.values.values()).replace("_typing.", "typing.")

    def _model(self, prop: ModelProperty) -> tuple[str, str]:
        name = str(prop.class_info.name)
        if name in self._models:  # done, or being built (a schema that contains itself)
            model = self._models[name]
            return (model.param_class if model else f"{name}Param"), _OBJECT
        additional = getattr(prop.data, "additionalProperties", None)
        properties = [*(prop.required_properties or []), *(prop.optional_properties or [])]
        if not properties:
            return "_abc.Mapping[str, _typing.Any]", _OBJECT
        self._models[name] = None  # a schema that refers to itself finds its name
        fields = tuple(
            self._field(field, required=required)
            for required, group in (
                (True, prop.required_properties),
                (False, prop.optional_properties),
            )
            for field in group or []
        )
        raw_description = prop.data.description or ""
        description = str(
            raw_description.get_untrusted_value()
            if hasattr(raw_description, "get_untrusted_value")
            else raw_description
        )
        self._models[name] = InputModel(
            model_class=name,
            param_class=f"{name}Param",
            check_class=f"_{name}Check",
            description=" ".join(description.split()),
            fields=fields,
            closed=additional in (None, False),
            class_syntax=all(_plain_key(field.key) for field in fields),
        )
        return f"{name}Param", _OBJECT

    def _field(self, prop: Any, *, required: bool) -> InputField:
        param_type, check_type, _kind = self._types(prop)
        return InputField(
            key=_raw_name(prop),
            python_name=str(prop.python_name),
            required=required,
            param_type=param_type,
            check_type=check_type,
        )

    def _types(self, prop: Any) -> tuple[str, str, str]:  # noqa: PLR0911 - one per property class
        """(TypedDict annotation, check annotation, JSON type) of a property."""
        if isinstance(prop, ModelProperty):
            param_type, kind = self._model(prop)
            if param_type.startswith("_abc."):  # a free-form object
                return param_type, "dict[str, _typing.Any]", kind
            return param_type, f"_{prop.class_info.name}Check", kind
        if isinstance(prop, ListProperty):
            param_type, check_type, _kind = self._types(prop.inner_property)
            return f"_abc.Sequence[{param_type}]", f"list[{check_type}]", _ARRAY
        if isinstance(prop, UnionProperty):
            members = [self._types(inner) for inner in prop.inner_properties]
            param_type = " | ".join(dict.fromkeys(member[0] for member in members))
            kinds = [member[2] for member in members]
            if _ANY in kinds or len(set(kinds)) < len(kinds):
                return param_type, "_typing.Any", _ANY
            return param_type, " | ".join(member[1] for member in members), _ANY
        if isinstance(prop, EnumProperty):
            values = list(prop.values.values())
            kind = _STRING if prop.value_type is str else _NUMBER
            return (
                f"_models.{prop.class_info.name} | {_literal(values)}",
                "str" if prop.value_type is str else "int",
                kind,
            )
        if isinstance(prop, LiteralEnumProperty):
            values = sorted(prop.values, key=repr)
            return _literal(values), _literal(values), _STRING
        if isinstance(prop, ConstProperty):
            literal = _literal([prop.value.raw_value])
            return literal, literal, _STRING if isinstance(prop.value.raw_value, str) else _ANY
        simple: dict[type, tuple[str, str, str]] = {
            StringProperty: ("str", "str", _STRING),
            DateTimeProperty: ("_datetime.datetime | str", "_datetime.datetime", _STRING),
            DateProperty: ("_datetime.date | str", "_datetime.date", _STRING),
            UuidProperty: ("_uuid.UUID | str", "_uuid.UUID", _STRING),
            IntProperty: ("int", "int", _NUMBER),
            FloatProperty: ("float", "float", _NUMBER),
            BooleanProperty: ("bool", "bool", _BOOLEAN),
            NoneProperty: ("None", "None", _NULL),
            AnyProperty: ("_typing.Any", "_typing.Any", _ANY),
        }
        for prop_class, types in simple.items():
            if isinstance(prop, prop_class):
                return types
        raise UnsupportedInput(type(prop).__name__)

    def build(self) -> Inputs:
        """The collected models (in the order found) and conversions."""
        return Inputs(
            models=tuple(model for model in self._models.values() if model is not None),
            conversions=tuple(self.conversions),
        )
