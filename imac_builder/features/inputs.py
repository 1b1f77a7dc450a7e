"""The items a feature store is built from: segments and usable images, from the tables."""

from __future__ import annotations

from .. import tables
from ..errors import UserError
from ..workdir import Workdir
from .shards import Item

MUSIC_COLUMNS = ("segment_id", "track_id", "path", "sha256", "label")
IMAGE_COLUMNS = ("image_id", "path", "emotion", "label", "status")


def music_items(wd: Workdir) -> list[Item]:
    rows = tables.read_table(wd.root, tables.SEGMENTS, required=MUSIC_COLUMNS)
    seen: set[str] = set()
    out = []
    for r in rows:
        if r["segment_id"] in seen:
            raise UserError(f"download/segments.csv lists {r['segment_id']} twice")
        seen.add(r["segment_id"])
        out.append(Item(r["segment_id"], r["path"], r["label"], r["track_id"], r["sha256"]))
    return out


def image_items(wd: Workdir) -> list[Item]:
    rows = tables.read_table(wd.root, tables.IMAGES, required=IMAGE_COLUMNS)
    seen: set[str] = set()
    out = []
    for r in rows:
        if r["status"] != "ok":
            continue
        if r["image_id"] in seen:
            raise UserError(f"images/images.csv lists {r['image_id']} twice")
        seen.add(r["image_id"])
        out.append(Item(r["image_id"], r["path"], r["label"], r["emotion"],
                        r.get("sha256", "")))
    return out
