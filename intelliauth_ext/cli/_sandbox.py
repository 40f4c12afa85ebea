"""``intelliauth sandbox``: the local sandbox tenant of ``python -m intelliauth_ext.testing``."""

from __future__ import annotations

import click

from intelliauth_ext.cli._runner import CliError

__all__ = ["sandbox"]


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="The interface to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="The port (0 picks a free one).",
)
@click.option("--no-validate", is_flag=True, help="Do not check traffic against the contract.")
@click.option(
    "--login-page", is_flag=True, help="Show the login page at /oauth2/authorize (no auto-approve)."
)
@click.pass_context
def sandbox(ctx: click.Context, host: str, port: int, no_validate: bool, login_page: bool) -> None:
    """Run an in-memory IntelliAuth tenant on loopback until Ctrl-C.

    It prints the INTELLIAUTH_* variables of a ready confidential client (every scope):
    paste them into another shell to point this command line at it.
    """
    try:
        from intelliauth_ext.testing.__main__ import main as serve
    except ImportError as exc:
        raise CliError(
            f"the sandbox needs the testing extra (pip install 'intelliauth[testing]'): {exc}"
        ) from None
    argv = ["--host", host, "--port", str(port)]
    if no_validate:
        argv.append("--no-validate")
    if login_page:
        argv.append("--login-page")
    ctx.exit(serve(argv))
