"""The work directory: where each stage reads and writes (spec, "Work directory")."""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import UserError


@dataclass(frozen=True)
class Workdir:
    """Paths of every stage's outputs under one root."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    def stage(self, name: str) -> Path:
        """The folder of one stage (``tags``, ``search``, ...), created on demand."""
        p = self.root / name
        p.mkdir(parents=True, exist_ok=True)
        return p

    @property
    def logs(self) -> Path:
        return self.stage("logs")

    @contextmanager
    def lock(self, what: str) -> Iterator[None]:
        """Hold an exclusive lock on the work directory while a stage writes to it.

        A second ``imac-build`` on the same work directory is refused with a clear
        message instead of both writing the same tables.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / ".lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:
                if e.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    holder = path.read_text(errors="replace").strip() or "another process"
                    raise UserError(
                        f"work directory {self.root} is in use by {holder}; "
                        "wait for it to finish or use another --workdir"
                    ) from None
                raise
            os.ftruncate(fd, 0)
            os.write(fd, f"pid {os.getpid()} ({what})".encode())
            yield
        finally:
            os.close(fd)
