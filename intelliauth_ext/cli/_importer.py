"""Importing rows through the bulk import API: batches, polling, and a failure report.

Each batch is one ``client.users.import_`` job, polled with ``client.users.get_import``
until it is ``completed`` or ``failed``; the job's counts give the progress, its ``errors``
the failed rows (by index in the batch, mapped back to lines of the file).

A batch the server refuses as a whole (400 or 422: one row breaks the contract, say a
phone number that is not E.164) is split in halves and each half sent again, down to the
single row, which is then reported with the server's reason. A refused request creates
nothing, so the halves can be sent safely, and a file with ``k`` bad rows costs about
``2 k log2(batch size)`` extra requests rather than failing whole batches.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import anyio
import attrs

from intelliauth_client.models.user_create import UserCreate
from intelliauth_client.models.user_import_job import UserImportJob
from intelliauth_client.models.user_import_mode import UserImportMode
from intelliauth_client.models.user_import_request import UserImportRequest
from intelliauth_client.models.user_import_status import UserImportStatus
from intelliauth_ext import BadRequestError, IntelliAuth, UnprocessableEntityError
from intelliauth_ext.cli._import_file import ImportRow

__all__ = ["ImportSummary", "Importer", "RowFailure"]

_FINISHED = frozenset({UserImportStatus.COMPLETED, UserImportStatus.FAILED})
_REDACTED = "[REDACTED]"


@attrs.frozen
class RowFailure:
    """A row that was not imported.

    Attributes:
        line: Its line in the file.
        email: Its email, when it has one.
        reason: ``<error code>: <message>``, without the row's password.
    """

    line: int
    email: str | None
    reason: str


@attrs.define
class ImportSummary:
    """What an import did.

    Attributes:
        total: Rows in the file.
        created: Users created.
        updated: Users updated (``upsert`` mode).
        failures: The failed rows, in file order, as far as the server itemised them.
        unitemised_failures: Failed rows the server counted but did not list (a job lists
            its first 100 failures only).
    """

    total: int = 0
    created: int = 0
    updated: int = 0
    failures: list[RowFailure] = attrs.Factory(list)
    unitemised_failures: int = 0

    @property
    def failed(self) -> int:
        """How many rows failed."""
        return len(self.failures) + self.unitemised_failures


def _reason(row: ImportRow, text: str) -> str:
    """``text`` on one line, with the row's password (if the server echoed it) redacted."""
    password = row.password
    if password:
        text = text.replace(password, _REDACTED)
    return " ".join(text.split())


def _refusal_reason(exc: BadRequestError | UnprocessableEntityError) -> str:
    details = exc.details.get("errors")
    text = f"{exc.code or exc.status_code}: {exc.message}"
    if isinstance(details, list) and details:
        # The sandbox and the platform locate the problem: "at $.users[0].phone_number: ...".
        text += " " + "; ".join(str(detail) for detail in details[:3])
    return text


class Importer:
    """Sends rows in batches and collects the outcome.

    Args:
        client: The API client (scope ``users:write``).
        batch_size: Rows per import job (1 to 10,000, the API's limit).
        mode: ``create_only`` (an existing email is a failed row) or ``upsert``.
        send_invitations: Email an invitation to each created user without a password.
        poll_interval: Seconds between polls of a running job.
        on_progress: Called with a number of rows just finished (imported or failed).
    """

    def __init__(
        self,
        client: IntelliAuth,
        *,
        batch_size: int = 500,
        mode: UserImportMode = UserImportMode.CREATE_ONLY,
        send_invitations: bool = False,
        poll_interval: float = 1.0,
        on_progress: Callable[[int], None] = lambda finished: None,
    ) -> None:
        if not 1 <= batch_size <= 10_000:
            raise ValueError(f"batch_size must be 1 to 10,000, got {batch_size}")
        self._client = client
        self._batch_size = batch_size
        self._mode = mode
        self._send_invitations = send_invitations
        self._poll_interval = poll_interval
        self._on_progress = on_progress
        self._summary = ImportSummary()

    async def run(self, rows: Sequence[ImportRow]) -> ImportSummary:
        """Import ``rows``; rows refused before sending are reported as failed.

        Raises:
            IntelliAuthError: A batch could not be sent at all (auth, connection, 5xx
                after retries); the batches before it stay imported.
        """
        self._summary = ImportSummary(total=len(rows))
        valid: list[ImportRow] = []
        for row in rows:
            if row.user is None:
                self._fail(row, row.error or "invalid row")
            else:
                valid.append(row)
        for start in range(0, len(valid), self._batch_size):
            await self._submit(valid[start : start + self._batch_size])
        self._summary.failures.sort(key=lambda failure: failure.line)
        return self._summary

    def _fail(self, row: ImportRow, reason: str) -> None:
        self._summary.failures.append(RowFailure(row.line, row.email, _reason(row, reason)))
        self._on_progress(1)

    async def _submit(self, batch: list[ImportRow]) -> None:
        users: list[UserCreate] = [row.user for row in batch if row.user is not None]
        request = UserImportRequest(
            users=users, mode=self._mode, send_invitations=self._send_invitations
        )
        try:
            job = await self._client.users.import_(request)
        except (BadRequestError, UnprocessableEntityError) as exc:
            if len(batch) == 1:
                self._fail(batch[0], _refusal_reason(exc))
                return
            middle = len(batch) // 2
            await self._submit(batch[:middle])
            await self._submit(batch[middle:])
            return
        job = await self._follow(job)
        self._record(job, batch)

    async def _follow(self, job: UserImportJob) -> UserImportJob:
        """Poll ``job`` until it finishes, reporting progress as rows are processed."""
        reported = 0
        while job.status not in _FINISHED:
            self._on_progress(max(0, job.processed_count - reported))
            reported = max(reported, job.processed_count)
            await anyio.sleep(self._poll_interval)
            job = await self._client.users.get_import(job.id)
        self._on_progress(max(0, job.total_count - reported))
        return job

    def _record(self, job: UserImportJob, batch: list[ImportRow]) -> None:
        summary = self._summary
        summary.created += job.created_count
        summary.updated += job.updated_count
        itemised = 0
        for error in job.errors:
            if 0 <= error.index < len(batch):
                row = batch[error.index]
                text = f"{error.error}: {error.message}"
                summary.failures.append(RowFailure(row.line, row.email, _reason(row, text)))
                itemised += 1
        unprocessed = job.total_count - job.processed_count
        if job.status == UserImportStatus.FAILED and unprocessed > 0:
            why = job.error if isinstance(job.error, str) and job.error else "no reason given"
            for row in batch[job.processed_count :]:
                summary.failures.append(
                    RowFailure(row.line, row.email, _reason(row, f"the import job failed: {why}"))
                )
                itemised += 1
        summary.unitemised_failures += max(0, job.failed_count + unprocessed - itemised)
