"""What ``--jobs`` means in every command: N workers; 0 (the default where the work is
CPU-bound) is one worker per core this process may use."""

from __future__ import annotations

import os

from .errors import UserError


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity; all cores where unknown)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def resolve_jobs(jobs: int | None) -> int:
    """``jobs`` workers, or one per available core for 0 or None; UserError if negative."""
    if jobs is None or jobs == 0:
        return available_cores()
    if jobs < 0:
        raise UserError("--jobs must be 0 (one per core) or a positive number of workers")
    return jobs
