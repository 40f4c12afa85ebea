"""The IntelliAuth quickstart: the SDK's main flows, one after the other, narrated.

    make demo                     # against an embedded sandbox tenant on 127.0.0.1
    python examples/quickstart.py # the same; with INTELLIAUTH_TENANT_URL, INTELLIAUTH_CLIENT_ID
                                  # and INTELLIAUTH_CLIENT_SECRET set, against your tenant

Against your own tenant the confidential client needs the users, groups, applications,
resources and webhooks scopes; the PKCE step needs a public client with a loopback redirect
URI (INTELLIAUTH_PUBLIC_CLIENT_ID) and signs in with INTELLIAUTH_TEST_USER_EMAIL and
INTELLIAUTH_TEST_USER_PASSWORD through the tenant's login form, so it runs only where the
tenant lets a script sign in; otherwise it is skipped, and so is the webhook step, whose
receiver listens on 127.0.0.1 where a remote tenant cannot reach it.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import anyio
import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from intelliauth_client.models.application_create import ApplicationCreate
from intelliauth_client.models.application_type import ApplicationType
from intelliauth_client.models.group_create import GroupCreate
from intelliauth_client.models.group_member_add import GroupMemberAdd
from intelliauth_client.models.group_members_subject import GroupMembersSubject
from intelliauth_client.models.permission_check_request import PermissionCheckRequest
from intelliauth_client.models.permission_definition import PermissionDefinition
from intelliauth_client.models.relation_create import RelationCreate
from intelliauth_client.models.relation_definition import RelationDefinition
from intelliauth_client.models.resource_create import ResourceCreate
from intelliauth_client.models.resource_subject import ResourceSubject
from intelliauth_client.models.resource_type_create import ResourceTypeCreate
from intelliauth_client.models.user_create import UserCreate
from intelliauth_client.models.user_subject import UserSubject
from intelliauth_client.models.webhook_create import WebhookCreate
from intelliauth_client.models.webhook_event_type import WebhookEventType
from intelliauth_ext import (
    AuthorizationCodeFlow,
    ClientCredentials,
    IntelliAuth,
    InvalidClientError,
    TokenVerifier,
    revoke_token,
    webhooks,
)

if TYPE_CHECKING:
    from intelliauth_ext.testing import Sandbox

SCOPES = [
    *("users:read", "users:write", "groups:read", "groups:write"),
    *("applications:read", "applications:write", "resources:read", "resources:write"),
    *("webhooks:read", "webhooks:write"),
]
#: The subscription URL (the contract wants https); the sandbox connects it to the receiver.
HOOK_URL = "https://hooks.quickstart.test/intelliauth"
REDIRECT_URI = "http://127.0.0.1:8976/callback"  # loopback: any port matches (RFC 8252 7.3)
RUN = f"{int(time.time())}"  # keeps names unique when the script runs twice on a tenant


def step(number: int, title: str) -> None:
    """Print a step's heading."""
    print(f"\n{number}. {title}", flush=True)


def say(text: str) -> None:
    """Print one line of a step."""
    print(f"   {text}", flush=True)


def short(token: str) -> str:
    """A token's first characters, never the whole of it."""
    return f"{token[:12]}... ({len(token)} characters)"


class Receiver:
    """A tiny webhook receiver on 127.0.0.1: keeps every delivery's raw body and headers."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[bytes, dict[str, str]]] = []
        self.arrived = anyio.Event()
        self.origin = ""

    async def _receive(self, request: Request) -> Response:
        self.deliveries.append((await request.body(), dict(request.headers)))
        self.arrived.set()
        return Response(status_code=204)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Receiver]:
        """Serve on a free loopback port for the block."""
        app = Starlette(routes=[Route("/intelliauth", self._receive, methods=["POST"])])
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
        )
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(server.serve)
            while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
                await anyio.sleep(0.01)
            port = server.servers[0].sockets[0].getsockname()[1]
            self.origin = f"http://127.0.0.1:{port}"
            try:
                yield self
            finally:
                server.should_exit = True


async def machine_token(tenant_url: str, client_id: str, client_secret: str) -> ClientCredentials:
    """Step 1: a machine token with client credentials, cached and shared by every call."""
    step(1, "Machine token (client credentials)")
    auth = ClientCredentials(f"{tenant_url}/oauth2/token", client_id, client_secret, scopes=SCOPES)
    token = await auth.get_token()
    say(f"got {short(token.access_token)}, expires in {token.expires_at - time.time():.0f} s")
    again = await auth.get_token()
    say(f"asked again: the same token from the cache ({again.access_token == token.access_token})")
    return auth


async def users_and_groups(client: IntelliAuth) -> tuple[list[str], str]:
    """Step 2 and 3: create users and a group, then page through the users."""
    step(2, "Users and a group")
    user_ids = []
    for name in ("ada", "grace", "edsger", "barbara", "donald"):
        user = await client.users.create(
            UserCreate(email=f"{name}.{RUN}@example.com", name=name.title())
        )
        user_ids.append(user.id)
        say(f"created {user.id} {user.email}")
    group = await client.groups.create(GroupCreate(name=f"engineering-{RUN}"))
    for user_id in user_ids[:3]:
        await client.groups.add_member(group.id, GroupMemberAdd(user_id=user_id))
    members = [member.user_id async for member in client.groups.list_members(group.id)]
    say(f"group {group.name} ({group.id}) has {len(members)} members")

    step(3, "Paging through users, two per page")
    pages = 0
    async for page in client.users.list(limit=2).pages():
        pages += 1
        say(f"page {pages}: {', '.join(user.email for user in page.items)}")
    total = len([user async for user in client.users.list(limit=2)])
    say(f"{total} users in {pages} pages; `async for` over the list gives every one once")
    return user_ids, group.id


async def permission_through_relations(
    client: IntelliAuth, user_ids: list[str], group_id: str
) -> None:
    """Step 4: a permission that follows a group membership and a parent relation."""
    step(4, "Permission check through relations (ReBAC)")
    folder_type = f"folder_{RUN}"
    document_type = f"document_{RUN}"
    await client.resource_types.create(
        ResourceTypeCreate(
            name=folder_type,
            relations=[
                RelationDefinition(
                    name="editor",
                    description="Edits everything inside.",
                    allowed_subjects=["user", "group#member"],
                )
            ],
            permissions=[
                PermissionDefinition(name="view", description="Reads it.", expression="editor")
            ],
        )
    )
    await client.resource_types.create(
        ResourceTypeCreate(
            name=document_type,
            relations=[
                RelationDefinition(
                    name="parent",
                    description="The folder it is in.",
                    allowed_subjects=[folder_type],
                ),
                RelationDefinition(
                    name="viewer", description="Reads it.", allowed_subjects=["user"]
                ),
            ],
            permissions=[
                PermissionDefinition(
                    name="view", description="Reads it.", expression="viewer or parent->view"
                )
            ],
        )
    )
    folder = await client.resources.create(
        ResourceCreate(type_=folder_type, display_name="Design docs")
    )
    document = await client.resources.create(
        ResourceCreate(type_=document_type, display_name="Architecture.md")
    )
    await client.resources.create_relation(
        folder.id, RelationCreate(relation="editor", subject=GroupMembersSubject(group_id=group_id))
    )
    await client.resources.create_relation(
        document.id,
        RelationCreate(
            relation="parent", subject=ResourceSubject(resource_id=folder.id, relation=None)
        ),
    )
    say(f"{document.id} is in folder {folder.id}, which group {group_id} edits")
    for user_id, why in ((user_ids[0], "a member of the group"), (user_ids[4], "not a member")):
        result = await client.resources.check_permission(
            PermissionCheckRequest(
                resource_id=document.id, permission="view", subject=UserSubject(user_id=user_id)
            )
        )
        say(f"can {user_id} ({why}) view the document? {result.allowed}")


async def rotate_application_secret(client: IntelliAuth, tenant_url: str) -> None:
    """Step 5: a machine-to-machine application whose secret is rotated."""
    step(5, "Application secret rotation")
    application = await client.applications.create(
        ApplicationCreate(name=f"Nightly export {RUN}", type_=ApplicationType.MACHINE_TO_MACHINE)
    )
    old_secret = application.client_secret or ""
    say(f"created {application.id} with client id {application.client_id} (secret shown once)")
    rotated = await client.applications.rotate_secret(application.id)
    say(f"rotated at {rotated.created_at.isoformat()}")
    new = ClientCredentials(f"{tenant_url}/oauth2/token", rotated.client_id, rotated.client_secret)
    old = ClientCredentials(f"{tenant_url}/oauth2/token", rotated.client_id, old_secret)
    async with new, old:
        say(f"the new secret gets a token: {short((await new.get_token()).access_token)}")
        try:
            await old.get_token()
            say("the old secret still works (a grace period is set)")
        except InvalidClientError as exc:
            say(f"the old secret is refused: {exc.error}")
    await client.applications.delete(application.id)


async def webhook_delivery(client: IntelliAuth, sandbox: Sandbox) -> None:
    """Step 6: a webhook subscription, a delivery to a local receiver, and its signature."""
    step(6, "Webhook: subscribe, receive a delivery, verify its signature")
    async with Receiver().running() as receiver:
        sandbox.webhooks.connect_to(HOOK_URL.rsplit("/", 1)[0], receiver.origin)
        subscription = await client.webhooks.create(
            WebhookCreate(url=HOOK_URL, event_types=[WebhookEventType.USER_CREATED])
        )
        say(f"subscribed {subscription.id} to user.created at {HOOK_URL}")
        say(f"(the sandbox delivers {HOOK_URL.rsplit('/', 1)[0]} to {receiver.origin})")
        created = await client.users.create(UserCreate(email=f"hooked.{RUN}@example.com"))
        with anyio.fail_after(10):
            await receiver.arrived.wait()
        body, headers = receiver.deliveries[0]
        event = webhooks.verify(body, headers, subscription.signing_secret)
        say(f"received {event.type_} {event.id} for {created.id}; the signature checks out")
        try:
            webhooks.verify(body.replace(b"user", b"usr"), headers, subscription.signing_secret)
        except webhooks.WebhookVerificationError as exc:
            say(f"a tampered copy is refused: {exc}")
        await client.webhooks.delete(subscription.id)


async def pkce_sign_in(tenant_url: str, public_client_id: str) -> str | None:
    """Step 7: a browser sign-in with PKCE, its ID token verified; returns the refresh token."""
    step(7, "Browser sign-in (authorization code + PKCE)")
    async with httpx.AsyncClient() as http:
        flow = AuthorizationCodeFlow(
            tenant_url,
            client_id=public_client_id,
            redirect_uri=REDIRECT_URI,
            scopes=["openid", "profile", "email", "offline_access"],
            http_client=http,
        )
        request = await flow.start()
        say(f"send the browser to {request.url.split('?')[0]}?... (state kept server-side)")
        # A browser would follow this; the embedded sandbox approves at once and redirects.
        redirect = await http.get(request.url)
        if redirect.status_code != 302:
            say(f"the tenant shows a login page ({redirect.status_code}); skipped in a script")
            return None
        callback = redirect.headers["location"]
        tokens = await flow.complete(callback)
        verified = await TokenVerifier(tenant_url, http_client=http).verify_id_token(
            tokens.id_token or "", audience=public_client_id, nonce=request.nonce
        )
        say(f"signed in as {verified.subject} ({verified.claims.get('email')}); ID token verified")
        say(f"tokens: {tokens!r}")
        return tokens.refresh_token


async def revoke(client: IntelliAuth, public_client_id: str, refresh_token: str | None) -> None:
    """Step 8: the app revokes its sign-in's refresh token; introspection shows it dead."""
    step(8, "Revoke a token (RFC 7009) and introspect it (RFC 7662)")
    if refresh_token is None:
        say("no refresh token from step 7; skipped")
        return
    before = await client.introspect(refresh_token)
    say(f"introspected by the API client: active={before.active}")
    # RFC 7009 section 2.1: a client revokes its own tokens; the public client has no secret.
    tenant_url = str(client.tenant_url).rstrip("/")
    await revoke_token(
        f"{tenant_url}/oauth2/revoke",
        refresh_token,
        client_id=public_client_id,
        auth_method="none",
        token_type_hint="refresh_token",  # noqa: S106 - a hint's name, not a secret
    )
    after = await client.introspect(refresh_token)
    say(f"revoked by the app; introspected again: active={after.active}")


async def run(
    tenant_url: str,
    client_id: str,
    client_secret: str,
    *,
    public_client_id: str | None,
    sandbox: Sandbox | None,
) -> None:
    """Every step against one tenant (``sandbox`` when it is the embedded one)."""
    auth = await machine_token(tenant_url, client_id, client_secret)
    async with IntelliAuth(tenant_url, auth=auth) as client:
        user_ids, group_id = await users_and_groups(client)
        await permission_through_relations(client, user_ids, group_id)
        await rotate_application_secret(client, tenant_url)
        if sandbox is not None:
            await webhook_delivery(client, sandbox)
        else:
            step(6, "Webhook: skipped (a remote tenant cannot reach a receiver on 127.0.0.1)")
        refresh_token = None
        if public_client_id is not None:
            refresh_token = await pkce_sign_in(tenant_url, public_client_id)
        else:
            step(7, "Browser sign-in: skipped (set INTELLIAUTH_PUBLIC_CLIENT_ID)")
        async with IntelliAuth(
            tenant_url, client_id=client_id, client_secret=client_secret
        ) as confidential:
            await revoke(confidential, public_client_id or "", refresh_token)
    await auth.aclose()
    print("\nDone.", flush=True)


async def main() -> int:
    """Run against the tenant in the environment, else against an embedded sandbox."""
    tenant_url = os.environ.get("INTELLIAUTH_TENANT_URL", "").rstrip("/")
    if tenant_url:
        print(f"IntelliAuth quickstart against {tenant_url}")
        await run(
            tenant_url,
            os.environ["INTELLIAUTH_CLIENT_ID"],
            os.environ["INTELLIAUTH_CLIENT_SECRET"],
            public_client_id=os.environ.get("INTELLIAUTH_PUBLIC_CLIENT_ID"),
            sandbox=None,
        )
        return 0
    from intelliauth_ext.testing import Sandbox  # the testing extra: only for the embedded run

    async with Sandbox.serve(background_webhooks=True) as sandbox:
        public = sandbox.add_client(
            name="Quickstart SPA", public=True, redirect_uris=(REDIRECT_URI,)
        )
        print(f"IntelliAuth quickstart against an embedded sandbox tenant at {sandbox.url}")
        print("(set INTELLIAUTH_TENANT_URL and credentials to run it against your tenant)")
        await run(
            sandbox.url,
            sandbox.client_id,
            sandbox.client_secret,
            public_client_id=public.client_id,
            sandbox=sandbox,
        )
    return 0


if __name__ == "__main__":
    sys.exit(anyio.run(main))
