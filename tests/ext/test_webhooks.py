"""Webhook signatures: the contract's test vectors, rotation, replays, malformed deliveries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from intelliauth_client.models import (
    ApplicationSecretRotatedEvent,
    BreachIncidentKind,
    BreachIncidentOpenedEvent,
    GroupMemberAddedEvent,
    GroupMemberRemovedEvent,
    UserCreatedEvent,
    UserDeletedEvent,
    UserUpdatedEvent,
)
from intelliauth_ext import webhooks
from intelliauth_ext._errors import IntelliAuthError
from intelliauth_ext.webhooks import (
    SIGNATURE_HEADER,
    UnknownWebhookEvent,
    WebhookVerificationError,
    sign,
    verify,
)

SPEC = Path(__file__).resolve().parents[2] / "openapi" / "intelliauth.openapi.yaml"
# The secret the contract's signature examples are computed with.
CONTRACT_SECRET = "whsec_4eC39HqLyjWDarjtT1zdp7dcQ9r2mFkZ"
SECRET = "whsec_testtesttesttesttesttesttesttest"
OTHER_SECRET = "whsec_othersecretothersecretothersecret"
NOW = 1_741_684_501

EVENT_MODELS: dict[str, type[Any]] = {
    "user.created": UserCreatedEvent,
    "user.updated": UserUpdatedEvent,
    "user.deleted": UserDeletedEvent,
    "group.member_added": GroupMemberAddedEvent,
    "group.member_removed": GroupMemberRemovedEvent,
    "application.secret_rotated": ApplicationSecretRotatedEvent,
    "security.breach_incident_opened": BreachIncidentOpenedEvent,
}


def _contract_vectors() -> list[tuple[str, bytes, str]]:
    """(event type, compact JSON body, signature header) of every webhook in the contract."""
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    vectors = []
    for event_type, item in spec["webhooks"].items():
        operation = item["post"]
        header = next(p for p in operation["parameters"] if p["name"] == SIGNATURE_HEADER)
        body = operation["requestBody"]["content"]["application/json"]["examples"]["event"]
        raw = json.dumps(body["value"], separators=(",", ":"), ensure_ascii=False).encode()
        vectors.append((event_type, raw, header["example"]))
    return vectors


VECTORS = _contract_vectors()


def _timestamp_of(header: str) -> int:
    return int(header.split(",")[0].removeprefix("t="))


def _event_body(event_type: str = "user.deleted", **overrides: Any) -> bytes:
    event: dict[str, Any] = {
        "id": "evt_01JE2A2B4C6D8E0F2G4H6J8K0M",
        "type": event_type,
        "created_at": "2025-03-20T16:45:00Z",
        "data": {
            "user_id": "usr_01HZX3K9QW7E5R2T8Y6U4I0O1P",
            "email": "ada@example.com",
            "deleted_at": "2025-03-20T16:45:00Z",
        },
    }
    event.update(overrides)
    return json.dumps(event, separators=(",", ":")).encode()


def _signed(body: bytes, secret: str | list[str] = SECRET, at: int = NOW) -> dict[str, str]:
    return {SIGNATURE_HEADER: sign(body, secret, timestamp=at)}


def test_the_public_module_exports_a_sorted_all() -> None:
    """webhooks.__all__ is sorted and every name in it exists."""
    assert webhooks.__all__ == sorted(webhooks.__all__)
    for name in webhooks.__all__:
        assert hasattr(webhooks, name)


def test_the_error_belongs_to_the_sdk_tree() -> None:
    """WebhookVerificationError is an IntelliAuthError."""
    assert issubclass(WebhookVerificationError, IntelliAuthError)


@pytest.mark.parametrize(("event_type", "body", "header"), VECTORS, ids=[v[0] for v in VECTORS])
def test_contract_vectors_verify_as_their_event_model(
    event_type: str, body: bytes, header: str
) -> None:
    """Each contract example verifies with the contract's secret and parses as its model."""
    event = verify(body, {SIGNATURE_HEADER: header}, CONTRACT_SECRET, now=_timestamp_of(header))
    assert isinstance(event, EVENT_MODELS[event_type])
    assert event.type_ == event_type
    assert event.id.startswith("evt_")
    assert event.created_at.tzinfo is not None


@pytest.mark.parametrize(("event_type", "body", "header"), VECTORS, ids=[v[0] for v in VECTORS])
def test_sign_reproduces_the_contract_vectors(event_type: str, body: bytes, header: str) -> None:
    """sign() gives exactly the header the contract prints for each example body."""
    assert sign(body, CONTRACT_SECRET, timestamp=_timestamp_of(header)) == header


def test_event_data_is_typed() -> None:
    """A breach incident's data is the generated data model, enums included."""
    _, body, header = next(v for v in VECTORS if v[0] == "security.breach_incident_opened")
    event = verify(body, {SIGNATURE_HEADER: header}, CONTRACT_SECRET, now=_timestamp_of(header))
    assert isinstance(event, BreachIncidentOpenedEvent)
    assert event.data.kind is BreachIncidentKind.CREDENTIAL_STUFFING
    assert event.data.affected_user_count == 42


def test_valid_delivery_with_httpx_headers() -> None:
    """A freshly signed body verifies from httpx.Headers, whatever the header's case."""
    body = _event_body()
    headers = httpx.Headers({"intelliauth-signature": sign(body, SECRET, timestamp=NOW)})
    event = verify(body, headers, SECRET, now=NOW + 10)
    assert isinstance(event, UserDeletedEvent)
    assert event.data.email == "ada@example.com"


def test_header_lookup_is_case_insensitive_in_a_plain_dict() -> None:
    """A plain dict with a lower-case header name works."""
    body = _event_body()
    assert verify(
        body, {"INTELLIAUTH-SIGNATURE": sign(body, SECRET, timestamp=NOW)}, SECRET, now=NOW
    )


def test_unknown_event_type_parses_as_a_generic_event() -> None:
    """A type this SDK does not know comes back as UnknownWebhookEvent with data untouched."""
    body = _event_body("user.renamed", data={"user_id": "usr_1", "nested": {"a": [1, 2]}})
    event = verify(body, _signed(body), SECRET, now=NOW)
    assert isinstance(event, UnknownWebhookEvent)
    assert event.type_ == "user.renamed"
    assert event.data == {"user_id": "usr_1", "nested": {"a": [1, 2]}}
    assert event.created_at.year == 2025


def test_tampered_body_is_refused() -> None:
    """One changed byte in the body fails the signature check."""
    body = _event_body()
    headers = _signed(body)
    tampered = body.replace(b"ada@", b"eve@")
    with pytest.raises(WebhookVerificationError) as caught:
        verify(tampered, headers, SECRET, now=NOW)
    assert caught.value.check == "signature"


def test_wrong_secret_is_refused() -> None:
    """A signature made with another secret fails the signature check."""
    body = _event_body()
    with pytest.raises(WebhookVerificationError) as caught:
        verify(body, _signed(body, OTHER_SECRET), SECRET, now=NOW)
    assert caught.value.check == "signature"


def test_tampered_timestamp_is_refused() -> None:
    """Moving t= (to dodge the replay window) breaks the signature."""
    body = _event_body()
    header = sign(body, SECRET, timestamp=NOW - 3600)
    forged = header.replace(f"t={NOW - 3600}", f"t={NOW}")
    with pytest.raises(WebhookVerificationError) as caught:
        verify(body, {SIGNATURE_HEADER: forged}, SECRET, now=NOW)
    assert caught.value.check == "signature"


def test_rotation_header_with_two_signatures_verifies_with_either_secret() -> None:
    """During a grace period (t=,v1=<new>,v1=<old>) the old or the new secret suffices."""
    body = _event_body()
    header = sign(body, [OTHER_SECRET, SECRET], timestamp=NOW)
    assert header.count("v1=") == 2
    for secret in (SECRET, OTHER_SECRET):
        assert isinstance(
            verify(body, {SIGNATURE_HEADER: header}, secret, now=NOW), UserDeletedEvent
        )


def test_receiver_holding_two_secrets_accepts_either_signature() -> None:
    """A receiver given [new, old] accepts a delivery signed with only one of them."""
    body = _event_body()
    for signing_secret in (SECRET, OTHER_SECRET):
        event = verify(body, _signed(body, signing_secret), [OTHER_SECRET, SECRET], now=NOW)
        assert isinstance(event, UserDeletedEvent)


@pytest.mark.parametrize(
    ("offset", "accepted"), [(-301, False), (-300, True), (300, True), (301, False)]
)
def test_tolerance_window_both_ways(offset: int, accepted: bool) -> None:
    """|now - t| up to the tolerance passes; beyond it (old or future) is a timestamp failure."""
    body = _event_body()
    headers = _signed(body, at=NOW + offset)
    if accepted:
        verify(body, headers, SECRET, now=NOW)
        return
    with pytest.raises(WebhookVerificationError) as caught:
        verify(body, headers, SECRET, now=NOW)
    assert caught.value.check == "timestamp"
    assert ("future" in str(caught.value)) == (offset > 0)


def test_custom_tolerance() -> None:
    """A smaller tolerance refuses what the default accepts."""
    body = _event_body()
    headers = _signed(body, at=NOW - 60)
    verify(body, headers, SECRET, now=NOW)
    with pytest.raises(WebhookVerificationError, match="timestamp"):
        verify(body, headers, SECRET, now=NOW, tolerance=30)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "t=1741684501",
        "v1=" + "a" * 64,
        f"t=1741684501,t=1741684501,v1={'a' * 64}",
        f"t=abc,v1={'a' * 64}",
        f"t=-5,v1={'a' * 64}",
        f"t=1.5,v1={'a' * 64}",
        f"t=\u00b2,v1={'a' * 64}",
        "t=1741684501,v1=zz" + "a" * 62,
        "t=1741684501,v1=" + "a" * 63,
        f"t=1741684501,v1={'a' * 64},garbage",
        f"t=1741684501,sig={'a' * 64}",
        f"t=1741684501;v1={'a' * 64}",
    ],
)
def test_malformed_headers_fail_the_header_check(header: str) -> None:
    """Missing t or v1, repeated t, non-integer t, non-hex or short v1, junk entries."""
    with pytest.raises(WebhookVerificationError) as caught:
        verify(_event_body(), {SIGNATURE_HEADER: header}, SECRET, now=NOW)
    assert caught.value.check == "header"


def test_missing_header_fails_the_header_check() -> None:
    """No signature header at all."""
    with pytest.raises(WebhookVerificationError, match="missing") as caught:
        verify(_event_body(), {"Content-Type": "application/json"}, SECRET, now=NOW)
    assert caught.value.check == "header"


def test_duplicated_header_fails_the_header_check() -> None:
    """The header sent twice (httpx.Headers keeps both) is refused, even if one is valid."""
    body = _event_body()
    valid = sign(body, SECRET, timestamp=NOW)
    headers = httpx.Headers([(SIGNATURE_HEADER, valid), (SIGNATURE_HEADER.lower(), valid)])
    with pytest.raises(WebhookVerificationError, match="2 times") as caught:
        verify(body, headers, SECRET, now=NOW)
    assert caught.value.check == "header"
    with pytest.raises(WebhookVerificationError, match="2 times"):
        verify(body, {SIGNATURE_HEADER: valid, SIGNATURE_HEADER.lower(): valid}, SECRET, now=NOW)


def test_other_signature_schemes_are_ignored() -> None:
    """An entry of another scheme version (v0=, v2=) is skipped, not refused."""
    body = _event_body()
    header = sign(body, SECRET, timestamp=NOW) + ",v2=" + "b" * 80
    assert verify(body, {SIGNATURE_HEADER: header}, SECRET, now=NOW)


def test_uppercase_hex_is_accepted() -> None:
    """Hex digits compare case-insensitively."""
    body = _event_body()
    t, v1 = sign(body, SECRET, timestamp=NOW).split(",")
    assert verify(
        body, {SIGNATURE_HEADER: f"{t},{v1.upper().replace('V1', 'v1')}"}, SECRET, now=NOW
    )


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\xff\xfe\x00",
        b"[]",
        b"[" * 100_000,
        json.dumps(
            {"type": "user.deleted", "created_at": "2025-03-20T16:45:00Z", "data": {}}
        ).encode(),
        _event_body(id=7),
        _event_body(type=None),
        _event_body(created_at="yesterday"),
        _event_body(created_at="2025-03-20T16:45:00"),
        _event_body(data=[1, 2]),
        _event_body(data={"user_id": "usr_1"}),
        _event_body("user.created", data={"user": "not an object"}),
        _event_body("security.breach_incident_opened", data={"kind": 5}),
    ],
    ids=lambda body: body[:40].decode("utf-8", "replace"),
)
def test_bodies_that_are_not_envelopes_fail_the_payload_check(body: bytes) -> None:
    """A correctly signed body that is not JSON, or not an event envelope, is refused."""
    with pytest.raises(WebhookVerificationError) as caught:
        verify(body, _signed(body), SECRET, now=NOW)
    assert caught.value.check == "payload"


def test_event_headers_must_match_the_signed_body() -> None:
    """IntelliAuth-Event-Id / -Type headers, when sent, must agree with the signed body."""
    body = _event_body()
    headers = {**_signed(body), "IntelliAuth-Event-Type": "user.deleted"}
    headers["IntelliAuth-Event-Id"] = "evt_01JE2A2B4C6D8E0F2G4H6J8K0M"
    assert verify(body, headers, SECRET, now=NOW)
    headers["IntelliAuth-Event-Id"] = "evt_SOMETHINGELSE"
    with pytest.raises(WebhookVerificationError) as caught:
        verify(body, headers, SECRET, now=NOW)
    assert caught.value.check == "payload"


def test_the_secret_never_appears_in_the_error() -> None:
    """Neither str() nor repr() of any failure shows a secret."""
    body = _event_body()
    cases = [
        (body, {}),
        (body, {SIGNATURE_HEADER: "t=x"}),
        (body, _signed(body, "whsec_somebodyelsesomebodyelsesomebody")),
        (body, _signed(body, at=NOW - 10_000)),
        (b"{}", _signed(b"{}")),
    ]
    for payload, headers in cases:
        with pytest.raises(WebhookVerificationError) as caught:
            verify(payload, headers, [SECRET, OTHER_SECRET], now=NOW)
        for text in (str(caught.value), repr(caught.value), caught.value.message):
            assert SECRET not in text
            assert OTHER_SECRET not in text
            assert "whsec_" not in text


def test_caller_mistakes_raise_ordinary_errors() -> None:
    """No secret, an empty secret, a str body or a negative tolerance are programming errors."""
    body = _event_body()
    headers = _signed(body)
    with pytest.raises(ValueError, match="at least one"):
        verify(body, headers, [], now=NOW)
    with pytest.raises(ValueError, match="empty"):
        verify(body, headers, "", now=NOW)
    with pytest.raises(TypeError, match="bytes"):
        verify(body.decode(), headers, SECRET, now=NOW)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="tolerance"):
        verify(body, headers, SECRET, now=NOW, tolerance=-1)
    with pytest.raises(ValueError, match="timestamp"):
        sign(body, SECRET, timestamp=-1)


def test_sign_defaults_to_now() -> None:
    """Without a timestamp, sign() signs at the current time and verify() accepts it."""
    body = _event_body()
    assert verify(body, {SIGNATURE_HEADER: sign(body, SECRET)}, SECRET)


@settings(max_examples=300, deadline=None)
@given(header=st.text(max_size=200))
def test_random_header_strings_only_ever_raise_verification_errors(header: str) -> None:
    """Whatever the header holds, the only exception out of verify() is the SDK's."""
    with pytest.raises(WebhookVerificationError) as caught:
        verify(_event_body(), {SIGNATURE_HEADER: header}, SECRET, now=NOW)
    assert caught.value.check in {"header", "signature", "timestamp"}
    assert SECRET not in str(caught.value)


_ENTRY = st.one_of(
    st.builds(lambda v: f"t={v}", st.one_of(st.integers(), st.text(max_size=15))),
    st.builds(lambda v: f"v1={v}", st.text(alphabet="0123456789abcdefABCDEFxyz", max_size=70)),
    st.text(max_size=20),
)


@settings(max_examples=300, deadline=None)
@given(entries=st.lists(_ENTRY, max_size=6), body=st.binary(max_size=64))
def test_random_structured_headers_only_ever_raise_verification_errors(
    entries: list[str], body: bytes
) -> None:
    """Near-miss headers (t= and v1= with odd values) and random bodies: only the SDK's error."""
    with pytest.raises(WebhookVerificationError):
        verify(body, {SIGNATURE_HEADER: ",".join(entries)}, SECRET, now=NOW)


@settings(max_examples=100, deadline=None)
@given(body=st.binary(max_size=256))
def test_random_signed_bodies_parse_or_fail_the_payload_check(body: bytes) -> None:
    """A correctly signed random body either parses or fails the payload check, nothing else."""
    failed_check: str | None = None
    try:
        verify(body, _signed(body), SECRET, now=NOW)
    except WebhookVerificationError as exc:
        failed_check = exc.check
    assert failed_check in {None, "payload"}
