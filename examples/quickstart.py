"""The IntelliAuth quickstart: the SDK's main flows, one after the other, narrated.

    make demo                     # against an embedded sandbox tenant on 127.0.0.1
    python examples/quickstart.py # the same; with INTELLIAUTH_TENANT_URL, INTELLIAUTH_CLIENT_ID
                                  # and INTELLIAUTH_CLIENT_SECRET set, against your tenant

It is safe to run against a tenant in use. Everything it creates is named with a tag new on
each run (``quickstart-<time>-<random>``), it says at the start what it will create, it lists
and changes only what carries that tag, every list it prints is capped (``with_max_items``),
and everything it created is deleted before it ends, also when a step fails or you press
Ctrl-C (the deletions are shielded from the cancellation; exit status 130).

Against your own tenant the confidential client needs the users, groups, applications,
resources and webhooks scopes. The PKCE step needs a public client with a loopback redirect
URI (INTELLIAUTH_PUBLIC_CLIENT_ID) and a tenant that signs the browser in without a login
form (as the sandbox does), so it runs only where the tenant lets a script sign in; otherwise
it is skipped. The webhook step (its receiver listens on 127.0.0.1, where a remote tenant
can not reach it) and the emailed-code MFA step (a script can not read your users' mail)
run on the embedded sandbox only.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Final

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
from intelliauth_client.models.sign_out_request import SignOutRequest
from intelliauth_client.models.user_create import UserCreate
from intelliauth_client.models.user_subject import UserSubject
from intelliauth_client.models.webhook_create import WebhookCreate
from intelliauth_client.models.webhook_event_type import WebhookEventType
from intelliauth_ext import (
    AuthorizationCodeFlow,
    ClientCredentials,
    IntelliAuth,
    InvalidClientError,
    MfaChallenge,
    NotFoundError,
    SignedIn,
    StaticToken,
    TokenSet,
    TokenVerifier,
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
#: Names everything this run creates, and nothing else: new on each run, so a second run (or
#: a colleague's) never touches this one's objects. It starts every email and name, so the
#: users list's search (a prefix match) finds exactly this run's users.
TAG: Final = f"quickstart-{int(time.time())}-{secrets.token_hex(2)}"
#: The same for resource type names, which allow only [a-z0-9_].
TYPE_TAG: Final = TAG.replace("-", "_")
#: The most items any list of the quickstart prints or walks.
LIST_CAP: Final = 20
MFA_PASSWORD: Final = "a long passphrase for the demo"  # noqa: S105 - a sandbox user's


def step(number: int, title: str) -> None:
    """Print a step's heading."""
    print(f"\n{number}. {title}", flush=True)


def say(text: str) -> None:
    """Print one line of a step."""
    print(f"   {text}", flush=True)


def short(token: str) -> str:
    """A token's first characters, never the whole of it."""
    return f"{token[:12]}... ({len(token)} characters)"


class Cleanup:
    """What the quickstart created, deleted in reverse order when it ends, however it ends.

    Each step registers an undo right after creating something; an undo that finds nothing
    left to do (a session signed out already) returns False. ``run()`` is shielded from
    cancellation, so Ctrl-C (which cancels the steps: see ``CtrlC``) still deletes
    everything; an undo that fails is reported and the others still run.
    """

    def __init__(self) -> None:
        self._undo: list[tuple[str, Callable[[], Awaitable[object]]]] = []

    def creating(self) -> anyio.CancelScope:
        """A scope to create something and register its undo in, shielded from Ctrl-C.

        A create cancelled half-way may have been done by the tenant with its answer lost,
        and then nothing would delete it: so the request finishes and the undo is
        registered; the cancellation arrives at the next step's first request.
        """
        return anyio.CancelScope(shield=True)

    def add(self, what: str, undo: Callable[[], Awaitable[object]]) -> None:
        """Remember to call ``undo()`` (which removes ``what``) at the end."""
        self._undo.append((what, undo))

    async def run(self) -> None:
        """Undo everything, newest first; say what was removed and what could not be."""
        if not self._undo:
            return
        print(f"\nCleaning up what this run created ({TAG})", flush=True)
        failed: list[str] = []
        with anyio.CancelScope(shield=True):
            while self._undo:
                what, undo = self._undo.pop()
                try:
                    removed = await undo()
                except NotFoundError:
                    removed = False  # gone already
                except Exception as exc:  # reported below; the other undos still run
                    failed.append(f"{what} ({type(exc).__name__}: {exc})")
                else:
                    if removed is not False:
                        say(f"removed {what}")
        for what in failed:
            say(f"could NOT remove {what}: delete it by hand")


class CtrlC:
    """Within the block, Ctrl-C cancels ``scope`` the anyio way, which the cleanup's shields hold.

    asyncio's own Ctrl-C handling cancels the main task natively, past anyio's shields, so
    a create in flight could be lost. After the first Ctrl-C the usual handling is back: a
    second one stops the cleanup at once. (Where the event loop can not take a signal
    handler, on Windows, asyncio's own handling stays.)
    """

    def __init__(self, scope: anyio.CancelScope) -> None:
        self._scope = scope
        self._loop: asyncio.AbstractEventLoop | None = None
        self.pressed = False

    def __enter__(self) -> CtrlC:
        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGINT, self._press)
        except (NotImplementedError, RuntimeError, ValueError):
            return self  # no handler here; asyncio's own Ctrl-C handling stays
        self._loop = loop
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._restore()

    def _press(self) -> None:
        self.pressed = True
        self._scope.cancel()
        self._restore()

    def _restore(self) -> None:
        if self._loop is not None:
            self._loop.remove_signal_handler(signal.SIGINT)
            self._loop = None


def announce(tenant_url: str, *, embedded: bool) -> None:
    """Say where the quickstart runs and what it will create (and delete)."""
    print(f"IntelliAuth quickstart against {tenant_url}")
    print(f"It creates, and deletes before it ends (on Ctrl-C too), only what it names {TAG}:")
    if embedded:
        say("7 users, a group, 2 resource types, 2 resources and their relations, an")
        say(
            "application, a webhook subscription and 2 sign-ins (ended with their session or user)."
        )
    else:
        say("5 users, a group, 2 resource types, 2 resources and their relations, an")
        say("application and a sign-in (signed out again).")
    print(f"It reads only what it created, and at most {LIST_CAP} items of any list.")


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


async def users_and_groups(client: IntelliAuth, cleanup: Cleanup) -> tuple[list[str], str]:
    """Step 2 and 3: create users and a group, then page through this run's users."""
    step(2, "Users and a group")
    user_ids = []
    for name in ("ada", "grace", "edsger", "barbara", "donald"):
        with cleanup.creating():
            user = await client.users.create(
                UserCreate(email=f"{TAG}.{name}@example.com", name=f"{TAG} {name.title()}")
            )
            cleanup.add(f"user {user.email}", partial(client.users.delete, user.id))
        user_ids.append(user.id)
        say(f"created {user.id} {user.email}")
    with cleanup.creating():
        group = await client.groups.create(GroupCreate(name=f"{TAG}-engineering"))
        cleanup.add(f"group {group.name}", partial(client.groups.delete, group.id))
    for user_id in user_ids[:3]:
        await client.groups.add_member(group.id, GroupMemberAdd(user_id=user_id))
    members = client.groups.list_members(group.id).with_max_items(LIST_CAP)
    say(f"group {group.name} ({group.id}) has {len([m async for m in members])} members")

    step(3, "Paging through this run's users, two per page")
    # q= (a prefix search over email and name) keeps the list to this run's users, and
    # with_max_items caps it, however many users the tenant has.
    mine = client.users.list(q=TAG, limit=2).with_max_items(LIST_CAP)
    pages = 0
    async for page in mine.pages():
        pages += 1
        say(f"page {pages}: {', '.join(user.email for user in page.items)}")
    total = len([user async for user in mine])
    say(f"{total} users in {pages} pages; `async for` over the list gives every one once")
    return user_ids, group.id


async def permission_through_relations(
    client: IntelliAuth, cleanup: Cleanup, user_ids: list[str], group_id: str
) -> None:
    """Step 4: a permission that follows a group membership and a parent relation."""
    step(4, "Permission check through relations (ReBAC)")
    folder_type = f"{TYPE_TAG}_folder"
    document_type = f"{TYPE_TAG}_document"
    with cleanup.creating():
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
        cleanup.add(
            f"resource type {folder_type}", partial(client.resource_types.delete, folder_type)
        )
    with cleanup.creating():
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
        cleanup.add(
            f"resource type {document_type}", partial(client.resource_types.delete, document_type)
        )
    # Deleting a resource deletes its relations, so the resources are all there is to undo.
    with cleanup.creating():
        folder = await client.resources.create(
            ResourceCreate(type_=folder_type, display_name="Design docs")
        )
        cleanup.add(f"resource {folder.id}", partial(client.resources.delete, folder.id))
    with cleanup.creating():
        document = await client.resources.create(
            ResourceCreate(type_=document_type, display_name="Architecture.md")
        )
        cleanup.add(f"resource {document.id}", partial(client.resources.delete, document.id))
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


async def rotate_application_secret(client: IntelliAuth, cleanup: Cleanup, tenant_url: str) -> None:
    """Step 5: a machine-to-machine application whose secret is rotated."""
    step(5, "Application secret rotation")
    with cleanup.creating():
        application = await client.applications.create(
            ApplicationCreate(
                name=f"{TAG} nightly export", type_=ApplicationType.MACHINE_TO_MACHINE
            )
        )
        cleanup.add(
            f"application {application.name}", partial(client.applications.delete, application.id)
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


async def webhook_delivery(client: IntelliAuth, cleanup: Cleanup, sandbox: Sandbox) -> None:
    """Step 6: a webhook subscription, a delivery to a local receiver, and its signature."""
    step(6, "Webhook: subscribe, receive a delivery, verify its signature")
    async with Receiver().running() as receiver:
        sandbox.webhooks.connect_to(HOOK_URL.rsplit("/", 1)[0], receiver.origin)
        with cleanup.creating():
            subscription = await client.webhooks.create(
                WebhookCreate(url=HOOK_URL, event_types=[WebhookEventType.USER_CREATED])
            )
            cleanup.add(
                f"webhook subscription {subscription.id}",
                partial(client.webhooks.delete, subscription.id),
            )
        say(f"subscribed {subscription.id} to user.created at {HOOK_URL}")
        say(f"(the sandbox delivers {HOOK_URL.rsplit('/', 1)[0]} to {receiver.origin})")
        with cleanup.creating():
            created = await client.users.create(UserCreate(email=f"{TAG}.hooked@example.com"))
            cleanup.add(f"user {created.email}", partial(client.users.delete, created.id))
        with anyio.fail_after(10):
            await receiver.arrived.wait()
        body, headers = receiver.deliveries[0]
        event = webhooks.verify(body, headers, subscription.signing_secret)
        say(f"received {event.type_} {event.id} for {created.id}; the signature checks out")
        try:
            webhooks.verify(body.replace(b"user", b"usr"), headers, subscription.signing_secret)
        except webhooks.WebhookVerificationError as exc:
            say(f"a tampered copy is refused: {exc}")


class UserSession:
    """A user's sign-in: its tokens, and signing it out once (the contract's signOut)."""

    def __init__(self, tenant_url: str, tokens: TokenSet) -> None:
        self.tenant_url = tenant_url
        self.tokens = tokens
        self._signed_out = False

    async def sign_out(self) -> bool:
        """End the session with the user's own access token; False if it was ended already."""
        if self._signed_out:
            return False
        body = SignOutRequest()
        if self.tokens.refresh_token is not None:
            body = SignOutRequest(refresh_token=self.tokens.refresh_token)
        async with IntelliAuth(
            self.tenant_url, auth=StaticToken(self.tokens.access_token)
        ) as as_the_user:
            await as_the_user.auth.sign_out(body)
        self._signed_out = True
        return True


async def pkce_sign_in(
    tenant_url: str, public_client_id: str, cleanup: Cleanup
) -> UserSession | None:
    """Step 7: a browser sign-in with PKCE, its ID token verified; returns the session."""
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
        # From the approval (which opens the session) to the undo that ends it, shielded.
        with cleanup.creating():
            redirect = await http.get(request.url)
            if redirect.status_code != 302:
                say(f"the tenant shows a login page ({redirect.status_code}); skipped in a script")
                return None
            tokens = await flow.complete(redirect.headers["location"])
            session = UserSession(tenant_url, tokens)
            cleanup.add("the sign-in's session", session.sign_out)
        verified = await TokenVerifier(tenant_url, http_client=http).verify_id_token(
            tokens.id_token or "", audience=public_client_id, nonce=request.nonce
        )
        say(f"signed in as {verified.subject} ({verified.claims.get('email')}); ID token verified")
        say(f"tokens: {tokens!r}")
        return session


async def sign_out(client: IntelliAuth, session: UserSession | None) -> None:
    """Step 8: the app signs the user out; introspection (RFC 7662) shows the token dead."""
    step(8, "Sign out, and introspect the refresh token (RFC 7662)")
    if session is None or session.tokens.refresh_token is None:
        say("no sign-in from step 7; skipped")
        return
    refresh_token = session.tokens.refresh_token
    before = await client.introspect(refresh_token)
    say(f"introspected by the API client: active={before.active}")
    await session.sign_out()
    after = await client.introspect(refresh_token)
    say(f"signed out (the session ended); introspected again: active={after.active}")


async def mfa_by_email(client: IntelliAuth, cleanup: Cleanup, sandbox: Sandbox) -> None:
    """Step 9: a password sign-in whose second factor is a code sent by email."""
    step(9, "MFA sign-in with a code sent by email")
    email = f"{TAG}.mfa@example.com"
    user = sandbox.add_user(email, password=MFA_PASSWORD, email_factor=True)
    cleanup.add(f"user {email}", partial(client.users.delete, user["id"]))
    result = await client.auth.sign_in_with_password(
        email, MFA_PASSWORD, client_id=sandbox.client_id
    )
    assert isinstance(result, MfaChallenge)
    say(f"password accepted; second factor needed: {[f.type_.value for f in result.factors]}")
    started = await result.start()
    say(f"a code was sent to {started.hint}")
    message = sandbox.outbox.latest(to=email)  # the sandbox's outbox: where its mail goes
    say(f"the sandbox's outbox has it (also at {sandbox.url}/_sandbox/outbox): {message.text}")
    signed_in = await result.verify(message.code)
    assert isinstance(signed_in, SignedIn)
    say(f"signed in as {signed_in.user.email} (session {signed_in.session_id})")


async def run(
    tenant_url: str,
    client_id: str,
    client_secret: str,
    *,
    public_client_id: str | None,
    sandbox: Sandbox | None,
) -> int:
    """Every step against one tenant (``sandbox`` when it is the embedded one).

    What a step creates is deleted at the end, whether the steps finish, fail or are
    stopped by Ctrl-C.

    Returns:
        The exit status: 0, or 130 after Ctrl-C (128 + SIGINT, as a shell reports it).
    """
    with anyio.CancelScope() as scope, CtrlC(scope) as ctrl_c:
        await steps(
            tenant_url,
            client_id,
            client_secret,
            public_client_id=public_client_id,
            sandbox=sandbox,
        )
    if ctrl_c.pressed:
        print("\nInterrupted.", file=sys.stderr, flush=True)
        return 130
    print("\nDone.", flush=True)
    return 0


async def steps(
    tenant_url: str,
    client_id: str,
    client_secret: str,
    *,
    public_client_id: str | None,
    sandbox: Sandbox | None,
) -> None:
    """The steps, and the deletion of what they created, however they end."""
    auth = await machine_token(tenant_url, client_id, client_secret)
    async with auth, IntelliAuth(tenant_url, auth=auth) as client:
        cleanup = Cleanup()
        try:
            user_ids, group_id = await users_and_groups(client, cleanup)
            await permission_through_relations(client, cleanup, user_ids, group_id)
            await rotate_application_secret(client, cleanup, tenant_url)
            if sandbox is not None:
                await webhook_delivery(client, cleanup, sandbox)
            else:
                step(6, "Webhook: skipped (a remote tenant cannot reach a receiver on 127.0.0.1)")
            session = None
            if public_client_id is not None:
                session = await pkce_sign_in(tenant_url, public_client_id, cleanup)
            else:
                step(7, "Browser sign-in: skipped (set INTELLIAUTH_PUBLIC_CLIENT_ID)")
            # Introspection authenticates as the client itself (HTTP Basic), not with a token.
            async with IntelliAuth(
                tenant_url, client_id=client_id, client_secret=client_secret
            ) as confidential:
                await sign_out(confidential, session)
            if sandbox is not None:
                await mfa_by_email(client, cleanup, sandbox)
            else:
                step(9, "MFA by emailed code: skipped (a script can not read your users' mail)")
        finally:
            await cleanup.run()


async def main() -> int:
    """Run against the tenant in the environment, else against an embedded sandbox."""
    tenant_url = os.environ.get("INTELLIAUTH_TENANT_URL", "").rstrip("/")
    if tenant_url:
        announce(tenant_url, embedded=False)
        return await run(
            tenant_url,
            os.environ["INTELLIAUTH_CLIENT_ID"],
            os.environ["INTELLIAUTH_CLIENT_SECRET"],
            public_client_id=os.environ.get("INTELLIAUTH_PUBLIC_CLIENT_ID"),
            sandbox=None,
        )
    from intelliauth_ext.testing import Sandbox  # the testing extra: only for the embedded run

    async with Sandbox.serve(background_webhooks=True) as sandbox:
        public = sandbox.add_client(
            name="Quickstart SPA", public=True, redirect_uris=(REDIRECT_URI,)
        )
        announce(f"an embedded sandbox tenant at {sandbox.url}", embedded=True)
        print("(set INTELLIAUTH_TENANT_URL and credentials to run it against your tenant)")
        return await run(
            sandbox.url,
            sandbox.client_id,
            sandbox.client_secret,
            public_client_id=public.client_id,
            sandbox=sandbox,
        )


if __name__ == "__main__":
    try:
        sys.exit(anyio.run(main))
    except KeyboardInterrupt:  # a second Ctrl-C, during the cleanup (see CtrlC)
        print("\nInterrupted again: the cleanup did not finish.", file=sys.stderr)
        sys.exit(130)
