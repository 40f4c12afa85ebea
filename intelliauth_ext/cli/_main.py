"""The ``intelliauth`` command group: its global options and its commands."""

from __future__ import annotations

import click

from intelliauth_ext.cli._config import ENV_PROFILE
from intelliauth_ext.cli._context import CliContext
from intelliauth_ext.cli._sandbox import sandbox
from intelliauth_ext.cli._token import token
from intelliauth_ext.cli._users import users
from intelliauth_ext.cli._webhooks import webhooks

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--profile",
    envvar=ENV_PROFILE,
    metavar="NAME",
    help="A profile of ~/.config/intelliauth/profiles.toml "
    f"(or {ENV_PROFILE}); default: the INTELLIAUTH_* variables, else [default].",
)
@click.version_option(package_name="intelliauth", prog_name="intelliauth")
@click.pass_context
def main(ctx: click.Context, profile: str | None) -> None:
    """The IntelliAuth platform from a shell: tokens, users, webhooks, a local sandbox.

    Configured like IntelliAuth.from_env(): INTELLIAUTH_TENANT_URL, INTELLIAUTH_CLIENT_ID,
    INTELLIAUTH_CLIENT_SECRET, INTELLIAUTH_AUDIENCE, INTELLIAUTH_SCOPES, or a profile.
    """
    ctx.obj = CliContext(profile=profile)


main.add_command(token)
main.add_command(users)
main.add_command(webhooks)
main.add_command(sandbox)
