"""Secret fields: the x-sensitive table (codegen/sensitive.py) and the models' redacting repr."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest

from codegen import DEFAULT_SPEC
from codegen.generator import load_config
from codegen.sensitive import SensitiveTable
from codegen.spec import SpecError, load_document

REDACTED = "'[REDACTED]'"


def _table(document: dict[str, Any] | None = None) -> SensitiveTable:
    config = load_config(DEFAULT_SPEC, Path("unused"))
    return SensitiveTable(document or load_document(DEFAULT_SPEC), config)


def _model_class(class_name: str) -> type[Any]:
    models = importlib.import_module("intelliauth_client.models")
    cls: type[Any] = getattr(models, class_name)
    return cls


SECRET_MODELS = sorted(_table().classes().items())


def test_the_table_holds_the_contracts_credentials() -> None:
    """The table names the models the issue lists, with their secret fields."""
    classes = _table().classes()
    assert classes["TokenRequest"] == {"client_secret", "code", "code_verifier", "refresh_token"}
    assert classes["TokenResponse"] == {"access_token", "refresh_token", "id_token"}
    assert classes["SignInRequest"] == {"password"}
    assert classes["ApplicationWithSecret"] == {"client_secret"}  # from an allOf part
    assert classes["WebhookWithSecret"] == {"signing_secret"}
    assert classes["MfaFactorEnrollment"] == {"secret", "otpauth_uri"}
    assert "User" not in classes


@pytest.mark.parametrize(("class_name", "secret_fields"), SECRET_MODELS, ids=lambda v: str(v))
def test_repr_hides_secret_fields_and_shows_the_rest(
    class_name: str, secret_fields: frozenset[str]
) -> None:
    """Secret fields print as '[REDACTED]', other fields as the struct's repr, in its order."""
    cls = _model_class(class_name)
    fields = list(cls.__struct_fields__)
    assert secret_fields <= set(fields), "a secret field's Python name differs from its JSON name"
    instance = cls(*[f"<{name} value>" for name in fields])  # no type checks in __init__
    instance.additional_properties = {"session_token": "value-of-an-unknown-field"}

    text = repr(instance)

    shown = [
        f"{name}={REDACTED}" if name in secret_fields else f"{name}={getattr(instance, name)!r}"
        for name in fields
        if name != "additional_properties"
    ]
    extra = "additional_properties={'session_token': '[REDACTED]'}"
    assert text == f"{class_name}({', '.join([*shown, extra])})"
    assert str(instance) == text
    for name in secret_fields:
        assert f"<{name} value>" not in text


def test_an_absent_secret_shows_as_absent() -> None:
    """A secret field that is None or UNSET is shown as such: absence is not a secret."""
    from intelliauth_client.models.application_with_secret import ApplicationWithSecret
    from intelliauth_client.models.token_response import TokenResponse

    token = TokenResponse(access_token="eyJ-secret", token_type="Bearer", expires_in=60)
    assert "eyJ-secret" not in repr(token)
    assert f"access_token={REDACTED}" in repr(token)
    assert "refresh_token=UNSET" in repr(token)  # the UNSET sentinel's repr
    application = ApplicationWithSecret(*[None for _ in ApplicationWithSecret.__struct_fields__])
    application.additional_properties = {}
    assert "client_secret=None" in repr(application)


def test_a_model_without_secrets_keeps_the_plain_repr() -> None:
    """Models the contract marks nothing in are untouched, unknown fields included."""
    from intelliauth_client.models.list_meta import ListMeta

    meta = ListMeta.from_dict({"next_cursor": "c1", "extra": "shown"})
    assert repr(meta) == "ListMeta(next_cursor='c1', additional_properties={'extra': 'shown'})"


def test_a_token_response_from_a_hostile_server_shows_no_token() -> None:
    """Parsed from a body, the tokens and an unknown credential-looking field stay hidden."""
    from intelliauth_client.models.token_response import TokenResponse

    parsed = TokenResponse.from_dict(
        {
            "access_token": "at-SECRET",
            "token_type": "Bearer",
            "expires_in": 60,
            "refresh_token": "rt-SECRET",
            "id_token": "it-SECRET",
            "session_token": "st-SECRET",
        }
    )
    assert "SECRET" not in repr(parsed)
    assert parsed.to_dict()["access_token"] == "at-SECRET"  # the value itself is unchanged


def _document(schemas: dict[str, Any]) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": {},
        "components": {"schemas": schemas},
    }


def test_a_mark_on_a_nested_inline_object_is_refused() -> None:
    """A mark the template would not honour (an inline object's property) fails generation."""
    document = _document(
        {
            "Outer": {
                "type": "object",
                "properties": {
                    "inner": {
                        "type": "object",
                        "properties": {"secret": {"type": "string", "x-sensitive": True}},
                    }
                },
            }
        }
    )
    with pytest.raises(SpecError, match="inner/properties/secret"):
        _table(document)


def test_a_mark_that_is_not_true_is_refused() -> None:
    """`x-sensitive: false` (or any other value) is an error, not a silent no-op."""
    document = _document(
        {"A": {"type": "object", "properties": {"secret": {"type": "string", "x-sensitive": 1}}}}
    )
    with pytest.raises(SpecError, match="must be `true`"):
        _table(document)


def test_marks_reach_a_model_through_allof_references() -> None:
    """A model composed with allOf inherits the marks of the schemas it refers to."""
    document = _document(
        {
            "Base": {
                "type": "object",
                "properties": {"key": {"type": "string", "x-sensitive": True}},
            },
            "Derived": {
                "allOf": [
                    {"$ref": "#/components/schemas/Base"},
                    {"type": "object", "properties": {"pin": {"type": "string"}}},
                ]
            },
        }
    )
    assert _table(document).classes() == {"Base": {"key"}, "Derived": {"key"}}
