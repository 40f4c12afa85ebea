"""The facade: what ``intelliauth_client/facade.py`` contains, computed from the parsed spec.

See docs/design/facade.md for the contract with the hand-written runtime. This module turns
openapi-python-client's parsed endpoints (so that names and types match the generated endpoint
functions exactly) plus the raw document (tags, security scopes) into plain values that
``templates/facade.py.jinja`` renders.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
from openapi_python_client.config import Config
from openapi_python_client.parser import GeneratorData
from openapi_python_client.parser.openapi import Endpoint
from openapi_python_client.parser.properties import ModelProperty, Property
from openapi_python_client.parser.properties.list_property import ListProperty
from openapi_python_client.strings import PythonIdentifier, pascal_case

from codegen.naming import method_name
from codegen.spec import RawOperation, SpecError, iter_operations, resolve

#: Names the facade module defines itself; a model class with one of these names would clash
#: with its TYPE_CHECKING import.
FACADE_NAMES = frozenset(
    {
        "Any",
        "Operation",
        "OPERATIONS",
        "Invoker",
        "PageProtocol",
        "PaginatorProtocol",
        "Resources",
        "T_co",
    }
)
#: The schema of an RFC 6749 section 5.2 error body; operations whose 4xx answers are
#: one get ``Operation.oauth_errors`` (the runtime then raises ``OAuthError``).
OAUTH_ERROR_SCHEMA = "#/components/schemas/OAuthError"
#: Builtin types that a facade method may shadow inside its class (``users.list``), so that
#: annotations in the facade spell them ``builtins.list[...]``.
_SHADOWABLE_BUILTINS = ("list", "dict", "set", "type", "str", "int", "float", "bool", "bytes")


@attrs.frozen
class FacadeOperation:
    """One entry of ``OPERATIONS`` (the generated ``Operation``'s fields)."""

    operation_id: str
    method: str
    path: str
    tag: str
    module: str
    paginated: bool
    idempotency_key: bool
    envelope: bool
    scopes: tuple[str, ...]
    redirects: tuple[int, ...]  # documented 3xx answers, which are results, not errors
    oauth_errors: bool  # its 4xx bodies are RFC 6749 OAuthError objects (see _oauth_errors)


@attrs.frozen
class FacadeMethod:
    """One method of a resource class."""

    name: str
    operation: FacadeOperation
    summary: str
    positional: tuple[str, ...]  # declarations, e.g. "user_id: str"
    keyword_only: tuple[str, ...]
    passthrough: tuple[str, ...]  # the endpoint function's keyword arguments, minus client
    is_async: bool  # False for paginated operations (they return a PaginatorProtocol)
    return_annotation: str
    response_annotation: str | None  # the invoker result's type; None when it returns nothing
    unwrap: bool  # return response.data


@attrs.frozen
class FacadeResource:
    """One class per tag."""

    attribute: str
    class_name: str
    tag: str
    description: str
    methods: tuple[FacadeMethod, ...]


@attrs.frozen
class Facade:
    """Everything the facade template renders."""

    package_name: str
    runtime_imports: tuple[str, ...]
    type_checking_imports: tuple[str, ...]
    operations: tuple[FacadeOperation, ...]
    resources: tuple[FacadeResource, ...]


def _type(prop: Any, **kwargs: bool) -> str:
    return str(prop.get_type_string(**kwargs).as_unembedded_code())


def _raw_name(prop: Any) -> str:
    name = prop.name
    return str(name.get_untrusted_value() if hasattr(name, "get_untrusted_value") else name)


def _properties(model: ModelProperty) -> dict[str, Property]:
    return {
        _raw_name(prop): prop
        for prop in [*(model.required_properties or []), *(model.optional_properties or [])]
    }


def _scopes(raw: RawOperation, document: Mapping[str, Any]) -> tuple[str, ...]:
    schemes: Mapping[str, Any] = (document.get("components") or {}).get("securitySchemes") or {}
    requirements = raw.operation.get("security", document.get("security") or [])
    scopes: list[str] = []
    for requirement in requirements:
        for scheme_name, scheme_scopes in requirement.items():
            if (schemes.get(scheme_name) or {}).get("type") in {"oauth2", "openIdConnect"}:
                scopes += [scope for scope in scheme_scopes if scope not in scopes]
    return tuple(scopes)


class _Imports:
    """Collects import lines from openapi-python-client properties, for the facade's use."""

    def __init__(self) -> None:
        self.lines: set[str] = set()
        self.defaults: list[str] = []

    def add(self, props: Iterable[Any]) -> None:
        for prop in props:
            self.lines.update(prop.get_imports(prefix="."))
            self.lines.update(prop.get_lazy_imports(prefix="."))

    def split(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(runtime imports, TYPE_CHECKING imports): a name used in a default loads at runtime."""
        runtime: set[str] = set()
        type_checking: set[str] = set()
        for line in self.lines:
            if line.startswith("from .types import") or line == "from typing import cast":
                continue  # the template imports UNSET and Unset itself
            names = re.split(r"[ ,]+", line.split(" import ", 1)[1]) if " import " in line else []
            if line.startswith("import "):
                names = [line.removeprefix("import ").split(".")[0]]
            used_at_runtime = any(
                re.search(rf"(?<![\w.]){re.escape(name)}\b", default)
                for name in names
                for default in self.defaults
            )
            (runtime if used_at_runtime else type_checking).add(line)
        return tuple(sorted(runtime)), tuple(sorted(type_checking))


def _declaration(prop: Any, imports: _Imports) -> str:
    declaration = str(prop.to_string().as_unembedded_code())
    if "=" in declaration:
        imports.defaults.append(declaration.split("=", 1)[1])
    return declaration


def _success_responses(endpoint: Endpoint) -> list[Any]:
    return [
        response
        for response in endpoint.responses.patterns
        if response.status_code.range is not None and 200 <= response.status_code.range[0] <= 299
    ]


def _has_body(raw: RawOperation, response: Any, document: Mapping[str, Any]) -> bool:
    """Whether a response documents a body (a 204 parses to None)."""
    responses: Mapping[Any, Any] = raw.operation.get("responses") or {}
    pattern = response.status_code.pattern
    raw_response = responses.get(
        pattern, responses.get(int(pattern) if pattern.isdigit() else pattern)
    )
    return bool(resolve(document, raw_response or {}).get("content"))


def _build_method(
    endpoint: Endpoint,
    raw: RawOperation,
    document: Mapping[str, Any],
    tag: str,
    package_name: str,
    config: Config,
    imports: _Imports,
) -> FacadeMethod:
    operation_id = raw.operation_id
    raw_parameters = raw.parameters(document)
    header_names = {p["name"].lower() for p in raw_parameters if p["in"] == "header"}
    query_names = {p["name"] for p in raw_parameters if p["in"] == "query"}

    path_parameters = sorted(
        endpoint.path_parameters,
        key=lambda prop: raw.path.find("{" + _raw_name(prop) + "}"),
    )
    positional = [_declaration(prop, imports) for prop in path_parameters]
    imports.add(path_parameters)
    passthrough = [str(prop.python_name) for prop in endpoint.path_parameters]
    if endpoint.bodies:
        body_props = [body.prop for body in endpoint.bodies]
        imports.add(body_props)
        if len(body_props) == 1:
            positional.append(
                f"body: {_type(body_props[0])}" + ("" if body_props[0].required else " = UNSET")
            )
        else:
            union = " | ".join(sorted({_type(prop, no_optional=True) for prop in body_props}))
            required = all(prop.required for prop in body_props)
            positional.append(f"body: {union}" + ("" if required else " | Unset = UNSET"))
        passthrough.append("body")
    keyword_props = [
        *endpoint.query_parameters,
        *endpoint.header_parameters,
        *endpoint.cookie_parameters,
    ]
    imports.add(keyword_props)
    keyword_only = [_declaration(prop, imports) for prop in keyword_props]
    passthrough += [str(prop.python_name) for prop in keyword_props]

    successes = _success_responses(endpoint)
    success_props = [response.prop for response in successes if _has_body(raw, response, document)]
    bodiless = len(success_props) < len(successes)
    imports.add(success_props)
    data_props: list[Any] = []
    for prop in success_props:
        fields = _properties(prop) if isinstance(prop, ModelProperty) else {}
        if "data" in fields and "meta" in fields:
            data_props.append(fields["data"])
    envelope = bool(success_props) and len(data_props) == len(success_props) and not bodiless
    paginated = (
        envelope
        and {"cursor", "limit"} <= query_names
        and all(isinstance(prop, ListProperty) for prop in data_props)
    )
    imports.add(data_props)

    response_types = sorted({_type(prop) for prop in success_props} - {"None"})
    if response_types and (bodiless or any(_type(prop) == "None" for prop in success_props)):
        response_types.append("None")
    response_annotation = " | ".join(response_types) or None
    if paginated:
        items = sorted({_type(prop.inner_property) for prop in data_props})
        return_annotation = f"PaginatorProtocol[{' | '.join(items)}]"
    elif envelope:
        return_annotation = " | ".join(sorted({_type(prop) for prop in data_props}))
    else:
        return_annotation = response_annotation or "None"

    operation = FacadeOperation(
        operation_id=operation_id,
        method=raw.method.upper(),
        path=raw.path,
        tag=tag,
        module=f"{package_name}.api.{tag}.{PythonIdentifier(endpoint.name, config.field_prefix)}",
        paginated=paginated,
        idempotency_key="idempotency-key" in header_names,
        envelope=envelope,
        scopes=_scopes(raw, document),
        redirects=_redirects(raw),
        oauth_errors=_oauth_errors(raw, document),
    )
    summary = raw.operation.get("summary") or operation_id
    return FacadeMethod(
        name=method_name(operation_id, tag),
        operation=operation,
        summary=str(summary).strip().splitlines()[0].rstrip("."),
        positional=tuple(positional),
        keyword_only=tuple(keyword_only),
        passthrough=tuple(passthrough),
        is_async=not paginated,
        return_annotation=return_annotation,
        response_annotation=response_annotation,
        unwrap=envelope and not paginated,
    )


def _oauth_errors(raw: RawOperation, document: Mapping[str, Any]) -> bool:
    """Whether the operation answers errors with RFC 6749 ``OAuthError`` bodies.

    True when it documents a 4xx other than 429 and every such 4xx response (a
    ``$ref`` under ``components/responses`` resolved) has an ``OAuthError`` body among its
    media types. A 429 does not count: rate limiting (RFC 6585) is not an RFC 6749 error,
    and the discovery and key-set endpoints document it with an ``OAuthError`` body while
    their other errors are plain HTTP statuses.
    """
    responses: Mapping[Any, Any] = raw.operation.get("responses") or {}
    client_errors = [
        resolve(document, response)
        for status, response in responses.items()
        if str(status)[:1] == "4" and str(status) != "429"
    ]
    return bool(client_errors) and all(
        any(
            isinstance(media, Mapping)
            and isinstance(media.get("schema"), Mapping)
            and media["schema"].get("$ref") == OAUTH_ERROR_SCHEMA
            for media in (response.get("content") or {}).values()
        )
        for response in client_errors
    )


def _redirects(raw: Any) -> tuple[int, ...]:
    """The 3xx statuses the operation documents (``authorize``'s 302 to the client)."""
    responses: Mapping[Any, Any] = raw.operation.get("responses") or {}
    return tuple(sorted(int(status) for status in map(str, responses) if status[:1] == "3"))


def _shield_builtins(resource: FacadeResource) -> FacadeResource:
    """Spell builtins shadowed by a method of the class as ``builtins.x`` in its annotations."""
    shadowed = [
        name for name in _SHADOWABLE_BUILTINS if any(m.name == name for m in resource.methods)
    ]
    if not shadowed:
        return resource
    pattern = re.compile(rf"(?<![\w.])({'|'.join(shadowed)})\b")

    def shield(code: str) -> str:
        if ":" in code:  # a declaration: leave the parameter name alone
            name, rest = code.split(":", 1)
            return name + ":" + pattern.sub(r"builtins.\1", rest)
        return pattern.sub(r"builtins.\1", code)

    methods = tuple(
        attrs.evolve(
            method,
            positional=tuple(shield(code) for code in method.positional),
            keyword_only=tuple(shield(code) for code in method.keyword_only),
            return_annotation=shield(method.return_annotation),
            response_annotation=(
                shield(method.response_annotation) if method.response_annotation else None
            ),
        )
        for method in resource.methods
    )
    return attrs.evolve(resource, methods=methods)


def build_facade(openapi: GeneratorData, document: Mapping[str, Any], config: Config) -> Facade:
    """Compute the facade of a parsed spec.

    Raises:
        SpecError: On two operations with the same method name in one resource, or a model
            whose class name clashes with a facade name.
    """
    package_name = config.package_name_override or "intelliauth_client"
    raw_by_key = {(raw.path, raw.method): raw for raw in iter_operations(document)}
    tag_descriptions = {
        str(PythonIdentifier(tag["name"], config.field_prefix)): str(tag.get("description") or "")
        for tag in document.get("tags") or []
        if isinstance(tag, Mapping) and "name" in tag
    }
    tag_order = list(tag_descriptions)
    collections = sorted(
        openapi.endpoint_collections_by_tag.items(),
        key=lambda item: tag_order.index(item[0]) if item[0] in tag_order else len(tag_order),
    )
    class_names = {f"{pascal_case(str(tag))}Resource" for tag, _ in collections}
    clashes = sorted(
        (FACADE_NAMES | class_names)
        & {str(model.class_info.name) for model in [*openapi.models, *openapi.enums]}
    )
    if clashes:
        raise SpecError(
            f"schema class names {clashes} clash with facade names; rename them with "
            "class_overrides in codegen/config.yaml"
        )

    imports = _Imports()
    operations: list[FacadeOperation] = []
    resources: list[FacadeResource] = []
    for tag, collection in collections:
        methods: list[FacadeMethod] = []
        for endpoint in collection.endpoints:
            raw = raw_by_key[(endpoint.path.get_untrusted_value(), endpoint.method.lower())]
            method = _build_method(endpoint, raw, document, str(tag), package_name, config, imports)
            clash = next((m for m in methods if m.name == method.name), None)
            if clash is not None:
                raise SpecError(
                    f"operations {clash.operation.operation_id!r} and {method.operation.operation_id!r} "
                    f"both become {tag}.{method.name}; rename one operationId"
                )
            methods.append(method)
            operations.append(method.operation)
        resource = FacadeResource(
            attribute=str(tag),
            class_name=f"{pascal_case(str(tag))}Resource",
            tag=str(tag),
            description=tag_descriptions.get(str(tag), ""),
            methods=tuple(methods),
        )
        resources.append(_shield_builtins(resource))
    runtime_imports, type_checking_imports = imports.split()
    return Facade(
        package_name=package_name,
        runtime_imports=runtime_imports,
        type_checking_imports=type_checking_imports,
        operations=tuple(operations),
        resources=tuple(resources),
    )


def operation_ids(facade: Facade) -> Sequence[str]:
    """Every operationId the facade covers, in document order."""
    return [operation.operation_id for operation in facade.operations]
