"""The ``intelliauth`` command group: its global options, its commands, how it ends.

Every failure ends the command with one line on stderr and a non-zero status: a usage
error 2 (click's), anything else 1, with the traceback only under ``-v``. A reader that
closes standard output early (``intelliauth users list | head -1``) ends the command
quietly with status 141, as ``seq 100000 | head -1`` ends: the status of a process that
SIGPIPE stopped (128 + 13), which ``set -o pipefail`` scripts already meet with every Unix
tool. It is not 0, because the command did not write all it had; not 1, because nothing
failed. (Python ignores SIGPIPE, so the closed pipe arrives as ``BrokenPipeError``.)
"""

from __future__ import annotations

import errno
import os
import sys
import traceback
from typing import Any, Final

import click

from intelliauth_ext.cli._config import ENV_PROFILE
from intelliauth_ext.cli._context import CliContext
from intelliauth_ext.cli._login import login, logout, whoami
from intelliauth_ext.cli._runner import CliError, tenant_url_hint, to_cli_error
from intelliauth_ext.cli._sandbox import sandbox
from intelliauth_ext.cli._token import token
from intelliauth_ext.cli._users import users
from intelliauth_ext.cli._webhooks import webhooks

__all__ = ["EXIT_BROKEN_PIPE", "main"]

#: The exit status when standard output is closed before the command is done (128 + SIGPIPE).
EXIT_BROKEN_PIPE: Final = 141


def _discard_stdout() -> None:
    """Point standard output at the null device, so the flush at exit fails no more.

    What the Python documentation advises for SIGPIPE: the data still buffered would
    otherwise raise ``BrokenPipeError`` again while the interpreter shuts down.
    """
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (a test's capture)
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, descriptor)
    finally:
        os.close(null)


def _show_traceback(exc: BaseException) -> None:
    traceback.print_exception(exc, file=sys.stderr)


class _RootGroup(click.Group):
    """The root group: one-line errors, ``-v`` tracebacks, a quiet end on a closed pipe."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.Abort, click.UsageError):
            raise
        except OSError as exc:
            if exc.errno != errno.EPIPE:
                raise self._one_line(ctx, exc) from exc
            _discard_stdout()
            raise click.exceptions.Exit(EXIT_BROKEN_PIPE) from None
        except click.ClickException as exc:
            raise self._with_hint(ctx, exc) from exc.__cause__
        except Exception as exc:
            raise self._one_line(ctx, exc) from exc

    def _one_line(self, ctx: click.Context, exc: Exception) -> click.ClickException:
        state = ctx.find_object(CliContext)
        verbose = state is not None and state.verbose
        return self._with_hint(ctx, to_cli_error(exc, verbose=verbose), cause=exc)

    @staticmethod
    def _with_hint(
        ctx: click.Context, error: click.ClickException, *, cause: BaseException | None = None
    ) -> click.ClickException:
        """``error``, with the tenant URL hint added and, under ``-v``, the traceback shown."""
        state = ctx.find_object(CliContext)
        cause = cause if cause is not None else error.__cause__
        if state is not None and state.verbose and cause is not None:
            _show_traceback(cause)
        if isinstance(error, CliError) and state is not None:
            settings = state.loaded_settings()
            hint = tenant_url_hint(settings.tenant_url) if settings is not None else None
            if hint is not None:
                return CliError(f"{error.message}; hint: {hint}")
        return error


@click.group(cls=_RootGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--profile",
    envvar=ENV_PROFILE,
    metavar="NAME",
    help="A profile of ~/.config/intelliauth/profiles.toml "
    f"(or {ENV_PROFILE}); default: the INTELLIAUTH_* variables, else [default].",
)
@click.option("-v", "--verbose", is_flag=True, help="On an error, show its traceback too.")
@click.version_option(package_name="intelliauth", prog_name="intelliauth")
@click.pass_context
def main(ctx: click.Context, profile: str | None, verbose: bool) -> None:
    """The IntelliAuth platform from a shell: sign-in, tokens, users, webhooks, a sandbox.

    Configured like IntelliAuth(): INTELLIAUTH_TENANT_URL, INTELLIAUTH_CLIENT_ID,
    INTELLIAUTH_CLIENT_SECRET, INTELLIAUTH_AUDIENCE, INTELLIAUTH_SCOPES, or a profile.
    With a client id and no secret (a public client), `intelliauth login` signs a user
    in, and the commands act as that user.
    An error is one line on stderr with exit status 1 (2 for a usage error); -v adds
    the traceback. A closed standard output (| head) ends the command with status 141,
    as it ends Unix tools.
    """
    ctx.obj = CliContext(profile=profile, verbose=verbose)


main.add_command(login)
main.add_command(whoami)
main.add_command(logout)
main.add_command(token)
main.add_command(users)
main.add_command(webhooks)
main.add_command(sandbox)
