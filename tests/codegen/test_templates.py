"""The custom templates in codegen/templates, each against the stock behaviour it replaces."""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

USER = {
    "id": "usr_1",
    "email": "ada@example.com",
    "status": "active",
    "created_at": "2024-05-01T10:00:00+00:00",
}


# -- open enums (str_enum.py.jinja, int_enum.py.jinja) ----------------------------------


def test_unknown_enum_value_parses(mini_client: ModuleType) -> None:
    """An enum value the spec does not know yet parses instead of raising ValueError."""
    from mini_client.models.user_status import UserStatus

    status = UserStatus("on_hold")
    assert status == "on_hold"
    assert status.value == "on_hold"
    assert str(status) == "on_hold"
    assert isinstance(status, UserStatus)
    assert status not in list(UserStatus)


def test_known_enum_values_stay_members(mini_client: ModuleType) -> None:
    """Known values still give the (identical) members, and non-strings are still rejected."""
    from mini_client.models.user_status import UserStatus

    assert UserStatus("active") is UserStatus.ACTIVE
    with pytest.raises(ValueError, match="is not a valid UserStatus"):
        UserStatus(3)  # type: ignore[arg-type]


def test_unknown_enum_value_round_trips_through_a_model(mini_client: ModuleType) -> None:
    """A model holding an unknown enum value serializes it back unchanged."""
    from mini_client.models.user import User

    document = {**USER, "status": "on_hold"}
    assert User.from_dict(document).to_dict() == document


def test_unknown_enum_value_in_a_query_parameter(mini_client: ModuleType) -> None:
    """An unknown enum value can also be sent, e.g. as a query filter."""
    from mini_client.api.users import list_users
    from mini_client.models.user_status import UserStatus

    kwargs = list_users._get_kwargs(status=UserStatus("on_hold"))
    assert kwargs["params"]["status"] == "on_hold"


# -- unknown fields (model.py.jinja) ------------------------------------------------------


def test_unknown_fields_are_kept_on_an_open_schema(mini_client: ModuleType) -> None:
    """A schema without additionalProperties keeps unknown fields (stock behaviour, kept)."""
    from mini_client.models.group import Group

    group = Group.from_dict({"id": "grp_1", "name": "Admins", "colour": "red"})
    assert group.additional_properties == {"colour": "red"}
    assert group.to_dict() == {"id": "grp_1", "name": "Admins", "colour": "red"}


def test_unknown_fields_are_kept_on_a_closed_schema(mini_client: ModuleType) -> None:
    """`additionalProperties: false` no longer drops unknown fields (the stock template did)."""
    from mini_client.models.user import User

    document = {**USER, "department": "R&D", "tags": ["a"]}
    user = User.from_dict(document)
    assert user.additional_properties == {"department": "R&D", "tags": ["a"]}
    assert user["department"] == "R&D"
    assert user.to_dict() == document


def test_a_property_named_like_its_model(mini_client: ModuleType) -> None:
    """`Error.error` parses: the stock template's local variable named after the model clashed."""
    from mini_client.models.error import Error
    from mini_client.models.error_code import ErrorCode

    error = Error.from_dict({"error": "not_found", "message": "No.", "request_id": "req_1"})
    assert error.error is ErrorCode.NOT_FOUND
    assert isinstance(error, Error)


# -- discriminated unions (union_property.py.jinja) --------------------------------------

CONNECTIONS = {
    "data": [
        {"id": "fc_1", "name": "Corp OIDC", "protocol": "oidc", "issuer": "https://idp"},
        {"id": "fc_2", "name": "Corp SAML", "protocol": "saml", "metadata_url": "https://md"},
    ],
    "meta": {"next_cursor": None},
}


def test_oneof_dispatches_on_the_discriminator(mini_client: ModuleType) -> None:
    """A SAML connection parses as SamlConnection (the stock in-order parse made it OIDC)."""
    from mini_client.models.federation_connection_list import FederationConnectionList
    from mini_client.models.oidc_connection import OidcConnection
    from mini_client.models.saml_connection import SamlConnection

    page = FederationConnectionList.from_dict(CONNECTIONS)
    oidc, saml = page.data
    assert isinstance(oidc, OidcConnection)
    assert isinstance(saml, SamlConnection)
    assert saml.metadata_url == "https://md"
    assert saml.additional_properties == {}
    assert page.to_dict() == CONNECTIONS


def test_stock_in_order_parse_would_pick_the_wrong_variant(mini_client: ModuleType) -> None:
    """Why dispatch matters: the SAML payload also parses as the first variant, OIDC."""
    from mini_client.models.oidc_connection import OidcConnection

    wrong = OidcConnection.from_dict(CONNECTIONS["data"][1])
    assert wrong.additional_properties == {"metadata_url": "https://md"}


def test_unknown_discriminator_value_is_not_fatal(mini_client: ModuleType) -> None:
    """A variant a newer spec adds falls back to the in-order parse and round-trips."""
    from mini_client.models.federation_connection_list import FederationConnectionList

    document = {
        "data": [{"id": "fc_3", "name": "LDAP", "protocol": "ldap", "host": "ldap://x"}],
        "meta": {"next_cursor": None},
    }
    page = FederationConnectionList.from_dict(document)
    assert page.data[0].protocol == "ldap"
    assert page.to_dict() == document


# -- nullable references (oneOf [$ref, null]) ----------------------------------------------


def test_nullable_reference_as_oneof_with_null(mini_client: ModuleType) -> None:
    """`oneOf: [$ref, {type: null}]` gives `UserRef | None`, parsed both ways."""
    from mini_client.models.user import User
    from mini_client.models.user_ref import UserRef

    assert User.from_dict({**USER, "manager": None}).manager is None
    managed = User.from_dict({**USER, "manager": {"id": "usr_0"}})
    assert isinstance(managed.manager, UserRef)
    assert managed.to_dict()["manager"] == {"id": "usr_0"}


def test_nullable_reference_rejects_garbage(mini_client: ModuleType) -> None:
    """A malformed nested object raises instead of being returned raw as if it were a model."""
    from mini_client.models.user import User

    with pytest.raises(TypeError):
        User.from_dict({**USER, "manager": "usr_0"})
    with pytest.raises(KeyError):
        User.from_dict({**USER, "manager": {"email": "no id"}})


# -- the client (client.py.jinja) ---------------------------------------------------------


def test_default_timeout_is_not_none(mini_client: ModuleType) -> None:
    """Clients get a 30 s timeout (5 s to connect) unless told otherwise (stock: none at all)."""
    from mini_client.client import DEFAULT_TIMEOUT, AuthenticatedClient, Client

    assert httpx.Timeout(30.0, connect=5.0) == DEFAULT_TIMEOUT
    for client in (
        Client(base_url="https://t"),
        AuthenticatedClient(base_url="https://t", token="x"),
    ):
        assert client.get_async_httpx_client().timeout == httpx.Timeout(30.0, connect=5.0)
        assert not hasattr(client, "get_httpx_client")  # async only


def test_explicit_none_timeout_disables_it(mini_client: ModuleType) -> None:
    """`timeout=None` still means no timeout, as httpx has it."""
    from mini_client.client import Client

    client = Client(base_url="https://t", timeout=None)
    assert client.get_async_httpx_client().timeout == httpx.Timeout(None)


def test_set_async_httpx_client_keeps_the_token(mini_client: ModuleType) -> None:
    """A client set with set_async_httpx_client still sends the token (stock: it did not)."""
    from mini_client.api.users import get_user
    from mini_client.client import AuthenticatedClient

    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": USER, "meta": {}})

    async def scenario() -> Any:
        http = httpx.AsyncClient(base_url="https://t", transport=httpx.MockTransport(handler))
        client = AuthenticatedClient(base_url="https://t", token="tok").set_async_httpx_client(http)
        async with client:
            return await get_user.asyncio(user_id="usr_1", client=client)

    envelope = asyncio.run(scenario())
    assert envelope.data.id == "usr_1"
    assert seen[0].headers["Authorization"] == "Bearer tok"


def test_low_level_async_tier(mini_client: ModuleType) -> None:
    """The endpoint modules' asyncio/asyncio_detailed: parsed bodies, documented errors,
    204s, undocumented statuses (None, or UnexpectedStatus when asked), and no sync twin."""
    from mini_client import errors
    from mini_client.api.users import delete_user, get_user
    from mini_client.client import AuthenticatedClient
    from mini_client.models.error import Error
    from mini_client.models.user_envelope import UserEnvelope

    answers = {
        "/api/v1/users/usr_1": httpx.Response(200, json={"data": USER, "meta": {}}),
        "/api/v1/users/usr_2": httpx.Response(
            404, json={"error": "not_found", "message": "No.", "request_id": "req_1"}
        ),
        "/api/v1/users/usr_3": httpx.Response(418, text="teapot"),
    }

    def handler(request: httpx.Request) -> httpx.Response:
        return answers.get(request.url.path, httpx.Response(204))

    def client(*, raise_on_unexpected_status: bool = False) -> Any:
        http = httpx.AsyncClient(base_url="https://t", transport=httpx.MockTransport(handler))
        made = AuthenticatedClient(
            base_url="https://t", token="tok", raise_on_unexpected_status=raise_on_unexpected_status
        )
        return made.set_async_httpx_client(http)

    async def scenario() -> None:
        envelope = await get_user.asyncio("usr_1", client=client())
        assert isinstance(envelope, UserEnvelope)
        assert envelope.data.id == "usr_1"
        detailed = await get_user.asyncio_detailed("usr_2", client=client())
        assert detailed.status_code == 404
        assert isinstance(detailed.parsed, Error)
        assert await get_user.asyncio("usr_3", client=client()) is None
        with pytest.raises(errors.UnexpectedStatus) as raised:
            await get_user.asyncio("usr_3", client=client(raise_on_unexpected_status=True))
        assert raised.value.status_code == 418
        deleted = await delete_user.asyncio_detailed("usr_9", client=client())
        assert (deleted.status_code, deleted.parsed) == (204, None)

    asyncio.run(scenario())
    assert not hasattr(get_user, "sync")
    assert not hasattr(get_user, "sync_detailed")


def test_authenticated_client_does_not_mutate_the_callers_headers(mini_client: ModuleType) -> None:
    """The token header is added to the client's copy, not to the dict the caller passed."""
    from mini_client.client import AuthenticatedClient

    headers = {"X-Trace": "1"}
    client = AuthenticatedClient(base_url="https://t", token="tok", headers=headers)
    assert client.get_async_httpx_client().headers["Authorization"] == "Bearer tok"
    assert headers == {"X-Trace": "1"}


# -- bodies -------------------------------------------------------------------------------


def test_form_encoded_body(mini_client: ModuleType) -> None:
    """The token endpoint sends its body form-encoded."""
    from mini_client.api.oauth2 import request_token
    from mini_client.models.token_request import TokenRequest
    from mini_client.models.token_request_grant_type import TokenRequestGrantType

    body = TokenRequest(grant_type=TokenRequestGrantType.CLIENT_CREDENTIALS, scope="users:read")
    kwargs = request_token._get_kwargs(body=body)
    assert kwargs["data"] == {"grant_type": "client_credentials", "scope": "users:read"}
    assert kwargs["headers"]["Content-Type"] == "application/x-www-form-urlencoded"


def test_datetimes_parse_without_dateutil(mini_client: ModuleType) -> None:
    """RFC 3339 timestamps with `Z` parse (0.29.1 uses datetime.fromisoformat)."""
    from mini_client.models.user import User

    user = User.from_dict({**USER, "created_at": "2024-05-01T10:00:00Z"})
    assert user.created_at == datetime.datetime(2024, 5, 1, 10, tzinfo=datetime.UTC)


# -- lazy imports (models_init.py.jinja) ----------------------------------------------------


def _modules_after(root: Path, statement: str) -> set[str]:
    code = f"{statement}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(result.stdout))


def test_importing_one_endpoint_does_not_import_every_model(
    mini_client: ModuleType, mini_root: Path
) -> None:
    """`api.users.get_user` loads the models it uses (and those they refer to), not the rest."""
    loaded = _modules_after(mini_root, "import mini_client.api.users.get_user")
    models = {
        m.removeprefix("mini_client.models.") for m in loaded if m.startswith("mini_client.models.")
    }
    assert {"user_envelope", "error"} <= models
    assert models <= {
        "user_envelope",
        "user",
        "user_status",
        "user_ref",
        "meta",
        "error",
        "error_code",
        "error_details",
    }
    assert "mini_client.models.federation_connection_list" not in loaded
    assert "mini_client.facade" not in loaded


def test_importing_the_package_and_facade_imports_no_model(
    mini_client: ModuleType, mini_root: Path
) -> None:
    """The package, its models package and the facade import no model module."""
    loaded = _modules_after(mini_root, "import mini_client.models, mini_client.facade")
    assert not [m for m in loaded if m.startswith("mini_client.models.")]
    assert not [m for m in loaded if m.startswith("mini_client.api.")]


def test_models_package_attributes_load_on_access(mini_client: ModuleType) -> None:
    """`from pkg.models import X` still works, through the lazy `__getattr__`."""
    import mini_client.models as models

    assert models.UserStatus("active") == "active"
    assert "UserList" in dir(models)
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        models.Nope  # noqa: B018


def test_package_and_endpoint_import_neither_attrs_nor_the_client(
    mini_client: ModuleType, mini_root: Path
) -> None:
    """Models are msgspec structs and the client loads on use: attrs stays out of the import."""
    loaded = _modules_after(mini_root, "import mini_client, mini_client.api.users.get_user")
    assert "attrs" not in loaded
    assert "mini_client.client" not in loaded
    assert mini_client.Client.__name__ == "Client"  # still importable from the package


# -- cheaper parsing (enum, list, union and model templates) ---------------------------


def test_enum_lookup_map_holds_every_member(mini_client: ModuleType) -> None:
    """`_by_value` maps each value to its member; parsing gives the identical member."""
    from mini_client.models.user import User
    from mini_client.models.user_status import UserStatus

    assert UserStatus._by_value == {member.value: member for member in UserStatus}
    assert User.from_dict(USER).status is UserStatus.ACTIVE
    unknown = User.from_dict({**USER, "status": "on_hold"}).status
    assert isinstance(unknown, UserStatus)
    assert unknown == "on_hold"
    assert "on_hold" not in UserStatus._by_value  # pseudo-members are not cached in the map


@pytest.mark.parametrize("status", [["active"], {"a": 1}, 3, None])
def test_enum_field_of_the_wrong_type_raises(mini_client: ModuleType, status: Any) -> None:
    """A status that is not a string fails to parse (the invoker reports it as a contract
    violation) instead of becoming a member."""
    from mini_client.models.user import User

    with pytest.raises((TypeError, ValueError)):
        User.from_dict({**USER, "status": status})


def _constructor_arguments(module: ModuleType, cls_name: str) -> list[str]:
    """The names `from_dict` passes, in order, to the class constructor."""
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(module))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "from_dict":
            for call in ast.walk(node):
                if (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Name)
                    and call.func.id == "cls"
                ):
                    assert not call.keywords, f"{cls_name}: keyword arguments are back"
                    return [arg.id for arg in call.args if isinstance(arg, ast.Name)]
    raise AssertionError(f"{cls_name}.from_dict does not call cls(...)")


def test_positional_constructor_matches_every_models_fields() -> None:
    """Every committed model's from_dict passes its values in the order the fields are
    declared: a swapped pair would silently put one field's value in another."""
    import importlib
    import pkgutil

    import msgspec

    import intelliauth_client.models as models

    checked = 0
    for info in pkgutil.iter_modules(models.__path__):
        module = importlib.import_module(f"{models.__name__}.{info.name}")
        for cls in vars(module).values():
            if not (
                isinstance(cls, type)
                and issubclass(cls, msgspec.Struct)
                and cls.__module__ == module.__name__
            ):
                continue
            fields = list(cls.__struct_fields__)
            assert _constructor_arguments(module, cls.__name__) == fields, cls.__name__
            checked += 1
    assert checked > 50


def test_every_field_lands_in_its_own_attribute(mini_client: ModuleType) -> None:
    """A document with every field set gives each value back under its own name."""
    from mini_client.models.user import User

    user = User.from_dict(
        {**USER, "display_name": "Ada L.", "manager": {"id": "usr_0", "email": "m@x.test"}}
    )
    assert (user.id, user.email, user.status, user.display_name) == (
        "usr_1",
        "ada@example.com",
        "active",
        "Ada L.",
    )
    assert user.manager is not None
    assert (user.manager.id, user.manager.email) == ("usr_0", "m@x.test")


def test_list_of_models_parses_each_item(mini_client: ModuleType) -> None:
    """A list of models is parsed item by item, in order; a non-object item raises."""
    from mini_client.models.user import User
    from mini_client.models.user_list import UserList

    page = UserList.from_dict(
        {"data": [USER, {**USER, "id": "usr_2"}], "meta": {"next_cursor": None}}
    )
    assert [type(user) for user in page.data] == [User, User]
    assert [user.id for user in page.data] == ["usr_1", "usr_2"]
    with pytest.raises((TypeError, ValueError, KeyError)):
        UserList.from_dict({"data": ["usr_1"], "meta": {"next_cursor": None}})


def test_nullable_datetime_parses_inline() -> None:
    """A nullable, optional date-time: absent, null and a timestamp parse; a number names
    the field in its TypeError."""
    from intelliauth_client.models.user import User
    from intelliauth_client.types import UNSET

    document = {
        "id": "usr_1",
        "email": "ada@example.com",
        "email_verified": True,
        "name": "Ada",
        "status": "active",
        "created_at": "2024-05-01T10:00:00Z",
        "updated_at": "2024-05-01T10:00:00Z",
    }
    assert User.from_dict(document).last_sign_in_at is UNSET
    assert User.from_dict({**document, "last_sign_in_at": None}).last_sign_in_at is None
    signed_in = User.from_dict({**document, "last_sign_in_at": "2024-06-01T08:30:00Z"})
    assert signed_in.last_sign_in_at == datetime.datetime(2024, 6, 1, 8, 30, tzinfo=datetime.UTC)
    with pytest.raises(TypeError, match="last_sign_in_at: unexpected int"):
        User.from_dict({**document, "last_sign_in_at": 5})
