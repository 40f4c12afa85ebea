"""The rows of a user import file: CSV with a header row, or JSON lines.

Every row becomes an ``ImportRow``: a ``UserCreate`` ready to send, or the reason it can
not be sent (no email, a malformed line, a cell that is not a boolean). Rows are numbered
by their line in the file, the number a person looks for in an editor. Reasons never quote
a cell's value: the file may hold passwords.

CSV columns are the ``UserCreate`` fields (``email`` required; ``name``, ``given_name``,
``family_name``, ``phone_number``, ``locale``, ``zoneinfo``, ``password``,
``email_verified``, ``send_invitation``) plus ``metadata.<key>`` for metadata entries. An
empty cell is left out. Booleans are ``true``/``false``, ``yes``/``no`` or ``1``/``0``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final, Literal, TextIO

import attrs

from intelliauth_client.models.user_create import UserCreate
from intelliauth_ext._json import json_object

__all__ = ["CSV_COLUMNS", "FileFormat", "ImportFileError", "ImportRow", "guess_format", "read_rows"]

FileFormat = Literal["csv", "jsonl"]

#: The CSV columns a row may have besides ``metadata.<key>``.
CSV_COLUMNS: Final = (
    "email",
    "name",
    "given_name",
    "family_name",
    "phone_number",
    "locale",
    "zoneinfo",
    "password",
    "email_verified",
    "send_invitation",
)
_BOOLEAN_COLUMNS: Final = frozenset({"email_verified", "send_invitation"})
_METADATA_PREFIX: Final = "metadata."
_TRUE: Final = frozenset({"true", "yes", "1"})
_FALSE: Final = frozenset({"false", "no", "0"})
# As lenient as the contract's `format: email`; the server has the last word.
_EMAIL: Final = re.compile(r"[^@\s]+@[^@\s]+")


class ImportFileError(Exception):
    """The file as a whole can not be imported (no header, an unknown column)."""


@attrs.frozen(repr=False)
class ImportRow:
    """One row of the file: a user to send, or why it is not sent.

    Attributes:
        line: The row's line in the file (1-based; for CSV, the line it ends on).
        user: The user to create, when the row is valid.
        error: Why the row is refused before sending, when it is not.
        email: The row's email, as given, when it has one (for the failure report).
    """

    line: int
    user: UserCreate | None = None
    error: str | None = None
    email: str | None = None

    @property
    def password(self) -> str | None:
        """The row's password, so that reports can make sure never to show it."""
        if self.user is None or not isinstance(self.user.password, str):
            return None
        return self.user.password

    def __repr__(self) -> str:
        state = "valid" if self.user is not None else f"error={self.error!r}"
        return f"ImportRow(line={self.line}, email={self.email!r}, {state})"


def guess_format(name: str, head: str) -> FileFormat:
    """``jsonl`` for ``.jsonl``/``.ndjson``/``.json`` names or a first ``{``; else ``csv``."""
    lowered = name.lower()
    if lowered.endswith(".csv"):
        return "csv"
    if lowered.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    return "jsonl" if head.lstrip().startswith("{") else "csv"


def _checked(line: int, fields: Mapping[str, Any]) -> ImportRow:
    """The row for ``fields`` (API field names), refused when its email is unusable."""
    email = fields.get("email")
    if not isinstance(email, str) or not email.strip():
        return ImportRow(line=line, error="validation_failed: email is missing")
    if not _EMAIL.fullmatch(email.strip()):
        return ImportRow(
            line=line, email=email, error="validation_failed: email is not an email address"
        )
    try:
        user = UserCreate.from_dict({**fields, "email": email.strip()})
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return ImportRow(
            line=line,
            email=email,
            error=f"validation_failed: not a user object ({type(exc).__name__})",
        )
    return ImportRow(line=line, user=user, email=email.strip())


def _csv_rows(file: TextIO) -> Iterator[ImportRow]:
    reader = csv.DictReader(file)
    header = reader.fieldnames
    if not header:
        raise ImportFileError("the CSV file is empty: it needs a header row")
    columns = [column.strip() for column in header]
    unknown = [c for c in columns if c not in CSV_COLUMNS and not c.startswith(_METADATA_PREFIX)]
    if unknown:
        raise ImportFileError(
            f"unknown CSV columns: {', '.join(unknown)} (known: {', '.join(CSV_COLUMNS)}, "
            f"and {_METADATA_PREFIX}<key>)"
        )
    if "email" not in columns:
        raise ImportFileError("the CSV header has no email column")
    reader.fieldnames = columns
    for cells in reader:
        yield _csv_row(reader.line_num, cells)


def _csv_row(line: int, cells: Mapping[str | None, Any]) -> ImportRow:
    if None in cells:  # DictReader files surplus cells under the key None
        return ImportRow(line=line, error="validation_failed: more cells than the header has")
    fields: dict[str, Any] = {}
    metadata: dict[str, str] = {}
    for column, raw in cells.items():
        if column is None or raw is None or not str(raw).strip():
            continue  # an empty (or missing) cell: the field is left out
        value = str(raw).strip() if column != "password" else str(raw)
        if column.startswith(_METADATA_PREFIX):
            metadata[column.removeprefix(_METADATA_PREFIX)] = value
        elif column in _BOOLEAN_COLUMNS:
            if value.lower() not in _TRUE | _FALSE:
                email = cells.get("email")
                return ImportRow(
                    line=line,
                    email=email if isinstance(email, str) else None,
                    error=f"validation_failed: {column} is not true or false",
                )
            fields[column] = value.lower() in _TRUE
        else:
            fields[column] = value
    if metadata:
        fields["metadata"] = metadata
    return _checked(line, fields)


def _jsonl_rows(lines: Iterable[str]) -> Iterator[ImportRow]:
    for line, text in enumerate(lines, 1):
        if not text.strip():
            continue
        value = json_object(text)
        if value is None:
            yield ImportRow(line=line, error="validation_failed: the line is not a JSON object")
            continue
        yield _checked(line, value)


def read_rows(file: TextIO, file_format: FileFormat) -> list[ImportRow]:
    """Every row of ``file``, valid or not, in file order.

    Raises:
        ImportFileError: A CSV file without a header, an ``email`` column or with an
            unknown column.
    """
    if file_format == "csv":
        return list(_csv_rows(file))
    return list(_jsonl_rows(file))
