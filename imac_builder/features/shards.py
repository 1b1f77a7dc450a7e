"""Shards: the unit of work. Each worker computes one shard and writes its own part file.

A shard is a run of consecutive items (sorted by id); its name carries a hash of its
items, so a part file is reused only for exactly the same inputs. Part files are
feature stores themselves (written atomically by :func:`write_store`), with the shard's
failures as an attribute; their existence marks the shard finished. Only the final
combine step (in the stage) writes ``features/<modality>.h5``.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from ..paths import inside
from ..vocab import is_segment_id
from .music import FeatureError
from .registry import music_engine
from .store import MODALITIES, FeatureStore, write_store

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class Item:
    """One segment or image to compute: its id, file (relative), label, extra column."""

    id: str
    path: str
    label: str
    extra: str  # track_id (music) or emotion (images)
    sha256: str = ""

    def key(self) -> str:
        return "\t".join((self.id, self.path, self.label, self.extra, self.sha256))


@dataclass(frozen=True)
class ShardTask:
    """Everything a worker needs, picklable (local processes or a Dask cluster)."""

    modality: str
    name: str
    items: tuple[Item, ...]
    root: str  # folder the items' paths are relative to
    part: str  # part file to write
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass
class ShardResult:
    name: str
    ok: int
    failures: list[tuple[str, str, str]]  # (id, reason, detail)
    seconds: float


def items_hash(items: list[Item] | tuple[Item, ...]) -> str:
    h = hashlib.sha256()
    for it in items:
        h.update(it.key().encode())
        h.update(b"\n")
    return h.hexdigest()


def plan(items: list[Item], shard_size: int) -> list[tuple[str, tuple[Item, ...]]]:
    """Cut items (sorted by id) into shards named ``<index>-<hash of their items>``."""
    items = sorted(items, key=lambda it: it.id)
    out = []
    for k, start in enumerate(range(0, len(items), shard_size)):
        chunk = tuple(items[start:start + shard_size])
        out.append((f"{k:05d}-{items_hash(chunk)[:12]}", chunk))
    return out


def safe_path(root: Path, rel: str) -> Path:
    """``root / rel`` for a relative path without ``..`` whose links stay inside ``root``;
    FeatureError("bad_path") else."""
    p = PurePosixPath(rel)
    if not rel or p.is_absolute() or ".." in p.parts or "\\" in rel or "\x00" in rel:
        raise FeatureError("bad_path", f"refusing path {rel!r}")
    path = Path(root) / p
    if not inside(root, path):  # a link out of the root: never read
        raise FeatureError("bad_path", f"{rel} is a symbolic link out of its root: not read")
    return path


def _write_part(task: ShardTask, feats: np.ndarray, done: list[Item],
                failures: list[tuple[str, str, str]], dims: int) -> None:
    id_name, (extra_name,) = MODALITIES[task.modality]
    arr = feats if len(done) else np.zeros((0, dims), np.float32)
    write_store(Path(task.part), arr, [it.id for it in done], [it.label for it in done],
                {extra_name: [it.extra for it in done]},
                {"modality": task.modality, "shard": task.name,
                 "failures": [list(f) for f in failures]})


def _music_shard(task: ShardTask) -> tuple[int, list[tuple[str, str, str]]]:
    from . import music

    engine = task.settings.get("engine", "fast")
    root = Path(task.root)
    failures: list[tuple[str, str, str]] = []
    done: list[Item] = []
    rows: list[np.ndarray] = []
    if engine == "torch":
        _music_batch(task, root, failures, done, rows)
    else:
        with _one_blas_thread():  # parallelism comes from shards; threaded BLAS only spins
            _music_items(task, music_engine(engine), root, failures, done, rows)
    _write_part(task, np.stack(rows) if rows else np.zeros((0, music.N_FEATURES)), done,
                failures, music.N_FEATURES)
    return len(done), failures


def _one_blas_thread() -> Any:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - librosa brings it (through scikit-learn)
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def _music_items(task: ShardTask, compute: Any, root: Path,
                 failures: list[tuple[str, str, str]], done: list[Item],
                 rows: list[np.ndarray]) -> None:
    from . import music

    for it in task.items:
        try:
            if not is_segment_id(it.id):
                raise FeatureError("bad_row", f"segment_id {it.id!r} is malformed")
            rows.append(compute(music.load_segment(safe_path(root, it.path))))
            done.append(it)
        except FeatureError as e:
            failures.append((it.id, e.reason, e.detail))
        except Exception as e:  # never let one segment end the run
            log.debug("segment %s failed\n%s", it.id, traceback.format_exc())
            failures.append((it.id, "error", f"{type(e).__name__}: {e}"))


def _music_batch(task: ShardTask, root: Path, failures: list[tuple[str, str, str]],
                 done: list[Item], rows: list[np.ndarray]) -> None:
    """The torch engine: decode the shard's segments on threads, then one batch on the
    device. A device error fails the whole shard (it is retried on the next run)."""
    from concurrent.futures import ThreadPoolExecutor

    from . import music
    from .music_torch import torch_batch

    def load(it: Item) -> np.ndarray | FeatureError:
        try:
            if not is_segment_id(it.id):
                raise FeatureError("bad_row", f"segment_id {it.id!r} is malformed")
            return music.load_segment(safe_path(root, it.path))
        except FeatureError as e:
            return e
        except Exception as e:  # never let one segment end the run
            return FeatureError("error", f"{type(e).__name__}: {e}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        loaded = list(pool.map(load, task.items))
    good = [(it, y) for it, y in zip(task.items, loaded, strict=True)
            if not isinstance(y, FeatureError)]
    failures += [(it.id, y.reason, y.detail) for it, y in zip(task.items, loaded, strict=True)
                 if isinstance(y, FeatureError)]
    if not good:
        return
    feats, bad = torch_batch(np.stack([y for _, y in good]),
                             device=task.settings.get("device", "cuda"))
    for (it, _), vec, b in zip(good, feats, bad, strict=True):
        if b:
            failures.append((it.id, "non_finite", "features are not finite"))
        else:
            rows.append(vec)
            done.append(it)


_MODELS: dict[tuple[str, str], Any] = {}


def image_model(weights: str, device: str) -> Any:
    """The loaded model, once per process (workers keep it between shards)."""
    from .images import load_model

    key = (weights, device)
    if key not in _MODELS:
        _MODELS[key] = load_model(weights, device)
    return _MODELS[key]


def _image_shard(task: ShardTask) -> tuple[int, list[tuple[str, str, str]]]:
    from . import images

    s = task.settings
    model = image_model(s.get("weights", "fid-helper"), s.get("device", "cpu"))
    failures: list[tuple[str, str, str]] = []
    ok_items: list[Item] = []
    paths: list[Path] = []
    for it in task.items:
        try:
            paths.append(safe_path(Path(task.root), it.path))
            ok_items.append(it)
        except FeatureError as e:
            failures.append((it.id, e.reason, e.detail))
    feats, good, bad = images.extract_images(model, paths, batch_size=s.get("batch_size", 32),
                                             threads=s.get("threads"))
    failures += [(ok_items[i].id, reason, detail) for i, reason, detail in bad]
    done = [ok_items[i] for i in good]
    _write_part(task, feats, done, failures, images.N_FEATURES)
    return len(done), failures


def run_shard(task: ShardTask) -> ShardResult:
    """Compute one shard and write its part file (atomically). Runs in any worker."""
    t0 = time.perf_counter()
    if task.modality == "music":
        ok, failures = _music_shard(task)
    else:
        ok, failures = _image_shard(task)
    return ShardResult(task.name, ok, failures, time.perf_counter() - t0)


def read_part(path: Path) -> tuple[FeatureStore, list[tuple[str, str, str]]]:
    """A finished shard's rows and failures."""
    store = FeatureStore.open(path)
    failures = [tuple(f) for f in store.attrs.get("failures", [])]
    return store, failures  # type: ignore[return-value]
