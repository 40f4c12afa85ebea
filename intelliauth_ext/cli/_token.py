"""``intelliauth token``: print a machine token, for ``curl -H "Authorization: Bearer ..."``."""

from __future__ import annotations

import click

from intelliauth_ext._scopes import normalise_scopes
from intelliauth_ext.cli._config import ConfigError
from intelliauth_ext.cli._context import CliContext
from intelliauth_ext.cli._runner import run

__all__ = ["token"]


@click.command()
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    metavar="SCOPE",
    help="A scope to request (repeat it, or separate scopes with spaces); "
    "default: INTELLIAUTH_SCOPES or the profile's scopes.",
)
@click.option(
    "--audience",
    metavar="AUDIENCE",
    help="The audience to request; default: INTELLIAUTH_AUDIENCE or the profile's.",
)
@click.pass_obj
def token(obj: CliContext, scopes: tuple[str, ...], audience: str | None) -> None:
    """Print an access token: the signed-in user's, else one of the client credentials grant.

    The token is cached in the user's cache folder ($XDG_CACHE_HOME/intelliauth, files
    mode 0600) and reused until it is due for refresh, so calling this before every
    request costs one token request per token lifetime:

        curl -H "Authorization: Bearer $(intelliauth token)" "$INTELLIAUTH_TENANT_URL/api/v1/users"

    After `intelliauth login` (a public client: no client secret), the token is the
    signed-in user's, refreshed as needed.
    """
    requested = normalise_scopes(scopes)

    async def fetch() -> str:
        user = await obj.user_auth()
        if user is not None:
            if requested or audience is not None:
                raise ConfigError(
                    "--scope and --audience ask for a client's token; the signed-in user's "
                    "token has the scopes of their login (intelliauth login --scopes ...)"
                )
            try:
                return (await user.get_token_set()).access_token
            finally:
                await user.aclose()
        async with obj.token_manager(scopes=requested, audience=audience) as manager:
            return (await manager.get_token()).access_token

    click.echo(run(fetch))
