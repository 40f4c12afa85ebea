"""``intelliauth users list`` and ``intelliauth users import FILE``."""

from __future__ import annotations

import contextlib
import io
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

import click

from intelliauth_client.models.user import User
from intelliauth_client.models.user_import_mode import UserImportMode
from intelliauth_client.models.user_status import UserStatus
from intelliauth_client.types import UNSET, Unset
from intelliauth_ext.cli._context import CliContext
from intelliauth_ext.cli._import_file import (
    FileFormat,
    ImportFileError,
    ImportRow,
    guess_format,
    read_rows,
)
from intelliauth_ext.cli._importer import Importer, ImportSummary
from intelliauth_ext.cli._progress import Progress
from intelliauth_ext.cli._runner import run

__all__ = ["users"]

_TABLE_COLUMNS = ("ID", "EMAIL", "NAME", "STATUS", "CREATED")


@click.group()
def users() -> None:
    """List and import users."""


# ---------------------------------------------------------------- list


def _table_row(user: User) -> tuple[str, ...]:
    created = user.created_at.isoformat(timespec="seconds").replace("+00:00", "Z")
    return (user.id, user.email, user.name, str(user.status), created)


def _echo_table(rows: Sequence[tuple[str, ...]]) -> None:
    widths = [
        max(len(row[i]) for row in [_TABLE_COLUMNS, *rows]) for i in range(len(_TABLE_COLUMNS))
    ]
    for row in [_TABLE_COLUMNS, *rows]:
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


@users.command("list")
@click.option("--email", help="Only the user with this email (case-insensitive).")
@click.option(
    "--status",
    # The contract's statuses: a typo is a usage error here, not a 400 from the tenant.
    type=click.Choice([status.value for status in UserStatus]),
    help="Only users in this status.",
)
@click.option("--q", "query", metavar="TEXT", help="Only users whose email or name contains TEXT.")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    help="Stop after this many users (default: every user, page after page).",
)
@click.option(
    "--page-size",
    type=click.IntRange(1, 200),
    default=100,
    show_default=True,
    help="Users per request.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line (JSON lines).")
@click.pass_obj
def list_users(
    obj: CliContext,
    email: str | None,
    status: str | None,
    query: str | None,
    limit: int | None,
    page_size: int,
    as_json: bool,
) -> None:
    """List users, every page: a table, or JSON lines with --json.

    JSON lines are written page by page, so `| head` or `| jq` start at once:

        intelliauth users list --json --status active | jq -r .email
    """
    status_filter: UserStatus | Unset = UNSET if status is None else UserStatus(status)

    async def list_all() -> list[tuple[str, ...]]:
        rows: list[tuple[str, ...]] = []
        async with obj.client() as client:
            paginator = client.users.list(
                email=email if email is not None else UNSET,
                status=status_filter,
                q=query if query is not None else UNSET,
                limit=page_size,
            )
            listed = 0
            async for user in paginator:
                if as_json:
                    click.echo(json.dumps(user.to_dict(), ensure_ascii=False))
                else:
                    rows.append(_table_row(user))
                listed += 1
                if limit is not None and listed >= limit:
                    break  # the next page is never fetched
        return rows

    rows = run(list_all)
    if not as_json:
        _echo_table(rows)


# ---------------------------------------------------------------- import


def _echo_summary(source: str, summary: ImportSummary) -> None:
    click.echo(
        f"{source}: {summary.total} rows, {summary.created} created, "
        f"{summary.updated} updated, {summary.failed} failed"
    )
    for failure in summary.failures:
        who = f" ({failure.email})" if failure.email else ""
        click.echo(f"  line {failure.line}{who}: {failure.reason}")
    if summary.unitemised_failures:
        click.echo(
            f"  and {summary.unitemised_failures} more failed rows the server did not list "
            "(a job lists its first 100); import them in smaller batches to see why"
        )


@contextlib.contextmanager
def _open_text(path: Path) -> Iterator[IO[str]]:
    if str(path) == "-":
        yield sys.stdin
        return
    # utf-8-sig: spreadsheet exports start with a byte order mark.
    with path.open(encoding="utf-8-sig", newline="") as file:
        yield file


def _read(path: Path, file_format: str) -> list[ImportRow]:
    try:
        with _open_text(path) as file:
            text = file.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise click.FileError(str(path), hint=f"can not read it as UTF-8 text ({exc})") from None
    chosen: FileFormat
    if file_format == "auto":
        chosen = guess_format(path.name, text[:256])
    else:
        chosen = "csv" if file_format == "csv" else "jsonl"
    try:
        return read_rows(io.StringIO(text, newline=None), chosen)
    except ImportFileError as exc:
        raise click.UsageError(f"{path}: {exc}") from None


@users.command("import")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["auto", "csv", "jsonl"]),
    default="auto",
    show_default=True,
    help="The file's format; auto goes by the extension, then by a first '{'.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1, 10_000),
    default=500,
    show_default=True,
    help="Rows per import job.",
)
@click.option(
    "--mode",
    type=click.Choice([mode.value for mode in UserImportMode]),
    default=UserImportMode.CREATE_ONLY.value,
    show_default=True,
    help="create_only reports existing emails as failed rows; upsert updates them.",
)
@click.option(
    "--send-invitations", is_flag=True, help="Email an invitation to users without a password."
)
@click.option(
    "--poll-interval",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Seconds between polls of a running import job.",
)
@click.option(
    "--progress/--no-progress",
    default=True,
    show_default=True,
    help="Show progress on stderr (a bar on a terminal, lines elsewhere).",
)
@click.pass_obj
def import_users(
    obj: CliContext,
    file: Path,
    file_format: str,
    batch_size: int,
    mode: str,
    send_invitations: bool,
    poll_interval: float,
    progress: bool,
) -> None:
    """Import users from FILE (CSV with a header row, or JSON lines; - for stdin).

    Rows go in batches through the bulk import API. At the end a summary gives the
    created, updated and failed counts and each failed row's line and reason; the exit
    status is 1 when any row failed.

    CSV columns: email (required), name, given_name, family_name, phone_number, locale,
    zoneinfo, password, email_verified, send_invitation, and metadata.<key>.
    """
    rows = _read(file, file_format)
    stderr = sys.stderr

    async def import_all() -> ImportSummary:
        with Progress(len(rows), enabled=progress, stream=stderr) as bar:
            async with obj.client() as client:
                importer = Importer(
                    client,
                    batch_size=batch_size,
                    mode=UserImportMode(mode),
                    send_invitations=send_invitations,
                    poll_interval=poll_interval,
                    on_progress=bar.advance,
                )
                return await importer.run(rows)

    summary = run(import_all)
    _echo_summary(str(file) if str(file) != "-" else "stdin", summary)
    if summary.failed:
        click.get_current_context().exit(1)
