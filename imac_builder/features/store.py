"""Feature stores (spec §5): one HDF5 file per modality, written atomically, read into memory.

Layout: a contiguous, uncompressed float32 dataset ``features`` (N x D), UTF-8 string
datasets ``<id name>`` (``segment_id`` or ``image_id``), ``label`` and the modality's
extra columns (``track_id`` for music, ``emotion`` for images), and attributes that make
the file self-describing (``modality``, ``id_name``, ``columns``, extractor, parameters,
library versions, config hash, weights sha256). Reading uses only HDF5 datasets,
attributes and JSON: nothing stored in a file is ever executed or unpickled.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import atomic
from ..errors import UserError

#: modality -> (id dataset, extra datasets), spec §5.
MODALITIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "music": ("segment_id", ("track_id",)),
    "images": ("image_id", ("emotion",)),
}
FORMAT_VERSION = 1
_JSON_ATTRS = "json_attrs"  # names of attributes stored as JSON text


def _infer_modality(extra: Mapping[str, Sequence[str]], attrs: Mapping[str, Any]) -> str:
    if "modality" in attrs:
        m = str(attrs["modality"])
        if m not in MODALITIES:
            raise ValueError(f"unknown modality {m!r}")
        return m
    for m, (_, names) in MODALITIES.items():
        if set(names) <= set(extra):
            return m
    raise ValueError("cannot tell the modality: give attrs['modality']")


def _attr_value(value: Any) -> tuple[Any, bool]:
    """An HDF5-friendly value and whether it was encoded as JSON."""
    if isinstance(value, str | bool | int | float | np.integer | np.floating):
        return value, False
    if (isinstance(value, list | tuple) and value
            and all(isinstance(v, str) for v in value)):
        return np.array(value, dtype=object), False
    return json.dumps(value, sort_keys=True, default=str), True


def write_store(path: Path | str, features: np.ndarray, ids: Sequence[str],
                labels: Sequence[str], extra: Mapping[str, Sequence[str]],
                attrs: Mapping[str, Any], *, modality: str | None = None,
                id_name: str | None = None) -> None:
    """Write a store atomically (temporary file beside ``path``, then rename).

    ``features`` is N x D (stored as float32); ``ids``, ``labels`` and every ``extra``
    column have N strings; ``attrs`` are stored as attributes (strings, numbers and
    lists of strings natively, anything else as JSON text).
    """
    import h5py

    path = Path(path)
    feats = np.ascontiguousarray(np.asarray(features, dtype=np.float32))
    if feats.ndim != 2:
        raise ValueError(f"features must be N x D, got shape {feats.shape}")
    n = feats.shape[0]
    modality = modality or _infer_modality(extra, attrs)
    id_name = id_name or MODALITIES[modality][0]
    columns: dict[str, Sequence[str]] = {id_name: ids, "label": labels, **extra}
    for name, col in columns.items():
        if len(col) != n:
            raise ValueError(f"{name} has {len(col)} values for {n} feature rows")
    if len(set(ids)) != n:
        raise ValueError(f"{id_name} values are not unique")

    with atomic.atomic_path(path) as tmp:
        str_t = h5py.string_dtype("utf-8")
        with h5py.File(tmp, "w") as f:
            f.create_dataset("features", data=feats)  # contiguous, no filters
            for name, col in columns.items():
                f.create_dataset(name, data=np.array([str(v) for v in col], dtype=object),
                                 dtype=str_t)
            meta: dict[str, Any] = dict(attrs)
            meta.update(modality=modality, id_name=id_name, format_version=FORMAT_VERSION,
                        extra_columns=list(extra) or "", n_rows=n, n_dims=feats.shape[1])
            as_json = []
            for key, value in meta.items():
                v, is_json = _attr_value(value)
                f.attrs[key] = v
                if is_json:
                    as_json.append(key)
            f.attrs[_JSON_ATTRS] = json.dumps(sorted(as_json))


def _decode_attr(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray):
        return [_decode_attr(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    return value


def damaged(path: Path, e: BaseException) -> UserError:
    """The one line for a store whose bytes are damaged."""
    modality = {"music.h5": "music", "images.h5": "images", "spectrograms.h5":
                "spectrograms", "pixels.h5": "pixels"}.get(path.name, "all")
    return UserError(f"feature store {path} is damaged, not a readable HDF5 store "
                     f"({type(e).__name__}: "
                     f"{str(e)[:120]}): delete it and run `imac-build features --modality "
                     f"{modality}` to rebuild it")


@dataclass
class FeatureStore:
    """A feature store loaded into memory: rows of features with their ids and labels."""

    features: np.ndarray
    ids: list[str]
    labels: list[str]
    extra: dict[str, list[str]] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)
    modality: str = ""
    id_name: str = ""

    @classmethod
    def open(cls, path: Path | str) -> FeatureStore:
        """Load a store written by :func:`write_store`; UserError if it is not one.

        Opened and read inside the error handling: HDF5 damage anywhere in the file
        (h5py raises OSError, KeyError, ValueError or RuntimeError from deep inside) is
        one line naming the store and the command that rebuilds it.
        """
        try:
            return cls._open(Path(path))
        except UserError:
            raise
        except (OSError, KeyError, ValueError, RuntimeError, TypeError, IndexError) as e:
            raise damaged(Path(path), e) from None

    @classmethod
    def _open(cls, path: Path) -> FeatureStore:
        import h5py

        if not path.is_file():
            raise UserError(f"feature store {path} does not exist: run `imac-build features` "
                            "first")
        try:
            f = h5py.File(path, "r")
        except OSError as e:
            raise damaged(path, e) from None
        with f:
            attrs = {k: _decode_attr(v) for k, v in f.attrs.items()}
            try:
                for key in json.loads(attrs.pop(_JSON_ATTRS, "[]")):
                    attrs[key] = json.loads(attrs[key])
            except (ValueError, KeyError, TypeError):
                raise UserError(f"{path}: damaged attributes") from None
            modality = str(attrs.get("modality", ""))
            if modality not in MODALITIES:
                raise UserError(f"{path}: not a feature store (no known 'modality' attribute)")
            id_name = str(attrs.get("id_name") or MODALITIES[modality][0])
            extra_names = attrs.get("extra_columns") or []
            if isinstance(extra_names, str):
                extra_names = [extra_names] if extra_names else []
            needed = ["features", id_name, "label", *extra_names]
            missing = [d for d in needed if not isinstance(f.get(d), h5py.Dataset)]
            if missing:
                raise UserError(f"{path}: feature store lacks dataset(s) {', '.join(missing)}")
            feats = f["features"]
            if feats.ndim != 2 or feats.dtype.kind != "f":
                raise UserError(f"{path}: 'features' is not a 2-D float dataset")
            features = np.asarray(feats[()], dtype=np.float32)

            def strings(name: str) -> list[str]:
                ds = f[name]
                if ds.dtype.kind not in ("O", "S", "U") or ds.shape != (features.shape[0],):
                    raise UserError(f"{path}: '{name}' is not {features.shape[0]} strings")
                return [str(v) for v in ds.asstr()[()].tolist()]

            ids = strings(id_name)
            labels = strings("label")
            extra = {name: strings(name) for name in extra_names}
        return cls(features, ids, labels, extra, attrs, modality, id_name)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def columns(self) -> list[str]:
        """The name of every feature column."""
        cols = self.attrs.get("columns")
        if isinstance(cols, list) and len(cols) == self.features.shape[1]:
            return cols
        return [f"f{i}" for i in range(self.features.shape[1])]

    def _rows(self, rows: Sequence[int] | np.ndarray) -> FeatureStore:
        idx = np.asarray(rows, dtype=np.int64)
        pick = idx.tolist()
        return FeatureStore(self.features[idx], [self.ids[i] for i in pick],
                            [self.labels[i] for i in pick],
                            {k: [v[i] for i in pick] for k, v in self.extra.items()},
                            dict(self.attrs), self.modality, self.id_name)

    def select(self, ids: Iterable[str], missing: str = "error") -> FeatureStore:
        """The rows of ``ids``, in that order. Unknown ids: UserError, or dropped when
        ``missing="skip"``."""
        index = {v: i for i, v in enumerate(self.ids)}
        wanted = list(ids)
        rows = [index[v] for v in wanted if v in index]
        if len(rows) != len(wanted) and missing != "skip":
            absent = [v for v in wanted if v not in index]
            raise UserError(f"{len(absent)} {self.id_name} value(s) are not in the store "
                            f"(first: {absent[0]})")
        return self._rows(rows)

    def select_split(self, splits: Mapping[str, str] | Iterable[Mapping[str, str]],
                     split: str) -> FeatureStore:
        """Rows whose id (or, for music, whose ``track_id``) is assigned to ``split``.

        ``splits`` is a mapping from id to split name, or rows (e.g. from
        ``csv.DictReader``) with a ``split`` column and one of ``<id name>``, ``item_id``,
        ``id`` or, for music split by song, ``track_id`` (rows whose ``modality`` column
        names the other modality are ignored). Rows keep the store's order.
        """
        if isinstance(splits, Mapping):
            assign = {str(k): str(v) for k, v in splits.items()}
        else:
            assign = {}
            for row in splits:
                key = (row.get(self.id_name) or row.get("item_id") or row.get("id")
                       or row.get("track_id"))
                if "modality" in row and row["modality"] != self.modality:
                    continue
                if key is None or "split" not in row:
                    raise UserError(f"split rows need a 'split' column and '{self.id_name}', "
                                    "'item_id', 'id' or 'track_id'")
                assign[str(key)] = str(row["split"])
        tracks = self.extra.get("track_id")
        rows = []
        for i, v in enumerate(self.ids):
            s = assign.get(v)
            if s is None and tracks is not None:
                s = assign.get(tracks[i])
            if s == split:
                rows.append(i)
        return self._rows(rows)
