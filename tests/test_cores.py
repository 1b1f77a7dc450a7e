"""``--jobs`` resolution: 0 (or None) is one worker per core this process may use."""

from __future__ import annotations

import os

import pytest

from imac_builder.cores import available_cores, resolve_jobs
from imac_builder.errors import UserError


def test_zero_and_none_mean_every_core_of_the_affinity_mask():
    cores = len(os.sched_getaffinity(0))
    assert available_cores() == cores
    assert resolve_jobs(0) == resolve_jobs(None) == cores
    assert resolve_jobs(3) == 3


def test_affinity_not_cpu_count_decides():
    before = os.sched_getaffinity(0)
    if len(before) < 2:
        pytest.skip("needs at least 2 cores to narrow the affinity mask")
    try:
        os.sched_setaffinity(0, {min(before)})
        assert resolve_jobs(0) == 1
    finally:
        os.sched_setaffinity(0, before)


def test_negative_jobs_is_one_clear_line():
    with pytest.raises(UserError, match="--jobs must be 0"):
        resolve_jobs(-2)
