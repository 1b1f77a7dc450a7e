"""librosa's numba kernels are compiled in the parent before feature workers start
(numba issue #10128: workers compiling a gufunc at once can leave a cache that crashes a
later run with a segmentation fault; CI met it in this suite)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from imac_builder.features import music, stage
from imac_builder.features.shards import ShardTask

pytest.importorskip("librosa")


def test_warm_up_writes_the_gufunc_cache(tmp_path):
    """In a fresh numba cache, warm_up leaves piptrack's gufunc compiled (both files)."""
    code = "from imac_builder.features.music import warm_up; warm_up()"
    env = {"NUMBA_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=300)
    names = [p.name for p in tmp_path.rglob("*.nbc")]
    assert any(n.startswith("guf-pitch._pi_wrapper") for n in names), names
    assert any(n.startswith("pitch._pi_wrapper") for n in names), names
    assert any("median_rows" in n for n in names), names  # the fast engine's own kernel


def test_a_damaged_cache_is_one_line_naming_what_to_delete(tmp_path):
    """Red-team (session 5): a corrupted cache file made warm_up an internal error."""
    code = "from imac_builder.features.music import warm_up; warm_up()"
    env = {"NUMBA_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=300)
    for f in tmp_path.rglob("*pitch._pi_wrapper*.nbc"):
        f.write_bytes(b"\x00garbage" * 10)
    code = ("from imac_builder.features.music import warm_up\n"
            "from imac_builder.errors import UserError\n"
            "try:\n    warm_up()\nexcept UserError as e:\n    print('USER', e)\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=300).stdout
    assert out.startswith("USER numba's compiled-code cache looks damaged"), out
    assert "NUMBA_CACHE_DIR" in out


class _Warmed(Exception):
    pass


def _tasks(modality: str) -> list[ShardTask]:
    return [ShardTask(modality, f"s{i}", (), "/nonexistent", f"/nonexistent/p{i}")
            for i in range(2)]


def _raise() -> None:
    raise _Warmed


def test_local_workers_start_after_the_warm_up(monkeypatch):
    monkeypatch.setattr(music, "warm_up", _raise)
    with pytest.raises(_Warmed):
        next(stage._execute(_tasks("music"), "local", 2, None))


def test_dask_workers_start_after_the_warm_up(monkeypatch):
    """On a real (in-process) Dask cluster, once connected: a wrong scheduler address is
    still the one-line error it was, before any warm-up."""
    distributed = pytest.importorskip("distributed")
    monkeypatch.setattr(music, "warm_up", _raise)
    with distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=None) as lc:
        with pytest.raises(_Warmed):
            next(stage._execute(_tasks("music"), "dask", 1, lc.scheduler_address))


def test_no_warm_up_without_workers_or_music(monkeypatch):
    monkeypatch.setattr(music, "warm_up", _raise)
    monkeypatch.setattr(stage, "run_shard", lambda t: t.name)
    assert list(stage._execute(_tasks("music"), "local", 1, None)) == ["s0", "s1"]
    assert [n for n in stage._execute(_tasks("images"), "local", 1, None)] == ["s0", "s1"]
