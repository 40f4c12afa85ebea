"""One meaning per public name: the SDK's names and the generated client's do not collide."""

from __future__ import annotations

from types import ModuleType

import intelliauth_client
import intelliauth_client.facade
import intelliauth_client.models
import intelliauth_ext

#: The generated client's public doors, each with the names it exports.
GENERATED: tuple[ModuleType, ...] = (
    intelliauth_client,
    intelliauth_client.models,
    intelliauth_client.facade,
)


def _generated_names() -> dict[str, ModuleType]:
    """Every public name of the generated client, with the module that exports it."""
    return {name: module for module in GENERATED for name in module.__all__}


def test_the_generated_names_are_seen() -> None:
    """The check below reads real name lists: models, the facade's protocols and resources."""
    names = _generated_names()
    assert {"User", "OAuthErrorResponse", "StartedMfaChallenge"} <= names.keys()
    assert {"PageProtocol", "PaginatorProtocol", "UsersResource", "Operation"} <= names.keys()
    assert {"Client", "AuthenticatedClient"} <= names.keys()


def test_no_sdk_name_means_something_else_in_the_generated_client() -> None:
    """A name of ``intelliauth_ext.__all__`` is no generated model or facade name.

    Two classes called ``MfaChallenge`` (or ``Page``, or ``OAuthError``) make an import
    line decide what a name means; a clashing schema is renamed with ``class_overrides``
    in codegen/config.yaml, a facade name in codegen/templates/facade.py.jinja.
    """
    generated = _generated_names()
    clashes = sorted(
        f"{name} ({generated[name].__name__})"
        for name in intelliauth_ext.__all__
        if name in generated
        and getattr(intelliauth_ext, name) is not getattr(generated[name], name)
    )
    assert clashes == []


def test_the_renamed_models_keep_their_schemas() -> None:
    """The renamed classes still parse the contract's OAuthError and MfaChallenge bodies."""
    from intelliauth_client.models import OAuthErrorResponse, StartedMfaChallenge

    error = OAuthErrorResponse.from_dict({"error": "invalid_grant"})
    assert error.error.value == "invalid_grant"
    started = StartedMfaChallenge.from_dict(
        {
            "mfa_flow_id": "mfl_1",
            "factor_id": "mfa_1",
            "factor_type": "totp",
            "hint": None,
            "expires_at": "2030-01-01T00:00:00Z",
        }
    )
    assert (started.mfa_flow_id, started.factor_id, started.hint) == ("mfl_1", "mfa_1", None)
