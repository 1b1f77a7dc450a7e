"""What a run was trained on: sha256 of its two stores (the whole file, and its ids with
labels), of ``splits/splits.csv`` and of the fixed pair files. ``evaluate`` refuses a run
whose data changed since, naming what changed and what to run again.

Hashing a store reads the whole file (13.5 GB for the pixel store); the digest is cached
in ``features/.sha256.json`` by path, size, modification time and inode, so an unchanged
store is read once.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from .. import atomic
from .. import tables as T
from ..errors import UserError
from ..workdir import Workdir

CACHE = ".sha256.json"


def file_sha256(path: Path, cache: dict | None = None) -> str:
    """sha256 of a file (from ``cache`` when its size, mtime and inode are unchanged)."""
    st = path.stat()
    key = [st.st_size, st.st_mtime_ns, st.st_ino]
    hit = (cache or {}).get(str(path))
    if isinstance(hit, dict) and hit.get("stat") == key:
        return str(hit["sha256"])
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            h.update(chunk)
    digest = h.hexdigest()
    if cache is not None:
        cache[str(path)] = {"stat": key, "sha256": digest}
    return digest


def labels_sha256(ids: list[str], labels: list[str]) -> str:
    h = hashlib.sha256()
    for i, lab in zip(ids, labels, strict=True):
        h.update(f"{i}\t{lab}\n".encode())
    return h.hexdigest()


def fingerprint(wd: Workdir, stores: dict[str, tuple[list[str], list[str]]]) -> dict:
    """``{"stores": {name: {"sha256", "labels_sha256"}}, "splits": {file: sha256}}`` for
    the named stores (``name: (ids, labels)``) and the split files."""
    folder = wd.root / "features"
    cache_path = folder / CACHE
    try:
        cache = json.loads(cache_path.read_text(encoding="utf-8"))
        cache = cache if isinstance(cache, dict) else {}
    except (OSError, ValueError):
        cache = {}
    before = json.dumps(cache, sort_keys=True)
    out: dict[str, dict] = {"stores": {}, "splits": {}}
    for name, (ids, labels) in stores.items():
        out["stores"][name] = {"sha256": file_sha256(folder / f"{name}.h5", cache),
                               "labels_sha256": labels_sha256(ids, labels)}
    for table in (T.SPLITS, *T.PAIRS.values()):
        path = table.at(wd.root)
        if not path.is_file():
            raise T.missing_error(wd.root, table)
        out["splits"][path.name] = file_sha256(path)
    if json.dumps(cache, sort_keys=True) != before and os.access(folder, os.W_OK):
        try:
            atomic.write_text(cache_path, json.dumps(cache, indent=1, sort_keys=True) + "\n")
        except OSError:
            pass  # only a cache
    return out


def check(recorded: dict | None, now: dict, run: str) -> None:
    """UserError (one line) naming the first thing that changed since ``run`` was trained."""
    if not isinstance(recorded, dict) or "stores" not in recorded:
        raise UserError(f"run {run} records no hashes of the data it was trained on (an "
                        f"older version): train it again with 'imac-build train --run {run} "
                        "--fresh'")
    for name, then in recorded["stores"].items():
        cur = now["stores"].get(name)
        if cur is None:
            continue
        if cur["labels_sha256"] != then.get("labels_sha256"):
            raise UserError(f"features/{name}.h5: its labels (or ids) changed since run {run} "
                            "was trained: run 'imac-build split' again, then 'imac-build "
                            f"train --run {run} --fresh'")
        if cur["sha256"] != then.get("sha256"):
            raise UserError(f"features/{name}.h5 changed since run {run} was trained (sha256 "
                            f"{then.get('sha256', '?')[:12]}…, now {cur['sha256'][:12]}…): "
                            f"train it again with 'imac-build train --run {run} --fresh'")
    for name, then in recorded.get("splits", {}).items():
        if now["splits"].get(name) != then:
            raise UserError(f"run {run} was trained on another split (splits/{name} changed "
                            "since; its test pairs could hold training items): train it "
                            f"again with 'imac-build train --run {run} --fresh'")
