"""The facade: what ``intelliauth_client/facade.py`` contains, computed from the parsed spec.

See docs/design/facade.md for the contract with the hand-written runtime. This module turns
openapi-python-client's parsed endpoints (so that names and types match the generated endpoint
functions exactly) plus the raw document (tags, descriptions, security scopes, deprecations)
into plain values that ``templates/facade.py.jinja`` renders.

Generated endpoints are matched to the spec's operations by `operation_key` (method and path
with its parameters blanked), because the generator renames path parameters (``{userId}``
becomes ``{user_id}``). The facade's imports are those its annotations and defaults need,
whatever module they come from; names it must not take from a schema are found in the
generated modules themselves (``codegen/shadowing.py``), not listed here.
"""

from __future__ import annotations

import ast
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

from codegen.deprecations import operation_message
from codegen.inputs import Inputs, InputsBuilder
from codegen.naming import method_name
from codegen.spec import RawOperation, SpecError, iter_operations, operation_key, resolve

#: The schema of an RFC 6749 section 5.2 error body; operations whose 4xx answers are
#: one get ``Operation.oauth_errors`` (the runtime then raises ``OAuthError``).
OAUTH_ERROR_SCHEMA = "#/components/schemas/OAuthError"
#: Builtin types that a facade method may shadow inside its class (``users.list``), so that
#: annotations in the facade spell them ``builtins.list[...]``.
_SHADOWABLE_BUILTINS = ("list", "dict", "set", "type", "str", "int", "float", "bool", "bytes")
#: The per-call options every facade method takes (docs/design/facade.md).
_OPTIONS = ("extra_headers", "extra_query", "extra_body", "timeout")
#: Parameter names a facade method cannot take as they are: its own ``self``, the locals
#: ``response`` and ``options`` of templates/facade.py.jinja, and the per-call options. The
#: method takes ``self_`` and passes it on as ``self=``.
_METHOD_RESERVED = frozenset({"self", "response", "options", *_OPTIONS})
#: The attribute of every resource class that holds its raw-response twin.
RAW_RESPONSE_ATTRIBUTE = "with_raw_response"
#: The per-call options' declarations and Args: lines (``extra_body`` only with a body).
_OPTION_DECLARATIONS = {
    "extra_headers": "extra_headers: collections.abc.Mapping[str, str] | None = None",
    "extra_query": "extra_query: collections.abc.Mapping[str, object] | None = None",
    "extra_body": "extra_body: collections.abc.Mapping[str, object] | None = None",
    "timeout": "timeout: float | httpx.Timeout | None | Unset = UNSET",
}
_OPTION_DOCS = {
    "extra_headers": "Headers for this call only, over the client's (never ``Authorization``).",
    "extra_query": "Query parameters added to this call's.",
    "extra_body": "Fields added to this call's body object.",
    "timeout": "This call's timeout: seconds, an ``httpx.Timeout``, or None for no limit.",
}


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
    inputs: tuple[str, ...]  # endpoint keywords given maybe as a mapping or an enum's value
    unwrap: bool  # the method returns the envelope's data


@attrs.frozen
class FacadeMethod:
    """One method of a resource class."""

    name: str
    operation: FacadeOperation
    summary: str
    description: str  # the operation's description, "" if none (or the same as the summary)
    arguments: tuple[tuple[str, str], ...]  # (parameter, description) for the Args: section
    returns: str  # the Returns: section's text, "" for None
    deprecation: str  # the DeprecationWarning message, "" when not deprecated
    positional: tuple[str, ...]  # declarations, e.g. "user_id: str"
    keyword_only: tuple[str, ...]
    passthrough: tuple[tuple[str, str], ...]  # (endpoint keyword, local name), minus client
    is_async: bool  # False for paginated operations (they return a PaginatorProtocol)
    return_annotation: str
    response_annotation: str | None  # the invoker result's type; None when it returns nothing
    unwrap: bool  # return response.data
    raw_return_annotation: str  # what with_raw_response's twin returns
    has_body: bool  # takes extra_body


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
    inputs: Inputs


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


def _text(value: Any) -> str:
    """A description from the spec as plain text ("" for anything else)."""
    return " ".join(value.split()) if isinstance(value, str) else ""


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".!?:" else text + "."


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
    """The facade's imports: what its annotations and defaults use, from wherever it comes.

    openapi-python-client tells, for each property, the import lines its type needs (a
    model, ``File`` from ``.types``, ``datetime``); they are merged here and split between
    the module's runtime imports (a name used in a default value is needed when the method
    is defined) and its ``TYPE_CHECKING`` block. ruff removes what the facade ends up not
    using.
    """

    #: What the template imports itself, at runtime.
    _TEMPLATE_IMPORTS = frozenset({(".types", "UNSET"), (".types", "Unset")})

    def __init__(self) -> None:
        self._names: set[tuple[str, str]] = set()  # (module, name); name "" for `import x`
        self.defaults: list[str] = []

    def add(self, props: Iterable[Any]) -> None:
        for prop in props:
            for line in {*prop.get_imports(prefix="."), *prop.get_lazy_imports(prefix=".")}:
                for statement in ast.parse(line).body:
                    if isinstance(statement, ast.ImportFrom):
                        module = "." * statement.level + (statement.module or "")
                        self._names.update((module, alias.name) for alias in statement.names)
                    elif isinstance(statement, ast.Import):
                        self._names.update((alias.name, "") for alias in statement.names)

    def _used_at_runtime(self, module: str, name: str) -> bool:
        bound = name or module.split(".")[0]
        return any(
            re.search(rf"(?<![\w.]){re.escape(bound)}\b", default) for default in self.defaults
        )

    def split(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(runtime import lines, ``TYPE_CHECKING`` import lines), sorted."""
        runtime: dict[str, list[str]] = {}
        type_checking: dict[str, list[str]] = {}
        for module, name in sorted(self._names - self._TEMPLATE_IMPORTS):
            group = runtime if self._used_at_runtime(module, name) else type_checking
            group.setdefault(module, []).append(name)

        def lines(groups: Mapping[str, list[str]]) -> tuple[str, ...]:
            rendered: list[str] = []
            for module, names in groups.items():
                if "" in names:
                    rendered.append(f"import {module}")
                if [name for name in names if name]:
                    rendered.append(f"from {module} import {', '.join(n for n in names if n)}")
            return tuple(sorted(rendered))

        return lines(runtime), lines(type_checking)


def _declaration(prop: Any, imports: _Imports, local: str) -> str:
    declaration = str(prop.to_string().as_unembedded_code())
    if local != prop.python_name:
        declaration = local + declaration[len(str(prop.python_name)) :]
    if "=" in declaration:
        imports.defaults.append(declaration.split("=", 1)[1])
    return declaration


def _widen(declaration: str, class_name: str, alternative: str) -> str:
    """``declaration`` with ``class_name`` in its annotation also accepting ``alternative``."""
    name, rest = declaration.split(":", 1)
    annotation, equals, default = rest.partition("=")
    widened = re.sub(
        rf"(?<![\w.]){re.escape(class_name)}\b",
        lambda _match: f"{class_name} | {alternative}",
        annotation,
        count=1,
    )
    return f"{name}:{widened}{equals}{default}"


def _local_name(python_name: str) -> str:
    return f"{python_name}_" if python_name in _METHOD_RESERVED else python_name


def _success_responses(endpoint: Endpoint) -> list[Any]:
    return [
        response
        for response in endpoint.responses.patterns
        if response.status_code.range is not None and 200 <= response.status_code.range[0] <= 299
    ]


def _raw_response(
    raw: RawOperation, response: Any, document: Mapping[str, Any]
) -> Mapping[str, Any]:
    responses: Mapping[Any, Any] = raw.operation.get("responses") or {}
    pattern = response.status_code.pattern
    found = resolve(document, responses.get(pattern) or {})
    return found if isinstance(found, Mapping) else {}


def _has_body(raw: RawOperation, response: Any, document: Mapping[str, Any]) -> bool:
    """Whether a response documents a body (a 204 parses to None)."""
    return bool(_raw_response(raw, response, document).get("content"))


def _schema_description(document: Mapping[str, Any], schema: Any) -> str:
    return _text((resolve(document, schema) or {}).get("description")) if schema else ""


def _parameter_docs(
    raw: RawOperation, document: Mapping[str, Any], location: str, props: Sequence[Any]
) -> list[tuple[str, str]]:
    """(local name, description) of each parameter: its description, else its schema's."""
    raw_parameters = {
        (parameter["in"], parameter["name"]): parameter for parameter in raw.parameters(document)
    }
    docs: list[tuple[str, str]] = []
    for prop in props:
        parameter = raw_parameters.get((location, _raw_name(prop)), {})
        description = _text(parameter.get("description")) or _schema_description(
            document, parameter.get("schema")
        )
        if parameter.get("deprecated") is True:
            description = _sentence(description) + " Deprecated by the contract."
        docs.append(
            (
                _local_name(str(prop.python_name)),
                _sentence(description or f"The ``{_raw_name(prop)}`` {location} parameter."),
            )
        )
    return docs


def _body_doc(raw: RawOperation, document: Mapping[str, Any], body_type: str) -> str:
    request_body = resolve(document, raw.operation.get("requestBody") or {})
    description = _text(request_body.get("description"))
    if not description:
        for media in (request_body.get("content") or {}).values():
            if isinstance(media, Mapping):
                description = _schema_description(document, media.get("schema"))
                if description:
                    break
    return _sentence(description or f"The request body (``{body_type}``).")


def _build_method(
    endpoint: Endpoint,
    raw: RawOperation,
    document: Mapping[str, Any],
    tag: str,
    package_name: str,
    config: Config,
    imports: _Imports,
    inputs: InputsBuilder,
) -> FacadeMethod:
    operation_id = raw.operation_id
    raw_parameters = raw.parameters(document)
    header_names = {p["name"].lower() for p in raw_parameters if p["in"] == "header"}
    query_names = {p["name"] for p in raw_parameters if p["in"] == "query"}

    path_parameters = sorted(
        endpoint.path_parameters,
        key=lambda prop: raw.path.find("{" + _raw_name(prop) + "}"),
    )
    positional = [
        _accepting_values(
            _declaration(prop, imports, _local_name(str(prop.python_name))),
            prop,
            operation_id,
            inputs,
        )
        for prop in path_parameters
    ]
    arguments = _parameter_docs(raw, document, "path", path_parameters)
    imports.add(path_parameters)
    passthrough = [
        (str(prop.python_name), _local_name(str(prop.python_name)))
        for prop in endpoint.path_parameters
    ]
    if endpoint.bodies:
        body_props = [body.prop for body in endpoint.bodies]
        imports.add(body_props)
        if len(body_props) == 1:
            body_type = _type(body_props[0])
            declaration = f"body: {body_type}" + ("" if body_props[0].required else " = UNSET")
            param_class = inputs.body(operation_id, body_props[0])
            if param_class is not None:
                declaration = _widen(
                    declaration, str(body_props[0].class_info.name), f"_inputs.{param_class}"
                )
            positional.append(declaration)
        else:
            body_type = " | ".join(sorted({_type(prop, no_optional=True) for prop in body_props}))
            required = all(prop.required for prop in body_props)
            positional.append(f"body: {body_type}" + ("" if required else " | Unset = UNSET"))
        arguments.append(("body", _body_doc(raw, document, body_type.removesuffix(" | Unset"))))
        passthrough.append(("body", "body"))
    keyword_props = [
        *endpoint.query_parameters,
        *endpoint.header_parameters,
        *endpoint.cookie_parameters,
    ]
    imports.add(keyword_props)
    keyword_only = [
        _accepting_values(
            _declaration(prop, imports, _local_name(str(prop.python_name))),
            prop,
            operation_id,
            inputs,
        )
        for prop in keyword_props
    ]
    has_body = bool(endpoint.bodies)
    options = [option for option in _OPTIONS if has_body or option != "extra_body"]
    keyword_only += [_OPTION_DECLARATIONS[option] for option in options]
    arguments += _parameter_docs(raw, document, "query", endpoint.query_parameters)
    arguments += _parameter_docs(raw, document, "header", endpoint.header_parameters)
    arguments += _parameter_docs(raw, document, "cookie", endpoint.cookie_parameters)
    arguments += [(option, _OPTION_DOCS[option]) for option in options]
    passthrough += [
        (str(prop.python_name), _local_name(str(prop.python_name))) for prop in keyword_props
    ]

    successes = _success_responses(endpoint)
    success_props = [response.prop for response in successes if _has_body(raw, response, document)]
    bodiless = len(success_props) < len(successes)
    imports.add(success_props)
    data_props: list[Any] = []
    meta_props: list[Any] = []
    for prop in success_props:
        fields = _properties(prop) if isinstance(prop, ModelProperty) else {}
        if "data" in fields and "meta" in fields:
            data_props.append(fields["data"])
            meta_props.append(fields["meta"])
    envelope = bool(success_props) and len(data_props) == len(success_props) and not bodiless
    list_envelope = envelope and all(isinstance(prop, ListProperty) for prop in data_props)
    # A page's next cursor is the envelope's meta.next_cursor (docs/design/facade.md); `limit`
    # is optional. A list that takes a cursor but documents no next_cursor is returned whole,
    # envelope and all, so that whatever the server sends to continue is not dropped.
    cursor_meta = all(
        isinstance(meta, ModelProperty) and "next_cursor" in _properties(meta)
        for meta in meta_props
    )
    paginated = list_envelope and "cursor" in query_names and cursor_meta
    unwrap = envelope and not paginated and not (list_envelope and "cursor" in query_names)
    imports.add(data_props)

    response_types = sorted({_type(prop) for prop in success_props} - {"None"})
    if response_types and (bodiless or any(_type(prop) == "None" for prop in success_props)):
        response_types.append("None")
    response_annotation = " | ".join(response_types) or None
    if paginated:
        items = sorted({_type(prop.inner_property) for prop in data_props})
        return_annotation = f"PaginatorProtocol[{' | '.join(items)}]"
        raw_return_annotation = f"RawResponseProtocol[PageProtocol[{' | '.join(items)}]]"
    else:
        if unwrap:
            return_annotation = " | ".join(sorted({_type(prop) for prop in data_props}))
        else:
            return_annotation = response_annotation or "None"
        raw_return_annotation = f"RawResponseProtocol[{return_annotation}]"
    operation_inputs = tuple(
        conversion.argument
        for conversion in inputs.conversions
        if conversion.operation_id == operation_id
    )

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
        inputs=operation_inputs,
        unwrap=unwrap,
    )
    try:
        name = method_name(operation_id, tag)
    except SpecError as error:
        raise SpecError(error.problem, location=raw.location, fix=error.fix) from error
    summary = _text(raw.operation.get("summary")) or operation_id
    description = _text(raw.operation.get("description"))
    returns = [
        _sentence(_text(_raw_response(raw, response, document).get("description")))
        for response in successes
        if _has_body(raw, response, document)
    ]
    if paginated:
        returns_text = (
            "A paginator: ``await`` it for the first page, ``async for`` over every item."
        )
    else:
        returns_text = " ".join(dict.fromkeys(text for text in returns if text))
    return FacadeMethod(
        name=name,
        operation=operation,
        summary=summary.rstrip("."),
        description="" if description.rstrip(".") == summary.rstrip(".") else description,
        arguments=tuple(arguments),
        returns=returns_text if return_annotation != "None" else "",
        deprecation=operation_message(f"{tag}.{name}", raw.location) if raw.deprecated else "",
        positional=tuple(positional),
        keyword_only=tuple(keyword_only),
        passthrough=tuple(passthrough),
        is_async=not paginated,
        return_annotation=return_annotation,
        response_annotation=response_annotation,
        unwrap=unwrap,
        raw_return_annotation=raw_return_annotation,
        has_body=has_body,
    )


def _accepting_values(declaration: str, prop: Any, operation_id: str, inputs: InputsBuilder) -> str:
    """An enum parameter's declaration, widened to accept the enum's values as strings."""
    literal = inputs.enum_parameter(operation_id, str(prop.python_name), prop)
    if literal is None:
        return declaration
    inner = prop.inner_property if isinstance(prop, ListProperty) else prop
    return _widen(declaration, str(inner.class_info.name), literal)


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
    return tuple(
        sorted(
            int(status) for status in map(str, responses) if status[:1] == "3" and status.isdigit()
        )
    )


def _shield_builtins(resource: FacadeResource) -> FacadeResource:
    """Spell builtins shadowed by a method of the class as ``builtins.x`` in its annotations."""
    shadowed = [
        name for name in _SHADOWABLE_BUILTINS if any(m.name == name for m in resource.methods)
    ]
    if not shadowed:
        return resource
    pattern = re.compile(rf"(?<![\w.])({'|'.join(shadowed)})\b")

    def shield_code(code: str) -> str:
        # String literals (an enum's values in a Literal) are left alone.
        parts = re.split(r"(\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')", code)
        return "".join(
            part if index % 2 else pattern.sub(r"builtins.\1", part)
            for index, part in enumerate(parts)
        )

    def shield(code: str) -> str:
        if ":" in code:  # a declaration: leave the parameter name alone
            name, rest = code.split(":", 1)
            return name + ":" + shield_code(rest)
        return shield_code(code)

    methods = tuple(
        attrs.evolve(
            method,
            positional=tuple(shield(code) for code in method.positional),
            keyword_only=tuple(shield(code) for code in method.keyword_only),
            return_annotation=shield(method.return_annotation),
            raw_return_annotation=shield(method.raw_return_annotation),
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
        SpecError: On two operations with the same method name in one resource, or an
            operationId that makes no method name.
    """
    package_name = config.package_name_override or "intelliauth_client"
    raw_by_key = {operation_key(raw.method, raw.path): raw for raw in iter_operations(document)}
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

    imports = _Imports()
    inputs = InputsBuilder(package_name)
    operations: list[FacadeOperation] = []
    resources: list[FacadeResource] = []
    for tag, collection in collections:
        methods: list[FacadeMethod] = []
        for endpoint in collection.endpoints:
            raw = raw_by_key[operation_key(endpoint.method, endpoint.path.get_untrusted_value())]
            method = _build_method(
                endpoint, raw, document, str(tag), package_name, config, imports, inputs
            )
            if method.name == RAW_RESPONSE_ATTRIBUTE:
                raise SpecError(
                    f"operation {method.operation.operation_id!r} becomes {tag}.{method.name}, "
                    "the attribute that holds the resource's raw-response methods",
                    location=raw.location,
                    fix="rename the operationId",
                )
            clash = next((m for m in methods if m.name == method.name), None)
            if clash is not None:
                raise SpecError(
                    f"operations {clash.operation.operation_id!r} and "
                    f"{method.operation.operation_id!r} both become {tag}.{method.name}",
                    location=f"{clash.operation.method} {clash.operation.path} and {raw.location}",
                    fix="rename one operationId",
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
        inputs=inputs.build(),
    )


def operation_ids(facade: Facade) -> Sequence[str]:
    """Every operationId the facade covers, in document order."""
    return [operation.operation_id for operation in facade.operations]
