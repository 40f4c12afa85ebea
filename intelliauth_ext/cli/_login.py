"""``intelliauth login``, ``whoami`` and ``logout``: a user signed in from the terminal.

``login`` is the native-app flow (RFC 8252): the system browser, a loopback redirect on
``http://127.0.0.1:<port>/callback``, PKCE; the tokens go to the session store
(``_session``). Progress and errors are one line each, on stderr; ``--no-browser`` prints
the URL there and waits, for a shell without a browser.
"""

from __future__ import annotations

import click

from intelliauth_ext._errors import TokenStoreError
from intelliauth_ext._scopes import normalise_scopes
from intelliauth_ext._token_set import TokenSet
from intelliauth_ext.cli._context import CliContext
from intelliauth_ext.cli._runner import CliError, describe, run
from intelliauth_ext.cli._session import (
    DEFAULT_LOGIN_SCOPES,
    LOOPBACK_REDIRECT_URI,
    public_client_id,
    revocation_url,
    session_key,
    session_store,
)

__all__ = ["login", "logout", "whoami"]


def _progress(message: str) -> None:
    click.echo(message, err=True)


def _show_url(url: str) -> None:
    _progress(f"Open this URL in a browser to sign in: {url}")


@click.command()
@click.option(
    "--no-browser",
    is_flag=True,
    help="Do not open a browser: print the URL on stderr and wait for the sign-in.",
)
@click.option(
    "--scopes",
    "scopes",
    multiple=True,
    metavar="SCOPE",
    help="Scopes to ask for besides openid, profile, email and offline_access (repeat it, "
    "or separate with spaces); default: INTELLIAUTH_SCOPES or the profile's scopes.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    help="The loopback port to receive the sign-in on (default: a free one).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=300.0,
    show_default=True,
    help="Seconds to wait for the sign-in in the browser.",
)
@click.pass_obj
def login(
    obj: CliContext, no_browser: bool, scopes: tuple[str, ...], port: int, timeout: float
) -> None:
    """Sign in as a user, in the browser, and keep the session for the other commands.

    Needs a public client (INTELLIAUTH_CLIENT_ID, or client_id in a profile, without a
    client secret) that registered the redirect URI http://127.0.0.1/callback (any port).
    The tokens are kept in the system keyring, or in a file only you can read
    (~/.config/intelliauth/tokens), and refreshed as needed.
    """
    from intelliauth_ext._flow import AuthorizationCodeFlow

    settings = obj.settings()
    client_id = public_client_id(settings)
    requested = normalise_scopes([*DEFAULT_LOGIN_SCOPES, *(scopes or settings.scopes)])

    async def sign_in() -> str:
        flow = AuthorizationCodeFlow(
            settings.tenant_url, client_id, LOOPBACK_REDIRECT_URI, requested
        )
        if not no_browser:
            _progress("Opening the browser to sign in; waiting for it to come back...")
        tokens = await flow.sign_in_with_browser(
            open_browser=_show_url if no_browser else None, port=port, timeout=timeout
        )
        await session_store().save(session_key(settings), tokens)
        return await _whoami_line(obj)

    _progress(f"Signed in as {run(sign_in)}")


async def _whoami_line(obj: CliContext) -> str:
    async with obj.client() as client:
        profile = await client.me.get_profile()
    return f"{profile.email} ({profile.id})"


@click.command()
@click.pass_obj
def whoami(obj: CliContext) -> None:
    """Print the signed-in user's email and id."""

    if obj.settings().client_secret:
        raise CliError(
            "whoami shows the signed-in user, and a client secret is configured: the "
            "commands act as that client (unset it to use the session of intelliauth login)"
        )

    async def ask() -> tuple[str, str]:
        async with obj.client() as client:
            profile = await client.me.get_profile()
        return profile.email, profile.id

    email, user_id = run(ask)
    click.echo(f"{email} {user_id}")


@click.command()
@click.pass_obj
def logout(obj: CliContext) -> None:
    """Revoke the signed-in user's refresh token and forget the session."""
    from intelliauth_ext._token_endpoints import revoke_token

    settings = obj.settings()
    client_id = public_client_id(settings)
    key = session_key(settings)

    async def sign_out() -> tuple[bool, str | None]:
        store = session_store()
        try:
            tokens: TokenSet | None = await store.load(key)
        except TokenStoreError:
            tokens = None  # unreadable: nothing to revoke, and forgetting it is the cure
        failure: str | None = None
        if tokens is not None:
            try:
                await revoke_token(
                    revocation_url(settings),
                    tokens.refresh_token or tokens.access_token,
                    client_id=client_id,
                    auth_method="none",
                    token_type_hint="refresh_token" if tokens.refresh_token else "access_token",
                )
            except Exception as exc:
                failure = describe(exc)
        await store.delete(key)
        return tokens is not None, failure

    signed_in, failure = run(sign_out)
    if not signed_in:
        _progress("Not signed in; nothing to do.")
    elif failure is not None:
        raise CliError(f"signed out here, but the refresh token was not revoked: {failure}")
    else:
        _progress("Signed out; the refresh token is revoked.")
