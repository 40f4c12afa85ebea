"""``intelliauth webhooks verify``: check a delivery's signature and print its event.

The signing secrets come from ``INTELLIAUTH_WEBHOOK_SECRETS`` or ``--secret-file``, never
from an option's value: a command line is readable by every user of the machine (``ps``,
``/proc/<pid>/cmdline``) and lands in shell history. ``--secret`` is refused with that
reason, without echoing what was given.
"""

from __future__ import annotations

import os
from typing import BinaryIO, TextIO

import click
import httpx

from intelliauth_ext import webhooks as webhooks_api
from intelliauth_ext.cli._runner import CliError

__all__ = ["webhooks"]

#: Where the signing secrets are read from when no ``--secret-file`` is given.
ENV_WEBHOOK_SECRETS = "INTELLIAUTH_WEBHOOK_SECRETS"


def _secrets_of(file: TextIO | None) -> list[str]:
    """The secrets of ``--secret-file`` (one a line), else of ``INTELLIAUTH_WEBHOOK_SECRETS``."""
    if file is not None:
        lines = (line.strip() for line in file)
        return [line for line in lines if line and not line.startswith("#")]
    return [
        value.strip()
        for value in os.environ.get(ENV_WEBHOOK_SECRETS, "").split(",")
        if value.strip()
    ]


def _refuse_secret_option(ctx: click.Context, param: click.Parameter, value: object) -> None:
    if value:  # only its name: the value is the secret
        raise click.BadParameter(
            f"a secret on the command line is visible to every user (ps); put it in "
            f"{ENV_WEBHOOK_SECRETS} or a file for --secret-file",
            ctx=ctx,
            param=param,
        )


def _parse_header(line: str, where: str) -> tuple[str, str]:
    name, colon, value = line.partition(":")
    if not colon or not name.strip() or name != name.rstrip() or " " in name.strip():
        # Only the position: the value may be anything the caller pasted.
        raise click.BadParameter(f"{where} is not a 'Name: value' header")
    return name.strip(), value.strip()


def _headers_of(lines: tuple[str, ...], file: TextIO | None) -> httpx.Headers:
    pairs = [_parse_header(line, f"--header #{i}") for i, line in enumerate(lines, 1)]
    if file is not None:
        for number, raw in enumerate(file, 1):
            line = raw.rstrip("\r\n")
            # A dump may start with the request or status line (curl -D, a proxy log).
            if not line.strip() or (number == 1 and ":" not in line.split(" ", 1)[0]):
                continue
            pairs.append(_parse_header(line, f"line {number} of {file.name}"))
    # httpx.Headers keeps repeats, so verify() sees a signature header sent twice.
    return httpx.Headers(pairs)


@click.group()
def webhooks() -> None:
    """Work with the platform's webhook deliveries."""


@webhooks.command()
@click.option(
    "--secret-file",
    type=click.File("r"),
    help="A file of signing secrets, one a line (two during a rotation). "
    f"Default: {ENV_WEBHOOK_SECRETS} (comma-separated).",
)
@click.option(
    "--secret",
    multiple=True,
    hidden=True,
    expose_value=False,
    callback=_refuse_secret_option,
)
@click.option(
    "--header",
    "-H",
    "header_lines",
    multiple=True,
    metavar="'NAME: VALUE'",
    help="A header of the delivery, e.g. 'IntelliAuth-Signature: t=...,v1=...' (repeatable).",
)
@click.option(
    "--headers-file",
    type=click.File("r"),
    help="A file of 'Name: value' lines (a leading request or status line is skipped).",
)
@click.option(
    "--body",
    type=click.File("rb"),
    default="-",
    help="The raw body, exactly as received. Default: standard input.",
)
@click.option(
    "--tolerance",
    type=click.FloatRange(min=0),
    default=webhooks_api.DEFAULT_TOLERANCE,
    show_default=True,
    help="Seconds the signature's timestamp may be off (replays beyond it are refused).",
)
def verify(
    secret_file: TextIO | None,
    header_lines: tuple[str, ...],
    headers_file: TextIO | None,
    body: BinaryIO,
    tolerance: float,
) -> None:
    """Verify a delivery read from standard input; print its event type and id.

    The signing secrets come from INTELLIAUTH_WEBHOOK_SECRETS (comma-separated) or
    --secret-file, never from the command line, where any user could read them (ps).
    Exits 1, naming the failed check (header, signature, timestamp or payload), when the
    delivery is refused:

        intelliauth webhooks verify -H "IntelliAuth-Signature: $SIG" < body.json
    """
    candidates = _secrets_of(secret_file)
    if not candidates:
        raise click.UsageError(
            f"give the signing secret in {ENV_WEBHOOK_SECRETS} or a file for --secret-file"
        )
    headers = _headers_of(header_lines, headers_file)
    payload = body.read()
    try:
        event = webhooks_api.verify(payload, headers, candidates, tolerance=tolerance)
    except webhooks_api.WebhookVerificationError as exc:
        raise CliError(f"refused: {exc}") from None
    click.echo(f"{event.type_} {event.id}")
