"""``intelliauth webhooks verify``: check a delivery's signature and print its event."""

from __future__ import annotations

import os
from typing import BinaryIO, TextIO

import click
import httpx

from intelliauth_ext import webhooks as webhooks_api
from intelliauth_ext.cli._runner import CliError

__all__ = ["webhooks"]

#: Where the signing secrets are read from when no ``--secret`` is given.
ENV_WEBHOOK_SECRETS = "INTELLIAUTH_WEBHOOK_SECRETS"


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
    "--secret",
    "secrets",
    multiple=True,
    metavar="SECRET",
    help="The subscription's signing secret; repeat it during a rotation. "
    f"Default: {ENV_WEBHOOK_SECRETS} (comma-separated), which keeps it out of `ps`.",
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
    secrets: tuple[str, ...],
    header_lines: tuple[str, ...],
    headers_file: TextIO | None,
    body: BinaryIO,
    tolerance: float,
) -> None:
    """Verify a delivery read from standard input; print its event type and id.

    Exits 1, naming the failed check (header, signature, timestamp or payload), when the
    delivery is refused:

        intelliauth webhooks verify -H "IntelliAuth-Signature: $SIG" < body.json
    """
    candidates = list(secrets) or [
        value.strip()
        for value in os.environ.get(ENV_WEBHOOK_SECRETS, "").split(",")
        if value.strip()
    ]
    if not candidates:
        raise click.UsageError(f"give the signing secret with --secret or {ENV_WEBHOOK_SECRETS}")
    headers = _headers_of(header_lines, headers_file)
    payload = body.read()
    try:
        event = webhooks_api.verify(payload, headers, candidates, tolerance=tolerance)
    except webhooks_api.WebhookVerificationError as exc:
        raise CliError(f"refused: {exc}") from None
    click.echo(f"{event.type_} {event.id}")
