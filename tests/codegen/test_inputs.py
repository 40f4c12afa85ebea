"""Plain inputs (codegen/inputs.py, templates/inputs.py.jinja): TypedDicts, checks, conversions."""

from __future__ import annotations

import importlib
import inspect
import typing
from pathlib import Path
from types import ModuleType

import msgspec
import pytest
import yaml

from codegen.facade import FacadeMethod, FacadeOperation, FacadeResource, _shield_builtins
from codegen.generator import build_package

MINI_SPEC = Path(__file__).parent / "fixtures" / "mini.openapi.yaml"


def _bodies(package: ModuleType) -> list[tuple[str, typing.Any]]:
    return [
        (operation_id, conversion)
        for operation_id, conversions in package.inputs.CONVERSIONS.items()
        for conversion in conversions.values()
        if conversion.kind == "body"
    ]


def test_each_body_typed_dict_has_the_models_keys(real_client: ModuleType) -> None:
    """A body's TypedDict, its check structure and its model name the same keys."""
    inputs = importlib.import_module("real_client.inputs")
    bodies = _bodies(real_client)
    assert len(bodies) >= 30  # every object body of the contract
    for operation_id, conversion in bodies:
        typed_dict = getattr(inputs, f"{conversion.name}Param")
        # The annotations are strings (postponed), so __required_keys__ can not tell:
        # NotRequired[...] is read from the annotation's text.
        annotations = {key: str(value) for key, value in typed_dict.__annotations__.items()}
        keys = set(annotations)
        optional = {key for key, text in annotations.items() if "NotRequired[" in text}
        fields = msgspec.structs.fields(conversion.check)
        encoded = {field.encode_name for field in fields}
        required = {field.encode_name for field in fields if field.required}
        assert keys == encoded, operation_id
        assert keys - optional == required, operation_id
        model = getattr(importlib.import_module(conversion.module), conversion.name)
        if issubclass(model, msgspec.Struct):  # the models are structs (typed decoding)
            required_by_model = {
                field.name for field in msgspec.structs.fields(model) if field.required
            }
        else:
            init = inspect.signature(model.__init__).parameters
            required_by_model = {
                name
                for name, parameter in init.items()
                if name != "self" and parameter.default is inspect.Parameter.empty
            }
        assert len(required_by_model) == len(required), operation_id


def test_every_check_structure_resolves_its_types(real_client: ModuleType) -> None:
    """msgspec can build a decoder for every check (no unresolvable or ambiguous union)."""
    for _operation_id, conversion in _bodies(real_client):
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert([], conversion.check)  # a list is never an object body


def test_conversions_match_the_operations_inputs(real_client: ModuleType) -> None:
    """Operation.inputs names exactly the arguments CONVERSIONS can convert."""
    from real_client.facade import OPERATIONS

    conversions = real_client.inputs.CONVERSIONS
    for operation_id, operation in OPERATIONS.items():
        assert set(operation.inputs) == set(conversions.get(operation_id, {})), operation_id
    assert set(OPERATIONS["listUsers"].inputs) == {"status"}
    assert OPERATIONS["createUser"].inputs == ("body",)
    assert OPERATIONS["getUser"].inputs == ()
    assert OPERATIONS["getUser"].unwrap


def test_every_method_takes_the_per_call_options(real_client: ModuleType) -> None:
    """Each method and its raw twin take the options keyword-only; extra_body with a body."""
    resources = real_client.facade.Resources(invoker=None)
    for attribute, resource in vars(resources).items():
        twin = resource.with_raw_response
        for name, method in inspect.getmembers(type(resource), inspect.isfunction):
            if name.startswith("_"):
                continue
            parameters = inspect.signature(method).parameters
            raw_parameters = inspect.signature(getattr(type(twin), name)).parameters
            assert list(parameters) == list(raw_parameters), f"{attribute}.{name}"
            options = {"extra_headers", "extra_query", "timeout"}
            assert options <= set(parameters), f"{attribute}.{name}"
            assert all(parameters[o].kind is inspect.Parameter.KEYWORD_ONLY for o in options)
            assert ("extra_body" in parameters) == ("body" in parameters), f"{attribute}.{name}"


def test_parameters_named_like_the_options_are_renamed(tmp_path: Path) -> None:
    """A query parameter called ``timeout`` becomes ``timeout_``: the option keeps its name."""
    document = yaml.safe_load(MINI_SPEC.read_text(encoding="utf-8"))
    get_user = document["paths"]["/api/v1/users/{user_id}"]["get"]
    get_user.setdefault("parameters", []).extend(
        [
            {"name": "timeout", "in": "query", "schema": {"type": "integer"}},
            {"name": "extra_headers", "in": "query", "schema": {"type": "string"}},
        ]
    )
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(document), encoding="utf-8")
    build_package(spec, tmp_path / "renamed_client")
    source = (tmp_path / "renamed_client" / "facade.py").read_text(encoding="utf-8")
    start = source.index("    async def get(")
    method = source[start : source.index("    async def ", start + 10)]
    assert "timeout_: int | Unset = UNSET" in method
    assert "extra_headers_: str | Unset = UNSET" in method
    assert "timeout=timeout_," in method
    assert "_request_options(extra_headers, extra_query, None, timeout)" in method


def _method(name: str, keyword_only: tuple[str, ...]) -> FacadeMethod:
    operation = FacadeOperation(
        operation_id="listThings",
        method="GET",
        path="/things",
        tag="things",
        module="pkg.api.things.list_things",
        paginated=True,
        idempotency_key=False,
        envelope=True,
        scopes=(),
        redirects=(),
        oauth_errors=False,
        inputs=("kind",),
        unwrap=False,
    )
    return FacadeMethod(
        name=name,
        operation=operation,
        summary="List things",
        description="",
        arguments=(),
        returns="",
        deprecation="",
        positional=(),
        keyword_only=keyword_only,
        passthrough=(("kind", "kind"),),
        is_async=False,
        return_annotation="PaginatorProtocol[list[Thing]]",
        response_annotation=None,
        unwrap=False,
        raw_return_annotation="RawResponseProtocol[PageProtocol[list[Thing]]]",
        has_body=False,
    )


def test_shadowed_builtins_are_shielded_outside_string_literals() -> None:
    """In a class with a ``list`` method, ``list[...]`` becomes ``builtins.list[...]`` but an
    enum value ``"list"`` in a ``Literal`` stays as it is."""
    declaration = 'kind: ThingKind | typing.Literal["list", "type", \'list\'] | Unset = UNSET'
    resource = FacadeResource(
        attribute="things",
        class_name="ThingsResource",
        tag="things",
        description="",
        methods=(_method("list", (declaration, "tags: list[str] | Unset = UNSET")),),
    )
    shielded = _shield_builtins(resource).methods[0]
    assert shielded.keyword_only == (
        declaration,
        "tags: builtins.list[str] | Unset = UNSET",
    )
    assert shielded.raw_return_annotation == (
        "RawResponseProtocol[PageProtocol[builtins.list[Thing]]]"
    )
