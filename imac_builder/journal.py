"""One crash-safe append-only journal of JSON records, used by every resumable stage.

Appends are whole lines written with one call and synced to disk, so a kill or a full
disk loses at most the record in flight. Opening the journal cuts a torn last line (or
the next append would be glued to it); replay skips lines that do not parse (NaN and
infinity included) and counts them; compaction rewrites the journal atomically with the
records a caller keeps. A journal that is a symbolic link is refused, never followed;
one that is not a regular file or is over :data:`guard.TABLE_LIMIT` bytes is refused in
one line before a byte of it is read.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from . import atomic
from .errors import UserError
from .guard import (
    TABLE_LIMIT,
    open_input,
    open_nofollow,
    read_limited,
    refuse_constant,
    strict_float,
)

log = logging.getLogger(__name__)


def _line(record: Any) -> bytes:
    return (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")


class Journal:
    """``path``: one JSON value a line. Use as a context manager to append."""

    def __init__(self, path: Path | str, *, sync: bool = True) -> None:
        self.path = Path(path)
        self.sync = sync
        self.bad_lines = 0
        self._fh: Any = None

    def repair(self) -> int:
        """Cut a torn last line; return how many bytes were dropped."""
        if not os.path.lexists(self.path):  # anything else there is refused in one line
            return 0
        os.close(open_input(self.path, "a journal", TABLE_LIMIT, nofollow=True))
        with os.fdopen(open_nofollow(self.path, os.O_RDWR), "rb+") as fh:
            size = fh.seek(0, os.SEEK_END)
            if size > TABLE_LIMIT:
                raise UserError(f"{self.path} is {size:,} bytes, over the {TABLE_LIMIT:,} a "
                                "journal may have: it is not one")
            if size == 0:
                return 0
            fh.seek(size - 1)
            if fh.read(1) == b"\n":
                return 0
            fh.seek(0)
            keep = fh.read().rfind(b"\n") + 1
            fh.truncate(keep)
            os.fsync(fh.fileno())
        log.warning("dropped a torn last line of %s (%d bytes)", self.path, size - keep)
        return size - keep

    def replay(self) -> Iterator[Any]:
        """Every complete record in order; unreadable lines are skipped and counted."""
        self.bad_lines = 0
        if not os.path.lexists(self.path):  # anything else there is refused in one line
            return
        data = read_limited(open_input(self.path, "a journal", TABLE_LIMIT, nofollow=True),
                            self.path, "a journal", TABLE_LIMIT)
        lines = data.split(b"\n")
        if lines and lines[-1] and not data.endswith(b"\n"):
            lines.pop()  # cut short by a crash: never complete, never counted
        for i, raw in enumerate(lines):
            if not raw.strip():
                continue
            try:
                # NaN, Infinity and numbers that overflow (1e999) are no values
                yield json.loads(raw.decode("utf-8"), parse_constant=refuse_constant,
                                 parse_float=strict_float)
            except (UnicodeDecodeError, ValueError, RecursionError):
                self.bad_lines += 1
                log.warning("ignored unreadable line %d of %s", i + 1, self.path)

    def append(self, record: Any) -> None:
        """Append one record as one line (synced unless ``sync=False``)."""
        if self._fh is None:
            self.open()
        self._fh.write(_line(record))
        self._fh.flush()
        if self.sync:
            os.fsync(self._fh.fileno())

    def open(self) -> Journal:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.repair()
        self._fh = os.fdopen(open_nofollow(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT),
                             "ab")
        return self

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def compact(self, records: Iterable[Any]) -> None:
        """Replace the journal atomically with ``records`` (one line each)."""
        self.close()
        with atomic.atomic_open(self.path, "wb") as fh:
            for r in records:
                fh.write(_line(r))

    def remove(self) -> None:
        """Drop the journal once a table holds everything it recorded."""
        self.close()
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> Journal:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()
