"""Array stores: HDF5 files of one N-d array per item (log-spectrograms, image pixels).

The baselines of paper Table 4 read raw inputs rather than feature vectors, so their
stores hold an ``N × ...`` dataset ``data`` (float16 spectrograms, uint8 pixels) beside
the same string columns and self-describing attributes as a :mod:`.store` feature store
(``<id name>``, ``label``, the modality's extra column; attributes ``modality``,
``id_name``, ``config``, ``config_hash``, ``input_hash``). Rows are appended one at a
time into a temporary file beside the target, renamed over it only once complete, so a
crash never leaves a half-written store, and a store never has to fit in memory while it
is written (90,000 images × 224 × 224 × 3 is 13.5 GB). Reading uses only datasets,
attributes and JSON: nothing is unpickled.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import atomic
from .. import tables as T
from ..errors import UserError
from ..stopping import stop_workers

#: modality -> (id dataset, extra column).
ARRAY_MODALITIES: dict[str, tuple[str, str]] = {
    "spectrograms": ("segment_id", "track_id"),
    "pixels": ("image_id", "emotion"),
}


class ArrayStoreWriter:
    """Append ``(array, id, label, extra)`` rows; :meth:`commit` renames the file into place.

    Use as a context manager: a normal exit commits, an exception discards the file.
    """

    def __init__(self, path: Path | str, modality: str, item_shape: Sequence[int],
                 dtype: Any, attrs: Mapping[str, Any]) -> None:
        import h5py

        if modality not in ARRAY_MODALITIES:
            raise ValueError(f"unknown array modality {modality!r}")
        self.path = Path(path)
        self.modality = modality
        self.id_name, self.extra_name = ARRAY_MODALITIES[modality]
        self.item_shape = tuple(int(s) for s in item_shape)
        self.attrs = dict(attrs)
        self.ids: list[str] = []
        self.labels: list[str] = []
        self.extra: list[str] = []
        self.tmp = atomic.temp_beside(self.path)
        self.file = h5py.File(self.tmp, "w")
        # one chunk per item: rows are appended as they are computed, read back whole
        self.data = self.file.create_dataset(
            "data", shape=(0, *self.item_shape), maxshape=(None, *self.item_shape),
            dtype=np.dtype(dtype), chunks=(1, *self.item_shape))

    def append(self, array: np.ndarray, item_id: str, label: str, extra: str) -> None:
        if tuple(array.shape) != self.item_shape:
            raise ValueError(f"{item_id}: shape {array.shape}, expected {self.item_shape}")
        n = len(self.ids)
        self.data.resize(n + 1, axis=0)
        self.data[n] = array
        self.ids.append(item_id)
        self.labels.append(label)
        self.extra.append(extra)

    def commit(self) -> None:
        import h5py

        if len(set(self.ids)) != len(self.ids):
            raise ValueError(f"{self.id_name} values are not unique")
        str_t = h5py.string_dtype("utf-8")
        for name, col in ((self.id_name, self.ids), ("label", self.labels),
                          (self.extra_name, self.extra)):
            self.file.create_dataset(name, data=np.array(col, dtype=object), dtype=str_t)
        meta = {**self.attrs, "modality": self.modality, "id_name": self.id_name,
                "extra_columns": self.extra_name, "n_rows": len(self.ids),
                "item_shape": list(self.item_shape)}
        for key, value in meta.items():
            self.file.attrs[key] = value if isinstance(value, str | int | float) \
                else json.dumps(value, sort_keys=True, default=str)
        self.file.attrs["json_attrs"] = json.dumps(sorted(
            k for k, v in meta.items() if not isinstance(v, str | int | float)))
        self.file.close()
        atomic.publish(self.tmp, self.path)

    def abort(self) -> None:
        try:
            self.file.close()
        finally:
            self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> ArrayStoreWriter:
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


@dataclass
class ArrayStore:
    """An array store loaded into memory (same columns as a :class:`.store.FeatureStore`)."""

    data: np.ndarray
    ids: list[str]
    labels: list[str]
    extra: dict[str, list[str]] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)
    modality: str = ""
    id_name: str = ""

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def read_attrs(cls, path: Path | str) -> dict[str, Any] | None:
        """The attributes of an existing store, or None when it is absent or unreadable."""
        import h5py

        try:
            with h5py.File(path, "r") as f:
                return _attrs(f)
        except (OSError, ValueError):
            return None

    @classmethod
    def open(cls, path: Path | str, modality: str) -> ArrayStore:
        """Load a store written by :class:`ArrayStoreWriter`; UserError if it is not one
        (damage anywhere in the file included, as :meth:`FeatureStore.open`)."""
        from .store import damaged

        try:
            return cls._open(Path(path), modality)
        except UserError:
            raise
        except (OSError, KeyError, ValueError, RuntimeError, TypeError, IndexError) as e:
            raise damaged(Path(path), e) from None

    @classmethod
    def _open(cls, path: Path, modality: str) -> ArrayStore:
        import h5py

        from .store import damaged

        if not path.is_file():
            raise UserError(f"{path} does not exist; run 'imac-build features --modality "
                            f"{modality}'")
        try:
            f = h5py.File(path, "r")
        except OSError as e:
            raise damaged(path, e) from None
        with f:
            try:
                attrs = _attrs(f)
            except ValueError:
                raise UserError(f"{path}: damaged attributes") from None
            if attrs.get("modality") != modality:
                raise UserError(f"{path}: not a {modality} store "
                                f"(modality {attrs.get('modality')!r})")
            id_name, extra_name = ARRAY_MODALITIES[modality]
            missing = [d for d in ("data", id_name, "label", extra_name)
                       if not isinstance(f.get(d), h5py.Dataset)]
            if missing:
                raise UserError(f"{path}: store lacks dataset(s) {', '.join(missing)}")
            data = f["data"][()]
            n = data.shape[0]

            def strings(name: str) -> list[str]:
                ds = f[name]
                if ds.dtype.kind not in ("O", "S", "U") or ds.shape != (n,):
                    raise UserError(f"{path}: '{name}' is not {n} strings")
                return [str(v) for v in ds.asstr()[()].tolist()]

            return cls(data, strings(id_name), strings("label"),
                       {extra_name: strings(extra_name)}, attrs, modality, id_name)


def _attrs(f: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in f.attrs.items():
        out[k] = v.decode() if isinstance(v, bytes) else v.item() if isinstance(v, np.generic) \
            else v
    for key in json.loads(out.pop("json_attrs", "[]")):
        out[key] = json.loads(out[key])
    return out


def _compute_one(compute: Any, path: str) -> tuple[np.ndarray | None, str, str]:
    """Run ``compute(path)`` in a worker; ``(array, "", "")`` or ``(None, reason, detail)``."""
    from .music import FeatureError

    try:
        return compute(Path(path)), "", ""
    except FeatureError as e:
        return None, e.reason, e.detail
    except Exception as e:  # noqa: BLE001 - one bad item never ends the run
        return None, "error", f"{type(e).__name__}: {e}"


def build_array_store(wd: Any, modality: str, items: Sequence[Any], root: Path,
                      compute: Any, item_shape: Sequence[int], dtype: Any,
                      config: Mapping[str, Any], force: bool = False, jobs: int = 1,
                      progress: bool = True) -> Any:
    """Compute ``compute(path)`` for every item (``shards.Item``) into
    ``features/<modality>.h5``; failures go to ``features/<modality>_failures.csv``.

    Same configuration and inputs as the existing store: nothing to do. Another
    configuration: refused unless ``force``. Returns the features stage's
    ``ModalitySummary``.
    """
    import time
    from collections import Counter
    from concurrent.futures import ProcessPoolExecutor
    from functools import partial

    from tqdm import tqdm

    from .. import atomic
    from ..config import config_hash
    from .music import FeatureError
    from .shards import items_hash, safe_path
    from .summary import ModalitySummary

    out_dir = wd.stage("features")
    atomic.remove_stale_temporaries(out_dir)
    target = T.STORES[modality].at(wd.root)
    items = sorted(items, key=lambda it: it.id)
    chash = config_hash(dict(config))
    ihash = items_hash(items)
    summary = ModalitySummary(modality, items=len(items), output=str(target),
                              config_hash=chash)
    state = ArrayStore.read_attrs(target) if target.is_file() else None
    if state is not None and not force:
        if state.get("config_hash") != chash:
            raise UserError(f"{target} was built with another configuration; rerun with "
                            "--force to rebuild it")
        if state.get("input_hash") == ihash:
            summary.unchanged = True
            summary.rows = int(state.get("n_rows", 0))
            return summary
    t0 = time.perf_counter()
    failures: list[tuple[str, str, str]] = []
    paths: list[str] = []
    todo = []
    for it in items:
        try:
            paths.append(str(safe_path(root, it.path)))
            todo.append(it)
        except FeatureError as e:
            failures.append((it.id, e.reason, e.detail))
    attrs = {"config": dict(config), "config_hash": chash, "input_hash": ihash,
             "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    fn = partial(_compute_one, compute)
    with ArrayStoreWriter(target, modality, item_shape, dtype, attrs) as w, \
            tqdm(total=len(todo), desc=f"features {modality}", disable=not progress) as bar:
        if jobs > 1 and len(todo) > 1:
            import multiprocessing

            ctx = multiprocessing.get_context("spawn")
            ex = ProcessPoolExecutor(jobs, mp_context=ctx)
            try:
                results = ex.map(fn, paths, chunksize=8)
                for it, (arr, reason, detail) in zip(todo, results, strict=True):
                    _take(w, it, arr, reason, detail, failures)
                    bar.update()
            except BaseException:  # Ctrl-C, SIGTERM: no worker may write on
                ex.shutdown(wait=False, cancel_futures=True)
                stop_workers()
                raise
            ex.shutdown(wait=True)
        else:
            for it, path in zip(todo, paths, strict=True):
                _take(w, it, *fn(path), failures)
                bar.update()
    T.write_table(wd.root, T.failures_table(modality), sorted(failures))
    summary.rows = len(items) - len(failures)
    summary.shards = summary.shards_run = 1
    summary.failed = len(failures)
    summary.failed_reasons = dict(Counter(r for _, r, _ in failures))
    summary.seconds = time.perf_counter() - t0
    return summary


def _take(w: ArrayStoreWriter, it: Any, arr: np.ndarray | None, reason: str, detail: str,
          failures: list[tuple[str, str, str]]) -> None:
    if arr is None:
        failures.append((it.id, reason, detail))
    else:
        w.append(arr, it.id, it.label, it.extra)
