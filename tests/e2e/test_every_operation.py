"""Every operation of the contract, called through the SDK's facade against a served sandbox
with contract validation on; the test ends by listing any operation it never exercised."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest

from intelliauth_client.facade import OPERATIONS
from intelliauth_client.models.application_create import ApplicationCreate
from intelliauth_client.models.application_type import ApplicationType
from intelliauth_client.models.application_update import ApplicationUpdate
from intelliauth_client.models.batch_permission_check_request import BatchPermissionCheckRequest
from intelliauth_client.models.code_challenge_method import CodeChallengeMethod
from intelliauth_client.models.grant_type import GrantType
from intelliauth_client.models.group_create import GroupCreate
from intelliauth_client.models.group_member_add import GroupMemberAdd
from intelliauth_client.models.group_update import GroupUpdate
from intelliauth_client.models.introspection_request import IntrospectionRequest
from intelliauth_client.models.mfa_factor_verify_request import MfaFactorVerifyRequest
from intelliauth_client.models.oidc_connection_create import OidcConnectionCreate
from intelliauth_client.models.oidc_connection_update import OidcConnectionUpdate
from intelliauth_client.models.password_change_request import PasswordChangeRequest
from intelliauth_client.models.permission_check_request import PermissionCheckRequest
from intelliauth_client.models.permission_definition import PermissionDefinition
from intelliauth_client.models.profile_update import ProfileUpdate
from intelliauth_client.models.relation_create import RelationCreate
from intelliauth_client.models.relation_definition import RelationDefinition
from intelliauth_client.models.resource_create import ResourceCreate
from intelliauth_client.models.resource_type_create import ResourceTypeCreate
from intelliauth_client.models.resource_type_update import ResourceTypeUpdate
from intelliauth_client.models.response_type import ResponseType
from intelliauth_client.models.revocation_request import RevocationRequest
from intelliauth_client.models.secret_rotation_request import SecretRotationRequest
from intelliauth_client.models.sign_out_request import SignOutRequest
from intelliauth_client.models.token_request import TokenRequest
from intelliauth_client.models.totp_enroll_request import TotpEnrollRequest
from intelliauth_client.models.user_create import UserCreate
from intelliauth_client.models.user_import_request import UserImportRequest
from intelliauth_client.models.user_subject import UserSubject
from intelliauth_client.models.user_update import UserUpdate
from intelliauth_client.models.web_authn_authentication_credential import (
    WebAuthnAuthenticationCredential,
)
from intelliauth_client.models.web_authn_authentication_options_request import (
    WebAuthnAuthenticationOptionsRequest,
)
from intelliauth_client.models.web_authn_authentication_verify_request import (
    WebAuthnAuthenticationVerifyRequest,
)
from intelliauth_client.models.web_authn_registration_credential import (
    WebAuthnRegistrationCredential,
)
from intelliauth_client.models.web_authn_registration_verify_request import (
    WebAuthnRegistrationVerifyRequest,
)
from intelliauth_client.models.webhook_create import WebhookCreate
from intelliauth_client.models.webhook_event_type import WebhookEventType
from intelliauth_client.models.webhook_test_request import WebhookTestRequest
from intelliauth_client.models.webhook_update import WebhookUpdate
from intelliauth_ext import IntelliAuth, SignedIn, StaticToken, pkce
from intelliauth_ext._invoker import Invoker
from intelliauth_ext.testing import TEST_USER_EMAIL, TEST_USER_PASSWORD, Sandbox, SoftAuthenticator
from intelliauth_ext.testing._totp import totp

pytestmark = pytest.mark.anyio

REDIRECT_URI = "http://127.0.0.1:8976/callback"
PASSWORD = "a long enough passphrase"


async def _oauth2(client: IntelliAuth, sandbox: Sandbox, user: SignedIn) -> None:
    config = await client.oauth2.get_open_id_configuration()
    assert config.issuer == sandbox.url
    assert (await client.oauth2.get_jwks()).keys
    tokens = await client.oauth2.request_token(
        TokenRequest(
            grant_type=GrantType.CLIENT_CREDENTIALS,
            client_id=sandbox.client_id,
            client_secret=sandbox.client_secret,
            scope="users:read",
        )
    )
    assert tokens.access_token
    introspected = await client.oauth2.introspect_token(
        IntrospectionRequest(
            token=tokens.access_token,
            client_id=sandbox.client_id,
            client_secret=sandbox.client_secret,
        )
    )
    assert introspected.active
    await client.oauth2.revoke_token(
        RevocationRequest(
            token=tokens.access_token,
            client_id=sandbox.client_id,
            client_secret=sandbox.client_secret,
        )
    )
    pair = pkce.PkcePair.generate()
    await client.oauth2.authorize(  # a 302 back to the redirect URI, auto-approved
        response_type=ResponseType.CODE,
        client_id=sandbox.client_id,
        redirect_uri=REDIRECT_URI,
        scope="openid",
        state="state-123",
        code_challenge=pair.challenge,
        code_challenge_method=CodeChallengeMethod.S256,
    )
    async with IntelliAuth(sandbox.url, auth=StaticToken(user.tokens.access_token)) as as_user:
        info = await as_user.oauth2.get_user_info()
    assert info.sub == user.user.id


async def _auth_and_me(client: IntelliAuth, sandbox: Sandbox) -> None:
    sandbox.add_user("me@example.com", password=PASSWORD, name="Me")
    first = await client.auth.sign_in_with_password("me@example.com", PASSWORD)
    second = await client.auth.sign_in_with_password("me@example.com", PASSWORD)
    assert isinstance(first, SignedIn)
    assert isinstance(second, SignedIn)
    async with IntelliAuth(sandbox.url, auth=StaticToken(first.tokens.access_token)) as me:
        assert (await me.me.get_profile()).email == "me@example.com"
        updated = await me.me.update_profile(ProfileUpdate(name="Me Myself"))
        assert updated.name == "Me Myself"
        sessions = [session async for session in me.me.list_sessions()]
        assert {session.id for session in sessions} == {first.session_id, second.session_id}
        await me.me.revoke_session(second.session_id)

        enrollment = await me.me.enroll_mfa_factor(TotpEnrollRequest(name="Phone"))
        assert enrollment.secret is not None
        code = totp(enrollment.secret, sandbox.clock.now())
        factor = await me.me.verify_mfa_factor_enrollment(
            enrollment.factor.id, MfaFactorVerifyRequest(code=code)
        )
        assert [f.id async for f in me.me.list_mfa_factors()] == [factor.id]

        # Passkeys: register one, then use it to sign in without a password.
        authenticator = SoftAuthenticator.for_issuer(sandbox.url)
        registration = await me.auth.get_web_authn_registration_options()
        credential = authenticator.create(registration.public_key.to_dict())
        passkey = await me.auth.verify_web_authn_registration(
            WebAuthnRegistrationVerifyRequest(
                ceremony_id=registration.ceremony_id,
                credential=WebAuthnRegistrationCredential.from_dict(credential),
                name="Soft key",
            )
        )
        assert passkey.type_ == "webauthn"
        options = await client.auth.get_web_authn_authentication_options(
            WebAuthnAuthenticationOptionsRequest(
                client_id=sandbox.client_id, email="me@example.com"
            )
        )
        assertion = authenticator.get(options.public_key.to_dict())
        signed_in = await client.auth.verify_web_authn_authentication(
            WebAuthnAuthenticationVerifyRequest(
                ceremony_id=options.ceremony_id,
                credential=WebAuthnAuthenticationCredential.from_dict(assertion),
            )
        )
        assert signed_in.user.email == "me@example.com"

        await me.me.delete_mfa_factor(factor.id)
        await me.me.change_password(
            PasswordChangeRequest(current_password=PASSWORD, new_password=PASSWORD + "!")
        )
        await me.auth.sign_out(SignOutRequest(refresh_token=first.tokens.refresh_token or ""))

    # The MFA branch of sign-in (startMfaChallenge, verifyMfa) through the helper.
    user = sandbox.add_user("mfa@example.com", password=PASSWORD, totp=True)
    challenge = await client.auth.sign_in_with_password("mfa@example.com", PASSWORD)
    assert not isinstance(challenge, SignedIn)
    await challenge.start()
    assert isinstance(await challenge.verify(sandbox.totp_code(user["id"])), SignedIn)


async def _users_and_groups(client: IntelliAuth) -> None:
    user = await client.users.create(UserCreate(email="grace@example.com", name="Grace"))
    assert (await client.users.get(user.id)).email == "grace@example.com"
    assert (await client.users.update(user.id, UserUpdate(name="Grace Hopper"))).name == (
        "Grace Hopper"
    )
    assert user.id in [u.id async for u in client.users.list(q="grace")]
    job = await client.users.import_(
        UserImportRequest(users=[UserCreate(email=f"import{n}@example.com") for n in range(3)])
    )
    with anyio.fail_after(10):
        while job.status not in ("completed", "failed"):
            job = await client.users.get_import(job.id)
    assert job.created_count == 3

    group = await client.groups.create(GroupCreate(name="pilots"))
    assert (await client.groups.get(group.id)).name == "pilots"
    await client.groups.update(group.id, GroupUpdate(description="They fly."))
    assert group.id in [g.id async for g in client.groups.list()]
    await client.groups.add_member(group.id, GroupMemberAdd(user_id=user.id))
    assert [m.user_id async for m in client.groups.list_members(group.id)] == [user.id]
    assert [g.id async for g in client.users.list_groups(user.id)] == [group.id]
    await client.groups.remove_member(group.id, user.id)
    await client.groups.delete(group.id)
    await client.users.delete(user.id)


async def _applications(client: IntelliAuth) -> None:
    app = await client.applications.create(
        ApplicationCreate(name="Exporter", type_=ApplicationType.MACHINE_TO_MACHINE)
    )
    assert app.client_secret
    assert (await client.applications.get(app.id)).name == "Exporter"
    await client.applications.update(app.id, ApplicationUpdate(description="Nightly."))
    assert app.id in [a.id async for a in client.applications.list()]
    rotated = await client.applications.rotate_secret(
        app.id, SecretRotationRequest(grace_period_seconds=0)
    )
    assert rotated.client_secret != app.client_secret
    await client.applications.delete(app.id)


async def _rebac(client: IntelliAuth) -> None:
    await client.resource_types.create(
        ResourceTypeCreate(
            name="doc",
            relations=[
                RelationDefinition(name="viewer", description=None, allowed_subjects=["user"])
            ],
            permissions=[PermissionDefinition(name="view", description=None, expression="viewer")],
        )
    )
    assert (await client.resource_types.get("doc")).name == "doc"
    await client.resource_types.update("doc", ResourceTypeUpdate(description="Documents."))
    assert "doc" in [t.name async for t in client.resource_types.list()]
    user = await client.users.create(UserCreate(email="reader@example.com"))
    doc = await client.resources.create(ResourceCreate(type_="doc", display_name="Plan"))
    assert (await client.resources.get(doc.id)).id == doc.id
    assert doc.id in [r.id async for r in client.resources.list(type_="doc")]
    relation = await client.resources.create_relation(
        doc.id, RelationCreate(relation="viewer", subject=UserSubject(user_id=user.id))
    )
    assert [r.id async for r in client.resources.list_relations(doc.id)] == [relation.id]
    check = PermissionCheckRequest(
        resource_id=doc.id, permission="view", subject=UserSubject(user_id=user.id)
    )
    assert (await client.resources.check_permission(check)).allowed
    batch = await client.resources.batch_check_permissions(
        BatchPermissionCheckRequest(checks=[check, check])
    )
    assert [result.allowed for result in batch.results] == [True, True]
    await client.resources.delete_relation(doc.id, relation.id)
    assert not (await client.resources.check_permission(check)).allowed
    await client.resources.delete(doc.id)
    await client.resource_types.delete("doc")


async def _federation(client: IntelliAuth) -> None:
    connection = await client.federation.create(
        OidcConnectionCreate(
            name="Okta",
            issuer="https://acme.okta.example",
            client_id="okta-client",
            client_secret="okta-secret",
            domains=["acme.example"],
        )
    )
    assert (await client.federation.get(connection.id)).name == "Okta"
    updated = await client.federation.update(connection.id, OidcConnectionUpdate(enabled=True))
    assert updated.enabled
    assert connection.id in [c.id async for c in client.federation.list()]
    await client.federation.delete(connection.id)


async def _webhooks(client: IntelliAuth, sandbox: Sandbox) -> None:
    received: list[httpx.Request] = []

    def receive(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(204)

    sandbox.webhooks.http = httpx.AsyncClient(transport=httpx.MockTransport(receive))
    hook = await client.webhooks.create(
        WebhookCreate(
            url="https://hooks.example.test/in", event_types=[WebhookEventType.USER_CREATED]
        )
    )
    assert (await client.webhooks.get(hook.id)).url == "https://hooks.example.test/in"
    await client.webhooks.update(hook.id, WebhookUpdate(description="All new users."))
    assert hook.id in [h.id async for h in client.webhooks.list()]
    test = await client.webhooks.send_test(
        hook.id, WebhookTestRequest(event_type=WebhookEventType.USER_CREATED)
    )
    assert (await client.webhooks.get_delivery(hook.id, test.id)).id == test.id
    assert test.id in [d.id async for d in client.webhooks.list_deliveries(hook.id)]
    await client.webhooks.redeliver_delivery(hook.id, test.id)
    secret = await client.webhooks.rotate_secret(hook.id, SecretRotationRequest())
    assert secret.signing_secret != hook.signing_secret
    await client.webhooks.delete(hook.id)
    assert received, "the test delivery reached the receiver"


def _send_bodies_as_mappings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make every facade call give its body as the model's ``to_dict()``; the operations."""
    original = Invoker.call
    converted: list[str] = []

    async def call(self: Invoker, operation: Any, options: Any = None, /, **kwargs: Any) -> Any:
        body = kwargs.get("body")
        if "body" in operation.inputs and hasattr(body, "to_dict"):
            kwargs["body"] = body.to_dict()
            converted.append(operation.operation_id)
        return await original(self, operation, options, **kwargs)

    monkeypatch.setattr(Invoker, "call", call)
    return converted


@pytest.mark.parametrize("bodies", ["models", "mappings"])
async def test_every_operation_round_trips(
    intelliauth_sandbox: Sandbox, bodies: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each operationId is answered with a success at least once, contract validation on.

    With ``mappings``, each body is given as a plain mapping (the model's ``to_dict()``):
    the plain-input path (``intelliauth_ext._inputs``) carries the whole contract too.
    """
    converted = _send_bodies_as_mappings(monkeypatch) if bodies == "mappings" else []
    sandbox = intelliauth_sandbox
    sandbox.add_client(name="Redirecting", redirect_uris=(REDIRECT_URI,))
    sandbox.served.clear()
    async with IntelliAuth(
        sandbox.url, client_id=sandbox.client_id, client_secret=sandbox.client_secret
    ) as client:
        user = await client.auth.sign_in_with_password(TEST_USER_EMAIL, TEST_USER_PASSWORD)
        assert isinstance(user, SignedIn)
        await _oauth2(client, sandbox, user)
        await _auth_and_me(client, sandbox)
        await _users_and_groups(client)
        await _applications(client)
        await _rebac(client)
        await _federation(client)
        await _webhooks(client, sandbox)
    missing = sorted(set(OPERATIONS) - sandbox.served.succeeded())
    assert not missing, f"operations never exercised with a success: {missing}"
    if bodies == "mappings":
        with_plain_body = {op for op, operation in OPERATIONS.items() if "body" in operation.inputs}
        # getWebAuthnRegistrationOptions is called without its optional body.
        assert with_plain_body - set(converted) == {"getWebAuthnRegistrationOptions"}
