"""What changed between two releases: items added, removed, relabelled, changed, moved."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

from .manifest import TABLES, Manifest

#: Tables whose records are the dataset (``status`` only explains what is missing).
DATA_TABLES = ("songs", "videos", "segments", "images", "splits", "pairs_val", "pairs_test")
SHOWN = 10


@dataclass
class TableDiff:
    """Changes in one table, by record key (``modality/item`` for splits)."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    relabelled: list[str] = field(default_factory=list)  # "id: old -> new"
    changed: list[str] = field(default_factory=list)  # "id: column(s)"
    moved: list[str] = field(default_factory=list)  # "id: train -> test" (splits only)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.relabelled or self.changed
                    or self.moved)


@dataclass
class ReleaseDiff:
    """Differences from release ``a`` to release ``b``."""

    a: str = ""
    b: str = ""
    tables: dict[str, TableDiff] = field(default_factory=dict)

    @property
    def level(self) -> str:
        """The smallest SemVer change that describes it: major, minor or patch."""
        data = [self.tables[t] for t in DATA_TABLES if t in self.tables]
        if any(d.removed or d.relabelled or d.changed or d.moved for d in data):
            return "major"
        if any(d.added for d in data):
            return "minor"
        return "patch"

    def why(self) -> str:
        """One phrase naming what forces the level."""
        parts = []
        for name in DATA_TABLES:
            d = self.tables.get(name)
            if d is None:
                continue
            for what in ("removed", "relabelled", "changed", "moved", "added"):
                n = len(getattr(d, what))
                if n:
                    parts.append(f"{n} {name} {what}")
        return ", ".join(parts) or "same data"

    def to_dict(self) -> dict:
        return {"a": self.a, "b": self.b, "level": self.level,
                "tables": {k: asdict(v) for k, v in self.tables.items()}}

    def lines(self) -> list[str]:
        out = [f"{self.a} -> {self.b}: {self.level} change ({self.why()})"]
        for name, d in self.tables.items():
            for what in ("added", "removed", "relabelled", "changed", "moved"):
                items = getattr(d, what)
                if items:
                    more = f" (and {len(items) - SHOWN} more)" if len(items) > SHOWN else ""
                    out.append(f"{name} {what} ({len(items)}): "
                               f"{', '.join(items[:SHOWN])}{more}")
        return out


def _key(table: str, row: dict[str, str]) -> str:
    return "/".join(TABLES[table].key_of(row))


def _copies(counts: Counter[str]) -> list[str]:
    return sorted(k if n == 1 else f"{k} (x{n})" for k, n in counts.items())


def diff_table(name: str, old: list[dict[str, str]], new: list[dict[str, str]]) -> TableDiff:
    if TABLES[name].repeats:  # records compared as a multiset: a copy more is a change
        ca, cb = Counter(map(partial(_key, name), old)), Counter(map(partial(_key, name), new))
        return TableDiff(added=_copies(cb - ca), removed=_copies(ca - cb))
    a = {_key(name, r): r for r in old}
    b = {_key(name, r): r for r in new}
    d = TableDiff(added=sorted(set(b) - set(a)), removed=sorted(set(a) - set(b)))
    for k in sorted(set(a) & set(b)):
        ra, rb = a[k], b[k]
        if ra == rb:
            continue
        if name == "splits":
            d.moved.append(f"{k}: {ra['split']} -> {rb['split']}")
            continue
        if name == "videos" and ra["status"] != "matched" and rb["status"] == "matched":
            d.added.append(k)  # a song that found a video: new data, nothing changed
            continue
        if "label" in ra and ra["label"] != rb["label"]:
            d.relabelled.append(f"{k}: {ra['label']} -> {rb['label']}")
        cols = [c for c in TABLES[name].columns if c != "label" and ra[c] != rb[c]]
        if cols:
            d.changed.append(f"{k}: {', '.join(cols)}")
    d.added.sort()
    return d


def diff_manifests(a: Manifest, b: Manifest) -> ReleaseDiff:
    out = ReleaseDiff(a=a.label, b=b.label)
    for name in TABLES:
        out.tables[name] = diff_table(name, a.rows(name), b.rows(name))
    return out


def run_diff(a: Path, b: Path, progress: bool = True) -> ReleaseDiff:
    """Compare two release folders."""
    return diff_manifests(Manifest.load(a), Manifest.load(b))
