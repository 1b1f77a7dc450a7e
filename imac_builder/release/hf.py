"""``release --format hf``: the release as a Hugging Face ``datasets`` folder.

Written into the release as ``hf/``: one Parquet file per table (``data/<table>.parquet``,
the manifest's columns, numbers typed), the feature stores as Parquet with one
``features`` list column per row, split into train/validation/test
(``data/music_features/<split>.parquet``, ``data/image_features/<split>.parquet``), the
evaluation pairs as a ``pairs`` configuration with validation and test splits, and a
dataset card (``README.md``) whose YAML header names every configuration, so
``datasets.load_dataset("<release>/hf", "segments")`` or
``load_dataset("parquet", data_files=...)`` opens it. pyarrow writes the files (the
format ``datasets`` reads natively); ``datasets`` itself is only needed to load them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .croissant import FLOATS, INTEGERS, PAPER
from .manifest import TABLES

FOLDER = "hf"
#: The split names Hugging Face uses, by ours.
HF_SPLITS = {"train": "train", "val": "validation", "test": "test"}
BIBTEX = """@inproceedings{verma2019learning,
  title     = {Learning Affective Correspondence between Music and Image},
  author    = {Verma, Gaurav and Dhekane, Eeshan Gunesh and Guha, Tanaya},
  booktitle = {ICASSP 2019 - 2019 IEEE International Conference on Acoustics, Speech
               and Signal Processing (ICASSP)},
  pages     = {3975--3979},
  year      = {2019}
}"""


def _column(name: str, values: list[str]) -> Any:
    import pyarrow as pa

    if name in INTEGERS:
        return pa.array([int(v) if v not in ("", None) else None for v in values],
                        pa.int64())
    if name in FLOATS:
        return pa.array([float(v) if v not in ("", None) else None for v in values],
                        pa.float64())
    return pa.array(values, pa.string())


def _write_table(path: Path, columns: tuple[str, ...], rows: list[dict[str, str]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table({c: _column(c, [r.get(c, "") for r in rows]) for c in columns})
    pq.write_table(table, path)


def _write_store(folder: Path, store_path: Path, assign: dict[str, str]) -> dict[str, int]:
    """One Parquet file per split of a feature store; rows per split."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ..features.store import FeatureStore

    store = FeatureStore.open(store_path)
    folder.mkdir(parents=True, exist_ok=True)
    counts = {}
    dim = store.features.shape[1]
    for ours, theirs in HF_SPLITS.items():
        rows = [i for i, v in enumerate(store.ids) if assign.get(v) == ours]
        feats = np.ascontiguousarray(store.features[rows], dtype=np.float32).reshape(-1)
        table = pa.table({
            store.id_name: pa.array([store.ids[i] for i in rows], pa.string()),
            "label": pa.array([store.labels[i] for i in rows], pa.string()),
            "features": pa.FixedSizeListArray.from_arrays(pa.array(feats, pa.float32()), dim),
        })
        pq.write_table(table, folder / f"{theirs}.parquet")
        counts[theirs] = len(rows)
    return counts


def write_hf(folder: Path, root: Path, tables: dict[str, list[dict[str, str]]],
             name: str, version: str, license_url: str, description: str) -> dict[str, Any]:
    """Write ``folder/hf/``; return what it holds (files and rows) for ``manifest.json``."""
    out = folder / FOLDER
    configs: list[tuple[str, list[tuple[str, str]]]] = []
    held: dict[str, Any] = {"tables": {}, "features": {}}
    for t in TABLES.values():
        if t.name.startswith("pairs_"):
            continue
        rel = f"data/{t.name}.parquet"
        _write_table(out / rel, t.columns, tables[t.name])
        configs.append((t.name, [("train", rel)]))
        held["tables"][t.name] = len(tables[t.name])
    pair_files = []
    for ours in ("val", "test"):
        rel = f"data/pairs/{HF_SPLITS[ours]}.parquet"
        _write_table(out / rel, TABLES[f"pairs_{ours}"].columns, tables[f"pairs_{ours}"])
        pair_files.append((HF_SPLITS[ours], rel))
        held["tables"][f"pairs_{ours}"] = len(tables[f"pairs_{ours}"])
    configs.append(("pairs", pair_files))
    for modality in ("music", "images"):
        store = root / "features" / f"{modality}.h5"
        if not store.is_file() or not tables["splits"]:
            continue
        assign = {r["item_id"]: r["split"] for r in tables["splits"]
                  if r["modality"] == modality}
        key = "image_features" if modality == "images" else "music_features"
        held["features"][key] = _write_store(out / "data" / key, store, assign)
        configs.append((key, [(s, f"data/{key}/{s}.parquet") for s in HF_SPLITS.values()]))
    (out / "README.md").write_text(card(name, version, license_url, description, configs,
                                        held), encoding="utf-8")
    return held


#: Each source: what the release holds of it, and whose terms apply.
SOURCES = (
    ("Million Song Dataset (metadata) and its Last.fm dataset (tags)",
     "track and song ids, artist, title, release, duration, year; emotion tag scores and "
     "labels derived from the tags",
     "the MSD's and Last.fm's terms for research use (millionsongdataset.com); check them "
     "before any other use"),
    ("YouTube", "video ids and URLs, titles, channel names, 60 s segment offsets and sha256 "
     "of the decoded samples; no audio",
     "YouTube's Terms of Service and each uploader's rights apply to the videos"),
    ("Image Emotion database (You et al., AAAI 2016)",
     "image ids, relative paths, emotions, sha256 of the files; no images",
     "its authors' access terms"),
)


def card(name: str, version: str, license_url: str, description: str,
         configs: list[tuple[str, list[tuple[str, str]]]], held: dict[str, Any]) -> str:
    """The dataset card: YAML header (configurations, licence) and the sources' terms."""
    licence = "cc-by-4.0" if not license_url or "by/4.0" in license_url else "other"
    yaml = ["---", f"pretty_name: {name} {version}", f"license: {licence}",
            "task_categories:", "- audio-classification", "- image-classification",
            "tags:", "- music-emotion", "- image-emotion", "- cross-modal", "configs:"]
    for cname, files in configs:
        yaml += [f"- config_name: {cname}", "  data_files:"]
        yaml += [f"  - split: {split}\n    path: {path}" for split, path in files]
    yaml.append("---")
    rows = "\n".join(f"| `{k}` | {v:,} |" for k, v in held["tables"].items())
    sources = "\n".join(f"| {a} | {b} | {c} |" for a, b, c in SOURCES) + (
        "\n| This manifest (tables, split, pairs, features computed by imac_builder) | "
        "everything above as tables | "
        f"{license_url or 'https://creativecommons.org/licenses/by/4.0/'} |")
    feats = "\n".join(f"| `{k}` | {', '.join(f'{s} {n:,}' for s, n in v.items())} |"
                      for k, v in held["features"].items()) or "| (none) | |"
    return "\n".join(yaml) + f"""

# {name} {version}

{description}

Made by `imac-build release --format hf` beside the release's manifest (`../manifest.json`,
`../croissant.json`). Audio and images are **not** included: rebuild the audio with
`imac-build rebuild` and use your own copy of the Image Emotion database.

## Configurations

| table | rows |
|---|---|
{rows}

| features (float32 vectors; music 193-d, images 2048-d) | rows per split |
|---|---|
{feats}

```python
from datasets import load_dataset
segments = load_dataset("parquet", data_files="data/segments.parquet")["train"]
music = load_dataset("path/to/this/folder", "music_features")  # train, validation, test
```

## Sources and their terms

| source | what this dataset holds of it | terms |
|---|---|---|
{sources}

## Citation

{PAPER}

```bibtex
{BIBTEX}
```
"""
