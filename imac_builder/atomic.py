"""Atomic file writes: a temporary file beside the target, fsync, then rename.

A crash or Ctrl-C never leaves a half-written table behind: readers see the old file
or the new one, nothing in between. A published file has the mode a plain ``open`` would
give it (``0666`` less the umask: ``0644`` under the usual ``022``), like the journals the
program appends to; only the temporary file is private while it is written.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO


def _umask() -> int:
    """The process's umask, read without changing it (``/proc``) where possible."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    old = os.umask(0o022)  # elsewhere: set and restore (a brief window)
    os.umask(old)
    return old


def publish_mode() -> int:
    """The mode of a published file: ``0666`` less the umask."""
    return 0o666 & ~_umask()


def temp_beside(path: Path) -> Path:
    """A new empty temporary file next to ``path`` (same file system, so renames are atomic).

    Its name (``.<name>.<random>.tmp``) is what :func:`remove_stale_temporaries` cleans.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    return Path(tmp)


def publish(tmp: Path, path: Path) -> None:
    """Sync a finished temporary file to disk, give it the mode a plain ``open`` would
    (``mkstemp`` makes it ``0600``), then rename it onto ``path``."""
    with open(tmp, "rb") as fh:
        os.fchmod(fh.fileno(), publish_mode())
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def rename_noreplace(src: Path, dst: Path) -> None:
    """Rename ``src`` to ``dst`` only if ``dst`` does not exist, checked by the kernel at
    the moment of the rename (``renameat2(RENAME_NOREPLACE)``), so two writers into one
    shared folder cannot both win. Raises ``FileExistsError`` for the loser.

    Where ``renameat2`` is missing (not Linux, old kernels or file systems), a folder is
    renamed with ``os.rename``, which refuses a non-empty target (ENOTEMPTY), after
    refusing an existing one.
    """
    import ctypes
    import errno

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        renameat2 = None
    if renameat2 is not None:
        at_fdcwd, rename_noreplace_flag = -100, 1
        rc = renameat2(at_fdcwd, os.fsencode(src), at_fdcwd, os.fsencode(dst),
                       rename_noreplace_flag)
        if rc == 0:
            return
        err = ctypes.get_errno()
        if err not in (errno.EINVAL, errno.ENOSYS):  # EINVAL: the file system lacks it
            if err in (errno.EEXIST, errno.ENOTEMPTY):
                raise FileExistsError(err, os.strerror(err), str(dst))
            raise OSError(err, os.strerror(err), str(src), None, str(dst))
    if os.path.lexists(dst):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(dst))
    try:
        os.rename(src, dst)
    except OSError as e:
        if e.errno in (errno.EEXIST, errno.ENOTEMPTY):
            raise FileExistsError(e.errno, e.strerror, str(dst)) from None
        raise


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path to write (any library: HDF5, torch); renamed onto ``path`` on success."""
    tmp = temp_beside(path)
    try:
        yield tmp
        publish(tmp, Path(path))
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_open(path: Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Open a temporary file next to ``path``; rename it onto ``path`` on success only."""
    binary = "b" in mode
    with atomic_path(path) as tmp, open(tmp, mode, encoding=None if binary else encoding,
                                        newline=None if binary else "") as fh:
        yield fh


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8, LF line endings)."""
    with atomic_open(path) as fh:
        fh.write(text)


class _CsvWriter:
    """``csv.writer`` with LF line ends that also quotes a field holding a lone CR.

    The standard writer quotes only the characters of its line terminator, so a value
    such as ``"a\rb"`` (a tag or title from the wild) would be written bare and read
    back as two rows; such rows are written with every field quoted instead.
    """

    def __init__(self, fh: IO[str]) -> None:
        self.plain = csv.writer(fh, lineterminator="\n")
        self.quoted = csv.writer(fh, lineterminator="\n", quoting=csv.QUOTE_ALL)

    def writerow(self, row: Sequence[object]) -> None:
        values = ["" if v is None else v for v in row]
        cr = any(isinstance(v, str) and "\r" in v for v in values)
        (self.quoted if cr else self.plain).writerow(values)


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    """Write a UTF-8 CSV with a header row atomically; return the number of data rows."""
    n = 0
    with atomic_open(path) as fh:
        writer = _CsvWriter(fh)
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            n += 1
    return n


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Render rows as CSV text (for tests and reports)."""
    buf = io.StringIO()
    writer = _CsvWriter(buf)
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
    return buf.getvalue()


def remove_stale_temporaries(folder: Path) -> int:
    """Delete temporary files a killed process left in ``folder``; return how many."""
    n = 0
    if not folder.is_dir():
        return 0
    for p in folder.glob(".*.tmp"):
        if p.is_symlink() or not p.is_dir():
            p.unlink(missing_ok=True)
        else:  # a release folder being written when its process was killed
            import shutil

            shutil.rmtree(p, ignore_errors=True)
        n += 1
    return n
