"""The in-memory store: named collections of records kept in insertion order."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Collection(Generic[T]):
    """Records by id, each with a monotonically increasing sequence number.

    The sequence number orders listings (newest first) and anchors pagination cursors, so a
    page boundary stays put when records are added or removed elsewhere.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._records: dict[str, tuple[int, T]] = {}
        self._sequence = itertools.count(1)

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._records

    def __repr__(self) -> str:
        return f"<Collection {self.kind}: {len(self)} records>"

    def add(self, record_id: str, record: T) -> T:
        """Insert a new record.

        Raises:
            KeyError: a record with this id exists already.
        """
        if record_id in self._records:
            raise KeyError(f"{self.kind} {record_id} exists already")
        self._records[record_id] = (next(self._sequence), record)
        return record

    def get(self, record_id: str) -> T | None:
        """Return the record with this id, or None."""
        entry = self._records.get(record_id)
        return entry[1] if entry is not None else None

    def replace(self, record_id: str, record: T) -> T:
        """Replace an existing record, keeping its place in the order."""
        sequence, _ = self._records[record_id]
        self._records[record_id] = (sequence, record)
        return record

    def remove(self, record_id: str) -> T | None:
        """Remove and return the record with this id, or None when there was none."""
        entry = self._records.pop(record_id, None)
        return entry[1] if entry is not None else None

    def values(self) -> Iterator[T]:
        """Records in insertion order (oldest first)."""
        return (record for _, record in self._records.values())

    def sequenced(
        self, where: Callable[[T], bool] | None = None, *, newest_first: bool = True
    ) -> list[tuple[int, T]]:
        """Return (sequence, record) pairs matching ``where``, in listing order."""
        entries = [entry for entry in self._records.values() if where is None or where(entry[1])]
        entries.sort(key=lambda entry: entry[0], reverse=newest_first)
        return entries

    def find(self, where: Callable[[T], bool]) -> T | None:
        """Return the first record (oldest first) matching ``where``, or None."""
        return next((record for record in self.values() if where(record)), None)
