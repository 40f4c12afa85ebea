"""Import progress on stderr: a bar on a terminal, a line per tenth in a log."""

from __future__ import annotations

import contextlib
from typing import Any, TextIO

import click

__all__ = ["Progress"]


class Progress:
    """Rows finished so far, on stderr: a bar on a terminal, a line per step elsewhere.

    A CI log gets ``imported 1500/5000 rows (30%)`` lines, at most one per tenth, instead
    of the carriage returns a bar is drawn with.
    """

    def __init__(self, total: int, *, enabled: bool, stream: TextIO) -> None:
        self._total = total
        self._done = 0
        self._enabled = enabled and total > 0
        self._stream = stream
        self._bar: Any = None  # click's ProgressBar; its module is private
        self._bar_context: contextlib.ExitStack | None = None
        self._last_tenth = 0

    def __enter__(self) -> Progress:
        if self._enabled and self._stream.isatty():
            self._bar_context = contextlib.ExitStack()
            self._bar = self._bar_context.enter_context(
                click.progressbar(
                    length=self._total, label="importing", file=self._stream, show_pos=True
                )
            )
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._bar_context is not None:
            self._bar_context.close()

    def advance(self, finished: int) -> None:
        """Count ``finished`` more rows done."""
        if not finished:
            return
        self._done = min(self._total, self._done + finished)
        if self._bar is not None:
            self._bar.update(finished)
        elif self._enabled:
            tenth = self._done * 10 // self._total
            finished_now = self._done == self._total and self._last_tenth <= 10
            if tenth > self._last_tenth or finished_now:
                # Past 10 once the last line is out: nothing is printed after 100%.
                self._last_tenth = tenth if self._done < self._total else 11
                percent = self._done * 100 // self._total
                click.echo(
                    f"imported {self._done}/{self._total} rows ({percent}%)", file=self._stream
                )
