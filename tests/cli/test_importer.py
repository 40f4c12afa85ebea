"""``Importer`` and the progress display, against a scripted import API."""

from __future__ import annotations

import datetime
import io
from typing import Any, cast

import httpx
import pytest

from intelliauth_client.models.error_code import ErrorCode
from intelliauth_client.models.user_create import UserCreate
from intelliauth_client.models.user_import_job import UserImportJob
from intelliauth_client.models.user_import_mode import UserImportMode
from intelliauth_client.models.user_import_request import UserImportRequest
from intelliauth_client.models.user_import_row_error import UserImportRowError
from intelliauth_client.models.user_import_status import UserImportStatus
from intelliauth_ext import IntelliAuth, UnprocessableEntityError
from intelliauth_ext.cli._import_file import ImportRow
from intelliauth_ext.cli._importer import Importer
from intelliauth_ext.cli._progress import Progress

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def _job(total: int, **fields: Any) -> UserImportJob:
    values: dict[str, Any] = {
        "id": "imp_1",
        "status": UserImportStatus.QUEUED,
        "mode": UserImportMode.CREATE_ONLY,
        "total_count": total,
        "processed_count": 0,
        "created_count": 0,
        "updated_count": 0,
        "failed_count": 0,
        "errors": [],
        "created_at": NOW,
        "started_at": None,
        "completed_at": None,
    }
    values.update(fields)
    return UserImportJob(**values)


class _ScriptedUsers:
    """``client.users`` whose import jobs finish as ``finish(request)`` says."""

    def __init__(self, finish: Any) -> None:
        self.finish = finish
        self.requests: list[UserImportRequest] = []
        self.pending: UserImportJob | None = None

    async def import_(self, body: UserImportRequest) -> UserImportJob:
        self.requests.append(body)
        result = self.finish(body)
        if isinstance(result, Exception):
            raise result
        self.pending = result
        return _job(len(body.users))

    async def get_import(self, import_id: str) -> UserImportJob:
        assert self.pending is not None
        return self.pending


def _client(users: _ScriptedUsers) -> IntelliAuth:
    return cast(IntelliAuth, type("Client", (), {"users": users})())


def _rows(count: int) -> list[ImportRow]:
    return [
        ImportRow(line=i + 2, user=UserCreate(email=f"u{i}@example.com"), email=f"u{i}@example.com")
        for i in range(count)
    ]


@pytest.mark.anyio
async def test_failed_job_reports_its_unprocessed_rows() -> None:
    """A job that fails half-way reports every unprocessed row with the job's error."""
    users = _ScriptedUsers(
        lambda body: _job(
            len(body.users),
            status=UserImportStatus.FAILED,
            processed_count=1,
            created_count=1,
            error="storage unavailable",
        )
    )
    summary = await Importer(_client(users), poll_interval=0).run(_rows(3))
    assert (summary.created, summary.failed) == (1, 2)
    assert [failure.line for failure in summary.failures] == [3, 4]
    assert all("storage unavailable" in failure.reason for failure in summary.failures)


@pytest.mark.anyio
async def test_failures_beyond_the_listed_hundred_are_counted() -> None:
    """Failed rows the job counted but did not list are reported as a count."""
    errors = [
        UserImportRowError(index=i, error=ErrorCode("already_exists"), message="exists")
        for i in range(100)
    ]
    users = _ScriptedUsers(
        lambda body: _job(
            len(body.users),
            status=UserImportStatus.COMPLETED,
            processed_count=len(body.users),
            created_count=len(body.users) - 150,
            failed_count=150,
            errors=errors,
        )
    )
    summary = await Importer(_client(users), poll_interval=0).run(_rows(400))
    assert summary.created == 250
    assert len(summary.failures) == 100
    assert summary.unitemised_failures == 50
    assert summary.failed == 150


@pytest.mark.anyio
async def test_refused_batch_is_bisected_to_the_bad_row() -> None:
    """A 422 for a whole batch is narrowed down by halves; only the bad row fails."""
    response = httpx.Response(422, request=httpx.Request("POST", "https://t.example/"))

    def finish(body: UserImportRequest) -> Any:
        if any(user.email == "u5@example.com" for user in body.users):
            return UnprocessableEntityError(
                "bad row", response=response, code="validation_failed", details={}
            )
        return _job(
            len(body.users),
            status=UserImportStatus.COMPLETED,
            processed_count=len(body.users),
            created_count=len(body.users),
        )

    users = _ScriptedUsers(finish)
    summary = await Importer(_client(users), batch_size=8, poll_interval=0).run(_rows(8))
    assert summary.created == 7
    assert [(f.line, f.reason) for f in summary.failures] == [(7, "validation_failed: bad row")]
    assert len(users.requests) == 7  # 8, 4+4, 2+2 of the bad half, 1+1


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_draws_a_bar_on_a_terminal() -> None:
    """On a terminal the progress is click's bar, not log lines."""
    stream = _Terminal()
    with Progress(10, enabled=True, stream=stream) as progress:
        progress.advance(4)
        progress.advance(6)
    assert "importing" in stream.getvalue()
    assert "10/10" in stream.getvalue()
    assert "imported" not in stream.getvalue()


def test_progress_lines_elsewhere_and_silence_when_disabled() -> None:
    """Off a terminal, one line per tenth; with ``--no-progress`` nothing at all."""
    stream = io.StringIO()
    with Progress(100, enabled=True, stream=stream) as progress:
        for _ in range(100):
            progress.advance(1)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "imported 10/100 rows (10%)"
    assert lines[-1] == "imported 100/100 rows (100%)"
    assert len(lines) == 10
    quiet = io.StringIO()
    with Progress(100, enabled=False, stream=quiet) as progress:
        progress.advance(100)
    assert quiet.getvalue() == ""
