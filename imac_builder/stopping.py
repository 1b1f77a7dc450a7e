"""SIGTERM and SIGHUP handled like Ctrl-C, and worker processes stopped before a stage ends.

systemd, SLURM, Docker and CI stop a job with SIGTERM (a closed terminal sends SIGHUP), not
Ctrl-C. :func:`install` makes both raise :class:`Stopped`, a ``KeyboardInterrupt``, in the
main process, so every stage's Ctrl-C path (journals flushed, temporaries removed, the lock
released) runs for them too; the CLI exits ``128 + signal`` (130 INT, 143 TERM, 129 HUP).
:func:`stop_workers` ends every child process (and the multiprocessing resource tracker)
so nothing writes into the work directory after its lock is released.
:func:`stop_threads` gives worker threads a flag to look at, so a thread pool stops too.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

#: The signals treated as "stop now, keep finished work".
HANDLED = (signal.SIGTERM, signal.SIGHUP)
_owner: int | None = None


class Stopped(KeyboardInterrupt):
    """A stop signal other than Ctrl-C, raised in the main thread of the CLI process."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def _handler(signum: int, frame: FrameType | None) -> None:
    if os.getpid() != _owner:  # a forked worker inherited the handler: die as asked
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    for s in HANDLED:  # a second signal while stopping must not interrupt the cleanup
        signal.signal(s, signal.SIG_IGN)
    raise Stopped(signum)


class Cancelled(Exception):
    """Raised in a worker thread that saw its stop flag (see :func:`stop_threads`)."""


@contextmanager
def stop_threads() -> Iterator[threading.Event]:
    """A stop flag for worker threads: set when the body is left by any exception
    (Ctrl-C, :class:`Stopped`, an error), so threads that look at it between blocks of
    work end at once and a thread pool's shutdown does not wait for them to finish.

    Nest it inside the pool's ``with`` (it must be set before the pool waits)::

        with ThreadPoolExecutor() as pool, stop_threads() as stop:
            ...
    """
    flag = threading.Event()
    try:
        yield flag
    except BaseException:
        flag.set()
        raise


def install() -> None:
    """Make SIGTERM and SIGHUP raise :class:`Stopped` in this (the main) process.

    A signal the parent set to be ignored stays ignored (``nohup imac-build ...`` must
    survive a closed terminal)."""
    global _owner
    _owner = os.getpid()
    for s in HANDLED:
        if signal.getsignal(s) != signal.SIG_IGN:
            signal.signal(s, _handler)


def exit_code(exc: KeyboardInterrupt) -> int:
    """The exit status for an interrupt: 128 + the signal (130 for Ctrl-C)."""
    return exc.exit_code if isinstance(exc, Stopped) else 128 + signal.SIGINT


def stop_workers(timeout: float = 5.0) -> int:
    """Terminate (then kill) every child process of this one; return how many were alive.

    The multiprocessing resource tracker (started by the spawn context) is left to end
    by itself: it exits when the last process holding its pipe does, which, once the
    workers are gone, is this one. Stopping it earlier would make it unlink the pool's
    semaphores under this process's own exit handlers.
    """
    import multiprocessing
    import time

    children = multiprocessing.active_children()
    for p in children:
        p.terminate()
    deadline = time.monotonic() + timeout
    for p in children:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            p.kill()
            p.join(1.0)
    return len(children)
